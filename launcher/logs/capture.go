package logs

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/berth-dev/berth/metadata"
)

// Destination is the stream a container's output goes to, as ECS's
// awslogs options, Lambda and Batch name it.
type Destination struct {
	Group, Stream string
	// CreateGroup creates the group when it does not exist (ECS's
	// awslogs-create-group; Lambda and Batch always do). Without it a
	// missing group is an error. The stream is always created.
	CreateGroup bool
}

// Timestamps says where a captured line's time comes from.
type Timestamps int

const (
	// ArrivalTime stamps each line with the time the Writer read it.
	ArrivalTime Timestamps = iota
	// DockerTimestamps takes each line's time from its RFC 3339 prefix and
	// the space after it, as `docker logs --timestamps` writes them
	// ("2024-05-01T10:00:00.123456789Z hello"), and strips the prefix. A
	// line without one is stamped on arrival and kept whole.
	DockerTimestamps
)

// flushTimeout bounds one batch's append, retries included.
const flushTimeout = 30 * time.Second

// appendAttempts is how often a batch is tried before it is dropped.
const appendAttempts = 5

// Writer batches events for one stream. Many goroutines (a container's
// stdout and stderr readers, several containers) may write to it at once;
// it appends a batch when it is full or Interval after its oldest event,
// in the order the events were written, and blocks writers while a full
// batch is appended, so memory stays bounded by a batch or two.
type Writer struct {
	store *Store
	dest  Destination
	refs  int // guarded by store.mu

	flushing sync.Mutex // held while a batch is taken and appended, so batches land in order

	mu      sync.Mutex // guards the fields below
	pending []metadata.LogEvent
	bytes   int64
	timer   *time.Timer
	err     error // the first batch dropped
}

