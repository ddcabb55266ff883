package ecs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/sidecar"
)

// A task's life is one goroutine, its supervisor (taskRun.run): it
// launches the task's containers, then takes the engine's events for
// them, stop and tag requests from its inbox, one at a time, and writes
// every change through to the index. Nothing else writes a live task's
// record, so no change is lost to a race.

// message is one thing for a supervisor to handle.
type message struct {
	event  *launcher.Event
	stop   *stopRequest
	tag    *tagRequest
	resync bool // the event stream broke: look at the containers again
}

type stopRequest struct {
	code   StopCode
	reason string
	reply  chan Task
}

type tagRequest struct {
	tags   []Tag
	remove []string
	reply  chan error
}

// taskRun supervises one task.
type taskRun struct {
	r *Runner
	// taskID and cluster never change; other goroutines read them.
	taskID, cluster string
	rec             taskRecord // the supervisor's own; others get copies
	inbox           *queue[message]
	done            chan struct{} // closed when the supervisor returns

	// launchMu guards the cancel of a launch in progress, which StopTask
	// calls so that a long pull does not delay the stop.
	launchMu     sync.Mutex
	launchCancel context.CancelFunc
	interrupted  bool

	stopping bool
	captures sync.WaitGroup // log captures of the task's containers

	// found are the task's containers the engine had when berth started
	// again (reattach).
	found []launcher.Container
}

func newTaskRun(r *Runner, rec taskRecord) *taskRun {
	return &taskRun{r: r, taskID: rec.Task.ID(), cluster: rec.Cluster, rec: rec, inbox: newQueue[message]()}
}

func (t *taskRun) id() string { return t.taskID }

// interruptLaunch cancels the launch in progress, if any.
func (t *taskRun) interruptLaunch() {
	t.launchMu.Lock()
	defer t.launchMu.Unlock()
	t.interrupted = true
	if t.launchCancel != nil {
		t.launchCancel()
	}
}

// startFailure is a task that could not start, with ECS's reason
// ("CannotPullContainerError: ...").
type startFailure struct{ reason string }

func (e *startFailure) Error() string { return e.reason }

// errInterrupted: a stop request cut the launch short.
var errInterrupted = errors.New("launch interrupted")

// run is the supervisor: launch (or, after a restart, reattach), follow
// the task until it stops, then clean up.
func (t *taskRun) run(ctx context.Context, resumed bool) {
	defer t.r.forget(t)
	if resumed {
		t.reattach(ctx)
	} else if err := t.launch(ctx); err != nil {
		if ctx.Err() != nil {
			return // berth is stopping: the next start settles the task
		}
		var sf *startFailure
		if errors.As(err, &sf) {
			t.stop(ctx, StopTaskFailedToStart, sf.reason)
		}
	}
	if !t.follow(ctx) {
		return
	}
	t.finish(ctx)
}

