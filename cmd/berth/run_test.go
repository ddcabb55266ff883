package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/client/clienttest"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/jsontest"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
)

// TestRunChecksFlagsFirst: what berth run can tell is wrong from its
// flags it says in one line before it asks the server anything (the
// endpoint here answers nothing).
func TestRunChecksFlagsFirst(t *testing.T) {
	clienttest.Isolate(t)
	t.Setenv("BERTH_ENDPOINT", "http://127.0.0.1:1")
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("# comment\nGOOD=1\nnot a pair\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "app:1", "--cpu", "256", "--memory", "4GB"}, "run: --cpu 256 --memory 4GB: no Fargate configuration exists for 256 CPU and 4096 MiB memory"},
		{[]string{"run", "app:1", "--cpu", "1 vCPU", "--memory", "1024"}, "no Fargate configuration exists for 1024 CPU and 1024 MiB"},
		{[]string{"run", "app:1", "--as", "lambda", "--service", "web"}, "run: --service is for --as ecs or fargate, not --as lambda"},
		{[]string{"run", "app:1", "--service", "web", "--desired", "101"}, "run: --desired 101: from 0 to 100 tasks"},
		{[]string{"run", "app:1", "--service", "web", "--count", "2"}, "run: --count is for tasks; a service has --desired"},
		{[]string{"run", "app:1", "--load-balanced", "80"}, "run: --load-balanced is for a service: add --service NAME"},
		{[]string{"run", "app:1", "--array-size", "3"}, "run: --queue, --array-size, --depends-on, --retries and --timeout are for --as batch, not --as fargate"},
		{[]string{"run", "app:1", "--as", "batch", "--array-size", "1"}, "run: --array-size 1: an array job has 2 to 10000 children"},
		{[]string{"run", "app:1", "--as", "batch", "--retries", "10"}, "run: --retries 10: 0 to 9"},
		{[]string{"run", "app:1", "--as", "batch", "--timeout", "30s"}, "run: --timeout 30s: Batch's attempt timeout is at least 60s"},
		{[]string{"run", "app:1", "--as", "batch", "--memory", "lots"}, `run: --memory "lots": MiB (512) or GB (1GB)`},
		{[]string{"run", "app:1", "--as", "batch", "-p", "80"}, "run: -p, --count and --stop-timeout are for ECS tasks, not --as batch"},
		{[]string{"run", "app:1", "--as", "kubernetes"}, `run: --as "kubernetes": one of fargate, ecs, lambda, batch`},
		{[]string{"run", "app:1", "-p", "8080:80"}, "run: -p 8080:80: a Fargate task (awsvpc) publishes a port at its own number; use -p 80, or --as ecs"},
		{[]string{"run", "app:1", "-p", "http"}, `run: -p "http": want HOST:CONTAINER or PORT`},
		{[]string{"run", "app:1", "-e", "NOVALUE"}, `run: -e "NOVALUE": want K=V`},
		{[]string{"run", "app:1", "--env-file", envFile}, `run: --env-file ` + envFile + ` line 3: "not a pair" is not K=V`},
		{[]string{"run", "app:1", "--count", "11"}, "run: --count 11: from 1 to 10 tasks"},
		{[]string{"run", "app:1", "--payload", "{}"}, "run: --payload and --url are for --as lambda, not --as fargate"},
		{[]string{"run", "--as", "lambda", "fn:1", "--payload", "{nope"}, `run: --payload: not JSON`},
		{[]string{"run", "--as", "lambda", "fn:1", "--payload", "@/nonexistent/event.json"}, "run: --payload: open /nonexistent/event.json"},
		{[]string{"run", "--as", "lambda", "fn:1", "-p", "80"}, "run: -p, --cpu, --count and --stop-timeout are for ECS tasks, not --as lambda"},
		{[]string{"run", "--as", "lambda", "fn:1", "--memory", "64"}, `run: --memory "64": a function's memory is 128 to 10240 MB`},
		{[]string{"run", "Not An Image"}, `run: image "Not An Image"`},
		{[]string{"run", "app:1", "extra"}, `run: one IMAGE, then -- and the container's arguments`},
	} {
		fails(t, c.args, c.want)
	}
}

// testFunctionDir holds the test function's build, removed when the
// test binary ends.
var testFunctionDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if testFunctionDir != "" {
		os.RemoveAll(testFunctionDir)
	}
	os.Exit(code)
}

// testFunction is the Lambda tests' function (launcher/lambda/internal/
// testfn), built static once per test binary. As a task it is a program
// that prints "init MODE" and, with the argument initexit, exits 2.
var testFunction = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "berth-cmd-testfn-")
	if err != nil {
		return "", err
	}
	testFunctionDir = dir
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./launcher/lambda/internal/testfn")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

