package batch

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// attempt is what running one attempt of a job needs, copied from the
// job when it starts so that the attempt's goroutine reads nothing the
// scheduler changes.
type attempt struct {
	jobID    string
	taskID   string
	number   int
	image    string
	caller   launcher.Caller
	spec     launcher.Spec
	timeout  time.Duration
	stream   string
	reattach string    // the container to follow, after a restart
	started  time.Time // when the reattached container started
}

func newTaskID() string { return launcher.NewID() }

// logStream is the stream of j's current attempt, as AWS names it.
func logStream(j *job) string { return j.State.DefName + "/default/" + j.State.TaskID }

// containerName is the engine's name of j's container for attempt n.
func containerName(j *job, n int) string {
	return "berth-batch-" + strings.ReplaceAll(j.JobID, ":", "-") + "-" + strconv.Itoa(n)
}

// attemptSpec builds j's next attempt. Call with a.mu held.
func (a *API) attemptSpec(j *job) attempt {
	n := len(j.Attempts) + 1
	env := map[string]string{}
	for _, kv := range j.Container.Environment {
		env[kv.Name] = kv.Value
	}
	env["AWS_BATCH_JOB_ID"] = j.JobID
	env["AWS_BATCH_JOB_ATTEMPT"] = strconv.Itoa(n)
	env["AWS_BATCH_CE_NAME"] = j.State.CE
	env["AWS_BATCH_JQ_NAME"] = j.State.Queue
	env["AWS_REGION"] = a.cfg.Region
	env["AWS_DEFAULT_REGION"] = a.cfg.Region
	if p := j.parent; p != nil {
		env["AWS_BATCH_JOB_ARRAY_INDEX"] = strconv.Itoa(j.State.Index)
		env["AWS_BATCH_JOB_ARRAY_SIZE"] = strconv.Itoa(p.size())
	}
	var timeout time.Duration
	if j.Timeout != nil && j.Timeout.AttemptDurationSeconds > 0 {
		timeout = time.Duration(j.Timeout.AttemptDurationSeconds) * time.Second
	}
	return attempt{
		jobID: j.JobID, taskID: j.State.TaskID, number: n, image: j.Container.Image, caller: j.State.Caller,
		timeout: timeout, stream: logStream(j),
		spec: launcher.Spec{
			Name: containerName(j, n), Cmd: j.Container.Command, Env: env, User: j.Container.User,
			Owner:   launcher.Owner{Service: launcher.ServiceBatch, Job: j.JobID, Container: "default", Instance: a.cfg.Instance},
			Network: launcher.NetworkHost,
			Limits: launcher.Limits{
				CPUShares: max(2, j.State.MilliCPU*1024/1000),
				Memory:    j.State.MemoryMiB << 20,
			},
		},
	}
}

// result is how an attempt ended.
type result struct {
	exitCode *int
	reason   string // the container's reason (OOM, engine messages)
	failure  string // why the attempt never ran its container, as the status reason
	started  time.Time
	stopped  time.Time
}

// runAttempt pulls, creates and starts the attempt's container, follows
// it to its end and records the result.
func (a *API) runAttempt(at attempt) {
	ctx := a.ctx
	if at.reattach != "" {
		a.follow(ctx, at, at.reattach, at.started)
		return
	}
	fail := func(msg string) {
		if ctx.Err() == nil {
			a.finish(at, result{failure: msg})
		}
	}
	image, err := a.cfg.Images.Resolve(at.image)
	if err != nil {
		fail("CannotPullContainerError: " + err.Error())
		return
	}
	if err := a.pull(ctx, image, at.caller); err != nil {
		var pe *launcher.PullError
		if errors.As(err, &pe) {
			fail("CannotPullContainerError: " + pe.Message)
		} else {
			fail("CannotPullContainerError: " + err.Error())
		}
		return
	}
	spec := at.spec
	spec.Image = image
	id, err := a.engine.Create(ctx, spec)
	if errors.Is(err, launcher.ErrConflict) {
		// A container of this attempt left by an earlier run: replace it.
		if old, lerr := a.engine.List(ctx, map[string]string{launcher.LabelJob: at.jobID}); lerr == nil {
			for _, c := range old {
				_ = a.engine.Remove(ctx, c.ID)
			}
		}
		id, err = a.engine.Create(ctx, spec)
	}
	if err != nil {
		fail("CannotCreateContainerError: " + err.Error())
		return
	}
	if !a.created(at, id) {
		_ = a.engine.Remove(context.WithoutCancel(ctx), id)
		return
	}
	started := a.cfg.Now()
	if err := a.engine.Start(ctx, id); err != nil {
		_ = a.engine.Remove(context.WithoutCancel(ctx), id)
		fail("CannotStartContainerError: " + err.Error())
		return
	}
	a.running(at, started)
	a.follow(ctx, at, id, started)
}

