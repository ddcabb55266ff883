package pullthrough_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/pullthrough"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

// server is a berth registry (the real one, in process) on loopback,
// counting the blob GETs it answers.
type server struct {
	*httptest.Server
	store     *sqlite.Store
	reg       *registry.Registry
	restart   func()   // replaces reg by a new one over the same stores
	blobGets  sync.Map // digest → *atomic.Int64
	manifests atomic.Int64
	heads     atomic.Int64 // manifest HEADs: a cache's re-checks
}

func (s *server) host() string { return strings.TrimPrefix(s.URL, "http://") }

func (s *server) gets(d v1.Hash) int64 {
	if n, ok := s.blobGets.Load(d.String()); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// newServer starts a registry; user and password, when set, are required
// as Basic credentials (a berth with auth takes an access key so).
func newServer(t testing.TB, cfg registry.Config, user, password string) *server {
	t.Helper()
	dir := t.TempDir()
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg.CreateOnPush = true
	s := &server{store: store}
	s.restart = func() { s.reg = registry.New(store, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg) }
	s.restart()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user != "" {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="upstream"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
			n, _ := s.blobGets.LoadOrStore(r.URL.Path[i+len("/blobs/"):], new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
		if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet {
			s.manifests.Add(1)
		}
		if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodHead {
			s.heads.Add(1)
		}
		s.reg.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

type fixture struct {
	upstream *server
	cache    *server
	pt       *pullthrough.Cache
	now      atomic.Int64 // the cache's clock, unix seconds
}

const (
	upUser  = "AKIDUPSTREAM"
	upPass  = "upstream-secret-password"
	credArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/upstream"
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureWith(t, time.Millisecond)
}

// newFixtureWith is newFixture with the cache's ImportDelay (the tests'
// 1ms has the background import race the client for each blob).
func newFixtureWith(t testing.TB, importDelay time.Duration) *fixture {
	t.Helper()
	f := &fixture{}
	f.now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	f.upstream = newServer(t, registry.Config{}, upUser, upPass)
	sealer, err := secret.LoadOrCreateMasterKey(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	// The cache's index is its own: open it first to give the Cache its
	// settings, then serve a registry over it.
	// The cache needs the server's index, which the server needs it for.
	up := &lateCache{}
	f.cache = newServer(t, registry.Config{
		Upstream: up, ImportDelay: importDelay, RecheckInterval: time.Hour,
		Now: func() time.Time { return time.Unix(f.now.Load(), 0) },
	}, "", "")
	pt := pullthrough.New(f.cache.store, sealer, pullthrough.Config{})
	up.Cache, f.pt = pt, pt
	if err := pt.SetCredential(t.Context(), "upstream", pullthrough.Credential{Username: upUser, Password: upPass}); err != nil {
		t.Fatal(err)
	}
	rules, _ := json.Marshal([]pullthrough.Rule{{Prefix: "hub", UpstreamURL: "http://" + f.upstream.host(), CredentialArn: credArn}})
	if err := f.cache.store.PutSetting(t.Context(), pullthrough.RulesSetting, string(rules)); err != nil {
		t.Fatal(err)
	}
	return f
}

// lateCache is a pullthrough.Cache set after the server it serves.
type lateCache struct{ *pullthrough.Cache }

func ref(t testing.TB, s *server, r string) name.Reference {
	t.Helper()
	n, err := name.ParseReference(s.host() + "/" + r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pushImage pushes a random image of layers layers to the upstream as r.
func (f *fixture) pushImage(t testing.TB, r string, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(256<<10, layers)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, f.upstream, r), img, upAuth); err != nil {
		t.Fatal(err)
	}
	return img
}

var upAuth = remote.WithAuth(&authn.Basic{Username: upUser, Password: upPass})

// pull pulls ref from the cache as crane does and checks every blob.
func pull(t testing.TB, s *server, r string, opts ...remote.Option) v1.Hash {
	t.Helper()
	img, err := remote.Image(ref(t, s, r), opts...)
	if err != nil {
		t.Fatalf("pull %s: %v", r, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, l := range layers {
		wg.Go(func() {
			rc, err := l.Compressed()
			if err == nil {
				_, err = io.Copy(io.Discard, rc) // verifies the digest at EOF
				rc.Close()
			}
			if err != nil {
				t.Errorf("pull %s layer: %v", r, err)
			}
		})
	}
	wg.Wait()
	if _, err := img.RawConfigFile(); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitCached waits until the cache stores reference r of repo.
func (f *fixture) waitCached(t testing.TB, repo, r string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := f.cache.store.Manifest(t.Context(), repo, r); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s:%s never cached", repo, r)
}

func blobsOf(t testing.TB, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := []v1.Hash{m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func TestPullThroughByTagAndDigest(t *testing.T) {
	f := newFixture(t)
	img := f.pushImage(t, "team/app:v1", 3)
	want, _ := img.Digest()

	if got := pull(t, f.cache, "hub/team/app:v1"); got != want {
		t.Fatalf("pulled %s, upstream has %s", got, want)
	}
	f.waitCached(t, "hub/team/app", "v1")
	if _, err := f.cache.store.Repository(t.Context(), "hub/team/app"); err != nil {
		t.Fatalf("the pull did not create the repository: %v", err)
	}
	for _, d := range blobsOf(t, img) {
		if n := f.upstream.gets(d); n != 1 {
			t.Errorf("blob %s read %d times upstream; want 1", d, n)
		}
	}
	// Cached: a second pull, by tag and by digest, reads no blob upstream
	// and (inside the re-check interval) no manifest either.
	manifests := f.upstream.manifests.Load()
	pull(t, f.cache, "hub/team/app:v1")
	pull(t, f.cache, "hub/team/app@"+want.String())
	for _, d := range blobsOf(t, img) {
		if n := f.upstream.gets(d); n != 1 {
			t.Errorf("blob %s read %d times upstream after cached pulls; want 1", d, n)
		}
	}
	if n := f.upstream.manifests.Load(); n != manifests {
		t.Errorf("cached pulls read %d manifests upstream; want 0", n-manifests)
	}
}

func TestConcurrentPullsReadUpstreamOnce(t *testing.T) {
	f := newFixture(t)
	img := f.pushImage(t, "team/big:v1", 4)
	want, _ := img.Digest()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := pull(t, f.cache, "hub/team/big:v1"); got != want {
				t.Errorf("pulled %s, want %s", got, want)
			}
		})
	}
	wg.Wait()
	f.waitCached(t, "hub/team/big", "v1")
	for _, d := range blobsOf(t, img) {
		if n := f.upstream.gets(d); n != 1 {
			t.Errorf("blob %s read %d times upstream by 8 concurrent pulls; want 1", d, n)
		}
	}
}

func TestIndexPullsThrough(t *testing.T) {
	f := newFixture(t)
	idx, err := random.Index(64<<10, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref(t, f.upstream, "multi/arch:v1"), idx, upAuth); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	got, err := remote.Index(ref(t, f.cache, "hub/multi/arch:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Fatalf("index %s, want %s", d, want)
	}
	im, _ := idx.IndexManifest()
	pull(t, f.cache, "hub/multi/arch@"+im.Manifests[0].Digest.String())
	f.waitCached(t, "hub/multi/arch", "v1")
	for _, m := range im.Manifests { // the import stored every child
		if _, err := f.cache.store.Manifest(t.Context(), "hub/multi/arch", m.Digest.String()); err != nil {
			t.Errorf("child %s not cached: %v", m.Digest, err)
		}
	}
}

func TestUpstreamDownServesCache(t *testing.T) {
	f := newFixture(t)
	img := f.pushImage(t, "team/app:v1", 2)
	want, _ := img.Digest()
	pull(t, f.cache, "hub/team/app:v1")
	f.waitCached(t, "hub/team/app", "v1")

	f.upstream.Close()
	f.now.Add(int64(2 * time.Hour / time.Second)) // the tag is due a re-check
	if got := pull(t, f.cache, "hub/team/app:v1"); got != want {
		t.Errorf("upstream down: pulled %s, want the cached %s", got, want)
	}
	if got := pull(t, f.cache, "hub/team/app@"+want.String()); got != want {
		t.Errorf("upstream down: by digest %s", got)
	}
	_, err := remote.Image(ref(t, f.cache, "hub/team/app:v2"))
	var terr *transport.Error
	if !errorsAs(err, &terr) || terr.StatusCode != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "upstream") {
		t.Errorf("uncached tag with the upstream down: %v; want 503 naming the upstream", err)
	}
}

func TestTagRecheckedOncePerInterval(t *testing.T) {
	f := newFixture(t)
	a := f.pushImage(t, "team/app:v1", 1)
	da, _ := a.Digest()
	pull(t, f.cache, "hub/team/app:v1")
	f.waitCached(t, "hub/team/app", "v1")
	b := f.pushImage(t, "team/app:v1", 1) // the tag moves upstream
	db, _ := b.Digest()
	if got := pull(t, f.cache, "hub/team/app:v1"); got != da {
		t.Errorf("inside the interval: %s, want the cached %s", got, da)
	}
	f.now.Add(int64(time.Hour / time.Second))
	if got := pull(t, f.cache, "hub/team/app:v1"); got != db {
		t.Errorf("after the interval: %s, want the upstream's new %s", got, db)
	}
}

// When a tag was last compared with its upstream is kept in the index:
// a restarted berth (or another replica) does not check it again before
// the interval is over, even when the tag was cached long before.
func TestRecheckTimeSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	f.now.Store(time.Now().Unix()) // the index stamps the push with the real clock
	a := f.pushImage(t, "team/app:v1", 1)
	da, _ := a.Digest()
	pull(t, f.cache, "hub/team/app:v1")
	f.waitCached(t, "hub/team/app", "v1")
	f.now.Add(int64(61 * time.Minute / time.Second))
	pull(t, f.cache, "hub/team/app:v1") // re-checked: the same digest
	b := f.pushImage(t, "team/app:v1", 1)
	db, _ := b.Digest()
	f.cache.restart()
	f.now.Add(int64(30 * time.Minute / time.Second))
	if got := pull(t, f.cache, "hub/team/app:v1"); got != da {
		t.Errorf("30 minutes after a re-check, restarted: %s; want the cached %s", got, da)
	}
	f.now.Add(int64(31 * time.Minute / time.Second))
	if got := pull(t, f.cache, "hub/team/app:v1"); got != db {
		t.Errorf("an interval after the re-check: %s; want the upstream's new %s", got, db)
	}
}

// An import records the time its manifest was fetched when it ends, which
// can be after a re-check recorded a later time: the later one stands.
// (TestRecheckTimeSurvivesRestart failed in CI when the import ended
// between the re-check and the restart.)
func TestMarkCheckedKeepsTheLaterTime(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	recheck := time.Date(2026, 1, 1, 1, 1, 0, 0, time.UTC)
	for _, at := range []time.Time{recheck, recheck.Add(-61 * time.Minute)} {
		if err := f.pt.MarkChecked(ctx, "hub/team/app", "v1", at); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := f.pt.Checked(ctx, "hub/team/app", "v1"); err != nil || !got.Equal(recheck) {
		t.Errorf("checked at %v, %v; want the later %v", got, err, recheck)
	}
	if err := f.pt.MarkChecked(ctx, "hub/team/app", "v1", recheck.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.pt.Checked(ctx, "hub/team/app", "v1"); !got.Equal(recheck.Add(time.Hour)) {
		t.Errorf("checked at %v after a later check; want %v", got, recheck.Add(time.Hour))
	}
}

func TestNotUpstream(t *testing.T) {
	f := newFixture(t)
	_, err := remote.Image(ref(t, f.cache, "hub/team/none:v1"))
	var terr *transport.Error
	if !errorsAs(err, &terr) || terr.StatusCode != http.StatusNotFound || terr.Errors[0].Code != transport.ManifestUnknownErrorCode {
		t.Errorf("missing upstream: %v; want MANIFEST_UNKNOWN", err)
	}
	// A repository no rule covers is not fetched.
	_, err = remote.Image(ref(t, f.cache, "other/app:v1"))
	if !errorsAs(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Errorf("no rule: %v", err)
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	good := pullthrough.Rule{Prefix: "hub", UpstreamURL: "http://" + f.upstream.host(), CredentialArn: credArn}
	if err := f.pt.Validate(ctx, good); err != nil {
		t.Errorf("good credentials: %v", err)
	}
	if err := f.pt.SetCredential(ctx, "wrong", pullthrough.Credential{Username: upUser, Password: "nope"}); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.CredentialArn = strings.Replace(credArn, "/upstream", "/wrong", 1)
	if err := f.pt.Validate(ctx, bad); err == nil || !strings.Contains(err.Error(), "refused the credentials") {
		t.Errorf("wrong credentials: %v", err)
	}
	if err := f.pt.Validate(ctx, pullthrough.Rule{Prefix: "x", UpstreamURL: "ftp://example"}); err == nil {
		t.Error("invalid URL validated")
	}
	missing := good
	missing.CredentialArn = strings.Replace(credArn, "/upstream", "/never-set", 1)
	if err := f.pt.Validate(ctx, missing); err == nil {
		t.Error("unset credential validated")
	}
}

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }

// retarget points f's rule at other's upstream (so several caches front
// one upstream).
func (f *fixture) retarget(t testing.TB, other *fixture) {
	t.Helper()
	rules, _ := json.Marshal([]pullthrough.Rule{{Prefix: "hub", UpstreamURL: "http://" + other.upstream.host(), CredentialArn: credArn}})
	if err := f.cache.store.PutSetting(t.Context(), pullthrough.RulesSetting, string(rules)); err != nil {
		t.Fatal(err)
	}
}
