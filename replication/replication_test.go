package replication_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/replication"
	"github.com/berth-dev/berth/storage/filesystem"
)

// node is a berth registry in process on loopback.
type node struct {
	store *sqlite.Store
	reg   *registry.Registry
	srv   *http.Server
	ln    net.Listener
	addr  string
	h     http.Handler
}

const destUser, destPass = "AKIDDEST", "dest-secret"

func newNode(t testing.TB, pushed func(context.Context, metadata.Manifest), user, pass string) *node {
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
	n := &node{store: store}
	n.reg = registry.New(store, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)), registry.Config{CreateOnPush: true, Pushed: pushed})
	n.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); user != "" && (!ok || u != user || p != pass) {
			w.Header().Set("WWW-Authenticate", `Basic realm="berth"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		n.reg.ServeHTTP(w, r)
	})
	n.listen(t, "127.0.0.1:0")
	return n
}

func (n *node) listen(t testing.TB, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	n.ln, n.addr = ln, ln.Addr().String()
	n.srv = &http.Server{Handler: n.h}
	go n.srv.Serve(ln)
	t.Cleanup(func() { n.srv.Close() })
}

func (n *node) ref(t testing.TB, r string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(n.addr + "/" + r)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

type fixture struct {
	a, b *node
	rep  *replication.Replicator
}

func newFixture(t testing.TB, filters ...replication.Filter) *fixture {
	t.Helper()
	f := &fixture{}
	f.b = newNode(t, nil, destUser, destPass)
	f.a = newNode(t, func(ctx context.Context, m metadata.Manifest) {
		if err := f.rep.Pushed(ctx, m.Repository, m.Digest); err != nil {
			t.Errorf("queueing: %v", err)
		}
	}, "", "")
	dest := replication.DestinationID{Region: "eu-west-1", RegistryID: "222222222222"}
	f.rep = replication.New(f.a.store, f.a.reg, []replication.Destination{{DestinationID: dest, Endpoint: "http://" + f.b.addr, Username: destUser, Password: destPass}},
		replication.Config{RetryBase: time.Millisecond, RetryMax: 10 * time.Millisecond, MaxAttempts: 3, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	cfg, _ := json.Marshal(replication.Configuration{Rules: []replication.Rule{
		{Destinations: []replication.DestinationID{dest, {Region: "ap-south-1", RegistryID: "333333333333"}}, RepositoryFilters: filters},
	}})
	if err := f.a.store.PutSetting(t.Context(), replication.ConfigSetting, string(cfg)); err != nil {
		t.Fatal(err)
	}
	return f
}

// drain runs the replicator until nothing is due (waiting out back-offs).
func (f *fixture) drain(t *testing.T) {
	t.Helper()
	for range 100 {
		f.rep.RunOnce(t.Context())
		due, _ := f.a.store.DueReplications(t.Context(), time.Now().Add(time.Hour), 1)
		if len(due) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) status(t *testing.T, repo string, d v1.Hash) map[string]metadata.Replication {
	t.Helper()
	rs, err := f.a.store.ReplicationStatuses(t.Context(), repo, digest.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]metadata.Replication{}
	for _, r := range rs {
		out[r.Destination] = r
	}
	return out
}

var destAuth = remote.WithAuth(&authn.Basic{Username: destUser, Password: destPass})

func TestReplicatesImageIndexAndReferrer(t *testing.T) {
	f := newFixture(t, replication.Filter{Filter: "team/", FilterType: "PREFIX_MATCH"})
	img, _ := random.Image(64<<10, 2)
	if err := remote.Write(f.a.ref(t, "team/app:v1"), img); err != nil {
		t.Fatal(err)
	}
	idx, _ := random.Index(32<<10, 1, 2)
	if err := remote.WriteIndex(f.a.ref(t, "team/multi:v1"), idx); err != nil {
		t.Fatal(err)
	}
	// A referrer: an artifact whose subject is the image.
	imgDigest, _ := img.Digest()
	imgDesc, _ := partial(img)
	sbom := mutate.Subject(mutate.ConfigMediaType(empty.Image, "application/vnd.example.sbom"), imgDesc).(v1.Image)
	sbomDigest, _ := sbom.Digest()
	if err := remote.Write(f.a.ref(t, "team/app@"+sbomDigest.String()), sbom); err != nil {
		t.Fatal(err)
	}
	// Not matched by the filter: never queued.
	other, _ := random.Image(1024, 1)
	if err := remote.Write(f.a.ref(t, "other/app:v1"), other); err != nil {
		t.Fatal(err)
	}
	f.drain(t)

	for r, want := range map[string]v1.Hash{"team/app:v1": imgDigest, "team/app@" + sbomDigest.String(): sbomDigest} {
		d, err := remote.Head(f.b.ref(t, r), destAuth)
		if err != nil || d.Digest != want {
			t.Errorf("%s on the destination: %v, %v; want %s", r, d, err, want)
		}
	}
	idxDigest, _ := idx.Digest()
	got, err := remote.Index(f.b.ref(t, "team/multi:v1"), destAuth)
	if err != nil {
		t.Fatalf("index on the destination: %v", err)
	}
	if d, _ := got.Digest(); d != idxDigest {
		t.Errorf("index %s, want %s", d, idxDigest)
	}
	if _, err := remote.Image(f.b.ref(t, "team/app:v1"), destAuth); err != nil {
		t.Error(err)
	}
	refs, err := remote.Referrers(f.b.ref(t, "team/app@"+imgDigest.String()).Context().Digest(imgDigest.String()), destAuth)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := refs.IndexManifest(); len(m.Manifests) != 1 || m.Manifests[0].Digest != sbomDigest {
		t.Errorf("referrers on the destination: %+v", m)
	}
	st := f.status(t, "team/app", imgDigest)
	if st["eu-west-1/222222222222"].Status != metadata.ReplicationComplete {
		t.Errorf("status of the configured destination: %+v", st)
	}
	if s := st["ap-south-1/333333333333"]; s.Status != metadata.ReplicationFailed || !strings.Contains(s.Failure, "DESTINATION_UNKNOWN") {
		t.Errorf("status of an unconfigured destination: %+v", s)
	}
	if _, err := remote.Head(f.b.ref(t, "other/app:v1"), destAuth); err == nil {
		t.Error("a repository outside the filter was replicated")
	}
}

func TestDestinationDownRetries(t *testing.T) {
	f := newFixture(t)
	f.b.srv.Close()
	img, _ := random.Image(64<<10, 1)
	if err := remote.Write(f.a.ref(t, "app:v1"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	f.rep.RunOnce(t.Context())
	s := f.status(t, "app", d)["eu-west-1/222222222222"]
	if s.Status != metadata.ReplicationInProgress || s.Attempts != 1 || s.Failure == "" {
		t.Fatalf("after a failed attempt: %+v; want IN_PROGRESS with one attempt and its error", s)
	}
	f.b.listen(t, f.b.addr) // back on the same address
	f.drain(t)
	if s := f.status(t, "app", d)["eu-west-1/222222222222"]; s.Status != metadata.ReplicationComplete {
		t.Fatalf("after the destination came back: %+v", s)
	}
	if got, err := remote.Head(f.b.ref(t, "app:v1"), destAuth); err != nil || got.Digest != d {
		t.Errorf("on the destination: %v, %v", got, err)
	}
}

// An image pushed with a new tag while it is being copied is copied again:
// the copy that read its tags before the push does not mark it COMPLETE
// over the new queueing, and the new tag reaches the destination.
func TestTagPushedDuringCopyIsReplicated(t *testing.T) {
	f := newFixture(t)
	held, release := make(chan struct{}), make(chan struct{})
	var hold sync.Once
	dest := f.b.h
	f.b.srv.Close()
	f.b.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			hold.Do(func() { close(held); <-release })
		}
		dest.ServeHTTP(w, r)
	})
	f.b.listen(t, f.b.addr)
	img, _ := random.Image(64<<10, 1)
	if err := remote.Write(f.a.ref(t, "app:v1"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	copied := make(chan struct{})
	go func() { defer close(copied); f.rep.RunOnce(t.Context()) }()
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the copy never reached the destination's manifest")
	}
	if err := remote.Tag(f.a.ref(t, "app:v2").(name.Tag), img); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-copied
	if s := f.status(t, "app", d)["eu-west-1/222222222222"]; s.Status != metadata.ReplicationInProgress || s.Attempts != 0 {
		t.Fatalf("after the copy that started before the new tag: %+v; want IN_PROGRESS as queued again", s)
	}
	f.drain(t)
	if s := f.status(t, "app", d)["eu-west-1/222222222222"]; s.Status != metadata.ReplicationComplete {
		t.Fatalf("after draining: %+v", s)
	}
	for _, tag := range []string{"app:v1", "app:v2"} {
		if got, err := remote.Head(f.b.ref(t, tag), destAuth); err != nil || got.Digest != d {
			t.Errorf("%s on the destination: %v, %v", tag, got, err)
		}
	}
}

// partial is img's descriptor.
func partial(img v1.Image) (v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, _ := img.Size()
	mt, _ := img.MediaType()
	return v1.Descriptor{Digest: d, Size: size, MediaType: types.MediaType(mt)}, nil
}

var _ = httptest.NewServer
