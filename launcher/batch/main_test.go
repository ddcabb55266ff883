package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/metadata/sqlite"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dockertest.Cleanup()
	if reg, err := testRegistry(); err == nil {
		reg.srv.Close()
		os.RemoveAll(reg.dir)
	}
	os.Exit(code)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// registryServer is an in-memory registry on 127.0.0.1 (which the
// engine may pull from over plain HTTP) holding the launcher tests'
// program (static, FROM scratch) as test/prog:1.
type registryServer struct {
	host string
	srv  *httptest.Server
	dir  string
}

var testRegistry = sync.OnceValues(func() (*registryServer, error) {
	dir, err := os.MkdirTemp("", "batch-test-")
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))))
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
	dockertest.Remember(r.host + "/test/prog:1")
	return r, nil
})

// memoryLogs keeps each stream's lines.
type memoryLogs struct {
	mu      sync.Mutex
	streams map[string][]string
}

func (m *memoryLogs) OpenStream(_ context.Context, group, stream string) (LogWriter, time.Time, error) {
	return memoryWriter{m, group + " " + stream}, time.Time{}, nil
}

func (m *memoryLogs) lines(stream string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.streams[LogGroup+" "+stream]...)
}

type memoryWriter struct {
	m   *memoryLogs
	key string
}

func (w memoryWriter) Write(_ time.Time, msg string) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	w.m.streams[w.key] = append(w.m.streams[w.key], msg)
}

func (memoryWriter) Close() error { return nil }

// env is one test's Batch: the API on an HTTP server, its scheduler
// running on the machine's engine over the test's own index.
type env struct {
	t     testing.TB
	api   *API
	url   string
	store *sqlite.Store
	logs  *memoryLogs
	cfg   Config
	stop  context.CancelFunc
	done  chan struct{}
}

// newEnv starts Batch for t, on the engine when engine is set.
func newEnv(t testing.TB, engine bool, opts ...func(*Config)) *env {
	t.Helper()
	cfg := Config{AccountID: "000000000000", Region: "us-east-1", Instance: "batch-test-" + launcher.NewID()[:8],
		MinAttemptDuration: time.Second, StopGrace: 2 * time.Second, Log: quietLog()}
	var eng Engine
	if engine {
		rt := dockertest.Require(t)
		reg, err := testRegistry()
		if err != nil {
			t.Fatal(err)
		}
		eng = rt
		cfg.Images = launcher.Images{Registry: reg.host}
		t.Cleanup(func() {
			list, _ := rt.List(context.Background(), map[string]string{launcher.LabelInstance: cfg.Instance})
			for _, c := range list {
				rt.Remove(context.Background(), c.ID)
			}
		})
	}
	logs := &memoryLogs{streams: map[string][]string{}}
	cfg.Logs = logs
	for _, o := range opts {
		o(&cfg)
	}
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, store: store, logs: logs, cfg: cfg}
	e.start(eng)
	return e
}

// start starts (again, after halt) the API and its scheduler.
func (e *env) start(eng Engine) {
	e.api = New(e.store, eng, e.cfg)
	mux := http.NewServeMux()
	e.api.Register(awsjson.NewFront(mux, nil, quietLog()))
	srv := httptest.NewServer(mux)
	e.t.Cleanup(srv.Close)
	e.url = srv.URL
	if eng == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.done = cancel, make(chan struct{})
	go func() {
		defer close(e.done)
		e.api.Run(ctx)
	}()
	e.t.Cleanup(e.halt)
	select {
	case <-e.api.Ready():
	case <-time.After(time.Minute):
		e.t.Fatal("the scheduler did not load within a minute")
	}
}

// halt stops the scheduler, as berth stopping (containers run on).
func (e *env) halt() {
	if e.stop != nil {
		e.stop()
		<-e.done
		e.stop = nil
	}
}

// call sends operation with body in and returns the status and the
// decoded answer.
func (e *env) call(op string, in any) (int, map[string]any) {
	e.t.Helper()
	return e.post(e.t, op, in)
}

// post is call reporting to t (a fuzz target's own).
func (e *env) post(t testing.TB, op string, in any) (int, map[string]any) {
	t.Helper()
	var body []byte
	if s, ok := in.(string); ok {
		body = []byte(s)
	} else {
		body, _ = json.Marshal(in)
	}
	resp, err := http.Post(e.url+"/v1/"+strings.ToLower(op), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: answer %q is not JSON", op, raw)
	}
	if resp.StatusCode != 200 && resp.Header.Get("X-Amzn-ErrorType") != out["__type"] {
		t.Errorf("%s: X-Amzn-ErrorType %q, body type %v", op, resp.Header.Get("X-Amzn-ErrorType"), out["__type"])
	}
	return resp.StatusCode, out
}

// must sends op and fails the test unless it succeeds.
func (e *env) must(op string, in any) map[string]any {
	e.t.Helper()
	status, out := e.call(op, in)
	if status != 200 {
		e.t.Fatalf("%s: %d %v", op, status, out)
	}
	return out
}

// queue creates a compute environment of maxvCpus and a queue of
// priority on it, both named name.
func (e *env) queue(name string, maxvCpus, priority int) {
	e.t.Helper()
	e.must("CreateComputeEnvironment", map[string]any{"computeEnvironmentName": name, "type": "MANAGED",
		"computeResources": map[string]any{"type": "EC2", "maxvCpus": maxvCpus, "subnets": []string{"subnet-1"}}})
	e.must("CreateJobQueue", map[string]any{"jobQueueName": name, "priority": priority,
		"computeEnvironmentOrder": []map[string]any{{"order": 1, "computeEnvironment": name}}})
}

// definition registers a job definition of name running the test
// program with command, 1 vCPU and 64 MiB, plus extra members.
func (e *env) definition(name string, command []string, extra map[string]any) {
	e.t.Helper()
	in := map[string]any{"jobDefinitionName": name, "type": "container",
		"containerProperties": map[string]any{"image": "test/prog:1", "command": command,
			"resourceRequirements": []map[string]string{{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}}}}
	for k, v := range extra {
		in[k] = v
	}
	e.must("RegisterJobDefinition", in)
}

// submit submits a job and returns its id.
func (e *env) submit(in map[string]any) string {
	e.t.Helper()
	return e.must("SubmitJob", in)["jobId"].(string)
}

func (e *env) describe(id string) JobDetail {
	e.t.Helper()
	out := e.must("DescribeJobs", map[string]any{"jobs": []string{id}})
	raw, _ := json.Marshal(out["jobs"])
	var jobs []JobDetail
	json.Unmarshal(raw, &jobs)
	if len(jobs) != 1 {
		e.t.Fatalf("DescribeJobs(%s) = %v", id, out)
	}
	return jobs[0]
}

// wait waits (at most two minutes) until job id is SUCCEEDED or FAILED.
func (e *env) wait(id string) JobDetail {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j := e.describe(id)
		if done(j.Status) {
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still %s after 2 minutes (%s)", id, j.Status, j.StatusReason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor waits (at most a minute) until job id is status.
func (e *env) waitFor(id, status string) {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		j := e.describe(id)
		if j.Status == status {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s still %s after a minute; want %s", id, j.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dockerEngine(t testing.TB) Engine { return dockertest.Require(t) }
