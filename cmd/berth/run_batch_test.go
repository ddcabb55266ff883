package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/jsontest"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
)

// testProgram is the launcher tests' container program (exit N, serve
// ADDR TEXT, env NAME, sleep), built static once per test binary.
var testProgram = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "berth-cmd-testprog-")
	if err != nil {
		return "", err
	}
	return dockertest.TestProgram(dir)
})

// pushTestProgram pushes the test program's image to s as prog:1 (which
// startLauncher's cleanup removes from the engine).
func pushTestProgram(t *testing.T, s *remoteServer) {
	t.Helper()
	bin, err := testProgram()
	if err != nil {
		t.Fatal(err)
	}
	img, err := dockertest.ProgramImage(bin, "testprog")
	if err != nil {
		t.Fatal(err)
	}
	ok(t, "repo", "create", "prog")
	s.pushImage(t, "prog:1", img)
}

// TestRunService: an ECS service of 2 load-balanced tasks answers
// through the URL berth run prints, is listed by ps with its counts and
// URL, is updated in place by a second run, and berth stop deletes it.
func TestRunService(t *testing.T) {
	s := startLauncher(t)
	pushTestProgram(t, s)

	r := berth(t, "", "run", "--as", "ecs", "prog:1", "--service", "web", "--desired", "2", "--load-balanced", "8080", "--", "serve", ":8080", "hello")
	url := strings.TrimSpace(r.stdout)
	if r.err != nil || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(r.stderr, "(service web) has reached a steady state.") {
		t.Fatalf("run --service: %v, stdout %q, stderr %q", r.err, r.stdout, r.stderr)
	}
	for range 4 {
		if body := get(t, url); body != "hello" {
			t.Fatalf("GET %s: %q; want hello", url, body)
		}
	}
	if out := ok(t, "ps"); !strings.Contains(out, "service") || !strings.Contains(out, "2/2 running "+url) {
		t.Errorf("ps lacks the service:\n%s", out)
	}
	// The log store has a task's lines soon after it writes them.
	waitUntil(t, "logs web prints each task's line after its id", func() bool {
		return strings.Count(ok(t, "logs", "web"), " | serving on :8080\n") == 2
	})
	// Followed, the service's tasks are read as they come, those it
	// starts later too, until it is deleted.
	following := follow(t, "logs", "-f", "web")
	if out := ok(t, "__complete", "stop", "w"); !strings.HasPrefix(out, "web\n") {
		t.Errorf("completing stop w: %q; want the service's name", out)
	}
	listed := asJSON(t, "ps")
	jsontest.Expect(t, listed, "web", "services", 0, "serviceName")
	jsontest.Expect(t, listed, 2, "services", 0, "runningCount")
	jsontest.Expect(t, listed, strings.TrimPrefix(url, "http://"), "services", 0, "loadBalancers", 0, "loadBalancerName")

	// The same service again, one task: updated, not created anew.
	updated := runJSON(t, "run", "--as", "ecs", "prog:1", "--service", "web", "--desired", "1", "--load-balanced", "8080", "--", "serve", ":8080", "hello")
	jsontest.Expect(t, updated, 1, "services", 0, "runningCount")
	jsontest.Expect(t, updated, strings.TrimPrefix(url, "http://"), "services", 0, "loadBalancers", 0, "loadBalancerName")

	// Detached: the service's name at once.
	if out := ok(t, "run", "--as", "ecs", "-d", "prog:1", "--service", "web", "--desired", "2", "--load-balanced", "8080", "--", "serve", ":8080", "hello"); out != "web\n" {
		t.Errorf("run -d --service printed %q", out)
	}
	waitUntil(t, "the detached run's second task serves", func() bool {
		return strings.Count(ok(t, "logs", "web"), " | serving on :8080\n") == 2
	})
	stopped := asJSON(t, "stop", "web")
	jsontest.Expect(t, stopped, "web", "services", 0, "serviceName")
	jsontest.Expect(t, stopped, 0, "services", 0, "desiredCount")
	waitUntil(t, "the service and its tasks are gone", func() bool {
		listed := asJSON(t, "ps")
		return len(jsontest.Field(t, listed, "services").([]any)) == 0 && len(jsontest.Field(t, listed, "tasks").([]any)) == 0
	})
	fails(t, []string{"stop", "nosuch"}, "stop: nosuch: no such task, service or job")

	// Two tasks at first, one of them kept by the update to 1, and one
	// more from the detached run: three tasks, each line after its id.
	out := following()
	tasks := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, rest, _ := strings.Cut(line, " | "); rest == "serving on :8080" {
			tasks[id] = true
		}
	}
	if len(tasks) < 3 {
		t.Errorf("logs -f web saw %d tasks start; want those started after it began too:\n%s", len(tasks), out)
	}
}

// follow starts berth with args, which must end by themselves and
// succeed, and returns a function that waits for that and returns what
// it printed.
func follow(t *testing.T, args ...string) func() string {
	t.Helper()
	done := make(chan result, 1)
	go func() { done <- berth(t, "", args...) }()
	return func() string {
		t.Helper()
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("berth %s: %v\n%s%s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
			}
			return r.stdout
		case <-time.After(2 * time.Minute):
			t.Fatalf("berth %s still running 2 minutes after it should have ended", strings.Join(args, " "))
			return ""
		}
	}
}

// runJSON runs berth run ARGS with -o json before its --, which must
// succeed, and decodes what it prints.
func runJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	return decode(t, berth(t, "", append([]string{"-o", "json"}, args...)...))
}

// decode decodes what a berth command printed on stdout.
func decode(t *testing.T, r result) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("printed %q (%v), not JSON: %v", r.stdout, r.err, err)
	}
	return doc
}