// pull pulls image for c, unless it was pulled for c a moment ago (an
// array's children share one pull).
func (a *API) pull(ctx context.Context, image string, c launcher.Caller) error {
	key := image + "\x00" + c.User
	a.pullMu.Lock()
	last, ok := a.pulled[key]
	a.pullMu.Unlock()
	if ok && a.cfg.Now().Sub(last) < time.Minute {
		return nil
	}
	var auth launcher.RegistryAuth
	if a.access != nil {
		var err error
		if auth, err = a.access.RegistryAuth(ctx, c); err != nil {
			return err
		}
	}
	if err := a.engine.Pull(ctx, image, auth); err != nil {
		return err
	}
	a.pullMu.Lock()
	a.pulled[key] = a.cfg.Now()
	a.pullMu.Unlock()
	return nil
}

// follow waits for container id of at to end, copying its output to the
// log store and stopping it at its timeout, then records its exit and
// removes it. When berth stops first, it returns and leaves the
// container running.
func (a *API) follow(ctx context.Context, at attempt, id string, started time.Time) {
	var capture sync.WaitGroup
	if a.cfg.Logs != nil {
		capture.Add(1)
		go func() {
			defer capture.Done()
			if err := a.captureLogs(ctx, id, at.stream); err != nil && ctx.Err() == nil {
				a.log.Warn("batch: capturing a job's output", "job", at.jobID, "stream", at.stream, "err", err)
			}
		}()
	}
	if at.timeout > 0 {
		left := time.Until(started.Add(at.timeout))
		timer := time.AfterFunc(max(left, 0), func() {
			if a.timedOut(at) {
				a.stopContainer(id)
			}
		})
		defer timer.Stop()
	}
	exit, err := a.engine.Wait(ctx, id)
	if ctx.Err() != nil {
		return
	}
	res := result{started: started, stopped: exit.FinishedAt}
	if res.stopped.IsZero() || res.stopped.Before(started) {
		res.stopped = a.cfg.Now()
		if res.stopped.Before(started) {
			res.stopped = started
		}
	}
	if err != nil {
		res.failure = "CannotInspectContainerError: " + err.Error()
	} else {
		code := exit.Code
		res.exitCode = &code
		switch {
		case exit.OOMKilled:
			res.reason = "OutOfMemoryError: Container killed due to memory usage"
		case exit.Error != "":
			res.reason = exit.Error
		}
	}
	// The container's vCPUs are free now: the next job may start while
	// this one's output drains.
	a.exited(at)
	// The output is complete once the container has stopped; give the
	// copy a moment to drain.
	drained := make(chan struct{})
	go func() { capture.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
	}
	a.finish(at, res)
	_ = a.engine.Remove(context.WithoutCancel(ctx), id)
}

// captureLogs copies container id's output into stream, after what the
// stream already holds (a reattached container).
func (a *API) captureLogs(ctx context.Context, id, stream string) error {
	w, last, err := a.cfg.Logs.OpenStream(ctx, LogGroup, stream)
	if err != nil {
		return err
	}
	defer w.Close()
	for line, err := range a.engine.Logs(ctx, id, launcher.LogOptions{Follow: true, Since: last}) {
		if err != nil {
			return err
		}
		if !last.IsZero() && !line.Time.After(last) {
			continue
		}
		w.Write(line.Time, line.Text)
	}
	return nil
}

// stopContainer stops a terminated or timed-out attempt's container.
func (a *API) stopContainer(id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), a.cfg.StopGrace+30*time.Second)
	defer cancel()
	if err := a.engine.Stop(ctx, id, a.cfg.StopGrace); err != nil && !errors.Is(err, launcher.ErrNotFound) {
		a.log.Warn("batch: stopping a job's container", "container", id, "err", err)
	}
}

// current returns the job of at if it is still at that attempt. Call
// with a.mu held.
func (a *API) current(at attempt) *job {
	j := a.jobs[at.jobID]
	if j == nil || j.State.TaskID != at.taskID || (j.Status != StatusStarting && j.Status != StatusRunning) {
		return nil
	}
	return j
}

// created records the attempt's container; false when the job has
// moved on (terminated meanwhile), and the container must go.
func (a *API) created(at attempt, id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	j := a.current(at)
	if j == nil {
		return false
	}
	if j.State.Terminating != "" {
		a.endAttempt(a.ctx, j, result{failure: j.State.Terminating})
		return false
	}
	j.State.ContainerID = id
	a.saveLogged(a.ctx, j)
	return true
}

// running moves the attempt's job to RUNNING.
func (a *API) running(at attempt, started time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	j := a.current(at)
	if j == nil {
		return
	}
	j.Status = StatusRunning
	j.State.AttemptStarted = started
	j.StartedAt = ms(started)
	j.Container.LogStreamName = at.stream
	j.Container.TaskArn = a.taskARN(j)
	a.saveLogged(a.ctx, j)
	if j.State.Terminating != "" {
		go a.stopContainer(j.State.ContainerID)
	}
}

func (a *API) taskARN(j *job) string {
	return "arn:aws:ecs:" + a.cfg.Region + ":" + a.cfg.AccountID + ":task/AWSBatch-" + j.State.CE + "/" + j.State.TaskID
}

// timedOut marks the attempt's job as stopped for its timeout; false
// when it has ended already.
func (a *API) timedOut(at attempt) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	j := a.current(at)
	if j == nil {
		return false
	}
	j.State.TimedOut = true
	a.saveLogged(a.ctx, j)
	return true
}

