package lambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// environment is one execution environment: a container that runs one
// version of a function, and the Runtime API server its runtime polls.
// It serves one invocation at a time; the runner's pool hands it out.
type environment struct {
	id     string // 32 hex digits; the end of its log stream's name
	r      *Runner
	v      Version
	key    poolKey
	stream string // the log stream, YYYY/MM/DD/[version]id
	log    *slog.Logger

	srv       *http.Server
	addr      string // host:port of the Runtime API, AWS_LAMBDA_RUNTIME_API
	container string
	logs      LogStream // nil without a log sink

	// work hands an invocation to the runtime's /next long poll.
	work chan *invocation
	// started is when the container was started; initDuration is set
	// before ready is closed, at the runtime's first /next.
	started      time.Time
	initDuration time.Duration
	ready        chan struct{}
	readyOnce    sync.Once
	// initErr and initErrType are set before failed is closed, when the
	// runtime posts /init/error.
	initErr     []byte
	initErrType string
	failed      chan struct{}
	failOnce    sync.Once
	// exit is set before exited is closed, when the container ends.
	exit   launcher.Exit
	exited chan struct{}
	// stopLogs ends the log follower.
	stopLogs context.CancelFunc

	mu       sync.Mutex
	current  *invocation // the invocation the runtime holds
	invoked  bool        // it has had an invocation: Init Duration is reported once
	tail     tailBuffer  // the log of the current invocation (and, before the first, of init)
	since    time.Time   // the start of the current invocation, but the first's
	lastLine time.Time   // when the container's last output line arrived
	lastUsed time.Time   // when it last finished an invocation
	peak     uint64      // the most memory it was seen using
	removed  bool
}

// invocation is one request to a function as an environment runs it.
type invocation struct {
	id      string
	req     Request
	traceID string
	// start and deadline are set before the invocation is handed to the
	// runtime.
	start    time.Time
	deadline time.Time
	// done receives the one outcome that finished the invocation; finished
	// (guarded by the environment's mu) says one has.
	done     chan outcome
	finished bool
}

// outcome is how an invocation ended.
type outcome struct {
	// payload is the response, or the error document when errorType is set.
	payload   []byte
	errorType string
	// platform names the error Lambda itself reports (Sandbox.Timedout,
	// Runtime.ExitError), which the REPORT line shows as its status.
	platform string
	at       time.Time
}

// ServeHTTP serves the environment's Runtime API.
func (e *environment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call, err := parseRuntimeCall(r.Method, r.URL.Path)
	if err != nil {
		writeRuntimeError(w, err)
		return
	}
	switch call.kind {
	case callNext:
		e.next(w, r)
	case callResponse, callError:
		e.answer(w, r, call)
	case callInitError:
		e.initError(w, r)
	}
}

// next waits for the environment's next invocation and hands it to the
// runtime. The first call means init is done.
func (e *environment) next(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	holding := e.current != nil && !e.current.finished
	e.mu.Unlock()
	if holding {
		// The runtime asks for more before it answered what it holds.
		writeRuntimeError(w, errStateTransition)
		return
	}
	e.readyOnce.Do(func() {
		e.initDuration = time.Since(e.started)
		close(e.ready)
	})
	select {
	case inv := <-e.work:
		e.mu.Lock()
		e.current = inv
		e.mu.Unlock()
		writeInvocation(w, inv)
	case <-r.Context().Done():
	}
}

