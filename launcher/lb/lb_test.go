package lb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRoundRobinSpreadsOverThreeTargets(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{})
	bs := []*backend{newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")}
	for _, b := range bs {
		healthy(t, l, b.addr())
	}
	c := newClient(t)
	getOK(t, c, l.url("/"), 300)
	for _, b := range bs {
		if got := b.hits.Load(); got != 100 {
			t.Errorf("target %s served %d of 300 requests, want 100", b.name, got)
		}
		// Keep-alive: the listener reuses its connections to a target.
		if got := b.conns.Load(); got > 10 {
			t.Errorf("target %s received its 100 requests over %d connections", b.name, got)
		}
	}
	for _, th := range l.Targets() {
		if th.State != StateHealthy || th.Requests != 100 || th.InFlight != 0 {
			t.Errorf("target %+v, want healthy with 100 requests and none in flight", th)
		}
	}
}

func TestLeastOutstandingRequestsAvoidsBusyTarget(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{Algorithm: LeastOutstandingRequests})
	busy, b, c := newBackend(t, "busy"), newBackend(t, "b"), newBackend(t, "c")
	healthy(t, l, busy.addr(), b.addr(), c.addr())
	client := newClient(t)

	// Hold one request on each target: the second goes to whichever two
	// are idle, and so on; then release all but busy's.
	held := make(chan error, 3)
	for range 3 {
		go func() {
			_, _, err := get(client, l.url("/hold"))
			held <- err
		}()
	}
	for _, be := range []*backend{busy, b, c} {
		<-be.arrived
	}
	close(b.release)
	close(c.release)
	for range 2 {
		if err := <-held; err != nil {
			t.Fatal(err)
		}
	}
	// b and c come back to no request in flight (their answers were read
	// by the client, so their bodies are closed).
	for _, be := range []*backend{b, c} {
		for l.Target(be.addr()).InFlight != 0 {
			runtime.Gosched()
		}
	}
	before := busy.hits.Load()
	getOK(t, client, l.url("/"), 60)
	if got := busy.hits.Load() - before; got != 0 {
		t.Errorf("the target with a request outstanding received %d of 60 new requests, want 0", got)
	}
	if b.hits.Load() != 31 || c.hits.Load() != 31 {
		t.Errorf("idle targets served %d and %d requests, want 31 each (one held, 30 new)", b.hits.Load(), c.hits.Load())
	}
	close(busy.release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

// TestKilledTargetFailsNoRequest kills a real backend process with SIGKILL
// while 8 clients send a steady stream of GETs through the listener: no
// request fails, because those that met the dead process are retried on
// another target and the dead one leaves rotation.
func TestKilledTargetFailsNoRequest(t *testing.T) {
	t.Parallel()
	// A check interval longer than the test: only the failed requests
	// (passive health) can take the killed target out.
	l := listen(t, Config{HealthCheck: HealthCheck{Path: "/health", Interval: time.Hour}})
	var victim *os.Process
	var addrs []netip.AddrPort
	for i := range 3 {
		addr, cmd := startChild(t)
		if i == 0 {
			victim = cmd.Process
		}
		addrs = append(addrs, addr)
		if err := l.Register(addr, Checked); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range addrs {
		waitState(t, l, a, StateHealthy)
	}

	const total = 2000
	killed := make(chan struct{})
	res := load(newClient(t), l.url("/"), 8, total, func(done int64) bool {
		if done == total/4 {
			victim.Kill() // SIGKILL, as docker kill sends
			close(killed)
		}
		return false
	})
	<-killed
	if res.sent != total || len(res.failures) != 0 {
		t.Fatalf("%d requests, %d failed: %v", res.sent, len(res.failures), res.failures[:min(5, len(res.failures))])
	}
	if got := res.bodies["child "+addrs[0].String()]; got == 0 {
		t.Errorf("the killed target served no request before it was killed")
	}
	if l.retries.Load() == 0 {
		t.Errorf("no request was retried: the kill was never noticed by a request")
	}
	if th := l.Target(addrs[0]); th.State != StateUnhealthy {
		t.Errorf("killed target: %+v, want unhealthy", th)
	}
	t.Logf("%d requests, 0 failed, %d retried, per target %v", res.sent, l.retries.Load(), res.bodies)

	drained, err := l.Deregister(addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	<-drained
}

// TestRollingReplacementFailsNoRequest replaces three targets by three new
// ones under a steady stream of requests, as an ECS rolling update does:
// new targets are registered and come into rotation once their health
// checks pass, the old ones are deregistered, drained and stopped. No
// request fails, and a drained target receives nothing more.
func TestRollingReplacementFailsNoRequest(t *testing.T) {
	t.Parallel()
	// A new target needs one passed check to enter rotation; none leaves
	// it for a slow check on a loaded machine.
	l := listen(t, Config{
		HealthCheck:         HealthCheck{Path: "/health", Interval: 50 * time.Millisecond, Timeout: 40 * time.Millisecond, UnhealthyThreshold: 1 << 20},
		DeregistrationDelay: time.Minute,
	})
	const workers = 8
	var olds, news []*backend
	for i := range 3 {
		olds = append(olds, newBackend(t, fmt.Sprintf("old%d", i)))
		news = append(news, newBackend(t, fmt.Sprintf("new%d", i)))
	}
	for _, b := range olds {
		if err := l.Register(b.addr(), Checked); err != nil {
			t.Fatal(err)
		}
		waitState(t, l, b.addr(), StateHealthy)
	}

	started, replaced := make(chan struct{}), make(chan struct{})
	// What each old target had served when deregistered, and once
	// drained.
	var atDeregister, afterDrain [3]int64
	go func() {
		defer close(replaced)
		<-started
		for i, nb := range news {
			if err := l.Register(nb.addr(), Checked); err != nil {
				t.Error(err)
				return
			}
			waitState(t, l, nb.addr(), StateHealthy)
			drained, err := l.Deregister(olds[i].addr())
			if err != nil {
				t.Error(err)
				return
			}
			atDeregister[i] = olds[i].hits.Load()
			<-drained
			afterDrain[i] = olds[i].hits.Load()
			// Stop the old target abruptly, as a task is stopped.
			olds[i].CloseClientConnections()
			olds[i].Close()
		}
	}()

	// The replacement starts once 500 requests have been answered, and
	// the stream goes on for 500 more after it ends.
	var afterReplacement atomic.Int64
	res := load(newClient(t), l.url("/"), workers, 20000, func(done int64) bool {
		if done == 500 {
			close(started)
		}
		select {
		case <-replaced:
			return afterReplacement.Add(1) >= 500
		default:
			return false
		}
	})
	<-replaced
	if afterReplacement.Load() < 500 {
		t.Fatalf("only %d requests after the replacement of %d sent", afterReplacement.Load(), res.sent)
	}
	if len(res.failures) != 0 {
		t.Fatalf("%d of %d requests failed: %v", len(res.failures), res.sent, res.failures[:min(5, len(res.failures))])
	}
	for i, b := range olds {
		if got := b.hits.Load(); got != afterDrain[i] {
			t.Errorf("old target %s received %d requests after it was drained", b.name, got-afterDrain[i])
		}
		// No request is sent to a deregistered target: only those in
		// flight then, at most one per client, may still arrive.
		if late := afterDrain[i] - atDeregister[i]; late > workers {
			t.Errorf("old target %s received %d requests after it was deregistered, more than the %d clients could have had in flight", b.name, late, workers)
		}
		if afterDrain[i] == 0 {
			t.Errorf("old target %s served nothing before the replacement", b.name)
		}
		if th := l.Target(b.addr()); th.State != StateUnused {
			t.Errorf("old target %s: %+v, want unused", b.name, th)
		}
	}
	for _, b := range news {
		if b.hits.Load() == 0 {
			t.Errorf("new target %s served nothing", b.name)
		}
	}
	t.Logf("%d requests, 0 failed, %d retried, per target %v", res.sent, l.retries.Load(), res.bodies)
}

func TestUnhealthyTargetGetsNoTrafficUntilItRecovers(t *testing.T) {
	t.Parallel()
	// A timeout near a second: a slow answer on a loaded machine is not the
	// 500 this test is about.
	l := listen(t, Config{HealthCheck: HealthCheck{Path: "/health", Interval: time.Second, Timeout: 900 * time.Millisecond, HealthyThreshold: 2, UnhealthyThreshold: 2}})
	a, b, sick := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "sick")
	// Only sick is checked, so a slow check on a loaded machine cannot
	// take the other two out.
	healthy(t, l, a.addr(), b.addr())
	if err := l.Register(sick.addr(), Checked); err != nil {
		t.Fatal(err)
	}
	waitState(t, l, sick.addr(), StateHealthy)
	c := newClient(t)

	sick.health.Store(http.StatusInternalServerError)
	waitState(t, l, sick.addr(), StateUnhealthy)
	if th := l.Target(sick.addr()); th.Reason != "Target.ResponseCodeMismatch" || !strings.Contains(th.Description, "500") {
		t.Errorf("unhealthy target: %+v, want ALB's ResponseCodeMismatch naming 500", th)
	}
	before := sick.hits.Load()
	getOK(t, c, l.url("/"), 100)
	if got := sick.hits.Load() - before; got != 0 {
		t.Errorf("the unhealthy target received %d of 100 requests", got)
	}

	sick.health.Store(http.StatusOK)
	waitState(t, l, sick.addr(), StateHealthy)
	for i := 0; sick.hits.Load() == before; i++ {
		if i == 300 {
			t.Fatal("the recovered target received none of 300 requests")
		}
		if status, _, err := get(c, l.url("/")); err != nil || status != http.StatusOK {
			t.Fatalf("GET: %d %v", status, err)
		}
	}
}

func TestNoHealthyTargetAnswers503(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	expect503 := func(t *testing.T, l *Listener) {
		t.Helper()
		resp, err := c.Get(l.url("/"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Server") != "awselb/2.0" ||
			!strings.Contains(string(body), "503 Service Temporarily Unavailable") {
			t.Errorf("got %s %v %q, want ALB's 503", resp.Status, resp.Header, body)
		}
	}
	t.Run("no target", func(t *testing.T) {
		t.Parallel()
		expect503(t, listen(t, Config{}))
	})
	t.Run("initial target", func(t *testing.T) {
		t.Parallel()
		l, b := listen(t, Config{}), newBackend(t, "b")
		if err := l.Register(b.addr(), Reported); err != nil {
			t.Fatal(err)
		}
		expect503(t, l)
		if b.hits.Load() != 0 {
			t.Errorf("a target not yet healthy received a request")
		}
	})
	t.Run("unhealthy targets", func(t *testing.T) {
		t.Parallel()
		l, b := listen(t, Config{}), newBackend(t, "b")
		healthy(t, l, b.addr())
		if err := l.SetHealthy(b.addr(), false); err != nil {
			t.Fatal(err)
		}
		expect503(t, l)
	})
	t.Run("draining target", func(t *testing.T) {
		t.Parallel()
		l, b := listen(t, Config{}), newBackend(t, "b")
		healthy(t, l, b.addr())
		go get(c, l.url("/hold"))
		<-b.arrived
		drained, err := l.Deregister(b.addr())
		if err != nil {
			t.Fatal(err)
		}
		expect503(t, l)
		close(b.release)
		<-drained
	})
	t.Run("fail open", func(t *testing.T) {
		t.Parallel()
		l, b := listen(t, Config{FailOpen: true}), newBackend(t, "b")
		healthy(t, l, b.addr())
		l.SetHealthy(b.addr(), false)
		if status, body, err := get(c, l.url("/")); err != nil || status != http.StatusOK || body != "b" {
			t.Errorf("fail open with only an unhealthy target: %d %q %v, want its answer", status, body, err)
		}
	})
}

func TestDrainingWaitsForRequestsInFlight(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{DeregistrationDelay: time.Hour})
	old, other := newBackend(t, "old"), newBackend(t, "other")
	healthy(t, l, old.addr(), other.addr())
	c := newClient(t)

	type answer struct {
		status int
		body   string
		err    error
	}
	held := make(chan answer, 1)
	go func() {
		status, body, err := get(c, l.url("/hold"))
		held <- answer{status, body, err}
	}()
	<-old.arrived // round robin: the first request goes to the first target
	drained, err := l.Deregister(old.addr())
	if err != nil {
		t.Fatal(err)
	}
	if th := l.Target(old.addr()); th.State != StateDraining || th.InFlight != 1 || th.Reason != "Target.DeregistrationInProgress" {
		t.Errorf("deregistered target: %+v, want draining with one request in flight", th)
	}
	for range 10 {
		if _, body, err := get(c, l.url("/")); err != nil || body != "other" {
			t.Fatalf("GET while draining: %q %v, want the other target", body, err)
		}
	}
	select {
	case <-drained:
		t.Fatal("drained while a request was in flight")
	default:
	}
	again, err := l.Deregister(old.addr())
	if err != nil || again != drained {
		t.Errorf("Deregister again: %v, want the same channel", err)
	}
	if err := l.Register(old.addr(), Reported); !errors.Is(err, ErrDraining) {
		t.Errorf("Register while draining: %v, want ErrDraining", err)
	}

	close(old.release)
	if a := <-held; a.err != nil || a.status != http.StatusOK || a.body != "old" {
		t.Errorf("request in flight during draining: %d %q %v, want old's answer", a.status, a.body, a.err)
	}
	<-drained
	if th := l.Target(old.addr()); th.State != StateUnused {
		t.Errorf("drained target: %+v, want unused", th)
	}
	if old.hits.Load() != 1 {
		t.Errorf("draining target served %d requests, want only the one in flight", old.hits.Load())
	}
}

func TestDeregistrationDelayEndsDraining(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{DeregistrationDelay: 20 * time.Millisecond})
	b := newBackend(t, "b")
	healthy(t, l, b.addr())
	done := make(chan error, 1)
	go func() {
		_, _, err := get(newClient(t), l.url("/hold"))
		done <- err
	}()
	<-b.arrived
	drained, err := l.Deregister(b.addr())
	if err != nil {
		t.Fatal(err)
	}
	<-drained // the delay runs out though the request is still in flight
	if th := l.Target(b.addr()); th.State != StateUnused {
		t.Errorf("after the delay: %+v, want unused", th)
	}
	close(b.release)
	<-done
}

// TestRetryRules sends requests whose first target fails in each way a
// target can, and checks which are retried on the second, healthy target
// (see retriable).
func TestRetryRules(t *testing.T) {
	t.Parallel()
	// refused: nothing listens at the address.
	refused := func(t *testing.T) netip.AddrPort {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := netip.MustParseAddrPort(ln.Addr().String())
		ln.Close()
		return addr
	}
	// reset: reads the request's headers (and whatever body arrived), then
	// resets the connection without answering, as a task killed while
	// working on a request.
	reset := func(t *testing.T) netip.AddrPort {
		return rawBackend(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0)
		})
	}
	// answered: starts an answer, then closes the connection.
	answered := func(t *testing.T) netip.AddrPort {
		return rawBackend(t, func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
		})
	}
	cases := []struct {
		name    string
		first   func(*testing.T) netip.AddrPort
		method  string
		body    string
		retried bool
	}{
		{"refused GET", refused, "GET", "", true},
		{"refused POST with body", refused, "POST", "payload", true},
		{"reset GET", reset, "GET", "", true},
		{"reset HEAD", reset, "HEAD", "", true},
		{"reset DELETE", reset, "DELETE", "", true},
		{"reset PUT without body", reset, "PUT", "", true},
		{"reset POST without body", reset, "POST", "", false},
		{"reset PATCH", reset, "PATCH", "", false},
		{"reset PUT with body", reset, "PUT", "payload", false},
		{"answered GET", answered, "GET", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := listen(t, Config{})
			good := newBackend(t, "good")
			first := tc.first(t)
			// Round robin takes targets in registration order, so the
			// first request goes to first.
			healthy(t, l, first, good.addr())
			var body io.Reader
			if tc.body != "" {
				// Not a strings.Reader: the client sends it chunked, as a
				// stream of unknown length.
				body = io.MultiReader(strings.NewReader(tc.body))
			}
			req, _ := http.NewRequest(tc.method, l.url("/"), body)
			resp, err := newClient(t).Do(req)
			var status int
			if err == nil {
				status = resp.StatusCode
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if retried := good.hits.Load() == 1; retried != tc.retried {
				t.Errorf("retried on the second target: %v, want %v (status %d, err %v)", retried, tc.retried, status, err)
			}
			switch {
			case tc.retried && status != http.StatusOK:
				t.Errorf("status %d, want 200 from the second target", status)
			case !tc.retried && strings.HasPrefix(tc.name, "reset") && status != http.StatusBadGateway:
				t.Errorf("status %d (%v), want 502", status, err)
			}
			// A target that answered did not fail to connect; only
			// those that sent nothing leave rotation at once.
			if th := l.Target(first); !strings.HasPrefix(tc.name, "answered") && th.State != StateUnhealthy {
				t.Errorf("failed target: %+v, want unhealthy at once", th)
			}
		})
	}
}

