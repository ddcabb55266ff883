package ecs_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher/ecs"
)

// BenchmarkServiceListener measures, interleaved in one run, a small GET
// to a real task of a load-balanced service straight to the port it
// publishes on 127.0.0.1 and through the service's listener, each on a
// kept-alive connection. It reports the p50 and p99 of both in
// microseconds, and what the listener adds at p50.
func BenchmarkServiceListener(b *testing.B) {
	e := newEnv(b, nil)
	loadBalanced(&e.svcCfg)
	e.halt()
	e.start()
	td := e.serveDefinition("hello")
	e.cleanupService("bench")
	out := e.must("CreateService", map[string]any{"serviceName": "bench", "taskDefinition": td.TaskDefinitionArn, "desiredCount": 1,
		"loadBalancers": []any{map[string]any{"containerName": "web", "containerPort": 8080}}})
	listener := "http://" + path(out, "service", "loadBalancers", 0, "loadBalancerName").(string) + "/"
	e.steady("bench", td.TaskDefinitionArn)
	task := e.serviceTasks("bench")[0]
	direct := fmt.Sprintf("http://127.0.0.1:%d/", container(task, "web").NetworkBindings[0].HostPort)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(url string) time.Duration {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
		return time.Since(start)
	}
	for range 100 { // warm connections on both paths
		get(direct)
		get(listener)
	}
	var viaDirect, viaListener []time.Duration
	for b.Loop() {
		viaDirect = append(viaDirect, get(direct))
		viaListener = append(viaListener, get(listener))
	}
	pct := func(ds []time.Duration, p int) float64 {
		slices.Sort(ds)
		return float64(ds[(len(ds)-1)*p/100].Nanoseconds()) / 1000
	}
	b.ReportMetric(pct(viaDirect, 50), "direct-p50-µs")
	b.ReportMetric(pct(viaListener, 50), "listener-p50-µs")
	b.ReportMetric(pct(viaListener, 50)-pct(viaDirect, 50), "added-p50-µs")
	b.ReportMetric(pct(viaDirect, 99), "direct-p99-µs")
	b.ReportMetric(pct(viaListener, 99), "listener-p99-µs")
}

// BenchmarkIdleServices runs 50 load-balanced services of one task each
// (bridge tasks, real containers), waits until all are steady, then
// measures the CPU this process (runner, scheduler, 50 listeners with
// their health checks, the index) uses over an idle window. It reports
// the percentage of one core.
func BenchmarkIdleServices(b *testing.B) {
	const services = 50
	e := newEnv(b, nil)
	e.svcCfg.DeregistrationDelay = time.Second // default health checks: every 5 s
	e.halt()
	e.start()
	td := e.definition(ecs.TaskDefinition{Family: "idle", NetworkMode: "bridge", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "web", Command: []string{"serve", ":8080", "idle"}, PortMappings: []ecs.PortMapping{{ContainerPort: 8080}}}}})
	for i := range services {
		name := fmt.Sprintf("idle-%02d", i)
		e.cleanupService(name)
		e.must("CreateService", map[string]any{"serviceName": name, "taskDefinition": td.TaskDefinitionArn, "desiredCount": 1,
			"loadBalancers": []any{map[string]any{"containerName": "web", "containerPort": 8080}}})
	}
	for i := range services {
		e.steady(fmt.Sprintf("idle-%02d", i), td.TaskDefinitionArn)
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	const window = 20 * time.Second
	var share []float64
	for b.Loop() {
		before, start := cpu(), time.Now()
		time.Sleep(window)
		share = append(share, 100*float64(cpu()-before)/float64(time.Since(start)))
	}
	slices.Sort(share)
	b.ReportMetric(share[len(share)/2], "idle-cpu-%-of-core")
}