// answer takes a runtime's /response or /error for the invocation it
// holds, unless that invocation is over (answered, timed out).
func (e *environment) answer(w http.ResponseWriter, r *http.Request, call runtimeCall) {
	e.mu.Lock()
	inv := e.current
	e.mu.Unlock()
	if inv == nil || inv.id != call.requestID {
		writeRuntimeError(w, errInvalidRequestID)
		return
	}
	limit := int64(MaxPayload)
	if call.kind == callError {
		limit = maxErrorBody
	}
	body, err := readPayload(r, limit)
	var out outcome
	switch {
	case errors.Is(err, errTooLarge) && call.kind == callResponse:
		out = outcome{errorType: "Function.ResponseSizeTooLarge", payload: errorDocument("Function.ResponseSizeTooLarge",
			"Response payload size exceeded maximum allowed payload size (6291556 bytes).")}
	case err != nil:
		writeRuntimeError(w, err)
		return
	case call.kind == callError:
		if len(body) == 0 {
			body = errorDocument(errorType(r.Header.Get(hdrErrorType), nil), "")
		}
		out = outcome{payload: body, errorType: errorType(r.Header.Get(hdrErrorType), body)}
	default:
		out = outcome{payload: body}
		if typ, doc, failed := streamedError(r.Trailer); failed {
			out = outcome{payload: doc, errorType: typ}
		}
	}
	if !e.complete(inv, out) {
		writeRuntimeError(w, errStateTransition)
		return
	}
	if err != nil {
		writeRuntimeError(w, err)
		return
	}
	writeAccepted(w)
}

// complete finishes inv with out, unless it is finished already or past
// its deadline: a response after the deadline never counts.
func (e *environment) complete(inv *invocation, out outcome) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if inv.finished || now.After(inv.deadline) {
		return false
	}
	inv.finished = true
	out.at = now
	inv.done <- out
	return true
}

// initError takes the runtime's report that its init failed; after the
// first /next it is out of order.
func (e *environment) initError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.ready:
		writeRuntimeError(w, errStateTransition)
		return
	default:
	}
	body, err := readPayload(r, maxErrorBody)
	if err != nil {
		writeRuntimeError(w, err)
		return
	}
	e.failOnce.Do(func() {
		if len(body) == 0 {
			body = errorDocument(errorType(r.Header.Get(hdrErrorType), nil), "")
		}
		e.initErr, e.initErrType = body, errorType(r.Header.Get(hdrErrorType), body)
		close(e.failed)
	})
	writeAccepted(w)
}

// invoke runs inv in the environment: it waits for init to finish (the
// runtime's first /next), hands inv over and waits for the runtime's
// answer, the container's exit or the deadline. dead says the
// environment must not be used again.
func (e *environment) invoke(inv *invocation) (out outcome, dead bool) {
	timeout := e.v.Timeout
	select {
	case <-e.ready:
	default:
		// Lambda allows init 10 s and then, on demand, runs it again as
		// part of the invocation with the function's timeout; waiting
		// that long once is the same to the caller.
		limit := time.NewTimer(e.r.cfg.InitTimeout + timeout)
		defer limit.Stop()
		select {
		case <-e.ready:
		case <-e.failed:
			return e.initFailure(), true
		case <-e.exited:
			select {
			case <-e.failed: // it reported why before it exited
				return e.initFailure(), true
			default:
			}
			return e.exitOutcome(inv), true
		case <-limit.C:
			return e.timeoutOutcome(inv), true
		}
	}
	e.begin(inv)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case e.work <- inv:
	case <-e.exited:
		return e.exitOutcome(inv), true
	case <-timer.C:
		return e.timeoutOutcome(inv), true
	}
	timedOut := false
	select {
	case out := <-inv.done:
		return out, e.hasExited()
	case <-e.exited:
	case <-timer.C:
		timedOut = true
	}
	// An answer that came in as the container exited or the deadline
	// passed still counts; after this, none does.
	e.mu.Lock()
	if inv.finished {
		e.mu.Unlock()
		return <-inv.done, true
	}
	inv.finished = true
	e.mu.Unlock()
	if timedOut {
		return e.timeoutOutcome(inv), true
	}
	return e.exitOutcome(inv), true
}

