package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/metadata"
)

// The live streams are server-sent events (text/event-stream), which the
// page's script reads with an EventSource: the changes of a cluster's
// tasks, and the new events of a log stream. A stream lasts at most
// streamLifetime, ends when the UI's Run does (berth shutting down), and
// the browser reconnects by itself, resuming a log after the last event
// it got (Last-Event-ID).
const (
	streamLifetime = 5 * time.Minute
	// keepAlive is how often an idle stream sends a comment, so that a
	// browser gone away is noticed.
	keepAlive = 15 * time.Second
	// retryMillis is how long the browser waits before it reconnects.
	retryMillis = 2000
	// followInterval is how often a followed log stream is read again
	// while it is idle: the log store batches its appends every 200 ms.
	followInterval = 500 * time.Millisecond
)

// eventStream writes server-sent events to one browser.
type eventStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// openStream starts an event stream on w and returns it with a context
// that ends with the request, the stream's lifetime or the UI's Run.
func (u *UI) openStream(w http.ResponseWriter, rq *request) (*eventStream, context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(rq.Context(), streamLifetime)
	stop := context.AfterFunc(u.closing, cancel)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // a proxy in front passes events on at once
	w.WriteHeader(http.StatusOK)
	s := &eventStream{w: w, rc: http.NewResponseController(w)}
	fmt.Fprintf(w, "retry: %d\n\n", retryMillis)
	s.rc.Flush()
	return s, ctx, func() { stop(); cancel() }
}

// send writes one event (with an id when id is not empty) and flushes
// it; data must be one line.
func (s *eventStream) send(event, id string, data []byte) error {
	if event != "" {
		fmt.Fprintf(s.w, "event: %s\n", event)
	}
	if id != "" {
		fmt.Fprintf(s.w, "id: %s\n", id)
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		return err
	}
	return s.rc.Flush()
}

// ping keeps an idle stream open.
func (s *eventStream) ping() error {
	if _, err := fmt.Fprint(s.w, ": keep-alive\n\n"); err != nil {
		return err
	}
	return s.rc.Flush()
}

// taskChanges streams the changes of a cluster's tasks (of one task with
// ?task=) as events named "change" whose data is the task's id; the
// script then reads the page again. The stream says what changed, not
// how, so it needs what listing (or describing) the tasks needs.
func (u *UI) taskChanges(w http.ResponseWriter, rq *request) error {
	cluster, id := rq.PathValue("cluster"), rq.URL.Query().Get("task")
	clusterARN := u.clusterARN(cluster)
	if id == "" {
		if err := rq.requireOn("ecs:ListTasks", clusterARN); err != nil {
			return err
		}
	} else if err := rq.requireOn("ecs:DescribeTasks", u.taskARN(cluster, id)); err != nil {
		return err
	}
	if _, err := u.store.Cluster(rq.Context(), cluster); err != nil {
		return err
	}
	s, ctx, done := u.openStream(w, rq)
	defer done()
	changes := u.cfg.Tasks.Subscribe(ctx)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		var err error
		select {
		case t, ok := <-changes:
			if !ok {
				return nil
			}
			if t.ClusterArn != clusterARN || id != "" && t.ID() != id {
				continue
			}
			err = s.send("change", "", []byte(t.ID()))
		case <-tick.C:
			err = s.ping()
		}
		if err != nil {
			return nil // the browser went away
		}
	}
}

// liveEvent is a log event as the follow stream sends it: its time as
// the page shows it and as a datetime, and its message.
type liveEvent struct {
	Time    string `json:"time"`
	ISO     string `json:"iso"`
	Message string `json:"message"`
}

// followLog streams a log stream's events after a position (the query's
// after, or the browser's Last-Event-ID when it reconnects) as they
// arrive, a message event each, whose id is the position after it. It
// reads as GetLogEvents does, a bounded page at a time.
func (u *UI) followLog(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	group, stream := q.Get("group"), q.Get("stream")
	if err := rq.requireOn("logs:GetLogEvents", u.logARN(group, stream)); err != nil {
		return err
	}
	from := q.Get("after")
	if last := rq.Header.Get("Last-Event-ID"); last != "" {
		from = last
	}
	after, err := parsePosition(from)
	if err != nil {
		return err
	}
	read := metadata.LogRead{Group: group, Stream: stream, From: after, Limit: logEventsPerPage, MaxBytes: logPageBytes}
	if from == "" { // from the newest event on
		last, err := u.store.ReadLogEvents(rq.Context(), metadata.LogRead{Group: group, Stream: stream, From: metadata.LogTail, Backward: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(last) > 0 {
			read.From = last[0].Position
		}
	}
	// The stream must exist before the response starts, so that the
	// browser gets a 404 rather than an empty stream.
	events, err := u.store.ReadLogEvents(rq.Context(), read)
	if err != nil {
		return err
	}
	s, ctx, done := u.openStream(w, rq)
	defer done()
	poll := time.NewTicker(followInterval)
	defer poll.Stop()
	idle := time.Now()
	for {
		for _, e := range events {
			data, _ := json.Marshal(liveEvent{Time: logTime(e.Time), ISO: logISO(e.Time), Message: e.Message})
			if err := s.send("", formatPosition(e.Position), data); err != nil {
				return nil
			}
			read.From = e.Position
		}
		if len(events) > 0 {
			idle = time.Now()
		}
		if len(events) < read.Limit { // caught up: wait for more
			select {
			case <-ctx.Done():
				return nil
			case <-poll.C:
			}
			if time.Since(idle) > keepAlive {
				if s.ping() != nil {
					return nil
				}
				idle = time.Now()
			}
		}
		if events, err = u.store.ReadLogEvents(ctx, read); err != nil {
			if ctx.Err() == nil {
				u.log.WarnContext(rq.Context(), "ui: following a log stream", "group", group, "stream", stream, "err", err)
			}
			return nil
		}
	}
}

// The launcher's runner and API are what Config asks for.
var (
	_ Tasks           = (*ecs.Runner)(nil)
	_ TaskDefinitions = (*ecs.API)(nil)
)