// launch provisions the task's namespace (awsvpc), pulls its images with
// the caller's registry credentials and creates its containers. The
// containers start in follow, as their dependencies allow.
func (t *taskRun) launch(ctx context.Context) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.launchMu.Lock()
	t.launchCancel = cancel
	if t.interrupted {
		cancel()
	}
	t.launchMu.Unlock()
	defer func() {
		t.launchMu.Lock()
		t.launchCancel = nil
		t.launchMu.Unlock()
	}()
	interrupted := func(err error) error {
		if lctx.Err() != nil && ctx.Err() == nil {
			return errInterrupted
		}
		return err
	}

	r, def := t.r, &t.rec.Definition
	// The sidecar and the pulls both wait on the engine, and neither
	// needs the other: do them at once. The task's containers can be
	// created as soon as the sidecar exists, while it starts; they start
	// once it serves. The sidecar's goroutine gets all it needs up front
	// and leaves the record to this one.
	created := make(chan sidecarCreated, 1)
	ready := make(chan sidecarReady, 1)
	if def.NetworkMode == networkAwsvpc {
		if s, ok := t.takePooled(); ok {
			t.rec.MetadataDir = s.dir
			t.publishMetadataIn(s.dir)
			created <- sidecarCreated{id: s.id}
			ready <- sidecarReady{}
		} else {
			t.rec.MetadataDir = r.taskDir(t.id())
			if err := os.MkdirAll(t.rec.MetadataDir, 0o755); err != nil {
				return &startFailure{"ResourceInitializationError: unable to create the task's metadata directory: " + err.Error()}
			}
			t.publishMetadataIn(t.rec.MetadataDir)
			go t.startSidecar(lctx, t.sidecarSpec(t.rec.MetadataDir), created, ready)
		}
	} else {
		created <- sidecarCreated{}
		ready <- sidecarReady{}
	}
	sidecarFailed := func(err error) error {
		if lctx.Err() == nil {
			r.log.Warn("ecs: task sidecar did not start", "task", t.id(), "err", err)
		}
		return interrupted(&startFailure{"ResourceInitializationError: unable to start the task's network namespace: " + err.Error()})
	}
	t.rec.Task.PullStartedAt = awsjson.NewTime(r.cfg.Now())
	images, pullErr := t.pull(lctx)
	t.rec.Task.PullStoppedAt = awsjson.NewTime(r.cfg.Now())
	sc := <-created
	t.rec.Sidecar = sc.id // removed when the task stops, even if it failed
	if pullErr != nil {
		if sc.err == nil {
			<-ready
		}
		return interrupted(pullErr)
	}
	if sc.err != nil {
		return sidecarFailed(sc.err)
	}
	t.rec.Task.LastStatus = StatusPending
	t.save(ctx)
	var createErr error
	for i := range def.ContainerDefinitions {
		id, err := r.engine.Create(lctx, t.containerSpec(i, images[i]))
		if err != nil {
			reason := "CannotCreateContainerError: " + err.Error()
			t.rec.Task.Containers[i].Reason = reason
			createErr = &startFailure{reason}
			break
		}
		t.rec.Containers[i].ID = id
		t.rec.Task.Containers[i].RuntimeID = id
	}
	sr := <-ready
	if createErr != nil {
		return interrupted(createErr)
	}
	if sr.err != nil {
		return sidecarFailed(sr.err)
	}
	t.sidecarBindings(sr.ports)
	return nil
}

// pull resolves and pulls every container's image, each once, and
// returns the names the engine knows them by.
func (t *taskRun) pull(ctx context.Context) ([]string, error) {
	r, def := t.r, &t.rec.Definition
	auth, err := r.creds.RegistryAuth(ctx, t.rec.Caller)
	if err != nil {
		return nil, &startFailure{"CannotPullContainerError: no registry credentials for the task's caller: " + err.Error()}
	}
	images := make([]string, len(def.ContainerDefinitions))
	pulled := map[string]error{}
	for i, c := range def.ContainerDefinitions {
		ref, err := r.cfg.Images.Resolve(c.Image)
		if err == nil {
			var seen bool
			if err, seen = pulled[ref]; !seen {
				err = r.engine.Pull(ctx, ref, auth)
				pulled[ref] = err
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			msg := err.Error()
			var pe *launcher.PullError
			if errors.As(err, &pe) {
				msg = pe.Message
			}
			reason := "CannotPullContainerError: " + msg
			t.rec.Task.Containers[i].Reason = reason
			return nil, &startFailure{reason}
		}
		images[i] = ref
	}
	return images, nil
}

// follow starts containers as their dependencies are met and handles
// what comes in until the task has stopped every container; it returns
// false if ctx ended first.
func (t *taskRun) follow(ctx context.Context) bool {
	for {
		// What came in first: a stop asked during the launch must not
		// see the task's containers started.
		for _, m := range t.inbox.take() {
			t.handle(ctx, m)
		}
		t.progress(ctx)
		if t.stopping && !t.anyRunning() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.inbox.ready:
		}
	}
}

// anyRunning reports whether a container of the task may still run.
func (t *taskRun) anyRunning() bool {
	for _, cs := range t.rec.Containers {
		if cs.Started && !cs.Exited {
			return true
		}
	}
	return false
}

// dependency outcomes.
const (
	depsMet = iota
	depsWait
	depsNever
)

