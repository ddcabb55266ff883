package lambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/lambda"
)

// newRunner returns a runner on the real engine whose environments are
// removed (by id) when the test ends.
func newRunner(t testing.TB, cfg lambda.RunnerConfig) *lambda.Runner {
	t.Helper()
	rt := newEngine(t)
	if cfg.Instance == "" {
		// Tests run in parallel on one engine, each a berth of its own.
		cfg.Instance = strings.NewReplacer("/", "-", "#", "-").Replace(t.Name())
	}
	r := lambda.NewRunner(rt, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("close runner: %v", err)
		}
	})
	return r
}

// version is a test function: the test image started in mode (its
// ImageConfig.Command), 128 MB, a 3 s timeout, named after the test.
func version(t testing.TB, mode ...string) lambda.Version {
	f := testImage(t)
	name := strings.NewReplacer("/", "-", "#", "-").Replace(t.Name())
	return lambda.Version{
		Name: name, Version: "$LATEST", Revision: "r1", Image: f.Image(), Command: mode,
		MemorySize: 128, Timeout: 3 * time.Second, EphemeralStorage: 512,
	}
}

// invoke runs one invocation, failing the test on an error.
func invoke(t testing.TB, r *lambda.Runner, v lambda.Version, payload string) lambda.Result {
	t.Helper()
	res, err := r.Invoke(t.Context(), v, lambda.Request{Payload: []byte(payload), FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:" + v.Name})
	if err != nil {
		t.Fatalf("invoke %s: %v", payload, err)
	}
	return res
}

var reportLine = regexp.MustCompile(`^REPORT RequestId: ([0-9a-f-]{36})\tDuration: [0-9]+\.[0-9]{2} ms\tBilled Duration: [0-9]+ ms\tMemory Size: 128 MB\tMax Memory Used: ([0-9]+) MB\t(Init Duration: [0-9]+\.[0-9]{2} ms\t)?(Status: .*)?$`)

// An echo function answers its payload; the second invocation reuses the
// warm environment, and the log has START, the function's line, END and
// REPORT for each, Init Duration only for the first.
func TestEchoWarmReuse(t *testing.T) {
	t.Parallel()
	logs := &memorySink{}
	r := newRunner(t, lambda.RunnerConfig{Logs: logs})
	v := version(t)
	first := invoke(t, r, v, `{"hello":"world"}`)
	if string(first.Payload) != `{"hello":"world"}` || first.ErrorType != "" {
		t.Fatalf("first = %q, error %q", first.Payload, first.ErrorType)
	}
	if first.Init <= 0 {
		t.Errorf("first invocation: Init = %v; want the cold start's init", first.Init)
	}
	second := invoke(t, r, v, `[1,2,3]`)
	if string(second.Payload) != `[1,2,3]` || second.Init != 0 || second.RequestID == first.RequestID {
		t.Errorf("second = %+v; want the payload back, warm, a new request id", second)
	}
	if n := r.Environments(v.Name); n != 1 {
		t.Errorf("%d environments after two invocations in a row; want 1", n)
	}
	if first.Billed < first.Duration+first.Init || first.Billed-first.Duration-first.Init >= time.Millisecond {
		t.Errorf("billed %v for %v + init %v; want it rounded up to the millisecond", first.Billed, first.Duration, first.Init)
	}

	// Every line reaches the log; the REPORT lines are written after the
	// result, so wait for them.
	streams := waitLines(t, logs, v.Name, func(lines []string) bool { return countPrefix(lines, "REPORT ") == 2 })
	if len(streams) != 1 {
		t.Fatalf("log streams = %v; want one", streams)
	}
	for stream, lines := range streams {
		if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(stream) {
			t.Errorf("stream name %q; want YYYY/MM/DD/[$LATEST]<32 hex digits>", stream)
		}
		for _, want := range []string{"init echo", "START RequestId: " + first.RequestID + " Version: $LATEST",
			"handling " + first.RequestID + ` action=""`, "END RequestId: " + first.RequestID,
			"START RequestId: " + second.RequestID + " Version: $LATEST", "END RequestId: " + second.RequestID} {
			if !contains(lines, want) {
				t.Errorf("log has no line %q:\n%s", want, strings.Join(lines, "\n"))
			}
		}
		inits := 0
		for _, l := range lines {
			if m := reportLine.FindStringSubmatch(l); m != nil {
				if m[3] != "" {
					inits++
					if m[1] != first.RequestID {
						t.Errorf("Init Duration reported for %s; want only the first invocation, %s", m[1], first.RequestID)
					}
				}
				if m[2] == "0" {
					t.Errorf("REPORT %q: Max Memory Used is 0", l)
				}
			} else if strings.HasPrefix(l, "REPORT") {
				t.Errorf("REPORT line %q is not in Lambda's format", l)
			}
		}
		if inits != 1 {
			t.Errorf("%d REPORT lines with Init Duration; want 1", inits)
		}
	}
}

// A function error is the runtime's error document with its type, and
// the environment stays warm.
func TestFunctionError(t *testing.T) {
	t.Parallel()
	r := newRunner(t, lambda.RunnerConfig{})
	v := version(t)
	res := invoke(t, r, v, `{"action":"fail"}`)
	if res.ErrorType != "errorString" || string(res.Payload) != `{"errorMessage":"asked to fail","errorType":"errorString"}` {
		t.Fatalf("result = %q, error type %q", res.Payload, res.ErrorType)
	}
	if again := invoke(t, r, v, `"ok"`); string(again.Payload) != `"ok"` || again.Init != 0 {
		t.Errorf("after the error: %+v; want a warm answer", again)
	}
}

// A function past its timeout gets Sandbox.Timedout; its container is
// killed and the next invocation starts a new one.
func TestTimeout(t *testing.T) {
	t.Parallel()
	logs := &memorySink{}
	r := newRunner(t, lambda.RunnerConfig{Logs: logs})
	v := version(t)
	v.Timeout = time.Second
	res := invoke(t, r, v, `{"action":"sleep","ms":60000}`)
	want := `{"errorMessage":"RequestId: ` + res.RequestID + ` Error: Task timed out after 1.00 seconds","errorType":"Sandbox.Timedout"}`
	if res.ErrorType != "Sandbox.Timedout" || string(res.Payload) != want {
		t.Fatalf("result = %s (%s); want %s", res.Payload, res.ErrorType, want)
	}
	if res.Duration != time.Second {
		t.Errorf("duration = %v; want the timeout", res.Duration)
	}
	waitNoContainers(t, v.Name, 1)
	next := invoke(t, r, v, `"again"`)
	if string(next.Payload) != `"again"` || next.Init <= 0 {
		t.Errorf("after a timeout: %+v; want a cold start's answer", next)
	}
	streams := waitLines(t, logs, v.Name, func(lines []string) bool { return countPrefix(lines, "REPORT ") == 2 })
	for _, lines := range streams {
		if contains(lines, "END RequestId: "+res.RequestID) {
			if !containsMatch(lines, `Task timed out after 1\.00 seconds$`) || !containsMatch(lines, `^REPORT RequestId: `+res.RequestID+`\tDuration: 1000\.00 ms\tBilled Duration: \d+ ms\t.*Status: timeout\t$`) {
				t.Errorf("timed-out environment's log:\n%s", strings.Join(lines, "\n"))
			}
		}
	}
}

// A runtime that exits mid-invoke gets Runtime.ExitError.
func TestExitMidInvoke(t *testing.T) {
	t.Parallel()
	r := newRunner(t, lambda.RunnerConfig{})
	v := version(t)
	res := invoke(t, r, v, `{"action":"exit"}`)
	want := `{"errorMessage":"RequestId: ` + res.RequestID + ` Error: Runtime exited with error: exit status 3","errorType":"Runtime.ExitError"}`
	if string(res.Payload) != want || res.ErrorType != "Runtime.ExitError" {
		t.Fatalf("result = %s; want %s", res.Payload, want)
	}
	waitNoContainers(t, v.Name, 1)
	if next := invoke(t, r, v, `1`); string(next.Payload) != `1` {
		t.Errorf("after an exit: %q", next.Payload)
	}
}

// An init the runtime reports failed gives the invocation its error
// document; one that exits without a word gives Runtime.ExitError. Either
// way the environment is gone.
func TestInitFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode, errorType, payload string
	}{
		{"initfail", "InitFailure", `{"errorMessage":"init failed on purpose","errorType":"InitFailure"}`},
		{"initexit", "Runtime.ExitError", `{"errorMessage":"RequestId: %s Error: Runtime exited with error: exit status 2","errorType":"Runtime.ExitError"}`},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, lambda.RunnerConfig{})
			v := version(t, tc.mode)
			res := invoke(t, r, v, `{}`)
			want := tc.payload
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, res.RequestID)
			}
			if res.ErrorType != tc.errorType || string(res.Payload) != want {
				t.Errorf("result = %s (%s); want %s", res.Payload, res.ErrorType, want)
			}
			if res.Init <= 0 {
				t.Errorf("Init = %v; want the failed init's duration", res.Init)
			}
			waitNoContainers(t, v.Name, 1)
		})
	}
}

