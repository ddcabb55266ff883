package lb

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"time"
)

// State is a target's state, named as ALB's DescribeTargetHealth names it.
// Only a healthy target receives new requests (see Config.FailOpen for
// the exception).
type State string

const (
	// StateInitial: registered, not yet found healthy.
	StateInitial State = "initial"
	// StateHealthy: in rotation.
	StateHealthy State = "healthy"
	// StateUnhealthy: out of rotation until it passes its checks again.
	StateUnhealthy State = "unhealthy"
	// StateDraining: deregistered; its requests in flight may finish.
	StateDraining State = "draining"
	// StateUnused: not registered (never, or no longer).
	StateUnused State = "unused"
)

// ALB's reason codes for a target that is not healthy.
const (
	reasonInitial       = "Elb.InitialHealthChecking"
	reasonFailed        = "Target.FailedHealthChecks"
	reasonCode          = "Target.ResponseCodeMismatch"
	reasonTimeout       = "Target.Timeout"
	reasonDeregistered  = "Target.DeregistrationInProgress"
	reasonNotRegistered = "Target.NotRegistered"
)

// Health says who decides whether a target is healthy.
type Health int

const (
	// Checked targets are judged by the listener's HTTP health check
	// (Config.HealthCheck), as ALB judges its targets.
	Checked Health = iota
	// Reported targets are judged by the caller through SetHealthy, e.g.
	// from a container's Docker health status; they start in
	// StateInitial and receive traffic from the first SetHealthy(true).
	Reported
)

// TargetHealth describes one target, in the terms of ALB's
// DescribeTargetHealth, for DescribeServices and the UI.
type TargetHealth struct {
	Target netip.AddrPort
	State  State
	// Reason is ALB's reason code when the state is not healthy, e.g.
	// Target.FailedHealthChecks.
	Reason string
	// Description says what happened in words, e.g. the status code of
	// the last failed check.
	Description string
	// InFlight is the number of requests the target is serving now.
	InFlight int
	// Requests is the number of requests sent to the target so far,
	// retried attempts included.
	Requests uint64
}

// target is one registered address. Its fields below mu are guarded by
// the Listener's mu.
type target struct {
	addr   netip.AddrPort
	host   string // addr.String(), the URL host of every request
	health Health
	// tr keeps the connections to this target alive between requests;
	// one per target, so a target that leaves closes only its own.
	tr *http.Transport
	// ctx ends the target's health checks when it is deregistered.
	ctx    context.Context
	cancel context.CancelFunc

	state          State
	reason, desc   string
	passes, fails  int  // consecutive health check results
	reportedHealth bool // a Reported target's last SetHealthy
	probing        bool // a health check loop is running
	inflight       int
	requests       uint64
	drained        chan struct{} // made by Deregister, closed once removed
	timer          *time.Timer   // the deregistration delay
	removed        bool
}

// connectTimeout bounds a connection attempt to a target: ALB's own is
// 10 s. On loopback a dead port refuses at once; only a target whose
// accept backlog is full makes a connection wait.
const connectTimeout = 10 * time.Second

func newTransport(idle time.Duration) *http.Transport {
	return &http.Transport{
		DialContext: (&net.Dialer{Timeout: connectTimeout}).DialContext,
		// Enough idle connections for a burst of concurrent requests to
		// come back to warm connections instead of dialing each time.
		MaxIdleConnsPerHost: 64,
		// Shorter than the keep-alive timeout of common servers (Node's
		// 5 s, gunicorn's 2 s), so the listener closes an idle connection
		// before the target does and a request rarely meets a connection
		// the target is closing.
		IdleConnTimeout: time.Second,
		// Bodies pass as they are; the client negotiated their encoding.
		DisableCompression: true,
		// A target that accepts a request and never answers gets the
		// client a 504, as on ALB, rather than a request that hangs.
		ResponseHeaderTimeout: idle,
	}
}

