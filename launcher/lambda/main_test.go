package lambda_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

// The test functions run from an image of internal/testfn, pushed once per
// test binary to a berth registry that lives as long as the binary, and
// pulled by the engine from there.

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureMade.Load() {
		if f, err := fixture(); err == nil {
			f.close()
		}
	}
	os.Exit(code)
}

// newEngine returns the engine; without one the test skips, or fails when
// CI is set.
func newEngine(t testing.TB) *docker.Runtime { return dockertest.Require(t) }

// registryFixture is a berth registry on 127.0.0.1 holding the test
// function's image.
type registryFixture struct {
	dir   string
	store *sqlite.Store
	srv   *httptest.Server
	img   v1.Image
	// held are the repositories whose pulls wait until their channel is
	// closed.
	mu   sync.Mutex
	held map[string]chan struct{}
	// Host is the registry's host:port; Repository the image's
	// repository; Tag its tag and Digest its digest.
	Host, Repository, Tag, Digest string
}

// Image is the image by digest, as the engine pulls it.
func (f *registryFixture) Image() string { return f.Host + "/" + f.Repository + "@" + f.Digest }

// TagRef is the image by tag.
func (f *registryFixture) TagRef() string { return f.Host + "/" + f.Repository + ":" + f.Tag }

// push pushes the test image as repo:tag and returns its name.
func (f *registryFixture) push(t testing.TB, repo, tag string) string {
	t.Helper()
	ref, err := name.ParseReference(f.Host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, f.img); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// hold pushes the test image as repo:1, holds its pulls until release is
// called (or the test ends) and returns its name.
func (f *registryFixture) hold(t testing.TB, repo string) (image string, release func()) {
	image = f.push(t, repo, "1")
	c := make(chan struct{})
	f.mu.Lock()
	f.held[repo] = c
	f.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(c) }) }
	t.Cleanup(release)
	return image, release
}

func (f *registryFixture) close() {
	if rt, err := dockertest.Engine(); err == nil {
		// By its name, not its id: other test binaries may hold the same
		// image under their own registry's name.
		images := []string{f.Image()}
		for repo := range f.held { // the functions pulled these by digest
			images = append(images, f.Host+"/"+repo+"@"+f.Digest)
		}
		for _, image := range images {
			if err := rt.RemoveImage(context.Background(), image); err != nil && !errors.Is(err, launcher.ErrImageNotFound) {
				fmt.Fprintln(os.Stderr, "remove test image:", err)
			}
		}
	}
	f.srv.Close()
	f.store.Close()
	os.RemoveAll(f.dir)
}

// fixture builds testfn, pushes its image to a new berth registry and has
// the engine pull it, once per test binary.
var fixture = sync.OnceValues(func() (*registryFixture, error) {
	fixtureMade.Store(true)
	rt, err := dockertest.Engine()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lambda-test-")
	if err != nil {
		return nil, err
	}
	f := &registryFixture{dir: dir, Repository: "lambda/testfn"}
	ctx := context.Background()
	if f.store, err = sqlite.Open(ctx, filepath.Join(dir, "berth.db")); err != nil {
		return nil, err
	}
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := registry.New(f.store, blobs, quiet, registry.Config{CreateOnPush: true})
	f.held = map[string]chan struct{}{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Pulls (HEAD and GET) of a held repository wait, so a test can
		// see a function whose image is still being pulled (Pending), or
		// change the repository before the engine reads it.
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			f.mu.Lock()
			var wait chan struct{}
			for repo, c := range f.held {
				if strings.HasPrefix(r.URL.Path, "/v2/"+repo+"/") {
					wait = c
				}
			}
			f.mu.Unlock()
			if wait != nil {
				select {
				case <-wait:
				case <-r.Context().Done():
					return
				}
			}
		}
		reg.ServeHTTP(w, r)
	}))
	f.Host = strings.TrimPrefix(f.srv.URL, "http://")

	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./internal/testfn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build testfn: %v\n%s", err, out)
	}
	img, err := dockertest.ProgramImage(bin, "bootstrap")
	if err != nil {
		return nil, err
	}
	f.img = img
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	f.Digest, f.Tag = d.String(), d.Hex[:12]
	ref, err := name.ParseReference(f.TagRef())
	if err != nil {
		return nil, err
	}
	if err := remote.Write(ref, img); err != nil {
		return nil, fmt.Errorf("push %s: %w", ref, err)
	}
	start := time.Now()
	if err := rt.Pull(ctx, f.Image(), launcher.RegistryAuth{}); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "test function image %s pushed and pulled in %v\n", f.Image(), time.Since(start).Round(time.Millisecond))
	return f, nil
})

// fixtureMade says whether fixture ran, so that TestMain cleans up only
// what it made.
var fixtureMade atomic.Bool

// testImage returns the fixture, failing the test if it could not be made.
func testImage(t testing.TB) *registryFixture {
	t.Helper()
	newEngine(t)
	f, err := fixture()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// memorySink is a log sink that keeps every line, for the tests to read.
type memorySink struct {
	mu      sync.Mutex
	streams map[string][]string // "group stream" → lines
}

func (s *memorySink) Open(_ context.Context, group, stream string) (lambda.LogStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams == nil {
		s.streams = map[string][]string{}
	}
	key := group + " " + stream
	if _, ok := s.streams[key]; !ok {
		s.streams[key] = []string{}
	}
	return memoryStream{s, key}, nil
}

// lines returns every line of group, stream by stream in name order.
func (s *memorySink) lines(group string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for k, v := range s.streams {
		if g, stream, _ := strings.Cut(k, " "); g == group {
			out[stream] = append([]string(nil), v...)
		}
	}
	return out
}

type memoryStream struct {
	s   *memorySink
	key string
}

func (m memoryStream) Write(_ time.Time, line string) {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.streams[m.key] = append(m.s.streams[m.key], line)
}

func (m memoryStream) Close() error { return nil }

// barrier is an HTTP server on 127.0.0.1 that answers no request until n
// are waiting, or until it is opened: invocations that GET it are all in
// flight at once.
type barrier struct {
	URL  string
	mu   sync.Mutex
	n    int
	open chan struct{}
	once sync.Once
}

func newBarrier(t testing.TB, n int) *barrier {
	b := &barrier{n: n, open: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.n--
		if b.n <= 0 {
			b.release()
		}
		b.mu.Unlock()
		select {
		case <-b.open:
			io.WriteString(w, "released")
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(b.release)
	b.URL = srv.URL
	return b
}

func (b *barrier) release() { b.once.Do(func() { close(b.open) }) }
