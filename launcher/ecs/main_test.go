package ecs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/launcher/sidecar"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

func TestMain(m *testing.M) {
	// In the sidecar image, this binary is the sidecar.
	sidecar.RunIfRequested()
	code := m.Run()
	dockertest.Cleanup()
	if reg, err := testRegistry(); err == nil {
		reg.close()
	}
	os.Exit(code)
}

// needEngine returns the engine; without one the test skips, or fails
// when CI is set.
func needEngine(t testing.TB) *docker.Runtime { return dockertest.Require(t) }

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// registryServer is an in-process berth registry on 127.0.0.1, which
// the engine may pull from over plain HTTP, holding the test image.
type registryServer struct {
	host  string // 127.0.0.1:port
	image string // the test image, as task definitions name it
	srv   *httptest.Server
	dir   string
}

func (r *registryServer) close() {
	r.srv.Close()
	os.RemoveAll(r.dir)
}

// testRegistry starts the registry and pushes testprog (the launcher
// tests' container program, static, FROM scratch) to it, once per test
// binary.
var testRegistry = sync.OnceValues(func() (*registryServer, error) {
	dir, err := os.MkdirTemp("", "ecs-test-")
	if err != nil {
		return nil, err
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "berth.db"))
	if err != nil {
		return nil, err
	}
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	reg := registry.New(store, blobs, quietLog(), registry.Config{CreateOnPush: true})
	srv := httptest.NewServer(reg)
	r := &registryServer{host: strings.TrimPrefix(srv.URL, "http://"), srv: srv, dir: dir}
	bin, err := dockertest.TestProgram(dir)
	if err != nil {
		return nil, err
	}
	img, err := dockertest.ProgramImage(bin, "testprog")
	if err != nil {
		return nil, err
	}
	ref, err := name.ParseReference(r.host+"/test/prog:1", name.Insecure)
	if err != nil {
		return nil, err
	}
	if err := remote.Write(ref, img); err != nil {
		return nil, err
	}
	r.image = "localhost:" + strings.Split(r.host, ":")[1] + "/test/prog:1"
	dockertest.Remember(r.host + "/test/prog:1")
	return r, nil
})

// sidecarImage is the sidecar image of this test binary.
type sidecarImage struct{}

func (sidecarImage) Ensure(context.Context) (string, error) { return dockertest.SidecarImage() }

// openAccess allows everything, to a caller with no name.
type openAccess struct{}

func (openAccess) AuthorizeAction(context.Context, string, string) error { return nil }
func (openAccess) Caller(context.Context) ecs.Caller                     { return ecs.Caller{} }

// anonymous pulls without credentials, from the open test registry.
type anonymous struct{}

func (anonymous) RegistryAuth(context.Context, ecs.Caller) (launcher.RegistryAuth, error) {
	return launcher.RegistryAuth{}, nil
}

// memoryLogs is a log store in memory: each stream's events, in order.
type memoryLogs struct {
	mu      sync.Mutex
	streams map[string][]logEvent // "group stream"
}

type logEvent struct {
	at  time.Time
	msg string
}

func newMemoryLogs() *memoryLogs { return &memoryLogs{streams: map[string][]logEvent{}} }

func (m *memoryLogs) OpenStream(_ context.Context, group, stream string, _ bool) (ecs.LogWriter, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := group + " " + stream
	var last time.Time
	if ev := m.streams[key]; len(ev) > 0 {
		last = ev[len(ev)-1].at
	}
	return &memoryWriter{m: m, key: key}, last, nil
}

// lines returns what stream of group holds.
func (m *memoryLogs) lines(group, stream string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.streams[group+" "+stream] {
		out = append(out, e.msg)
	}
	return out
}

type memoryWriter struct {
	m   *memoryLogs
	key string
}

func (w *memoryWriter) Write(at time.Time, msg string) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	w.m.streams[w.key] = append(w.m.streams[w.key], logEvent{at, msg})
}

func (w *memoryWriter) Close() error { return nil }

// env is one test's launcher: a Runner (running its event loop until the
// test ends) over its own index, on the machine's engine.
type env struct {
	t      testing.TB
	rt     *docker.Runtime
	reg    *registryServer
	store  *sqlite.Store
	runner *ecs.Runner
	api    *ecs.API
	logs   *memoryLogs
	dir    string
	opts   []func(*ecs.RunnerConfig)
	svcCfg ecs.ServiceConfig
	stop   context.CancelFunc
	done   chan struct{}
}

// newEnv starts a runner for t; logs, if not nil, is its log store, and
// opts change its configuration.
func newEnv(t testing.TB, logs *memoryLogs, opts ...func(*ecs.RunnerConfig)) *env {
	t.Helper()
	rt := needEngine(t)
	reg, err := testRegistry()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, rt: rt, reg: reg, store: store, logs: logs, dir: dir, opts: opts}
	e.start()
	return e
}

