package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// signIn signs the tab in with an access key from the sign-in page.
func (b *tab) signIn(k accessKey) {
	b.t.Helper()
	b.open("/ui/signin")
	b.do("typing the access key",
		chromedp.SendKeys(chromedp.ID("access_key_id"), k.ID),
		chromedp.SendKeys(chromedp.ID("secret_access_key"), k.Secret))
	b.submit("signing in", "form.stack button[type=submit]", 200)
}

// waitUntil waits, without reloading, until a JavaScript expression
// about the page is true: the page changed by itself.
func (b *tab) waitUntil(what, expression string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](expression, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(2*time.Minute)))
}

// taskPage is where running a task from its definition's page leads.
var taskPage = regexp.MustCompile(`^/ui/clusters/default/tasks/([0-9a-f]{32})\?done=started$`)

// A person in a real browser runs a task from its task definition's
// page, sees it reach RUNNING without reloading, watches its output
// arrive on its log page, stops it, and sees it STOPPED with the code
// UserInitiated. The screenshots of the launcher's pages are the test's
// artifacts, and docs/screenshots with BERTH_UPDATE_SCREENSHOTS=1.
func TestLauncherInChromium(t *testing.T) {
	path := requireChromium(t)
	requireDocker(t)
	bin := requireAWSCLI(t)
	// Bridge tasks need no sidecar, so none is kept ready.
	srv := startBerth(t, "BERTH_LAUNCHER_SIDECAR_POOL=0")
	admin := srv.adminKey(t)
	login(t, srv.Addr, admin)
	aws := awsCLI{t, bin, "http://" + srv.Addr, admin}

	image := srv.Addr + "/e2e/ticker:1"
	_, port, _ := strings.Cut(srv.Addr, ":")
	var tasks []string
	t.Cleanup(func() {
		srv.Stop(t)
		removeTaskContainers(tasks)
		removeImage(t, image)
		removeImage(t, "127.0.0.1:"+port+"/e2e/ticker:1") // the name the engine pulled
	})
	run(t, dockerTimeout, "docker", "build", "-t", image, taskContext(t))
	run(t, dockerTimeout, "docker", "push", image)
	aws.serviceJSON("ecs", "register-task-definition", "--family", "ticker", "--network-mode", "bridge", "--container-definitions",
		`[{"name":"app","image":"e2e/ticker:1","memory":64,"command":["tick"],"logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/ticker","awslogs-stream-prefix":"ui","awslogs-create-group":"true"}}}]`)

	b := &tab{t: t, ctx: chromium(t, path), base: "http://" + srv.Addr, shots: []string{t.ArtifactDir()}}
	if os.Getenv("BERTH_UPDATE_SCREENSHOTS") != "" {
		b.shots = append(b.shots, filepath.Join(repoRoot, "docs", "screenshots"))
	}
	b.signIn(admin)

	// The task definition, and the form that runs it.
	b.open("/ui/task-definitions")
	b.sees("the task definitions", "ticker:1", "ACTIVE")
	b.do("opening the revision", chromedp.Click(chromedp.CSS(`a[href="/ui/task-definitions/ticker/1"]`)), chromedp.WaitVisible(chromedp.ID("run-title")))
	b.sees("the revision", "e2e/ticker:1", "tick", "awslogs", "/ecs/ticker", "bridge")
	b.styled()
	b.screenshot("task-definition", true)
	b.submit("running a task", `form[action$="/run"] button[type=submit]`, 200)
	m := taskPage.FindStringSubmatch(b.location())
	if m == nil {
		t.Fatalf("running led to %s; want the task's page", b.location())
	}
	id := m[1]
	tasks = append(tasks, id)
	taskPath := strings.TrimSuffix(b.location(), "?done=started")

	// The page follows the task to RUNNING by itself.
	b.waitUntil("waiting for RUNNING", `document.getElementById("last-status").textContent === "RUNNING"`)
	if l := b.location(); !strings.HasPrefix(l, taskPath) {
		t.Fatalf("the task's page moved to %s", l)
	}
	b.sees("the running task", "Tasks started.", "RUNNING", "app", "e2e/ticker:1", "Stop task", "ticker:1")
	b.screenshot("task", true)
	b.open("/ui/clusters/default")
	b.sees("the cluster", id, "1 running", "ticker:1", "RUNNING")
	b.screenshot("cluster", false)
	b.open("/ui/clusters")
	b.sees("the clusters", "default")
	b.screenshot("clusters", false)

	// Its output: the page shows what is there and then each line as it
	// arrives. The stream exists once the container's output is captured,
	// which starts as it runs.
	stream := "/ui/logs/stream?group=%2Fecs%2Fticker&stream=ui%2Fapp%2F" + id
	for deadline := time.Now().Add(time.Minute); ; {
		resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(b.base+stream))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task's log stream answered %d for a minute", resp.Status)
		}
		time.Sleep(500 * time.Millisecond) // the capture opens the stream
	}
	b.waitUntil("following the log", `document.querySelector(".follow-status").textContent.startsWith("Following")`)
	last, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`Math.max(0, ...[...document.querySelectorAll("ol.log .msg")].map(e => Number((e.textContent.match(/^tick (\d+)$/) || [0, 0])[1])))`))
	if err != nil {
		t.Fatal(err)
	}
	b.waitUntil("waiting for new lines", fmt.Sprintf(`[...document.querySelectorAll("ol.log .msg")].some(e => e.textContent === "tick %d")`, last+3))
	if l := b.location(); l != stream {
		t.Fatalf("the log page moved to %s", l)
	}
	b.sees("the log", "sleeping", fmt.Sprintf("tick %d", last+3))
	b.screenshot("log-stream", false)
	b.open("/ui/logs/group?name=%2Fecs%2Fticker")
	b.sees("the log group", "ui/app/"+id)
	b.screenshot("log-group", false)

	// Stop it: the page follows it to STOPPED, with the code and reason.
	b.open(taskPath)
	b.do("giving a reason", chromedp.SendKeys(chromedp.ID("reason"), "done in the browser"))
	b.submit("stopping the task", `form[action$="/stop"] button[type=submit]`, 200)
	b.waitUntil("waiting for STOPPED", `document.getElementById("last-status").textContent === "STOPPED"`)
	b.sees("the stopped task", "STOPPED", "UserInitiated", "done in the browser")
	b.holds("the stop form", `document.querySelector("form[action$='/stop']") === null`)

	// A service: its page shows its task once the scheduler starts it,
	// without reloading.
	aws.serviceJSON("ecs", "create-service", "--service-name", "ticks", "--task-definition", "ticker", "--desired-count", "1")
	t.Cleanup(func() {
		execute(dockerTimeout, nil, bin, "--endpoint-url", "http://"+srv.Addr, "ecs", "delete-service", "--service", "ticks", "--force")
	})
	b.open("/ui/clusters/default")
	b.sees("the cluster's services", "ticks", "ACTIVE")
	b.do("opening the service", chromedp.Click(chromedp.CSS(`a[href="/ui/clusters/default/services/ticks"]`)), chromedp.WaitVisible(chromedp.ID("deployments-title")))
	b.waitUntil("waiting for the service's task", `document.querySelector("table.tasks a[href^='/ui/clusters/default/tasks/']") !== null`)
	serviceTask, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("table.tasks a[href^='/ui/clusters/default/tasks/']").getAttribute("href").split("/").pop()`))
	if err != nil {
		t.Fatal(err)
	}
	tasks = append(tasks, serviceTask)
	b.sees("the service", "Service ticks", "PRIMARY", "ticker:1", "Update service", "Delete service")
	b.screenshot("service", true)
	fmt.Fprintf(os.Stderr, "screenshots in %s\n", strings.Join(b.shots, ", "))
}
