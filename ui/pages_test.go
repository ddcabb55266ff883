package ui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/ui"
)

const (
	publicPull = `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}`
	// expireUntagged expires untagged images a day old.
	expireUntagged = `{"rules":[{"rulePriority":1,"description":"untagged","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}`
	// expireMonthOld expires any image thirty days old.
	expireMonthOld = `{"rules":[{"rulePriority":1,"description":"a month","selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30},"action":{"type":"expire"}}]}`
)

// Every page answers 200 with what it is for, under the Content-Security-
// Policy, for a person who may do everything.
func TestEveryPage(t *testing.T) {
	f := newFixture(t, options{})
	admin := f.user("admin", "full-access")
	f.repository("team/app")
	d := f.pushScanned("team/app", "v1", "latest")
	b := f.signedIn(admin)
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/ui/", []string{"<h1>Overview</h1>", `role="img"`, "Storage by repository", "Images pushed a day", "Findings by severity", "Storage used, by day", "Garbage reclaimed a day", "HIGH: 1"}},
		{"/ui/repositories", []string{"team/app", "Create a repository", `href="/ui/repositories/team/app"`, "Delete<span"}},
		{"/ui/repositories/team/app", []string{"docker pull registry.test:5000/team/app:TAG", "v1", "latest", "1 HIGH", `name="digest"`, "Delete the selected images"}},
		{"/ui/repositories/team/app/-/settings", []string{"Tag mutability", "MUTABLE_WITH_EXCLUSION", "Save scanning"}},
		{"/ui/repositories/team/app/-/policy", []string{`<textarea id="policy"`, "Save policy"}},
		{"/ui/repositories/team/app/-/lifecycle", []string{`<textarea id="policy"`, `type="date"`, "Preview", "Save policy"}},
		{"/ui/repositories/team/app/-/lifecycle/preview", []string{"There is no preview yet."}},
		{"/ui/repositories/team/app/-/delete", []string{"Delete team/app?", `name="force"`}},
		{"/ui/repositories/team/app/-/images/" + d.String(), []string{d.String(), "COPY status /var/lib/dpkg/status", "CVE-2024-0001", "libssl3", "linux/amd64"}},
	} {
		p := b.expect(http.StatusOK, tt.path)
		contains(t, tt.path, p.Body, tt.want...)
		wellFormed(t, tt.path, p)
	}
	for _, path := range []string{"/ui/nothing", "/ui/repositories/team/none", "/ui/repositories/team/app/-/nothing",
		"/ui/repositories/team/app/-/images/sha256:" + strings.Repeat("0", 64), "/ui/repositories/team/app/-/images/not-a-digest"} {
		b.expect(http.StatusNotFound, path)
	}
	for _, asset := range []string{"style.css", "ui.js", "icon.svg"} {
		p := b.expect(http.StatusOK, "/ui/static/"+asset)
		if p.Body == "" || p.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: empty or without the policy", asset)
		}
	}
	// A browser asks for the root of the UI with a trailing slash or not.
	if p := b.get("/ui/repositories/team/app/"); p.Status != http.StatusOK {
		t.Errorf("a repository with a trailing slash = %d", p.Status)
	}
}

// wellFormed checks what every page must be: served under the
// Content-Security-Policy and the other security headers, with no inline
// script or style (the policy would block it), and every form carrying
// the CSRF token.
func wellFormed(t *testing.T, path string, p page) {
	t.Helper()
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("%s: Content-Security-Policy %q", path, csp)
	}
	if p.Header.Get("X-Frame-Options") != "DENY" || p.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: headers %v", path, p.Header)
	}
	lacks(t, path, p.Body, "<script>", " style=", "<style")
	if forms, tokens := strings.Count(p.Body, `<form method="post"`), strings.Count(p.Body, `name="csrf"`); forms != tokens {
		t.Errorf("%s: %d forms post but %d carry the token", path, forms, tokens)
	}
}

