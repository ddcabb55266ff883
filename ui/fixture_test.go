package ui_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/launcher/batch"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/storage/filesystem"
	"github.com/berth-dev/berth/ui"
)

const (
	account = "123456789012"
	region  = "us-east-1"
)

// scope is where the test's repositories are.
var scope = arn.Scope{Region: region, AccountID: account}

// fixture is berth's registry side with the web UI in one process: a
// real SQLite index and filesystem blob store, the authority, the
// registry, the lifecycle previewer and the scanner, served by httptest.
type fixture struct {
	t        testing.TB
	dir      string
	store    *sqlite.Store
	sealer   *secret.Sealer
	tokens   *token.Issuer
	auth     *auth.Authority
	reg      *registry.Registry
	previews *lifecycle.Previewer
	scan     *scanner.Scanner
	// runner and ecs are the launcher, when the options ask for it.
	runner *ecs.Runner
	ecs    *ecs.API
	// lambda is the launcher's Lambda side and lambdaClient an SDK
	// client of its API, when the options ask for it.
	lambda       *lambda.API
	lambdaClient *lambdasdk.Client
	meter        *lambda.Meter
	// batch is the launcher's Batch side, when the options ask for it.
	batch *batch.API
	ui    *ui.UI
	srv   *httptest.Server
	logs  *bytes.Buffer
	// offset moves the UI's clock.
	offset atomic.Int64
}

// options change a fixture.
type options struct {
	open bool   // auth mode none
	tls  bool   // serve HTTPS
	db   string // an index to open instead of a new one
	// burst is how many bad sign-ins an address may send (default 1000).
	burst int
	// secureCookies: behind a proxy that terminates TLS.
	secureCookies bool
	// launcher runs ECS tasks on the machine's Docker Engine (the test
	// skips without one); deadEngine on an engine that never answers.
	launcher, deadEngine bool
	// lambda runs Lambda functions on the machine's Docker Engine.
	lambda bool
	// batch runs Batch jobs on the machine's Docker Engine.
	batch bool
}

