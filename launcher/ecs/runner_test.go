package ecs_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher/ecs"
)

// awslogs sends a container's output to group g with the stream prefix
// "test".
func awslogs(g string) *ecs.LogConfiguration {
	return &ecs.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{
		"awslogs-group": g, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "test"}}
}

// exitCode is container name's exit code in t, -1 when it has none.
func exitCode(t ecs.Task, name string) int {
	for _, c := range t.Containers {
		if c.Name == name && c.ExitCode != nil {
			return *c.ExitCode
		}
	}
	return -1
}

func container(t ecs.Task, name string) ecs.Container {
	for _, c := range t.Containers {
		if c.Name == name {
			return c
		}
	}
	return ecs.Container{}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, code := range []int{0, 3} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			td := e.definition(ecs.TaskDefinition{ContainerDefinitions: []ecs.ContainerDefinition{
				{Name: "app", Command: []string{"exit", fmt.Sprint(code)}}}})
			task := e.run(td, ecs.RunInput{StartedBy: "test", Group: "batch", ClientToken: "token"})
			if task.LastStatus != ecs.StatusProvisioning || task.DesiredStatus != ecs.StatusRunning || task.StartedBy != "test" || task.Group != "batch" {
				t.Errorf("RunTasks answered %+v", task)
			}
			// The same client token gets the same task, not another.
			again, err := e.runner.RunTasks(t.Context(), ecs.RunInput{Cluster: "default", Definition: td, Count: 1, ClientToken: "token"})
			if err != nil || len(again) != 1 || again[0].TaskArn != task.TaskArn {
				t.Errorf("RunTasks with the same client token = %+v, %v", again, err)
			}
			stopped := e.stopped(task.ID())
			if got := exitCode(stopped, "app"); got != code {
				t.Errorf("exit code %d; want %d", got, code)
			}
			if stopped.StopCode != string(ecs.StopEssentialContainerExited) || stopped.StoppedReason != "Essential container in task exited" ||
				stopped.DesiredStatus != ecs.StatusStopped || stopped.StoppedAt.IsZero() || stopped.StartedAt.IsZero() ||
				container(stopped, "app").LastStatus != ecs.StatusStopped {
				t.Errorf("stopped task %+v", stopped)
			}
			// Its containers are gone once it is STOPPED.
			if list, err := e.rt.List(t.Context(), map[string]string{"berth.task": task.ID()}); err != nil || len(list) != 0 {
				t.Errorf("containers left: %+v, %v", list, err)
			}
		})
	}
}

// TestMissingImage: a task whose image the registry lacks fails to
// start with the engine's words, at once.
func TestMissingImage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	td := e.definition(ecs.TaskDefinition{ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "app", Image: "localhost:" + strings.Split(e.reg.host, ":")[1] + "/test/absent:1"}}})
	stopped := e.stopped(e.run(td, ecs.RunInput{}).ID())
	if stopped.StopCode != string(ecs.StopTaskFailedToStart) || !strings.HasPrefix(stopped.StoppedReason, "CannotPullContainerError: ") ||
		!strings.Contains(strings.ToLower(stopped.StoppedReason), "not found") && !strings.Contains(stopped.StoppedReason, "unknown") {
		t.Errorf("stopped %s: %q", stopped.StopCode, stopped.StoppedReason)
	}
	if c := container(stopped, "app"); c.Reason != stopped.StoppedReason || c.ExitCode != nil {
		t.Errorf("container %+v", c)
	}
}

func TestOOMKill(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	td := e.definition(ecs.TaskDefinition{ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "hog", Command: []string{"alloc"}, Memory: ptr(16)}}})
	stopped := e.stopped(e.run(td, ecs.RunInput{}).ID())
	c := container(stopped, "hog")
	if exitCode(stopped, "hog") != 137 || c.Reason != "OutOfMemoryError: Container killed due to memory usage" ||
		stopped.StopCode != string(ecs.StopEssentialContainerExited) {
		t.Errorf("OOM-killed task: %s %q; container %+v", stopped.StopCode, stopped.StoppedReason, c)
	}
}

