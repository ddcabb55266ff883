package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// Asynchronous (Event) invocations, as Lambda runs them
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html):
// queued, run as soon as there is concurrency for them, and retried twice
// when the function fails (an error, a timeout, a crash), after
// RetryDelay and then twice that, with the same request id. Throttles and
// environments that cannot start are retried with back-off until the
// event is maxEventAge old. The queue is kept in the index: an event not
// done when berth stops runs when it starts again, against the function
// (and the version or alias it was invoked as) as it is then.

// maxEventAge is how long Lambda keeps retrying an event it could not run.
const maxEventAge = 6 * time.Hour

// asyncRetries is how often a failed event is retried.
const asyncRetries = 2

// eventDoc is a queued event as the index keeps it.
type eventDoc struct {
	Payload       []byte `json:"payload"`
	FunctionARN   string `json:"functionArn"`
	ClientContext string `json:"clientContext,omitempty"`
	// Failures is how often the function failed it so far.
	Failures int `json:"failures"`
}

// queued is an event being delivered.
type queued struct {
	req      Request
	at       time.Time
	failures int
}

// enqueue keeps an Event invocation in the index and runs it in the
// background.
func (a *API) enqueue(ctx context.Context, v Version, req Request) error {
	if req.RequestID == "" {
		req.RequestID = launcher.NewUUID()
	}
	e := queued{req: req, at: time.Now()}
	if err := a.keep(ctx, e); err != nil {
		return fmt.Errorf("queueing an asynchronous invocation: %w", err)
	}
	a.work.Go(func() { a.deliver(v, e) })
	return nil
}

// keep stores e in the index.
func (a *API) keep(ctx context.Context, e queued) error {
	doc, err := json.Marshal(eventDoc{Payload: e.req.Payload, FunctionARN: e.req.FunctionARN, ClientContext: e.req.ClientContext, Failures: e.failures})
	if err != nil {
		return err
	}
	return a.store.PutLambdaEvent(ctx, metadata.LambdaEvent{RequestID: e.req.RequestID, QueuedAt: e.at, Document: doc})
}

// resumeEvents delivers the events an earlier run left in the index.
func (a *API) resumeEvents(ctx context.Context) error {
	for after := ""; ; {
		page, err := a.store.LambdaEvents(ctx, after, 100)
		if err != nil {
			return err
		}
		for _, stored := range page {
			after = stored.RequestID
			var doc eventDoc
			if err := json.Unmarshal(stored.Document, &doc); err != nil {
				return fmt.Errorf("asynchronous invocation %s: %w", stored.RequestID, err)
			}
			e := queued{req: Request{RequestID: stored.RequestID, Payload: doc.Payload, FunctionARN: doc.FunctionARN, ClientContext: doc.ClientContext},
				at: stored.QueuedAt, failures: doc.Failures}
			parsed, _ := arn.Parse(doc.FunctionARN)
			name, qualifier, _ := parsed.Function()
			res, err := a.resolve(ctx, functionRef{Name: name, Qualifier: qualifier})
			if err != nil {
				a.cfg.Log.Warn("lambda: dropping an asynchronous invocation: its function is gone", "function", doc.FunctionARN, "request_id", e.req.RequestID, "err", err)
				a.done(e)
				continue
			}
			v := a.runnable(res)
			a.work.Go(func() { a.deliver(v, e) })
		}
		if len(page) < 100 {
			return nil
		}
	}
}

// done removes a delivered (or dropped) event from the index.
func (a *API) done(e queued) {
	if err := a.store.DeleteLambdaEvent(context.WithoutCancel(a.ctx), e.req.RequestID); err != nil {
		a.cfg.Log.Error("lambda: removing a delivered asynchronous invocation", "request_id", e.req.RequestID, "err", err)
	}
}

// deliver runs an event until it succeeds, has failed three times, or is
// too old to try again; then it is done. One that berth stops before
// that stays in the index for the next start.
func (a *API) deliver(v Version, e queued) {
	log := a.cfg.Log.With("function", v.Name, "version", v.Version, "request_id", e.req.RequestID)
	backoff := time.Second
	for {
		res, err := a.runner.Invoke(a.ctx, v, e.req)
		var wait time.Duration
		switch {
		case errors.Is(err, ErrClosed) || a.ctx.Err() != nil:
			log.Info("lambda: an asynchronous invocation waits for berth's next start")
			return
		case err != nil:
			// Throttled, or no environment could start: not the
			// function's failure, so not one of its retries.
			if time.Since(e.at) > maxEventAge {
				log.Warn("lambda: dropping an asynchronous invocation past its maximum age", "err", err)
				a.done(e)
				return
			}
			wait, backoff = backoff, min(2*backoff, 5*time.Minute)
		case res.ErrorType == "":
			a.done(e)
			return
		case e.failures == asyncRetries:
			log.Warn("lambda: an asynchronous invocation failed after its retries", "error_type", res.ErrorType)
			a.done(e)
			return
		default:
			e.failures++
			if err := a.keep(a.ctx, e); err != nil {
				log.Error("lambda: recording a failed asynchronous invocation's attempt", "err", err)
			}
			wait = time.Duration(e.failures) * a.cfg.RetryDelay
			log.Info("lambda: retrying a failed asynchronous invocation", "error_type", res.ErrorType, "retry", e.failures, "in", wait)
		}
		if !sleep(a.ctx, wait) {
			log.Info("lambda: an asynchronous invocation waits for berth's next start")
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
