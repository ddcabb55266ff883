package ecs_test

import (
	"os/exec"
	"slices"
	"testing"
	"time"

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
