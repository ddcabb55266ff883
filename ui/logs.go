package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/metadata"
)

// Pages of the log store bound what they read: events by count and by
// bytes (an event may hold 256 KiB), so that no page holds a log whole.
const (
	logGroupsPerPage  = 100
	logStreamsPerPage = 100
	logEventsPerPage  = 200
	logPageBytes      = 2 << 20
	// maxPatternLength is FilterLogEvents' longest filter pattern.
	maxPatternLength = 1024
)

// logGroupsPage lists log groups.
type logGroupsPage struct {
	Groups      []metadata.LogGroup
	Prefix      string
	Next, First string
}

// logGroups lists the log groups, by name, as DescribeLogGroups does.
func (u *UI) logGroups(w http.ResponseWriter, rq *request) error {
	if err := rq.requireOn("logs:DescribeLogGroups", u.logARN("", "")); err != nil {
		return err
	}
	q := rq.URL.Query()
	p := logGroupsPage{Prefix: strings.TrimSpace(q.Get("prefix"))}
	after := q.Get("after")
	groups, err := u.store.LogGroups(rq.Context(), metadata.LogGroupQuery{Prefix: p.Prefix, After: after, Limit: logGroupsPerPage + 1})
	if err != nil {
		return err
	}
	link := func(after string) string {
		v := url.Values{}
		if p.Prefix != "" {
			v.Set("prefix", p.Prefix)
		}
		if after != "" {
			v.Set("after", after)
		}
		return "/ui/logs?" + v.Encode()
	}
	if len(groups) > logGroupsPerPage {
		groups = groups[:logGroupsPerPage]
		p.Next = link(groups[len(groups)-1].Name)
	}
	if after != "" {
		p.First = link("")
	}
	p.Groups = groups
	u.render(w, rq, http.StatusOK, "loggroups", "Log groups", p)
	return nil
}

// logGroupPage is a log group: its streams, newest first, and a search
// of its events.
type logGroupPage struct {
	Group   metadata.LogGroup
	Streams []streamRow
	// CanSearch shows the search form (logs:FilterLogEvents); Pattern is
	// the search, Matches what it found (at most a page), NextMatch the
	// query of the next page of them.
	CanSearch   bool
	Pattern     string
	Searched    bool
	Matches     []metadata.LogEvent
	NextMatch   string
	SearchError string
	Next, First string
}

// streamRow is a stream in a group's list.
type streamRow struct {
	metadata.LogStream
	// CanRead: the person may read it (logs:GetLogEvents).
	CanRead bool
}

// logGroup shows a group's streams by their last event, newest first, as
// DescribeLogStreams orders them, and searches its events as
// FilterLogEvents does.
func (u *UI) logGroup(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	name := q.Get("name")
	if err := rq.requireOn("logs:DescribeLogStreams", u.logARN(name, "")); err != nil {
		return err
	}
	g, err := u.store.LogGroup(rq.Context(), name)
	if err != nil {
		return err
	}
	p := logGroupPage{Group: g, CanSearch: rq.allowed("logs:FilterLogEvents", u.logARN(name, "")), Pattern: q.Get("pattern")}
	link := func(extra url.Values) string {
		v := url.Values{"name": {name}}
		for k, vs := range extra {
			v[k] = vs
		}
		return "/ui/logs/group?" + v.Encode()
	}
	sq := metadata.LogStreamQuery{Group: name, ByLastEventTime: true, Descending: true, Limit: logStreamsPerPage + 1}
	if after := q.Get("after"); after != "" {
		at, stream, ok := strings.Cut(after, ",")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			return badRequest("The page link is damaged; start again from the first page.")
		}
		sq.After = &metadata.LogStream{Name: stream, LastEventTime: n}
		p.First = link(nil)
	}
	streams, err := u.store.LogStreams(rq.Context(), sq)
	if err != nil {
		return err
	}
	if len(streams) > logStreamsPerPage {
		streams = streams[:logStreamsPerPage]
		last := streams[len(streams)-1]
		p.Next = link(url.Values{"after": {strconv.FormatInt(last.LastEventTime, 10) + "," + last.Name}})
	}
	for _, s := range streams {
		p.Streams = append(p.Streams, streamRow{LogStream: s, CanRead: rq.allowed("logs:GetLogEvents", u.logARN(name, s.Name))})
	}
	if _, ok := q["pattern"]; ok && p.CanSearch {
		if err := u.search(rq, &p, link); err != nil {
			return err
		}
	}
	u.render(w, rq, http.StatusOK, "loggroup", "Log group "+name, p)
	return nil
}

