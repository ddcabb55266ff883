package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// berthRun is one run of the berth binary: what it printed and its exit
// status.
type berthRun struct {
	stdout, stderr string
	code           int
}

// runBerth runs berth with env, bounded by two minutes, and returns
// whatever it printed and its exit status.
func runBerth(t *testing.T, env []string, args ...string) berthRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("$ %s (%.1fs)", commandLine(berthBin, args), time.Since(start).Seconds())
	var exit *exec.ExitError
	code := 0
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return berthRun{stdout.String(), stderr.String(), code}
}

// localImage builds a labelled local Docker image named name from the
// build context dir and returns its id, by which the test removes it
// with every name the engine gave it when it pulled it from berth.
func localImage(t *testing.T, name, dir string) string {
	t.Helper()
	run(t, dockerTimeout, "docker", "build", "--label", "berth.e2e.test="+t.Name(), "-t", name, dir)
	return strings.TrimSpace(run(t, dockerTimeout, "docker", "image", "inspect", "--format", "{{.Id}}", name))
}

// startCLI starts a berth with access control on the real Docker
// Engine, for the berth CLI (env, the administrator's key) and the aws
// CLI beside it.
func startCLI(t *testing.T) (*server, []string, awsCLI) {
	t.Helper()
	requireDocker(t)
	awsBin := requireAWSCLI(t)
	t.Setenv("TZ", "UTC") // the aws CLI prints times in the local zone; berth in UTC
	srv := startBerth(t)
	admin := srv.adminKey(t)
	return srv, cliEnv(t, srv, admin), awsCLI{t, awsBin, "http://" + srv.Addr, admin}
}

