package ecs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher/lb"
	"github.com/berth-dev/berth/metadata"
)

// The service scheduler keeps each service's desiredCount tasks running.
// Each service has one reconciler goroutine (serviceRun.run), woken by the
// changes of its tasks (the Runner's subscription), by its load
// balancer's targets turning healthy, by UpdateService and DeleteService,
// and by its back-off timer; between those it sleeps, so idle services
// cost no CPU. A pass reads the service from the index and its tasks from
// the runner, and starts, drains and stops tasks to bring the PRIMARY
// deployment to desiredCount within the deployment configuration's
// bounds. The index keeps the service, so a restarted berth resumes
// where it stopped; the runner reattaches the tasks.

// ServiceConfig tunes the service scheduler.
type ServiceConfig struct {
	// DeregistrationDelay is how long a load-balanced task is drained
	// before the scheduler stops it (when requests are still in flight);
	// default lb's (10 s).
	DeregistrationDelay time.Duration
	// HealthCheck is the listener's HTTP check of each task; lb's
	// defaults.
	HealthCheck lb.HealthCheck
	// RestartDelay is the first wait before starting a task again after
	// one that never started; it doubles with each further one, up to
	// MaxRestartDelay. Defaults 5 s and 5 minutes.
	RestartDelay, MaxRestartDelay time.Duration
}

func (c ServiceConfig) withDefaults() ServiceConfig {
	if c.RestartDelay <= 0 {
		c.RestartDelay = 5 * time.Second
	}
	if c.MaxRestartDelay <= 0 {
		c.MaxRestartDelay = 5 * time.Minute
	}
	return c
}

// Run runs the service scheduler until ctx ends: once the runner has
// reattached to the tasks of before a restart, every service resumes.
// When ctx ends the listeners close and the tasks keep running, for the
// next start to take up.
func (a *API) Run(ctx context.Context) error {
	select {
	case <-a.runner.Recovered():
	case <-ctx.Done():
		return nil
	}
	return a.sched.run(ctx)
}

type serviceKey struct{ cluster, name string }

type scheduler struct {
	a   *API
	cfg ServiceConfig
	log *slog.Logger

	mu       sync.Mutex
	ctx      context.Context // nil until run
	services map[serviceKey]*serviceRun
	wg       sync.WaitGroup
}

func newScheduler(a *API, cfg ServiceConfig) *scheduler {
	return &scheduler{a: a, cfg: cfg.withDefaults(), log: a.cfg.Log, services: map[serviceKey]*serviceRun{}}
}

func (s *scheduler) run(ctx context.Context) error {
	changes := s.a.runner.Subscribe(ctx)
	s.mu.Lock()
	s.ctx = ctx
	s.mu.Unlock()
	q := metadata.ServiceQuery{Limit: 500}
	for {
		page, err := s.a.store.Services(ctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while reading: not a failure
			}
			return fmt.Errorf("ecs: reading services: %w", err)
		}
		for _, svc := range page {
			q.AfterCluster, q.AfterName = svc.Cluster, svc.Name
			if svc.Status == serviceInactive {
				continue
			}
			if _, err := s.add(ctx, svc.Cluster, svc.Name); err != nil {
				s.log.Error("ecs: resuming a service", "cluster", svc.Cluster, "service", svc.Name, "err", err)
			}
		}
		if len(page) < q.Limit {
			break
		}
	}
	for t := range changes {
		name, ok := strings.CutPrefix(t.Group, "service:")
		if !ok {
			continue
		}
		cluster, _ := s.a.arns.clusterName(t.ClusterArn)
		s.mu.Lock()
		sr := s.services[serviceKey{cluster, name}]
		s.mu.Unlock()
		if sr != nil {
			sr.taskChanged(t)
		}
	}
	s.wg.Wait()
	return nil
}

// add starts the reconciler of a service unless it runs, and returns the
// service's record (with its listener's address once it has one).
// Before run, the record is returned as it is: run takes it up.
func (s *scheduler) add(ctx context.Context, cluster, name string) (serviceRecord, error) {
	key := serviceKey{cluster, name}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.ctx.Err() != nil {
		return s.a.serviceRecord(ctx, cluster, name)
	}
	if sr := s.services[key]; sr != nil && !sr.ended.Load() {
		sr.kick()
		return s.a.serviceRecord(ctx, cluster, name)
	}
	sr := &serviceRun{s: s, key: key, kickc: make(chan struct{}, 1),
		targets: map[string]netip.AddrPort{}, draining: map[string]bool{}, failed: map[string]int{}, counted: map[string]bool{}}
	rec, err := sr.bind(ctx)
	if err != nil {
		return rec, err
	}
	s.services[key] = sr
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sr.run(s.ctx)
		s.mu.Lock()
		sr.ended.Store(true) // a service created again under its name gets a new run
		if s.services[key] == sr {
			delete(s.services, key)
		}
		s.mu.Unlock()
		// Created again while this run was ending: it gets a new one.
		if rec, err := s.a.serviceRecord(s.ctx, cluster, name); err == nil && rec.Service.Status != serviceInactive {
			if _, err := s.add(s.ctx, cluster, name); err != nil && s.ctx.Err() == nil {
				s.log.Error("ecs: resuming a service", "cluster", cluster, "service", name, "err", err)
			}
		}
	}()
	return rec, nil
}