// search fills a group page's matches of its pattern, a page at a time.
func (u *UI) search(rq *request, p *logGroupPage, link func(url.Values) string) error {
	p.Searched = true
	if len(p.Pattern) > maxPatternLength {
		p.SearchError = "A filter pattern is at most 1,024 characters long."
		return nil
	}
	match, err := logs.ParsePattern(p.Pattern)
	if pe := (*logs.PatternError)(nil); errors.As(err, &pe) {
		p.SearchError = pe.Error()
		return nil
	}
	if err != nil {
		return err
	}
	after, err := parsePosition(rq.URL.Query().Get("from"))
	if err != nil {
		return err
	}
	events, more, err := u.store.FilterLogEvents(rq.Context(), metadata.LogFilter{Group: p.Group.Name, After: after,
		Match: match, Limit: logEventsPerPage, MaxBytes: logPageBytes})
	if err != nil {
		return err
	}
	p.Matches = events
	if more && len(events) > 0 {
		p.NextMatch = link(url.Values{"pattern": {p.Pattern}, "from": {formatPosition(events[len(events)-1].Position)}})
	}
	return nil
}

// logStreamPage is a page of a stream's events.
type logStreamPage struct {
	Group, Stream string
	Events        []metadata.LogEvent
	// Older, Newer, Oldest and Newest are the queries of the pages
	// around this one; Newest is empty on the newest page, which Follow
	// (the live stream of the events after it) keeps going.
	Older, Newer, Oldest, Newest string
	Follow                       string
}

// logStream shows a page of a stream's events, oldest first: the newest
// page unless the query asks for the page before or after a position, or
// the oldest. It reads as GetLogEvents does.
func (u *UI) logStream(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	group, stream := q.Get("group"), q.Get("stream")
	if err := rq.requireOn("logs:GetLogEvents", u.logARN(group, stream)); err != nil {
		return err
	}
	read := metadata.LogRead{Group: group, Stream: stream, From: metadata.LogTail, Backward: true, Limit: logEventsPerPage, MaxBytes: logPageBytes}
	newest := true
	switch {
	case q.Get("before") != "":
		from, err := parsePosition(q.Get("before"))
		if err != nil {
			return err
		}
		read.From, newest = from, false
	case q.Get("after") != "":
		from, err := parsePosition(q.Get("after"))
		if err != nil {
			return err
		}
		read.From, read.Backward = from, false
	case q.Has("oldest"):
		read.From, read.Backward, newest = metadata.LogHead, false, false
	}
	events, err := u.store.ReadLogEvents(rq.Context(), read)
	if err != nil {
		return err
	}
	// A page read forward that did not fill up reached the newest event.
	if !read.Backward && len(events) < logEventsPerPage && q.Get("after") != "" {
		newest = true
	}
	base := url.Values{"group": {group}, "stream": {stream}}
	link := func(k, v string) string {
		l := url.Values{"group": base["group"], "stream": base["stream"]}
		if k != "" {
			l.Set(k, v)
		}
		return "/ui/logs/stream?" + l.Encode()
	}
	p := logStreamPage{Group: group, Stream: stream, Events: events}
	tail := read.From
	if len(events) > 0 {
		first := events[0].Position
		first.Seq-- // the gap just before the first event
		p.Older = link("before", formatPosition(first))
		tail = events[len(events)-1].Position
		if !newest {
			p.Newer = link("after", formatPosition(tail))
		}
	}
	if !newest {
		p.Newest = link("", "")
	}
	p.Oldest = link("oldest", "")
	if newest {
		if tail == metadata.LogTail {
			tail = metadata.LogHead // an empty stream: follow from its start
		}
		base.Set("after", formatPosition(tail))
		p.Follow = "/ui/logs/follow?" + base.Encode()
	}
	u.render(w, rq, http.StatusOK, "logstream", stream, p)
	return nil
}

// formatPosition and parsePosition write and read a position in a
// stream or group (metadata.LogPosition) in a query: its time, stream and
// sequence number, separated by dots.
func formatPosition(p metadata.LogPosition) string {
	return strconv.FormatInt(p.Time, 10) + "." + strconv.FormatInt(p.Stream, 10) + "." + strconv.FormatInt(p.Seq, 10)
}

func parsePosition(s string) (metadata.LogPosition, error) {
	if s == "" {
		return metadata.LogHead, nil
	}
	parts := strings.Split(s, ".")
	var n [3]int64
	if len(parts) != 3 {
		return metadata.LogPosition{}, errDamagedLink
	}
	for i, part := range parts {
		v, err := strconv.ParseInt(part, 10, 64)
		if err != nil || v < -1 {
			return metadata.LogPosition{}, errDamagedLink
		}
		n[i] = v
	}
	return metadata.LogPosition{Time: n[0], Stream: n[1], Seq: n[2]}, nil
}

// errDamagedLink answers a page link whose position cannot be read.
var errDamagedLink = &pageError{http.StatusBadRequest, "Cannot do that", "The page link is damaged; start again from the newest page."}
