package logs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/metadata"
)

// readAll returns every event of a stream, oldest first.
func readAll(t *testing.T, f *fixture, group, stream string) []metadata.LogEvent {
	t.Helper()
	var all []metadata.LogEvent
	from := metadata.LogHead
	for {
		page, err := f.index.ReadLogEvents(t.Context(), metadata.LogRead{Group: group, Stream: stream, From: from, Limit: 1000})
		if err != nil {
			t.Fatalf("ReadLogEvents(%s, %s): %v", group, stream, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		from = page[len(page)-1].Position
	}
}

func eventMessages(events []metadata.LogEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Message)
	}
	return out
}

// A container stream with Docker's timestamps keeps each line's own
// time; lines without one, and plain streams, are stamped on arrival.
func TestCaptureTimestamps(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	dest := logs.Destination{Group: "/ecs/app", Stream: "ecs/web/task1", CreateGroup: true}
	docker := "2024-05-01T10:00:00.123456789Z first line\n" +
		"2024-05-01T10:00:01Z second\tline with  spaces \n" +
		"not a timestamp line\n" +
		"\n" + // empty: CloudWatch stores no empty event
		"2024-05-01T10:00:02.5+02:00 zoned\r\n" +
		"2024-05-01T10:00:03Z no newline at the end"
	if err := f.store.Capture(t.Context(), dest, strings.NewReader(docker), logs.DockerTimestamps); err != nil {
		t.Fatal(err)
	}
	events := readAll(t, f, dest.Group, dest.Stream)
	at := func(s string) int64 {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return ts.UnixMilli()
	}
	want := []struct {
		time int64
		msg  string
	}{
		{at("2024-05-01T08:00:02.5Z"), "zoned\r"},
		{at("2024-05-01T10:00:00.123Z"), "first line"},
		{at("2024-05-01T10:00:01Z"), "second\tline with  spaces "},
		{at("2024-05-01T10:00:03Z"), "no newline at the end"},
		{now.UnixMilli(), "not a timestamp line"},
	}
	if len(events) != len(want) {
		t.Fatalf("events = %q; want %d", eventMessages(events), len(want))
	}
	for i, w := range want {
		if events[i].Time != w.time || events[i].Message != w.msg || events[i].Ingested != now.UnixMilli() {
			t.Errorf("event %d = %+v; want time %d, message %q", i, events[i], w.time, w.msg)
		}
	}

	plain := logs.Destination{Group: "/ecs/app", Stream: "plain"}
	if err := f.store.Capture(t.Context(), plain, strings.NewReader("2024-05-01T10:00:00Z kept whole\nsecond\n"), logs.ArrivalTime); err != nil {
		t.Fatal(err)
	}
	events = readAll(t, f, plain.Group, plain.Stream)
	if len(events) != 2 || events[0].Message != "2024-05-01T10:00:00Z kept whole" || events[0].Time != now.UnixMilli() {
		t.Errorf("plain events = %+v", events)
	}
}

// A line longer than one event is split into events of at most
// MaxEventBytes at UTF-8 boundaries, and no byte is lost.
func TestCaptureLongLines(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	dest := logs.Destination{Group: "g", Stream: "s", CreateGroup: true}
	// 600 KiB of a three-byte rune with one ASCII byte in front, so a cut
	// at MaxEventBytes would land inside a rune.
	long := "x" + strings.Repeat("€", 600<<10/3)
	input := "2024-05-01T10:00:00Z " + long + "\nshort\n"
	if err := f.store.Capture(t.Context(), dest, strings.NewReader(input), logs.DockerTimestamps); err != nil {
		t.Fatal(err)
	}
	events := readAll(t, f, "g", "s")
	var joined strings.Builder
	for _, e := range events[:len(events)-1] {
		if len(e.Message) > logs.MaxEventBytes || !utf8.ValidString(e.Message) {
			t.Errorf("a part of %d bytes (limit %d), valid UTF-8: %v", len(e.Message), logs.MaxEventBytes, utf8.ValidString(e.Message))
		}
		joined.WriteString(e.Message)
	}
	if len(events) != 4 || joined.String() != long || events[3].Message != "short" {
		t.Errorf("%d events; the parts joined equal the line: %v", len(events), joined.String() == long)
	}

	w, err := f.store.Open(t.Context(), dest)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(now, strings.Repeat("y", 2*logs.MaxEventBytes+1))
	w.Write(now, "")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, f, "g", "s")); n != 4+3 {
		t.Errorf("%d events after writing a message of two events and a byte; want 7", n)
	}
}