// TestFargateLimits: a Fargate task of 256 CPU units and 512 MiB runs
// with those limits, as the engine sees them.
func TestFargateLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	td := e.definition(ecs.TaskDefinition{RequiresCompatibilities: []string{"FARGATE"}, NetworkMode: "awsvpc", Cpu: ".25 vCPU", Memory: "512",
		ContainerDefinitions: []ecs.ContainerDefinition{{Name: "app", Command: []string{"sleep"}}}})
	if td.Cpu != "256" || !slices.Equal(td.Compatibilities, []string{"EC2", "FARGATE"}) {
		t.Fatalf("registered cpu %q, compatibilities %v", td.Cpu, td.Compatibilities)
	}
	task := e.running(e.run(td, ecs.RunInput{LaunchType: "FARGATE"}).ID())
	if task.LaunchType != "FARGATE" || task.PlatformVersion == "" || task.Cpu != "256" || task.Memory != "512" {
		t.Errorf("task %+v", task)
	}
	out, err := exec.Command("docker", "inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", container(task, "app").RuntimeID).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "250000000 536870912" {
		t.Errorf("docker inspect = %q; want 250000000 536870912", got)
	}
	// The environment a Fargate container has.
	out, err = exec.Command("docker", "inspect", "-f", "{{json .Config.Env}}", container(task, "app").RuntimeID).Output()
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	json.Unmarshal(out, &env)
	for _, want := range []string{"AWS_EXECUTION_ENV=AWS_ECS_FARGATE", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1",
		"ECS_CONTAINER_METADATA_URI_V4=http://127.0.0.1:51678/v4/" + task.ID()[:12] + "-0"} {
		if !slices.Contains(env, want) {
			t.Errorf("environment %q lacks %s", env, want)
		}
	}
	stopped, err := e.runner.StopTask(t.Context(), "default", task.ID(), ecs.StopUserInitiated, "done")
	if err != nil || stopped.DesiredStatus != ecs.StatusStopped {
		t.Fatalf("StopTask = %+v, %v", stopped, err)
	}
	e.stopped(task.ID())
}

// TestLocalhost: the containers of an awsvpc task reach each other on
// localhost, and their output reaches the log store.
func TestLocalhost(t *testing.T) {
	t.Parallel()
	logs := newMemoryLogs()
	e := newEnv(t, logs)
	td := e.definition(ecs.TaskDefinition{NetworkMode: "awsvpc", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "web", Essential: ptr(false), Command: []string{"serve", "127.0.0.1:8080", "hello from web"}},
		{Name: "client", Command: []string{"get", "http://localhost:8080/"}, LogConfiguration: awslogs("/test/localhost"),
			DependsOn: []ecs.ContainerDependency{{ContainerName: "web", Condition: "START"}}},
	}})
	task := e.run(td, ecs.RunInput{})
	stopped := e.stopped(task.ID())
	if exitCode(stopped, "client") != 0 || stopped.StopCode != string(ecs.StopEssentialContainerExited) {
		t.Fatalf("client exit %d; task %s %q", exitCode(stopped, "client"), stopped.StopCode, stopped.StoppedReason)
	}
	// The non-essential web server was stopped with the task (SIGTERM,
	// which it does not handle: killed by its signal).
	if c := container(stopped, "web"); c.LastStatus != ecs.StatusStopped || c.ExitCode == nil {
		t.Errorf("web %+v", c)
	}
	if got := logs.lines("/test/localhost", "test/client/"+task.ID()); !slices.Equal(got, []string{"hello from web"}) {
		t.Errorf("client's log stream = %q", got)
	}
}

// TestMetadataEndpoint: a container reads its task's metadata, as ECS
// serves it, at ECS_CONTAINER_METADATA_URI_V4.
func TestMetadataEndpoint(t *testing.T) {
	t.Parallel()
	logs := newMemoryLogs()
	e := newEnv(t, logs)
	td := e.definition(ecs.TaskDefinition{NetworkMode: "awsvpc", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "reader", Command: []string{"get", "$ECS_CONTAINER_METADATA_URI_V4/task"}, LogConfiguration: awslogs("/test/metadata"),
			// After self has read its own, so that the reader's end,
			// which stops the task, does not cut self short.
			DependsOn: []ecs.ContainerDependency{{ContainerName: "self", Condition: "COMPLETE"}}},
		{Name: "self", Essential: ptr(false), Command: []string{"get", "$ECS_CONTAINER_METADATA_URI_V4"}, LogConfiguration: awslogs("/test/metadata"),
			Environment: []ecs.KeyValuePair{{Name: "AWS_REGION", Value: "eu-west-1"}}},
	}})
	task := e.run(td, ecs.RunInput{})
	stopped := e.stopped(task.ID())
	if exitCode(stopped, "reader") != 0 {
		t.Fatalf("reader exit %d: %q", exitCode(stopped, "reader"), logs.lines("/test/metadata", "test/reader/"+task.ID()))
	}
	lines := logs.lines("/test/metadata", "test/reader/"+task.ID())
	if len(lines) != 1 {
		t.Fatalf("reader printed %q", lines)
	}
	var doc struct {
		Cluster, TaskARN, Family, Revision, KnownStatus, LaunchType string
		Containers                                                  []struct {
			Name, DockerId, ContainerARN string
			Networks                     []struct{ NetworkMode string }
		}
	}
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatalf("task metadata %q: %v", lines[0], err)
	}
	if doc.TaskARN != task.TaskArn || doc.Cluster != task.ClusterArn || doc.Family != td.Family || doc.Revision != "1" ||
		doc.KnownStatus != ecs.StatusRunning || doc.LaunchType != "EC2" || len(doc.Containers) != 2 ||
		doc.Containers[0].Name != "reader" || doc.Containers[0].DockerId != container(stopped, "reader").RuntimeID ||
		doc.Containers[0].Networks[0].NetworkMode != "awsvpc" {
		t.Errorf("task metadata %+v; task %s", doc, task.TaskArn)
	}
	self := logs.lines("/test/metadata", "test/self/"+task.ID())
	if len(self) != 1 || !strings.Contains(self[0], `"Name":"self"`) || !strings.Contains(self[0], `"ContainerARN":"`+container(stopped, "self").ContainerArn+`"`) {
		t.Errorf("container metadata %q", self)
	}
}