// TestJobRefs: which arguments of logs and stop name Batch jobs, and
// --memory of a job read as MiB.
func TestJobRefs(t *testing.T) {
	for ref, want := range map[string]bool{
		"6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f":                                          true,
		"6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f:2":                                        true,
		"arn:aws:batch:us-east-1:000000000000:job/6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f": true,
		"0123456789abcdef0123456789abcdef":                                              false, // a task
		"arn:aws:batch:us-east-1:000000000000:job-queue/berth":                          false,
		"web": false,
	} {
		if got := isJobRef(ref); got != want {
			t.Errorf("isJobRef(%q) = %v", ref, got)
		}
	}
	if id := jobRefID("arn:aws:batch:us-east-1:000000000000:job/6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f"); id != "6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f" {
		t.Errorf("jobRefID of an ARN: %q", id)
	}
	for in, want := range map[string]string{"512": "512", "1GB": "1024", "2gb": "2048"} {
		if got, err := mib(in); err != nil || got != want {
			t.Errorf("mib(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "3", "0GB", "1.5GB", "512MiB", "-1"} {
		if _, err := mib(bad); err == nil {
			t.Errorf("mib(%q) is no error", bad)
		}
	}
}

// get is the body of a GET of url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRunJob: the image as AWS Batch jobs on the default queue berth
// makes: a job exiting 7 makes berth run exit 7 after printing its state
// changes; an array of 3 prints each child's output after its index; a
// detached job is listed, read and terminated.
func TestRunJob(t *testing.T) {
	s := startLauncher(t)
	pushTestProgram(t, s)

	r := berth(t, "", "run", "--as", "batch", "prog:1", "--", "exit", "7")
	var status exitStatus
	if !errors.As(r.err, &status) || status != 7 {
		t.Fatalf("run --as batch -- exit 7: %v; want exit status 7 (stderr %q)", r.err, r.stderr)
	}
	for _, want := range []string{"job prog ", ": FAILED (Essential container in task exited)\n"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("run --as batch printed no %q on stderr:\n%s", want, r.stderr)
		}
	}

	// --retries 1: the second attempt, which succeeds, is berth run's
	// outcome; the failed first one is printed as it is retried.
	r = berth(t, "", "-o", "json", "run", "--as", "batch", "prog:1", "--retries", "1", "--", "exit-unless-attempt", "2", "5")
	if r.err != nil {
		t.Fatalf("run --retries 1: %v, stderr %q", r.err, r.stderr)
	}
	retried := decode(t, r)
	jsontest.Expect(t, retried, "SUCCEEDED", "jobs", 0, "status")
	jsontest.Expect(t, retried, 5, "jobs", 0, "attempts", 0, "container", "exitCode")
	jsontest.Expect(t, retried, 2, "jobs", 0, "retryStrategy", "attempts")

	r = berth(t, "", "run", "--as", "batch", "prog:1", "--array-size", "3", "--", "env", "AWS_BATCH_JOB_ARRAY_INDEX")
	if r.err != nil {
		t.Fatalf("run --array-size 3: %v, stderr %q", r.err, r.stderr)
	}
	for _, want := range []string{"[0] 0\n", "[1] 1\n", "[2] 2\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("run --array-size 3 printed no %q:\n%s", want, r.stdout)
		}
	}
	// An array of which a child fails fails; -o json prints the parent
	// as DescribeJobs has it.
	r = berth(t, "", "run", "--as", "batch", "-o", "json", "prog:1", "--array-size", "2", "--", "exit", "3")
	if !errors.As(r.err, &status) || status != 3 {
		t.Fatalf("run --array-size 2 -- exit 3: %v; want exit status 3", r.err)
	}
	parent := decode(t, r)
	jsontest.Expect(t, parent, "FAILED", "jobs", 0, "status")
	jsontest.Expect(t, parent, 2, "jobs", 0, "arrayProperties", "statusSummary", "FAILED")

	id := strings.TrimSpace(ok(t, "run", "--as", "batch", "-d", "prog:1", "--", "sleep"))
	if !isJobRef(id) {
		t.Fatalf("run --as batch -d printed %q; want a job id", id)
	}
	waitUntil(t, "the job runs and says so", func() bool {
		return strings.Contains(ok(t, "ps"), id) && strings.Contains(ok(t, "logs", id), "sleeping")
	})
	jsontest.Expect(t, asJSON(t, "ps"), "RUNNING", "jobs", 0, "status")
	jsontest.Expect(t, asJSON(t, "stop", id), id, "jobs", 0)
	if out := ok(t, "logs", "-f", id); !strings.Contains(out, "sleeping\n") {
		t.Errorf("logs -f of a terminated job printed %q", out)
	}
	if out := ok(t, "ps", "--all"); !strings.Contains(out, id) || !strings.Contains(out, "FAILED") {
		t.Errorf("ps --all:\n%s", out)
	}
	// A job after a job that succeeded runs; after one that failed,
	// it fails without running.
	first := jsontest.Field(t, runJSON(t, "run", "--as", "batch", "prog:1", "--", "exit", "0"), "jobs", 0, "jobId").(string)
	if out := ok(t, "run", "--as", "batch", "prog:1", "--depends-on", first, "--", "exit", "0"); out != "" {
		t.Errorf("run --depends-on printed %q", out)
	}
	r = berth(t, "", "run", "--as", "batch", "prog:1", "--depends-on", id, "--", "exit", "0")
	if r.err == nil || errors.As(r.err, &status) || !strings.Contains(r.line(), "failed") {
		t.Errorf("run --depends-on a failed job: %v (%q)", r.err, r.line())
	}
}