// Many containers write at once, each with a stdout and a stderr reader
// on one stream: every line is stored once, and each reader's lines keep
// their order.
func TestCaptureConcurrent(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{Batch: logs.BatchLimits{Events: 7, Bytes: 1 << 20, Interval: time.Millisecond}})
	const containers, lines = 8, 300
	var wg sync.WaitGroup
	for c := range containers {
		dest := logs.Destination{Group: "g", Stream: fmt.Sprint("task/", c), CreateGroup: true}
		for _, out := range []string{"stdout", "stderr"} {
			wg.Go(func() {
				var b strings.Builder
				for i := range lines {
					fmt.Fprintf(&b, "%s %04d\n", out, i)
				}
				if err := f.store.Capture(context.Background(), dest, strings.NewReader(b.String()), logs.ArrivalTime); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	for c := range containers {
		events := readAll(t, f, "g", fmt.Sprint("task/", c))
		next := map[string]int{}
		for _, e := range events {
			out, n, _ := strings.Cut(e.Message, " ")
			if want := fmt.Sprintf("%04d", next[out]); n != want {
				t.Fatalf("task/%d: %s line %s where %s was next", c, out, n, want)
			}
			next[out]++
		}
		if next["stdout"] != lines || next["stderr"] != lines {
			t.Errorf("task/%d: %d stdout and %d stderr lines; want %d each", c, next["stdout"], next["stderr"], lines)
		}
	}
}

// A line that fills no batch is appended after the interval, while its
// reader is still open.
func TestCaptureFlushesOnInterval(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{Batch: logs.BatchLimits{Interval: 20 * time.Millisecond}})
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- f.store.Capture(t.Context(), logs.Destination{Group: "g", Stream: "s", CreateGroup: true}, r, logs.ArrivalTime)
	}()
	if _, err := io.WriteString(w, "alone\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := f.index.ReadLogEvents(t.Context(), metadata.LogRead{Group: "g", Stream: "s", From: metadata.LogHead, Limit: 10})
		if err == nil && len(events) == 1 && events[0].Message == "alone" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the line was not stored while the reader stayed open: %v, %v", eventMessages(events), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Ending the context ends a capture of a reader that can be closed, and
// what was read is kept.
func TestCaptureStopsWithContext(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	r, w := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- f.store.Capture(ctx, logs.Destination{Group: "g", Stream: "s", CreateGroup: true}, r, logs.ArrivalTime)
	}()
	io.WriteString(w, "before the end\npartial")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Capture after cancel: %v", err)
	}
	assertStrings(t, "kept", eventMessages(readAll(t, f, "g", "s")), []string{"before the end", "partial"})
}

// A stream deleted while its container runs is created again; a group
// is created only when the destination asks for it.
func TestCaptureDestinations(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	ctx := t.Context()
	if _, err := f.store.Open(ctx, logs.Destination{Group: "missing", Stream: "s"}); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("Open with a missing group: err = %v; want ErrLogGroupUnknown", err)
	}
	for _, bad := range []logs.Destination{{Group: "a b", Stream: "s", CreateGroup: true}, {Group: "g", Stream: "task:1", CreateGroup: true}, {Group: "g", CreateGroup: true}} {
		if _, err := f.store.Open(ctx, bad); err == nil {
			t.Errorf("Open(%+v) accepted a name the API cannot address", bad)
		}
	}
	dest := logs.Destination{Group: "g", Stream: "s", CreateGroup: true}
	w, err := f.store.Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.store.Open(ctx, dest)
	if err != nil || again != w {
		t.Errorf("a second Open of one destination returned another Writer (%v)", err)
	}
	w.Write(now, "one")
	w.Flush()
	assertStrings(t, "flushed", eventMessages(readAll(t, f, "g", "s")), []string{"one"})
	again.Close()
	if err := f.index.DeleteLogStream(ctx, "g", "s"); err != nil {
		t.Fatal(err)
	}
	w.Write(now, "two")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "after the stream was deleted", eventMessages(readAll(t, f, "g", "s")), []string{"two"})
	if err := f.index.DeleteLogGroup(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	w, err = f.store.Open(ctx, logs.Destination{Group: "g", Stream: "s"})
	if !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("Open without CreateGroup after the group was deleted: %v, %v", w, err)
	}
}

