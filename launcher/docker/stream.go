package docker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
)

// Logs implements [launcher.LogSource]. The engine sends each log message
// in its own frame of its multiplexed stream, headed by the stream it came
// from and prefixed with its time stamp; a message without a final newline
// is part of a longer line.
func (r *Runtime) Logs(ctx context.Context, id string, opts launcher.LogOptions) iter.Seq2[launcher.LogLine, error] {
	return func(yield func(launcher.LogLine, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		o := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: opts.Follow}
		if !opts.Since.IsZero() {
			o.Since = unixNano(opts.Since)
		}
		last, ok := r.readLogs(ctx, id, o, yield)
		if !ok || !opts.Follow || ctx.Err() != nil {
			return
		}
		// The stream ends when the container stops, and the engine may
		// write the last message (a line without its newline) just after:
		// read once more what came after the last line seen.
		o.Follow = false
		if !last.IsZero() {
			o.Since = unixNano(last.Add(time.Nanosecond))
		}
		r.readLogs(ctx, id, o, yield)
	}
}

// readLogs yields one logs request's lines and returns the time of the
// last one; ok is false when the consumer stopped or an error was yielded.
func (r *Runtime) readLogs(ctx context.Context, id string, o client.ContainerLogsOptions, yield func(launcher.LogLine, error) bool) (last time.Time, ok bool) {
	body, err := r.c.ContainerLogs(ctx, id, o)
	if err != nil {
		yield(launcher.LogLine{}, fmt.Errorf("logs %s: %w", short(id), engineErr(err, launcher.ErrNotFound)))
		return last, false
	}
	defer body.Close()
	for line, err := range readFrames(body) {
		if err != nil && ctx.Err() != nil {
			return last, false // the consumer's context ended the stream, not the engine
		}
		if err != nil {
			yield(launcher.LogLine{}, fmt.Errorf("logs %s: %w", short(id), err))
			return last, false
		}
		if line.Time.After(last) {
			last = line.Time
		}
		if !yield(line, nil) {
			return last, false
		}
	}
	return last, true
}

// maxFrame bounds what one log frame may make us hold; the engine splits
// lines at 16 KiB, so only a broken engine sends more, and we pass the
// excess on in pieces rather than hold it.
const maxFrame = 1 << 20

// readFrames splits the engine's multiplexed log stream (8-byte headers:
// stream, three zero bytes, big-endian payload size) into lines.
func readFrames(r io.Reader) iter.Seq2[launcher.LogLine, error] {
	return func(yield func(launcher.LogLine, error) bool) {
		br := bufio.NewReaderSize(r, 32<<10)
		var hdr [8]byte
		buf := make([]byte, 0, 32<<10)
		for {
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				if err != io.EOF {
					yield(launcher.LogLine{}, fmt.Errorf("truncated log frame: %w", err))
				}
				return
			}
			stream := launcher.Stream(hdr[0])
			size := int64(binary.BigEndian.Uint32(hdr[4:]))
			switch hdr[0] {
			case 0, 1:
				stream = launcher.Stdout
			case 2:
			case 3: // the engine's own error
				msg, _ := io.ReadAll(io.LimitReader(br, min(size, 4096)))
				yield(launcher.LogLine{}, errors.New(strings.TrimSpace(string(msg))))
				return
			default:
				yield(launcher.LogLine{}, fmt.Errorf("log frame of unknown stream %d", hdr[0]))
				return
			}
			if size == 0 {
				continue
			}
			first := true
			var ts time.Time
			for size > 0 || first {
				n := min(size, maxFrame)
				buf = buf[:n]
				if _, err := io.ReadFull(br, buf); err != nil {
					yield(launcher.LogLine{}, fmt.Errorf("truncated log frame: %w", err))
					return
				}
				size -= n
				text := string(buf)
				if first {
					ts, text = splitTimestamp(text)
					first = false
				}
				line := launcher.LogLine{Stream: stream, Time: ts, Text: text, Partial: true}
				if size == 0 {
					line.Text, line.Partial = strings.CutSuffix(text, "\n")
					line.Partial = !line.Partial
				}
				if !yield(line, nil) {
					return
				}
			}
		}
	}
}

// splitTimestamp cuts the engine's RFC 3339 time stamp off a log message.
func splitTimestamp(s string) (time.Time, string) {
	stamp, rest, ok := strings.Cut(s, " ")
	if !ok {
		stamp, rest = strings.TrimSuffix(s, "\n"), "\n"
	}
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return time.Time{}, s
	}
	return t, rest
}

// Events implements [launcher.EventSource].
func (r *Runtime) Events(ctx context.Context, opts launcher.EventOptions) iter.Seq2[launcher.Event, error] {
	return func(yield func(launcher.Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		f := labelFilters(opts.Labels).
			Add("type", "container").
			Add("event", "die", "oom", "health_status")
		o := client.EventsListOptions{Filters: f}
		if !opts.Since.IsZero() {
			o.Since = unixNano(opts.Since)
		}
		res := r.c.Events(ctx, o)
		for {
			select {
			case m := <-res.Messages:
				ev, ok := toEvent(m)
				if ok && !yield(ev, nil) {
					return
				}
			case err := <-res.Err:
				if ctx.Err() == nil && err != nil {
					yield(launcher.Event{}, fmt.Errorf("events: %w", engineErr(err, nil)))
				}
				return
			}
		}
	}
}

// toEvent reads an engine event; ok is false for one berth does not report.
func toEvent(m events.Message) (launcher.Event, bool) {
	ev := launcher.Event{ID: m.Actor.ID, Time: time.Unix(0, m.TimeNano), Labels: map[string]string{}}
	if m.TimeNano == 0 {
		ev.Time = time.Unix(m.Time, 0)
	}
	for k, v := range m.Actor.Attributes {
		if strings.HasPrefix(k, launcher.LabelPrefix) {
			ev.Labels[k] = v
		}
	}
	action := string(m.Action)
	switch {
	case action == "die":
		ev.Kind = launcher.EventExit
		ev.ExitCode, _ = strconv.Atoi(m.Actor.Attributes["exitCode"])
	case action == "oom":
		ev.Kind = launcher.EventOOM
	case strings.HasPrefix(action, "health_status"):
		// "health_status: healthy"; newer engines may also send the bare
		// action with the status as an attribute.
		ev.Kind = launcher.EventHealth
		status := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(action, "health_status"), ":"))
		if status == "" {
			status = m.Actor.Attributes["healthStatus"]
		}
		ev.Health = launcher.Health(status)
	default:
		return launcher.Event{}, false
	}
	return ev, true
}

// unixNano is t as the engine's since/until parameters take it.
func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