func newFixture(t testing.TB, opts options) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), logs: &bytes.Buffer{}}
	ctx := context.Background()
	path := opts.db
	if path == "" {
		path = filepath.Join(f.dir, "berth.db")
	}
	var err error
	if f.store, err = sqlite.Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	blobs, err := filesystem.New(filepath.Join(f.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if f.sealer, err = secret.LoadOrCreateMasterKey(filepath.Join(f.dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadOrCreate(filepath.Join(f.dir, "signing-keys"))
	if err != nil {
		t.Fatal(err)
	}
	if f.tokens, err = token.New(keys, "berth-test"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if testing.Verbose() && opts.db == "" {
		log = slog.New(slog.NewTextHandler(io.MultiWriter(f.logs, os.Stderr), nil))
	}
	f.auth = auth.New(f.store, f.sealer, f.tokens, auth.Config{AccountID: account, Region: region, Service: "berth-test", Open: opts.open, FailureBurst: cmp.Or(opts.burst, 1000),
		Resources: map[string]auth.ResourcePolicies{arn.ECR: ecr.RepositoryPolicies{Store: f.store}}}, log)
	f.reg = registry.New(f.store, blobs, log, registry.Config{RegistryID: account})
	t.Cleanup(func() { f.reg.Close(context.Background()) })
	f.previews = lifecycle.NewPreviewer(f.store, lifecycle.NewRunner(f.store, log), log)
	if f.scan, err = scanner.New(ctx, f.store, blobs, writeOSV(t, f.dir), log); err != nil {
		t.Fatal(err)
	}
	// The server is made first, so that the launcher knows the address
	// its engine pulls from; it serves the registry beside the UI.
	mux := http.NewServeMux()
	f.srv = httptest.NewUnstartedServer(mux)
	cfg := ui.Config{
		Access: f.auth, Previews: f.previews, Blobs: f.reg, Scope: scope,
		RepositoryHost: "registry.test:5000",
		SecureCookies:  opts.secureCookies,
		Clock:          func() time.Time { return time.Now().Add(time.Duration(f.offset.Load())) },
		Log:            log,
	}
	if opts.launcher || opts.deadEngine {
		f.startLauncher(opts.deadEngine, log)
		cfg.Tasks, cfg.TaskDefinitions, cfg.Services = f.runner, f.ecs, f.ecs
	}
	if opts.lambda {
		f.startLambda(log)
		cfg.Functions = f.lambda
	}
	if opts.batch {
		f.startBatch(log)
		cfg.Batch = f.batch
	}
	if f.ui, err = ui.New(f.store, cfg); err != nil {
		t.Fatal(err)
	}
	mux.Handle(ui.Prefix, f.ui)
	f.reg.Register(mux)
	if opts.tls {
		f.srv.StartTLS()
	} else {
		f.srv.Start()
	}
	t.Cleanup(f.srv.Close)
	return f
}

// user creates a user with identity policies and returns its access key.
func (f *fixture) user(name string, policies ...string) secret.AccessKey {
	f.t.Helper()
	if err := auth.CreateUser(context.Background(), f.store, name, policies); err != nil {
		f.t.Fatal(err)
	}
	k, err := auth.CreateAccessKey(context.Background(), f.store, f.sealer, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// repository creates a repository.
func (f *fixture) repository(name string) {
	f.t.Helper()
	if err := f.store.CreateRepository(context.Background(), metadata.Repository{Name: name}); err != nil {
		f.t.Fatal(err)
	}
}

// blob uploads content into repo through the registry's layer API.
func (f *fixture) blob(repo string, content []byte) digest.Digest {
	f.t.Helper()
	ctx := context.Background()
	u, err := f.reg.InitiateUpload(ctx, repo)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.reg.UploadPart(ctx, repo, u.ID, 0, bytes.NewReader(content), int64(len(content))); err != nil {
		f.t.Fatal(err)
	}
	d := digest.FromBytes(content)
	if err := f.reg.CompleteUpload(ctx, repo, u.ID, d); err != nil {
		f.t.Fatal(err)
	}
	return d
}

// step is a build step of a test image: the command of its history and
// the files of its layer (none: an empty layer).
type step struct {
	command string
	files   map[string]string
}

// image pushes an image of steps to repo with tags and returns its
// digest; its config's history holds the steps' commands.
func (f *fixture) image(repo string, steps []step, tags ...string) digest.Digest {
	f.t.Helper()
	type desc struct {
		MediaType string        `json:"mediaType"`
		Digest    digest.Digest `json:"digest"`
		Size      int           `json:"size"`
	}
	type hist struct {
		CreatedBy  string `json:"created_by"`
		EmptyLayer bool   `json:"empty_layer,omitempty"`
	}
	var layers []desc
	var history []hist
	var diffIDs []digest.Digest
	for _, s := range steps {
		history = append(history, hist{CreatedBy: s.command, EmptyLayer: s.files == nil})
		if s.files == nil {
			continue
		}
		raw, gz := layer(f.t, s.files)
		layers = append(layers, desc{"application/vnd.oci.image.layer.v1.tar+gzip", f.blob(repo, gz), len(gz)})
		diffIDs = append(diffIDs, digest.FromBytes(raw))
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": "2026-03-01T12:00:00Z",
		"config":  map[string]any{"Cmd": []string{"/app"}},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history": history,
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc{"application/vnd.oci.image.config.v1+json", f.blob(repo, config), len(config)},
		"layers": layers,
	})
	return f.manifest(repo, "application/vnd.oci.image.manifest.v1+json", manifest, tags...)
}

// manifest pushes a manifest as PutImage does.
func (f *fixture) manifest(repo, mediaType string, body []byte, tags ...string) digest.Digest {
	f.t.Helper()
	m, err := f.reg.PutImage(context.Background(), repo, mediaType, body, "", tags)
	if err != nil {
		f.t.Fatalf("PutImage: %v", err)
	}
	return m.Digest
}

// layer returns a tar of files and its gzip.
func layer(t testing.TB, files map[string]string) (raw, gz []byte) { return tarGz(t, 0o644, files) }

// executable returns a tar of one executable file and its gzip.
func executable(t testing.TB, name string, body []byte) (raw, gz []byte) {
	return tarGz(t, 0o755, map[string]string{name: string(body)})
}

// tarGz returns a tar of files, each with mode, and its gzip.
func tarGz(t testing.TB, mode int64, files map[string]string) (raw, gz []byte) {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(tb.Bytes())
	zw.Close()
	return tb.Bytes(), zb.Bytes()
}

// debianSteps build an image the scanner reads as Debian 12 with a
// vulnerable openssl (see writeOSV).
var debianSteps = []step{
	{command: "COPY os-release /etc/os-release", files: map[string]string{"etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n"}},
	{command: "COPY status /var/lib/dpkg/status", files: map[string]string{"var/lib/dpkg/status": "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\n"}},
	{command: `CMD ["/app"]`},
}

// writeOSV writes an OSV database with one Debian record: an openssl CVE
// fixed after 3.0.11-1~deb12u1, of HIGH severity.
func writeOSV(t testing.TB, dir string) string {
	t.Helper()
	osv := filepath.Join(dir, "osv")
	if err := os.MkdirAll(filepath.Join(osv, "Debian"), 0o755); err != nil {
		t.Fatal(err)
	}
	file, err := os.Create(filepath.Join(osv, "Debian", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(file)
	w, _ := zw.Create("DEBIAN-CVE-2024-0001.json")
	io.WriteString(w, `{"id":"DEBIAN-CVE-2024-0001","modified":"2024-06-01T00:00:00Z","upstream":["CVE-2024-0001"],"details":"openssl crash",
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
	  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`)
	zw.Close()
	file.Close()
	return osv
}

// browser is a person at a browser: cookies kept, redirects not
// followed (tests look at them), and the last CSRF token seen.
type browser struct {
	t    testing.TB
	f    *fixture
	c    *http.Client
	csrf string
	// header is sent with every request.
	header http.Header
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := *f.srv.Client() // each browser its own cookies
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: f.t, f: f, c: &c, header: http.Header{}}
}

// page is a response.
type page struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{Status: resp.StatusCode, Body: string(raw), Header: resp.Header, Location: resp.Header.Get("Location")}
	if m := csrfInput.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	return p
}

// get fetches a page.
func (b *browser) get(path string) page {
	b.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// post sends a form as the page would, with the CSRF token.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	return b.do(http.MethodPost, path, form)
}

// expect fetches a page and checks its status.
func (b *browser) expect(status int, path string) page {
	b.t.Helper()
	p := b.get(path)
	if p.Status != status {
		b.t.Fatalf("GET %s = %d (Location %q); want %d\n%s", path, p.Status, p.Location, status, p.Body)
	}
	return p
}

// signIn signs in with an access key.
func (b *browser) signIn(k secret.AccessKey) {
	b.t.Helper()
	b.expect(http.StatusOK, "/ui/signin")
	p := b.post("/ui/signin", url.Values{"access_key_id": {k.ID}, "secret_access_key": {k.Secret}, "next": {"/ui/"}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/" {
		b.t.Fatalf("signing in as %s = %d %q\n%s", k.ID, p.Status, p.Location, p.Body)
	}
	b.expect(http.StatusOK, "/ui/")
}

// signedIn is a browser signed in with k.
func (f *fixture) signedIn(k secret.AccessKey) *browser {
	b := f.browser()
	b.signIn(k)
	return b
}

// contains fails the test unless body holds every one of want.
func contains(t testing.TB, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// lacks fails the test if body holds any of unwanted.
func lacks(t testing.TB, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s holds %q", what, w)
		}
	}
}

// pushScanned pushes the Debian image to repo with tags and scans it
// with the real scanner.
func (f *fixture) pushScanned(repo string, tags ...string) digest.Digest {
	f.t.Helper()
	d := f.image(repo, debianSteps, tags...)
	if sc, err := f.scan.Scan(context.Background(), repo, d); err != nil || sc.Status != scanner.StatusComplete {
		f.t.Fatalf("scan = %+v, %v", sc, err)
	}
	return d
}