// kick wakes a service's reconciler, if it runs.
func (s *scheduler) kick(cluster, name string) {
	s.mu.Lock()
	sr := s.services[serviceKey{cluster, name}]
	s.mu.Unlock()
	if sr != nil {
		sr.kick()
	}
}

// serviceRun reconciles one service.
type serviceRun struct {
	s     *scheduler
	key   serviceKey
	kickc chan struct{}
	ended atomic.Bool // run has returned

	listener *lb.Listener // nil without loadBalancers
	lbc      ServiceLoadBalancer

	// The reconciler's own: the back-off (tasks in a row that never
	// started, when the next may start, failed tasks by deployment, the
	// failures the last event told of), the live tasks of the last pass
	// with their states, the registered target of each task, and the
	// tasks being drained before they are stopped.
	failures   int
	nextLaunch time.Time
	failed     map[string]int
	told       int
	known      map[string]string
	counted    map[string]bool // tasks whose failure the back-off has counted
	targets    map[string]netip.AddrPort
	draining   map[string]bool
	watchers   sync.WaitGroup
}

func (sr *serviceRun) kick() {
	select {
	case sr.kickc <- struct{}{}:
	default:
	}
}

// bind starts the service's listener (loadBalancers only) on the port it
// had before a restart, or a free one, and records its address.
func (sr *serviceRun) bind(ctx context.Context) (serviceRecord, error) {
	a := sr.s.a
	rec, err := a.serviceRecord(ctx, sr.key.cluster, sr.key.name)
	if err != nil || len(rec.Service.LoadBalancers) == 0 {
		return rec, err
	}
	sr.lbc = rec.Service.LoadBalancers[0]
	cfg := lb.Config{DeregistrationDelay: sr.s.cfg.DeregistrationDelay, HealthCheck: sr.s.cfg.HealthCheck,
		Logger: sr.s.log.With("service", sr.key.name, "cluster", sr.key.cluster)}
	l, err := lb.Listen(ctx, rec.ListenerPort, cfg)
	if err != nil && rec.ListenerPort != 0 {
		sr.s.log.Warn("ecs: a service's listener cannot take its port again; it takes another", "service", sr.key.name, "port", rec.ListenerPort, "err", err)
		l, err = lb.Listen(ctx, 0, cfg)
	}
	if err != nil {
		return rec, err
	}
	sr.listener = l
	addr := l.Addr()
	sr.s.log.Info("ecs: service load balancer listening", "cluster", sr.key.cluster, "service", sr.key.name, "address", "http://"+addr.String())
	return a.changeService(ctx, sr.key.cluster, sr.key.name, func(rec *serviceRecord) error {
		rec.ListenerPort = int(addr.Port())
		for i := range rec.Service.LoadBalancers {
			rec.Service.LoadBalancers[i].LoadBalancerName = addr.String()
		}
		return nil
	})
}

// taskChanged wakes the reconciler for a change of one of the
// service's tasks.
func (sr *serviceRun) taskChanged(Task) { sr.kick() }

// observe takes note of the tasks a pass sees, and of those it saw
// before that have stopped since: a task stopping without ever having
// run lengthens the back-off (once), one newly running resets it.
func (sr *serviceRun) observe(ctx context.Context, tasks []Task) {
	seen := make(map[string]string, len(tasks))
	failed := func(t Task) {
		if sr.counted[t.ID()] || t.DesiredStatus != StatusStopped || !t.StartedAt.IsZero() ||
			t.StopCode == string(StopServiceSchedulerInitiated) || t.StopCode == string(StopUserInitiated) {
			return
		}
		sr.counted[t.ID()] = true
		sr.failures++
		delay := sr.s.cfg.RestartDelay << min(sr.failures-1, 20)
		sr.nextLaunch = time.Now().Add(min(delay, sr.s.cfg.MaxRestartDelay))
		sr.failed[t.StartedBy]++
	}
	for _, t := range tasks {
		seen[t.ID()] = t.LastStatus
		if t.LastStatus == StatusRunning && sr.known[t.ID()] != StatusRunning {
			sr.failures = 0
		}
		failed(t)
	}
	for id := range sr.known {
		if _, ok := seen[id]; ok {
			continue
		}
		if t, err := sr.s.a.runner.Task(ctx, id); err == nil {
			failed(t)
		}
	}
	for id := range sr.counted {
		if _, ok := seen[id]; !ok {
			delete(sr.counted, id)
		}
	}
	sr.known = seen
}