// dependencies says whether container i may start now, later or never.
func (t *taskRun) dependencies(i int) (int, string) {
	def := &t.rec.Definition
	for _, d := range def.ContainerDefinitions[i].DependsOn {
		j := containerIndex(def, d.ContainerName)
		ds, exit := t.rec.Containers[j], t.rec.Task.Containers[j].ExitCode
		switch d.Condition {
		case dependsStart:
			if !ds.Started {
				if ds.Exited {
					return depsNever, fmt.Sprintf("dependency %s never started", d.ContainerName)
				}
				return depsWait, ""
			}
		case dependsComplete:
			if !ds.Exited {
				return depsWait, ""
			}
		case dependsSuccess:
			if !ds.Exited {
				return depsWait, ""
			}
			if exit == nil || *exit != 0 {
				return depsNever, fmt.Sprintf("dependency %s did not exit with 0", d.ContainerName)
			}
		case dependsHealthy:
			if !ds.Healthy {
				if ds.Exited {
					return depsNever, fmt.Sprintf("dependency %s stopped before it was healthy", d.ContainerName)
				}
				return depsWait, ""
			}
		}
	}
	return depsMet, ""
}

func containerIndex(def *TaskDefinition, name string) int {
	for i, c := range def.ContainerDefinitions {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// progress starts the containers whose dependencies are met and moves
// the task to RUNNING once every essential container runs. A container
// counts as running from just before it starts, so that what it reads
// at once from its metadata endpoint says so, as on ECS.
func (t *taskRun) progress(ctx context.Context) {
	if t.stopping {
		return
	}
	r, def := t.r, &t.rec.Definition
	changed := false
	for {
		var batch []int
		for i := range def.ContainerDefinitions {
			cs, c := &t.rec.Containers[i], &t.rec.Task.Containers[i]
			if cs.ID == "" || cs.Started || cs.Exited {
				continue
			}
			switch deps, why := t.dependencies(i); deps {
			case depsMet:
				batch = append(batch, i)
			case depsNever:
				cs.Exited, c.LastStatus = true, StatusStopped
				c.Reason = "DependencyConditionNotMet: " + why
				changed = true
				if def.ContainerDefinitions[i].essential() {
					t.stop(ctx, StopTaskFailedToStart, fmt.Sprintf("Essential container %s cannot start: %s", c.Name, why))
					return
				}
			}
		}
		if len(batch) == 0 {
			break
		}
		now := r.cfg.Now()
		for _, i := range batch {
			t.rec.Containers[i].Started, t.rec.Containers[i].StartedAt = true, now
			t.rec.Task.Containers[i].LastStatus = StatusRunning
		}
		if t.rec.Task.LastStatus == StatusPending && t.essentialsStarted() {
			t.rec.Task.LastStatus = StatusRunning
			t.rec.Task.StartedAt = awsjson.NewTime(now)
			t.rec.Task.Connectivity, t.rec.Task.ConnectivityAt = "CONNECTED", t.rec.Task.StartedAt
		}
		if t.rec.Sidecar != "" {
			t.publishMetadata()
		}
		for _, i := range batch {
			cs, c := &t.rec.Containers[i], &t.rec.Task.Containers[i]
			if err := r.engine.Start(ctx, cs.ID); err != nil {
				if ctx.Err() != nil {
					return
				}
				reason := "CannotStartContainerError: " + err.Error()
				cs.Started, cs.Exited, c.LastStatus, c.Reason = false, true, StatusStopped, reason
				t.stop(ctx, StopTaskFailedToStart, reason)
				return
			}
			t.bindings(ctx, i)
			t.capture(ctx, i)
		}
		changed = true
	}
	if changed {
		t.save(ctx)
	}
}

// essentialsStarted reports whether every essential container started.
func (t *taskRun) essentialsStarted() bool {
	for i, c := range t.rec.Definition.ContainerDefinitions {
		if c.essential() && !t.rec.Containers[i].Started {
			return false
		}
	}
	return true
}

// handle handles one message.
func (t *taskRun) handle(ctx context.Context, m message) {
	switch {
	case m.event != nil:
		t.event(ctx, *m.event)
	case m.stop != nil:
		t.stop(ctx, m.stop.code, m.stop.reason)
		m.stop.reply <- t.rec.Task.clone()
	case m.tag != nil:
		t.rec.Task.Tags = mergeTags(t.rec.Task.Tags, m.tag.tags, m.tag.remove)
		t.save(ctx)
		m.tag.reply <- nil
	case m.resync:
		t.resync(ctx)
	}
}

// event handles an engine event of one of the task's containers.
func (t *taskRun) event(ctx context.Context, ev launcher.Event) {
	if ev.ID == t.rec.Sidecar && ev.Kind == launcher.EventExit {
		if !t.stopping {
			t.stop(ctx, StopEssentialContainerExited, "The task's network namespace (its sidecar) exited")
		}
		return
	}
	i := -1
	for j, cs := range t.rec.Containers {
		if cs.ID != "" && cs.ID == ev.ID {
			i = j
		}
	}
	if i < 0 {
		return
	}
	switch ev.Kind {
	case launcher.EventExit:
		t.exited(ctx, i)
	case launcher.EventHealth:
		t.health(ctx, i, ev.Health)
	case launcher.EventOOM:
		t.oom(ctx, i)
	}
}

// oomReason is the container reason ECS gives an OOM kill.
const oomReason = "OutOfMemoryError: Container killed due to memory usage"

// oom records the kernel's OOM kill of container i, which the engine may
// report after the exit (then the exit did not say so).
func (t *taskRun) oom(ctx context.Context, i int) {
	cs, c := &t.rec.Containers[i], &t.rec.Task.Containers[i]
	cs.OOM = true
	if cs.Exited && c.ExitCode != nil && *c.ExitCode == 137 && c.Reason == "" {
		c.Reason = oomReason
		t.save(ctx)
	}
}

// exitWait bounds how long the runner asks the engine how a container
// ended (the engine waits up to a second for a late OOM notice).
const exitWait = 30 * time.Second

// exited records how container i ended; an essential container's end
// stops the task.
func (t *taskRun) exited(ctx context.Context, i int) {
	cs, c := &t.rec.Containers[i], &t.rec.Task.Containers[i]
	if cs.Exited || cs.ID == "" {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, exitWait)
	exit, err := t.r.engine.Wait(wctx, cs.ID)
	cancel()
	switch {
	case errors.Is(err, launcher.ErrNotFound):
		c.Reason = "The container was removed outside berth"
	case err != nil:
		if ctx.Err() != nil {
			return
		}
		t.r.log.Warn("ecs: reading how a container ended", "task", t.id(), "container", c.Name, "err", err)
		c.Reason = "The container's end could not be read: " + err.Error()
	default:
		c.ExitCode = ptr(exit.Code)
		if exit.OOMKilled || (cs.OOM && exit.Code == 137) {
			c.Reason = oomReason
		} else if exit.Error != "" {
			c.Reason = exit.Error
		}
	}
	cs.Exited, c.LastStatus = true, StatusStopped
	if t.rec.Definition.ContainerDefinitions[i].essential() && !t.stopping {
		t.stop(ctx, StopEssentialContainerExited, "Essential container in task exited")
		return
	}
	t.save(ctx)
}

// health records container i's health and the task's.
func (t *taskRun) health(ctx context.Context, i int, h launcher.Health) {
	c := &t.rec.Task.Containers[i]
	status := healthUnknown
	switch h {
	case launcher.HealthHealthy:
		status = healthHealthy
		t.rec.Containers[i].Healthy = true
	case launcher.HealthUnhealthy:
		status = healthUnhealthy
	}
	if c.HealthStatus == status {
		return
	}
	c.HealthStatus = status
	t.rec.Task.HealthStatus = t.taskHealth()
	t.save(ctx)
}

// taskHealth is UNHEALTHY when an essential container is, HEALTHY when
// every essential container with a health check is, else UNKNOWN.
func (t *taskRun) taskHealth() string {
	checked, healthy := 0, 0
	for i, c := range t.rec.Definition.ContainerDefinitions {
		if !c.essential() || c.HealthCheck == nil {
			continue
		}
		checked++
		switch t.rec.Task.Containers[i].HealthStatus {
		case healthUnhealthy:
			return healthUnhealthy
		case healthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return healthHealthy
	}
	return healthUnknown
}

// stop moves the task towards STOPPED: its running containers get their
// stop signal, with their stopTimeout before SIGKILL.
func (t *taskRun) stop(ctx context.Context, code StopCode, reason string) {
	if t.stopping {
		return
	}
	t.stopping = true
	now := awsjson.NewTime(t.r.cfg.Now())
	task := &t.rec.Task
	task.DesiredStatus, task.StopCode, task.StoppedReason, task.StoppingAt = StatusStopped, string(code), reason, now
	t.stopContainers(ctx)
	t.save(ctx)
}

// stopContainers asks the engine to stop every running container; their
// exits come back as events.
func (t *taskRun) stopContainers(ctx context.Context) {
	for i, cs := range t.rec.Containers {
		if !cs.Started || cs.Exited {
			continue
		}
		grace := 30 * time.Second
		if s := t.rec.Definition.ContainerDefinitions[i].StopTimeout; s != nil {
			grace = time.Duration(*s) * time.Second
		}
		go func(id, name string) {
			if err := t.r.engine.Stop(ctx, id, grace); err != nil && !errors.Is(err, launcher.ErrNotFound) && ctx.Err() == nil {
				t.r.log.Warn("ecs: stopping a container", "task", t.id(), "container", name, "err", err)
			}
		}(cs.ID, t.rec.Task.Containers[i].Name)
	}
}

// resync looks at the task's running containers again, for exits the
// event stream may have missed while it was broken.
func (t *taskRun) resync(ctx context.Context) {
	for i, cs := range t.rec.Containers {
		if !cs.Started || cs.Exited {
			continue
		}
		st, err := t.r.engine.Inspect(ctx, cs.ID)
		if errors.Is(err, launcher.ErrNotFound) || (err == nil && !st.Running()) {
			t.exited(ctx, i)
		}
	}
}

// captureWait bounds how long a stopping task waits for the last of its
// containers' output to reach the log store.
const captureWait = 10 * time.Second

// finish takes a task whose containers have all stopped through
// DEPROVISIONING (its sidecar and containers removed, its output
// captured) to STOPPED.
func (t *taskRun) finish(ctx context.Context) {
	r, task := t.r, &t.rec.Task
	t.awaitLateOOM(ctx)
	now := awsjson.NewTime(r.cfg.Now())
	if !t.stopping {
		t.stopping = true
		task.DesiredStatus = StatusStopped
	}
	task.LastStatus, task.ExecutionStoppedAt = StatusDeprovisioning, now
	for i := range task.Containers {
		task.Containers[i].LastStatus = StatusStopped
	}
	t.save(ctx)

	captured := make(chan struct{})
	go func() { t.captures.Wait(); close(captured) }()
	select {
	case <-captured:
	case <-time.After(captureWait):
		r.log.Warn("ecs: a task's output was still being captured when it was removed", "task", t.id())
	}
	remove := func(id string) {
		if err := r.engine.Remove(ctx, id); err != nil && !errors.Is(err, launcher.ErrNotFound) {
			r.log.Warn("ecs: removing a task's container", "task", t.id(), "container", id, "err", err)
		}
	}
	for _, cs := range t.rec.Containers {
		if cs.ID != "" {
			remove(cs.ID)
		}
	}
	if t.rec.Sidecar != "" {
		remove(t.rec.Sidecar)
	}
	if t.rec.MetadataDir != "" {
		r.removeDir(t.id(), t.rec.MetadataDir)
	}
	task.LastStatus, task.StoppedAt = StatusStopped, awsjson.NewTime(r.cfg.Now())
	t.save(ctx)
}

// lateOOM bounds how long a task whose container was killed (137) within
// a memory limit waits for the engine's OOM notice, which can come
// seconds after the exit on a busy machine.
const lateOOM = 5 * time.Second

// awaitLateOOM waits, before the task's containers are removed, for the
// OOM notice of a container that ended with 137 within its memory limit
// without one, then asks the engine once more. A task stopped by request
// does not wait: its 137 is the SIGKILL after the stop timeout.
func (t *taskRun) awaitLateOOM(ctx context.Context) {
	switch StopCode(t.rec.Task.StopCode) {
	case StopUserInitiated, StopServiceSchedulerInitiated:
		return
	}
	awaiting := func() []int {
		var out []int
		for i, cs := range t.rec.Containers {
			c := t.rec.Task.Containers[i]
			if cs.Exited && !cs.OOM && c.ExitCode != nil && *c.ExitCode == 137 && c.Reason == "" && t.limits(i).Memory > 0 {
				out = append(out, i)
			}
		}
		return out
	}
	if len(awaiting()) == 0 {
		return
	}
	deadline := time.NewTimer(lateOOM)
	defer deadline.Stop()
	for len(awaiting()) > 0 {
		select {
		case <-t.inbox.ready:
			for _, m := range t.inbox.take() {
				t.handle(ctx, m)
			}
			continue
		case <-deadline.C:
		case <-ctx.Done():
			return
		}
		break
	}
	for _, i := range awaiting() {
		if st, err := t.r.engine.Inspect(ctx, t.rec.Containers[i].ID); err == nil && st.Exit.OOMKilled {
			t.oom(ctx, i)
		}
	}
}

// save writes the task through to the index, republishes its metadata
// endpoint and tells subscribers.
func (t *taskRun) save(ctx context.Context) {
	t.rec.Task.Version++
	if err := t.r.put(ctx, &t.rec); err != nil {
		t.r.log.Error("ecs: recording a task", "task", t.id(), "status", t.rec.Task.LastStatus, "err", err)
	}
	if t.rec.Sidecar != "" && t.rec.Task.LastStatus != StatusStopped {
		t.publishMetadata()
	}
	t.r.notify(t.rec.Task)
}

// takePooled takes a started sidecar from the pool for a task that maps
// no port, and tells the event loop whose it is now.
func (t *taskRun) takePooled() (pooledSidecar, bool) {
	r := t.r
	if r.pool == nil {
		return pooledSidecar{}, false
	}
	for _, c := range t.rec.Definition.ContainerDefinitions {
		if len(c.PortMappings) > 0 {
			return pooledSidecar{}, false
		}
	}
	s, ok := r.pool.take()
	if ok {
		r.mu.Lock()
		r.sidecars[s.id] = t.id()
		r.mu.Unlock()
	}
	return s, ok
}

// sidecarSpec is the task's namespace holder, which publishes the
// task's ports and serves its metadata endpoint from dir.
func (t *taskRun) sidecarSpec(dir string) launcher.Spec {
	def := &t.rec.Definition
	var ports []launcher.PortMapping
	for _, c := range def.ContainerDefinitions {
		for _, p := range c.PortMappings {
			// Each task's ports go to free loopback ports: several tasks
			// of one definition (a service's) run side by side.
			ports = append(ports, launcher.PortMapping{ContainerPort: uint16(p.ContainerPort), Protocol: p.Protocol})
		}
	}
	spec := sidecar.Spec("", dir, ports, launcher.Owner{Service: launcher.ServiceECS, Task: t.id()})
	spec.Name = engineName(def, "internalecspause", t.id())
	return spec
}

// sidecarCreated and sidecarReady are what startSidecar reports: the
// sidecar exists (the task's containers can be created to join it), then
// it serves (they can start).
type sidecarCreated struct {
	id  string
	err error
}

type sidecarReady struct {
	ports []launcher.PortBinding
	err   error
}

// startSidecar creates the sidecar of spec (its image filled in), says
// so on created, starts it, waits until it serves and sends the ports it
// published on ready (nothing when creating failed). It runs beside the
// pulls and touches no state of the task.
func (t *taskRun) startSidecar(ctx context.Context, spec launcher.Spec, created chan<- sidecarCreated, ready chan<- sidecarReady) {
	r := t.r
	image, err := r.sidecar.Ensure(ctx)
	if err != nil {
		created <- sidecarCreated{err: err}
		return
	}
	spec.Image = image
	id, err := r.engine.Create(ctx, spec)
	created <- sidecarCreated{id: id, err: err}
	if err != nil {
		return
	}
	var res sidecarReady
	defer func() { ready <- res }()
	if res.err = r.engine.Start(ctx, id); res.err != nil {
		return
	}
	if res.err = sidecar.WaitReady(ctx, r.engine, id); res.err != nil {
		return
	}
	if len(spec.Ports) > 0 {
		st, err := r.engine.Inspect(ctx, id)
		res.ports, res.err = st.Ports, err
	}
}

// sidecarBindings records the ports the sidecar published as the
// network bindings of the containers that map them.
func (t *taskRun) sidecarBindings(published []launcher.PortBinding) {
	for i, c := range t.rec.Definition.ContainerDefinitions {
		for _, p := range c.PortMappings {
			for _, b := range published {
				if int(b.ContainerPort) == p.ContainerPort && b.Protocol == p.Protocol {
					t.rec.Task.Containers[i].NetworkBindings = append(t.rec.Task.Containers[i].NetworkBindings,
						NetworkBinding{BindIP: b.HostIP, ContainerPort: p.ContainerPort, HostPort: int(b.HostPort), Protocol: p.Protocol})
				}
			}
		}
	}
}

// engineName is the engine's name of a task's container, as the ECS
// agent names them: ecs-<family>-<revision>-<container>-<task id>.
func engineName(def *TaskDefinition, container, taskID string) string {
	return "ecs-" + def.Family + "-" + strconv.Itoa(def.Revision) + "-" + container + "-" + taskID
}
