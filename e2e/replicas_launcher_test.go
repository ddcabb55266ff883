package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The launcher runs on one replica of three: ECS and Batch calls made
// through the others reach it, each task and job runs in exactly one
// container, and when that replica is killed (SIGKILL) another takes the
// launcher over, reattaches to the running task and job, and serves
// their calls, which then stop them.
func TestReplicaLauncher(t *testing.T) {
	requireDocker(t)
	bin := requireAWSCLI(t)
	// One registry name for all three, as behind a load balancer (the
	// launcher pulls it from its own port); the tasks' metadata files on
	// one directory all three see, as the engine they share does.
	const host = "registry.replicas.test"
	srvs, _ := replicas(t, []string{
		"BERTH_STORAGE_FILESYSTEM_ROOT=" + t.TempDir(),
		"BERTH_REGISTRY_HOST=" + host,
		"BERTH_LAUNCHER_STATE_DIR=" + t.TempDir(),
		"BERTH_LAUNCHER_SIDECAR_POOL=0",
	})
	admin := srvs[0].adminKey(t)
	login(t, srvs[0].Addr, admin)
	cli := func(s *server) awsCLI { return awsCLI{t, bin, "http://" + s.Addr, admin} }

	holder := seatHolder(t, srvs, nil)
	var others []*server
	for _, s := range srvs {
		if s != holder {
			others = append(others, s)
		}
	}
	pushed := srvs[0].Addr + "/team/task:1"
	var tasks, jobs []string
	t.Cleanup(func() {
		for _, s := range srvs {
			s.stop(t)
		}
		removeTaskContainers(tasks)
		removeLabelled("berth.job", jobs)
		removeImage(t, pushed)
		for _, s := range srvs {
			_, port, _ := strings.Cut(s.Addr, ":")
			removeImage(t, "127.0.0.1:"+port+"/team/task:1")
		}
	})
	run(t, dockerTimeout, "docker", "build", "-t", pushed, taskContext(t))
	run(t, dockerTimeout, "docker", "push", pushed)
	image := host + "/team/task:1"

	// ECS through the two replicas that do not run the launcher.
	ecsB := func(args ...string) map[string]any { t.Helper(); return cli(others[0]).serviceJSON("ecs", args...) }
	ecsC := func(args ...string) map[string]any { t.Helper(); return cli(others[1]).serviceJSON("ecs", args...) }
	ecsB("register-task-definition", "--family", "replicas", "--network-mode", "awsvpc", "--requires-compatibilities", "FARGATE",
		"--cpu", "256", "--memory", "512", "--container-definitions", fmt.Sprintf(`[{"name":"app","image":%q,"essential":true,"command":["sleep"]}]`, image))
	started := ecsC("run-task", "--task-definition", "replicas", "--launch-type", "FARGATE")
	task := fmt.Sprint(field(t, started, "tasks", 0, "taskArn"))
	tasks = append(tasks, task[strings.LastIndex(task, "/")+1:])
	waitForTask(t, ecsB, task, "RUNNING")

	// Batch likewise: its jobs live in the launcher's memory, so a read
	// through another replica must reach it.
	batchB := func(args ...string) map[string]any { t.Helper(); return cli(others[0]).serviceJSON("batch", args...) }
	batchC := func(args ...string) map[string]any { t.Helper(); return cli(others[1]).serviceJSON("batch", args...) }
	batchB("create-compute-environment", "--compute-environment-name", "replicas", "--type", "MANAGED",
		"--compute-resources", `{"type":"FARGATE","maxvCpus":2,"subnets":["subnet-0"]}`)
	batchC("create-job-queue", "--job-queue-name", "replicas", "--priority", "1", "--compute-environment-order", "order=1,computeEnvironment=replicas")
	batchB("register-job-definition", "--job-definition-name", "replicas", "--type", "container",
		"--container-properties", fmt.Sprintf(`{"image":%q,"command":["sleep"],"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}`, image))
	job := fmt.Sprint(field(t, batchC("submit-job", "--job-name", "sleeper", "--job-queue", "replicas", "--job-definition", "replicas"), "jobId"))
	jobs = append(jobs, job)
	waitForJob(t, batchB, job, "RUNNING")
	expectField(t, cli(holder).serviceJSON("batch", "describe-jobs", "--jobs", job), "RUNNING", "jobs", 0, "status")

	// The task's container (beside its sidecar) and the job's.
	oneContainer := func(label, value, container string) {
		t.Helper()
		out := run(t, dockerTimeout, "docker", "ps", "--all", "--quiet", "--filter", "label="+label+"="+value, "--filter", "label=berth.container="+container)
		if n := len(strings.Fields(out)); n != 1 {
			t.Errorf("%d containers of %s %s; want exactly 1", n, label, value)
		}
	}
	oneContainer("berth.task", tasks[0], "app")
	oneContainer("berth.job", job, "default")

	// The replica running the launcher dies; another takes it over and
	// answers for the task and the job still running.
	holder.kill(t)
	killed := time.Now()
	next := seatHolder(t, others, holder)
	t.Logf("replica %s took the launcher over %.1f s after %s was killed", next.Addr, time.Since(killed).Seconds(), holder.Addr)
	survivor := cli(others[0])
	for _, c := range []struct{ what, service, op, flag, id, list, status string }{
		{"task", "ecs", "describe-tasks", "--tasks", task, "tasks", "lastStatus"},
		{"job", "batch", "describe-jobs", "--jobs", job, "jobs", "status"},
	} {
		var last map[string]any
		waitFor(t, time.Minute, "the "+c.what+" described through a survivor", func() bool {
			var err error
			last, err = survivor.try(c.service, c.op, c.flag, c.id)
			return err == nil
		})
		if status := field(t, last, c.list, 0, c.status); status != "RUNNING" {
			t.Errorf("the %s after the takeover: %v; want RUNNING (reattached)", c.what, last)
		}
	}
	oneContainer("berth.task", tasks[0], "app")
	oneContainer("berth.job", job, "default")

	// The new launcher controls them: stop and terminate through the
	// other survivor.
	ecsC("stop-task", "--task", task)
	batchC("terminate-job", "--job-id", job, "--reason", "done")
	waitForTask(t, ecsB, task, "STOPPED")
	waitForJob(t, batchB, job, "FAILED")
}

// seatHolder waits until one of srvs (other than gone) logs that it runs
// the launcher, and returns it.
func seatHolder(t *testing.T, srvs []*server, gone *server) *server {
	t.Helper()
	var holder *server
	waitFor(t, time.Minute, "a replica running the launcher", func() bool {
		for _, s := range srvs {
			if s != gone && strings.Contains(s.log.String(), "this replica runs the launcher") {
				holder = s
				return true
			}
		}
		return false
	})
	return holder
}