// startLauncher is startRemote with the launcher on the machine's Docker
// Engine, holding the test function's image as fn:1. What its tasks and
// functions leave on the engine is removed when the test ends.
func startLauncher(t *testing.T) *remoteServer {
	t.Helper()
	engine := dockertest.Require(t)
	bin, err := testFunction()
	if err != nil {
		t.Fatalf("building the test function: %v", err)
	}
	clienttest.Isolate(t)
	var dataDir, credentialsFile string
	addr, stop := startServe(t, func(c *config.Config) {
		c.Auth.Mode = "keys"
		c.Launcher.SidecarPool = 0
		dataDir = c.DataDir
		credentialsFile = filepath.Join(c.DataDir, "admin-credentials")
	})
	s := &remoteServer{addr: addr}
	t.Cleanup(func() {
		// berth first: stopping, it removes its functions' environments.
		stop()
		ctx := context.Background()
		// Functions' environments carry this berth's instance label;
		// tasks' containers run images of its registry.
		left, _ := engine.List(ctx, map[string]string{launcher.LabelManaged: "true"})
		for _, c := range left {
			if c.Labels[launcher.LabelInstance] == instance(dataDir) || strings.HasPrefix(c.Image, s.addr+"/") {
				engine.Remove(ctx, c.ID)
			}
		}
		// The images last: a container whose image lost its name is
		// known by the image's id only.
		engine.RemoveImage(ctx, s.addr+"/fn:1")
		engine.RemoveImage(ctx, s.addr+"/prog:1")
	})
	s.id, s.secret = readCredentialsFile(t, credentialsFile)
	t.Setenv("BERTH_ENDPOINT", "http://"+addr)
	t.Setenv("BERTH_ACCESS_KEY_ID", s.id)
	t.Setenv("BERTH_SECRET_ACCESS_KEY", s.secret)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("NO_COLOR", "")
	img, err := dockertest.ProgramImage(bin, "bootstrap")
	if err != nil {
		t.Fatal(err)
	}
	ok(t, "repo", "create", "fn")
	s.pushImage(t, "fn:1", img)
	return s
}

