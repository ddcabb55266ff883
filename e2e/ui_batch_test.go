package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A person in a real browser finds the queue the AWS CLI made on the
// Batch page, opens a failed job from the queue's FAILED jobs and sees
// its attempt with exit code 3, follows the attempt's log link to the
// job's output, opens an array job with its children running, and
// terminates it from its page. The screenshots are the test's artifacts,
// and docs/screenshots with BERTH_UPDATE_SCREENSHOTS=1.
func TestBatchInChromium(t *testing.T) {
	path := requireChromium(t)
	requireDocker(t)
	bin := requireAWSCLI(t)
	srv := startBerth(t)
	admin := srv.adminKey(t)
	login(t, srv.Addr, admin)
	aws := awsCLI{t, bin, "http://" + srv.Addr, admin}
	batch := func(args ...string) map[string]any { t.Helper(); return aws.serviceJSON("batch", args...) }

	image := srv.Addr + "/team/uijob:1"
	_, port, _ := strings.Cut(srv.Addr, ":")
	var jobs []string
	t.Cleanup(func() {
		srv.Stop(t)
		removeLabelled("berth.job", jobs)
		removeImage(t, image)
		removeImage(t, "127.0.0.1:"+port+"/team/uijob:1") // the name the engine pulled
	})
	run(t, dockerTimeout, "docker", "build", "-t", image, taskContext(t))
	run(t, dockerTimeout, "docker", "push", image)
	batch("create-compute-environment", "--compute-environment-name", "ui", "--type", "MANAGED",
		"--compute-resources", `{"type":"FARGATE","maxvCpus":2,"subnets":["subnet-0"]}`)
	batch("create-job-queue", "--job-queue-name", "ui", "--priority", "1", "--compute-environment-order", "order=1,computeEnvironment=ui")
	batch("register-job-definition", "--job-definition-name", "ui", "--type", "container",
		"--container-properties", fmt.Sprintf(`{"image":%q,"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}`, image),
		"--retry-strategy", `{"attempts":3,"evaluateOnExit":[{"onExitCode":"3","action":"EXIT"}]}`)
	id := fmt.Sprint(field(t, batch("submit-job", "--job-name", "hello", "--job-queue", "ui", "--job-definition", "ui"), "jobId"))
	jobs = append(jobs, id)
	waitForJob(t, batch, id, "FAILED")
	parent := fmt.Sprint(field(t, batch("submit-job", "--job-name", "sleepers", "--job-queue", "ui", "--job-definition", "ui",
		"--array-properties", "size=2", "--container-overrides", `{"command":["sleep"]}`), "jobId"))
	jobs = append(jobs, parent, parent+":0", parent+":1")
	waitFor(t, 2*time.Minute, "both children RUNNING", func() bool {
		return len(field(t, batch("list-jobs", "--array-job-id", parent), "jobSummaryList").([]any)) == 2
	})

	b := &tab{t: t, ctx: chromium(t, path), base: "http://" + srv.Addr, shots: []string{t.ArtifactDir()}}
	if os.Getenv("BERTH_UPDATE_SCREENSHOTS") != "" {
		b.shots = append(b.shots, filepath.Join(repoRoot, "docs", "screenshots"))
	}
	b.signIn(admin)

	b.open("/ui/batch")
	b.sees("the Batch page", "ui", "ENABLED", "VALID", "2 of 2")
	b.styled()
	b.do("opening the queue's failed jobs", chromedp.Click(chromedp.CSS(`a[href="/ui/batch/queues/ui?status=FAILED"]`)), chromedp.WaitVisible(chromedp.CSS("table.jobs")))
	b.sees("the failed jobs", "1 FAILED job", "hello", "Essential container in task exited")
	b.do("opening the job", chromedp.Click(chromedp.CSS(`a[href="/ui/batch/jobs/`+id+`"]`)), chromedp.WaitVisible(chromedp.ID("attempts-title")))
	b.sees("the job", "FAILED", "Essential container in task exited", "team/uijob:1")
	b.holds("the attempt's exit code", `document.querySelector("table.attempts tbody td.num").textContent === "3"`)
	b.screenshot("batch-job", true)
	b.do("following the attempt's log", chromedp.Click(chromedp.CSS(`table.attempts a[href^="/ui/logs/stream"]`)), chromedp.WaitVisible(chromedp.CSS("ol.log")))
	b.sees("the attempt's output", "hello from an ECS task")

	// The array: its children running, then terminated from the form.
	b.open("/ui/batch/jobs/" + parent)
	b.sees("the array", "Children", "2 RUNNING jobs", parent+":0", parent+":1")
	b.do("giving a reason", chromedp.SendKeys(chromedp.ID("reason"), "done from the browser"))
	b.submit("terminating", `form[action$="/terminate"] button[type=submit]`, 200)
	b.sees("the terminated array", "Terminating the job")
	for deadline := time.Now().Add(2 * time.Minute); ; {
		b.open("/ui/batch/jobs/" + parent + "?status=FAILED")
		if strings.Contains(b.text(), "2 FAILED jobs") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the children never failed:\n%s", b.text())
		}
		time.Sleep(500 * time.Millisecond) // the containers stop on SIGTERM
	}
	b.sees("the failed children", "done from the browser")
	fmt.Fprintf(os.Stderr, "screenshots in %s\n", strings.Join(b.shots, ", "))
}