// run reconciles until ctx ends or the service is deleted.
func (sr *serviceRun) run(ctx context.Context) {
	defer func() {
		if sr.listener != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			sr.listener.Shutdown(sctx)
			cancel()
		}
		sr.watchers.Wait()
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		wait, done := sr.reconcile(ctx)
		if done {
			return
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-sr.kickc:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// taskView is one live task as a reconcile pass sees it.
type taskView struct {
	t          Task
	deployment string
	primary    bool
	stopping   bool // desired STOPPED, or being drained
	healthy    bool
}

// reconcile is one pass; wait > 0 asks for another after it (a back-off),
// done says the service is gone.
func (sr *serviceRun) reconcile(ctx context.Context) (wait time.Duration, done bool) {
	a, cluster, name := sr.s.a, sr.key.cluster, sr.key.name
	log := sr.s.log.With("cluster", cluster, "service", name)
	rec, err := a.serviceRecord(ctx, cluster, name)
	if errors.Is(err, metadata.ErrServiceUnknown) {
		return 0, true
	}
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("ecs: reading a service", "err", err)
		}
		return time.Second, false
	}
	if rec.Service.Status == serviceInactive {
		return 0, true
	}
	tasks, err := a.runner.Tasks(ctx, TaskFilter{Cluster: cluster, Group: ServiceGroup(name), Live: true})
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("ecs: reading a service's tasks", "err", err)
		}
		return time.Second, false
	}
	sr.observe(ctx, tasks)
	now := a.cfg.Now()
	var events []string
	primaryID := rec.primary().ID

	// The load balancer follows the tasks: running ones are targets,
	// those that left are deregistered.
	live := map[string]bool{}
	var registered []string
	for _, t := range tasks {
		id := t.ID()
		running := t.LastStatus == StatusRunning && t.DesiredStatus == StatusRunning
		if !running && t.DesiredStatus == StatusStopped {
			delete(sr.draining, id)
		}
		if running {
			live[id] = true
		}
		if sr.listener == nil || !running || sr.draining[id] {
			continue
		}
		if _, ok := sr.targets[id]; ok {
			continue
		}
		addr, ok := sr.targetAddr(t)
		if !ok {
			continue
		}
		if err := sr.listener.Register(addr, lb.Checked); err != nil {
			log.Warn("ecs: registering a task with the service's load balancer", "task", id, "err", err)
			continue
		}
		sr.targets[id] = addr
		registered = append(registered, id)
		sr.watch(ctx, addr)
	}
	if len(registered) > 0 {
		events = append(events, fmt.Sprintf("registered %d targets in (listener %s)", len(registered), sr.listener.Addr()))
	}
	var gone int
	for id, addr := range sr.targets {
		if !live[id] && !sr.draining[id] {
			sr.listener.Deregister(addr)
			delete(sr.targets, id)
			gone++
		}
	}
	if gone > 0 {
		events = append(events, fmt.Sprintf("deregistered %d targets in (listener %s)", gone, sr.listener.Addr()))
	}
	for id := range sr.draining {
		if !slices.ContainsFunc(tasks, func(t Task) bool { return t.ID() == id }) {
			delete(sr.draining, id)
		}
	}

	views := make([]taskView, 0, len(tasks))
	for _, t := range tasks {
		v := taskView{t: t, deployment: t.StartedBy, primary: t.StartedBy == primaryID}
		v.stopping = t.DesiredStatus == StatusStopped || sr.draining[t.ID()]
		v.healthy = !v.stopping && t.LastStatus == StatusRunning && t.HealthStatus != healthUnhealthy
		if v.healthy && sr.listener != nil {
			addr, ok := sr.targets[t.ID()]
			v.healthy = ok && sr.listener.Target(addr).State == lb.StateHealthy
		}
		views = append(views, v)
	}

	desired := rec.Service.DesiredCount
	if rec.Service.Status != serviceActive {
		desired = 0
	}
	minPct, maxPct := rec.Service.DeploymentConfiguration.percents()
	minHealthy := (desired*minPct + 99) / 100
	maxTotal := desired * maxPct / 100

	var stops []taskView
	// Extra tasks of the primary deployment go: those not yet running
	// first, then unhealthy ones, then the newest.
	var primary []taskView
	for _, v := range views {
		if v.primary && !v.stopping {
			primary = append(primary, v)
		}
	}
	slices.SortStableFunc(primary, func(x, y taskView) int {
		if x.healthy != y.healthy {
			if x.healthy {
				return 1
			}
			return -1
		}
		return y.t.CreatedAt.Compare(x.t.CreatedAt.Time)
	})
	if extra := len(primary) - desired; extra > 0 {
		stops = append(stops, primary[:extra]...)
		primary = primary[extra:]
	}
	// Tasks of other deployments go as fast as minimumHealthyPercent
	// allows: unhealthy ones at once, healthy ones while enough stay.
	healthy := 0
	for _, v := range views {
		if v.healthy && !slices.ContainsFunc(stops, func(s taskView) bool { return s.t.TaskArn == v.t.TaskArn }) {
			healthy++
		}
	}
	var old []taskView
	for _, v := range views {
		if !v.primary && !v.stopping {
			if v.healthy {
				old = append(old, v)
			} else {
				stops = append(stops, v)
			}
		}
	}
	oldLeft := 0
	for _, v := range old {
		if healthy-1 >= minHealthy {
			stops = append(stops, v)
			healthy--
		} else {
			oldLeft++
		}
	}
	var stopped, drained []string
	for _, v := range stops {
		if sr.stop(ctx, v, log) {
			drained = append(drained, v.t.ID())
		} else {
			stopped = append(stopped, v.t.ID())
		}
	}
	if len(drained) > 0 {
		events = append(events, fmt.Sprintf("has begun draining connections on %d tasks.", len(drained)))
	}
	if len(stopped) > 0 {
		events = append(events, fmt.Sprintf("has stopped %d running tasks: %s.", len(stopped), taskList(stopped)))
	}

	// New tasks of the primary deployment, within maximumPercent: every
	// live task takes room until it has stopped.
	occupied := len(views)
	need := desired - len(primary)
	room := maxTotal - occupied
	if oldLeft == 0 {
		room = max(room, need)
	}
	if n := min(need, room, 10); n > 0 {
		if d := sr.nextLaunch.Sub(time.Now()); d > 0 {
			wait = d
			if sr.failures != sr.told {
				sr.told = sr.failures
				events = append(events, fmt.Sprintf("is unable to consistently start tasks successfully: %d in a row failed to start; the next starts in %s.", sr.failures, d.Round(100*time.Millisecond)))
			}
		} else if started, err := sr.launch(ctx, rec, n); err != nil {
			if ctx.Err() == nil {
				log.Warn("ecs: starting a service's tasks", "err", err)
				events = append(events, "was unable to place a task: "+err.Error())
			}
			wait = sr.s.cfg.RestartDelay
		} else {
			for _, id := range started {
				sr.known[id] = StatusProvisioning // a task that fails before the next pass counts
			}
			events = append(events, fmt.Sprintf("has started %d tasks: %s.", len(started), taskList(started)))
		}
	}

	// The record follows: counts, deployments, events.
	failed := sr.failed
	sr.failed = map[string]int{}
	_, err = a.changeService(ctx, cluster, name, func(r *serviceRecord) error {
		sr.record(r, views, failed, events, now)
		return nil
	})
	if err != nil && ctx.Err() == nil {
		log.Warn("ecs: recording a service's state", "err", err)
	}
	if rec.Service.Status == serviceDraining && len(tasks) == 0 {
		return 0, true
	}
	return wait, false
}

