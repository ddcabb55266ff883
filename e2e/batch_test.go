package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBatchWithAWSCLI is the Batch flow with the real AWS CLI v2: a
// compute environment and queue, a job definition of an image pushed to
// berth, a job that exits 3 and is not retried (evaluateOnExit EXIT),
// its output in /aws/batch/job (aws logs tail --follow), an array job whose running children are
// listed and terminated, and Batch's refusals.
func TestBatchWithAWSCLI(t *testing.T) {
	requireDocker(t)
	bin := requireAWSCLI(t)
	srv := startBerth(t)
	admin := srv.adminKey(t)
	login(t, srv.Addr, admin)
	aws := awsCLI{t, bin, "http://" + srv.Addr, admin}
	batch := func(args ...string) map[string]any { t.Helper(); return aws.serviceJSON("batch", args...) }
	const account = "000000000000"

	image := srv.Addr + "/team/job:1"
	_, port, _ := strings.Cut(srv.Addr, ":")
	pulled := "127.0.0.1:" + port + "/team/job:1"
	var jobs []string
	t.Cleanup(func() {
		srv.Stop(t)
		removeLabelled("berth.job", jobs)
		removeImage(t, image)
		removeImage(t, pulled)
	})
	run(t, dockerTimeout, "docker", "build", "-t", image, taskContext(t))
	run(t, dockerTimeout, "docker", "push", image)

	ce := batch("create-compute-environment", "--compute-environment-name", "e2e", "--type", "MANAGED",
		"--compute-resources", `{"type":"FARGATE","maxvCpus":2,"subnets":["subnet-0"]}`)
	expectField(t, ce, "arn:aws:batch:us-east-1:"+account+":compute-environment/e2e", "computeEnvironmentArn")
	expectField(t, batch("describe-compute-environments"), "VALID", "computeEnvironments", 0, "status")
	batch("create-job-queue", "--job-queue-name", "e2e", "--priority", "1", "--compute-environment-order", "order=1,computeEnvironment=e2e")
	expectField(t, batch("describe-job-queues", "--job-queues", "e2e"), "ENABLED", "jobQueues", 0, "state")
	def := batch("register-job-definition", "--job-definition-name", "e2e", "--type", "container",
		"--container-properties", fmt.Sprintf(`{"image":%q,"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}`, image),
		"--retry-strategy", `{"attempts":3,"evaluateOnExit":[{"onExitCode":"3","action":"EXIT"}]}`)
	expectField(t, def, "arn:aws:batch:us-east-1:"+account+":job-definition/e2e:1", "jobDefinitionArn")

	// A job that exits 3: EXIT on that code, so one attempt.
	submitted := batch("submit-job", "--job-name", "hello", "--job-queue", "e2e", "--job-definition", "e2e")
	id := fmt.Sprint(field(t, submitted, "jobId"))
	jobs = append(jobs, id)
	failed := waitForJob(t, batch, id, "FAILED")
	expectField(t, failed, 3, "jobs", 0, "container", "exitCode")
	expectField(t, failed, "Essential container in task exited", "jobs", 0, "statusReason")
	if n := len(field(t, failed, "jobs", 0, "attempts").([]any)); n != 1 {
		t.Errorf("%d attempts; evaluateOnExit said EXIT on 3", n)
	}
	stream := fmt.Sprint(field(t, failed, "jobs", 0, "attempts", 0, "container", "logStreamName"))
	if !strings.HasPrefix(stream, "e2e/default/") {
		t.Errorf("log stream %q", stream)
	}
	events := aws.serviceJSON("logs", "get-log-events", "--log-group-name", "/aws/batch/job", "--log-stream-name", stream, "--start-from-head")
	if msg := fmt.Sprint(field(t, events, "events", 0, "message")); !strings.HasPrefix(msg, "hello from an ECS task in us-east-1") {
		t.Errorf("the job's output: %q", msg)
	}
	// `aws logs tail --follow` shows the jobs' output, a running one's as
	// it comes.
	tail := tailFollow(t, aws, "/aws/batch/job")
	tail.waitFor(stream + " hello from an ECS task")

	// An array of 2 that runs until terminated.
	submitted = batch("submit-job", "--job-name", "sleepers", "--job-queue", "e2e", "--job-definition", "e2e:1",
		"--array-properties", "size=2", "--container-overrides", `{"command":["sleep"]}`)
	parent := fmt.Sprint(field(t, submitted, "jobId"))
	jobs = append(jobs, parent, parent+":0", parent+":1")
	waitFor(t, 2*time.Minute, "both children RUNNING", func() bool {
		listed := batch("list-jobs", "--array-job-id", parent)
		return len(field(t, listed, "jobSummaryList").([]any)) == 2
	})
	tail.waitFor(" sleeping")
	described := batch("describe-jobs", "--jobs", parent)
	expectField(t, described, 2, "jobs", 0, "arrayProperties", "statusSummary", "RUNNING")
	batch("terminate-job", "--job-id", parent, "--reason", "e2e is done")
	for _, child := range []string{parent + ":0", parent + ":1"} {
		stopped := waitForJob(t, batch, child, "FAILED")
		expectField(t, stopped, "e2e is done", "jobs", 0, "statusReason")
	}
	expectField(t, waitForJob(t, batch, parent, "FAILED"), 2, "jobs", 0, "arrayProperties", "statusSummary", "FAILED")
	if listed := field(t, batch("list-jobs", "--job-queue", "e2e", "--job-status", "FAILED"), "jobSummaryList").([]any); len(listed) != 2 {
		t.Errorf("list-jobs --job-status FAILED = %v", listed)
	}

	aws.serviceRefused("batch", "ClientException", "submit-job", "--job-name", "x", "--job-queue", "e2e", "--job-definition", "e2e", "--array-properties", "size=1")
	aws.serviceRefused("batch", "ClientException", "submit-job", "--job-name", "x", "--job-queue", "nope", "--job-definition", "e2e")
	aws.serviceRefused("batch", "ClientException", "submit-job", "--job-name", "x", "--job-queue", "e2e", "--job-definition", "e2e", "--depends-on", "jobId=nope")
	aws.serviceRefused("batch", "ClientException", "list-jobs", "--multi-node-job-id", id)
}

// waitForJob polls describe-jobs until the job's status is status,
// bounded so a broken test cannot hang.
func waitForJob(t *testing.T, batch func(...string) map[string]any, id, status string) map[string]any {
	t.Helper()
	var last map[string]any
	waitFor(t, 2*time.Minute, "job "+id+" "+status, func() bool {
		last = batch("describe-jobs", "--jobs", id)
		return fmt.Sprint(field(t, last, "jobs", 0, "status")) == status
	})
	return last
}
