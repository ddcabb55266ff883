package metadatatest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// logsBase is the timestamp the log tests' events start at.
const logsBase = int64(1_700_000_000_000)

func mustCreateLogGroup(t *testing.T, s metadata.Store, g metadata.LogGroup) {
	t.Helper()
	if g.CreatedAt.IsZero() {
		g.CreatedAt = time.UnixMilli(logsBase)
	}
	if err := s.CreateLogGroup(t.Context(), g); err != nil {
		t.Fatalf("CreateLogGroup(%s): %v", g.Name, err)
	}
}

func mustCreateLogStream(t *testing.T, s metadata.Store, group, name string) {
	t.Helper()
	if err := s.CreateLogStream(t.Context(), metadata.LogStream{Group: group, Name: name, CreatedAt: time.UnixMilli(logsBase)}); err != nil {
		t.Fatalf("CreateLogStream(%s, %s): %v", group, name, err)
	}
}

// logEvents returns events with the given timestamp offsets from
// logsBase, messages "<prefix> <i>" and an ingestion time just after.
func logEvents(prefix string, offsets ...int64) []metadata.LogEvent {
	events := make([]metadata.LogEvent, len(offsets))
	for i, off := range offsets {
		events[i] = metadata.LogEvent{Time: logsBase + off, Ingested: logsBase + off + 5, Message: fmt.Sprintf("%s %d", prefix, i)}
	}
	return events
}

func mustAppend(t *testing.T, s metadata.Store, group, stream string, events []metadata.LogEvent, maxBytes int64) {
	t.Helper()
	if err := s.AppendLogEvents(t.Context(), group, stream, events, maxBytes); err != nil {
		t.Fatalf("AppendLogEvents(%s, %s): %v", group, stream, err)
	}
}

func messages(events []metadata.LogEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Message
		if e.Stream != "" {
			out[i] = e.Stream + ":" + e.Message
		}
	}
	return out
}

func logGroupNames(groups []metadata.LogGroup) []string {
	out := make([]string, len(groups))
	for i, g := range groups {
		out[i] = g.Name
	}
	return out
}

func logStreamNames(streams []metadata.LogStream) []string {
	out := make([]string, len(streams))
	for i, s := range streams {
		out[i] = s.Name
	}
	return out
}