// TestSilentTargetGets504: a target that takes a request and does not
// answer within the idle timeout gets the client ALB's 504; the request
// is not retried (the target may still be acting on it) and the target
// stays in rotation (slow is not dead).
func TestSilentTargetGets504(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{IdleTimeout: 50 * time.Millisecond})
	silent, other := newBackend(t, "silent"), newBackend(t, "other")
	healthy(t, l, silent.addr(), other.addr())
	defer close(silent.release)
	status, _, err := get(newClient(t), l.url("/hold"))
	if err != nil || status != http.StatusGatewayTimeout {
		t.Errorf("GET to a silent target: %d %v, want 504", status, err)
	}
	if other.hits.Load() != 0 {
		t.Errorf("the request was retried on another target")
	}
	if th := l.Target(silent.addr()); th.State != StateHealthy {
		t.Errorf("silent target: %+v, want still healthy", th)
	}
}

// rawBackend serves each connection with handle on a loopback port.
func rawBackend(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
			c.Close()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestReportedTargetComesBackAfterPassiveFailure: a Reported target whose
// process died is taken out by the request that found it dead, and put
// back once something answers on its port again, without the caller
// having to report it again (its Docker health status may never change).
func TestReportedTargetComesBackAfterPassiveFailure(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{HealthCheck: HealthCheck{Interval: 20 * time.Millisecond, Timeout: 15 * time.Millisecond, HealthyThreshold: 2}})
	flaky, steady := newBackend(t, "flaky"), newBackend(t, "steady")
	addr := flaky.addr()
	healthy(t, l, addr, steady.addr())
	flaky.CloseClientConnections()
	flaky.Close()

	c := newClient(t)
	if status, body, err := get(c, l.url("/")); err != nil || body != "steady" {
		t.Fatalf("GET with the first target dead: %d %q %v, want the retry's answer", status, body, err)
	}
	if th := l.Target(addr); th.State != StateUnhealthy || !strings.Contains(th.Description, "request failed") {
		t.Fatalf("dead target: %+v, want unhealthy after the failed request", th)
	}

	ln, err := net.Listen("tcp4", addr.String())
	if err != nil {
		t.Skipf("port %s taken again before the test could reuse it: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound) // any answer shows it is back
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	waitState(t, l, addr, StateHealthy)

	// The caller's word wins over the probe.
	if err := l.SetHealthy(addr, false); err != nil {
		t.Fatal(err)
	}
	if th := l.Target(addr); th.State != StateUnhealthy {
		t.Errorf("after SetHealthy(false): %+v", th)
	}
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{})
	seen := make(chan http.Header, 1)
	hosts := make(chan string, 1)
	b := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		hosts <- r.Host
	}))
	healthy(t, l, b)

	req, _ := http.NewRequest("GET", l.url("/path?q=1"), nil)
	req.Host = "app.example"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Port", "1")
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "must not pass")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-seen
	port := fmt.Sprint(l.Addr().Port())
	for name, want := range map[string]string{
		"X-Forwarded-For":   "203.0.113.7, 127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Port":  port,
		"X-Hop":             "",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if !traceIDPattern.MatchString(h.Get("X-Amzn-Trace-Id")) {
		t.Errorf("X-Amzn-Trace-Id %q, want ALB's Root=1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx", h.Get("X-Amzn-Trace-Id"))
	}
	if host := <-hosts; host != "app.example" {
		t.Errorf("Host %q, want the client's app.example", host)
	}
}

