package docker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/sidecar"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	for _, code := range []int{0, 3} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			id := start(t, rt, launcher.Spec{Cmd: []string{"exit", fmt.Sprint(code)}, Owner: owner(t, "app"), Network: launcher.NetworkNone})
			exit := wait(t, rt, id)
			if exit.Code != code || exit.OOMKilled || exit.FinishedAt.IsZero() {
				t.Fatalf("exit = %+v; want code %d", exit, code)
			}
			st, err := rt.Inspect(t.Context(), id)
			if err != nil || st.Status != launcher.StatusExited || st.Exit.Code != code || st.Running() {
				t.Fatalf("inspect = %+v, %v", st, err)
			}
		})
	}
}

// BenchmarkCreateStart: how long creating and starting a container takes
// (a cached image, no network).
func BenchmarkCreateStart(b *testing.B) {
	rt, err := engine()
	if err != nil {
		b.Skip(err)
	}
	ref, err := testImage()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		id, err := rt.Create(ctx, launcher.Spec{Image: ref, Cmd: []string{"sleep"}, Network: launcher.NetworkNone, Owner: launcher.Owner{Service: "test", Task: "bench"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := rt.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := rt.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func TestOOMKill(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	id := start(t, rt, launcher.Spec{Cmd: []string{"alloc"}, Owner: owner(t, "hog"), Network: launcher.NetworkNone,
		Limits: launcher.Limits{Memory: 16 << 20}})
	exit := wait(t, rt, id)
	if exit.Code != 137 || !exit.OOMKilled {
		t.Fatalf("exit = %+v; want 137 and OOMKilled", exit)
	}
}

func TestLimitsShowInInspect(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	limits := launcher.Limits{CPUShares: 256, NanoCPUs: 250_000_000, Memory: 512 << 20, MemoryReservation: 256 << 20}
	id := create(t, rt, launcher.Spec{Cmd: []string{"sleep"}, Owner: owner(t, "app"), Network: launcher.NetworkNone, Limits: limits})
	st, err := rt.Inspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Limits != limits || st.Status != launcher.StatusCreated || st.Owner() != owner(t, "app") {
		t.Fatalf("inspect = %+v; want limits %+v", st, limits)
	}
	// The engine's own view, through its CLI.
	out, err := exec.Command("docker", "inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", id).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "250000000 536870912" {
		t.Fatalf("docker inspect = %q", got)
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	before := time.Now().Add(-time.Second)
	id := start(t, rt, launcher.Spec{Cmd: []string{"print"}, Owner: owner(t, "app"), Network: launcher.NetworkNone})
	// Following a running container ends when it stops.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var lines []launcher.LogLine
	for l, err := range rt.Logs(ctx, id, launcher.LogOptions{Follow: true}) {
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	var stdout, stderr []string
	for _, l := range lines {
		if l.Time.Before(before) || l.Time.After(time.Now()) {
			t.Errorf("line %q has time %v", l.Text, l.Time)
		}
		switch l.Stream {
		case launcher.Stdout:
			stdout = append(stdout, l.Text)
		case launcher.Stderr:
			stderr = append(stderr, l.Text)
		}
	}
	if !slices.Equal(stdout, []string{"out 1", "out 2", "no newline"}) || !slices.Equal(stderr, []string{"err 1"}) {
		t.Fatalf("stdout %q, stderr %q", stdout, stderr)
	}
	if last := lines[len(lines)-1]; last.Text != "no newline" || !last.Partial {
		t.Errorf("last line %+v: want partial", last)
	}
	// Since skips what came before.
	var after []string
	for l, err := range rt.Logs(t.Context(), id, launcher.LogOptions{Since: time.Now().Add(time.Hour)}) {
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, l.Text)
	}
	if len(after) != 0 {
		t.Errorf("logs since the future = %q", after)
	}
}

func TestKilledContainerExitEvent(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	since := time.Now().Add(-time.Second)
	o := owner(t, "app")
	// With a memory limit, so that Wait looks for a late OOM notice too.
	id := start(t, rt, launcher.Spec{Cmd: []string{"sleep"}, Owner: o, Network: launcher.NetworkNone, Limits: launcher.Limits{Memory: 64 << 20}})
	if out, err := exec.Command("docker", "kill", id).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
	if exit := wait(t, rt, id); exit.Code != 137 || exit.OOMKilled {
		t.Fatalf("exit = %+v; want 137, not OOM", exit)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for ev, err := range rt.Events(ctx, launcher.EventOptions{Labels: o.Labels(), Since: since}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != launcher.EventExit || ev.ID != id {
			continue // an earlier run's container, with the same labels
		}
		if ev.ExitCode != 137 || ev.Labels[launcher.LabelTask] != o.Task {
			t.Fatalf("event %+v", ev)
		}
		return
	}
	t.Fatalf("no exit event: %v", ctx.Err())
}

func TestHealthEvents(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	since := time.Now().Add(-time.Second)
	o := owner(t, "web")
	id := start(t, rt, launcher.Spec{Cmd: []string{"serve", "127.0.0.1:8080", "ok"}, Owner: o, Network: launcher.NetworkNone,
		Health: &launcher.HealthCheck{Test: []string{"CMD", "/testprog", "get", "http://127.0.0.1:8080/"}, Interval: 300 * time.Millisecond, Retries: 3}})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for ev, err := range rt.Events(ctx, launcher.EventOptions{Labels: o.Labels(), Since: since}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == launcher.EventHealth && ev.ID == id && ev.Health == launcher.HealthHealthy {
			break
		}
	}
	st, err := rt.Inspect(t.Context(), id)
	if err != nil || st.Health != launcher.HealthHealthy {
		t.Fatalf("inspect = %+v, %v; want healthy", st, err)
	}
}

func TestStopWithGrace(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	id := start(t, rt, launcher.Spec{Cmd: []string{"sleep"}, Owner: owner(t, "app"), Network: launcher.NetworkNone})
	// Once it says so, it handles SIGTERM (as PID 1 it would ignore it before).
	for l, err := range rt.Logs(t.Context(), id, launcher.LogOptions{Follow: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if l.Text == "sleeping" {
			break
		}
	}
	if err := rt.Stop(t.Context(), id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// testprog exits 0 on SIGTERM, so the grace period was used, not SIGKILL.
	if exit := wait(t, rt, id); exit.Code != 0 {
		t.Fatalf("exit = %+v", exit)
	}
	if out := output(t, rt, id); !slices.Equal(out, []string{"stdout: sleeping", "stdout: terminated"}) {
		t.Fatalf("output %q", out)
	}
	if err := rt.Stop(t.Context(), id, 0); err != nil {
		t.Fatalf("stopping a stopped container: %v", err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	ctx := t.Context()
	if _, err := rt.Create(ctx, launcher.Spec{Image: "berth-test/absent:1", Owner: owner(t, "x")}); !errors.Is(err, launcher.ErrImageNotFound) {
		t.Errorf("create with a missing image: %v", err)
	}
	name := "berth-test-" + fmt.Sprint(time.Now().UnixNano())
	create(t, rt, launcher.Spec{Name: name, Cmd: []string{"sleep"}, Owner: owner(t, "x"), Network: launcher.NetworkNone})
	if _, err := rt.Create(ctx, launcher.Spec{Name: name, Image: image(t), Owner: owner(t, "x")}); !errors.Is(err, launcher.ErrConflict) {
		t.Errorf("create with a taken name: %v", err)
	}
	if _, err := rt.Create(ctx, launcher.Spec{Image: image(t), Labels: map[string]string{"berth.task": "forged"}}); !errors.Is(err, launcher.ErrInvalidSpec) {
		t.Errorf("create with a berth. label: %v", err)
	}
	// Joining a container that does not exist fails at Create or, for
	// engines that check late (20.10), at Start.
	const absent = "0000000000000000000000000000000000000000000000000000000000000000"
	joining, err := rt.Create(ctx, launcher.Spec{Image: image(t), Network: launcher.JoinContainer(absent), Owner: owner(t, "x")})
	if err == nil {
		t.Cleanup(func() { rt.Remove(context.Background(), joining) })
		err = rt.Start(ctx, joining)
	}
	if !errors.Is(err, launcher.ErrNotFound) || !strings.Contains(err.Error(), absent) {
		t.Errorf("joining a missing container: %v", err)
	}
	const missing = "0000000000000000000000000000000000000000000000000000000000000001"
	if _, err := rt.Inspect(ctx, missing); !errors.Is(err, launcher.ErrNotFound) {
		t.Errorf("inspect: %v", err)
	}
	if err := rt.Start(ctx, missing); !errors.Is(err, launcher.ErrNotFound) {
		t.Errorf("start: %v", err)
	}
	if err := rt.Remove(ctx, missing); !errors.Is(err, launcher.ErrNotFound) {
		t.Errorf("remove: %v", err)
	}
	if _, err := rt.ImageID(ctx, "berth-test/absent:1"); !errors.Is(err, launcher.ErrImageNotFound) {
		t.Errorf("image id: %v", err)
	}
	// A process that cannot start fails at Start with the engine's words.
	id := create(t, rt, launcher.Spec{Entrypoint: []string{"/no/such/program"}, Owner: owner(t, "x"), Network: launcher.NetworkNone})
	if err := rt.Start(ctx, id); err == nil || !strings.Contains(err.Error(), "/no/such/program") {
		t.Errorf("start of a missing program: %v", err)
	}
}

// TestPullMissingImage: a registry that has no such manifest fails the
// pull at once, with the engine's message, and no hang.
func TestPullMissingImage(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
	}))
	defer reg.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	image := strings.TrimPrefix(reg.URL, "http://") + "/team/app:1"
	err := rt.Pull(ctx, image, launcher.RegistryAuth{})
	var pe *launcher.PullError
	if !errors.As(err, &pe) || !errors.Is(err, launcher.ErrImageNotFound) || !strings.Contains(pe.Message, "manifest unknown") {
		t.Fatalf("pull = %v; want a PullError, not found, with the engine's message", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the pull waited out its context")
	}

	// Nothing listening: the engine's connection error, not a hang.
	closed := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()
	err = rt.Pull(ctx, addr+"/app:1", launcher.RegistryAuth{})
	if !errors.As(err, &pe) || errors.Is(err, launcher.ErrImageNotFound) || !strings.Contains(pe.Message, "connection refused") {
		t.Fatalf("pull from nothing = %v", err)
	}
}

// TestListAfterRestart: a fresh Runtime (berth after a restart) finds
// what is still there by label.
func TestListAfterRestart(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	o := owner(t, "")
	web := o
	web.Container = "web"
	worker := o
	worker.Container = "worker"
	running := start(t, rt, launcher.Spec{Cmd: []string{"sleep"}, Owner: web, Network: launcher.NetworkNone})
	exited := start(t, rt, launcher.Spec{Cmd: []string{"exit", "4"}, Owner: worker, Network: launcher.NetworkNone})
	wait(t, rt, exited)

	fresh, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	list, err := fresh.List(t.Context(), map[string]string{launcher.LabelTask: o.Task})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]launcher.Container{}
	for _, c := range list {
		got[c.ID] = c
	}
	if len(got) != 2 || got[running].Status != launcher.StatusRunning || got[running].Owner() != web ||
		got[exited].Status != launcher.StatusExited || got[exited].Owner() != worker {
		t.Fatalf("list = %+v", list)
	}
	// The exit code of what ended while berth was away is still there.
	if st, err := fresh.Inspect(t.Context(), exited); err != nil || st.Exit.Code != 4 {
		t.Fatalf("inspect = %+v, %v", st, err)
	}
	none, err := fresh.List(t.Context(), map[string]string{launcher.LabelTask: o.Task + "-other"})
	if err != nil || len(none) != 0 {
		t.Fatalf("list of another task = %+v, %v", none, err)
	}
}

// sidecarFor starts a task sidecar publishing ports, with metadata in dir.
func sidecarFor(t *testing.T, rt *docker.Runtime, dir string, ports ...launcher.PortMapping) string {
	t.Helper()
	ref, err := sidecarImage()
	if err != nil {
		t.Fatal(err)
	}
	id := start(t, rt, sidecar.Spec(ref, dir, ports, owner(t, "")))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := sidecar.WaitReady(ctx, rt, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestTaskNamespace: two containers in a sidecar's namespace reach each
// other on localhost, and the sidecar publishes their port on 127.0.0.1.
func TestTaskNamespace(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	sc := sidecarFor(t, rt, t.TempDir(), launcher.PortMapping{ContainerPort: 8080})
	start(t, rt, launcher.Spec{Cmd: []string{"serve", ":8080", "hello from web"}, Owner: owner(t, "web"), Network: launcher.JoinContainer(sc)})
	client := start(t, rt, launcher.Spec{Cmd: []string{"get", "http://127.0.0.1:8080/"}, Owner: owner(t, "client"), Network: launcher.JoinContainer(sc)})
	if exit := wait(t, rt, client); exit.Code != 0 {
		t.Fatalf("client exit %+v: %q", exit, output(t, rt, client))
	}
	if out := output(t, rt, client); !slices.Equal(out, []string{"stdout: hello from web"}) {
		t.Fatalf("client output %q", out)
	}

	st, err := rt.Inspect(t.Context(), sc)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Ports) != 1 || st.Ports[0].HostIP != "127.0.0.1" || st.Ports[0].HostPort == 0 || st.Ports[0].ContainerPort != 8080 {
		t.Fatalf("ports = %+v; want 8080 on 127.0.0.1 at a chosen port", st.Ports)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", st.Ports[0].HostPort)
	var body []byte
	for i := 0; ; i++ { // the server may still be starting
		resp, err := http.Get(url)
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if string(body) != "hello from web" {
		t.Fatalf("GET %s = %q", url, body)
	}
}

// TestTaskMetadataEndpoint: a container reads its metadata JSON from the
// sidecar, at ECS_CONTAINER_METADATA_URI_V4.
func TestTaskMetadataEndpoint(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	dir := t.TempDir()
	if err := sidecar.PublishTask(dir, []byte(`{"TaskARN":"arn:aws:ecs:us-east-1:000000000000:task/default/1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := sidecar.PublishContainer(dir, "app-1", []byte(`{"Name":"app"}`)); err != nil {
		t.Fatal(err)
	}
	sc := sidecarFor(t, rt, dir)
	env := map[string]string{"ECS_CONTAINER_METADATA_URI_V4": sidecar.MetadataURI("app-1")}
	for _, tc := range []struct{ path, want string }{
		{"", `{"Name":"app"}`},
		{"/task", `{"TaskARN":"arn:aws:ecs:us-east-1:000000000000:task/default/1"}`},
	} {
		id := start(t, rt, launcher.Spec{Cmd: []string{"get", "$ECS_CONTAINER_METADATA_URI_V4" + tc.path}, Env: env,
			Owner: owner(t, "app"), Network: launcher.JoinContainer(sc)})
		if exit := wait(t, rt, id); exit.Code != 0 {
			t.Fatalf("GET %s: exit %+v, %q", tc.path, exit, output(t, rt, id))
		}
		if out := output(t, rt, id); !slices.Equal(out, []string{"stdout: " + tc.want}) {
			t.Fatalf("GET metadata%s = %q", tc.path, out)
		}
	}
	// Stopping the sidecar is a clean exit on SIGTERM.
	if err := rt.Stop(t.Context(), sc, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if exit := wait(t, rt, sc); exit.Code != 0 {
		t.Fatalf("sidecar exit %+v", exit)
	}
}
