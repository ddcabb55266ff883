package lambda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// Version is one version of a function as the runner runs it: what its
// execution environments are made of.
type Version struct {
	// Name is the function's name; Version "$LATEST" or a published
	// number.
	Name    string
	Version string
	// Revision tells configurations of one version apart ($LATEST changes
	// with every update): environments of another revision are not reused.
	Revision string
	// Image is the image the engine runs, pinned to its digest.
	Image string
	// EntryPoint, Command and WorkingDirectory override the image's.
	EntryPoint       []string
	Command          []string
	WorkingDirectory string
	// MemorySize in MB is the container's memory limit and sets its CPU
	// weight (1,769 MB is one vCPU).
	MemorySize int
	Timeout    time.Duration
	// EphemeralStorage in MB is the size of the writable /tmp.
	EphemeralStorage int
	// Environment is the function's own variables; the reserved ones are
	// the runner's.
	Environment map[string]string
	// Reserved caps the function's invocations in flight, across its
	// versions; nil leaves only the account's limit.
	Reserved *int
	// Pull fetches Image again when the engine no longer has it; nil
	// fails the invocation instead.
	Pull func(ctx context.Context) error
}

// Request is one invocation's input.
type Request struct {
	// RequestID is the invocation's id; "" makes a new one. An
	// asynchronous invocation keeps its id through its retries.
	RequestID string
	Payload   []byte
	// FunctionARN is the ARN the caller invoked, qualifier included.
	FunctionARN string
	// ClientContext is the caller's client context, as JSON.
	ClientContext string
	// Tail asks for the last 4 KB of the invocation's log (LogType Tail).
	Tail bool
}

// Result is how an invocation went.
type Result struct {
	RequestID string
	// Payload is the function's response or, when ErrorType is set, the
	// error document: the runtime's own, or Lambda's (Sandbox.Timedout,
	// Runtime.ExitError).
	Payload   []byte
	ErrorType string
	// LogTail is the end of the invocation's log when the request asked.
	LogTail []byte
	// Duration is the invocation's, Init the environment's init when the
	// invocation started it (a cold start), Billed what Lambda would bill.
	Duration, Init, Billed time.Duration
	MaxMemoryUsed          uint64
}

// ThrottleError refuses an invocation over a concurrency limit; Lambda
// answers it with TooManyRequestsException and this reason.
type ThrottleError struct {
	// Reason is ReservedFunctionConcurrentInvocationLimitExceeded or
	// ConcurrentInvocationLimitExceeded.
	Reason string
}

func (e *ThrottleError) Error() string { return "lambda: rate exceeded (" + e.Reason + ")" }

// ErrClosed is what Invoke returns once the runner is closed.
var ErrClosed = errors.New("lambda: the runner is closed")

// RunnerConfig configures a Runner; zero values take the defaults.
type RunnerConfig struct {
	// Host is where the environments' Runtime API servers listen, and
	// what their containers, in the host's network, reach:
	// 127.0.0.1.
	Host string
	// Region is AWS_REGION inside the functions.
	Region string
	// Instance names this berth on the engine (berth.instance): Run
	// removes only the leftovers of its own earlier runs, never another
	// berth's environments on the same engine.
	Instance string
	// AccountConcurrency caps invocations in flight across every function,
	// as the account's concurrency limit does (1,000).
	AccountConcurrency int
	// IdleTimeout is how long an environment lives without an invocation
	// (10 minutes).
	IdleTimeout time.Duration
	// InitTimeout is how long Lambda lets init run before it retries it
	// within the invocation (10 seconds).
	InitTimeout time.Duration
	// TailQuiet is how long a LogType Tail invocation waits for the
	// function's output to fall quiet after it answers, so that its last
	// lines are in the tail (100 ms, at most 10 times as long in all): the
	// engine reads a container's output up to tens of milliseconds late
	// when the machine is busy.
	TailQuiet time.Duration
	// Logs receives the environments' logs; nil keeps none.
	Logs LogSink
	// Observe, when set, is told each invocation's outcome (for metrics).
	Observe func(Observation)
	Log     *slog.Logger
}

// Observation is what the runner tells RunnerConfig.Observe of an
// invocation, once it is over.
type Observation struct {
	Function string
	// Throttled: the invocation was refused over a limit and did not run.
	Throttled bool
	// Error is the function's error type, "" when it succeeded.
	Error string
	// Duration is the invocation's; Billed what Lambda would bill (init
	// included); MemorySize the function's, in MB.
	Duration   time.Duration
	Billed     time.Duration
	MemorySize int
}

// GBSeconds is the compute Lambda bills for the invocation.
func (o Observation) GBSeconds() float64 {
	return float64(o.MemorySize) / 1024 * o.Billed.Seconds()
}

