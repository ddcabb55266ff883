// Package miniotest runs real MinIO servers for the tests of berth's
// S3-compatible storage: each server is a `minio server` process on
// 127.0.0.1 with its data in a temporary directory and random root
// credentials.
//
// Start gives a test a server of its own, which the test may stop and
// restart (fault tests). Shared gives every test of a test binary the same
// server, started once; such tests keep apart by using their own buckets
// (NewBucket) and must not stop it. A package that calls Shared runs its
// tests through Main:
//
//	func TestMain(m *testing.M) { miniotest.Main(m) }
//
// The minio program is looked up in PATH and then in the Go bin directory,
// where scripts/test installs it. When it is missing a test is skipped, or
// failed when the CI environment variable is set, since CI must run every
// test.
//
// Launch starts a server for a program that is not a test (the benchmark
// in bench/), from a minio program it names.
package miniotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// readyTimeout bounds how long a start may take. A start takes a few
	// seconds; the margin is for a machine busy with parallel test binaries.
	readyTimeout = 2 * time.Minute
	// stopTimeout is how long Stop waits after SIGTERM before it kills.
	stopTimeout = 10 * time.Second
	// startAttempts is how often a first start is tried on fresh ports:
	// a port found free may be taken by another process before MinIO binds it.
	startAttempts = 3
	// outputLimit is how much of the server's output is kept to show when
	// a test fails.
	outputLimit = 64 << 10
	// region is MinIO's default region. Clients are told it so that they
	// do not ask the server for each bucket's location.
	region = "us-east-1"
)

// Server is one MinIO server process listening on the loopback interface.
type Server struct {
	// Endpoint is the S3 API's address, "127.0.0.1:PORT", without a
	// scheme: the server speaks plain HTTP.
	Endpoint string
	// AccessKey and SecretKey are the root credentials, random for each
	// server.
	AccessKey string
	SecretKey string

	bin     string
	dir     string // the server's home; its data is in dir/data
	console string // the console's address; the console itself is off
	out     *tailBuffer

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the server program.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // what Wait returned; read only after done is closed
}

// Start starts a fresh MinIO server for this test and waits until it
// answers. The server is stopped, and its data removed, when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := requireMinio(t)
	s, err := startServer(bin, t.TempDir())
	t.Cleanup(func() {
		s.Kill() // the data goes with the test, so no need to wait for a clean shutdown
		if t.Failed() {
			t.Logf("minio output (%s):\n%s", s.Endpoint, s.Output())
		}
	})
	if err != nil {
		t.Fatalf("starting minio: %v\nminio output:\n%s", err, s.Output())
	}
	return s
}

// Launch starts a MinIO server from the program bin with its files under
// dir, on loopback ports free at the time, and waits until it answers: a
// Start for a caller that is not a test. The caller stops it (Stop or
// Kill) and removes dir; the server also dies with the calling process.
func Launch(bin, dir string) (*Server, error) {
	return startServer(bin, dir)
}

// shared is the server that Shared hands out, started at most once per
// test binary and stopped by Main.
var shared struct {
	mainRunning bool // set by Main before the tests run
	once        sync.Once
	dir         string
	srv         *Server
	err         error
}

// Shared returns the test binary's shared MinIO server, starting it on
// first use. Tests that share it must create their own buckets with
// NewBucket and must not call Stop or Restart on it. It requires the
// package's TestMain to call Main, which stops the server and removes its
// data after the last test.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !shared.mainRunning {
		t.Fatal("miniotest.Shared needs the package's tests to run through miniotest.Main: add func TestMain(m *testing.M) { miniotest.Main(m) }")
	}
	bin := requireMinio(t)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "berth-miniotest-")
		if shared.err != nil {
			return
		}
		shared.srv, shared.err = startServer(bin, shared.dir)
	})
	if shared.err != nil {
		output := ""
		if shared.srv != nil {
			output = shared.srv.Output()
		}
		t.Fatalf("starting the shared minio: %v\nminio output:\n%s", shared.err, output)
	}
	return shared.srv
}

// Main runs the tests, stops the shared server if one was started, removes
// its data, and exits with the tests' exit code. Call it from TestMain in
// every package that uses Shared. m is the *testing.M, or a wrapper whose
// Run does the package's own setup and teardown around m.Run.
func Main(m interface{ Run() int }) {
	shared.mainRunning = true
	code := m.Run()
	if s := shared.srv; s != nil {
		s.Kill()
		if code != 0 {
			fmt.Fprintf(os.Stderr, "shared minio output (%s):\n%s\n", s.Endpoint, s.Output())
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// startServer starts a server with its files under dir, on loopback ports
// that are free at the time, and waits until it is ready. On error the
// returned server is stopped; its Output says what it printed.
func startServer(bin, dir string) (*Server, error) {
	s := &Server{
		AccessKey: randomHex(10),
		SecretKey: randomHex(20),
		bin:       bin,
		dir:       dir,
		out:       &tailBuffer{max: outputLimit},
	}
	var errs []error
	for range startAttempts {
		addrs, err := freeAddrs(2)
		if err != nil {
			return s, err
		}
		s.Endpoint, s.console = addrs[0], addrs[1]
		err = s.start()
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		// Only a server that exited at once may have lost a race for its
		// port; one that hung will hang again.
		if !errors.Is(err, errExited) {
			break
		}
	}
	return s, errors.Join(errs...)
}

// Stop shuts the server down cleanly and waits until it has exited:
// SIGTERM, then SIGKILL if it is still running after a while. The data
// stays, so Restart brings the same objects back. Stop on a stopped server
// does nothing.
func (s *Server) Stop() {
	s.stop(syscall.SIGTERM)
}

// Kill stops the server at once with SIGKILL, as a crash or a power cut
// would, and waits until it has exited. The data stays as the server left
// it. Kill on a stopped server does nothing.
func (s *Server) Kill() {
	s.stop(syscall.SIGKILL)
}

func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Restart stops the server if it is running and starts it again on the
// same address, credentials and data, waiting until it is ready. It fails
// the test t if the server does not come back.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		t.Fatalf("restarting minio on %s: %v\nminio output:\n%s", s.Endpoint, err, s.Output())
	}
}

// Client returns a new minio-go client for the server, signed with the
// root credentials.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := s.NewClient()
	if err != nil {
		t.Fatalf("minio client for %s: %v", s.Endpoint, err)
	}
	return c
}