// Names, tags, policies, commands, annotations and findings that hold
// markup render as text: no script, no javascript: link.
func TestHostileContentRendersInert(t *testing.T) {
	f := newFixture(t, options{})
	admin := f.user("admin", "full-access")
	ctx := context.Background()
	const evil = `<script>alert(1)</script>`
	hostile := `"><img src=x onerror=alert(1)>` + evil
	// The API refuses such names and tags; the index does not, so the UI
	// must not trust them.
	name := "team/" + evil
	if err := f.store.CreateRepository(ctx, metadata.Repository{Name: name, MutabilityExclusions: []string{hostile}, TagMutability: metadata.ImmutableWithExclusion,
		Tags: []metadata.ResourceTag{{Key: hostile, Value: hostile}}}); err != nil {
		t.Fatal(err)
	}
	f.repository("team/app")
	steps := []step{{command: "RUN echo " + hostile, files: map[string]string{"a": "b"}}}
	d := f.image("team/app", steps)
	cfg := f.blob(name, []byte(`{}`))
	body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":2},"layers":[]}`, cfg)
	if err := f.store.PutManifest(ctx, metadata.Manifest{Repository: name, Digest: digest.FromBytes(body), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Content: body, References: []metadata.Reference{{Digest: cfg}}}, []string{hostile}); err != nil {
		t.Fatal(err)
	}
	// A referrer whose annotations and artifact type are hostile.
	ref := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x-evil+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":1},"annotations":{"note":%q}}`,
		f.blob("team/app", []byte(`{}`)), d, hostile)
	f.manifest("team/app", "application/vnd.oci.image.manifest.v1+json", ref)
	findings, _ := json.Marshal([]map[string]any{{"name": hostile, "description": hostile, "uri": "javascript:alert(1)", "severity": "HIGH",
		"attributes": []map[string]string{{"key": "package_name", "value": hostile}}}})
	inventory, _ := json.Marshal([]map[string]string{{"Ecosystem": hostile, "Name": hostile, "Version": hostile, "DisplayName": hostile, "DisplayVersion": hostile}})
	if err := f.store.PutScan(ctx, metadata.Scan{Repository: "team/app", Digest: d, Status: "COMPLETE", Description: hostile,
		Findings: string(findings), Inventory: string(inventory), SeverityCounts: map[string]int{"HIGH": 1}}); err != nil {
		t.Fatal(err)
	}

	b := f.signedIn(admin)
	// Policies holding markup are valid JSON, and are stored as written.
	hostilePolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage","Condition":{"StringEquals":{"aws:SourceIp":"</textarea>` + evil + `"}}}]}`
	b.get("/ui/repositories/team/app/-/policy")
	if p := b.post("/ui/repositories/team/app/-/policy", url.Values{"policy": {hostilePolicy}}); p.Status != http.StatusSeeOther {
		t.Fatalf("saving a policy with markup = %d\n%s", p.Status, p.Body)
	}
	hostileLifecycle := strings.Replace(expireUntagged, `"description":"untagged"`, `"description":"</textarea>`+strings.ReplaceAll(evil, `"`, `\"`)+`"`, 1)
	if p := b.post("/ui/repositories/team/app/-/lifecycle", url.Values{"policy": {hostileLifecycle}}); p.Status != http.StatusSeeOther {
		t.Fatalf("saving a lifecycle policy with markup = %d\n%s", p.Status, p.Body)
	}
	// A refused policy comes back in the editor, escaped too.
	refused := b.post("/ui/repositories/team/app/-/policy", url.Values{"policy": {"</textarea>" + evil}})

	encoded := url.PathEscape(evil)
	pages := []page{
		b.expect(http.StatusOK, "/ui/"),
		b.expect(http.StatusOK, "/ui/repositories"),
		b.expect(http.StatusOK, "/ui/repositories/team/"+encoded),
		b.expect(http.StatusOK, "/ui/repositories/team/"+encoded+"/-/settings"),
		b.expect(http.StatusOK, "/ui/repositories/team/"+encoded+"/-/delete"),
		b.expect(http.StatusOK, "/ui/repositories/team/app/-/policy"),
		b.expect(http.StatusOK, "/ui/repositories/team/app/-/lifecycle"),
		b.expect(http.StatusOK, "/ui/repositories/team/app/-/images/"+d.String()),
		refused,
	}
	for i, p := range pages {
		lacks(t, fmt.Sprintf("page %d", i), p.Body, evil, "<img src=x", "javascript:", "</textarea><script")
	}
	contains(t, "the repository list", pages[1].Body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	contains(t, "the hostile repository's settings", pages[3].Body, "&lt;img src=x onerror=alert(1)&gt;")
	contains(t, "the image", pages[7].Body, "RUN echo &#34;&gt;&lt;img", "#ZgotmplZ")
}

