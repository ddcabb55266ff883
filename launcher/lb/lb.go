// Package lb is the HTTP load balancer berth puts in front of an ECS
// service created with loadBalancers, the way AWS puts an Application Load
// Balancer in front of one: a Listener on 127.0.0.1 spreads requests over a
// changing set of targets (the service's tasks, each a published loopback
// port), sends traffic only to healthy ones, drains a target before it is
// stopped, and retries a request whose target died before answering, so a
// task killed or replaced under load fails no request that could be
// retried safely.
//
// The package knows nothing of ECS or Docker: the caller registers and
// deregisters targets and, when it knows better than an HTTP probe (a
// container's Docker health status), reports their health.
//
// Files: lb.go (the Listener, its life and its configuration), target.go
// (targets, their states and the choice of one per request), health.go
// (active and passive health checks), proxy.go (forwarding, retries and the
// load balancer's own error responses).
package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Errors the Listener's methods return.
var (
	// ErrClosed: the listener was shut down.
	ErrClosed = errors.New("lb: listener closed")
	// ErrUnknownTarget: no target is registered at that address.
	ErrUnknownTarget = errors.New("lb: target not registered")
	// ErrDraining: the target is being deregistered; wait for its drained
	// channel before registering it again.
	ErrDraining = errors.New("lb: target is draining")
	// ErrNotReported: the target's health is decided by the listener's
	// health check, so the caller cannot report it.
	ErrNotReported = errors.New("lb: target health is checked, not reported")
	// ErrNotLoopback: targets must be loopback addresses (task ports are
	// published on 127.0.0.1 only).
	ErrNotLoopback = errors.New("lb: target is not a loopback address")
)

// Algorithm is how a listener chooses among healthy targets; the values
// are ALB's load_balancing.algorithm.type attribute values.
type Algorithm string

const (
	// RoundRobin takes healthy targets in turn. It is ALB's default and
	// berth's, so a service spreads its traffic here as it does on AWS.
	RoundRobin Algorithm = "round_robin"
	// LeastOutstandingRequests takes the healthy target with the fewest
	// requests in flight, ties taken in turn; better when request costs
	// vary a lot (long downloads, WebSockets) and one slow task should not
	// receive its equal share.
	LeastOutstandingRequests Algorithm = "least_outstanding_requests"
)

// Config tunes a Listener. The zero value is usable: round robin, ALB's
// health check scaled for a local machine, a 10 s deregistration delay.
type Config struct {
	// Algorithm chooses among healthy targets. Default RoundRobin.
	Algorithm Algorithm
	// HealthCheck is the HTTP check run against targets registered with
	// Checked.
	HealthCheck HealthCheck
	// DeregistrationDelay is the longest a deregistered target is drained
	// before its drained channel closes: it receives no new request at
	// once, and the channel closes as soon as its last request in flight
	// ends or when the delay runs out, whichever comes first (as on ALB).
	// Default 10 s (ALB's default, 300 s, would make every rolling update
	// of a local service wait five minutes per task that holds a
	// connection open).
	DeregistrationDelay time.Duration
	// IdleTimeout is ALB's idle timeout: how long a client connection may
	// sit idle, how long a client may take to send its headers, and how
	// long a target may take to start answering before the client gets
	// 504. Default 60 s (as ALB).
	IdleTimeout time.Duration
	// FailOpen sends requests to unhealthy targets when no target is
	// healthy, as ALB does. Off by default: berth answers 503 at once, as
	// ALB does when it has no target at all, because on one machine a
	// target that fails its checks is nearly always a dead or unready
	// task, and a prompt 503 says more than a refused connection.
	FailOpen bool
	// Logger receives state changes, retries and (at debug level) one line
	// per request; never a body, a query string or a header value.
	// Default slog.Default().
	Logger *slog.Logger
}

// HealthCheck is an ALB target group health check. Each field's zero
// value takes its default; ALB's own defaults are given for comparison.
type HealthCheck struct {
	// Path is requested with GET on each target. Default "/" (as ALB).
	Path string
	// Interval is the time between two checks of a target. Default 5 s
	// (ALB 30 s).
	Interval time.Duration
	// Timeout is how long a check may take; it must be shorter than
	// Interval. Default 2 s (ALB 5 s), or half of Interval if that is
	// shorter.
	Timeout time.Duration
	// HealthyThreshold is the number of consecutive passes that bring an
	// unhealthy target back. Default 2 (ALB 5). A newly registered target
	// needs one pass, as on ALB.
	HealthyThreshold int
	// UnhealthyThreshold is the number of consecutive failures that take a
	// target out. Default 2 (as ALB).
	UnhealthyThreshold int
	// Matcher lists the status codes that pass, in ALB's HttpCode syntax:
	// "200", "200,204" or "200-299", codes from 200 to 499. Default "200"
	// (as ALB).
	Matcher string
}

func (c Config) withDefaults() Config {
	if c.Algorithm == "" {
		c.Algorithm = RoundRobin
	}
	if c.DeregistrationDelay <= 0 {
		c.DeregistrationDelay = 10 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	h := &c.HealthCheck
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Interval <= 0 {
		h.Interval = 5 * time.Second
	}
	if h.Timeout <= 0 {
		h.Timeout = min(2*time.Second, h.Interval/2)
	}
	if h.HealthyThreshold <= 0 {
		h.HealthyThreshold = 2
	}
	if h.UnhealthyThreshold <= 0 {
		h.UnhealthyThreshold = 2
	}
	if h.Matcher == "" {
		h.Matcher = "200"
	}
	return c
}

// Validate reports the first setting that is wrong once defaults are
// applied, worded for the person who wrote it.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Algorithm != RoundRobin && c.Algorithm != LeastOutstandingRequests {
		return fmt.Errorf("lb: algorithm %q: want %q or %q", c.Algorithm, RoundRobin, LeastOutstandingRequests)
	}
	h := c.HealthCheck
	if h.Path[0] != '/' {
		return fmt.Errorf("lb: health check path %q must start with /", h.Path)
	}
	if h.Timeout >= h.Interval {
		return fmt.Errorf("lb: health check timeout %s must be shorter than its interval %s", h.Timeout, h.Interval)
	}
	if _, err := parseMatcher(h.Matcher); err != nil {
		return err
	}
	return nil
}