// Groups are created once, read back as written, listed in byte order by
// prefix, substring and class in pages, updated and deleted.
func testLogGroups(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	created := time.UnixMilli(logsBase + 123)
	want := metadata.LogGroup{Name: "/aws/ecs/app", CreatedAt: created, RetentionDays: 7, KMSKeyID: "arn:aws:kms:us-east-1:1:key/k",
		Class: "INFREQUENT_ACCESS", Tags: map[string]string{"team": "platform", "env": "dev"}}
	mustCreateLogGroup(t, s, want)
	if err := s.CreateLogGroup(ctx, metadata.LogGroup{Name: want.Name, CreatedAt: created}); !errors.Is(err, metadata.ErrLogGroupExists) {
		t.Errorf("CreateLogGroup of a taken name: err = %v; want ErrLogGroupExists", err)
	}
	got, err := s.LogGroup(ctx, want.Name)
	if err != nil || got.Name != want.Name || !got.CreatedAt.Equal(created) || got.RetentionDays != 7 ||
		got.KMSKeyID != want.KMSKeyID || got.Class != want.Class || !maps.Equal(got.Tags, want.Tags) || got.StoredBytes != 0 {
		t.Errorf("LogGroup = %+v, %v; want %+v", got, err, want)
	}
	if _, err := s.LogGroup(ctx, "/aws/ecs"); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("LogGroup(unknown): err = %v; want ErrLogGroupUnknown", err)
	}

	for _, name := range []string{"/aws/ecs/web", "/aws/lambda/fn", "/aws/batch/job", "Z", "a#b", "/aws/ecs"} {
		mustCreateLogGroup(t, s, metadata.LogGroup{Name: name})
	}
	list := func(q metadata.LogGroupQuery) []string {
		t.Helper()
		var names []string
		for {
			q.Limit = 2
			page, err := s.LogGroups(ctx, q)
			if err != nil {
				t.Fatalf("LogGroups(%+v): %v", q, err)
			}
			names = append(names, logGroupNames(page)...)
			if len(page) < 2 {
				return names
			}
			q.After = page[len(page)-1].Name
		}
	}
	assertStrings(t, "all groups", list(metadata.LogGroupQuery{}),
		[]string{"/aws/batch/job", "/aws/ecs", "/aws/ecs/app", "/aws/ecs/web", "/aws/lambda/fn", "Z", "a#b"})
	assertStrings(t, "prefix /aws/ecs", list(metadata.LogGroupQuery{Prefix: "/aws/ecs"}), []string{"/aws/ecs", "/aws/ecs/app", "/aws/ecs/web"})
	assertStrings(t, "prefix /aws/ecs/", list(metadata.LogGroupQuery{Prefix: "/aws/ecs/"}), []string{"/aws/ecs/app", "/aws/ecs/web"})
	assertStrings(t, "contains b", list(metadata.LogGroupQuery{Contains: "b"}), []string{"/aws/batch/job", "/aws/ecs/web", "/aws/lambda/fn", "a#b"})
	assertStrings(t, "class INFREQUENT_ACCESS", list(metadata.LogGroupQuery{Class: "INFREQUENT_ACCESS"}), []string{"/aws/ecs/app"})
	if n := len(list(metadata.LogGroupQuery{Class: "STANDARD"})); n != 6 {
		t.Errorf("class STANDARD listed %d groups; want the 6 created without a class", n)
	}
	if page, err := s.LogGroups(ctx, metadata.LogGroupQuery{Limit: 50}); err != nil || page[1].Name != "/aws/ecs" || page[2].RetentionDays != 7 {
		t.Errorf("LogGroups = %+v, %v", page, err)
	}

	updated, err := s.UpdateLogGroup(ctx, want.Name, func(g *metadata.LogGroup) error {
		g.RetentionDays = 0
		g.Tags = map[string]string{"team": "infra"}
		g.Name = "renamed?"
		return nil
	})
	if err != nil || updated.Name != want.Name || updated.RetentionDays != 0 || updated.Tags["team"] != "infra" || len(updated.Tags) != 1 {
		t.Errorf("UpdateLogGroup = %+v, %v", updated, err)
	}
	if got, _ := s.LogGroup(ctx, want.Name); got.RetentionDays != 0 || !maps.Equal(got.Tags, updated.Tags) || got.KMSKeyID != want.KMSKeyID {
		t.Errorf("LogGroup after UpdateLogGroup = %+v", got)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateLogGroup(ctx, want.Name, func(g *metadata.LogGroup) error { g.RetentionDays = 1; return refused }); !errors.Is(err, refused) {
		t.Errorf("UpdateLogGroup whose change fails: err = %v", err)
	}
	if got, _ := s.LogGroup(ctx, want.Name); got.RetentionDays != 0 {
		t.Errorf("a failed UpdateLogGroup stored retention %d", got.RetentionDays)
	}
	if _, err := s.UpdateLogGroup(ctx, "nope", func(*metadata.LogGroup) error { return nil }); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("UpdateLogGroup(unknown): err = %v; want ErrLogGroupUnknown", err)
	}

	if err := s.DeleteLogGroup(ctx, want.Name); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLogGroup(ctx, want.Name); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("DeleteLogGroup twice: err = %v; want ErrLogGroupUnknown", err)
	}
	if _, err := s.LogGroup(ctx, want.Name); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("LogGroup after DeleteLogGroup: err = %v", err)
	}
}

