package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// lambdaContext writes a docker build context of the Lambda tests'
// function (launcher/lambda/internal/testfn, aws-lambda-go built with
// -tags lambda.norpc), static in a FROM scratch image whose entrypoint is
// /bootstrap, as a custom runtime's.
func lambdaContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	runWith(t, 2*time.Minute, func(c *exec.Cmd) {
		c.Dir = repoRoot
		c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	}, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", filepath.Join(dir, "bootstrap"), "./launcher/lambda/internal/testfn")
	write(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\nCOPY bootstrap /bootstrap\nENTRYPOINT [\"/bootstrap\"]\nLABEL berth.managed=true berth.service=e2e\n")
	return dir
}

// lambdaCLI runs `aws lambda` against one berth.
type lambdaCLI struct {
	awsCLI
	// noValidation is an AWS config file that turns off the CLI's own
	// checks of parameters, so that berth's answer to bad input is what
	// the test sees.
	noValidation string
}

func (c lambdaCLI) json(args ...string) map[string]any {
	c.t.Helper()
	return c.serviceJSON("lambda", args...)
}

// refused runs `aws lambda ARGS` (with the CLI's parameter validation off
// and no retries) and checks that it exits 254 naming errorType and
// message.
func (c lambdaCLI) refused(errorType, message string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(append([]string{"lambda"}, args...), "--endpoint-url", c.endpoint)...)
	cmd.Env = append(awsEnv(c.key), "AWS_CONFIG_FILE="+c.noValidation, "AWS_MAX_ATTEMPTS=1")
	out, err := cmd.CombinedOutput()
	exit, _ := err.(*exec.ExitError)
	if exit == nil || exit.ExitCode() != 254 || !strings.Contains(string(out), "("+errorType+")") || !strings.Contains(string(out), message) {
		c.t.Errorf("aws lambda %s: %v\n%s\nwant exit 254 with %s: %s", strings.Join(args, " "), err, out, errorType, message)
	}
}

// invokeResult is what `aws lambda invoke` prints and writes.
type invokeResult struct {
	StatusCode      int
	FunctionError   string
	LogResult       string
	ExecutedVersion string
	Payload         string
}