// record writes what a pass saw and did into r, which may have changed
// since the pass read it (an UpdateService): counts go to the
// deployments they belong to by id.
func (sr *serviceRun) record(r *serviceRecord, views []taskView, failed map[string]int, events []string, now time.Time) {
	s := &r.Service
	for _, msg := range events {
		r.event(now, msg)
	}
	s.RunningCount, s.PendingCount = 0, 0
	type counts struct{ running, pending, live, healthy int }
	by := map[string]*counts{}
	for _, v := range views {
		c := by[v.deployment]
		if c == nil {
			c = &counts{}
			by[v.deployment] = c
		}
		c.live++
		if v.healthy {
			c.healthy++
		}
		switch v.t.LastStatus {
		case StatusRunning:
			if !v.stopping {
				c.running++
				s.RunningCount++
			}
		case StatusProvisioning, StatusPending, StatusActivating:
			c.pending++
			s.PendingCount++
		}
	}
	ts := awsjson.NewTime(now)
	kept := s.Deployments[:0]
	for i, d := range s.Deployments {
		c := by[d.ID]
		if c == nil {
			c = &counts{}
		}
		if n := failed[d.ID]; n > 0 {
			d.FailedTasks += n
			d.UpdatedAt = ts
		}
		if d.RunningCount != c.running || d.PendingCount != c.pending {
			d.RunningCount, d.PendingCount, d.UpdatedAt = c.running, c.pending, ts
		}
		if i > 0 {
			if c.live == 0 {
				continue // an old deployment with no task left is over
			}
			d.DesiredCount = c.live
		}
		kept = append(kept, d)
	}
	s.Deployments = kept
	p := &s.Deployments[0]
	c := by[p.ID]
	if c == nil {
		c = &counts{}
	}
	steady := len(s.Deployments) == 1 && c.live == s.DesiredCount && c.healthy == s.DesiredCount
	if s.Status == serviceActive && steady && p.RolloutState != rolloutCompleted {
		p.RolloutState, p.RolloutStateReason, p.UpdatedAt = rolloutCompleted, "ECS deployment "+p.ID+" completed.", ts
		r.event(now, "("+"deployment "+p.ID+") deployment completed.")
		r.event(now, "has reached a steady state.")
	}
	if s.Status == serviceDraining && len(views) == 0 {
		s.Status = serviceInactive
		r.event(now, "has been deleted.")
	}
}