// TestPortsAndStop: an awsvpc task's port is published on a free
// loopback port (its networkBindings); StopTask stops it with SIGTERM.
func TestPortsAndStop(t *testing.T) {
	t.Parallel()
	logs := newMemoryLogs()
	e := newEnv(t, logs)
	for _, mode := range []string{"awsvpc", "bridge"} {
		t.Run(mode, func(t *testing.T) {
			td := e.definition(ecs.TaskDefinition{Family: "ports-" + mode, NetworkMode: mode, ContainerDefinitions: []ecs.ContainerDefinition{
				{Name: "web", Command: []string{"serve", ":8080", "hello " + mode}, PortMappings: []ecs.PortMapping{{ContainerPort: 8080}}},
			}})
			task := e.running(e.run(td, ecs.RunInput{}).ID())
			b := container(task, "web").NetworkBindings
			if len(b) != 1 || b[0].BindIP != "127.0.0.1" || b[0].HostPort == 0 || b[0].ContainerPort != 8080 || b[0].Protocol != "tcp" {
				t.Fatalf("network bindings %+v", b)
			}
			if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", b[0].HostPort)); body != "hello "+mode {
				t.Errorf("GET = %q", body)
			}
			if _, err := e.runner.StopTask(t.Context(), "default", task.ID(), ecs.StopUserInitiated, "Task stopped by user"); err != nil {
				t.Fatal(err)
			}
			stopped := e.stopped(task.ID())
			if stopped.StopCode != string(ecs.StopUserInitiated) || stopped.StoppedReason != "Task stopped by user" {
				t.Errorf("stopped: %s %q", stopped.StopCode, stopped.StoppedReason)
			}
		})
	}
}

// get GETs url, retrying while nothing listens yet.
func get(t *testing.T, url string) string {
	t.Helper()
	for i := 0; ; i++ {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body)
		}
		if i == 100 {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestHealthAndDependencies: a container that waits for another's
// SUCCESS starts after it; the task's health follows its essential
// container's health check.
func TestHealthAndDependencies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	td := e.definition(ecs.TaskDefinition{NetworkMode: "awsvpc", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "init", Essential: ptr(false), Command: []string{"exit", "0"}},
		{Name: "web", Command: []string{"serve", "127.0.0.1:8080", "ok"},
			DependsOn:   []ecs.ContainerDependency{{ContainerName: "init", Condition: "SUCCESS"}},
			HealthCheck: &ecs.HealthCheck{Command: []string{"CMD", "/testprog", "get", "http://127.0.0.1:8080/"}, Interval: ptr(5), Retries: ptr(3)}},
	}})
	task := e.run(td, ecs.RunInput{})
	healthy := e.waitFor(task.ID(), "HEALTHY", func(t ecs.Task) bool { return t.HealthStatus == "HEALTHY" })
	if exitCode(healthy, "init") != 0 || container(healthy, "web").HealthStatus != "HEALTHY" || healthy.LastStatus != ecs.StatusRunning {
		t.Errorf("task %+v", healthy)
	}
	if _, err := e.runner.StopTask(t.Context(), "default", task.ID(), ecs.StopServiceSchedulerInitiated, "scaling in"); err != nil {
		t.Fatal(err)
	}
	if stopped := e.stopped(task.ID()); stopped.StopCode != string(ecs.StopServiceSchedulerInitiated) {
		t.Errorf("stop code %s", stopped.StopCode)
	}

	// A dependency that fails keeps an essential container from ever
	// starting: the task fails to start.
	failing := e.definition(ecs.TaskDefinition{Family: "failing-init", NetworkMode: "awsvpc", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "init", Essential: ptr(false), Command: []string{"exit", "1"}},
		{Name: "app", Command: []string{"sleep"}, DependsOn: []ecs.ContainerDependency{{ContainerName: "init", Condition: "SUCCESS"}}},
	}})
	stopped := e.stopped(e.run(failing, ecs.RunInput{}).ID())
	if stopped.StopCode != string(ecs.StopTaskFailedToStart) || container(stopped, "app").ExitCode != nil || exitCode(stopped, "init") != 1 {
		t.Errorf("task with a failed dependency: %s %q %+v", stopped.StopCode, stopped.StoppedReason, stopped.Containers)
	}
}
