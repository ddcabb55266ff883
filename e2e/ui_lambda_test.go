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

// A person in a real browser finds a function the AWS CLI created in the
// functions' list, opens its page (its image by digest, its version and
// alias), invokes it from the form and sees the answer with the log's
// REPORT line, sees the function's error when it fails, and then the
// invocations among the recent ones and counted in its usage. The
// screenshots are the test's artifacts, and docs/screenshots with
// BERTH_UPDATE_SCREENSHOTS=1.
func TestFunctionsInChromium(t *testing.T) {
	path := requireChromium(t)
	requireDocker(t)
	bin := requireAWSCLI(t)
	srv := startBerth(t, "BERTH_LAUNCHER_SIDECAR_POOL=0")
	admin := srv.adminKey(t)
	login(t, srv.Addr, admin)
	lam := lambdaCLI{awsCLI: awsCLI{t, bin, "http://" + srv.Addr, admin}}

	image := srv.Addr + "/e2e/greeter:1"
	_, port, _ := strings.Cut(srv.Addr, ":")
	t.Cleanup(func() {
		srv.Stop(t) // stopping, berth removes the function's environments
		out, _ := execute(dockerTimeout, nil, "docker", "ps", "--all", "--quiet", "--filter", "label=berth.function=greeter")
		for _, c := range strings.Fields(out) {
			t.Errorf("container %s of greeter left behind", c)
			execute(dockerTimeout, nil, "docker", "rm", "--force", c)
		}
		removeImage(t, image)
		out, _ = execute(dockerTimeout, nil, "docker", "images", "--quiet", "--no-trunc", "--filter", "reference=127.0.0.1:"+port+"/e2e/greeter")
		for _, id := range strings.Fields(out) {
			removeImage(t, id) // the name the engine pulled
		}
	})
	run(t, dockerTimeout, "docker", "build", "-t", image, lambdaContext(t))
	lam.serviceJSON("ecr", "create-repository", "--repository-name", "e2e/greeter")
	run(t, dockerTimeout, "docker", "push", image)
	lam.create("greeter", image, "--description", "Says hello back", "--memory-size", "256", "--publish")
	lam.json("create-alias", "--function-name", "greeter", "--name", "live", "--function-version", "1")

	b := &tab{t: t, ctx: chromium(t, path), base: "http://" + srv.Addr, shots: []string{t.ArtifactDir()}}
	if os.Getenv("BERTH_UPDATE_SCREENSHOTS") != "" {
		b.shots = append(b.shots, filepath.Join(repoRoot, "docs", "screenshots"))
	}
	b.signIn(admin)

	b.open("/ui/functions")
	b.sees("the functions", "greeter", "e2e/greeter:1", "Active", "256 MB")
	b.do("opening the function", chromedp.Click(chromedp.CSS(`a[href="/ui/functions/greeter"]`)), chromedp.WaitVisible(chromedp.ID("invoke-title")))
	b.sees("the function", "Says hello back", "e2e/greeter@sha256:", "live", "Versions", "No invocations logged yet.")
	b.styled()
	b.holds("the image link", `document.querySelector("a[href*='/ui/repositories/e2e/greeter/-/images/sha256']") !== null`)

	// Invoke it from the form.
	b.do("writing the event", chromedp.SetValue(chromedp.ID("payload"), `{"greeting":"hello from the browser"}`))
	b.submit("invoking", `form[action$="/invoke"] button[type=submit]`, 200)
	b.sees("the result", "Succeeded", `"greeting": "hello from the browser"`, "version $LATEST", "START RequestId: ", "REPORT RequestId: ", "Billed Duration: ")
	b.screenshot("function", true)

	// Through the alias, failing.
	b.do("choosing the alias", chromedp.SetValue(chromedp.ID("qualifier"), "live"))
	b.do("writing the event", chromedp.SetValue(chromedp.ID("payload"), `{"action":"fail"}`))
	b.submit("invoking the alias", `form[action$="/invoke"] button[type=submit]`, 200)
	b.sees("the failure", "The function failed", "errorString", "asked to fail", "version 1")

	// Both invocations, from the log's REPORT lines (the log writer
	// appends them a moment later), and in its usage.
	for deadline := time.Now().Add(time.Minute); ; {
		b.open("/ui/functions/greeter")
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#recent tbody th code").length`))
		if err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d recent invocations after a minute; want 2", n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.holds("the usage", `document.getElementById("invocations").textContent === "2"`)
	b.open("/ui/functions")
	b.sees("the functions' usage", "greeter")
	b.holds("the list's count", `[...document.querySelectorAll("tbody td.num")].some(td => td.textContent === "2")`)
	b.screenshot("functions", false)
	b.open("/ui/logs/group?name=%2Faws%2Flambda%2Fgreeter")
	b.sees("the function's log group", "[$LATEST]", "[1]")
	fmt.Fprintf(os.Stderr, "screenshots in %s\n", strings.Join(b.shots, ", "))
}