// A read-only user sees no button that changes anything, and is refused
// with 403 when posting anyway; nothing changes.
func TestReadOnlyUser(t *testing.T) {
	f := newFixture(t, options{})
	reader := f.user("reader", "read-only")
	f.repository("team/app")
	d := f.pushScanned("team/app", "v1")
	ctx := context.Background()
	if _, err := f.store.UpdateRepository(ctx, "team/app", func(r *metadata.Repository) error {
		r.LifecyclePolicy = expireUntagged
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := f.signedIn(reader)
	for _, path := range []string{"/ui/", "/ui/repositories", "/ui/repositories/team/app", "/ui/repositories/team/app/-/settings",
		"/ui/repositories/team/app/-/policy", "/ui/repositories/team/app/-/lifecycle", "/ui/repositories/team/app/-/lifecycle/preview",
		"/ui/repositories/team/app/-/images/" + d.String()} {
		p := b.expect(http.StatusOK, path)
		lacks(t, path, p.Body, "Delete", "Create a repository", `name="digest"`, "Save", `<textarea`, "Preview</button>")
		if forms := strings.Count(p.Body, `<form method="post"`); forms != 1 { // signing out
			t.Errorf("%s: %d forms; want only the sign-out form", path, forms)
		}
	}
	contains(t, "the lifecycle page", b.get("/ui/repositories/team/app/-/lifecycle").Body, "untagged")
	// Asking to delete the repository needs ecr:DeleteRepository.
	contains(t, "the delete confirmation", b.expect(http.StatusForbidden, "/ui/repositories/team/app/-/delete").Body,
		"User: arn:aws:iam::"+account+":user/reader is not authorized to perform: ecr:DeleteRepository on resource: arn:aws:ecr:"+region+":"+account+":repository/team/app")
	for _, tt := range []struct {
		path string
		form url.Values
	}{
		{"/ui/repositories", url.Values{"name": {"team/new"}, "mutability": {"MUTABLE"}}},
		{"/ui/repositories/team/app/-/delete-images", url.Values{"digest": {d.String()}}},
		{"/ui/repositories/team/app/-/delete-images", url.Values{"digest": {d.String()}, "confirm": {"yes"}}},
		{"/ui/repositories/team/app/-/settings/mutability", url.Values{"mutability": {"IMMUTABLE"}}},
		{"/ui/repositories/team/app/-/settings/scanning", url.Values{"scan_on_push": {"on"}}},
		{"/ui/repositories/team/app/-/policy", url.Values{"policy": {publicPull}}},
		{"/ui/repositories/team/app/-/policy/delete", url.Values{}},
		{"/ui/repositories/team/app/-/lifecycle", url.Values{"policy": {expireMonthOld}}},
		{"/ui/repositories/team/app/-/lifecycle/delete", url.Values{}},
		{"/ui/repositories/team/app/-/lifecycle/preview", url.Values{"policy": {expireMonthOld}}},
		{"/ui/repositories/team/app/-/delete", url.Values{"force": {"on"}}},
	} {
		p := b.post(tt.path, tt.form)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "arn:aws:iam::"+account+":user/reader is not authorized") {
			t.Errorf("POST %s as read-only = %d; want 403 in IAM's words\n%s", tt.path, p.Status, p.Body)
		}
	}
	r, err := f.store.Repository(ctx, "team/app")
	if err != nil || r.TagMutability != "" || r.ScanOnPush || r.LifecyclePolicy != expireUntagged {
		t.Errorf("the read-only user changed the repository: %+v, %v", r, err)
	}
	if _, err := f.store.Image(ctx, "team/app", d); err != nil {
		t.Errorf("the read-only user deleted the image: %v", err)
	}
	if _, err := f.store.LifecyclePreview(ctx, "team/app"); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("the read-only user started a preview: %v", err)
	}
}

