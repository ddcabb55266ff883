package ui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/launcher/ecs"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dockertest.Cleanup() // the images the launcher tests' engine pulled
	os.Exit(code)
}

// testprog is the launcher tests' container program (see
// launcher/docker/testdata/testprog), built static once per test binary.
var testprog = sync.OnceValues(func() ([]byte, error) { return buildStatic("../launcher/docker/testdata/testprog") })

// buildStatic builds the program in dir static for linux on this
// machine's architecture, with build flags, and returns it.
func buildStatic(dir string, flags ...string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "ui-program-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, filepath.Base(dir))
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", bin, dir)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New("go build " + dir + ": " + err.Error() + "\n" + string(out))
	}
	return os.ReadFile(bin)
}

// testImage is the name task definitions give the test program, which
// the fixture's registry holds.
const testImage = "test/prog:1"

// startLauncher gives the fixture an ECS runner (its event loop running
// until the test ends) and API on the machine's Docker Engine, pulling
// the test program from the fixture's registry; with dead, on an engine
// that never answers.
func (f *fixture) startLauncher(dead bool, log *slog.Logger) {
	t := f.t
	var engine *docker.Runtime
	if dead {
		var err error
		if engine, err = docker.New(docker.WithHost("unix://" + filepath.Join(f.dir, "no-engine.sock"))); err != nil {
			t.Fatal(err)
		}
	} else {
		engine = dockertest.Require(t)
	}
	host := f.srv.Listener.Addr().String()
	f.runner = ecs.NewRunner(engine, f.store, anonymous{}, noSidecar{}, ecs.RunnerConfig{
		AccountID: account, Region: region,
		Images:   launcher.Images{Registry: host},
		StateDir: filepath.Join(f.dir, "state"),
		Log:      log,
	})
	var err error
	if f.ecs, err = ecs.New(context.Background(), f.store, f.runner, ecs.Config{AccountID: account, Region: region, Access: openECS{}, Log: log}); err != nil {
		t.Fatal(err)
	}
	if dead {
		return // nothing runs, so no event loop
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.runner.Run(ctx)
	}()
	t.Cleanup(func() {
		// Whatever the test left running goes, then the loop ends.
		tasks, _ := f.runner.Tasks(context.Background(), ecs.TaskFilter{})
		for _, task := range tasks {
			list, err := engine.List(context.Background(), map[string]string{launcher.LabelTask: task.ID()})
			if err != nil {
				t.Errorf("listing task %s's containers: %v", task.ID(), err)
			}
			for _, c := range list {
				if err := engine.Remove(context.Background(), c.ID); err != nil && !errors.Is(err, launcher.ErrNotFound) {
					t.Errorf("removing %s: %v", c.ID, err)
				}
			}
		}
		cancel()
		<-done
	})
	select {
	case <-f.runner.Recovered():
	case <-time.After(time.Minute):
		t.Fatal("the runner did not start within a minute")
	}
	dockertest.Remember(host + "/" + testImage)
	f.pushProgram()
}

// pushProgram pushes the test program to the fixture's registry as
// testImage: one layer holding /testprog, its entrypoint.
func (f *fixture) pushProgram() {
	f.t.Helper()
	prog, err := testprog()
	if err != nil {
		f.t.Fatal(err)
	}
	f.pushExecutable(testImage, "testprog", prog)
}

// pushExecutable pushes an image of one static program as ref
// (repository:tag): one layer holding /name, its entrypoint.
func (f *fixture) pushExecutable(ref, name string, prog []byte) digest.Digest {
	f.t.Helper()
	repo, tag, _ := strings.Cut(ref, ":")
	f.repository(repo)
	raw, gz := executable(f.t, name, prog)
	layerDigest := f.blob(repo, gz)
	config, _ := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux",
		"config": map[string]any{"Entrypoint": []string{"/" + name}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []digest.Digest{digest.FromBytes(raw)}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": f.blob(repo, config), "size": len(config)},
		"layers": []map[string]any{{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layerDigest, "size": len(gz)}},
	})
	return f.manifest(repo, "application/vnd.oci.image.manifest.v1+json", manifest, tag)
}

// anonymous pulls without credentials: the fixture's registry is open.
type anonymous struct{}