// TestCLIRun is berth run from a newcomer's terminal against a berth
// with access control on the real Docker Engine: a local image pushed
// with --push runs as a Fargate task and as an ECS task, each exiting as
// the task did (3); a detached task followed by berth logs -f until berth
// stop; a Lambda function answering and failing; ps's JSON parsed back;
// and a bad endpoint, wrong credentials and an unknown image each one
// line and exit status 1. What ps -o json prints is what the aws CLI
// prints.
func TestCLIRun(t *testing.T) {
	srv, env, aws := startCLI(t)
	admin := aws.key
	var tasks, images []string
	t.Cleanup(func() {
		srv.Stop(t) // first: stopping, it removes its sidecars and functions' environments
		removeTaskContainers(tasks)
		for _, id := range images {
			removeImage(t, id)
		}
	})
	images = append(images, localImage(t, "e2e/run-task:1", taskContext(t)), localImage(t, "e2e/run-fn:1", lambdaContext(t)))

	// A Fargate task, from a local image berth does not have yet.
	fargate := runBerth(t, env, "run", "--push", "e2e/run-task:1")
	if fargate.code != 3 || fargate.stdout != "hello from an ECS task in us-east-1 on AWS_ECS_FARGATE\n" || fargate.stderr != "" {
		t.Errorf("berth run --push as Fargate: exit %d, stdout %q, stderr %q; want exit 3 and the task's line", fargate.code, fargate.stdout, fargate.stderr)
	}
	if out := berthCLI(t, env, "image", "ls", "e2e/run-task"); !strings.Contains(out, "1") {
		t.Errorf("after --push, image ls e2e/run-task:\n%s", out)
	}
	// As an ECS task on EC2, its stopped task in -o json.
	ec2 := runBerth(t, env, "run", "--as", "ecs", "e2e/run-task:1", "-o", "json")
	var stopped struct {
		Tasks []struct {
			TaskArn    string
			LaunchType string
			StopCode   string
			Containers []struct{ ExitCode int }
		}
	}
	if err := json.Unmarshal([]byte(ec2.stdout), &stopped); err != nil || ec2.code != 3 || len(stopped.Tasks) != 1 {
		t.Fatalf("berth run --as ecs -o json: exit %d, %v\n%s", ec2.code, err, ec2.stdout)
	}
	if got := stopped.Tasks[0]; got.LaunchType != "EC2" || got.StopCode != "EssentialContainerExited" || got.Containers[0].ExitCode != 3 {
		t.Errorf("berth run --as ecs -o json printed %+v", got)
	}
	if ec2.stderr != "hello from an ECS task in us-east-1 on AWS_ECS_EC2\n" {
		t.Errorf("berth run -o json: the task's output on stderr is %q", ec2.stderr)
	}

	// Detached, followed by berth logs -f until berth stop.
	id := strings.TrimSpace(berthCLI(t, env, "run", "-d", "e2e/run-task:1", "--", "tick"))
	tasks = append(tasks, id)
	follow := startFollowing(t, env, "logs", "-f", id)
	follow.waitFor(t, "tick 2")
	stopping := berthCLI(t, env, "stop", id)
	if stopping != "stopping "+id+"\n" {
		t.Errorf("berth stop printed %q", stopping)
	}
	if out, err := follow.wait(); err != nil || !strings.HasPrefix(out, "sleeping\ntick 1\ntick 2\n") {
		t.Errorf("berth logs -f: %v, printed %q", err, out)
	}
	// Ctrl-C ends berth run and the task it runs.
	interrupted := startFollowing(t, env, "run", "e2e/run-task:1", "--", "tick")
	interrupted.waitFor(t, "tick 1")
	interrupted.cmd.Process.Signal(os.Interrupt)
	var exit *exec.ExitError
	if _, err := interrupted.wait(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("berth run after Ctrl-C: %v; want exit status 1", err)
	}
	var running struct{ Tasks []any }
	if err := json.Unmarshal([]byte(berthCLI(t, env, "ps", "-o", "json")), &running); err != nil || len(running.Tasks) != 0 {
		t.Errorf("berth ps -o json after berth run was interrupted: %v, %v; want no task running", err, running.Tasks)
	}
	var listed struct {
		Tasks []struct {
			TaskArn    string
			LastStatus string
		}
		Functions []map[string]any
	}
	if err := json.Unmarshal([]byte(berthCLI(t, env, "ps", "--all", "-o", "json")), &listed); err != nil || len(listed.Tasks) != 4 {
		t.Errorf("berth ps --all -o json: %v, %+v; want the four tasks", err, listed)
	}
	for _, task := range listed.Tasks {
		tasks = append(tasks, task.TaskArn[strings.LastIndex(task.TaskArn, "/")+1:])
	}

	// A Lambda function of a local image.
	fn := runBerth(t, env, "run", "--as", "lambda", "--push", "e2e/run-fn:1", "--payload", `{"hello":"berth"}`)
	if fn.code != 0 || fn.stdout != `{"hello":"berth"}`+"\n" || !regexp.MustCompile(`(?m)^REPORT RequestId: \S+\tDuration: `).MatchString(fn.stderr) {
		t.Errorf("berth run --as lambda: exit %d, stdout %q, stderr %q", fn.code, fn.stdout, fn.stderr)
	}
	failed := runBerth(t, env, "run", "--as", "lambda", "e2e/run-fn:1", "--payload", `{"action":"fail"}`)
	if failed.code != 1 || !strings.Contains(failed.stdout, `"errorMessage"`) || !strings.HasSuffix(failed.stderr, "berth: run: e2e-run-fn: the function failed (Unhandled)\n") {
		t.Errorf("berth run --as lambda of a failure: exit %d, stdout %q, stderr %q", failed.code, failed.stdout, failed.stderr)
	}
	if err := json.Unmarshal([]byte(berthCLI(t, env, "ps", "-o", "json")), &listed); err != nil || len(listed.Functions) != 1 || listed.Functions[0]["FunctionName"] != "e2e-run-fn" {
		t.Errorf("berth ps -o json: %v, functions %v", err, listed.Functions)
	}

	// What ps -o json prints of each task and function is what the aws
	// CLI prints of them.
	var printed map[string][]any
	json.Unmarshal([]byte(berthCLI(t, env, "ps", "--all", "-o", "json")), &printed)
	for _, task := range printed["tasks"] {
		arn := task.(map[string]any)["taskArn"].(string)
		if want := field(t, aws.serviceJSON("ecs", "describe-tasks", "--tasks", arn), "tasks", 0); !covers(task, want) {
			t.Errorf("berth ps -o json printed the task\n%v\naws ecs describe-tasks printed\n%v", task, want)
		}
	}
	if want := field(t, aws.serviceJSON("lambda", "list-functions"), "Functions"); !covers(printed["functions"], want) {
		t.Errorf("berth ps -o json printed the functions\n%v\naws lambda list-functions printed\n%v", printed["functions"], want)
	}

	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad endpoint", env, []string{"run", "e2e/run-task:1", "--endpoint", "http://" + freeAddr(t)}, "berth: run: e2e/run-task:1: cannot reach berth at http://"},
		{"wrong credentials", cliEnv(t, srv, accessKey{admin.ID, "not-the-secret"}), []string{"run", "e2e/run-task:1"},
			"berth: run: e2e/run-task:1: http://" + srv.Addr + " refused access key " + admin.ID + " (from BERTH_ACCESS_KEY_ID): InvalidSignatureException"},
		{"unknown image", env, []string{"run", "e2e/run-task:nope"}, "berth: run: e2e/run-task:nope: ImageNotFoundException: "},
		{"unknown function", env, []string{"logs", "nofn"}, "berth: logs: ResourceNotFoundException: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runBerth(t, c.env, c.args...)
			if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, c.want) {
				t.Errorf("berth %s: exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", strings.Join(c.args, " "), r.code, r.stdout, r.stderr, c.want)
			}
		})
	}
}

