package ecs_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/ecs"
)

// BenchmarkRunTaskToRunning measures, in the same run and interleaved,
// how long a task of a cached small image takes from RunTask to RUNNING
// (awsvpc, with its sidecar; bridge, without one) against starting the
// same image with the engine's API (create and start, what `docker run
// -d` asks the engine) and with `docker run -d` itself. It reports the
// medians in milliseconds; the time per op is all four together.
func BenchmarkRunTaskToRunning(b *testing.B) {
	e := newEnv(b, nil)
	rt, reg := e.rt, e.reg
	if _, err := theSidecar(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	image := reg.host + "/test/prog:1"
	if err := rt.Pull(ctx, image, launcher.RegistryAuth{}); err != nil { // cached from here on
		b.Fatal(err)
	}
	defs := map[string]ecs.TaskDefinition{}
	for _, mode := range []string{"awsvpc", "bridge"} {
		td, err := e.api.RegisterTaskDefinition(ctx, ecs.TaskDefinition{Family: "bench-" + mode, NetworkMode: mode,
			ContainerDefinitions: []ecs.ContainerDefinition{{Name: "app", Image: reg.image, Command: []string{"sleep"}, Memory: ptr(64)}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defs[mode] = td
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
						return
					}
				}
			}
		}
	}
	owner := launcher.Owner{Service: "test", Task: "bench"}
	for b.Loop() {
		measure("awsvpc", runTask("awsvpc"))
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