// Streams belong to one group, are listed by name or by last event time
// in either direction, in pages, and carry their events' times and size.
func testLogStreams(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	if err := s.CreateLogStream(ctx, metadata.LogStream{Group: "g", Name: "s"}); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Fatalf("CreateLogStream in an unknown group: err = %v; want ErrLogGroupUnknown", err)
	}
	if _, err := s.LogStreams(ctx, metadata.LogStreamQuery{Group: "g", Limit: 10}); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("LogStreams of an unknown group: err = %v; want ErrLogGroupUnknown", err)
	}
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "g"})
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "other"})
	for _, name := range []string{"web/app/3", "web/app/1", "worker/1", "web/app/2", "empty"} {
		mustCreateLogStream(t, s, "g", name)
	}
	mustCreateLogStream(t, s, "other", "web/app/1") // same name, other group
	if err := s.CreateLogStream(ctx, metadata.LogStream{Group: "g", Name: "worker/1"}); !errors.Is(err, metadata.ErrLogStreamExists) {
		t.Errorf("CreateLogStream of a taken name: err = %v; want ErrLogStreamExists", err)
	}
	// Last event times: web/app/3 oldest, then worker/1, web/app/1, web/app/2.
	mustAppend(t, s, "g", "web/app/3", logEvents("m", 10, 20), 0)
	mustAppend(t, s, "g", "worker/1", logEvents("m", 30), 0)
	mustAppend(t, s, "g", "web/app/1", logEvents("m", 35, 40), 0)
	mustAppend(t, s, "g", "web/app/1", logEvents("m", 5), 0) // an older event later
	mustAppend(t, s, "g", "web/app/2", logEvents("m", 50), 0)

	list := func(q metadata.LogStreamQuery) []string {
		t.Helper()
		q.Group = "g"
		var names []string
		for {
			q.Limit = 2
			page, err := s.LogStreams(ctx, q)
			if err != nil {
				t.Fatalf("LogStreams(%+v): %v", q, err)
			}
			names = append(names, logStreamNames(page)...)
			if len(page) < 2 {
				return names
			}
			q.After = &page[len(page)-1]
		}
	}
	assertStrings(t, "by name", list(metadata.LogStreamQuery{}), []string{"empty", "web/app/1", "web/app/2", "web/app/3", "worker/1"})
	assertStrings(t, "by name, descending", list(metadata.LogStreamQuery{Descending: true}), []string{"worker/1", "web/app/3", "web/app/2", "web/app/1", "empty"})
	assertStrings(t, "prefix web/app/", list(metadata.LogStreamQuery{Prefix: "web/app/"}), []string{"web/app/1", "web/app/2", "web/app/3"})
	assertStrings(t, "prefix web/, descending", list(metadata.LogStreamQuery{Prefix: "web/", Descending: true}), []string{"web/app/3", "web/app/2", "web/app/1"})
	assertStrings(t, "by last event time", list(metadata.LogStreamQuery{ByLastEventTime: true}),
		[]string{"empty", "web/app/3", "worker/1", "web/app/1", "web/app/2"})
	assertStrings(t, "by last event time, descending", list(metadata.LogStreamQuery{ByLastEventTime: true, Descending: true}),
		[]string{"web/app/2", "web/app/1", "worker/1", "web/app/3", "empty"})

	page, err := s.LogStreams(ctx, metadata.LogStreamQuery{Group: "g", Prefix: "web/app/1", Limit: 10})
	if err != nil || len(page) != 1 {
		t.Fatalf("LogStreams(web/app/1) = %+v, %v", page, err)
	}
	st := page[0]
	wantBytes := int64(len("m 0")+len("m 1")+len("m 0")) + 3*metadata.LogEventOverhead
	if st.Group != "g" || !st.CreatedAt.Equal(time.UnixMilli(logsBase)) || st.FirstEventTime != logsBase+5 || st.LastEventTime != logsBase+40 ||
		st.LastIngestionTime != logsBase+45 || st.StoredBytes != wantBytes {
		t.Errorf("stream = %+v; want first %d, last %d, ingested %d, %d bytes", st, logsBase+5, logsBase+40, logsBase+45, wantBytes)
	}
	if page, _ := s.LogStreams(ctx, metadata.LogStreamQuery{Group: "g", Prefix: "empty", Limit: 10}); len(page) != 1 || page[0].LastIngestionTime != 0 || page[0].StoredBytes != 0 {
		t.Errorf("stream with no events = %+v", page)
	}
	g, err := s.LogGroup(ctx, "g")
	if want := wantBytes + int64(2*len("m 0")+2*len("m 0")) + 4*metadata.LogEventOverhead; err != nil || g.StoredBytes != want {
		t.Errorf("group StoredBytes = %d, %v; want %d", g.StoredBytes, err, want)
	}

	if err := s.DeleteLogStream(ctx, "g", "worker/1"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		group, stream string
		want          error
	}{{"g", "worker/1", metadata.ErrLogStreamUnknown}, {"nope", "web/app/1", metadata.ErrLogGroupUnknown}} {
		if err := s.DeleteLogStream(ctx, tt.group, tt.stream); !errors.Is(err, tt.want) {
			t.Errorf("DeleteLogStream(%s, %s): err = %v; want %v", tt.group, tt.stream, err, tt.want)
		}
	}
	assertStrings(t, "after DeleteLogStream", list(metadata.LogStreamQuery{}), []string{"empty", "web/app/1", "web/app/2", "web/app/3"})
	if page, _ := s.LogStreams(ctx, metadata.LogStreamQuery{Group: "other", Limit: 10}); len(page) != 1 || page[0].StoredBytes != 0 {
		t.Errorf("the other group's stream = %+v", page)
	}
}