// A person sees only the repositories their policies let them describe,
// as DescribeRepositories lists them, and the overview counts only those.
func TestRepositoriesFollowPolicies(t *testing.T) {
	f := newFixture(t, options{})
	f.repository("team/app")
	f.repository("other/secret")
	f.pushScanned("other/secret", "v1")
	teamOnly := f.user("team", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:Describe*","ecr:List*","ecr:BatchGetImage"],"Resource":"arn:aws:ecr:`+region+`:`+account+`:repository/team/*"}]}`)
	b := f.signedIn(teamOnly)
	p := b.expect(http.StatusOK, "/ui/repositories")
	contains(t, "the list", p.Body, "team/app", "1 repository")
	lacks(t, "the list", p.Body, "other/secret", "Create a repository")
	p = b.expect(http.StatusOK, "/ui/")
	lacks(t, "the overview", p.Body, "other/secret", "HIGH", "Storage used, by day")
	b.expect(http.StatusForbidden, "/ui/repositories/other/secret")
	b.expect(http.StatusOK, "/ui/repositories/team/app")
}

// Creating a repository checks its name and settings as
// CreateRepository does.
func TestCreateRepository(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	b.get("/ui/repositories")
	for _, tt := range []struct {
		name, mutability string
		status           int
		says             string
	}{
		{"a", "MUTABLE", http.StatusBadRequest, "2 to 256 characters"},
		{"Team/App", "MUTABLE", http.StatusBadRequest, "lower-case letters"},
		{"team//app", "MUTABLE", http.StatusBadRequest, "lower-case letters"},
		{"team/app", "SOMETIMES", http.StatusBadRequest, "mutable or immutable"},
	} {
		p := b.post("/ui/repositories", url.Values{"name": {tt.name}, "mutability": {tt.mutability}})
		if p.Status != tt.status || !strings.Contains(p.Body, tt.says) {
			t.Errorf("creating %q (%s) = %d; want %d saying %q\n%s", tt.name, tt.mutability, p.Status, tt.status, tt.says, p.Body)
		}
		contains(t, "the refused form", p.Body, `value="`+tt.name+`"`)
	}
	p := b.post("/ui/repositories", url.Values{"name": {"team/app"}, "mutability": {"IMMUTABLE"}, "scan_on_push": {"on"}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/repositories/team/app?done=created" {
		t.Fatalf("creating team/app = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	contains(t, "the new repository", b.expect(http.StatusOK, p.Location).Body, "Repository created.", "0 images")
	r, err := f.store.Repository(context.Background(), "team/app")
	if err != nil || r.TagMutability != metadata.Immutable || !r.ScanOnPush {
		t.Errorf("created %+v, %v; want immutable tags and scan on push", r, err)
	}
	if p := b.post("/ui/repositories", url.Values{"name": {"team/app"}, "mutability": {"MUTABLE"}}); p.Status != http.StatusConflict || !strings.Contains(p.Body, "already exists") {
		t.Errorf("creating it again = %d\n%s", p.Status, p.Body)
	}
}

// Deleting a repository asks first; one with images goes only when the
// box is ticked.
func TestDeleteRepository(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	f.image("team/app", debianSteps, "v1")
	p := b.expect(http.StatusOK, "/ui/repositories/team/app/-/delete")
	contains(t, "the confirmation", p.Body, "Delete its 1 image too")
	if p := b.post("/ui/repositories/team/app/-/delete", nil); p.Status != http.StatusConflict || !strings.Contains(p.Body, "still contains images") {
		t.Errorf("deleting without force = %d\n%s", p.Status, p.Body)
	}
	p = b.post("/ui/repositories/team/app/-/delete", url.Values{"force": {"on"}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/repositories?done=deleted" {
		t.Fatalf("deleting with force = %d %q", p.Status, p.Location)
	}
	if _, err := f.store.Repository(context.Background(), "team/app"); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("the repository is still there: %v", err)
	}
	contains(t, "the list", b.expect(http.StatusOK, p.Location).Body, "Repository deleted.")
}

// Deleting images asks first, then deletes each with its tags, but not
// one an index still needs.
func TestDeleteImages(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	lone := f.image("team/app", debianSteps, "lone", "also")
	child := f.image("team/app", debianSteps[:1], "child")
	index := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`, child)
	idx := f.manifest("team/app", "application/vnd.oci.image.index.v1+json", index, "multi")

	b.get("/ui/repositories/team/app")
	p := b.post("/ui/repositories/team/app/-/delete-images", url.Values{"digest": {lone.String(), child.String()}})
	if p.Status != http.StatusOK {
		t.Fatalf("asking to delete = %d\n%s", p.Status, p.Body)
	}
	contains(t, "the confirmation", p.Body, "Delete 2 images?", "lone", "also", "child", `name="confirm" value="yes"`)
	if _, err := f.store.Image(context.Background(), "team/app", lone); err != nil {
		t.Fatalf("asking deleted the image: %v", err)
	}
	p = b.post("/ui/repositories/team/app/-/delete-images", url.Values{"digest": {lone.String(), child.String()}, "confirm": {"yes"}})
	if p.Status != http.StatusOK {
		t.Fatalf("deleting = %d\n%s", p.Status, p.Body)
	}
	contains(t, "the report", p.Body, "Deleted 1 image", "An index references it: "+idx.String()[:19])
	if _, err := f.store.Image(context.Background(), "team/app", lone); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("the image is still there: %v", err)
	}
	if _, err := f.store.Image(context.Background(), "team/app", child); err != nil {
		t.Errorf("the index's image was deleted: %v", err)
	}
	for _, bad := range []url.Values{{}, {"digest": {"nope"}}} {
		if p := b.post("/ui/repositories/team/app/-/delete-images", bad); p.Status != http.StatusBadRequest {
			t.Errorf("deleting %v = %d; want 400", bad, p.Status)
		}
	}
	// The index lists its platform and links its image.
	p = b.expect(http.StatusOK, "/ui/repositories/team/app/-/images/"+idx.String())
	contains(t, "the index", p.Body, "linux/arm64/v8", `href="/ui/repositories/team/app/-/images/`+url.PathEscape(child.String())+`"`)
	contains(t, "the images table", b.expect(http.StatusOK, "/ui/repositories/team/app").Body, "index<br><span class=\"muted\">linux/arm64/v8")
}

// Tag mutability and scan on push are set as the API sets them.
func TestSettings(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	b.get("/ui/repositories/team/app/-/settings")
	for _, tt := range []struct {
		form url.Values
		says string
	}{
		{url.Values{"mutability": {"SOMETIMES"}}, "Choose one"},
		{url.Values{"mutability": {"IMMUTABLE_WITH_EXCLUSION"}}, "Exclusion filters are required when imageTagMutability is IMMUTABLE_WITH_EXCLUSION"},
		{url.Values{"mutability": {"IMMUTABLE_WITH_EXCLUSION"}, "filter": {"dev-*", "has space"}}, `The filter &#34;has space&#34;`},
		{url.Values{"mutability": {"IMMUTABLE_WITH_EXCLUSION"}, "filter": {"a", "b", "c", "d", "e", "f"}}, "At most 5"},
	} {
		p := b.post("/ui/repositories/team/app/-/settings/mutability", tt.form)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, tt.says) {
			t.Errorf("%v = %d; want 400 saying %q\n%s", tt.form, p.Status, tt.says, p.Body)
		}
	}
	p := b.post("/ui/repositories/team/app/-/settings/mutability", url.Values{"mutability": {"IMMUTABLE_WITH_EXCLUSION"}, "filter": {"dev-*", "", "latest"}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("saving = %d\n%s", p.Status, p.Body)
	}
	if p := b.post("/ui/repositories/team/app/-/settings/scanning", url.Values{"scan_on_push": {"on"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("saving scanning = %d", p.Status)
	}
	r, _ := f.store.Repository(context.Background(), "team/app")
	if r.TagMutability != metadata.ImmutableWithExclusion || strings.Join(r.MutabilityExclusions, ",") != "dev-*,latest" || !r.ScanOnPush {
		t.Errorf("settings = %+v", r)
	}
	contains(t, "the settings", b.expect(http.StatusOK, "/ui/repositories/team/app/-/settings?done=saved").Body, "Saved.", `value="dev-*"`, "except <code>dev-*</code>")
	// Mutable again: the filters go.
	b.post("/ui/repositories/team/app/-/settings/mutability", url.Values{"mutability": {"MUTABLE"}, "filter": {"dev-*"}})
	b.post("/ui/repositories/team/app/-/settings/scanning", url.Values{})
	if r, _ := f.store.Repository(context.Background(), "team/app"); r.TagMutability != metadata.Mutable || r.MutabilityExclusions != nil || r.ScanOnPush {
		t.Errorf("settings = %+v", r)
	}
}

// The repository policy editor refuses what SetRepositoryPolicy refuses,
// with its message, and keeps the draft.
func TestRepositoryPolicy(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	b.get("/ui/repositories/team/app/-/policy")
	p := b.post("/ui/repositories/team/app/-/policy", url.Values{"policy": {`{"Statement":[]`}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Invalid parameter at &#39;PolicyText&#39; failed to satisfy constraint: &#39;Invalid repository policy provided") {
		t.Errorf("a broken policy = %d\n%s", p.Status, p.Body)
	}
	contains(t, "the refused editor", p.Body, `{&#34;Statement&#34;:[]`)
	if p := b.post("/ui/repositories/team/app/-/policy", url.Values{"policy": {publicPull}}); p.Status != http.StatusSeeOther {
		t.Fatalf("a good policy = %d\n%s", p.Status, p.Body)
	}
	if text, _ := f.store.RepositoryPolicy(context.Background(), "team/app"); text != publicPull {
		t.Errorf("stored policy %q", text)
	}
	contains(t, "the editor", b.expect(http.StatusOK, "/ui/repositories/team/app/-/policy").Body, "Delete the policy", "&#34;Sid&#34;:&#34;pull&#34;")
	if p := b.post("/ui/repositories/team/app/-/policy/delete", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("deleting = %d", p.Status)
	}
	if text, _ := f.store.RepositoryPolicy(context.Background(), "team/app"); text != "" {
		t.Errorf("policy after deleting: %q", text)
	}
}

// The lifecycle editor saves what PutLifecyclePolicy accepts, and
// previews the draft now or as of a later date: the what-if.
func TestLifecyclePolicyAndPreview(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	f.image("team/app", debianSteps, "v1")
	f.image("team/app", debianSteps[:1], "v2")
	b.get("/ui/repositories/team/app/-/lifecycle")

	p := b.post("/ui/repositories/team/app/-/lifecycle", url.Values{"policy": {`{"rules":[]}`}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "rules") {
		t.Errorf("an empty rule list = %d\n%s", p.Status, p.Body)
	}
	if p := b.post("/ui/repositories/team/app/-/lifecycle", url.Values{"policy": {expireMonthOld}}); p.Status != http.StatusSeeOther {
		t.Fatalf("saving = %d\n%s", p.Status, p.Body)
	}
	if r, _ := f.store.Repository(context.Background(), "team/app"); r.LifecyclePolicy != expireMonthOld {
		t.Errorf("stored %q", r.LifecyclePolicy)
	}

	// Now: the images were pushed just now, so nothing expires.
	p = b.post("/ui/repositories/team/app/-/lifecycle/preview", url.Values{"policy": {expireMonthOld}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/repositories/team/app/-/lifecycle/preview" {
		t.Fatalf("previewing = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	p = b.expect(http.StatusOK, p.Location)
	contains(t, "the preview running", p.Body, `<meta http-equiv="refresh" content="2">`, "Working it out")
	if p := b.post("/ui/repositories/team/app/-/lifecycle/preview", url.Values{"policy": {expireMonthOld}}); p.Status != http.StatusConflict {
		t.Errorf("a second preview while one runs = %d; want 409", p.Status)
	}
	runPreviews(t, f)
	p = b.expect(http.StatusOK, "/ui/repositories/team/app/-/lifecycle/preview")
	lacks(t, "the finished preview", p.Body, "http-equiv")
	contains(t, "the finished preview", p.Body, "<strong>0</strong> images to expire", "The policy does nothing", "when it ran")

	// Forty days ahead, both are a month old.
	at := time.Now().UTC().AddDate(0, 0, 40).Format("2006-01-02")
	p = b.post("/ui/repositories/team/app/-/lifecycle/preview", url.Values{"policy": {expireMonthOld}, "at": {at}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("previewing ahead = %d\n%s", p.Status, p.Body)
	}
	runPreviews(t, f)
	p = b.expect(http.StatusOK, "/ui/repositories/team/app/-/lifecycle/preview")
	contains(t, "the what-if", p.Body, "<strong>2</strong> images to expire", "(a what-if)", at, "v1", "v2", ">expire<")
	contains(t, "the editor", b.expect(http.StatusOK, "/ui/repositories/team/app/-/lifecycle").Body, "Latest preview", "2 to expire")

	for _, bad := range []string{"2001-01-01", "soon"} {
		if p := b.post("/ui/repositories/team/app/-/lifecycle/preview", url.Values{"policy": {expireMonthOld}, "at": {bad}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "today or a later date") {
			t.Errorf("previewing as of %q = %d", bad, p.Status)
		}
	}
	if p := b.post("/ui/repositories/team/app/-/lifecycle/delete", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("deleting = %d", p.Status)
	}
	if r, _ := f.store.Repository(context.Background(), "team/app"); r.LifecyclePolicy != "" {
		t.Errorf("policy after deleting: %q", r.LifecyclePolicy)
	}
}

func runPreviews(t *testing.T, f *fixture) {
	t.Helper()
	if n, err := f.previews.RunPending(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunPending = %d, %v", n, err)
	}
}

// The images table pages through a repository in the order asked for,
// filtered by tag, each page starting after the last.
func TestImagesPaging(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	cfg := f.blob("team/app", []byte(`{}`))
	for i := range 120 {
		body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":2},"layers":[],"annotations":{"n":"%d"}}`, cfg, i)
		tags := []string{fmt.Sprintf("build-%03d", i)}
		if i%10 == 0 {
			tags = append(tags, fmt.Sprintf("release-%03d", i))
		}
		f.manifest("team/app", "application/vnd.oci.image.manifest.v1+json", body, tags...)
	}
	var seen []string
	path := "/ui/repositories/team/app"
	for path != "" {
		p := b.expect(http.StatusOK, path)
		for _, m := range regexp.MustCompile(`<span class="tag">(build-\d+)</span>`).FindAllStringSubmatch(p.Body, -1) {
			seen = append(seen, m[1])
		}
		path = ""
		if m := regexp.MustCompile(`<a href="(\?[^"]+)" rel="next">`).FindStringSubmatch(p.Body); m != nil {
			path = "/ui/repositories/team/app" + strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seen) != 120 || seen[0] != "build-119" || seen[119] != "build-000" {
		t.Errorf("paging newest first saw %d images, %v … %v", len(seen), seen[:1], seen[len(seen)-1:])
	}
	p := b.expect(http.StatusOK, "/ui/repositories/team/app?tag=release&sort=oldest")
	contains(t, "the filtered table", p.Body, "12 images with a tag containing “release”", "release-000", "release-110")
	if strings.Index(p.Body, "release-000") > strings.Index(p.Body, "release-110") {
		t.Error("oldest first lists release-110 before release-000")
	}
	b.expect(http.StatusBadRequest, "/ui/repositories/team/app?after=garbage")
}

// The image page shows the layers with the commands that made them, the
// findings by severity with links to the advisories, the packages and the
// referrers.
func TestImagePage(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	d := f.pushScanned("team/app", "v1")
	sbom := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":1}}`,
		f.blob("team/app", []byte(`{}`)), d)
	ref := f.manifest("team/app", "application/vnd.oci.image.manifest.v1+json", sbom)
	p := b.expect(http.StatusOK, "/ui/repositories/team/app/-/images/"+d.String())
	contains(t, "the image", p.Body,
		"docker pull registry.test:5000/team/app:v1", "docker pull registry.test:5000/team/app@"+d.String(),
		"COPY os-release /etc/os-release", "COPY status /var/lib/dpkg/status", `CMD [&#34;/app&#34;]`, "no layer",
		"linux/amd64", "2026-03-01 12:00 UTC",
		"application/spdx&#43;json", url.PathEscape(ref.String()),
		"CVE-2024-0001", `<span class="badge sev-high">HIGH</span>`, "libssl3", "3.0.11-1~deb12u1", `href="https://security-tracker.debian.org/tracker/CVE-2024-0001"`,
		"1 package found", "&#34;schemaVersion&#34;: 2")
	contains(t, "filtered to LOW", b.expect(http.StatusOK, "/ui/repositories/team/app/-/images/"+d.String()+"?severity=LOW").Body, "0 findings of severity LOW")
	contains(t, "the referrer", b.expect(http.StatusOK, "/ui/repositories/team/app/-/images/"+ref.String()).Body, "artifact", "Refers to")
}

// The overview charts what the index knows: storage by repository,
// pushes by day, findings by severity, and the recorded daily figures.
func TestOverview(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "full-access"))
	f.repository("team/app")
	f.pushScanned("team/app", "v1")
	ctx := context.Background()
	if err := f.store.AddStatistic(ctx, ui.StatisticReclaimedBytes, time.Now(), 5<<20); err != nil {
		t.Fatal(err)
	}
	// Run samples the bytes stored today.
	running, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.ui.Run(running, time.Hour)
	}()
	for {
		v, err := f.store.Statistic(ctx, ui.StatisticStoredBytes, time.Now(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(v) == 1 && v[0].Value > 0 {
			break
		}
		runtime.Gosched()
	}
	stop()
	<-done
	p := b.expect(http.StatusOK, "/ui/")
	contains(t, "the overview", p.Body, "<strong>1</strong> repository", "<strong>1</strong> image",
		`<title>team/app: `, `<title>HIGH: 1</title>`, "5.0 MiB", `aria-labelledby="reclaimed-title"`, `aria-labelledby="storage-over-time-title"`,
		"<th scope=\"row\">"+time.Now().UTC().Format("Jan 2")+"</th><td class=\"num\">1</td>")
}