// A slow init is waited for, and reported as the Init Duration.
func TestSlowInit(t *testing.T) {
	t.Parallel()
	r := newRunner(t, lambda.RunnerConfig{})
	v := version(t, "slowinit", "1500")
	res := invoke(t, r, v, `"late"`)
	if string(res.Payload) != `"late"` || res.Init < 1500*time.Millisecond {
		t.Errorf("result = %q, init %v; want the answer after an init of at least 1.5 s", res.Payload, res.Init)
	}
}

// LogType Tail returns the invocation's log: START, what the function
// printed, END and REPORT.
func TestTail(t *testing.T) {
	t.Parallel()
	logs := &memorySink{}
	r := newRunner(t, lambda.RunnerConfig{Logs: logs})
	v := version(t)
	warm := invoke(t, r, v, `"warm up"`)
	// Its output is in before the next invocation starts.
	waitLines(t, logs, v.Name, func(lines []string) bool { return contains(lines, "handling "+warm.RequestID+` action=""`) })
	res, err := r.Invoke(t.Context(), v, lambda.Request{Payload: []byte(`{"action":"fail"}`), Tail: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(res.LogTail), "\n"), "\n")
	if len(lines) < 4 || lines[0] != "START RequestId: "+res.RequestID+" Version: $LATEST" ||
		!contains(lines, "handling "+res.RequestID+` action="fail"`) ||
		lines[len(lines)-2] != "END RequestId: "+res.RequestID || !reportLine.MatchString(lines[len(lines)-1]) {
		t.Errorf("tail:\n%s", res.LogTail)
	}
	if contains(lines, "init echo") {
		t.Errorf("a warm invocation's tail has init's output:\n%s", res.LogTail)
	}
}