func (c *RunnerConfig) defaults() {
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.AccountConcurrency <= 0 {
		c.AccountConcurrency = 1000
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = 10 * time.Second
	}
	if c.TailQuiet <= 0 {
		c.TailQuiet = 100 * time.Millisecond
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Runner runs invocations in execution environments on a container
// engine: one invocation per environment at a time, warm environments
// reused (the most recently used first), a new one started when none is
// idle, up to the function's reserved concurrency or the account's limit,
// and idle ones stopped after IdleTimeout. It is safe for concurrent use.
type Runner struct {
	engine launcher.Runtime
	cfg    RunnerConfig

	mu         sync.Mutex
	pools      map[poolKey]*pool
	all        map[*environment]struct{}
	inflight   int
	byFunction map[string]int
	closed     bool

	work sync.WaitGroup // removals and reports in the background
}

// poolKey names the environments that may serve one another's
// invocations: the same revision of the same version.
type poolKey struct{ function, version, revision string }

// pool holds a version's idle environments, most recently used last.
type pool struct{ idle []*environment }

// NewRunner returns a runner on engine, whose optional LogSource and
// StatsSource give functions their logs and Max Memory Used.
func NewRunner(engine launcher.Runtime, cfg RunnerConfig) *Runner {
	cfg.defaults()
	return &Runner{
		engine:     engine,
		cfg:        cfg,
		pools:      map[poolKey]*pool{},
		all:        map[*environment]struct{}{},
		byFunction: map[string]int{},
	}
}

// Pull fetches image with auth, so that the function's first invocation
// need not.
func (r *Runner) Pull(ctx context.Context, image string, auth launcher.RegistryAuth) error {
	return r.engine.Pull(ctx, image, auth)
}

// Invoke runs one invocation of v. A function that fails is a Result
// with ErrorType, not an error; errors are a *ThrottleError, ErrClosed,
// or the engine's failure to start an environment.
func (r *Runner) Invoke(ctx context.Context, v Version, req Request) (Result, error) {
	e, err := r.acquire(ctx, v)
	if err != nil {
		var throttle *ThrottleError
		if errors.As(err, &throttle) {
			r.observe(Observation{Function: v.Name, Throttled: true})
		}
		return Result{}, err
	}
	id := req.RequestID
	if id == "" {
		id = launcher.NewUUID()
	}
	inv := &invocation{id: id, req: req, done: make(chan outcome, 1)}
	inv.traceID = traceID(time.Now(), launcher.NewID())
	e.mu.Lock()
	cold := !e.invoked
	e.mu.Unlock()
	out, dead := e.invoke(inv)
	return r.finish(e, inv, out, dead, cold), nil
}

// acquire admits an invocation of v under the concurrency limits and
// returns an idle environment of v, or a new one it started.
func (r *Runner) acquire(ctx context.Context, v Version) (*environment, error) {
	key := poolKey{v.Name, v.Version, v.Revision}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if v.Reserved != nil && r.byFunction[v.Name] >= *v.Reserved {
		r.mu.Unlock()
		return nil, &ThrottleError{Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
	}
	if r.inflight >= r.cfg.AccountConcurrency {
		r.mu.Unlock()
		return nil, &ThrottleError{Reason: "ConcurrentInvocationLimitExceeded"}
	}
	r.inflight++
	r.byFunction[v.Name]++
	p := r.pools[key]
	var stale []*environment
	if p == nil {
		p = &pool{}
		r.pools[key] = p
		// The version's environments of another revision serve no more.
		for k, other := range r.pools {
			if k.function == key.function && k.version == key.version && k != key {
				stale = append(stale, other.idle...)
				delete(r.pools, k)
			}
		}
	}
	if n := len(p.idle); n > 0 {
		e := p.idle[n-1]
		p.idle = p.idle[:n-1]
		r.mu.Unlock()
		r.discard(stale...)
		return e, nil
	}
	e := r.newEnvironment(v, key)
	r.all[e] = struct{}{}
	r.mu.Unlock()
	r.discard(stale...)
	// A caller that goes away does not stop a start half-way.
	if err := e.start(context.WithoutCancel(ctx)); err != nil {
		r.mu.Lock()
		r.leave(v.Name)
		r.mu.Unlock()
		r.discard(e) // a container made but not started goes too
		return nil, fmt.Errorf("starting an execution environment of %s: %w", v.Name, err)
	}
	return e, nil
}

// leave counts an invocation of function out; r.mu is held.
func (r *Runner) leave(function string) int {
	r.inflight--
	r.byFunction[function]--
	n := r.byFunction[function]
	if n == 0 {
		delete(r.byFunction, function)
	}
	return n
}

func (r *Runner) newEnvironment(v Version, key poolKey) *environment {
	id := launcher.NewID()
	return &environment{
		id:     id,
		r:      r,
		v:      v,
		key:    key,
		stream: LogStreamName(time.Now(), v.Version, id),
		log:    r.cfg.Log.With("function", v.Name, "version", v.Version, "environment", id),
		work:   make(chan *invocation),
		ready:  make(chan struct{}),
		failed: make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// finish logs the end of an invocation (END, and REPORT with what it
// cost), hands the environment back (or discards it) and returns the
// result. For a Tail invocation, and one that killed its environment, the
// report is written first; otherwise the environment is free again
// before the report, which waits for the engine's memory figure.
func (r *Runner) finish(e *environment, inv *invocation, out outcome, dead, cold bool) Result {
	rep := report{requestID: inv.id, memorySize: e.v.MemorySize, status: out.platform}
	if !inv.start.IsZero() {
		rep.duration = out.at.Sub(inv.start)
	}
	if out.platform == "timeout" && !inv.start.IsZero() {
		rep.duration = e.v.Timeout
	}
	if cold {
		rep.init = e.initDuration
		if rep.init == 0 { // init never finished
			rep.init = out.at.Sub(e.started)
		}
	}
	res := Result{RequestID: inv.id, Payload: out.payload, ErrorType: out.errorType,
		Duration: rep.duration, Init: rep.init, Billed: rep.billed()}
	end := func(toTail bool) {
		rep.maxMemory = e.memoryPeak(context.Background())
		e.platform(out.at, "END RequestId: "+inv.id, toTail)
		e.platform(out.at, rep.line(), toTail)
		r.observe(Observation{Function: e.v.Name, Error: out.errorType, Duration: rep.duration, Billed: rep.billed(), MemorySize: rep.memorySize})
	}
	if inv.req.Tail || dead {
		if inv.req.Tail && !dead {
			e.settle(out.at, r.cfg.TailQuiet, 10*r.cfg.TailQuiet)
		}
		end(true)
		res.MaxMemoryUsed = rep.maxMemory
		if inv.req.Tail {
			e.mu.Lock()
			res.LogTail = e.tail.last()
			e.mu.Unlock()
		}
		r.release(e, dead)
		return res
	}
	r.release(e, false)
	r.work.Go(func() { end(false) })
	return res
}

// release hands e back to its pool, or removes it when it is dead, its
// revision retired or the runner closed.
func (r *Runner) release(e *environment, dead bool) {
	r.mu.Lock()
	r.leave(e.v.Name)
	p := r.pools[e.key]
	if dead || r.closed || p == nil {
		delete(r.all, e)
		r.mu.Unlock()
		r.discard(e)
		return
	}
	e.mu.Lock()
	e.lastUsed = time.Now()
	e.mu.Unlock()
	p.idle = append(p.idle, e)
	r.mu.Unlock()
}

// discard removes environments in the background.
func (r *Runner) discard(envs ...*environment) {
	for _, e := range envs {
		r.mu.Lock()
		delete(r.all, e)
		r.mu.Unlock()
		r.work.Go(e.remove)
	}
}

// Retire stops the idle environments of function name (all of its
// versions) and keeps its busy ones from being reused: the function was
// deleted.
func (r *Runner) Retire(name string) {
	r.mu.Lock()
	var idle []*environment
	for k, p := range r.pools {
		if k.function == name {
			idle = append(idle, p.idle...)
			delete(r.pools, k)
		}
	}
	r.mu.Unlock()
	r.discard(idle...)
}

// InFlight returns each function's invocations in flight (Lambda's
// ConcurrentExecutions).
func (r *Runner) InFlight() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.byFunction)
}

// Environments counts the environments of function name that are alive
// (idle, busy or starting).
func (r *Runner) Environments(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for e := range r.all {
		if e.v.Name == name {
			n++
		}
	}
	return n
}

// Run removes the Lambda containers an earlier run of this berth
// instance left (their Runtime API servers died with it), then stops idle
// environments as they pass IdleTimeout, until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	left, err := r.engine.List(ctx, r.owner("", "").Labels())
	if err != nil {
		r.cfg.Log.Warn("lambda: listing the containers an earlier run left", "err", err)
	}
	for _, c := range left {
		r.mu.Lock()
		ours := false
		for e := range r.all {
			e.mu.Lock()
			ours = ours || e.container == c.ID
			e.mu.Unlock()
		}
		r.mu.Unlock()
		if !ours {
			if err := r.engine.Remove(ctx, c.ID); err != nil && !errors.Is(err, launcher.ErrNotFound) {
				r.cfg.Log.Warn("lambda: removing a container an earlier run left", "container", c.ID, "err", err)
			}
		}
	}
	tick := min(max(r.cfg.IdleTimeout/4, time.Second), time.Minute)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.reap(time.Now().Add(-r.cfg.IdleTimeout))
		}
	}
}

