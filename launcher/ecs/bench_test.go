package ecs_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/launcher/ecs"
)

// BenchmarkRunTaskToRunning measures, in the same run and interleaved,
// how long a task of a cached small image takes from RunTask to RUNNING
// (awsvpc on a pooled sidecar; awsvpc with a port mapping, which starts
// its own; bridge, without one) against starting the same image with the
// engine's API (create and start, what `docker run -d` asks the engine)
// and with `docker run -d` itself. It reports the medians in
// milliseconds; the time per op is all five together.
func BenchmarkRunTaskToRunning(b *testing.B) {
	e := newEnv(b, nil, func(c *ecs.RunnerConfig) { c.SidecarPool = 1 })
	rt, reg := e.rt, e.reg
	if _, err := dockertest.SidecarImage(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	image := reg.host + "/test/prog:1"
	if err := rt.Pull(ctx, image, launcher.RegistryAuth{}); err != nil { // cached from here on
		b.Fatal(err)
	}
	defs := map[string]ecs.TaskDefinition{}
	for _, name := range []string{"awsvpc", "awsvpc-ports", "bridge"} {
		mode, ports, _ := strings.Cut(name, "-")
		td := ecs.TaskDefinition{Family: "bench-" + name, NetworkMode: mode,
			ContainerDefinitions: []ecs.ContainerDefinition{{Name: "app", Image: reg.image, Command: []string{"sleep"}, Memory: ptr(64)}}}
		if ports != "" {
			td.ContainerDefinitions[0].PortMappings = []ecs.PortMapping{{ContainerPort: 8080}}
		}
		registered, err := e.api.RegisterTaskDefinition(ctx, td, nil)
		if err != nil {
			b.Fatal(err)
		}
		defs[name] = registered
	}
	// idlePooled waits until the pool holds a started sidecar again.
	idlePooled := func() {
		for {
			list, err := rt.List(ctx, map[string]string{launcher.LabelTask: "sidecar-pool"})
			if err != nil {
				b.Fatal(err)
			}
			if len(list) == 1 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	times := map[string][]time.Duration{}
	measure := func(name string, fn func() (cleanup func())) {
		start := time.Now()
		cleanup := fn()
		times[name] = append(times[name], time.Since(start))
		b.StopTimer()
		cleanup()
		b.StartTimer()
	}
	changes := e.runner.Subscribe(ctx)
	runTask := func(mode string) func() func() {
		return func() func() {
			tasks, err := e.runner.RunTasks(ctx, ecs.RunInput{Cluster: "default", Definition: defs[mode], Count: 1})
			if err != nil {
				b.Fatal(err)
			}
			id := tasks[0].ID()
			for t := range changes {
				if t.ID() != id {
					continue
				}
				if t.LastStatus == ecs.StatusStopped {
					b.Fatalf("task stopped: %s", t.StoppedReason)
				}
				if t.LastStatus == ecs.StatusRunning {
					break
				}
			}
			return func() {
				if _, err := e.runner.StopTask(ctx, "default", id, ecs.StopUserInitiated, "bench"); err != nil {
					b.Fatal(err)
				}
				for t := range changes {
					if t.ID() == id && t.LastStatus == ecs.StatusStopped {
						break
					}
				}
				idlePooled()
			}
		}
	}
	owner := launcher.Owner{Service: "test", Task: "bench"}
	// The first awsvpc task without ports fills the pool.
	runTask("awsvpc")()()
	for b.Loop() {
		measure("awsvpc", runTask("awsvpc"))
		measure("awsvpc-ports", runTask("awsvpc-ports"))
		measure("bridge", runTask("bridge"))
		measure("engine-api", func() func() {
			id, err := rt.Create(ctx, launcher.Spec{Image: image, Cmd: []string{"sleep"}, Owner: owner, Limits: launcher.Limits{Memory: 64 << 20}})
			if err == nil {
				err = rt.Start(ctx, id)
			}
			if err != nil {
				b.Fatal(err)
			}
			return func() { rt.Remove(ctx, id) }
		})
		measure("docker-run-d", func() func() {
			out, err := exec.Command("docker", "run", "-d", "--memory", "64m", "--label", "berth.managed=true", "--label", "berth.service=test",
				image, "sleep").Output()
			if err != nil {
				b.Fatal(err)
			}
			id := strings.TrimSpace(string(out))
			return func() { rt.Remove(ctx, id) }
		})
	}
	for name, ds := range times {
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-median-ms")
	}
}