// Invocations in flight at once each get an environment of their own.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	r := newRunner(t, lambda.RunnerConfig{})
	v := version(t)
	const n = 4
	b := newBarrier(t, n)
	results := invokeAll(t, r, v, n, `{"action":"get","url":"`+b.URL+`"}`)
	for _, res := range results {
		if res.err != nil || string(res.Payload) != `"released"` {
			t.Errorf("invocation: %q, %v", res.Payload, res.err)
		}
	}
	if got := r.Environments(v.Name); got != n {
		t.Errorf("%d environments after %d concurrent invocations; want %d", got, n, n)
	}
}

// Over its reserved concurrency a function is throttled, and over the
// account's limit any function is.
func TestConcurrencyLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		reserved *int
		account  int
		reason   string
	}{
		{"reserved", ptr(2), 0, "ReservedFunctionConcurrentInvocationLimitExceeded"},
		{"account", nil, 2, "ConcurrentInvocationLimitExceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var throttled int
			var mu sync.Mutex
			r := newRunner(t, lambda.RunnerConfig{AccountConcurrency: tc.account, Observe: func(o lambda.Observation) {
				mu.Lock()
				defer mu.Unlock()
				if o.Throttled {
					throttled++
				}
			}})
			v := version(t)
			v.Reserved = tc.reserved
			// A barrier for three holds two until the test releases it.
			b := newBarrier(t, 3)
			done := make(chan []result, 1)
			go func() { done <- invokeAll(t, r, v, 2, `{"action":"get","url":"`+b.URL+`"}`) }()
			// Until both are in flight, a third may still get in: wait.
			waitFor(t, "two invocations in flight", func() bool { return b.waiting() == 1 })
			_, err := r.Invoke(t.Context(), v, lambda.Request{Payload: []byte(`1`)})
			var throttle *lambda.ThrottleError
			if !errors.As(err, &throttle) || throttle.Reason != tc.reason {
				t.Errorf("third invocation: %v; want a throttle for %s", err, tc.reason)
			}
			b.release()
			for _, res := range <-done {
				if res.err != nil {
					t.Error(res.err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if throttled != 1 {
				t.Errorf("%d throttles observed; want 1", throttled)
			}
			// Room again once they are done.
			invoke(t, r, v, `1`)
		})
	}
}

// The function sees the reserved variables (and not
// AWS_LAMBDA_MAX_CONCURRENCY), its own, its ARN and its deadline.
func TestEnvironmentVariables(t *testing.T) {
	t.Parallel()
	r := newRunner(t, lambda.RunnerConfig{Region: "eu-west-1"})
	v := version(t, "echo")
	v.Environment = map[string]string{"GREETING": "hello", "AWS_REGION": "forged"}
	res := invoke(t, r, v, `{"action":"env"}`)
	var env map[string]string
	if err := json.Unmarshal(res.Payload, &env); err != nil {
		t.Fatalf("%s: %v", res.Payload, err)
	}
	for k, want := range map[string]string{
		"GREETING": "hello", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
		"AWS_LAMBDA_FUNCTION_NAME": v.Name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + v.Name,
		"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "_HANDLER": "echo", "LAMBDA_TASK_ROOT": "/var/task", "TZ": ":UTC",
		"functionArn": "arn:aws:lambda:us-east-1:000000000000:function:" + v.Name,
	} {
		if env[k] != want {
			t.Errorf("%s = %q; want %q", k, env[k], want)
		}
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(env["AWS_LAMBDA_RUNTIME_API"]) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q; want 127.0.0.1:<port>", env["AWS_LAMBDA_RUNTIME_API"])
	}
	if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if _, set := env["AWS_LAMBDA_MAX_CONCURRENCY"]; set {
		t.Error("AWS_LAMBDA_MAX_CONCURRENCY is set; it turns on multi-concurrency")
	}
	if ms := env["deadlineInMs"]; ms == "" || ms[0] == '-' || len(ms) > 4 {
		t.Errorf("time to the deadline = %s ms; want within the 3 s timeout", ms)
	}
}

// The container runs as Lambda's does: host network, read-only root, a
// /tmp of EphemeralStorage, MemorySize as its limit and CPU weight, and
// berth's labels.
func TestContainerSpec(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	r := newRunner(t, lambda.RunnerConfig{})
	v := version(t)
	v.MemorySize = 1769
	invoke(t, r, v, `1`)
	list, err := rt.List(t.Context(), launcher.Owner{Service: launcher.ServiceLambda, Function: v.Name}.Labels())
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v; want one container", list, err)
	}
	st, err := rt.Inspect(t.Context(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Network != launcher.NetworkHost || st.Limits.Memory != 1769<<20 || st.Limits.CPUShares != 1024 || !st.Running() {
		t.Errorf("container = %+v; want host network, 1769 MiB, 1024 shares (one vCPU), running", st)
	}
	if lambda.CPUShares(128) != 74 {
		t.Errorf("CPUShares(128) = %d; want 74", lambda.CPUShares(128))
	}
}

// Max Memory Used follows what the function touched.
func TestMaxMemoryUsed(t *testing.T) {
	t.Parallel()
	r := newRunner(t, lambda.RunnerConfig{})
	v := version(t)
	res, err := r.Invoke(t.Context(), v, lambda.Request{Payload: []byte(`{"action":"alloc","mb":48}`), Tail: true})
	if err != nil || res.ErrorType != "" {
		t.Fatalf("%s, %v", res.Payload, err)
	}
	if res.MaxMemoryUsed < 48<<20 || res.MaxMemoryUsed > 128<<20 {
		t.Errorf("Max Memory Used = %d MiB; want between 48 and 128", res.MaxMemoryUsed>>20)
	}
}

// A response over 6 MB is refused: Function.ResponseSizeTooLarge.
func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	r := newRunner(t, lambda.RunnerConfig{})
	v := version(t)
	v.MemorySize = 256
	res := invoke(t, r, v, `{"action":"big","mb":7}`)
	if res.ErrorType != "Function.ResponseSizeTooLarge" ||
		string(res.Payload) != `{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}` {
		t.Errorf("result = %.200s (%s)", res.Payload, res.ErrorType)
	}
}

// Idle environments stop after IdleTimeout; Run also removes the Lambda
// containers an earlier berth left behind.
func TestIdleAndLeftovers(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	f := testImage(t)
	r := newRunner(t, lambda.RunnerConfig{IdleTimeout: time.Second})
	v := version(t)
	left, err := rt.Create(t.Context(), launcher.Spec{Image: f.Image(), Network: launcher.NetworkNone,
		Owner: launcher.Owner{Service: launcher.ServiceLambda, Instance: "TestIdleAndLeftovers", Function: v.Name, Container: "left-behind"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Remove(context.Background(), left) })
	invoke(t, r, v, `1`)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go r.Run(ctx)
	waitNoContainers(t, v.Name, 0)
	if _, err := rt.Inspect(t.Context(), left); !errors.Is(err, launcher.ErrNotFound) {
		t.Errorf("the container left behind: %v; want it removed", err)
	}
	if n := r.Environments(v.Name); n != 0 {
		t.Errorf("%d environments after the idle timeout", n)
	}
}

type result struct {
	lambda.Result
	err error
}

// invokeAll runs n invocations of payload at once.
func invokeAll(t testing.TB, r *lambda.Runner, v lambda.Version, n int, payload string) []result {
	out := make([]result, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			res, err := r.Invoke(context.Background(), v, lambda.Request{Payload: []byte(payload)})
			out[i] = result{res, err}
		})
	}
	wg.Wait()
	return out
}