// TestUpgradePassesThrough opens a connection upgraded to a toy protocol
// that echoes lines: the bytes flow both ways through the listener, and
// the open connection holds a deregistered target in draining.
func TestUpgradePassesThrough(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{DeregistrationDelay: time.Hour})
	b := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "echo" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString(line)
			brw.Flush()
		}
	}))
	healthy(t, l, b)

	conn, br := upgrade(t, l, "echo")
	for _, line := range []string{"hello\n", "world\n"} {
		io.WriteString(conn, line)
		if got, err := br.ReadString('\n'); err != nil || got != line {
			t.Fatalf("echo: %q %v, want %q", got, err, line)
		}
	}
	drained, err := l.Deregister(b)
	if err != nil {
		t.Fatal(err)
	}
	if th := l.Target(b); th.State != StateDraining || th.InFlight != 1 {
		t.Errorf("target with an open upgraded connection: %+v, want draining with 1 in flight", th)
	}
	conn.Close()
	<-drained
}

// upgrade opens a connection through l upgraded to protocol; the test
// closes it at the latest when it ends.
func upgrade(t *testing.T, l *Listener, protocol string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", protocol)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return conn, br
}

// TestReopenSamePort: a listener's port can be taken again as soon as it
// is closed, after it has served (so its closed connections sit in
// TIME_WAIT), as a restarted berth takes its services' ports again.
func TestReopenSamePort(t *testing.T) {
	t.Parallel()
	first, err := Listen(t.Context(), 0, Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, "b")
	healthy(t, first, b.addr())
	c := newClient(t)
	getOK(t, c, first.url("/"), 5)
	port := int(first.Addr().Port())
	if err := first.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	second, err := Listen(t.Context(), port, Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("listening on port %d again: %v", port, err)
	}
	defer second.Close()
	healthy(t, second, b.addr())
	if status, _, err := get(newClient(t), second.url("/")); err != nil || status != http.StatusOK {
		t.Fatalf("GET through the reopened listener: %d %v", status, err)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	l := listen(t, Config{})
	b := newBackend(t, "b")
	unknown := netip.MustParseAddrPort("127.0.0.1:1")
	if err := l.Register(netip.MustParseAddrPort("192.0.2.1:80"), Checked); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Register off loopback: %v", err)
	}
	if err := l.SetHealthy(unknown, true); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("SetHealthy unknown: %v", err)
	}
	if _, err := l.Deregister(unknown); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("Deregister unknown: %v", err)
	}
	if err := l.Register(b.addr(), Checked); err != nil {
		t.Fatal(err)
	}
	if err := l.SetHealthy(b.addr(), true); !errors.Is(err, ErrNotReported) {
		t.Errorf("SetHealthy on a checked target: %v", err)
	}
	if th := l.Target(unknown); th.State != StateUnused || th.Reason != "Target.NotRegistered" {
		t.Errorf("unknown target: %+v", th)
	}
	l.Close()
	if err := l.Register(b.addr(), Checked); !errors.Is(err, ErrClosed) {
		t.Errorf("Register after Close: %v", err)
	}
	if _, err := l.Deregister(b.addr()); !errors.Is(err, ErrClosed) {
		t.Errorf("Deregister after Close: %v", err)
	}

	for _, cfg := range []Config{
		{Algorithm: "random"},
		{HealthCheck: HealthCheck{Path: "health"}},
		{HealthCheck: HealthCheck{Interval: time.Second, Timeout: time.Second}},
		{HealthCheck: HealthCheck{Matcher: "200-199"}},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted it", cfg)
		}
		if _, err := Listen(t.Context(), 0, cfg); err == nil {
			t.Errorf("Listen(%+v) accepted it", cfg)
		}
	}
}

