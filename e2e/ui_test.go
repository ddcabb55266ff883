package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// requireChromium returns Debian's Chromium (scripts/test installs the
// chromium package); the test skips or fails without it as missing
// decides.
func requireChromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		missing(t, "chromium is not installed (Debian package chromium); scripts/test installs it")
	}
	return p
}

// chromium starts a headless Chromium with a fresh profile and returns a
// tab, closed when the test ends.
func chromium(t *testing.T, path string) context.Context {
	t.Helper()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	t.Cleanup(cancel)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	ctx, cancelTimeout := context.WithTimeout(tab, 5*time.Minute)
	t.Cleanup(cancelTimeout)
	return ctx
}

// tab is a browser tab driven by one test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	// shots is where screenshots go: the test's artifacts, and
	// docs/screenshots too when BERTH_UPDATE_SCREENSHOTS is set.
	shots []string
}

// do runs actions in the tab.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks a button that sends a form and waits for the page the
// server answers with.
func (b *tab) submit(what string, button chromedp.CSS, status int) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(button))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if int(resp.Status) != status {
		b.t.Fatalf("%s: the page came back %d; want %d", what, resp.Status, status)
	}
}

// open navigates to a path of berth.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// text is the visible text of the page.
func (b *tab) text() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// sees fails the test unless the page shows each of want.
func (b *tab) sees(what string, want ...string) {
	b.t.Helper()
	text := b.text()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Errorf("%s: the page does not show %q:\n%s", what, w, text)
		}
	}
}

// location is the path and query the tab shows.
func (b *tab) location() string {
	b.t.Helper()
	l, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(l, b.base)
}

