package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/miniotest"
)

const (
	// startTimeout bounds how long a server may take to answer /healthz.
	startTimeout = 30 * time.Second
	// stopTimeout bounds how long a server may take to exit after SIGTERM.
	stopTimeout = 15 * time.Second
)

// server is one berth process started for one test.
type server struct {
	// Addr is the host:port the server listens on, e.g. 127.0.0.1:40123;
	// it is also the registry part of image references.
	Addr string
	// DataDir is the server's own data directory.
	DataDir string

	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan struct{} // closed when the process has exited
	err     error         // cmd.Wait's result, set before done is closed
	stopped bool          // Stop was called: the cleanup has nothing to do
}

// backend is a blob store configuration the client tests run against.
type backend struct {
	name string
	// env returns the BERTH_* variables that select the backend for one
	// server, e.g. a fresh bucket on the shared MinIO.
	env func(t *testing.T) []string
}

// backends are the blob stores every client test runs against: the
// filesystem, and S3 on a real MinIO with berth streaming blobs and with
// berth redirecting blob GETs to presigned URLs.
var backends = []backend{
	{"filesystem", func(*testing.T) []string { return nil }},
	{"s3", func(t *testing.T) []string { return s3Env(t, false) }},
	{"s3-redirect", func(t *testing.T) []string { return s3Env(t, true) }},
}

func s3Env(t *testing.T, redirect bool) []string {
	m := miniotest.Shared(t)
	return []string{
		"BERTH_STORAGE_S3_ENDPOINT=" + m.Endpoint,
		"BERTH_STORAGE_S3_BUCKET=" + m.NewBucket(t),
		"BERTH_STORAGE_S3_ACCESS_KEY=" + m.AccessKey,
		"BERTH_STORAGE_S3_SECRET_KEY=" + m.SecretKey,
		"BERTH_STORAGE_S3_REDIRECT=" + strconv.FormatBool(redirect),
	}
}

// forEachBackend runs test as a subtest per backend, with a fresh server
// and the test's clients logged in to it as its administrator.
func forEachBackend(t *testing.T, test func(t *testing.T, srv *server)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			srv := startBerth(t, b.env(t)...)
			login(t, srv.Addr, srv.adminKey(t))
			test(t, srv)
		})
	}
}

// startBerth starts a berth server on a free loopback port with an empty
// data directory and the extra environment env, waits until it answers
// /healthz, and stops it with SIGTERM when the test ends, failing the test
// unless it exits cleanly.
func startBerth(t *testing.T, env ...string) *server {
	t.Helper()
	return startBerthIn(t, t.TempDir(), env...)
}

// startBerthIn is startBerth on a given data directory, e.g. one an
// earlier server of the same test used.
func startBerthIn(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	var lastErr error
	// A port found free can be taken by another process before berth
	// binds it; such a start is retried on a new port.
	for range 3 {
		addr := freeAddr(t)
		s, err := launch(t, addr, dataDir, env)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(s.log.String(), "address already in use") {
			break
		}
	}
	t.Fatal(lastErr)
	return nil
}

// launch starts `berth serve` and waits for it to become healthy. On
// success it registers the test cleanup that stops the server. On failure
// the process is gone and the error holds the end of its log.
func launch(t *testing.T, addr, dataDir string, env []string) (*server, error) {
	t.Helper()
	args := []string{"serve", "--listen", addr, "--data-dir", dataDir}
	s := &server{
		Addr:    addr,
		DataDir: dataDir,
		cmd:     exec.Command(berthBin, args...),
		log:     &syncBuffer{},
		done:    make(chan struct{}),
	}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// Pushes create repositories unless a test says otherwise: most tests
	// push to repositories nobody created, as docker users do.
	s.cmd.Env = append(append(os.Environ(), "BERTH_REGISTRY_CREATE_ON_PUSH=true"), env...)
	if err := s.cmd.Start(); err != nil {
		return s, fmt.Errorf("starting %s: %w", commandLine(berthBin, args), err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()

	if err := waitHealthy(addr, startTimeout, s.done); err != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
		return s, fmt.Errorf("%s did not become healthy on %s: %w; process: %v\n--- server log:\n%s",
			commandLine(berthBin, args), addr, err, s.err, tail(s.log.Bytes(), 16384))
	}
	t.Logf("server %s ready (pid %d, data %s)", addr, s.cmd.Process.Pid, dataDir)
	t.Cleanup(func() { s.stop(t) })
	return s, nil
}

// waitHealthy polls GET http://addr/healthz until it answers 200, exited
// is closed (a nil channel never is), or timeout passes.
func waitHealthy(addr string, timeout time.Duration, exited <-chan struct{}) error {
	url := "http://" + addr + "/healthz"
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("exited before it was healthy (last probe: %v)", last)
		case <-ctx.Done():
			return fmt.Errorf("not healthy after %v (last probe: %v)", timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the server before the test ends, as stop does.
func (s *server) Stop(t *testing.T) { s.stop(t) }

// stop sends SIGTERM and fails the test unless the server exits with
// status 0 within stopTimeout. On a failed test it logs the server's output.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	select {
	case <-s.done:
		t.Errorf("server %s had exited before the test ended: %v", s.Addr, s.err)
	default:
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("sending SIGTERM to server %s: %v", s.Addr, err)
		}
		select {
		case <-s.done:
			if s.err != nil {
				t.Errorf("server %s did not exit cleanly after SIGTERM: %v", s.Addr, s.err)
			}
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
			t.Errorf("server %s still running %v after SIGTERM; killed it", s.Addr, stopTimeout)
		}
	}
	if t.Failed() {
		t.Logf("--- log of server %s:\n%s", s.Addr, tail(s.log.Bytes(), 32768))
	}
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freePort is freeAddr's port number.
func freePort(t testing.TB) int {
	t.Helper()
	_, p, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }
