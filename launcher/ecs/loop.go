package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// Backoff between attempts to reach an engine that does not answer.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// purgeInterval is how often stopped tasks past their retention are
// deleted.
const purgeInterval = 5 * time.Minute

// Run is the runner's event loop, until ctx ends. First it reattaches to
// the tasks that ran before berth restarted (a container that ended
// meanwhile is recorded with its real exit code; its output resumes
// where the log store has it); then it hands each container exit and
// health change the engine reports to its task's supervisor. It waits
// out an engine that does not answer and resubscribes when the event
// stream breaks, so an idle runner costs one open request and no CPU.
// When ctx ends the tasks are left running, for the next start to
// reattach; Run returns once every supervisor has.
func (r *Runner) Run(ctx context.Context) error {
	defer func() {
		r.engineUp.Store(false)
		r.cancel()
		r.wg.Wait()
		if r.pool != nil {
			r.pool.drain()
		}
	}()
	go r.purge(ctx)
	since := r.created
	backoff := minBackoff
	recovered := false
	for {
		if !recovered {
			if err := r.recover(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				r.log.Warn("ecs: the container engine does not answer; ECS tasks cannot run until it does", "err", err, "retry_in", backoff)
				if !sleep(ctx, backoff) {
					return nil
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			recovered = true
			close(r.recovered)
			if r.pool != nil {
				r.pool.start(ctx)
			}
		}
		r.engineUp.Store(true)
		last, err := r.events(ctx, since)
		if ctx.Err() != nil {
			return nil
		}
		r.engineUp.Store(false)
		if last.After(since) {
			since, backoff = last, minBackoff
		}
		r.log.Warn("ecs: the engine's event stream broke; resubscribing", "err", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, maxBackoff)
		// The replay from since covers the gap; a look at each running
		// container covers an engine that lost its events (a restart).
		r.mu.Lock()
		for _, t := range r.live {
			t.inbox.put(message{resync: true})
		}
		r.mu.Unlock()
	}
}

// Recovered is closed once Run has reattached to the tasks of before a
// restart.
func (r *Runner) Recovered() <-chan struct{} { return r.recovered }

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// events hands the engine's events for ECS containers, from since on,
// to their tasks until the stream breaks; it returns the time of the
// last event seen.
func (r *Runner) events(ctx context.Context, since time.Time) (time.Time, error) {
	last := since
	for ev, err := range r.engine.Events(ctx, launcher.EventOptions{Labels: map[string]string{launcher.LabelService: launcher.ServiceECS}, Since: since}) {
		if err != nil {
			return last, err
		}
		if ev.Time.After(last) {
			last = ev.Time
		}
		r.mu.Lock()
		task := ev.Labels[launcher.LabelTask]
		if task == poolTask {
			task = r.sidecars[ev.ID]
		}
		t := r.live[task]
		r.mu.Unlock()
		if t != nil {
			t.inbox.put(message{event: &ev})
		}
	}
	return last, errors.New("the event stream ended")
}

// recover reattaches to every task the index has as not yet stopped,
// and removes the containers of tasks that stopped (berth may have ended
// between recording a task STOPPED and removing its containers).
func (r *Runner) recover(ctx context.Context) error {
	if p, ok := r.engine.(pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return err
		}
	}
	containers, err := r.engine.List(ctx, map[string]string{launcher.LabelService: launcher.ServiceECS})
	if err != nil {
		return err
	}
	byTask := map[string][]launcher.Container{}
	for _, c := range containers {
		id := c.Labels[launcher.LabelTask]
		byTask[id] = append(byTask[id], c)
	}
	records, err := r.store.Tasks(ctx, metadata.TaskQuery{Live: true})
	if err != nil {
		return err
	}
	// The sidecars the recorded tasks took from the pool, and the
	// directories they serve.
	taken, dirs := map[string]string{}, map[string]bool{}
	r.mu.Lock()
	for _, mt := range records {
		if r.live[mt.ID] != nil {
			continue // started by this process before Run
		}
		var rec taskRecord
		if err := json.Unmarshal(mt.Document, &rec); err != nil {
			r.log.Error("ecs: a task's record does not read; it is left as it is", "task", mt.ID, "err", err)
			continue
		}
		if rec.Sidecar != "" {
			taken[rec.Sidecar] = mt.ID
			dirs[filepath.Base(rec.MetadataDir)] = true
		}
		t := newTaskRun(r, rec)
		t.found = byTask[mt.ID]
		r.startLocked(t, true)
		r.log.Info("ecs: reattaching to a task", "task", mt.ID, "status", rec.Task.LastStatus, "containers", len(t.found))
	}
	live := make(map[string]bool, len(r.live))
	for id := range r.live {
		live[id] = true
	}
	// Pooled sidecars a task took are that task's; those left idle when
	// berth stopped are removed with their directories (the pool starts
	// new ones).
	var idle []string
	for _, c := range byTask[poolTask] {
		if task, ok := taken[c.ID]; ok {
			r.sidecars[c.ID] = task
		} else if c.Owner().Container == r.poolOwner().Container {
			idle = append(idle, c.ID)
		}
	}
	delete(byTask, poolTask)
	r.mu.Unlock()
	for _, id := range idle {
		if err := r.engine.Remove(ctx, id); err != nil && !errors.Is(err, launcher.ErrNotFound) {
			r.log.Warn("ecs: removing an idle pooled sidecar", "container", id, "err", err)
		}
	}
	pool := filepath.Join(r.cfg.StateDir, "pool")
	entries, _ := os.ReadDir(pool)
	for _, e := range entries {
		if !dirs[e.Name()] {
			os.RemoveAll(filepath.Join(pool, e.Name()))
		}
	}
	for id, cs := range byTask {
		if live[id] {
			continue
		}
		if _, err := r.store.Task(ctx, id); errors.Is(err, metadata.ErrTaskUnknown) {
			r.log.Warn("ecs: containers of a task berth does not know are left alone", "task", id, "containers", len(cs))
			continue
		} else if err != nil {
			return err
		}
		for _, c := range cs {
			if err := r.engine.Remove(ctx, c.ID); err != nil && !errors.Is(err, launcher.ErrNotFound) {
				r.log.Warn("ecs: removing a stopped task's container", "task", id, "container", c.ID, "err", err)
			}
		}
		r.removeDir(id, r.taskDir(id))
	}
	return nil
}

// reattach takes up a task that was live when berth stopped: each
// container is looked at as the engine has it now.
func (t *taskRun) reattach(ctx context.Context) {
	r := t.r
	if t.rec.MetadataDir == "" && t.rec.Definition.NetworkMode == networkAwsvpc {
		t.rec.MetadataDir = r.taskDir(t.id())
	}
	for _, c := range t.found {
		o := c.Owner()
		if o.Role == launcher.RoleSidecar {
			t.rec.Sidecar = c.ID
			continue
		}
		if i := containerIndex(&t.rec.Definition, o.Container); i >= 0 && t.rec.Containers[i].ID == "" {
			t.rec.Containers[i].ID = c.ID
			t.rec.Task.Containers[i].RuntimeID = c.ID
		}
	}
	var exited []int
	for i := range t.rec.Containers {
		cs := &t.rec.Containers[i]
		if cs.ID == "" || cs.Exited {
			continue
		}
		st, err := r.engine.Inspect(ctx, cs.ID)
		switch {
		case errors.Is(err, launcher.ErrNotFound):
			if cs.Started {
				exited = append(exited, i)
			} else {
				cs.ID = ""
			}
			continue
		case err != nil:
			r.log.Warn("ecs: inspecting a task's container after a restart", "task", t.id(), "container", cs.ID, "err", err)
			continue
		}
		if !st.StartedAt.IsZero() {
			cs.Started = true
			if cs.StartedAt.IsZero() {
				cs.StartedAt = st.StartedAt
			}
		}
		switch {
		case st.Running():
			t.rec.Task.Containers[i].LastStatus = StatusRunning
			if st.Health != launcher.HealthNone {
				t.health(ctx, i, st.Health)
			}
			t.capture(ctx, i)
		case cs.Started:
			// What it wrote after berth stopped is still to be stored.
			t.capture(ctx, i)
			exited = append(exited, i)
		}
	}
	task := &t.rec.Task
	switch {
	case task.DesiredStatus == StatusStopped:
		t.stopping = true
		t.stopContainers(ctx)
	case task.LastStatus == StatusProvisioning || task.LastStatus == StatusPending:
		// Its launch was cut short; what it made is removed when it stops.
		t.stop(ctx, StopTaskFailedToStart, "Task failed to start: berth restarted while the task was starting")
	}
	for _, i := range exited {
		t.exited(ctx, i)
	}
	t.save(ctx)
}

// purge deletes stopped tasks once they are past their retention.
func (r *Runner) purge(ctx context.Context) {
	tick := time.NewTicker(purgeInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := r.store.DeleteStoppedTasks(ctx, r.cfg.Now().Add(-r.cfg.StoppedRetention))
		if err != nil && ctx.Err() == nil {
			r.log.Warn("ecs: purging stopped tasks", "err", err)
		} else if n > 0 {
			r.log.Debug("ecs: purged stopped tasks", "count", n)
		}
	}
}