// screenshot saves the viewport, or the whole page, as name.png.
func (b *tab) screenshot(name string, whole bool) {
	b.t.Helper()
	shot := chromedp.CaptureScreenshot()
	if whole {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, dir := range b.shots {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// holds fails the test unless a JavaScript expression about the page
// is true.
func (b *tab) holds(what, expression string) {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expression))
	if err != nil || !ok {
		b.t.Errorf("%s: %s is not true (%v)", what, expression, err)
	}
}

// styled checks that berth's stylesheet applies, which it does only if
// the Content-Security-Policy lets it load.
func (b *tab) styled() {
	b.t.Helper()
	b.holds("the stylesheet", `getComputedStyle(document.querySelector("header.top")).backgroundColor === "rgb(11, 79, 108)"`)
}

// A person in a real browser signs in, creates a repository, sees the
// image docker pushed with its layers and findings, edits a lifecycle
// policy and sees what it would do in six weeks, and signs out. The
// screenshots of the main pages are the test's artifacts (go test
// -artifacts), and docs/screenshots with BERTH_UPDATE_SCREENSHOTS=1.
func TestWebUIInChromium(t *testing.T) {
	path := requireChromium(t)
	requireDocker(t)
	dataDir := t.TempDir()
	run(t, time.Minute, berthBin, "vulndb", "import", writeOSV(t), "--data-dir", dataDir)
	srv := startBerthIn(t, dataDir)
	admin := srv.adminKey(t)
	b := &tab{t: t, ctx: chromium(t, path), base: "http://" + srv.Addr, shots: []string{t.ArtifactDir()}}
	if os.Getenv("BERTH_UPDATE_SCREENSHOTS") != "" {
		b.shots = append(b.shots, filepath.Join(repoRoot, "docs", "screenshots"))
	}

	// The root sends a browser to the UI, which asks it to sign in.
	b.open("/")
	if l := b.location(); l != "/ui/signin?next=%2Fui%2F" {
		t.Fatalf("the root led to %s; want the sign-in page", l)
	}
	b.screenshot("signin", false)
	b.do("typing the access key",
		chromedp.SendKeys(chromedp.ID("access_key_id"), admin.ID),
		chromedp.SendKeys(chromedp.ID("secret_access_key"), admin.Secret))
	b.submit("signing in", "form.stack button[type=submit]", 200)
	if l := b.location(); l != "/ui/" {
		t.Fatalf("signed in to %s; want the overview", l)
	}
	b.sees("the overview", "Signed in as admin", "Storage by repository", "No repositories yet.")
	b.styled()

	// Create a repository that scans on push.
	b.open("/ui/repositories")
	b.do("filling the create form",
		chromedp.SendKeys(chromedp.ID("name"), "web/app"),
		chromedp.Click(chromedp.CSS("input[name=scan_on_push]")))
	b.submit("creating the repository", "section.panel button[type=submit]", 200)
	if l := b.location(); l != "/ui/repositories/web/app?done=created" {
		t.Fatalf("created to %s", l)
	}
	b.sees("the new repository", "Repository created.", "0 images")

	// docker pushes an image; the page shows it once scanned.
	pushDebianImage(t, srv, admin, srv.Addr+"/web/app:1.0", "", "ENV GREETING=hello\nCMD [\"/app\"]\n")
	for deadline := time.Now().Add(2 * time.Minute); ; {
		b.open("/ui/repositories/web/app")
		if strings.Contains(b.text(), "1 HIGH") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scan's findings never showed:\n%s", b.text())
		}
		time.Sleep(time.Second) // polling the scan that runs in berth
	}
	b.sees("the images table", "1 image", "1.0", "1 HIGH", "standard")
	b.screenshot("repository", false)

	// The image: its layers with the commands that made them, and findings.
	b.do("opening the image", chromedp.Click(chromedp.CSS("table.images td a")), chromedp.WaitVisible(chromedp.ID("layers-title")))
	b.sees("the image page", "COPY", "in /etc/os-release", "in /var/lib/dpkg/status", "ENV GREETING=hello", `CMD ["/app"]`,
		"linux/amd64", "CVE-2024-0001", "HIGH", "libssl3", "3.0.11-1~deb12u1", "docker pull "+srv.Addr+"/web/app:1.0")
	b.styled()
	// berth's script, allowed by the policy too, adds copy buttons.
	b.holds("the script", `document.querySelectorAll("button.copy").length === 3`)
	b.screenshot("image", true)

	// A lifecycle policy: a month after its push the image expires. Now
	// the preview finds nothing; six weeks ahead it finds the image.
	b.open("/ui/repositories/web/app/-/lifecycle")
	policy := `{"rules":[{"rulePriority":1,"description":"a month","selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30},"action":{"type":"expire"}}]}`
	b.do("writing the policy", chromedp.SendKeys(chromedp.ID("policy"), policy))
	b.submit("saving the policy", "button.primary", 200)
	b.sees("the saved policy", "Saved.")
	b.holds("the saved policy", `document.getElementById("policy").value.includes('"description":"a month"')`)
	sixWeeks := time.Now().UTC().AddDate(0, 0, 42).Format("2006-01-02")
	b.do("choosing a date", chromedp.SetValue(chromedp.ID("at"), sixWeeks))
	b.screenshot("lifecycle", false)
	b.submit("previewing", `button[formaction$="/lifecycle/preview"]`, 200)
	if l := b.location(); l != "/ui/repositories/web/app/-/lifecycle/preview" {
		t.Fatalf("previewing led to %s", l)
	}
	// The page reloads itself while the preview runs.
	b.do("waiting for the preview", chromedp.WaitVisible(chromedp.CSS("table.list")))
	b.sees("the what-if", "1 image to expire", "(a what-if)", sixWeeks, "1.0", "expire")
	b.screenshot("preview", false)

	b.open("/ui/repositories")
	b.sees("the list", "web/app", "1 repository")
	b.screenshot("repositories", false)
	b.open("/ui/")
	b.sees("the overview", "web/app", "HIGH")
	b.screenshot("overview", true)

	// Sign out; the UI asks to sign in again.
	b.submit("signing out", "header form button", 200)
	b.sees("the signed-out page", "You are signed out.")
	b.open("/ui/repositories")
	if l := b.location(); !strings.HasPrefix(l, "/ui/signin?") {
		t.Errorf("after signing out, the repositories led to %s; want the sign-in page", l)
	}
	fmt.Fprintf(os.Stderr, "screenshots in %s\n", strings.Join(b.shots, ", "))
}