// Open returns the Writer of dest, creating its stream (and group if dest
// says so) when they do not exist. Writers are shared: every Open of the
// same destination returns the same Writer until each has been closed.
// Names the Logs API could not address are refused as it refuses them.
func (s *Store) Open(ctx context.Context, dest Destination) (*Writer, error) {
	if err := errors.Join(checkGroupName("logGroupName", dest.Group), checkStreamName("logStreamName", dest.Stream)); err != nil {
		return nil, err
	}
	if err := s.ensure(ctx, dest); err != nil {
		return nil, fmt.Errorf("log stream %s/%s: %w", dest.Group, dest.Stream, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.writers[dest]
	if w == nil {
		w = &Writer{store: s, dest: dest}
		s.writers[dest] = w
	}
	w.refs++
	return w, nil
}

// Capture is Open, Writer.Capture and Close: it copies r's lines into
// dest until r ends, and returns r's error or an append's.
func (s *Store) Capture(ctx context.Context, dest Destination, r io.Reader, stamps Timestamps) error {
	w, err := s.Open(ctx, dest)
	if err != nil {
		return err
	}
	return errors.Join(w.Capture(ctx, r, stamps), w.Close())
}

// Close flushes what this Writer holds once its last user closes it, and
// returns the error of the first batch it had to drop, if any.
func (w *Writer) Close() error {
	s := w.store
	s.mu.Lock()
	w.refs--
	last := w.refs == 0
	if last {
		delete(s.writers, w.dest)
	}
	s.mu.Unlock()
	if last {
		w.Flush()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write adds one event with message at time at; a message longer than
// MaxEventBytes becomes several events, and an empty one none
// (CloudWatch Logs stores no empty message).
func (w *Writer) Write(at time.Time, message string) {
	for len(message) > MaxEventBytes {
		cut := utf8Cut(message, MaxEventBytes)
		w.add(at, message[:cut])
		message = message[cut:]
	}
	w.add(at, message)
}

// Capture reads r line by line until it ends and writes each line as an
// event (a line longer than MaxEventBytes as several, split at a UTF-8
// boundary). It holds at most one event's bytes of a line at a time.
// When ctx ends Capture closes r if r is an io.Closer, which ends it; it
// returns r's error, nil at io.EOF.
func (w *Writer) Capture(ctx context.Context, r io.Reader, stamps Timestamps) error {
	if c, ok := r.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	var at time.Time
	started := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if !started {
				started = true
				at, chunk = w.stamp(chunk, stamps)
			}
			complete := chunk[len(chunk)-1] == '\n'
			if complete {
				chunk = chunk[:len(chunk)-1]
			}
			line = append(line, chunk...)
			for len(line) > MaxEventBytes {
				cut := utf8Cut(line, MaxEventBytes)
				w.add(at, string(line[:cut]))
				line = line[:copy(line, line[cut:])]
			}
			if complete {
				w.add(at, string(line))
				line, started = line[:0], false
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
		case err != nil:
			if len(line) > 0 {
				w.add(at, string(line))
			}
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// stamp returns the time of a line that starts with chunk, and chunk
// without its timestamp prefix if it had one.
func (w *Writer) stamp(chunk []byte, stamps Timestamps) (time.Time, []byte) {
	if stamps == DockerTimestamps {
		// RFC 3339 with nanoseconds and a zone is at most 35 bytes.
		if i := bytes.IndexByte(chunk[:min(len(chunk), 40)], ' '); i >= 20 {
			if t, err := time.Parse(time.RFC3339Nano, string(chunk[:i])); err == nil {
				return t, chunk[i+1:]
			}
		}
	}
	return w.store.cfg.Now(), chunk
}

// utf8Cut returns where to cut s, which is longer than n bytes, so that
// s[:cut] is at most n bytes and does not end inside a UTF-8 sequence (n
// itself when s is not UTF-8 there).
func utf8Cut[T string | []byte](s T, n int) int {
	for cut := n; cut > n-utf8.UTFMax && cut > 0; cut-- {
		if utf8.RuneStart(s[cut]) {
			return cut
		}
	}
	return n
}

// add queues one event, appending the batch when it is full and arming
// the interval timer when it starts one.
func (w *Writer) add(at time.Time, message string) {
	if message == "" {
		return
	}
	e := metadata.LogEvent{Time: max(at.UnixMilli(), 0), Message: message}
	limits := w.store.cfg.Batch
	w.mu.Lock()
	w.pending = append(w.pending, e)
	w.bytes += int64(len(message)) + metadata.LogEventOverhead
	full := len(w.pending) >= limits.Events || w.bytes >= limits.Bytes
	if !full && w.timer == nil {
		w.timer = time.AfterFunc(limits.Interval, w.Flush)
	}
	w.mu.Unlock()
	if full {
		w.Flush()
	}
}

// Flush appends what the Writer holds now, e.g. at the end of a Lambda
// invocation. Batches are taken and appended under one lock, so they land
// in the order they were written.
func (w *Writer) Flush() {
	w.flushing.Lock()
	defer w.flushing.Unlock()
	w.mu.Lock()
	batch := w.pending
	w.pending, w.bytes = nil, 0
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	// Events of one batch go in time order (stdout and stderr interleave
	// here); equal times keep the order they were written in.
	slices.SortStableFunc(batch, func(a, b metadata.LogEvent) int { return cmp.Compare(a.Time, b.Time) })
	if err := w.append(batch); err != nil {
		w.store.cfg.Log.Error("log store: dropping events", "group", w.dest.Group, "stream", w.dest.Stream, "events", len(batch), "err", err)
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
	}
}

// append stores one batch, recreating the stream (and group, if the
// destination says so) when it was deleted meanwhile, and retrying with
// back-off when the index fails.
func (w *Writer) append(batch []metadata.LogEvent) error {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	delay := 50 * time.Millisecond
	var err error
	for range appendAttempts {
		err = w.store.Append(ctx, w.dest.Group, w.dest.Stream, batch)
		if errors.Is(err, metadata.ErrLogStreamUnknown) || errors.Is(err, metadata.ErrLogGroupUnknown) {
			if err = w.store.ensure(ctx, w.dest); err == nil {
				continue
			}
		}
		if err == nil || errors.Is(err, metadata.ErrLogGroupUnknown) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
			delay *= 2
		}
	}
	return err
}
