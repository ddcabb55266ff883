package lambda

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// Asynchronous (Event) invocations, as Lambda runs them
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html):
// queued, run as soon as there is concurrency for them, and retried twice
// when the function fails (an error, a timeout, a crash), after
// RetryDelay and then twice that, with the same request id. Throttles and
// environments that cannot start are retried with back-off until the
// event is maxEventAge old. The queue is in memory: events not yet run
// when berth stops are lost.

// maxEventAge is how long Lambda keeps retrying an event it could not run.
const maxEventAge = 6 * time.Hour

// asyncRetries is how often a failed event is retried.
const asyncRetries = 2

// enqueue takes an Event invocation and runs it in the background.
func (a *API) enqueue(v Version, req Request) {
	if req.RequestID == "" {
		req.RequestID = launcher.NewUUID()
	}
	a.work.Go(func() { a.deliver(v, req) })
}

// deliver runs an event until it succeeds, has failed three times, or is
// too old to try again.
func (a *API) deliver(v Version, req Request) {
	log := a.cfg.Log.With("function", v.Name, "version", v.Version, "request_id", req.RequestID)
	queued := time.Now()
	backoff := time.Second
	for failures := 0; ; {
		res, err := a.runner.Invoke(a.ctx, v, req)
		var wait time.Duration
		switch {
		case errors.Is(err, ErrClosed) || a.ctx.Err() != nil:
			log.Warn("lambda: an asynchronous invocation was not run: berth stopped")
			return
		case err != nil:
			// Throttled, or no environment could start: not the
			// function's failure, so not one of its retries.
			if time.Since(queued) > maxEventAge {
				log.Warn("lambda: dropping an asynchronous invocation past its maximum age", "err", err)
				return
			}
			wait, backoff = backoff, min(2*backoff, 5*time.Minute)
		case res.ErrorType == "":
			return
		case failures == asyncRetries:
			log.Warn("lambda: an asynchronous invocation failed after its retries", "error_type", res.ErrorType)
			return
		default:
			failures++
			wait = time.Duration(failures) * a.cfg.RetryDelay
			log.Info("lambda: retrying a failed asynchronous invocation", "error_type", res.ErrorType, "retry", failures, "in", wait)
		}
		if !sleep(a.ctx, wait) {
			log.Warn("lambda: an asynchronous invocation was not retried: berth stopped")
			return
		}
	}
}

// sleep waits d, or returns false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
