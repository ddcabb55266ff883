package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// taskProgram is the ECS tasks' program, static for a FROM scratch
// image, built once per run beside berth's binary: it prints a line and
// exits 3; with the argument "sleep" it waits for SIGTERM and exits 0;
// with "tick" it also prints "tick N" twice a second until then.
var taskProgram = sync.OnceValues(func() (string, error) {
	src, err := os.MkdirTemp("", "berth-e2e-task-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module task\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(`package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "exit" { // exit CODE
		code, _ := strconv.Atoi(os.Args[2])
		fmt.Println("exiting", code)
		os.Exit(code)
	}
	if len(os.Args) > 3 && os.Args[1] == "serve" { // serve ADDR TEXT
		fmt.Println("serving on", os.Args[2])
		err := http.ListenAndServe(os.Args[2], http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, os.Args[3]) }))
		fmt.Println(err)
		os.Exit(1)
	}
	if len(os.Args) > 1 && (os.Args[1] == "sleep" || os.Args[1] == "tick") {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("sleeping")
		tick := time.NewTicker(500 * time.Millisecond)
		for n := 1; ; n++ {
			select {
			case <-c:
				return
			case <-tick.C:
				if os.Args[1] == "tick" {
					fmt.Println("tick", n)
				}
			}
		}
	}
	fmt.Println("hello from an ECS task in", os.Getenv("AWS_REGION"), "on", os.Getenv("AWS_EXECUTION_ENV"))
	os.Exit(3)
}
`), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(filepath.Dir(berthBin), "task")
	_, err = execute(2*time.Minute, func(c *exec.Cmd) {
		c.Dir = src
		c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH, "GOFLAGS=", "GOWORK=off")
	}, "go", "build", "-trimpath", "-o", bin, ".")
	return bin, err
})

// taskContext writes a docker build context holding the task program,
// FROM scratch.
func taskContext(t *testing.T) string {
	t.Helper()
	bin, err := taskProgram()
	if err != nil {
		t.Fatalf("building the task program: %v", err)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	buildDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(buildDir, "task"), prog, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(buildDir, "Dockerfile"), "FROM scratch\nCOPY task /task\nENTRYPOINT [\"/task\"]\nLABEL berth.managed=true berth.service=e2e\n")
	return buildDir
}

// removeTaskContainers removes whatever containers of the tasks are left,
// by their label.
func removeTaskContainers(ids []string) { removeLabelled("berth.task", ids) }

// removeLabelled removes the containers whose label is one of values.
func removeLabelled(label string, values []string) {
	for _, id := range values {
		out, _ := execute(dockerTimeout, nil, "docker", "ps", "--all", "--quiet", "--filter", "label="+label+"="+id)
		for _, c := range strings.Fields(out) {
			execute(dockerTimeout, nil, "docker", "rm", "--force", c)
		}
	}
}

// TestECSWithAWSCLI is the ECS flow with the real AWS CLI v2 against
// berth with access control: an image pushed to berth runs as a Fargate
// task (pulled with the caller's credentials) that exits 3, and as a
// long-running task that stop-task stops; every refusal is ECS's.
func TestECSWithAWSCLI(t *testing.T) {
	requireDocker(t)
	bin := requireAWSCLI(t)
	srv := startBerth(t)
	admin := srv.adminKey(t)
	login(t, srv.Addr, admin)
	aws := awsCLI{t, bin, "http://" + srv.Addr, admin}
	ecs := func(args ...string) map[string]any { t.Helper(); return aws.serviceJSON("ecs", args...) }
	const account = "000000000000"

	image := srv.Addr + "/team/task:1"
	_, port, _ := strings.Cut(srv.Addr, ":")
	pulled := "127.0.0.1:" + port + "/team/task:1" // the name the engine pulls
	var tasks []string
	t.Cleanup(func() {
		// berth first: stopping, it removes the sidecars it keeps ready.
		srv.Stop(t)
		// Whatever the test leaves behind, by label and by name.
		removeTaskContainers(tasks)
		removeImage(t, image)
		removeImage(t, pulled)
		// The sidecar image of berthBin stays until the run ends (main_test.go).
	})
	run(t, dockerTimeout, "docker", "build", "-t", image, taskContext(t))
	run(t, dockerTimeout, "docker", "push", image)

	containers := fmt.Sprintf(`[{"name":"app","image":%q,"essential":true,"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/e2e","awslogs-region":"us-east-1","awslogs-stream-prefix":"e2e","awslogs-create-group":"true"}}}]`, image)
	registered := ecs("register-task-definition", "--family", "e2e", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
		"--cpu", "256", "--memory", "0.5GB", "--container-definitions", containers)
	expectField(t, registered, "arn:aws:ecs:us-east-1:"+account+":task-definition/e2e:1", "taskDefinition", "taskDefinitionArn")
	expectField(t, registered, "512", "taskDefinition", "memory")
	expectField(t, registered, "ACTIVE", "taskDefinition", "status")
	expectField(t, ecs("describe-task-definition", "--task-definition", "e2e:1"), "256", "taskDefinition", "cpu")
	expectField(t, ecs("list-task-definitions", "--family-prefix", "e2e"), "arn:aws:ecs:us-east-1:"+account+":task-definition/e2e:1", "taskDefinitionArns", 0)
	aws.serviceRefused("ecs", "ClientException", "register-task-definition", "--family", "bad", "--network-mode", "awsvpc",
		"--requires-compatibilities", "FARGATE", "--cpu", "256", "--memory", "4096", "--container-definitions", containers)

	// A task that exits 3.
	started := ecs("run-task", "--task-definition", "e2e", "--launch-type", "FARGATE", "--started-by", "e2e")
	arn := fmt.Sprint(field(t, started, "tasks", 0, "taskArn"))
	tasks = append(tasks, arn[strings.LastIndex(arn, "/")+1:])
	expectField(t, started, "PROVISIONING", "tasks", 0, "lastStatus")
	expectField(t, started, "RUNNING", "tasks", 0, "desiredStatus")
	if !strings.HasPrefix(arn, "arn:aws:ecs:us-east-1:"+account+":task/default/") {
		t.Fatalf("taskArn %s", arn)
	}
	done := waitForTask(t, ecs, arn, "STOPPED")
	expectField(t, done, 3, "tasks", 0, "containers", 0, "exitCode")
	expectField(t, done, "EssentialContainerExited", "tasks", 0, "stopCode")
	expectField(t, done, "Essential container in task exited", "tasks", 0, "stoppedReason")
	expectField(t, done, "FARGATE", "tasks", 0, "launchType")
	// Its output is in its awslogs stream, <prefix>/<container>/<task id>.
	events := aws.serviceJSON("logs", "get-log-events", "--log-group-name", "/ecs/e2e", "--log-stream-name", "e2e/app/"+tasks[0], "--start-from-head")
	expectField(t, events, "hello from an ECS task in us-east-1 on AWS_ECS_FARGATE", "events", 0, "message")

	// `aws logs tail --follow` shows a running task's output as it comes.
	tail := tailFollow(t, aws, "/ecs/e2e")
	tail.waitFor("hello from an ECS task")

	// A task that runs until it is stopped, with an override.
	started = ecs("run-task", "--task-definition", "e2e:1", "--launch-type", "FARGATE",
		"--overrides", `{"containerOverrides":[{"name":"app","command":["sleep"]}]}`)
	sleeper := fmt.Sprint(field(t, started, "tasks", 0, "taskArn"))
	tasks = append(tasks, sleeper[strings.LastIndex(sleeper, "/")+1:])
	waitForTask(t, ecs, sleeper, "RUNNING")
	tail.waitFor("e2e/app/" + tasks[1] + " sleeping")
	if listed := ecs("list-tasks"); fmt.Sprint(field(t, listed, "taskArns")) != "["+sleeper+"]" {
		t.Errorf("list-tasks = %v; want only the running task", field(t, listed, "taskArns"))
	}
	stopping := ecs("stop-task", "--task", sleeper, "--reason", "e2e is done")
	expectField(t, stopping, "STOPPED", "task", "desiredStatus")
	stopped := waitForTask(t, ecs, sleeper, "STOPPED")
	expectField(t, stopped, "UserInitiated", "tasks", 0, "stopCode")
	expectField(t, stopped, "e2e is done", "tasks", 0, "stoppedReason")
	expectField(t, stopped, 0, "tasks", 0, "containers", 0, "exitCode")
	if listed := field(t, ecs("list-tasks", "--desired-status", "STOPPED"), "taskArns").([]any); len(listed) != 2 {
		t.Errorf("list-tasks --desired-status STOPPED = %v", listed)
	}
	missing := ecs("describe-tasks", "--tasks", "0123456789abcdef0123456789abcdef")
	expectField(t, missing, "MISSING", "failures", 0, "reason")

	// A service of 2 of the same image: the scheduler keeps 2 running
	// until it is scaled to 0 and deleted.
	svcContainers := fmt.Sprintf(`[{"name":"app","image":%q,"command":["sleep"]}]`, image)
	ecs("register-task-definition", "--family", "e2e-svc", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
		"--cpu", "256", "--memory", "512", "--container-definitions", svcContainers)
	created := ecs("create-service", "--service-name", "e2e", "--task-definition", "e2e-svc", "--desired-count", "2", "--launch-type", "FARGATE")
	serviceARN := "arn:aws:ecs:us-east-1:" + account + ":service/default/e2e"
	expectField(t, created, serviceARN, "service", "serviceArn")
	expectField(t, created, "PRIMARY", "service", "deployments", 0, "status")
	serviceTasks := func() {
		for _, arn := range field(t, ecs("list-tasks", "--service-name", "e2e"), "taskArns").([]any) {
			s := fmt.Sprint(arn)
			tasks = append(tasks, s[strings.LastIndex(s, "/")+1:])
		}
	}
	waitForService := func(running int, rollout string) map[string]any {
		t.Helper()
		var last map[string]any
		waitFor(t, 2*time.Minute, fmt.Sprintf("service e2e with %d running", running), func() bool {
			last = ecs("describe-services", "--services", "e2e")
			return fmt.Sprint(field(t, last, "services", 0, "runningCount")) == fmt.Sprint(running) &&
				fmt.Sprint(field(t, last, "services", 0, "deployments", 0, "rolloutState")) == rollout
		})
		return last
	}
	waitForService(2, "COMPLETED")
	serviceTasks()
	expectField(t, ecs("list-services"), serviceARN, "serviceArns", 0)
	aws.serviceRefused("ecs", "InvalidParameterException", "delete-service", "--service", "e2e")
	aws.serviceRefused("ecs", "ServiceNotFoundException", "update-service", "--service", "nope", "--desired-count", "1")
	aws.serviceRefused("ecs", "ClusterNotFoundException", "create-service", "--service-name", "x", "--task-definition", "e2e-svc", "--cluster", "nope")
	aws.serviceRefused("ecs", "InvalidParameterException", "create-service", "--service-name", "x", "--task-definition", "e2e-svc", "--desired-count", "100000")
	expectField(t, ecs("describe-services", "--services", "nope"), "MISSING", "failures", 0, "reason")
	ecs("update-service", "--service", "e2e", "--desired-count", "0")
	waitForService(0, "COMPLETED")
	expectField(t, ecs("delete-service", "--service", "e2e"), "DRAINING", "service", "status")
	waitFor(t, time.Minute, "service e2e INACTIVE", func() bool {
		return fmt.Sprint(field(t, ecs("describe-services", "--services", "e2e"), "services", 0, "status")) == "INACTIVE"
	})

	// A user who may run tasks but not pull the image: the launch pulls
	// with that user's credentials, so the task fails to start.
	out := run(t, time.Minute, berthBin, "user", "create", "operator", "--policy", "ecs-full-access", "--with-key", "--data-dir", srv.DataDir)
	operator := awsCLI{t, bin, "http://" + srv.Addr, parseKey(t, out)}
	started = operator.serviceJSON("ecs", "run-task", "--task-definition", "e2e", "--launch-type", "FARGATE")
	denied := fmt.Sprint(field(t, started, "tasks", 0, "taskArn"))
	tasks = append(tasks, denied[strings.LastIndex(denied, "/")+1:])
	refused := waitForTask(t, ecs, denied, "STOPPED")
	expectField(t, refused, "TaskFailedToStart", "tasks", 0, "stopCode")
	if reason := fmt.Sprint(field(t, refused, "tasks", 0, "stoppedReason")); !strings.HasPrefix(reason, "CannotPullContainerError: ") {
		t.Errorf("stoppedReason of a launch without pull rights = %q", reason)
	}

	aws.serviceRefused("ecs", "ClusterNotFoundException", "run-task", "--task-definition", "e2e", "--cluster", "nope")
	aws.serviceRefused("ecs", "InvalidParameterException", "run-task", "--task-definition", "e2e", "--count", "11")
	aws.serviceRefused("ecs", "InvalidParameterException", "run-task", "--task-definition", "missing")
}

// waitForTask polls describe-tasks until the task's lastStatus is status,
// bounded so a broken test cannot hang.
func waitForTask(t *testing.T, ecs func(...string) map[string]any, arn, status string) map[string]any {
	t.Helper()
	var last map[string]any
	waitFor(t, 2*time.Minute, "task "+arn+" "+status, func() bool {
		last = ecs("describe-tasks", "--tasks", arn)
		got := fmt.Sprint(field(t, last, "tasks", 0, "lastStatus"))
		if got == "STOPPED" && status != "STOPPED" {
			t.Fatalf("task stopped: %v", last)
		}
		return got == status
	})
	return last
}