// following is a berth command left running, whose output is read as it
// comes.
type following struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan error
}

// startFollowing starts berth args with env; it is killed when the test
// ends if it has not ended.
func startFollowing(t *testing.T, env []string, args ...string) *following {
	t.Helper()
	f := &following{cmd: exec.Command(berthBin, args...), done: make(chan error, 1)}
	f.cmd.Env = env
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f.mu.Lock()
			fmt.Fprintln(&f.out, sc.Text())
			f.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
		f.done <- f.cmd.Wait()
	}()
	return f
}

// waitFor waits up to a minute for want in the output.
func (f *following) waitFor(t *testing.T, want string) {
	t.Helper()
	waitFor(t, time.Minute, fmt.Sprintf("%q from %s", want, filepath.Base(f.cmd.Path)), func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return strings.Contains(f.out.String(), want)
	})
}

// wait waits up to a minute for the command to end and returns its
// output.
func (f *following) wait() (string, error) {
	select {
	case err := <-f.done:
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.out.String(), err
	case <-time.After(time.Minute):
		return "", errors.New("still running after a minute")
	}
}

// TestCLIRunPushProgressInTmux runs `berth run --push` in a real terminal
// (tmux) and reads the screen it leaves: a bar per pushed layer, drawn
// to its end and standing once, then the task's output on a line of its
// own and berth run's exit status, the task's.
func TestCLIRunPushProgressInTmux(t *testing.T) {
	requireDocker(t)
	tmux := requireTool(t, "tmux")
	srv := startBerth(t)
	env := cliEnv(t, srv, srv.adminKey(t))
	var images []string
	t.Cleanup(func() {
		srv.Stop(t)
		for _, id := range images {
			removeImage(t, id)
		}
	})
	images = append(images, localImage(t, "e2e/run-progress:1", taskContext(t)))

	socket := filepath.Join(t.TempDir(), "tmux.sock")
	tmuxCmd := func(args ...string) string {
		t.Helper()
		return runWith(t, time.Minute, func(c *exec.Cmd) { c.Env = env }, tmux, append([]string{"-S", socket}, args...)...)
	}
	script := filepath.Join(t.TempDir(), "session.sh")
	write(t, script, fmt.Sprintf(`%s run --push e2e/run-progress:1
echo "EXIT=$?"
%s -S %s wait-for -S done
sleep 600
`, berthBin, tmux, socket))
	tmuxCmd("new-session", "-d", "-s", "run", "-x", "160", "-y", "50", "sh "+script)
	t.Cleanup(func() { execute(time.Minute, nil, tmux, "-S", socket, "kill-server") })
	tmuxCmd("wait-for", "done")
	screen := tmuxCmd("capture-pane", "-p", "-J", "-t", "run")
	t.Logf("the terminal shows:\n%s", screen)

	bar := regexp.MustCompile(`(?m)^[0-9a-f]{12} +\[=+\] +(Pushed|Layer already exists)\s*$`)
	if n := len(bar.FindAllString(screen, -1)); n != 1 {
		t.Errorf("the finished layer bar shows %d times; want once (one layer)", n)
	}
	if strings.Contains(screen, "Pushing") || strings.Contains(screen, "Preparing") {
		t.Errorf("a bar was left unfinished on the screen")
	}
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if bar.MatchString(l) && (i+1 >= len(lines) || lines[i+1] != "hello from an ECS task in us-east-1 on AWS_ECS_FARGATE") {
			t.Errorf("the task's output does not start on the line after the bars")
		}
	}
	if !strings.Contains(screen, "EXIT=3") {
		t.Errorf("the screen lacks EXIT=3, berth run's exit status")
	}
}

// TestCLIRunServiceAndJob is berth run of one local image as the two
// long-lived kinds: an ECS service of two load-balanced Fargate tasks answering
// through the URL berth run prints until berth stop deletes it, and AWS
// Batch jobs on the queue berth makes: one exiting 7 makes berth run
// exit 7, an array of 3 prints each child's line after its index, and
// the JSON of ps and run parses back in Batch's and ECS's shapes.
func TestCLIRunServiceAndJob(t *testing.T) {
	srv, env, aws := startCLI(t)
	var tasks, jobs []string
	image := localImage(t, "e2e/run-more:1", taskContext(t))
	t.Cleanup(func() {
		srv.Stop(t)
		removeTaskContainers(tasks)
		removeLabelled("berth.job", jobs)
		removeImage(t, image)
	})

	svc := runBerth(t, env, "run", "--push", "e2e/run-more:1", "--service", "web", "--desired", "2", "--load-balanced", "8080", "--", "serve", ":8080", "hello from web")
	url := strings.TrimSpace(svc.stdout)
	if svc.code != 0 || !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(svc.stderr, "(service web) has reached a steady state.") {
		t.Fatalf("berth run --service: exit %d, stdout %q, stderr %q", svc.code, svc.stdout, svc.stderr)
	}
	var listed struct {
		Tasks    []struct{ TaskArn, Group string }
		Services []struct {
			ServiceName                string
			DesiredCount, RunningCount int
			LoadBalancers              []struct{ LoadBalancerName string }
		}
		Jobs []struct{ JobId, Status string }
	}
	if err := json.Unmarshal([]byte(berthCLI(t, env, "ps", "-o", "json")), &listed); err != nil || len(listed.Services) != 1 || len(listed.Tasks) != 2 {
		t.Fatalf("berth ps -o json: %v, %+v; want the service and its two tasks", err, listed)
	}
	for _, task := range listed.Tasks {
		tasks = append(tasks, task.TaskArn[strings.LastIndex(task.TaskArn, "/")+1:])
	}
	if s := listed.Services[0]; s.ServiceName != "web" || s.RunningCount != 2 || len(s.LoadBalancers) != 1 || "http://"+s.LoadBalancers[0].LoadBalancerName != url {
		t.Errorf("berth ps -o json: the service is %+v", s)
	}
	for range 4 {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello from web" {
			t.Fatalf("GET %s: %s %q", url, resp.Status, body)
		}
	}
	// What ps -o json prints of the service is what the aws CLI prints.
	var printed map[string][]any
	json.Unmarshal([]byte(berthCLI(t, env, "ps", "-o", "json")), &printed)
	if want := field(t, aws.serviceJSON("ecs", "describe-services", "--services", "web"), "services", 0); len(printed["services"]) != 1 || !covers(printed["services"][0], want) {
		t.Errorf("berth ps -o json printed the services\n%v\naws ecs describe-services printed\n%v", printed["services"], want)
	}
	if out := berthCLI(t, env, "stop", "web"); out != "deleting service web\n" {
		t.Errorf("berth stop web printed %q", out)
	}
	waitFor(t, time.Minute, "the service's tasks stopped", func() bool {
		var after struct{ Tasks, Services []any }
		json.Unmarshal([]byte(berthCLI(t, env, "ps", "-o", "json")), &after)
		return len(after.Tasks) == 0 && len(after.Services) == 0
	})

	seven := runBerth(t, env, "run", "--as", "batch", "e2e/run-more:1", "--", "exit", "7")
	if seven.code != 7 || seven.stdout != "exiting 7\n" || !strings.Contains(seven.stderr, ": FAILED (Essential container in task exited)\n") {
		t.Errorf("berth run --as batch -- exit 7: exit %d, stdout %q, stderr %q", seven.code, seven.stdout, seven.stderr)
	}
	array := runBerth(t, env, "run", "--as", "batch", "-o", "json", "--array-size", "3", "e2e/run-more:1", "--", "exit", "0")
	var ended struct {
		Jobs []struct {
			JobId, Status   string
			ArrayProperties struct{ Size int }
		}
	}
	if err := json.Unmarshal([]byte(array.stdout), &ended); err != nil || array.code != 0 || len(ended.Jobs) != 1 {
		t.Fatalf("berth run --array-size 3 -o json: exit %d, %v\n%s", array.code, err, array.stdout)
	}
	if j := ended.Jobs[0]; j.Status != "SUCCEEDED" || j.ArrayProperties.Size != 3 {
		t.Errorf("berth run --array-size 3 -o json printed %+v", j)
	}
	for i := range 3 {
		if want := fmt.Sprintf("[%d] exiting 0\n", i); !strings.Contains(array.stderr, want) {
			t.Errorf("berth run --array-size 3 -o json: no %q on stderr:\n%s", want, array.stderr)
		}
	}
	if err := json.Unmarshal([]byte(berthCLI(t, env, "ps", "--all", "-o", "json")), &listed); err != nil || len(listed.Jobs) != 2 {
		t.Fatalf("berth ps --all -o json: %v, jobs %+v; want the two jobs", err, listed.Jobs)
	}
	for _, j := range listed.Jobs {
		jobs = append(jobs, j.JobId, j.JobId+":0", j.JobId+":1", j.JobId+":2")
	}
	// Ctrl-C ends berth run and terminates the job it follows.
	interrupted := startFollowing(t, env, "run", "--as", "batch", "e2e/run-more:1", "--", "tick")
	interrupted.waitFor(t, "tick 1")
	interrupted.cmd.Process.Signal(os.Interrupt)
	var exit *exec.ExitError
	if _, err := interrupted.wait(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("berth run --as batch after Ctrl-C: %v; want exit status 1", err)
	}
	waitFor(t, time.Minute, "the interrupted job FAILED", func() bool {
		var all struct {
			Jobs []struct{ JobId, Status, StatusReason string }
		}
		json.Unmarshal([]byte(berthCLI(t, env, "ps", "--all", "-o", "json")), &all)
		for _, j := range all.Jobs {
			if j.StatusReason == "berth run was interrupted" {
				jobs = append(jobs, j.JobId)
				return j.Status == "FAILED"
			}
		}
		return false
	})
	// What ps -o json prints of the jobs is what the aws CLI's list-jobs
	// prints of them.
	printed = nil
	json.Unmarshal([]byte(berthCLI(t, env, "ps", "--all", "-o", "json")), &printed)
	for _, status := range []string{"FAILED", "SUCCEEDED"} {
		for _, want := range field(t, aws.serviceJSON("batch", "list-jobs", "--job-queue", "berth", "--job-status", status), "jobSummaryList").([]any) {
			if !slices.ContainsFunc(printed["jobs"], func(job any) bool { return covers(job, want) }) {
				t.Errorf("berth ps --all -o json printed the jobs\n%v\naws batch list-jobs printed\n%v", printed["jobs"], want)
			}
		}
	}
}