// The sweep deletes events past their group's retention, by the store's
// clock, and Run sweeps until its context ends.
func TestRetention(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{SweepInterval: 10 * time.Millisecond})
	ctx := t.Context()
	f.mustCreateGroup(t, "g")
	f.mustCreateStream(t, "g", "s")
	f.mustPut(t, "g", "s", now.Add(-36*time.Hour), "old")
	f.mustPut(t, "g", "s", now.Add(-time.Hour), "new")
	if n, err := f.store.Sweep(ctx); n != 0 || err != nil {
		t.Fatalf("Sweep without retention = %d, %v", n, err)
	}
	if _, err := f.index.UpdateLogGroup(ctx, "g", func(g *metadata.LogGroup) error { g.RetentionDays = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.store.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(readAll(t, f, "g", "s")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Run did not expire the old event: %v", eventMessages(readAll(t, f, "g", "s")))
		}
		time.Sleep(5 * time.Millisecond)
	}
	assertStrings(t, "after the sweep", eventMessages(readAll(t, f, "g", "s")), []string{"new"})
	// A day later by the store's clock the other event goes too.
	f.clock.Set(now.Add(24 * time.Hour))
	if n, err := f.store.Sweep(ctx); n != 1 || err != nil {
		t.Errorf("Sweep a day later = %d, %v; want 1", n, err)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run = %v after its context ended; want nil", err)
	}
}

// A stream over the configured cap keeps its newest events.
func TestStreamCap(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{MaxStreamBytes: 10 * (26 + 4)})
	dest := logs.Destination{Group: "g", Stream: "s", CreateGroup: true}
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "%04d\n", i)
	}
	if err := f.store.Capture(t.Context(), dest, strings.NewReader(b.String()), logs.ArrivalTime); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "kept", eventMessages(readAll(t, f, "g", "s")), []string{"0090", "0091", "0092", "0093", "0094", "0095", "0096", "0097", "0098", "0099"})
}

// A reader that reattaches to a container resumes after the newest event
// its stream holds; a stream or group not made yet holds none.
func TestLastEventTime(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	last := func(group, stream string) time.Time {
		t.Helper()
		at, err := f.store.LastEventTime(t.Context(), group, stream)
		if err != nil {
			t.Fatalf("LastEventTime(%s, %s): %v", group, stream, err)
		}
		return at
	}
	if at := last("/ecs/none", "s"); !at.IsZero() {
		t.Errorf("LastEventTime of a missing group = %v; want zero", at)
	}
	dest := logs.Destination{Group: "/ecs/app", Stream: "ecs/web/1", CreateGroup: true}
	w, err := f.store.Open(t.Context(), dest)
	if err != nil {
		t.Fatal(err)
	}
	if at := last(dest.Group, dest.Stream); !at.IsZero() {
		t.Errorf("LastEventTime of an empty stream = %v; want zero", at)
	}
	newest := time.UnixMilli(1714557602000)
	w.Write(newest.Add(-time.Second), "older")
	w.Write(newest, "newest")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A longer stream name that shares the prefix is another stream.
	other := logs.Destination{Group: dest.Group, Stream: dest.Stream + "0"}
	if err := f.store.Capture(t.Context(), other, strings.NewReader("2030-01-01T00:00:00Z later\n"), logs.DockerTimestamps); err != nil {
		t.Fatal(err)
	}
	if at := last(dest.Group, dest.Stream); !at.Equal(newest) {
		t.Errorf("LastEventTime = %v; want %v", at, newest)
	}
	if at := last(dest.Group, "ecs/web"); !at.IsZero() {
		t.Errorf("LastEventTime of a stream that does not exist = %v; want zero", at)
	}
}