// Pid returns the process id of the running server, 0 while it is stopped,
// for a caller that reads its use of the machine from /proc.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Alive returns nil while the server runs, and otherwise an error saying
// that it is stopped or how it exited.
func (s *Server) Alive() error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return fmt.Errorf("minio on %s is stopped", s.Endpoint)
	}
	select {
	case <-p.done:
		return fmt.Errorf("minio on %s exited: %v", s.Endpoint, p.err)
	default:
		return nil
	}
}

// NewBucket creates a bucket whose name no other test uses (it is made
// from the test's name and a random suffix) and returns its name.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := bucketName(t.Name())
	if err := s.Client(t).MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: region}); err != nil {
		t.Fatalf("creating bucket %s on %s: %v", name, s.Endpoint, err)
	}
	return name
}

// StoredBytes returns the total size of the objects in bucket, found by
// listing it. Parts of unfinished multipart uploads are not counted.
func (s *Server) StoredBytes(t testing.TB, bucket string) int64 {
	t.Helper()
	var total int64
	for obj := range s.Client(t).ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("listing bucket %s on %s: %v", bucket, s.Endpoint, obj.Err)
		}
		total += obj.Size
	}
	return total
}

// Output returns the end of what the server has printed over all its runs.
func (s *Server) Output() string {
	return s.out.String()
}

// NewClient returns a new minio-go client for the server, signed with the
// root credentials: Client for a caller that is not a test.
func (s *Server) NewClient() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region: region,
	})
}

// errExited marks a start that failed because the process exited.
var errExited = errors.New("minio exited before it was ready")

// start runs the server program and waits until it is ready. If it is not,
// the process is stopped and the error says why.
func (s *Server) start() error {
	fmt.Fprintf(s.out, "--- %s: minio server on %s\n", time.Now().Format(time.TimeOnly), s.Endpoint)
	p, err := s.launch()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		s.Kill()
		return err
	}
	return nil
}

// launch starts the server process.
func (s *Server) launch() (*process, error) {
	cmd := exec.Command(s.bin, "server", filepath.Join(s.dir, "data"),
		"--address", s.Endpoint,
		"--console-address", s.console,
		"--quiet")
	cmd.Env = s.env()
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	cmd.WaitDelay = stopTimeout
	setParentDeathSignal(cmd)

	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal (Linux) is sent when the thread that
		// started the child exits, so that thread is held until the child
		// has exited: the server then dies with the test binary, even
		// one killed by a test timeout.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("running %s: %w", s.bin, err)
	}
	return p, nil
}

// env is the server's environment: this process's, without settings meant
// for another MinIO, plus the server's own. HOME is the server's directory
// because MinIO makes ~/.minio (and looks there for TLS certificates) even
// when its data is elsewhere.
func (s *Server) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"HOME="+s.dir,
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
}

// waitReady polls the server until its liveness and readiness checks pass
// and it accepts the root credentials, which also proves that the server on
// this port is the one just started.
func (s *Server) waitReady(p *process) error {
	hc := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	mc, err := s.NewClient()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		err := s.probe(hc, mc)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio on %s not ready after %v: %w", s.Endpoint, readyTimeout, err)
		}
		select {
		case <-p.done:
			return fmt.Errorf("%w: %v", errExited, p.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) probe(hc *http.Client, mc *minio.Client) error {
	for _, path := range []string{"/minio/health/live", "/minio/health/ready"} {
		resp, err := hc.Get("http://" + s.Endpoint + path)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := mc.ListBuckets(ctx)
	return err
}

// freeAddrs returns n loopback addresses whose ports are free now.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// Held open until all are found, so the n ports differ.
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// bucketName makes a valid S3 bucket name from a test name and a random
// suffix: lower-case letters, digits and single hyphens, at most 63 bytes.
func bucketName(testName string) string {
	var b strings.Builder
	b.WriteString("t-")
	hyphen := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			hyphen = false
		} else if !hyphen {
			b.WriteByte('-')
			hyphen = true
		}
	}
	if !hyphen {
		b.WriteByte('-')
	}
	b.WriteString(randomHex(4))
	return b.String()
}

func randomHex(n int) string {
	buf := make([]byte, n)
	rand.Read(buf)
	return hex.EncodeToString(buf)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
	cut bool // whether earlier bytes were dropped
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
		b.cut = true
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return "[earlier output dropped]\n" + string(b.buf)
	}
	return string(b.buf)
}