// invoke runs `aws lambda invoke` with payload and returns its answer.
func (c lambdaCLI) invoke(function, payload string, args ...string) invokeResult {
	c.t.Helper()
	res, err := c.tryInvoke(function, payload, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// tryInvoke is invoke for goroutines other than the test's: it returns
// its failure.
func (c lambdaCLI) tryInvoke(function, payload string, args ...string) (invokeResult, error) {
	dir, err := os.MkdirTemp("", "lambda-invoke-")
	if err != nil {
		return invokeResult{}, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "out.json")
	all := append([]string{"lambda", "invoke", "--function-name", function, "--cli-binary-format", "raw-in-base64-out", "--payload", payload}, args...)
	meta, err := execute(2*time.Minute, func(cmd *exec.Cmd) { cmd.Env = awsEnv(c.key) }, c.bin,
		append(all, out, "--endpoint-url", c.endpoint, "--output", "json")...)
	if err != nil {
		return invokeResult{}, err
	}
	var res invokeResult
	if err := json.Unmarshal([]byte(meta), &res); err != nil {
		return invokeResult{}, fmt.Errorf("aws lambda invoke printed %q: %w", meta, err)
	}
	body, err := os.ReadFile(out)
	res.Payload = string(body)
	return res, err
}

// create creates a function of image started in mode and waits with the
// CLI's function-active-v2 waiter until it is Active.
func (c lambdaCLI) create(name, image string, extra ...string) map[string]any {
	c.t.Helper()
	created := c.json(append([]string{"create-function", "--function-name", name, "--package-type", "Image",
		"--code", "ImageUri=" + image, "--role", "arn:aws:iam::000000000000:role/lambda-role"}, extra...)...)
	runWith(c.t, 2*time.Minute, func(cmd *exec.Cmd) { cmd.Env = awsEnv(c.key) }, c.bin,
		"lambda", "wait", "function-active-v2", "--function-name", name, "--endpoint-url", c.endpoint)
	return created
}

// holdServer answers no GET until n are waiting (or it is released), on
// 127.0.0.1, where functions in the host's network reach it: the
// invocations that call it are all in flight at once.
type holdServer struct {
	URL  string
	mu   sync.Mutex
	n    int
	open chan struct{}
	once sync.Once
}

func newHoldServer(t *testing.T, n int) *holdServer {
	h := &holdServer{n: n, open: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		if h.n--; h.n <= 0 {
			h.release()
		}
		h.mu.Unlock()
		select {
		case <-h.open:
			io.WriteString(w, "released")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(h.release)
	h.URL = srv.URL
	return h
}

func (h *holdServer) release() { h.once.Do(func() { close(h.open) }) }

func (h *holdServer) waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(h.n, 0)
}

// environments counts the running containers of function name.
func environments(t *testing.T, name string) int {
	t.Helper()
	out := run(t, dockerTimeout, "docker", "ps", "--quiet", "--filter", "label=berth.service=lambda", "--filter", "label=berth.function="+name)
	return len(strings.Fields(out))
}

// TestLambdaWithAWSCLI is the Lambda flow with the real AWS CLI v2 and
// docker against berth with access control: an image pushed to berth
// becomes a function (Pending, then Active for the CLI's waiter), answers
// invocations (its log tail too), fails as Lambda fails (the exact error
// bodies of a timeout, a crash and a failed init), gets versions and an
// alias, scales out to an environment per concurrent invocation, is
// throttled over its reserved concurrency, and logs to
// /aws/lambda/<function> for `aws logs tail`. Bad input gets Lambda's
// errors.
func TestLambdaWithAWSCLI(t *testing.T) {
	requireDocker(t)
	bin := requireAWSCLI(t)
	srv := startBerth(t, "BERTH_LAUNCHER_LAMBDA_RETRY_DELAY=200ms")
	admin := srv.adminKey(t)
	login(t, srv.Addr, admin)
	cfg := filepath.Join(t.TempDir(), "config")
	write(t, cfg, "[default]\nparameter_validation = false\n")
	lam := lambdaCLI{awsCLI{t, bin, "http://" + srv.Addr, admin}, cfg}
	const account = "000000000000"

	image := srv.Addr + "/e2e/fn:1"
	_, port, _ := strings.Cut(srv.Addr, ":")
	var functions []string
	t.Cleanup(func() {
		// berth first: stopping, it removes its environments.
		srv.Stop(t)
		for _, name := range functions {
			out, _ := execute(dockerTimeout, nil, "docker", "ps", "--all", "--quiet", "--filter", "label=berth.function="+name)
			for _, c := range strings.Fields(out) {
				t.Errorf("container %s of %s left behind", c, name)
				execute(dockerTimeout, nil, "docker", "rm", "--force", c)
			}
		}
		removeImage(t, image)
		out, _ := execute(dockerTimeout, nil, "docker", "images", "--quiet", "--no-trunc", "--filter", "reference=127.0.0.1:"+port+"/e2e/fn")
		for _, id := range strings.Fields(out) {
			removeImage(t, id)
		}
	})
	run(t, dockerTimeout, "docker", "build", "-t", image, lambdaContext(t))
	lam.serviceJSON("ecr", "create-repository", "--repository-name", "e2e/fn")
	run(t, dockerTimeout, "docker", "push", image)

	// Create, wait, invoke.
	functions = append(functions, "echo")
	created := lam.json("create-function", "--function-name", "echo", "--package-type", "Image",
		"--code", "ImageUri="+image, "--role", "arn:aws:iam::000000000000:role/lambda-role", "--timeout", "10")
	expectField(t, created, "Pending", "State")
	expectField(t, created, "arn:aws:lambda:us-east-1:"+account+":function:echo", "FunctionArn")
	runWith(t, 2*time.Minute, func(cmd *exec.Cmd) { cmd.Env = awsEnv(admin) }, bin,
		"lambda", "wait", "function-active-v2", "--function-name", "echo", "--endpoint-url", lam.endpoint)
	got := lam.json("get-function", "--function-name", "echo")
	expectField(t, got, "Active", "Configuration", "State")
	if resolved := fmt.Sprint(field(t, got, "Code", "ResolvedImageUri")); !strings.HasPrefix(resolved, srv.Addr+"/e2e/fn@sha256:") {
		t.Errorf("ResolvedImageUri = %s; want the image pinned to its digest", resolved)
	}
	res := lam.invoke("echo", `{"hello":"world"}`, "--log-type", "Tail")
	if res.StatusCode != 200 || res.Payload != `{"hello":"world"}` || res.FunctionError != "" || res.ExecutedVersion != "$LATEST" {
		t.Errorf("invoke = %+v", res)
	}
	tail, _ := base64.StdEncoding.DecodeString(res.LogResult)
	for _, want := range []string{"START RequestId: ", "Version: $LATEST", `action=""`, "END RequestId: ", "REPORT RequestId: ", "Billed Duration: ", "Max Memory Used: ", "Init Duration: "} {
		if !strings.Contains(string(tail), want) {
			t.Errorf("--log-type Tail has no %q:\n%s", want, tail)
		}
	}

	// Failures: a function error, a timeout, a crash, a failed init.
	res = lam.invoke("echo", `{"action":"fail"}`)
	if res.StatusCode != 200 || res.FunctionError != "Unhandled" || res.Payload != `{"errorMessage":"asked to fail","errorType":"errorString"}` {
		t.Errorf("failing invoke = %+v", res)
	}
	lam.json("update-function-configuration", "--function-name", "echo", "--timeout", "1")
	res = lam.invoke("echo", `{"action":"sleep","ms":5000}`)
	timeout := `{"errorMessage":"RequestId: [0-9a-f-]{36} Error: Task timed out after 1.00 seconds","errorType":"Sandbox.Timedout"}`
	if res.FunctionError != "Unhandled" || !matches(timeout, res.Payload) {
		t.Errorf("timed out invoke = %+v; want %s", res, timeout)
	}
	res = lam.invoke("echo", `{"action":"exit"}`)
	crash := `{"errorMessage":"RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3","errorType":"Runtime.ExitError"}`
	if res.FunctionError != "Unhandled" || !matches(crash, res.Payload) {
		t.Errorf("crashed invoke = %+v; want %s", res, crash)
	}
	functions = append(functions, "broken")
	lam.create("broken", image, "--image-config", "Command=initfail")
	res = lam.invoke("broken", `{}`)
	if res.FunctionError != "Unhandled" || res.Payload != `{"errorMessage":"init failed on purpose","errorType":"InitFailure"}` {
		t.Errorf("invoke of a failing init = %+v", res)
	}

	// An Event invocation: 202 at once; the function fails, and Lambda
	// retries it twice with the same request id.
	functions = append(functions, "async")
	lam.create("async", image)
	res = lam.invoke("async", `{"action":"fail"}`, "--invocation-type", "Event")
	if res.StatusCode != 202 || res.Payload != "" {
		t.Errorf("Event invoke = %+v; want 202 and no payload", res)
	}
	attempts := regexp.MustCompile(`START RequestId: ([0-9a-f-]{36})`)
	deadline := time.Now().Add(time.Minute)
	for {
		logs := runWith(t, time.Minute, func(cmd *exec.Cmd) { cmd.Env = awsEnv(admin) }, bin,
			"logs", "tail", "/aws/lambda/async", "--since", "1h", "--endpoint-url", lam.endpoint)
		ids := map[string]int{}
		for _, m := range attempts.FindAllStringSubmatch(logs, -1) {
			ids[m[1]]++
		}
		if len(ids) == 1 && slices.Contains(slices.Collect(maps.Values(ids)), 3) {
			break
		}
		if len(ids) > 1 || time.Now().After(deadline) {
			t.Fatalf("the Event invocation's attempts: %v; want one request id started 3 times\n%s", ids, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Versions and an alias.
	lam.json("update-function-configuration", "--function-name", "echo", "--timeout", "10", "--environment", "Variables={GREETING=one}")
	runWith(t, time.Minute, func(cmd *exec.Cmd) { cmd.Env = awsEnv(admin) }, bin,
		"lambda", "wait", "function-updated-v2", "--function-name", "echo", "--endpoint-url", lam.endpoint)
	v1 := lam.json("publish-version", "--function-name", "echo")
	expectField(t, v1, "1", "Version")
	lam.json("update-function-configuration", "--function-name", "echo", "--environment", "Variables={GREETING=two}")
	expectField(t, lam.json("publish-version", "--function-name", "echo"), "2", "Version")
	alias := lam.json("create-alias", "--function-name", "echo", "--name", "live", "--function-version", "1")
	expectField(t, alias, "arn:aws:lambda:us-east-1:"+account+":function:echo:live", "AliasArn")
	greeting := func(qualifier string) (string, string) {
		res := lam.invoke("echo", `{"action":"env"}`, "--qualifier", qualifier)
		var env map[string]string
		json.Unmarshal([]byte(res.Payload), &env)
		return env["GREETING"], res.ExecutedVersion
	}
	if g, v := greeting("live"); g != "one" || v != "1" {
		t.Errorf("invoke live = %s from version %s; want one from 1", g, v)
	}
	lam.json("update-alias", "--function-name", "echo", "--name", "live", "--function-version", "2")
	if g, v := greeting("live"); g != "two" || v != "2" {
		t.Errorf("invoke live after update-alias = %s from version %s; want two from 2", g, v)
	}
	if n := len(field(t, lam.json("list-versions-by-function", "--function-name", "echo"), "Versions").([]any)); n != 3 {
		t.Errorf("list-versions-by-function: %d versions; want $LATEST, 1 and 2", n)
	}

	// 20 invocations at once, each in an environment of its own.
	functions = append(functions, "wide")
	lam.create("wide", image, "--timeout", "120")
	hold := newHoldServer(t, 20)
	var wg sync.WaitGroup
	results := make([]invokeResult, 20)
	errs := make([]error, 20)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = lam.tryInvoke("wide", `{"action":"get","url":"`+hold.URL+`"}`) })
	}
	wg.Wait()
	for i, r := range results {
		if errs[i] != nil || r.StatusCode != 200 || r.Payload != `"released"` {
			t.Errorf("concurrent invoke = %+v, %v", r, errs[i])
		}
	}
	if n := environments(t, "wide"); n != 20 {
		t.Errorf("%d environments after 20 concurrent invocations; want 20", n)
	}

	// A reserved concurrency of 2: a third invocation in flight is
	// throttled.
	lam.json("put-function-concurrency", "--function-name", "wide", "--reserved-concurrent-executions", "2")
	held := newHoldServer(t, 3) // never reached: holds two until released
	done := make(chan invokeResult, 2)
	for range 2 {
		go func() {
			r, err := lam.tryInvoke("wide", `{"action":"get","url":"`+held.URL+`"}`)
			if err != nil {
				r.Payload = err.Error()
			}
			done <- r
		}()
	}
	deadline = time.Now().Add(2 * time.Minute)
	for held.waiting() > 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	lam.refused("TooManyRequestsException", "Rate Exceeded.", "invoke", "--function-name", "wide", filepath.Join(t.TempDir(), "out"))
	held.release()
	for range 2 {
		if r := <-done; r.Payload != `"released"` {
			t.Errorf("invoke within the reserved concurrency = %+v", r)
		}
	}

	// Logs: every environment's stream, for aws logs tail.
	logs := runWith(t, time.Minute, func(cmd *exec.Cmd) { cmd.Env = awsEnv(admin) }, bin,
		"logs", "tail", "/aws/lambda/echo", "--since", "1h", "--endpoint-url", lam.endpoint)
	for _, want := range []string{"[$LATEST]", "[1]", "START RequestId: ", "REPORT RequestId: ", "Task timed out after 1.00 seconds", "Runtime.ExitError"} {
		if !strings.Contains(logs, want) {
			t.Errorf("aws logs tail has no %q:\n%s", want, logs)
		}
	}

	// A function URL, answered through curl: a POST with a JSON body and
	// a cookie, and the status the function chose.
	functions = append(functions, "web")
	lam.create("web", image, "--image-config", "Command=url")
	url := fmt.Sprint(field(t, lam.json("create-function-url-config", "--function-name", "web", "--auth-type", "NONE"), "FunctionUrl"))
	curl := run(t, time.Minute, "curl", "--silent", "--show-error", "--include", "--request", "POST",
		"--header", "Content-Type: application/json", "--cookie", "theme=dark", "--data", `{"item":"tea"}`, url+"orders?status=418")
	head, body, _ := strings.Cut(strings.ReplaceAll(curl, "\r\n", "\n"), "\n\n")
	for _, want := range []string{"HTTP/1.1 418", "Set-Cookie: session=abc; Path=/", "Set-Cookie: seen=1", "X-Fn: testfn"} {
		if !strings.Contains(head, want) {
			t.Errorf("curl's response has no %q:\n%s", want, head)
		}
	}
	var seen map[string]any
	if err := json.Unmarshal([]byte(body), &seen); err != nil || seen["method"] != "POST" || seen["path"] != "/orders" ||
		seen["body"] != `{"item":"tea"}` || fmt.Sprint(seen["cookies"]) != "[theme=dark]" || seen["version"] != "2.0" {
		t.Errorf("the function saw %s (%v)", body, err)
	}

	// Access control: lambda-full-access deploys and invokes; a user of
	// the registry only may not invoke.
	deployer := parseKey(t, run(t, time.Minute, berthBin, "user", "create", "deployer", "--policy", "lambda-full-access", "--with-key", "--data-dir", srv.DataDir))
	reader := parseKey(t, run(t, time.Minute, berthBin, "user", "create", "reader", "--policy", "read-only", "--with-key", "--data-dir", srv.DataDir))
	asDeployer := lambdaCLI{awsCLI{t, bin, lam.endpoint, deployer}, cfg}
	if res := asDeployer.invoke("echo", `"ok"`); res.Payload != `"ok"` {
		t.Errorf("invoke as lambda-full-access = %+v", res)
	}
	asReader := lambdaCLI{awsCLI{t, bin, lam.endpoint, reader}, cfg}
	asReader.refused("AccessDeniedException", "lambda:InvokeFunction", "invoke", "--function-name", "echo", filepath.Join(t.TempDir(), "out"))

	// Prometheus metrics per function.
	resp, err := http.Get("http://" + srv.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`berth_lambda_invocations_total{function="wide"} 22`, `berth_lambda_throttles_total{function="wide"} 1`,
		`berth_lambda_errors_total{function="broken"} 1`, `berth_lambda_duration_seconds_count{function="echo"}`, `berth_lambda_gb_seconds_total{function="echo"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}

	// Bad input gets Lambda's errors, never a 500.
	lam.refused("ValidationException", "Value '100' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128",
		"create-function", "--function-name", "bad", "--package-type", "Image", "--code", "ImageUri="+image,
		"--role", "arn:aws:iam::000000000000:role/lambda-role", "--memory-size", "100")
	lam.refused("ValidationException", "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1",
		"create-function", "--function-name", "bad", "--package-type", "Image", "--code", "ImageUri="+image,
		"--role", "arn:aws:iam::000000000000:role/lambda-role", "--timeout", "0")
	lam.refused("InvalidParameterValueException", "Source image "+srv.Addr+"/e2e/missing:1 does not exist. Provide a valid source image.",
		"create-function", "--function-name", "bad", "--package-type", "Image", "--code", "ImageUri="+srv.Addr+"/e2e/missing:1",
		"--role", "arn:aws:iam::000000000000:role/lambda-role")
	big := filepath.Join(t.TempDir(), "big.json")
	write(t, big, `"`+strings.Repeat("x", 6<<20)+`"`)
	lam.refused("RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation",
		"invoke", "--function-name", "echo", "--payload", "fileb://"+big, filepath.Join(t.TempDir(), "out"))
	lam.refused("ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:"+account+":function:nope",
		"invoke", "--function-name", "nope", filepath.Join(t.TempDir(), "out"))

	// Deleting a function removes its environments.
	lam.json("delete-function", "--function-name", "broken")
	lam.refused("ResourceNotFoundException", "Function not found", "get-function", "--function-name", "broken")
}

// matches reports whether s matches the regular expression pattern whole.
func matches(pattern, s string) bool {
	return regexp.MustCompile("^" + pattern + "$").MatchString(s)
}