// start starts (or, after restart's stop, starts again) the runner.
func (e *env) start() {
	cfg := ecs.RunnerConfig{
		AccountID: "000000000000", Region: "us-east-1",
		Images:   launcher.Images{Registry: e.reg.host},
		StateDir: filepath.Join(e.dir, "state"),
		Log:      quietLog(),
	}
	if e.logs != nil {
		cfg.Logs = e.logs
	}
	for _, o := range e.opts {
		o(&cfg)
	}
	e.runner = ecs.NewRunner(e.rt, e.store, anonymous{}, sidecarImage{}, cfg)
	api, err := ecs.New(e.t.Context(), e.store, e.runner, ecs.Config{AccountID: "000000000000", Region: "us-east-1", Access: openAccess{}, Services: e.svcCfg, Log: quietLog()})
	if err != nil {
		e.t.Fatal(err)
	}
	e.api = api
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan struct{})
	scheduled := make(chan struct{})
	go func() {
		defer close(scheduled)
		api.Run(ctx)
	}()
	go func() {
		defer close(e.done)
		e.runner.Run(ctx)
		<-scheduled
	}()
	e.t.Cleanup(e.halt)
	select {
	case <-e.runner.Recovered():
	case <-time.After(time.Minute):
		e.t.Fatal("the runner did not reattach within a minute")
	}
}

// halt ends the runner's event loop (berth stopping), leaving tasks run.
func (e *env) halt() {
	e.stop()
	<-e.done
}

// definition is a registered revision of family with containers, in
// network mode awsvpc unless td says otherwise.
func (e *env) definition(td ecs.TaskDefinition) ecs.TaskDefinition {
	e.t.Helper()
	if td.Family == "" {
		td.Family = strings.NewReplacer("/", "-", "_", "-").Replace(e.t.Name())
	}
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		if c.Image == "" {
			c.Image = e.reg.image
		}
		if c.Memory == nil && c.MemoryReservation == nil && td.Memory == "" {
			c.Memory = ptr(64)
		}
	}
	registered, err := e.api.RegisterTaskDefinition(e.t.Context(), td, nil)
	if err != nil {
		e.t.Fatalf("task definition: %v", err)
	}
	return registered
}

// run starts one task of td and removes its containers when the test
// ends.
func (e *env) run(td ecs.TaskDefinition, in ecs.RunInput) ecs.Task {
	e.t.Helper()
	in.Cluster, in.Definition = "default", td
	if in.Count == 0 {
		in.Count = 1
	}
	tasks, err := e.runner.RunTasks(e.t.Context(), in)
	if err != nil {
		e.t.Fatalf("RunTasks: %v", err)
	}
	for _, task := range tasks {
		e.cleanup(task.ID())
	}
	return tasks[0]
}

// cleanup removes, when the test ends, whatever containers of task id
// are still there.
func (e *env) cleanup(id string) {
	e.t.Cleanup(func() {
		list, err := e.rt.List(context.Background(), map[string]string{launcher.LabelTask: id})
		if err != nil {
			e.t.Errorf("listing task %s's containers: %v", id, err)
			return
		}
		for _, c := range list {
			if err := e.rt.Remove(context.Background(), c.ID); err != nil && !errors.Is(err, launcher.ErrNotFound) {
				e.t.Errorf("removing %s: %v", c.ID, err)
			}
		}
	})
}

// waitFor waits until task id satisfies ok (a change the runner's
// subscribers see), bounded so a broken test cannot hang.
func (e *env) waitFor(id string, what string, ok func(ecs.Task) bool) ecs.Task {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 2*time.Minute)
	defer cancel()
	changes := e.runner.Subscribe(ctx)
	task, err := e.runner.Task(ctx, id)
	if err == nil && ok(task) {
		return task
	}
	for task := range changes {
		if task.ID() == id && ok(task) {
			return task
		}
	}
	now, _ := e.runner.Task(context.Background(), id)
	e.t.Fatalf("task %s: not %s within 2 minutes; it is %s (%s: %s)", id, what, now.LastStatus, now.StopCode, now.StoppedReason)
	return ecs.Task{}
}

func (e *env) stopped(id string) ecs.Task {
	e.t.Helper()
	return e.waitFor(id, "STOPPED", func(t ecs.Task) bool { return t.LastStatus == ecs.StatusStopped })
}

func (e *env) running(id string) ecs.Task {
	e.t.Helper()
	return e.waitFor(id, "RUNNING", func(t ecs.Task) bool {
		if t.LastStatus == ecs.StatusStopped {
			e.t.Fatalf("task %s stopped before it ran: %s: %s", id, t.StopCode, t.StoppedReason)
		}
		return t.LastStatus == ecs.StatusRunning
	})
}

func ptr[T any](v T) *T { return &v }
