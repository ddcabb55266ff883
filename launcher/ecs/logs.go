package ecs

import (
	"context"
	"strings"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// LogSink is where the output of containers whose log driver is awslogs
// goes: berth's log store, which the CloudWatch Logs API serves. The
// engine is never given awslogs options (they break it); the runner
// reads each container's output and writes it here.
type LogSink interface {
	// OpenStream returns the writer of stream in group, creating the
	// stream, and the group too when createGroup is set (awslogs-create-
	// group); without it a missing group is an error. last is the time of
	// the newest event the stream already holds (zero if none): a
	// container reattached after a restart resumes after it.
	OpenStream(ctx context.Context, group, stream string, createGroup bool) (w LogWriter, last time.Time, err error)
}

// LogWriter appends a stream's events.
type LogWriter interface {
	// Write adds one event (a line, without its newline).
	Write(at time.Time, message string)
	// Close flushes what is buffered.
	Close() error
}

// maxEventBytes bounds one event: an engine splits long lines into
// partial pieces, which are joined back up to this size (CloudWatch
// Logs' largest event).
const maxEventBytes = 256 << 10

// logStream is the stream of container i.
func (t *taskRun) logStream(i int) string {
	return awslogsStream(t.rec.Definition.ContainerDefinitions[i], t.rec.Containers[i].ID, t.id())
}

// awslogsStream is the stream of container c of task taskID, which the
// engine runs as runtimeID: <prefix>/<container>/<task id> as ECS names
// it, or the engine's container id without a prefix.
func awslogsStream(c ContainerDefinition, runtimeID, taskID string) string {
	prefix := ""
	if c.LogConfiguration != nil {
		prefix = c.LogConfiguration.Options["awslogs-stream-prefix"]
	}
	if prefix == "" {
		return runtimeID
	}
	return prefix + "/" + c.Name + "/" + taskID
}

// LogStream returns the log group and stream that container name of
// task t writes its output to, when def (the task's definition) gives it
// the awslogs driver; ok is false when it does not, or when the stream
// has no name yet (no prefix, and the engine has not created the
// container).
func LogStream(def TaskDefinition, t Task, name string) (group, stream string, ok bool) {
	c, found := def.container(name)
	if !found || c.LogConfiguration == nil || c.LogConfiguration.LogDriver != "awslogs" {
		return "", "", false
	}
	runtimeID := ""
	for _, tc := range t.Containers {
		if tc.Name == name {
			runtimeID = tc.RuntimeID
		}
	}
	stream = awslogsStream(*c, runtimeID, t.ID())
	return c.LogConfiguration.Options["awslogs-group"], stream, stream != ""
}

// capture starts copying container i's output to the log store, when
// its log driver is awslogs.
func (t *taskRun) capture(ctx context.Context, i int) {
	r := t.r
	lc := t.rec.Definition.ContainerDefinitions[i].LogConfiguration
	if r.cfg.Logs == nil || lc == nil || lc.LogDriver != "awslogs" {
		return
	}
	id, group, stream := t.rec.Containers[i].ID, lc.Options["awslogs-group"], t.logStream(i)
	create := lc.Options["awslogs-create-group"] == "true"
	t.captures.Add(1)
	go func() {
		defer t.captures.Done()
		if err := r.captureLogs(ctx, id, group, stream, create); err != nil && ctx.Err() == nil {
			r.log.Warn("ecs: capturing a container's output", "task", t.id(), "group", group, "stream", stream, "err", err)
		}
	}()
}

// captureLogs copies container id's output into stream of group until
// the container stops or ctx ends, after what the stream already holds.
func (r *Runner) captureLogs(ctx context.Context, id, group, stream string, create bool) error {
	w, last, err := r.cfg.Logs.OpenStream(ctx, group, stream, create)
	if err != nil {
		return err
	}
	defer w.Close()
	opts := launcher.LogOptions{Follow: true, Since: last}
	var partial strings.Builder
	var partialAt time.Time
	for line, err := range r.engine.Logs(ctx, id, opts) {
		if err != nil {
			return err
		}
		if !last.IsZero() && !line.Time.After(last) {
			continue // stored before a restart
		}
		if !line.Partial && partial.Len() == 0 {
			w.Write(line.Time, line.Text)
			continue
		}
		// A long line comes in pieces: join them, an event at most
		// maxEventBytes long (a longer line becomes several events).
		if partial.Len() > 0 && partial.Len()+len(line.Text) > maxEventBytes {
			w.Write(partialAt, partial.String())
			partial.Reset()
		}
		if partial.Len() == 0 {
			partialAt = line.Time
		}
		partial.WriteString(line.Text)
		if !line.Partial {
			w.Write(partialAt, partial.String())
			partial.Reset()
		}
	}
	if partial.Len() > 0 {
		w.Write(partialAt, partial.String())
	}
	return nil
}