// reap stops the environments idle since before cutoff.
func (r *Runner) reap(cutoff time.Time) {
	r.mu.Lock()
	var old []*environment
	for _, p := range r.pools {
		keep := p.idle[:0]
		for _, e := range p.idle {
			e.mu.Lock()
			idle := e.lastUsed.Before(cutoff)
			e.mu.Unlock()
			if idle {
				old = append(old, e)
			} else {
				keep = append(keep, e)
			}
		}
		clear(p.idle[len(keep):])
		p.idle = keep
	}
	r.mu.Unlock()
	if len(old) > 0 {
		r.cfg.Log.Debug("lambda: stopping idle environments", "count", len(old))
	}
	r.discard(old...)
}

// Close refuses new invocations, removes every environment (waiting for
// those busy until ctx ends) and waits for the work in the background.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	var idle []*environment
	for _, p := range r.pools {
		idle = append(idle, p.idle...)
	}
	clear(r.pools)
	r.mu.Unlock()
	r.discard(idle...)
	done := make(chan struct{})
	go func() { r.work.Wait(); close(done) }()
	for {
		r.mu.Lock()
		busy := len(r.all)
		r.mu.Unlock()
		if busy == 0 {
			break
		}
		select {
		case <-ctx.Done():
			r.mu.Lock()
			rest := make([]*environment, 0, len(r.all))
			for e := range r.all {
				rest = append(rest, e)
			}
			r.mu.Unlock()
			for _, e := range rest {
				e.remove()
			}
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// owner is what the runner's containers belong to: Lambda, this berth,
// the function and the environment (empty fields match any).
func (r *Runner) owner(function, environment string) launcher.Owner {
	return launcher.Owner{Service: launcher.ServiceLambda, Instance: r.cfg.Instance, Function: function, Container: environment}
}

func (r *Runner) observe(o Observation) {
	if r.cfg.Observe != nil {
		r.cfg.Observe(o)
	}
}

// spec is the container of an environment: the function's image and
// configuration, the reserved variables, host networking (its runtime
// reaches the Runtime API on 127.0.0.1), a read-only root and a /tmp of
// EphemeralStorage, memory and CPU as MemorySize says.
func (e *environment) spec() launcher.Spec {
	env := maps.Clone(e.v.Environment)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, e.reserved())
	return launcher.Spec{
		Name:           "berth-lambda-" + e.v.Name + "-" + e.id[:12],
		Image:          e.v.Image,
		Entrypoint:     e.v.EntryPoint,
		Cmd:            e.v.Command,
		WorkingDir:     e.v.WorkingDirectory,
		Env:            env,
		Owner:          e.r.owner(e.v.Name, e.id),
		Limits:         launcher.Limits{Memory: int64(e.v.MemorySize) << 20, CPUShares: CPUShares(e.v.MemorySize)},
		Network:        launcher.NetworkHost,
		ReadOnlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": "size=" + strconv.Itoa(e.v.EphemeralStorage) + "m"},
	}
}

// reserved are the variables Lambda sets in every environment; a
// function's own may not override them. AWS_LAMBDA_MAX_CONCURRENCY is left
// out on purpose: it turns on multi-concurrency in aws-lambda-go.
func (e *environment) reserved() map[string]string {
	vars := map[string]string{
		"AWS_LAMBDA_RUNTIME_API":          e.addr,
		"AWS_LAMBDA_FUNCTION_NAME":        e.v.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     e.v.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(e.v.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME":       LogGroup(e.v.Name),
		"AWS_LAMBDA_LOG_STREAM_NAME":      e.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      e.r.cfg.Region,
		"AWS_DEFAULT_REGION":              e.r.cfg.Region,
		"LAMBDA_TASK_ROOT":                "/var/task",
		"LAMBDA_RUNTIME_DIR":              "/var/runtime",
		"TZ":                              ":UTC",
	}
	if len(e.v.Command) > 0 {
		vars["_HANDLER"] = e.v.Command[0]
	}
	return vars
}

// ReservedVariables are the environment variable names a function may not
// set.
var ReservedVariables = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// CPUShares is the CPU weight of a function of memory MB: 1,769 MB is one
// vCPU (1,024 shares). It is a weight, not a cap, so that a small function
// is not slowed down on an idle machine; under contention it gets its
// share.
func CPUShares(memory int) int64 {
	return max(2, int64(memory)*1024/1769)
}
