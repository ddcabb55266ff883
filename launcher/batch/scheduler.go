package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// save writes j through to the index. Call with a.mu held.
func (a *API) save(ctx context.Context, j *job) error {
	doc, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return a.store.PutBatchJob(context.WithoutCancel(ctx), metadata.BatchJob{
		ID: j.JobID, Status: j.Status, CreatedAt: time.Unix(0, j.createdNs), Document: doc})
}

// saveLogged saves j from the scheduler, where nobody waits for the
// answer: a failure is logged (the job goes on in memory, and a restart
// resumes from its last stored state).
func (a *API) saveLogged(ctx context.Context, j *job) {
	if err := a.save(ctx, j); err != nil {
		a.log.Error("batch: storing a job", "job", j.JobID, "status", j.Status, "err", err)
	}
}

// kick asks for a tick soon.
func (a *API) kick() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// depState is where a job's dependencies stand.
type depState int

const (
	depsWaiting depState = iota
	depsMet
	depsFailed
)

// deps reports on j's dependencies on other jobs (SEQUENTIAL and N_TO_N
// are the children's business). Call with a.mu held.
func (a *API) deps(j *job) depState {
	state := depsMet
	for _, d := range j.DependsOn {
		if d.Type == "SEQUENTIAL" || d.JobID == "" {
			continue
		}
		dep, ok := a.lookup(d.JobID)
		if !ok {
			continue // finished so long ago it is forgotten
		}
		if d.Type == "N_TO_N" && j.isArray() {
			// The parent waits for nothing: each child waits for its
			// counterpart.
			continue
		}
		switch dep.Status {
		case StatusFailed:
			return depsFailed
		case StatusSucceeded:
		default:
			state = depsWaiting
		}
	}
	return state
}

// tick promotes jobs whose dependencies are met and starts RUNNABLE
// jobs, highest-priority queue first and FIFO within a queue, while
// their compute environment has vCPUs left. It touches only jobs that
// have not finished, and an array's children one at a time.
func (a *API) tick(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	live := make([]*job, 0, len(a.active))
	for _, j := range a.active {
		live = append(live, j)
	}
	sort.Slice(live, func(x, y int) bool {
		qx, qy := a.queues[live[x].State.Queue], a.queues[live[y].State.Queue]
		if px, py := priority(qx), priority(qy); px != py {
			return px > py
		}
		if live[x].createdNs != live[y].createdNs {
			return live[x].createdNs < live[y].createdNs
		}
		return live[x].JobID < live[y].JobID
	})
	for _, j := range live {
		if j.State.Parent != "" || (j.Status != StatusSubmitted && j.Status != StatusPending) || j.State.Released {
			continue
		}
		switch a.deps(j) {
		case depsFailed:
			if j.isArray() {
				// Its children fail with it, those cancelled already
				// counted.
				a.close(ctx, j, reasonDependency)
			} else {
				a.fail(ctx, j, reasonDependency)
			}
		case depsWaiting:
			if j.Status == StatusSubmitted {
				j.Status = StatusPending
				a.saveLogged(ctx, j)
			}
		case depsMet:
			if j.isArray() {
				j.State.Released, j.Status = true, StatusPending
			} else {
				j.Status = StatusRunnable
			}
			a.saveLogged(ctx, j)
		}
	}
	for _, j := range live {
		q := a.queues[j.State.Queue]
		if q == nil || q.State != "ENABLED" || done(j.Status) {
			continue
		}
		if j.isArray() {
			a.startChildren(ctx, j, q)
			continue
		}
		if j.Status != StatusRunnable {
			continue
		}
		if ce := a.room(q, j.State.MilliCPU, j.State.MemoryMiB); ce != nil {
			a.start(ctx, j, ce)
		}
	}
}

func priority(q *jobQueue) int {
	if q == nil {
		return -1
	}
	return q.Priority
}

// room returns the first enabled compute environment of q with
// milliCPU to spare, or nil; nil too when the host has not memoryMiB
// left.
func (a *API) room(q *jobQueue, milliCPU, memoryMiB int64) *computeEnvironment {
	if m := a.cfg.HostMemoryMiB; m > 0 && a.usedMemoryMiB+memoryMiB > m {
		return nil
	}
	for _, o := range q.Order {
		ce := a.envs[nameOf(o.ComputeEnvironment, "compute-environment")]
		if ce == nil || ce.State != "ENABLED" {
			continue
		}
		if ce.usedMilliCPU+milliCPU <= ce.capacity(a.cfg.HostCPUs) {
			return ce
		}
	}
	return nil
}

