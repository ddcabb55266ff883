package ecs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/ecs"
)

// waitLines waits until stream of group holds want, bounded so a broken
// test cannot hang.
func waitLines(t *testing.T, logs *memoryLogs, group, stream string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !slices.Equal(logs.lines(group, stream), want) {
		if time.Now().After(deadline) {
			t.Fatalf("stream %s holds %q; want %q", stream, logs.lines(group, stream), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRestart: berth stops with two tasks running. One container exits
// while berth is down; the next berth reports its task STOPPED with the
// real exit code, and reattaches to the other, whose output keeps
// flowing from where it stopped, without repeating a line.
func TestRestart(t *testing.T) {
	t.Parallel()
	logs := newMemoryLogs()
	e := newEnv(t, logs)
	const group = "/test/restart"
	td := e.definition(ecs.TaskDefinition{NetworkMode: "awsvpc", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "app", Command: []string{"sleep"}, LogConfiguration: awslogs(group)}}})
	keep := e.running(e.run(td, ecs.RunInput{}).ID())
	gone := e.running(e.run(td, ecs.RunInput{}).ID())
	stream := func(task ecs.Task) string { return "test/app/" + task.ID() }
	// Once it says so, it handles SIGTERM.
	waitLines(t, logs, group, stream(keep), "sleeping")
	waitLines(t, logs, group, stream(gone), "sleeping")

	e.halt()
	if out, err := exec.Command("docker", "stop", container(gone, "app").RuntimeID).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v %s", err, out)
	}
	if task, err := e.runner.Task(t.Context(), gone.ID()); err != nil || task.LastStatus != ecs.StatusRunning {
		t.Fatalf("before the restart the index has %+v, %v", task, err)
	}

	e.start()
	stopped := e.stopped(gone.ID())
	if exitCode(stopped, "app") != 0 || stopped.StopCode != string(ecs.StopEssentialContainerExited) {
		t.Errorf("task that ended while berth was down: exit %d, %s %q", exitCode(stopped, "app"), stopped.StopCode, stopped.StoppedReason)
	}
	if got := logs.lines(group, stream(gone)); !slices.Equal(got, []string{"sleeping", "terminated"}) {
		t.Errorf("its output = %q", got)
	}

	still, err := e.runner.Task(t.Context(), keep.ID())
	if err != nil || still.LastStatus != ecs.StatusRunning {
		t.Fatalf("the other task after the restart: %+v, %v", still, err)
	}
	if _, err := e.runner.StopTask(t.Context(), "default", keep.ID(), ecs.StopUserInitiated, "done"); err != nil {
		t.Fatal(err)
	}
	stopped = e.stopped(keep.ID())
	if exitCode(stopped, "app") != 0 || stopped.StopCode != string(ecs.StopUserInitiated) {
		t.Errorf("reattached task: exit %d, %s", exitCode(stopped, "app"), stopped.StopCode)
	}
	if got := logs.lines(group, stream(keep)); !slices.Equal(got, []string{"sleeping", "terminated"}) {
		t.Errorf("reattached task's output = %q", got)
	}
}

// TestSidecarPool: once an awsvpc task without port mappings has run,
// the next ones take a sidecar the pool started beforehand; its metadata
// endpoint is theirs. Idle pooled sidecars are removed when berth stops.
// Not parallel: another runner's start would find this one's pool. Other
// berths on the same engine (another test binary, a developer's server)
// keep pools of their own, labelled by their state directories, which
// this test must not count.
func TestSidecarPool(t *testing.T) {
	logs := newMemoryLogs()
	e := newEnv(t, logs, func(c *ecs.RunnerConfig) { c.SidecarPool = 1 })
	sum := sha256.Sum256([]byte(filepath.Join(e.dir, "state")))
	pooled := func() []string {
		t.Helper()
		list, err := e.rt.List(t.Context(), map[string]string{"berth.task": "sidecar-pool", launcher.LabelContainer: hex.EncodeToString(sum[:8])})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		return ids
	}
	td := e.definition(ecs.TaskDefinition{NetworkMode: "awsvpc", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "reader", Command: []string{"get", "$ECS_CONTAINER_METADATA_URI_V4/task"}, LogConfiguration: awslogs("/test/pool")}}})
	first := e.stopped(e.run(td, ecs.RunInput{}).ID())
	if exitCode(first, "reader") != 0 {
		t.Fatalf("first task: exit %d", exitCode(first, "reader"))
	}
	// The first filled the pool.
	deadline := time.Now().Add(time.Minute)
	for len(pooled()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("pooled sidecars %v; want 1", pooled())
		}
		time.Sleep(50 * time.Millisecond)
	}
	idle := pooled()[0]
	second := e.run(td, ecs.RunInput{})
	stopped := e.stopped(second.ID())
	if exitCode(stopped, "reader") != 0 {
		t.Fatalf("task on a pooled sidecar: exit %d, %s", exitCode(stopped, "reader"), stopped.StoppedReason)
	}
	lines := logs.lines("/test/pool", "test/reader/"+second.ID())
	if len(lines) != 1 || !strings.Contains(lines[0], `"TaskARN":"`+second.TaskArn+`"`) {
		t.Errorf("metadata read through a pooled sidecar: %q", lines)
	}
	if slices.Contains(pooled(), idle) {
		t.Errorf("the pooled sidecar %s was not taken (or not removed with its task)", idle)
	}
	e.halt()
	if left := pooled(); len(left) != 0 {
		t.Errorf("pooled sidecars left after berth stopped: %v", left)
	}
}