// Events read back in (timestamp, sequence) order, forward and backward,
// in pages whose positions neither repeat nor skip an event, within a time
// range and a byte budget.
func testLogEvents(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "g"})
	mustCreateLogStream(t, s, "g", "s")
	// Ten events, two sharing each timestamp, appended out of time order.
	mustAppend(t, s, "g", "s", []metadata.LogEvent{
		{Time: logsBase + 2, Ingested: logsBase + 100, Message: "e4"},
		{Time: logsBase + 2, Ingested: logsBase + 100, Message: "e5"},
		{Time: logsBase + 0, Ingested: logsBase + 100, Message: "e0"},
		{Time: logsBase + 0, Ingested: logsBase + 100, Message: "e1"},
	}, 0)
	mustAppend(t, s, "g", "s", []metadata.LogEvent{
		{Time: logsBase + 1, Ingested: logsBase + 200, Message: "e2"},
		{Time: logsBase + 1, Ingested: logsBase + 200, Message: "e3"},
		{Time: logsBase + 3, Ingested: logsBase + 200, Message: "e6"},
		{Time: logsBase + 3, Ingested: logsBase + 200, Message: "e7"},
		{Time: logsBase + 4, Ingested: logsBase + 200, Message: "e8"},
		{Time: logsBase + 4, Ingested: logsBase + 200, Message: "e9"},
	}, 0)
	all := []string{"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"}

	read := func(q metadata.LogRead) []metadata.LogEvent {
		t.Helper()
		q.Group, q.Stream = "g", "s"
		events, err := s.ReadLogEvents(ctx, q)
		if err != nil {
			t.Fatalf("ReadLogEvents(%+v): %v", q, err)
		}
		return events
	}
	first := read(metadata.LogRead{From: metadata.LogHead, Limit: 100})
	assertStrings(t, "all forward", messages(first), all)
	if e := first[4]; e.Time != logsBase+2 || e.Ingested != logsBase+100 || e.Position.Time != e.Time || e.Position.Seq == 0 {
		t.Errorf("event e4 = %+v", e)
	}
	assertStrings(t, "all backward", messages(read(metadata.LogRead{From: metadata.LogTail, Backward: true, Limit: 100})), all)

	// Forward pages of 3 from the head, then backward pages of 3 from the
	// tail: each page starts at the gap the previous one ended at.
	var got []string
	from := metadata.LogHead
	for range 10 {
		page := read(metadata.LogRead{From: from, Limit: 3})
		if len(page) == 0 {
			break
		}
		got = append(got, messages(page)...)
		from = page[len(page)-1].Position
	}
	assertStrings(t, "forward pages", got, all)
	if page := read(metadata.LogRead{From: from, Limit: 3}); len(page) != 0 {
		t.Errorf("a page after the last event = %v", messages(page))
	}
	got = nil
	from = metadata.LogTail
	for range 10 {
		page := read(metadata.LogRead{From: from, Backward: true, Limit: 3})
		if len(page) == 0 {
			break
		}
		got = append(messages(page), got...)
		// The gap before the page's first event: just before its position.
		from = page[0].Position
		from.Seq--
	}
	assertStrings(t, "backward pages", got, all)

	// A backward read from a gap includes the event the gap follows.
	mid := first[5].Position
	assertStrings(t, "backward from e5", messages(read(metadata.LogRead{From: mid, Backward: true, Limit: 2})), []string{"e4", "e5"})
	assertStrings(t, "forward from e5", messages(read(metadata.LogRead{From: mid, Limit: 2})), []string{"e6", "e7"})

	// Time range: Start <= Time < End.
	assertStrings(t, "range [1, 3)", messages(read(metadata.LogRead{From: metadata.LogHead, Start: logsBase + 1, End: logsBase + 3, Limit: 100})),
		[]string{"e2", "e3", "e4", "e5"})
	assertStrings(t, "range [1, 3) backward, 3", messages(read(metadata.LogRead{From: metadata.LogTail, Backward: true, Start: logsBase + 1, End: logsBase + 3, Limit: 3})),
		[]string{"e3", "e4", "e5"})
	// Byte budget: two events of 2+26 bytes fit in 60, three do not; one
	// event is returned even when it alone is over.
	assertStrings(t, "60 bytes", messages(read(metadata.LogRead{From: metadata.LogHead, Limit: 100, MaxBytes: 60})), []string{"e0", "e1"})
	assertStrings(t, "1 byte", messages(read(metadata.LogRead{From: metadata.LogHead, Limit: 100, MaxBytes: 1})), []string{"e0"})
	assertStrings(t, "60 bytes backward", messages(read(metadata.LogRead{From: metadata.LogTail, Backward: true, Limit: 100, MaxBytes: 60})), []string{"e8", "e9"})

	for _, tt := range []struct {
		group, stream string
		want          error
	}{{"g", "nope", metadata.ErrLogStreamUnknown}, {"nope", "s", metadata.ErrLogGroupUnknown}} {
		if _, err := s.ReadLogEvents(ctx, metadata.LogRead{Group: tt.group, Stream: tt.stream, From: metadata.LogHead, Limit: 1}); !errors.Is(err, tt.want) {
			t.Errorf("ReadLogEvents(%s, %s): err = %v; want %v", tt.group, tt.stream, err, tt.want)
		}
		if err := s.AppendLogEvents(ctx, tt.group, tt.stream, logEvents("x", 0), 0); !errors.Is(err, tt.want) {
			t.Errorf("AppendLogEvents(%s, %s): err = %v; want %v", tt.group, tt.stream, err, tt.want)
		}
	}
}