// Register adds a target, in StateInitial: it receives traffic once it is
// healthy, as h says. Registering a target again is a no-op, unless it is
// draining (ErrDraining). Targets must be loopback addresses
// (ErrNotLoopback).
func (l *Listener) Register(addr netip.AddrPort, h Health) error {
	addr = canonical(addr)
	if !addr.Addr().IsLoopback() || addr.Port() == 0 {
		return fmt.Errorf("%w: %s", ErrNotLoopback, addr)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if t, ok := l.byAddr[addr]; ok {
		if t.state == StateDraining {
			return fmt.Errorf("%w: %s", ErrDraining, addr)
		}
		return nil
	}
	t := &target{
		addr:   addr,
		host:   addr.String(),
		health: h,
		tr:     newTransport(l.cfg.IdleTimeout),
		state:  StateInitial,
		reason: reasonInitial,
	}
	t.ctx, t.cancel = context.WithCancel(l.ctx)
	if h == Reported {
		t.desc = "waiting for the caller's health report"
	} else {
		t.desc = "waiting for the first health check"
	}
	l.targets = append(l.targets, t)
	l.byAddr[addr] = t
	l.log.Info("target registered", "target", t.host, "health", h.String())
	if h == Checked {
		l.startProbeLocked(t)
	}
	l.notifyLocked()
	return nil
}

// canonical writes ::ffff:127.0.0.1 as 127.0.0.1, so one target has one
// key whichever way the caller spells it.
func canonical(addr netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
}

// String names h as the log shows it.
func (h Health) String() string {
	if h == Reported {
		return "reported"
	}
	return "checked"
}

// SetHealthy reports a Reported target's health (ErrNotReported for a
// Checked one). A healthy target enters rotation at once; an unhealthy one
// leaves it. Reports about a draining target are ignored.
func (l *Listener) SetHealthy(addr netip.AddrPort, healthy bool) error {
	addr = canonical(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.byAddr[addr]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTarget, addr)
	}
	if t.health != Reported {
		return fmt.Errorf("%w: %s", ErrNotReported, addr)
	}
	if t.state == StateDraining {
		return nil
	}
	t.reportedHealth = healthy
	t.passes, t.fails = 0, 0
	if healthy {
		l.setStateLocked(t, StateHealthy, "", "")
	} else {
		l.setStateLocked(t, StateUnhealthy, reasonFailed, "reported unhealthy")
	}
	return nil
}

// Deregister takes a target out of rotation at once and drains it: its
// requests in flight may finish, for at most Config.DeregistrationDelay.
// The returned channel is closed when the target may be stopped: when its
// last request in flight has ended, when the delay has run out, or when
// the listener shuts down; the target is then forgotten (StateUnused).
// Deregistering a draining target returns the same channel.
func (l *Listener) Deregister(addr netip.AddrPort) (<-chan struct{}, error) {
	addr = canonical(addr)
	l.mu.Lock()
	t, ok := l.byAddr[addr]
	if !ok {
		closed := l.closed
		l.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("%w: %s", ErrUnknownTarget, addr)
	}
	if t.state == StateDraining {
		l.mu.Unlock()
		return t.drained, nil
	}
	t.drained = make(chan struct{})
	t.cancel() // no more health checks
	l.setStateLocked(t, StateDraining, reasonDeregistered, "deregistration in progress")
	drained := t.inflight == 0
	if drained {
		l.dropLocked(t, "no request in flight")
	} else {
		l.bg.Add(1)
		t.timer = time.AfterFunc(l.cfg.DeregistrationDelay, func() {
			defer l.bg.Done()
			l.mu.Lock()
			if !t.removed {
				l.dropLocked(t, "deregistration delay elapsed with requests in flight")
			}
			l.mu.Unlock()
			t.tr.CloseIdleConnections()
		})
	}
	ch := t.drained
	l.mu.Unlock()
	if drained {
		t.tr.CloseIdleConnections()
	}
	return ch, nil
}

// Targets describes every registered target, in registration order.
func (l *Listener) Targets() []TargetHealth {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]TargetHealth, 0, len(l.targets))
	for _, t := range l.targets {
		out = append(out, t.describe())
	}
	return out
}