// begin starts inv's clock and its log: the START line, and a fresh tail
// unless this is the environment's first invocation, whose tail keeps
// what init printed.
func (e *environment) begin(inv *invocation) {
	now := time.Now()
	inv.start, inv.deadline = now, now.Add(e.v.Timeout)
	e.mu.Lock()
	if e.invoked {
		e.tail.reset()
		e.since = now
	}
	e.invoked = true
	e.mu.Unlock()
	e.platform(now, "START RequestId: "+inv.id+" Version: "+e.v.Version, true)
}

func (e *environment) hasExited() bool {
	select {
	case <-e.exited:
		return true
	default:
		return false
	}
}

// initFailure is the outcome of an init the runtime reported failed: its
// own error document.
func (e *environment) initFailure() outcome {
	return outcome{payload: e.initErr, errorType: e.initErrType, platform: e.initErrType, at: time.Now()}
}

// timeoutOutcome is Lambda's Sandbox.Timedout.
func (e *environment) timeoutOutcome(inv *invocation) outcome {
	msg := fmt.Sprintf("Task timed out after %.2f seconds", e.v.Timeout.Seconds())
	now := time.Now()
	e.platform(now, now.UTC().Format("2006-01-02T15:04:05.000Z")+" "+inv.id+" "+msg, true)
	return outcome{
		payload:   errorDocument("Sandbox.Timedout", "RequestId: "+inv.id+" Error: "+msg),
		errorType: "Sandbox.Timedout", platform: "timeout", at: now,
	}
}

// exitOutcome is Lambda's Runtime.ExitError for a container that ended
// while it held (or was to get) inv.
func (e *environment) exitOutcome(inv *invocation) outcome {
	msg := "Runtime exited with error: " + exitReason(e.exit)
	if e.exit.Code == 0 && !e.exit.OOMKilled {
		msg = "Runtime exited without providing a reason"
	}
	now := time.Now()
	e.platform(now, "RequestId: "+inv.id+" Error: "+msg, true)
	e.platform(now, "Runtime.ExitError", true)
	return outcome{
		payload:   errorDocument("Runtime.ExitError", "RequestId: "+inv.id+" Error: "+msg),
		errorType: "Runtime.ExitError", platform: "Runtime.ExitError", at: now,
	}
}

// exitReason says how a process ended in the words of Go's os/exec, which
// Lambda's own messages use: "exit status 3", "signal: killed".
func exitReason(exit launcher.Exit) string {
	switch {
	case exit.OOMKilled:
		return "signal: killed"
	case exit.Code > 128 && exit.Code < 128+65:
		return "signal: " + syscall.Signal(exit.Code-128).String()
	}
	return "exit status " + strconv.Itoa(exit.Code)
}

// platform writes one of Lambda's own log lines (START, END, REPORT, the
// timeout notice) to the stream, and to the invocation's tail when
// toTail.
func (e *environment) platform(at time.Time, line string, toTail bool) {
	if e.logs != nil {
		e.logs.Write(at, line)
	}
	if toTail {
		e.mu.Lock()
		e.tail.add(line)
		e.mu.Unlock()
	}
}

// follow copies the container's output into its log stream and the
// current invocation's tail until the container ends.
func (e *environment) follow(ctx context.Context, src launcher.LogSource) {
	for line, err := range src.Logs(ctx, e.container, launcher.LogOptions{Follow: true}) {
		if err != nil {
			if ctx.Err() == nil {
				e.log.Debug("lambda: reading an environment's output", "environment", e.id, "err", err)
			}
			return
		}
		if e.logs != nil {
			e.logs.Write(line.Time, line.Text)
		}
		e.mu.Lock()
		// A line the engine read before this invocation began is the
		// last one's, late.
		if !line.Time.Before(e.since) {
			e.tail.add(line.Text)
		}
		e.lastLine = time.Now()
		e.mu.Unlock()
	}
}