// waitNoContainers waits until at most max of function's containers are
// left on the engine (they are removed in the background).
func waitNoContainers(t testing.TB, function string, max int) {
	t.Helper()
	rt := newEngine(t)
	waitFor(t, fmt.Sprintf("at most %d containers of %s", max, function), func() bool {
		list, err := rt.List(t.Context(), launcher.Owner{Service: launcher.ServiceLambda, Function: function}.Labels())
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, c := range list {
			if c.Status == launcher.StatusRunning {
				running++
			}
		}
		return running <= max && len(list) <= max
	})
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLines waits until every stream of function's log group has lines
// that satisfy done, and returns them.
func waitLines(t testing.TB, logs *memorySink, function string, done func([]string) bool) map[string][]string {
	t.Helper()
	var streams map[string][]string
	waitFor(t, "log lines", func() bool {
		streams = logs.lines(lambda.LogGroup(function))
		all := []string{}
		for _, l := range streams {
			all = append(all, l...)
		}
		return done(all)
	})
	return streams
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func containsMatch(lines []string, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, l := range lines {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// waiting is how many more requests the barrier waits for.
func (b *barrier) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.n, 0)
}

// gatedEngine is the machine's engine with a gate before Create and a
// Start that can be made to fail.
type gatedEngine struct {
	*docker.Runtime
	created chan struct{} // receives when Create is entered
	gate    chan struct{} // Create waits until it is closed
	failing bool          // Start fails
}

func (g *gatedEngine) Create(ctx context.Context, spec launcher.Spec) (string, error) {
	g.created <- struct{}{}
	<-g.gate
	return g.Runtime.Create(ctx, spec)
}

func (g *gatedEngine) Start(ctx context.Context, id string) error {
	if g.failing {
		return errors.New("start refused by the test")
	}
	return g.Runtime.Start(ctx, id)
}

// No container outlives its environment: not one that was made but could
// not start, nor one still being made when a runner closing past its
// deadline removed its environment.
func TestNoContainerLeftBehind(t *testing.T) {
	t.Parallel()
	v := version(t)
	for _, tc := range []struct {
		name    string
		failing bool
	}{{"start fails", true}, {"closed while creating", false}} {
		g := &gatedEngine{Runtime: newEngine(t), created: make(chan struct{}, 1), gate: make(chan struct{}), failing: tc.failing}
		r := lambda.NewRunner(g, lambda.RunnerConfig{Instance: strings.NewReplacer("/", "-").Replace(t.Name()), Logs: &memorySink{}})
		done := make(chan error, 1)
		go func() {
			_, err := r.Invoke(t.Context(), v, lambda.Request{Payload: []byte(`{}`)})
			done <- err
		}()
		<-g.created
		if !tc.failing {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			if err := r.Close(ctx); err == nil {
				t.Errorf("%s: Close with an environment still starting returned no error", tc.name)
			}
			cancel()
		}
		close(g.gate)
		if err := <-done; err == nil {
			t.Errorf("%s: the invocation succeeded; want it to fail", tc.name)
		}
		waitNoContainers(t, v.Name, 0)
		if tc.failing {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			r.Close(ctx)
			cancel()
		}
	}
}