// Target describes one target; one not registered is StateUnused.
func (l *Listener) Target(addr netip.AddrPort) TargetHealth {
	addr = canonical(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.byAddr[addr]; ok {
		return t.describe()
	}
	return TargetHealth{Target: addr, State: StateUnused, Reason: reasonNotRegistered, Description: "target is not registered"}
}

func (t *target) describe() TargetHealth {
	return TargetHealth{
		Target:      t.addr,
		State:       t.state,
		Reason:      t.reason,
		Description: t.desc,
		InFlight:    t.inflight,
		Requests:    t.requests,
	}
}

// WaitState blocks until the target at addr is in state want (StateUnused
// once it is deregistered and drained) or ctx ends.
func (l *Listener) WaitState(ctx context.Context, addr netip.AddrPort, want State) error {
	addr = canonical(addr)
	for {
		l.mu.Lock()
		state := StateUnused
		if t, ok := l.byAddr[addr]; ok {
			state = t.state
		}
		changed := l.changed
		l.mu.Unlock()
		if state == want {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("lb: target %s is %s, waiting for %s: %w", addr, state, want, ctx.Err())
		}
	}
}

// setStateLocked moves t to state s, says so in the log and wakes
// WaitState.
func (l *Listener) setStateLocked(t *target, s State, reason, desc string) {
	if t.state == s {
		t.reason, t.desc = reason, desc
		return
	}
	l.log.Info("target state", "target", t.host, "from", string(t.state), "to", string(s), "reason", reason, "description", desc)
	t.state, t.reason, t.desc = s, reason, desc
	l.notifyLocked()
}

func (l *Listener) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// dropLocked forgets a target and tells whoever waits for it to drain.
// The caller closes its idle connections once it holds no lock.
func (l *Listener) dropLocked(t *target, why string) {
	l.targets = slices.DeleteFunc(l.targets, func(o *target) bool { return o == t })
	delete(l.byAddr, t.addr)
	l.removeLocked(t, why)
	l.notifyLocked()
}

// removeLocked ends a target's life apart from the listener's lists.
func (l *Listener) removeLocked(t *target, why string) {
	if t.removed {
		return
	}
	t.removed = true
	t.cancel()
	if t.timer != nil && t.timer.Stop() {
		l.bg.Done() // the timer's function will not run
	}
	if t.drained == nil {
		t.drained = make(chan struct{})
	}
	close(t.drained)
	l.log.Info("target removed", "target", t.host, "why", why, "in_flight", t.inflight)
}

// pick chooses a target for one attempt of a request, skipping those
// already tried, and counts the request in flight on it; nil if none is
// fit. Only healthy targets are fit, or with FailOpen and no healthy one,
// unhealthy targets.
func (l *Listener) pick(tried []*target) *target {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.pickLocked(tried, StateHealthy)
	if t == nil && l.cfg.FailOpen {
		t = l.pickLocked(tried, StateUnhealthy)
	}
	if t != nil {
		t.inflight++
		t.requests++
	}
	return t
}

func (l *Listener) pickLocked(tried []*target, want State) *target {
	var buf [16]*target
	fit := buf[:0]
	for _, t := range l.targets {
		if t.state == want && !slices.Contains(tried, t) {
			fit = append(fit, t)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	if l.cfg.Algorithm == LeastOutstandingRequests {
		// Keep only the least busy, and take those in turn.
		least := fit[0].inflight
		for _, t := range fit {
			least = min(least, t.inflight)
		}
		n := 0
		for _, t := range fit {
			if t.inflight == least {
				fit[n] = t
				n++
			}
		}
		fit = fit[:n]
	}
	t := fit[l.turn%uint64(len(fit))]
	l.turn++
	return t
}

// release ends one attempt on t. A draining target whose last request
// ended is removed, and the waiting caller told.
func (l *Listener) release(t *target) {
	l.mu.Lock()
	t.inflight--
	idle := t.inflight == 0 && (t.removed || t.state == StateDraining)
	if idle && !t.removed {
		l.dropLocked(t, "drained: no request in flight")
	}
	l.mu.Unlock()
	if idle {
		t.tr.CloseIdleConnections()
	}
}