// startChildren makes and starts the next children of array p while
// there is room and their turn has come.
func (a *API) startChildren(ctx context.Context, p *job, q *jobQueue) {
	if !p.State.Released || p.State.Closed != "" {
		return
	}
	for p.advance(); p.next < p.size(); p.advance() {
		i := p.next
		if p.State.Sequential && i > 0 {
			prev := p.children[i-1]
			if prev.Status == StatusFailed {
				a.close(ctx, p, reasonDependency)
				return
			}
			if prev.Status != StatusSucceeded {
				return
			}
		}
		if p.State.NToN != "" {
			dep, ok := a.lookup(childID(p.State.NToN, i))
			if ok && dep.Status == StatusFailed {
				c := p.unmade(i)
				a.adopt(p, c)
				a.fail(ctx, c, reasonDependency)
				continue
			}
			if ok && dep.Status != StatusSucceeded {
				return
			}
		}
		ce := a.room(q, p.State.MilliCPU, p.State.MemoryMiB)
		if ce == nil {
			return
		}
		c := p.unmade(i)
		a.adopt(p, c)
		a.start(ctx, c, ce)
	}
}

// adopt records c as made. Call with a.mu held.
func (a *API) adopt(p, c *job) {
	if p.children == nil {
		p.children = map[int]*job{}
	}
	if p.live == nil {
		p.live = map[int]*job{}
	}
	p.children[c.State.Index] = c
	if !done(c.Status) {
		p.live[c.State.Index] = c
	}
	p.advance()
	c.parent = p
	a.jobs[c.JobID] = c
	a.active[c.JobID] = c
}

// start moves j to STARTING in ce and runs its next attempt.
func (a *API) start(ctx context.Context, j *job, ce *computeEnvironment) {
	j.Status = StatusStarting
	j.StatusReason = ""
	j.State.CE = ce.Name
	j.State.TaskID = newTaskID()
	j.State.ContainerID = ""
	j.State.TimedOut = false
	a.hold(j, ce)
	spec := a.attemptSpec(j)
	a.saveLogged(ctx, j)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.runAttempt(spec)
	}()
}

// hold counts j's vCPUs against compute environment ce.
func (a *API) hold(j *job, ce *computeEnvironment) {
	if !j.holds {
		ce.usedMilliCPU += j.State.MilliCPU
		a.usedMemoryMiB += j.State.MemoryMiB
		j.holds = true
	}
}

// release gives j's vCPUs back to its compute environment.
func (a *API) release(j *job) {
	if !j.holds {
		return
	}
	if ce := a.envs[j.State.CE]; ce != nil {
		ce.usedMilliCPU -= j.State.MilliCPU
	}
	a.usedMemoryMiB -= j.State.MemoryMiB
	j.holds = false
}

// fail ends j (not running) as FAILED with reason.
func (a *API) fail(ctx context.Context, j *job, reason string) {
	j.Status, j.StatusReason = StatusFailed, reason
	a.finalize(ctx, j)
}

// cancel fails j unless it has started (CancelJob); an array's children
// that have not started are cancelled with it.
func (a *API) cancel(ctx context.Context, j *job, reason string) {
	if done(j.Status) {
		return
	}
	if j.isArray() {
		j.IsCancelled = true
		a.close(ctx, j, reason)
		for _, c := range j.children {
			a.cancel(ctx, c, reason)
		}
		return
	}
	switch j.Status {
	case StatusSubmitted, StatusPending, StatusRunnable:
		j.IsCancelled = true
		a.fail(ctx, j, reason)
	}
}

// terminate fails j whatever its state, stopping its container if it
// runs (TerminateJob).
func (a *API) terminate(ctx context.Context, j *job, reason string) {
	if done(j.Status) {
		return
	}
	if j.isArray() {
		j.IsTerminated = true
		a.close(ctx, j, reason)
		for _, c := range j.children {
			a.terminate(ctx, c, reason)
		}
		return
	}
	j.IsTerminated = true
	switch j.Status {
	case StatusStarting, StatusRunning:
		j.State.Terminating = reason
		a.saveLogged(ctx, j)
		if id := j.State.ContainerID; id != "" {
			go a.stopContainer(id)
		}
	default:
		a.fail(ctx, j, reason)
	}
}

// close fails the children array p has not made yet, with reason.
func (a *API) close(ctx context.Context, p *job, reason string) {
	if p.State.Closed != "" {
		return
	}
	p.State.Closed = reason
	a.saveLogged(ctx, p)
	a.checkParent(ctx, p)
}

// finalize stores j in its final state and tells those waiting on it.
func (a *API) finalize(ctx context.Context, j *job) {
	now := a.cfg.Now()
	j.State.Finished = now
	if j.StoppedAt == 0 && j.StartedAt != 0 {
		j.StoppedAt = ms(now)
	}
	delete(a.active, j.JobID)
	a.saveLogged(ctx, j)
	if p := j.parent; p != nil {
		delete(p.live, j.State.Index)
		p.childrenDone++
		if j.Status == StatusFailed {
			p.childrenFailed++
		}
		a.checkParent(ctx, p)
	}
	a.kick()
}