// launch starts n tasks of the primary deployment.
func (sr *serviceRun) launch(ctx context.Context, rec serviceRecord, n int) ([]string, error) {
	a := sr.s.a
	p := rec.primary()
	stored, ok, err := a.taskDefinition(ctx, p.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("task definition %s not found", p.TaskDefinition)
	}
	td, err := a.wireTaskDefinition(stored)
	if err != nil {
		return nil, err
	}
	tasks, err := a.runner.RunTasks(ctx, RunInput{Cluster: sr.key.cluster, Definition: td, Count: n, LaunchType: rec.Service.LaunchType,
		Group: ServiceGroup(sr.key.name), StartedBy: p.ID, Caller: rec.Caller})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID()
	}
	return ids, nil
}

// stop stops a task the scheduler no longer wants: a load-balanced one is
// drained first (it reports true), then stopped once drained.
func (sr *serviceRun) stop(ctx context.Context, v taskView, log *slog.Logger) (draining bool) {
	a, id := sr.s.a, v.t.ID()
	reason := "Scaling activity initiated by (deployment " + v.deployment + ")"
	stop := func() {
		if _, err := a.runner.StopTask(ctx, sr.key.cluster, id, StopServiceSchedulerInitiated, reason); err != nil && ctx.Err() == nil {
			log.Warn("ecs: stopping a service's task", "task", id, "err", err)
		}
	}
	addr, ok := sr.targets[id]
	if !ok {
		stop()
		return false
	}
	delete(sr.targets, id)
	ch, err := sr.listener.Deregister(addr)
	if err != nil {
		stop()
		return false
	}
	sr.draining[id] = true
	sr.watchers.Add(1)
	go func() {
		defer sr.watchers.Done()
		select {
		case <-ch:
		case <-ctx.Done():
			return // the next start drains it again
		}
		stop()
		sr.kick()
	}()
	return true
}

// watch wakes the reconciler when the target at addr turns healthy: a
// rolling update may then stop an old task.
func (sr *serviceRun) watch(ctx context.Context, addr netip.AddrPort) {
	sr.watchers.Add(1)
	go func() {
		defer sr.watchers.Done()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		if sr.listener.WaitState(wctx, addr, lb.StateHealthy) == nil {
			sr.kick()
		}
	}()
}

// targetAddr is the loopback address where task t publishes the load
// balancer's container port.
func (sr *serviceRun) targetAddr(t Task) (netip.AddrPort, bool) {
	for _, c := range t.Containers {
		if c.Name != sr.lbc.ContainerName {
			continue
		}
		for _, b := range c.NetworkBindings {
			if b.ContainerPort == sr.lbc.ContainerPort && (b.Protocol == "" || b.Protocol == "tcp") && b.HostPort > 0 {
				return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(b.HostPort)), true
			}
		}
	}
	return netip.AddrPort{}, false
}

// taskList is ECS's way of naming tasks in an event: (task a) (task b).
func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}