// TestRunTaskAndFunction: one image run as an ECS task (its output
// printed, its exit code berth run's) and as a Lambda function (its
// answer on stdout, its log tail on stderr, a failure a failing exit),
// then listed by ps, read by logs and stopped by stop. (Fargate tasks,
// whose sidecar is the berth binary, run in e2e.)
func TestRunTaskAndFunction(t *testing.T) {
	s := startLauncher(t)
	fails(t, []string{"run", "fn:nope"}, "run: fn:nope: ImageNotFoundException", "--push pushes a local Docker image")

	r := berth(t, "", "run", "--as", "ecs", "fn:1", "-e", "A=1", "--", "initexit")
	var status exitStatus
	if !errors.As(r.err, &status) || status != 2 || r.stdout != "init initexit\n" {
		t.Fatalf("run --as ecs -- initexit: %v, printed %q; want exit status 2 after init initexit", r.err, r.stdout)
	}
	// The same flags reuse the task definition; -o json prints the
	// stopped task as DescribeTasks has it, and the output goes to stderr.
	r = berth(t, "", "run", "--as", "ecs", "fn:1", "-e", "A=1", "-o", "json", "--", "initexit")
	var stopped map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &stopped); err != nil || r.stderr != "init initexit\n" {
		t.Fatalf("run -o json: %v (%v), stdout %q, stderr %q", r.err, err, r.stdout, r.stderr)
	}
	jsontest.Expect(t, stopped, 2, "tasks", 0, "containers", 0, "exitCode")
	jsontest.Expect(t, stopped, "arn:aws:ecs:us-east-1:000000000000:task-definition/fn:1", "tasks", 0, "taskDefinitionArn")
	jsontest.Expect(t, stopped, "EC2", "tasks", 0, "launchType")

	// Several tasks: each line after its task's id.
	r = berth(t, "", "run", "--as", "ecs", "--count", "2", "fn:1", "--", "initexit")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); !errors.As(r.err, &status) || status != 2 || len(lines) != 2 ||
		!regexp.MustCompile(`^[0-9a-f]{12} \| init initexit$`).MatchString(lines[0]) || lines[0] == lines[1] {
		t.Errorf("run --count 2: %v, printed %q", r.err, r.stdout)
	}

	// IMAGE as a full reference, an ECR repository URI and by digest.
	digest := jsontest.Field(t, asJSON(t, "image", "describe", "fn:1"), "imageDetails", 0, "imageDigest").(string)
	for _, image := range []string{s.addr + "/fn:1", "000000000000.dkr.ecr.us-east-1.amazonaws.com/fn:1", "fn@" + digest} {
		r := berth(t, "", "run", "--as", "ecs", image, "--", "initexit")
		if !errors.As(r.err, &status) || status != 2 || r.stdout != "init initexit\n" {
			t.Errorf("run --as ecs %s: %v, printed %q", image, r.err, r.stdout)
		}
	}

	// Detached: the id, then ps, logs and stop.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, hostPort, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	id := strings.TrimSpace(ok(t, "run", "--as", "ecs", "-d", "-p", hostPort+":8080", "--stop-timeout", "1", "fn:1", "--", "slowinit", "60000"))
	if !taskIDPattern.MatchString(id) {
		t.Fatalf("run -d printed %q; want a task id", id)
	}
	waitUntil(t, "the task runs", func() bool {
		return strings.Contains(ok(t, "ps"), id) && strings.Contains(ok(t, "logs", id), "init slowinit")
	})
	if out := ok(t, "__complete", "stop", ""); !strings.HasPrefix(out, id+"\n") {
		t.Errorf("completing stop: %q; want the running task's id", out)
	}
	listed := asJSON(t, "ps")
	jsontest.Expect(t, listed, "RUNNING", "tasks", 0, "lastStatus")
	jsontest.Expect(t, listed, hostPort, "tasks", 0, "containers", 0, "networkBindings", 0, "hostPort")
	jsontest.Expect(t, listed, 8080, "tasks", 0, "containers", 0, "networkBindings", 0, "containerPort")
	jsontest.Expect(t, listed, "[]", "functions")
	stopping := asJSON(t, "stop", id)
	jsontest.Expect(t, stopping, "STOPPED", "tasks", 0, "desiredStatus")
	if out := ok(t, "logs", "-f", id); out != "init slowinit\n" {
		t.Errorf("logs -f of a stopping task printed %q", out)
	}
	if out := ok(t, "ps", "--all"); !strings.Contains(out, id) || !strings.Contains(out, "STOPPED") {
		t.Errorf("ps --all:\n%s", out)
	}
	fails(t, []string{"stop", "0123456789abcdef0123456789abcdef"}, "stop: task 0123456789abcdef0123456789abcdef: no such task")

	// The image as a function.
	r = berth(t, "", "run", "--as", "lambda", "fn:1", "--payload", `{"hello":"berth"}`)
	if r.err != nil || r.stdout != `{"hello":"berth"}`+"\n" || !strings.Contains(r.stderr, "REPORT RequestId: ") {
		t.Fatalf("run --as lambda: %v, stdout %q, stderr %q", r.err, r.stdout, r.stderr)
	}
	event := filepath.Join(t.TempDir(), "event.json")
	os.WriteFile(event, []byte(`{"action":"fail"}`), 0o600)
	r = berth(t, "", "run", "--as", "lambda", "fn:1", "--payload", "@"+event)
	if r.line() != "berth: run: fn: the function failed (Unhandled)" || !strings.Contains(r.stdout, `"errorMessage"`) {
		t.Errorf("run --as lambda of a failing invocation: %q, stdout %q", r.line(), r.stdout)
	}
	invoked := asJSON(t, "run", "--as", "lambda", "fn:1", "--payload", `{"n":1}`)
	jsontest.Expect(t, invoked, 200, "StatusCode")
	jsontest.Expect(t, invoked, 1, "Payload", "n")
	if tail, err := base64.StdEncoding.DecodeString(jsontest.Field(t, invoked, "LogResult").(string)); err != nil || !strings.Contains(string(tail), "REPORT RequestId:") {
		t.Errorf("run --as lambda -o json: LogResult %v (%v); want the log tail in base64, as Invoke answers", jsontest.Field(t, invoked, "LogResult"), err)
	}
	url := strings.TrimSpace(ok(t, "run", "--as", "lambda", "fn:1", "--url"))
	if !strings.HasPrefix(url, "http://") {
		t.Errorf("run --url printed %q; want the function's URL", url)
	}
	// The log store has an invocation's last lines soon after its answer,
	// as CloudWatch Logs has them.
	waitUntil(t, "logs fn shows the three invocations' REPORT lines", func() bool {
		return strings.Count(ok(t, "logs", "fn"), "REPORT RequestId:") == 3
	})
	if out := ok(t, "ps"); !strings.Contains(out, "lambda") || !strings.Contains(out, "fn:1") {
		t.Errorf("ps lacks the function:\n%s", out)
	}
	jsontest.Expect(t, asJSON(t, "ps"), "fn", "functions", 0, "FunctionName")
	if out := ok(t, "__complete", "logs", "f"); !strings.HasPrefix(out, "fn\n") {
		t.Errorf("completing logs f: %q; want the function's name", out)
	}
	fails(t, []string{"logs", "nofn"}, "logs: ResourceNotFoundException")
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
	}
}

func TestParsePortAndName(t *testing.T) {
	for in, want := range map[string]portMapping{"80": {80, 80}, "8080:80": {8080, 80}, "0:80": {0, 80}} {
		if got, err := parsePort(in); err != nil || got != want {
			t.Errorf("parsePort(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ":", "80:", "80:0", "70000", "a:80", "80:80:80", "-1"} {
		if _, err := parsePort(bad); err == nil {
			t.Errorf("parsePort(%q) is no error", bad)
		}
	}
	for in, want := range map[string]string{"app": "app", "team/app": "team-app", "a.b/c__d": "a-b-c__d", strings.Repeat("x", 70): strings.Repeat("x", 64)} {
		if got := nameFrom(in); got != want {
			t.Errorf("nameFrom(%q) = %q; want %q", in, got, want)
		}
	}
}