// checkParent finishes array p once every child has.
func (a *API) checkParent(ctx context.Context, p *job) {
	if done(p.Status) || p.childrenDone < p.made() || (p.made() < p.size() && p.State.Closed == "") {
		return
	}
	if p.childrenFailed == 0 && p.made() == p.size() {
		p.Status = StatusSucceeded
	} else {
		p.Status = StatusFailed
		if p.StatusReason == "" {
			p.StatusReason = p.State.Closed
		}
	}
	if p.StartedAt == 0 {
		for _, c := range p.children {
			if c.StartedAt != 0 && (p.StartedAt == 0 || c.StartedAt < p.StartedAt) {
				p.StartedAt = c.StartedAt
			}
		}
	}
	a.finalize(ctx, p)
}

// Run loads the jobs kept in the index, reattaches to the containers of
// those that were running and schedules until ctx ends; containers keep
// running for the next start to reattach.
func (a *API) Run(ctx context.Context) error {
	if err := a.load(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while loading: not a failure
		}
		return fmt.Errorf("batch: loading jobs: %w", err)
	}
	a.recover(ctx)
	close(a.ready)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	defer a.shutdown()
	for {
		a.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-a.wake:
		case <-t.C:
		case <-prune.C:
			a.prune(ctx)
		}
	}
}

// shutdown ends the attempts' supervision, leaving their containers to
// run on.
func (a *API) shutdown() {
	a.stop()
	a.wg.Wait()
}

// load reads compute environments, queues, definitions and jobs from
// the index into memory.
func (a *API) load(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ces, err := a.store.BatchResources(ctx, metadata.BatchComputeEnvironment)
	if err != nil {
		return err
	}
	for _, r := range ces {
		var c computeEnvironment
		if err := json.Unmarshal(r.Document, &c); err != nil {
			return err
		}
		a.envs[c.Name] = &c
	}
	qs, err := a.store.BatchResources(ctx, metadata.BatchJobQueue)
	if err != nil {
		return err
	}
	for _, r := range qs {
		var q jobQueue
		if err := json.Unmarshal(r.Document, &q); err != nil {
			return err
		}
		a.queues[q.Name] = &q
	}
	defs, err := a.store.BatchJobDefinitions(ctx, "")
	if err != nil {
		return err
	}
	for _, d := range defs {
		var jd jobDefinition
		if err := json.Unmarshal(d.Document, &jd); err != nil {
			return err
		}
		a.defs[jd.Name] = append(a.defs[jd.Name], &jd)
	}
	var children []*job
	for after := ""; ; {
		page, err := a.store.BatchJobs(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, r := range page {
			after = r.ID
			j := &job{createdNs: r.CreatedAt.UnixNano()}
			if err := json.Unmarshal(r.Document, j); err != nil {
				return err
			}
			a.jobs[j.JobID] = j
			if j.isArray() {
				j.children, j.live = map[int]*job{}, map[int]*job{}
			}
			if j.State.Parent != "" {
				children = append(children, j)
			}
			if !done(j.Status) {
				a.active[j.JobID] = j
			}
		}
		if len(page) < 500 {
			break
		}
	}
	for _, c := range children {
		p := a.jobs[c.State.Parent]
		if p == nil {
			delete(a.jobs, c.JobID)
			delete(a.active, c.JobID)
			continue
		}
		p.children[c.State.Index] = c
		p.advance()
		c.parent = p
		if done(c.Status) {
			p.childrenDone++
			if c.Status == StatusFailed {
				p.childrenFailed++
			}
		} else {
			p.live[c.State.Index] = c
		}
	}
	for _, j := range a.active {
		if j.Status == StatusStarting || j.Status == StatusRunning {
			if ce := a.envs[j.State.CE]; ce != nil {
				a.hold(j, ce)
			}
		}
	}
	return nil
}

// prune forgets jobs that finished longer than the retention ago, with
// their children.
func (a *API) prune(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cutoff := a.cfg.Now().Add(-a.cfg.Retention)
	var ids []string
	for id, j := range a.jobs {
		if j.State.Parent == "" && done(j.Status) && !j.State.Finished.IsZero() && j.State.Finished.Before(cutoff) {
			ids = append(ids, id)
			for _, c := range j.children {
				ids = append(ids, c.JobID)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	if err := a.store.DeleteBatchJobs(ctx, ids); err != nil {
		a.log.Error("batch: forgetting old jobs", "err", err)
		return
	}
	for _, id := range ids {
		delete(a.jobs, id)
	}
}