// exited gives the attempt's vCPUs back as soon as its container has
// stopped.
func (a *API) exited(at attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if j := a.current(at); j != nil {
		a.release(j)
		a.kick()
	}
}

// finish records how the attempt ended.
func (a *API) finish(at attempt, res result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if j := a.current(at); j != nil {
		a.endAttempt(a.ctx, j, res)
	}
}

// endAttempt records j's attempt and decides: SUCCEEDED on exit 0;
// FAILED when terminated, timed out (never retried, as AWS) or out of
// attempts or told to EXIT by evaluateOnExit; else RUNNABLE again.
func (a *API) endAttempt(ctx context.Context, j *job, res result) {
	a.release(j)
	reason := reasonContainerExited
	switch {
	case j.State.Terminating != "":
		reason = j.State.Terminating
	case j.State.TimedOut:
		reason = reasonTimeout
	case res.failure != "":
		reason = res.failure
	}
	if j.State.ContainerID != "" || res.exitCode != nil {
		started := res.started
		if started.IsZero() {
			started = j.State.AttemptStarted
		}
		j.Attempts = append(j.Attempts, AttemptDetail{
			Container: AttemptContainerDetail{TaskArn: a.taskARN(j), ExitCode: res.exitCode, Reason: res.reason,
				LogStreamName: logStream(j), NetworkInterfaces: []any{}},
			StartedAt: ms(started), StoppedAt: ms(res.stopped), StatusReason: reason,
		})
	} else {
		j.Attempts = append(j.Attempts, AttemptDetail{
			Container: AttemptContainerDetail{Reason: res.failure, NetworkInterfaces: []any{}},
			StartedAt: ms(a.cfg.Now()), StoppedAt: ms(a.cfg.Now()), StatusReason: reason,
		})
	}
	j.Container.ExitCode, j.Container.Reason = res.exitCode, res.reason
	if res.failure != "" && res.exitCode == nil {
		j.Container.Reason = res.failure
	}
	j.StatusReason = reason
	j.State.ContainerID = ""
	if !res.stopped.IsZero() {
		j.StoppedAt = ms(res.stopped)
	}
	succeeded := res.exitCode != nil && *res.exitCode == 0 && j.State.Terminating == "" && !j.State.TimedOut
	if succeeded {
		j.Status = StatusSucceeded
		a.finalize(ctx, j)
		return
	}
	if j.State.Terminating == "" && !j.State.TimedOut && len(j.Attempts) < j.maxAttempts() {
		var rules []EvaluateOnExit
		if j.RetryStrategy != nil {
			rules = j.RetryStrategy.EvaluateOnExit
		}
		if retryAction(rules, exitOutcome{exitCode: res.exitCode, reason: j.Container.Reason, statusReason: reason}) == "RETRY" {
			j.Status = StatusRunnable
			a.saveLogged(ctx, j)
			a.kick()
			return
		}
	}
	j.Status = StatusFailed
	a.finalize(ctx, j)
}

// recover reattaches to the attempts that were running when berth
// stopped: a container still running is followed again, one that
// exited meanwhile gives its real exit code, and an attempt whose
// container is gone (or was never made) runs again. Containers of this
// berth that belong to no running attempt are removed.
func (a *API) recover(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keep := map[string]bool{}
	for _, j := range a.active {
		if j.Status != StatusStarting && j.Status != StatusRunning {
			continue
		}
		id := j.State.ContainerID
		if id == "" {
			a.release(j)
			j.Status = StatusRunnable
			a.saveLogged(ctx, j)
			continue
		}
		st, err := a.engine.Inspect(ctx, id)
		switch {
		case errors.Is(err, launcher.ErrNotFound):
			a.endAttempt(ctx, j, result{failure: "Host EC2 (instance berth) terminated."})
		case err != nil:
			a.log.Warn("batch: inspecting a job's container after a restart", "job", j.JobID, "err", err)
			keep[id] = true
		case st.Status == launcher.StatusCreated:
			a.release(j)
			j.Status = StatusRunnable
			j.State.ContainerID = ""
			a.saveLogged(ctx, j)
		default:
			keep[id] = true
			at := a.attemptSpec(j)
			at.number = len(j.Attempts) + 1
			at.reattach, at.started = id, st.StartedAt
			if j.Status == StatusStarting {
				j.Status = StatusRunning
				j.StartedAt = ms(st.StartedAt)
				j.State.AttemptStarted = st.StartedAt
				j.Container.LogStreamName = at.stream
				j.Container.TaskArn = a.taskARN(j)
				a.saveLogged(ctx, j)
			}
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.runAttempt(at)
			}()
		}
	}
	list, err := a.engine.List(ctx, map[string]string{launcher.LabelService: launcher.ServiceBatch, launcher.LabelInstance: a.cfg.Instance})
	if err != nil {
		a.log.Warn("batch: listing job containers after a restart", "err", err)
		return
	}
	for _, c := range list {
		if !keep[c.ID] {
			go func() { _ = a.engine.Remove(context.WithoutCancel(ctx), c.ID) }()
		}
	}
}