// settle waits until the container's output has been quiet for quiet
// since the invocation ended at end (or until max after end): what a
// runtime printed before it answered reaches berth through the engine a
// moment after the answer.
func (e *environment) settle(end time.Time, quiet, max time.Duration) {
	limit := end.Add(max)
	for {
		e.mu.Lock()
		last := e.lastLine
		e.mu.Unlock()
		wake := maxTime(last, end).Add(quiet)
		now := time.Now()
		if !now.Before(wake) || !now.Before(limit) {
			return
		}
		time.Sleep(min(wake.Sub(now), limit.Sub(now)))
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// memoryPeak returns the most memory the environment was seen using,
// asking the engine when it can tell.
func (e *environment) memoryPeak(ctx context.Context) uint64 {
	if stats, ok := e.r.engine.(launcher.StatsSource); ok {
		if peak, err := stats.MemoryPeak(ctx, e.container); err == nil {
			e.mu.Lock()
			e.peak = max(e.peak, peak)
			e.mu.Unlock()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peak
}

// start creates and starts the environment's container, its Runtime API
// server and its log stream. On failure it leaves nothing behind.
func (e *environment) start(ctx context.Context) (err error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(e.r.cfg.Host, "0"))
	if err != nil {
		return fmt.Errorf("runtime API listener: %w", err)
	}
	e.addr = ln.Addr().String()
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(e.log.Handler(), slog.LevelDebug)}
	go e.srv.Serve(ln)
	defer func() {
		if err != nil {
			e.remove()
		}
	}()
	if e.r.cfg.Logs != nil {
		e.logs, err = e.r.cfg.Logs.Open(ctx, LogGroup(e.v.Name), e.stream)
		if err != nil {
			// The function runs without its log rather than not at all.
			e.log.Warn("lambda: opening a log stream", "function", e.v.Name, "stream", e.stream, "err", err)
			e.logs, err = nil, nil
		}
	}
	spec := e.spec()
	id, err := e.r.engine.Create(ctx, spec)
	if errors.Is(err, launcher.ErrImageNotFound) && e.v.Pull != nil {
		// The engine lost the image since the function became Active.
		if err = e.v.Pull(ctx); err == nil {
			id, err = e.r.engine.Create(ctx, spec)
		}
	}
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.container = id
	removed := e.removed
	e.mu.Unlock()
	if removed {
		// Removed while its container was being made (berth stopping
		// past its shutdown timeout): the container goes too.
		if err := e.r.engine.Remove(context.WithoutCancel(ctx), id); err != nil && !errors.Is(err, launcher.ErrNotFound) {
			e.log.Warn("lambda: removing an environment's container", "environment", e.id, "container", id, "err", err)
		}
		return ErrClosed
	}
	e.started = time.Now()
	if err := e.r.engine.Start(ctx, e.container); err != nil {
		return err
	}
	logCtx, stop := context.WithCancel(context.Background())
	e.stopLogs = stop
	if src, ok := e.r.engine.(launcher.LogSource); ok {
		go e.follow(logCtx, src)
	}
	go func() {
		exit, err := e.r.engine.Wait(context.Background(), e.container)
		if err != nil {
			exit = launcher.Exit{Code: -1, Error: err.Error()}
		}
		e.exit = exit
		close(e.exited)
	}()
	return nil
}

// remove kills and removes the container and stops the Runtime API
// server; it is safe to call more than once.
func (e *environment) remove() {
	e.mu.Lock()
	if e.removed {
		e.mu.Unlock()
		return
	}
	e.removed = true
	container := e.container // "" while start has not made it: start removes it then
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if container != "" {
		if err := e.r.engine.Remove(ctx, container); err != nil && !errors.Is(err, launcher.ErrNotFound) {
			e.log.Warn("lambda: removing an environment's container", "environment", e.id, "container", container, "err", err)
		}
	}
	if e.srv != nil {
		e.srv.Close()
	}
	if e.stopLogs != nil {
		e.stopLogs()
	}
	if e.logs != nil {
		if err := e.logs.Close(); err != nil {
			e.log.Warn("lambda: closing a log stream", "stream", e.stream, "err", err)
		}
	}
}