// FilterLogEvents interleaves a group's streams by time, selects streams
// by name or prefix, matches case-sensitive substrings (including GLOB
// and LIKE metacharacters, which must not act as wildcards) and pages
// with positions.
func testFilterLogEvents(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "g"})
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "other"})
	for _, st := range []string{"app/1", "app/2", "db/1"} {
		mustCreateLogStream(t, s, "g", st)
	}
	mustCreateLogStream(t, s, "other", "app/1")
	mustAppend(t, s, "g", "app/1", []metadata.LogEvent{
		{Time: logsBase + 1, Ingested: logsBase, Message: "ERROR disk full"},
		{Time: logsBase + 3, Ingested: logsBase, Message: "INFO ok [*] 100%"},
		{Time: logsBase + 5, Ingested: logsBase, Message: "WARN slow"},
	}, 0)
	mustAppend(t, s, "g", "app/2", []metadata.LogEvent{
		{Time: logsBase + 2, Ingested: logsBase, Message: "error lower case"},
		{Time: logsBase + 3, Ingested: logsBase, Message: "ERROR WARN both"},
	}, 0)
	mustAppend(t, s, "g", "db/1", []metadata.LogEvent{
		{Time: logsBase + 4, Ingested: logsBase, Message: "INFO a_b? c"},
	}, 0)
	mustAppend(t, s, "other", "app/1", logEvents("ERROR elsewhere", 0), 0)

	filter := func(q metadata.LogFilter) []string {
		t.Helper()
		q.Group = "g"
		if q.Limit == 0 {
			q.Limit = 100
		}
		if q.After == (metadata.LogPosition{}) {
			q.After = metadata.LogHead
		}
		events, more, err := s.FilterLogEvents(ctx, q)
		if err != nil {
			t.Fatalf("FilterLogEvents(%+v): %v", q, err)
		}
		if more {
			t.Errorf("FilterLogEvents(%+v) says there is more", q)
		}
		return messages(events)
	}
	all := []string{"app/1:ERROR disk full", "app/2:error lower case", "app/1:INFO ok [*] 100%", "app/2:ERROR WARN both", "db/1:INFO a_b? c", "app/1:WARN slow"}
	// Equal timestamps (3) order by stream: app/1 was created first.
	assertStrings(t, "all", filter(metadata.LogFilter{}), all)
	assertStrings(t, "ERROR", filter(metadata.LogFilter{Match: metadata.LogMatch{All: []string{"ERROR"}}}), []string{"app/1:ERROR disk full", "app/2:ERROR WARN both"})
	assertStrings(t, "ERROR WARN", filter(metadata.LogFilter{Match: metadata.LogMatch{All: []string{"ERROR", "WARN"}}}), []string{"app/2:ERROR WARN both"})
	assertStrings(t, "?ERROR ?WARN", filter(metadata.LogFilter{Match: metadata.LogMatch{Any: []string{"ERROR", "WARN"}}}),
		[]string{"app/1:ERROR disk full", "app/2:ERROR WARN both", "app/1:WARN slow"})
	assertStrings(t, "ERROR -WARN", filter(metadata.LogFilter{Match: metadata.LogMatch{All: []string{"ERROR"}, None: []string{"WARN"}}}), []string{"app/1:ERROR disk full"})
	assertStrings(t, "-ERROR -INFO", filter(metadata.LogFilter{Match: metadata.LogMatch{None: []string{"ERROR", "INFO"}}}),
		[]string{"app/2:error lower case", "app/1:WARN slow"})
	assertStrings(t, "a phrase", filter(metadata.LogFilter{Match: metadata.LogMatch{All: []string{"lower case"}}}), []string{"app/2:error lower case"})
	for _, special := range []string{"[*]", "100%", "a_b?", "*", "?", "["} {
		want := "app/1:INFO ok [*] 100%"
		if strings.Contains("INFO a_b? c", special) {
			want = "db/1:INFO a_b? c"
		}
		got := filter(metadata.LogFilter{Match: metadata.LogMatch{All: []string{special}}})
		if len(got) != 1 || got[0] != want {
			t.Errorf("term %q matched %v; want [%s]", special, got, want)
		}
	}
	for _, literal := range []string{"a%b", "a_c", "E*R", "ERR?R", "[E]RROR"} {
		if got := filter(metadata.LogFilter{Match: metadata.LogMatch{All: []string{literal}}}); len(got) != 0 {
			t.Errorf("term %q is literal but matched %v", literal, got)
		}
	}

	assertStrings(t, "streams app/2, db/1, nope", filter(metadata.LogFilter{Streams: []string{"app/2", "db/1", "nope"}}),
		[]string{"app/2:error lower case", "app/2:ERROR WARN both", "db/1:INFO a_b? c"})
	assertStrings(t, "only unknown streams", filter(metadata.LogFilter{Streams: []string{"nope"}}), nil)
	assertStrings(t, "prefix app/", filter(metadata.LogFilter{StreamPrefix: "app/", Match: metadata.LogMatch{All: []string{"INFO"}}}), []string{"app/1:INFO ok [*] 100%"})
	assertStrings(t, "range [3, 5)", filter(metadata.LogFilter{Start: logsBase + 3, End: logsBase + 5}),
		[]string{"app/1:INFO ok [*] 100%", "app/2:ERROR WARN both", "db/1:INFO a_b? c"})

	// Pages of two, then pages bounded by bytes.
	var got []string
	after := metadata.LogHead
	for range 10 {
		page, more, err := s.FilterLogEvents(ctx, metadata.LogFilter{Group: "g", After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, messages(page)...)
		if !more {
			break
		}
		after = page[len(page)-1].Position
	}
	assertStrings(t, "pages of 2", got, all)
	// The same with terms and stream names to select by, which a backend
	// may search in parallel slices of time: a page still holds the first
	// matches, in order, and its position says where the next starts.
	for _, limit := range []int{1, 2, 4} {
		got, after = nil, metadata.LogHead
		for range 10 {
			page, more, err := s.FilterLogEvents(ctx, metadata.LogFilter{Group: "g", After: after, Limit: limit,
				Streams: []string{"app/1", "app/2", "db/1"}, Match: metadata.LogMatch{Any: []string{"E", "I", "W", "e"}}})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, messages(page)...)
			if !more {
				break
			}
			after = page[len(page)-1].Position
		}
		assertStrings(t, fmt.Sprintf("pages of %d with terms", limit), got, all)
	}
	page, more, err := s.FilterLogEvents(ctx, metadata.LogFilter{Group: "g", After: metadata.LogHead, Limit: 100, MaxBytes: 90})
	if err != nil || !more || len(page) != 2 {
		t.Errorf("FilterLogEvents in 90 bytes = %v, %v, %v; want 2 events and more", messages(page), more, err)
	}
	// Positions are distinct across streams even at equal timestamps.
	events, _, _ := s.FilterLogEvents(ctx, metadata.LogFilter{Group: "g", After: metadata.LogHead, Limit: 100})
	seen := map[metadata.LogPosition]bool{}
	for _, e := range events {
		if seen[e.Position] || e.Position.Stream == 0 {
			t.Errorf("position %+v repeated or without a stream", e.Position)
		}
		seen[e.Position] = true
	}

	// A deleted stream's events are gone at once, before any expiry.
	if err := s.DeleteLogStream(ctx, "g", "app/1"); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "after deleting app/1", filter(metadata.LogFilter{}), []string{"app/2:error lower case", "app/2:ERROR WARN both", "db/1:INFO a_b? c"})
	mustCreateLogStream(t, s, "g", "app/1")
	assertStrings(t, "app/1 created again", filter(metadata.LogFilter{Streams: []string{"app/1"}}), nil)
	if _, _, err := s.FilterLogEvents(ctx, metadata.LogFilter{Group: "nope", After: metadata.LogHead, Limit: 1}); !errors.Is(err, metadata.ErrLogGroupUnknown) {
		t.Errorf("FilterLogEvents(unknown group): err = %v; want ErrLogGroupUnknown", err)
	}
}