// Listener is one load balancer: an HTTP listener on 127.0.0.1 and the
// targets it forwards to. Its methods are safe for concurrent use.
type Listener struct {
	cfg     Config
	log     *slog.Logger
	addr    netip.AddrPort
	port    string // addr's port, for X-Forwarded-Port
	matcher matcher
	srv     *http.Server
	proxy   *httputil.ReverseProxy

	// ctx is canceled when the listener stops for good: it ends health
	// checks and whatever requests Shutdown could not wait for.
	ctx    context.Context
	cancel context.CancelFunc
	// bg counts the listener's own goroutines (serve loop, health checks,
	// drain timers); handlers counts requests being served, including
	// upgraded connections the http.Server no longer tracks.
	bg       sync.WaitGroup
	handlers sync.WaitGroup
	stopped  chan struct{} // closed when Shutdown has finished
	retries  atomic.Int64  // requests retried on another target, for tests

	mu      sync.Mutex
	closed  bool      // Shutdown has begun
	serving bool      // requests may start; false once Shutdown waits for them
	targets []*target // in registration order
	byAddr  map[netip.AddrPort]*target
	turn    uint64        // the round-robin position
	changed chan struct{} // closed and replaced at every state change
}

// Listen starts a listener on 127.0.0.1:port (0 picks a free port; Addr
// says which). The same port can be taken again as soon as a previous
// listener on it is closed, so a restarted berth keeps each service's
// address. ctx bounds the bind only; the listener runs until Shutdown or
// Close.
func Listen(ctx context.Context, port int, cfg Config) (*Listener, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, _ := parseMatcher(cfg.HealthCheck.Matcher) // checked by Validate
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("lb: port %d out of range", port)
	}
	// Go sets SO_REUSEADDR on listening sockets, so connections of an
	// earlier listener left in TIME_WAIT do not keep the port taken.
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("lb: listen: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	l := &Listener{
		cfg:     cfg,
		log:     cfg.Logger.With("lb", addr.String()),
		addr:    addr,
		port:    strconv.Itoa(int(addr.Port())),
		matcher: m,
		stopped: make(chan struct{}),
		byAddr:  make(map[netip.AddrPort]*target),
		changed: make(chan struct{}),
		serving: true,
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.proxy = &httputil.ReverseProxy{
		Rewrite:        l.rewrite,
		Transport:      balancer{l},
		BufferPool:     newBufferPool(),
		ModifyResponse: l.logResponse,
		ErrorHandler:   l.writeError,
		ErrorLog:       slog.NewLogLogger(l.log.Handler(), slog.LevelWarn),
	}
	l.srv = &http.Server{
		Handler: http.HandlerFunc(l.serveHTTP),
		// A stalled client holds a connection no longer than ALB lets it.
		IdleTimeout:       cfg.IdleTimeout,
		ReadHeaderTimeout: cfg.IdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return l.ctx },
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelWarn),
	}
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		if err := l.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			l.log.Error("load balancer stopped serving", "err", err)
		}
	}()
	l.log.Info("load balancer listening", "algorithm", cfg.Algorithm)
	return l, nil
}

// Addr is the address the listener accepts connections on.
func (l *Listener) Addr() netip.AddrPort { return l.addr }

func (l *Listener) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// A request read just before Shutdown cut its connection must not
	// start once Shutdown waits for the handlers.
	l.mu.Lock()
	if l.serving {
		l.handlers.Add(1)
	}
	serving := l.serving
	l.mu.Unlock()
	if !serving {
		l.writeError(w, r, errNoTarget)
		return
	}
	defer l.handlers.Done()
	l.proxy.ServeHTTP(w, r)
}

// Shutdown stops accepting connections, waits until the requests in flight
// have been answered or ctx ends (then it cuts those left, upgraded
// connections included), stops the health checks and closes every drained
// channel, since no target receives traffic any more. It returns ctx's
// error if it had to cut requests. Calling it again waits for the first
// call to finish.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		select {
		case <-l.stopped:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l.closed = true
	l.mu.Unlock()
	defer close(l.stopped)

	err := l.srv.Shutdown(ctx)
	if err != nil {
		l.srv.Close()
	}
	// Requests still running are upgraded connections, or requests cut by
	// srv.Close: canceling their base context ends them at once.
	l.cancel()
	l.mu.Lock()
	l.serving = false
	l.mu.Unlock()
	l.handlers.Wait()

	l.mu.Lock()
	targets := l.targets
	l.targets, l.byAddr = nil, map[netip.AddrPort]*target{}
	for _, t := range targets {
		l.removeLocked(t, "listener shut down")
	}
	l.notifyLocked()
	l.mu.Unlock()
	for _, t := range targets {
		t.tr.CloseIdleConnections()
	}
	l.bg.Wait()
	l.log.Info("load balancer stopped")
	return err
}

// Close stops the listener at once, cutting requests in flight; Shutdown
// is the graceful way.
func (l *Listener) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
