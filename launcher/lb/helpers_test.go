package lb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// childEnv makes the test binary a backend process (see runChild), so a
// test can kill a target with SIGKILL as `docker kill` kills a task.
const childEnv = "BERTH_LB_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		return
	}
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(10 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines of package lb still running after every test closed its listener:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// ourFrame matches a stack frame in the package's non-test files.
var ourFrame = regexp.MustCompile(`/launcher/lb/[a-z]+\.go:\d+`)

// leakedGoroutines waits up to wait for every goroutine running the
// package's own code to end and returns the stacks of those left.
func leakedGoroutines(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if ourFrame.MatchString(g) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runChild serves "/" (a little work, then the child's address) and
// "/health" on a free loopback port, prints the address and serves until
// killed.
func runChild() {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	name := "child " + ln.Addr().String()
	fmt.Println(ln.Addr().String())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			// Work long enough that a kill finds requests in flight.
			time.Sleep(500 * time.Microsecond)
		}
		io.WriteString(w, name)
	}))
}

// startChild starts a backend process and returns its address; the test
// kills it at the end if it has not.
func startChild(t *testing.T) (netip.AddrPort, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child backend: %v", err)
	}
	return netip.MustParseAddrPort(strings.TrimSpace(line)), cmd
}

// backend is a target for tests: it counts the requests it serves, answers
// "/health" with a status the test sets, holds "/hold" until released, and
// names itself in every answer.
type backend struct {
	*httptest.Server
	name    string
	hits    atomic.Int64 // requests other than health checks
	conns   atomic.Int64 // connections accepted
	health  atomic.Int32
	arrived chan struct{} // one value per request arriving at /hold
	release chan struct{} // closing it lets /hold requests answer
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name, arrived: make(chan struct{}, 64), release: make(chan struct{})}
	b.health.Store(http.StatusOK)
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(int(b.health.Load()))
			return
		}
		b.hits.Add(1)
		if r.URL.Path == "/hold" {
			b.arrived <- struct{}{}
			select {
			case <-b.release:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, b.name)
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *backend) addr() netip.AddrPort {
	return netip.MustParseAddrPort(b.Listener.Addr().String())
}

// listen opens a listener for a test, logging into the test's output, and
// closes it when the test ends.
func listen(t *testing.T, cfg Config) *Listener {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	l, err := Listen(t.Context(), 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return l
}

// testLogger logs into the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newServer serves h on a loopback port until the test ends.
func newServer(t *testing.T, h http.Handler) netip.AddrPort {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// url is the listener's address for path.
func (l *Listener) url(path string) string { return "http://" + l.Addr().String() + path }

// healthy registers backends as Reported targets and reports them healthy.
func healthy(t *testing.T, l *Listener, addrs ...netip.AddrPort) {
	t.Helper()
	for _, a := range addrs {
		if err := l.Register(a, Reported); err != nil {
			t.Fatal(err)
		}
		if err := l.SetHealthy(a, true); err != nil {
			t.Fatal(err)
		}
	}
}

// waitState waits for a target's state, failing the test if it never
// comes (the bound is a safety net, not a measurement).
func waitState(t *testing.T, l *Listener, addr netip.AddrPort, want State) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := l.WaitState(ctx, addr, want); err != nil {
		t.Fatal(err)
	}
}

// newClient is a keep-alive client for a test; its timeout only keeps a
// broken test from hanging.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// get sends one GET and reads the whole answer.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// getOK sends n GETs one after the other and fails the test unless each
// is answered 200.
func getOK(t *testing.T, c *http.Client, url string, n int) {
	t.Helper()
	for range n {
		if status, body, err := get(c, url); err != nil || status != http.StatusOK {
			t.Fatalf("GET %s: %d %q %v", url, status, body, err)
		}
	}
}

// load sends GETs from workers goroutines until stop says so (it is asked
// after each answer with the number of answers so far) or max requests
// have been sent, and returns the failures (errors and non-200 answers)
// and the answers per body.
type loadResult struct {
	sent     int64
	failures []string
	bodies   map[string]int
}

func load(c *http.Client, url string, workers int, max int64, stop func(done int64) bool) loadResult {
	var (
		mu     sync.Mutex
		res    = loadResult{bodies: map[string]int{}}
		sent   atomic.Int64
		done   atomic.Int64
		wg     sync.WaitGroup
		finish atomic.Bool
	)
	for range workers {
		wg.Go(func() {
			for !finish.Load() && sent.Add(1) <= max {
				status, body, err := get(c, url)
				mu.Lock()
				switch {
				case err != nil:
					res.failures = append(res.failures, err.Error())
				case status != http.StatusOK:
					res.failures = append(res.failures, fmt.Sprintf("%d %s", status, body))
				default:
					res.bodies[body]++
				}
				mu.Unlock()
				if stop(done.Add(1)) {
					finish.Store(true)
				}
			}
		})
	}
	wg.Wait()
	res.sent = done.Load()
	return res
}