// A stream over its size cap loses its oldest events first, down to the
// cap, and its stored bytes and first event time follow.
func testLogStreamCap(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "g"})
	mustCreateLogStream(t, s, "g", "s")
	mustCreateLogStream(t, s, "g", "neighbour")
	mustAppend(t, s, "g", "neighbour", logEvents("n", 0), 0)
	event := func(off int64) metadata.LogEvent {
		return metadata.LogEvent{Time: logsBase + off, Ingested: logsBase, Message: fmt.Sprintf("%074d", off)} // 100 bytes stored
	}
	const limit = 450 // four events fit
	for off := range int64(10) {
		mustAppend(t, s, "g", "s", []metadata.LogEvent{event(off)}, limit)
	}
	// A batch with an event older than all: it is the first to go.
	mustAppend(t, s, "g", "s", []metadata.LogEvent{event(-5), event(10)}, limit)
	events, err := s.ReadLogEvents(ctx, metadata.LogRead{Group: "g", Stream: "s", From: metadata.LogHead, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var offs []string
	for _, e := range events {
		offs = append(offs, fmt.Sprint(e.Time-logsBase))
	}
	assertStrings(t, "kept events", offs, []string{"7", "8", "9", "10"})
	streams, err := s.LogStreams(ctx, metadata.LogStreamQuery{Group: "g", Prefix: "s", Limit: 1})
	if err != nil || streams[0].StoredBytes != 400 || streams[0].FirstEventTime != logsBase+7 || streams[0].LastEventTime != logsBase+10 {
		t.Errorf("stream after trimming = %+v, %v; want 400 bytes from %d to %d", streams, err, logsBase+7, logsBase+10)
	}
	if n, _ := s.ReadLogEvents(ctx, metadata.LogRead{Group: "g", Stream: "neighbour", From: metadata.LogHead, Limit: 10}); len(n) != 1 {
		t.Errorf("the neighbour stream lost events: %v", messages(n))
	}
}

// ExpireLogEvents deletes, n at a time, what deleted groups and streams
// left behind and events past their group's retention, and nothing else.
func testExpireLogEvents(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	now := time.UnixMilli(logsBase).Add(10 * 24 * time.Hour)
	day := 24 * time.Hour.Milliseconds()
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "kept", RetentionDays: 0})
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "week", RetentionDays: 7})
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "gone"})
	for _, g := range []string{"kept", "week", "gone"} {
		mustCreateLogStream(t, s, g, "a")
		mustCreateLogStream(t, s, g, "b")
	}
	// Days 0..9 in each stream; a week's retention at day 10 keeps days 3..9.
	for _, g := range []string{"kept", "week", "gone"} {
		for _, st := range []string{"a", "b"} {
			var offs []int64
			for d := range int64(10) {
				offs = append(offs, d*day)
			}
			mustAppend(t, s, g, st, logEvents(st, offs...), 0)
		}
	}
	if err := s.DeleteLogGroup(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "gone"})
	mustCreateLogStream(t, s, "gone", "a")

	total := 0
	for range 100 {
		n, err := s.ExpireLogEvents(ctx, now, 4)
		if err != nil {
			t.Fatalf("ExpireLogEvents: %v", err)
		}
		if n > 4 {
			t.Fatalf("ExpireLogEvents(n=4) deleted %d", n)
		}
		if n == 0 {
			break
		}
		total += n
	}
	// 20 of the deleted group, 6 past retention (3 days x 2 streams), and
	// a pass or two that counted a finished stream as progress.
	if total < 26 || total > 30 {
		t.Errorf("ExpireLogEvents deleted %d in all; want 26 (and at most a count per finished stream)", total)
	}
	if n, err := s.ExpireLogEvents(ctx, now, 4); n != 0 || err != nil {
		t.Errorf("ExpireLogEvents once done = %d, %v", n, err)
	}
	count := func(group string) int {
		t.Helper()
		events, _, err := s.FilterLogEvents(ctx, metadata.LogFilter{Group: group, After: metadata.LogHead, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	if n := count("kept"); n != 20 {
		t.Errorf("kept has %d events; want 20", n)
	}
	if n := count("week"); n != 14 {
		t.Errorf("week has %d events; want 14", n)
	}
	if n := count("gone"); n != 0 {
		t.Errorf("the new group gone has %d events; want 0", n)
	}
	streams, err := s.LogStreams(ctx, metadata.LogStreamQuery{Group: "week", Limit: 10})
	wantBytes := int64(7 * (len("a 0") + metadata.LogEventOverhead))
	if err != nil || len(streams) != 2 || streams[0].StoredBytes != wantBytes || streams[0].FirstEventTime != logsBase+3*day {
		t.Errorf("week's streams after expiry = %+v, %v; want %d bytes from day 3", streams, err, wantBytes)
	}
	events, err := s.ReadLogEvents(ctx, metadata.LogRead{Group: "week", Stream: "b", From: metadata.LogHead, Limit: 100})
	if err != nil || len(events) != 7 || events[0].Time != logsBase+3*day {
		t.Errorf("week/b after expiry = %v, %v", messages(events), err)
	}
	if !slices.IsSortedFunc(events, func(a, b metadata.LogEvent) int { return int(a.Time - b.Time) }) {
		t.Errorf("events out of order: %v", messages(events))
	}
}

// Groups, streams and events survive a restart, and appends continue the
// sequence.
func testLogsSurviveReopen(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	mustCreateLogGroup(t, s, metadata.LogGroup{Name: "g", RetentionDays: 30})
	mustCreateLogStream(t, s, "g", "s")
	mustAppend(t, s, "g", "s", logEvents("before", 0, 0), 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open)
	mustAppend(t, s, "g", "s", logEvents("after", 0), 0)
	events, err := s.ReadLogEvents(t.Context(), metadata.LogRead{Group: "g", Stream: "s", From: metadata.LogHead, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "events after reopening", messages(events), []string{"before 0", "before 1", "after 0"})
	if g, err := s.LogGroup(t.Context(), "g"); err != nil || g.RetentionDays != 30 {
		t.Errorf("LogGroup after reopening = %+v, %v", g, err)
	}
}