func (anonymous) RegistryAuth(context.Context, ecs.Caller) (launcher.RegistryAuth, error) {
	return launcher.RegistryAuth{}, nil
}

// noSidecar is for tasks in bridge mode, which need none.
type noSidecar struct{}

func (noSidecar) Ensure(context.Context) (string, error) {
	return "", errors.New("the UI's tests run tasks in bridge mode, without a sidecar")
}

// openECS lets the test register task definitions through the ECS Go API.
type openECS struct{}

func (openECS) AuthorizeAction(context.Context, string, string) error { return nil }
func (openECS) Caller(context.Context) ecs.Caller                     { return ecs.Caller{} }

// definition registers a revision of family in bridge mode whose one
// container, app, runs the test program with command and logs with
// awslogs to group /ecs/<family>.
func (f *fixture) definition(family string, command ...string) ecs.TaskDefinition {
	f.t.Helper()
	mem := 64
	td, err := f.ecs.RegisterTaskDefinition(context.Background(), ecs.TaskDefinition{
		Family: family, NetworkMode: "bridge",
		ContainerDefinitions: []ecs.ContainerDefinition{{
			Name: "app", Image: testImage, Memory: &mem, Command: command,
			Environment: []ecs.KeyValuePair{{Name: "GREETING", Value: `<script>alert("env")</script>`}},
			LogConfiguration: &ecs.LogConfiguration{LogDriver: "awslogs",
				Options: map[string]string{"awslogs-group": "/ecs/" + family, "awslogs-stream-prefix": "web", "awslogs-region": region}},
		}},
	}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return td
}

// waitTask waits until task id satisfies ok, as the runner's subscribers
// see it change, bounded so that a broken test cannot hang.
func (f *fixture) waitTask(id, what string, ok func(ecs.Task) bool) ecs.Task {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	changes := f.runner.Subscribe(ctx)
	if t, err := f.runner.Task(ctx, id); err == nil && ok(t) {
		return t
	}
	for t := range changes {
		if t.ID() == id && ok(t) {
			return t
		}
	}
	now, _ := f.runner.Task(context.Background(), id)
	f.t.Fatalf("task %s: not %s within 2 minutes; it is %s (%s: %s)", id, what, now.LastStatus, now.StopCode, now.StoppedReason)
	return ecs.Task{}
}

func lastStatus(status string) func(ecs.Task) bool {
	return func(t ecs.Task) bool { return t.LastStatus == status }
}

// taskLink is the task page a run form's redirect leads to.
var taskLink = regexp.MustCompile(`^/ui/clusters/default/tasks/([0-9a-f]{32})\?done=started$`)

// A task definition runs from its page; the task's page follows it to
// RUNNING with its container and where its output goes; it stops from
// its page with the code UserInitiated and the reason given; the cluster
// lists it by desired status. A task whose container exits shows the
// exit code and why it stopped.
func TestRunAndStopATask(t *testing.T) {
	f := newFixture(t, options{launcher: true})
	b := f.signedIn(f.user("admin", "admin"))
	td := f.definition("web", "sleep")
	path := "/ui/task-definitions/web/1"
	p := b.expect(http.StatusOK, path)
	contains(t, "the task definition", p.Body, "web:1", td.TaskDefinitionArn, "bridge", "test/prog:1", "sleep", "awslogs",
		`href="/ui/logs/group?name=%2Fecs%2Fweb"`, "Run tasks", `<option selected>default</option>`, `name="count"`, "GREETING=&lt;script&gt;")

	// Bad input is refused with what is wrong, and nothing runs.
	for _, tt := range []struct {
		form url.Values
		says string
	}{
		{url.Values{"cluster": {"default"}, "count": {"11"}}, "Run 1 to 10 tasks at once."},
		{url.Values{"cluster": {"default"}, "count": {"one"}}, "Run 1 to 10 tasks at once."},
		{url.Values{"cluster": {"nowhere"}, "count": {"1"}}, "There is no active cluster named nowhere."},
		{url.Values{"cluster": {"default"}, "count": {"1"}, "launch_type": {"EXTERNAL"}}, "The launch type is EC2 or FARGATE."},
	} {
		if p := b.post(path+"/run", tt.form); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, tt.says) {
			t.Errorf("running with %v = %d; want 400 saying %q\n%s", tt.form, p.Status, tt.says, p.Body)
		}
	}
	// A form sent without its token runs nothing either.
	if p := b.post(path+"/run", url.Values{"cluster": {"default"}, "count": {"1"}, "csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("running without the CSRF token = %d; want 403", p.Status)
	}
	if tasks, _ := f.runner.Tasks(context.Background(), ecs.TaskFilter{}); len(tasks) != 0 {
		t.Fatalf("refused forms ran %d tasks", len(tasks))
	}
	b.expect(http.StatusNotFound, "/ui/task-definitions/web/9")
	b.expect(http.StatusNotFound, "/ui/task-definitions/web/x")

	b.get(path)
	p = b.post(path+"/run", url.Values{"cluster": {"default"}, "count": {"1"}, "token": {"once"}})
	m := taskLink.FindStringSubmatch(p.Location)
	if p.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("running = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	id := m[1]
	// The same form sent again (a double click) starts nothing more.
	if again := b.post(path+"/run", url.Values{"cluster": {"default"}, "count": {"1"}, "token": {"once"}}); again.Location != p.Location {
		t.Errorf("the form sent twice led to %q, then %q", p.Location, again.Location)
	}
	f.waitTask(id, "RUNNING", lastStatus(ecs.StatusRunning))
	p = b.expect(http.StatusOK, p.Location)
	contains(t, "the running task", p.Body, "Task <code>"+id+"</code>", "Tasks started.", `id="last-status">RUNNING<`,
		`href="/ui/task-definitions/web/1"`, ">app<", "test/prog:1", "Stop task",
		`href="/ui/logs/stream?group=%2Fecs%2Fweb&amp;stream=web%2Fapp%2F`+id+`"`,
		`data-changes="/ui/clusters/default/changes?task=`+id+`"`)
	contains(t, "the cluster", b.expect(http.StatusOK, "/ui/clusters/default").Body,
		"<strong>1</strong> running", `href="/ui/clusters/default/tasks/`+id+`"`, "1 task desired running")
	contains(t, "the clusters", b.expect(http.StatusOK, "/ui/clusters").Body, `href="/ui/clusters/default"`, `<td class="num">1</td>`)
	for _, path := range []string{"/ui/clusters", "/ui/clusters/default", "/ui/clusters/default?show=all", "/ui/clusters/default/tasks/" + id,
		"/ui/task-definitions", "/ui/task-definitions?status=INACTIVE", path} {
		wellFormed(t, path, b.expect(http.StatusOK, path))
	}

	// A stop without the form's token is refused, and the task runs on.
	stop := "/ui/clusters/default/tasks/" + id + "/stop"
	if p := b.post(stop, url.Values{"csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("stopping without the CSRF token = %d; want 403", p.Status)
	}
	if long := b.post(stop, url.Values{"reason": {strings.Repeat("x", 256)}}); long.Status != http.StatusBadRequest {
		t.Errorf("a reason of 256 characters = %d; want 400", long.Status)
	}
	if task, _ := f.runner.Task(context.Background(), id); task.DesiredStatus != ecs.StatusRunning {
		t.Fatalf("refused stops stopped the task: %s", task.DesiredStatus)
	}

	// The page's live stream says when the task changes.
	changes := b.stream("/ui/clusters/default/changes?task=" + id)
	p = b.post(stop, url.Values{"reason": {`<script>alert("why")</script>`}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/clusters/default/tasks/"+id+"?done=stopping" {
		t.Fatalf("stopping = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	changes.waitFor("event: change", "data: "+id)
	f.waitTask(id, "STOPPED", lastStatus(ecs.StatusStopped))
	p = b.expect(http.StatusOK, p.Location)
	contains(t, "the stopped task", p.Body, `id="last-status">STOPPED<`, `id="stop-code">UserInitiated<`,
		"&lt;script&gt;alert(&#34;why&#34;)&lt;/script&gt;")
	// The container's exit: 0 once it handled SIGTERM; 2 when the signal
	// came after Go's runtime set up its handlers but before the program
	// asked for it (the runtime re-raises it to die, which PID 1 ignores,
	// and then exits 2); 143 when the signal killed it; 137 when it came
	// before Go's runtime started at all (a loaded machine), so that PID 1
	// ignored it and the stop timeout's SIGKILL ended it.
	if !regexp.MustCompile(`<td class="num">(0|2|137|143)</td>`).MatchString(p.Body) {
		t.Errorf("the stopped task shows no exit code of its container:\n%s", p.Body)
	}
	lacks(t, "the stopped task", p.Body, "Stop task", `<script>alert`)
	contains(t, "stopped tasks", b.expect(http.StatusOK, "/ui/clusters/default?show=stopped").Body, id, "UserInitiated")
	lacks(t, "running tasks", b.expect(http.StatusOK, "/ui/clusters/default").Body, id)

	// A task whose essential container exits 3.
	f.definition("exits", "exit", "3")
	b.get("/ui/task-definitions/exits/1")
	p = b.post("/ui/task-definitions/exits/1/run", url.Values{"cluster": {"default"}, "count": {"1"}})
	m = taskLink.FindStringSubmatch(p.Location)
	if m == nil {
		t.Fatalf("running = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	f.waitTask(m[1], "STOPPED", lastStatus(ecs.StatusStopped))
	contains(t, "the exited task", b.expect(http.StatusOK, p.Location).Body,
		"EssentialContainerExited", "Essential container in task exited", `<td class="num">3</td>`)
	b.expect(http.StatusNotFound, "/ui/clusters/default/tasks/0123456789abcdef0123456789abcdef")
	b.expect(http.StatusNotFound, "/ui/clusters/nowhere")
}

// Names a caller chose (started-by, group, tags) and what the engine
// says render as text on the cluster and task pages.
func TestHostileTaskFieldsRenderInert(t *testing.T) {
	f := newFixture(t, options{launcher: true})
	b := f.signedIn(f.user("admin", "admin"))
	const evil = `<script>alert(1)</script>`
	td := f.definition("hostile", "exit", "0")
	tasks, err := f.runner.RunTasks(context.Background(), ecs.RunInput{Cluster: "default", Definition: td, Count: 1,
		StartedBy: evil, Group: evil, Tags: []ecs.Tag{{Key: evil, Value: evil}}})
	if err != nil {
		t.Fatal(err)
	}
	id := tasks[0].ID()
	f.waitTask(id, "STOPPED", lastStatus(ecs.StatusStopped))
	for _, path := range []string{"/ui/clusters/default?show=all", "/ui/clusters/default/tasks/" + id} {
		p := b.expect(http.StatusOK, path)
		lacks(t, path, p.Body, evil)
		contains(t, path, p.Body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	}
	// The definition's environment, in its table and its JSON.
	p := b.expect(http.StatusOK, "/ui/task-definitions/hostile/1")
	lacks(t, "the task definition", p.Body, "<script>")
	contains(t, "the task definition", p.Body, "GREETING=&lt;script&gt;alert(&#34;env&#34;)&lt;/script&gt;", `\u003cscript\u003e`)
}

// A person who may look at tasks but not stop them sees no stop button,
// and is refused in IAM's words when posting anyway; one who may not
// read a container's log stream gets no link to it.
func TestTaskPermissions(t *testing.T) {
	f := newFixture(t, options{launcher: true})
	td := f.definition("guarded", "sleep")
	tasks, err := f.runner.RunTasks(context.Background(), ecs.RunInput{Cluster: "default", Definition: td, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := tasks[0].ID()
	f.waitTask(id, "RUNNING", lastStatus(ecs.StatusRunning))
	watcher := f.signedIn(f.user("watcher", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"}]}`))
	for _, path := range []string{"/ui/clusters/default", "/ui/clusters/default/tasks/" + id, "/ui/task-definitions/guarded/1"} {
		p := watcher.expect(http.StatusOK, path)
		lacks(t, path, p.Body, "Stop task", "Run tasks", "/ui/logs/stream?")
		if forms := strings.Count(p.Body, `<form method="post"`); forms != 1 { // signing out
			t.Errorf("%s: %d forms; want only the sign-out form", path, forms)
		}
	}
	for _, tt := range []struct{ path, action, resource string }{
		{"/ui/clusters/default/tasks/" + id + "/stop", "ecs:StopTask", "arn:aws:ecs:" + region + ":" + account + ":task/default/" + id},
		{"/ui/task-definitions/guarded/1/run", "ecs:RunTask", "arn:aws:ecs:" + region + ":" + account + ":task-definition/guarded:1"},
	} {
		p := watcher.post(tt.path, url.Values{"cluster": {"default"}, "count": {"1"}})
		want := "User: arn:aws:iam::" + account + ":user/watcher is not authorized to perform: " + tt.action + " on resource: " + tt.resource
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, want) {
			t.Errorf("POST %s = %d; want 403 saying %q\n%s", tt.path, p.Status, want, p.Body)
		}
	}
	if task, _ := f.runner.Task(context.Background(), id); task.DesiredStatus != ecs.StatusRunning {
		t.Errorf("the watcher stopped the task: %s", task.DesiredStatus)
	}
	if all, _ := f.runner.Tasks(context.Background(), ecs.TaskFilter{}); len(all) != 1 {
		t.Errorf("the watcher ran tasks: %d", len(all))
	}
	// Without ecs:DescribeTasks the task's page and its live stream are
	// refused; the cluster lists the task by id only.
	lister := f.signedIn(f.user("lister", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:DescribeClusters","ecs:ListTasks"],"Resource":"*"}]}`))
	lister.expect(http.StatusForbidden, "/ui/clusters/default/tasks/"+id)
	lister.expect(http.StatusForbidden, "/ui/clusters/default/changes?task="+id)
	contains(t, "the cluster", lister.expect(http.StatusOK, "/ui/clusters/default").Body, id, "You may not describe this task (ecs:DescribeTasks).")
	lister.expect(http.StatusForbidden, "/ui/clusters")
}

// Without the launcher its pages say it is off; with an engine that does
// not answer they say that, and running a task is refused saying so.
func TestLauncherOffOrAway(t *testing.T) {
	off := newFixture(t, options{})
	b := off.signedIn(off.user("admin", "admin"))
	for _, path := range []string{"/ui/clusters", "/ui/clusters/default", "/ui/task-definitions", "/ui/task-definitions/web/1"} {
		p := b.expect(http.StatusServiceUnavailable, path)
		contains(t, path, p.Body, "The launcher is off", "launcher.enabled: false")
	}
	contains(t, "the navigation", b.expect(http.StatusOK, "/ui/").Body, `href="/ui/clusters"`, `href="/ui/task-definitions"`, `href="/ui/logs"`)
	b.expect(http.StatusOK, "/ui/logs") // the log store is there all the same

	away := newFixture(t, options{deadEngine: true})
	b = away.signedIn(away.user("admin", "admin"))
	const says = "The container engine is unavailable: berth cannot reach the Docker Engine"
	contains(t, "the clusters", b.expect(http.StatusOK, "/ui/clusters").Body, says, "Tasks can neither start nor stop until it answers.")
	contains(t, "the cluster", b.expect(http.StatusOK, "/ui/clusters/default").Body, says)
	away.definition("web", "sleep")
	contains(t, "the task definition", b.expect(http.StatusOK, "/ui/task-definitions/web/1").Body, says, "Run tasks")
	p := b.post("/ui/task-definitions/web/1/run", url.Values{"cluster": {"default"}, "count": {"1"}})
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, says) {
		t.Errorf("running with the engine away = %d; want 503 saying so\n%s", p.Status, p.Body)
	}
}

// eventStream is a live stream a browser reads, line by line.
type eventStream struct {
	t     testing.TB
	lines chan string
}

// stream opens a live stream of the UI, read until the test ends.
func (b *browser) stream(path string) *eventStream {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.f.srv.URL+path, nil)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b.t.Fatalf("GET %s = %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &eventStream{t: b.t, lines: make(chan string, 1024)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	b.t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
	return s
}

// waitFor reads the stream until it has sent each of want, in order, as
// whole lines; bounded so that a broken test cannot hang.
func (s *eventStream) waitFor(want ...string) {
	s.t.Helper()
	deadline := time.After(2 * time.Minute)
	for _, w := range want {
		for found := false; !found; {
			select {
			case line, ok := <-s.lines:
				if !ok {
					s.t.Fatalf("the stream ended before it sent %q", w)
				}
				found = line == w
			case <-deadline:
				s.t.Fatalf("the stream did not send %q within 2 minutes", w)
			}
		}
	}
}