// TestShutdownDrainsAndLeaksNothing: Shutdown stops accepting, lets a
// request in flight finish, closes the drained channels, and leaves no
// goroutine behind (health checks, connections to targets, upgraded
// connections). Not parallel: it counts the process's goroutines.
func TestShutdownDrainsAndLeaksNothing(t *testing.T) {
	b := newBackend(t, "b")
	baseline := runtime.NumGoroutine()

	l, err := Listen(t.Context(), 0, Config{
		HealthCheck: HealthCheck{Path: "/health", Interval: 10 * time.Millisecond, Timeout: 5 * time.Millisecond, UnhealthyThreshold: 1 << 20},
		Logger:      testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Register(b.addr(), Checked); err != nil {
		t.Fatal(err)
	}
	waitState(t, l, b.addr(), StateHealthy)
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	getOK(t, c, l.url("/"), 20)
	held := make(chan error, 1)
	go func() {
		status, _, err := get(c, l.url("/hold"))
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("status %d", status)
		}
		held <- err
	}()
	<-b.arrived

	stopped := make(chan error, 1)
	go func() { stopped <- l.Shutdown(context.Background()) }()
	// Once the listener refuses connections, Shutdown is waiting for the
	// request in flight.
	for {
		conn, err := net.Dial("tcp4", l.Addr().String())
		if err != nil {
			break
		}
		conn.Close()
		runtime.Gosched()
	}
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(b.release)
	if err := <-held; err != nil {
		t.Errorf("request in flight during Shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if th := l.Target(b.addr()); th.State != StateUnused {
		t.Errorf("target after Shutdown: %+v", th)
	}
	tr.CloseIdleConnections()
	b.CloseClientConnections()

	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Shutdown, %d before the listener:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCloseCutsUpgradedConnections: Close ends even an upgraded
// connection, which the http.Server does not track.
func TestCloseCutsUpgradedConnections(t *testing.T) {
	t.Parallel()
	l, err := Listen(t.Context(), 0, Config{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	backendConn := make(chan net.Conn, 1)
	b := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, brw, _ := http.NewResponseController(w).Hijack()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n")
		brw.Flush()
		backendConn <- c
	}))
	healthy(t, l, b)
	_, br := upgrade(t, l, "x")
	bc := <-backendConn
	defer bc.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Both ends see the tunnel closed.
	if _, err := br.ReadByte(); err == nil {
		t.Error("client side of the upgraded connection still open after Close")
	}
	if _, err := bc.Read(make([]byte, 1)); err == nil {
		t.Error("backend side of the upgraded connection still open after Close")
	}
}
