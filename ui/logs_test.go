package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// logStream creates stream in group (and the group, unless it exists)
// holding messages, a millisecond apart from start.
func (f *fixture) logStream(group, stream string, start time.Time, messages ...string) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.store.CreateLogGroup(ctx, metadata.LogGroup{Name: group, CreatedAt: start}); err != nil && err != metadata.ErrLogGroupExists {
		f.t.Fatal(err)
	}
	if err := f.store.CreateLogStream(ctx, metadata.LogStream{Group: group, Name: stream, CreatedAt: start}); err != nil {
		f.t.Fatal(err)
	}
	f.appendLog(group, stream, start, messages...)
}

// appendLog appends messages to a stream, a millisecond apart from start.
func (f *fixture) appendLog(group, stream string, start time.Time, messages ...string) {
	f.t.Helper()
	var events []metadata.LogEvent
	for i, m := range messages {
		at := start.Add(time.Duration(i) * time.Millisecond).UnixMilli()
		events = append(events, metadata.LogEvent{Time: at, Ingested: at, Message: m})
	}
	if err := f.store.AppendLogEvents(context.Background(), group, stream, events, 0); err != nil {
		f.t.Fatal(err)
	}
}

// numbered returns n messages "<prefix> 0" to "<prefix> n-1".
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d", prefix, i)
	}
	return out
}

var nextLink = regexp.MustCompile(`<a href="([^"]+)" rel="(prev|next)">`)

// link returns the page link of rel ("prev" or "next") on a page.
func link(t *testing.T, p page, rel string) string {
	t.Helper()
	for _, m := range nextLink.FindAllStringSubmatch(p.Body, -1) {
		if m[2] == rel {
			return strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	t.Fatalf("the page has no %s link:\n%s", rel, p.Body)
	return ""
}

// The log groups, a group's streams (latest first) and its search, and a
// stream's events a page at a time, newest page first, with the live
// stream of its new events.
func TestLogPages(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "admin"))
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.logStream("/ecs/web", "web/app/1", start, numbered("line", 450)...)
	f.logStream("/ecs/web", "web/app/2", start.Add(time.Hour), "GET /health 200", "GET /login 500")
	f.logStream("/ecs/other", "x", start, "hello")

	for _, path := range []string{"/ui/logs", "/ui/logs/group?name=%2Fecs%2Fweb", "/ui/logs/group?name=%2Fecs%2Fweb&pattern=line",
		"/ui/logs/stream?group=%2Fecs%2Fweb&stream=web%2Fapp%2F1"} {
		wellFormed(t, path, b.expect(http.StatusOK, path))
	}
	contains(t, "the groups", b.expect(http.StatusOK, "/ui/logs").Body, `href="/ui/logs/group?name=%2Fecs%2Fweb"`, "/ecs/other", "2 log groups")
	contains(t, "the groups by prefix", b.expect(http.StatusOK, "/ui/logs?prefix=%2Fecs%2Fo").Body, "/ecs/other", "1 log group")
	p := b.expect(http.StatusOK, "/ui/logs/group?name=%2Fecs%2Fweb")
	contains(t, "the group", p.Body, "2 streams", "2026-03-01 13:00:00.001", `href="/ui/logs/stream?group=%2Fecs%2Fweb&amp;stream=web%2Fapp%2F1"`, `name="pattern"`)
	if strings.Index(p.Body, "web/app/2") > strings.Index(p.Body, "web/app/1") {
		t.Error("the group lists its streams oldest first")
	}
	// Searching the group as filter-log-events does.
	p = b.expect(http.StatusOK, "/ui/logs/group?name=%2Fecs%2Fweb&pattern=GET+-health")
	contains(t, "the search", p.Body, "GET /login 500", "web/app/2")
	lacks(t, "the search", p.Body, "GET /health 200")
	contains(t, "a broken pattern", b.expect(http.StatusOK, "/ui/logs/group?name=%2Fecs%2Fweb&pattern=%22open").Body, `role="alert"`)
	p = b.expect(http.StatusOK, "/ui/logs/group?name=%2Fecs%2Fweb&pattern=line")
	contains(t, "the first matches", p.Body, "line 0", "line 199", "More matches")
	contains(t, "the next matches", b.expect(http.StatusOK, link(t, p, "next")).Body, "line 200", "line 399")

	// The newest page: the last 200 events, oldest first, followed live.
	stream := "/ui/logs/stream?group=%2Fecs%2Fweb&stream=web%2Fapp%2F1"
	p = b.expect(http.StatusOK, stream)
	contains(t, "the newest page", p.Body, "line 250", "line 449", `datetime="2026-03-01T12:00:00.449Z"`, "2026-03-01 12:00:00.449", `data-follow="/ui/logs/follow?`)
	lacks(t, "the newest page", p.Body, "line 249<", "Newer")
	if strings.Index(p.Body, "line 250") > strings.Index(p.Body, "line 449") {
		t.Error("the events are not oldest first")
	}
	older := b.expect(http.StatusOK, link(t, p, "prev"))
	contains(t, "the older page", older.Body, "line 50<", "line 249<", "Newer", "Newest")
	lacks(t, "the older page", older.Body, "line 250<", "data-follow")
	newer := b.expect(http.StatusOK, link(t, older, "next"))
	contains(t, "the page after the older one", newer.Body, "line 250<", "line 449<", "data-follow")
	contains(t, "the oldest page", b.expect(http.StatusOK, stream+"&oldest").Body, "line 0<", "line 199<")
	for _, bad := range []string{"&before=garbage", "&after=1.2", "&before=-5.0.0"} {
		b.expect(http.StatusBadRequest, stream+bad)
	}
	b.expect(http.StatusNotFound, "/ui/logs/stream?group=%2Fecs%2Fweb&stream=nope")
	b.expect(http.StatusNotFound, "/ui/logs/stream?group=%2Fnope&stream=x")
	b.expect(http.StatusNotFound, "/ui/logs/group?name=%2Fnope")

	// The live stream sends the events after the page's last one as
	// they arrive, each with the position to resume after.
	follow := regexp.MustCompile(`data-follow="([^"]+)"`).FindStringSubmatch(p.Body)[1]
	live := b.stream(strings.ReplaceAll(follow, "&amp;", "&"))
	f.appendLog("/ecs/web", "web/app/1", start.Add(time.Second), "arrived <b>live</b>")
	live.waitFor(`data: {"time":"2026-03-01 12:00:01.000","iso":"2026-03-01T12:00:01.000Z","message":"arrived \u003cb\u003elive\u003c/b\u003e"}`)
}

// Log lines and stream names that hold markup render as text.
func TestHostileLogsRenderInert(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "admin"))
	const evil = `<script>alert(1)</script>`
	f.logStream("/ecs/evil", evil, time.Now(), evil, `"><img src=x onerror=alert(1)>`)
	for _, path := range []string{"/ui/logs/group?name=%2Fecs%2Fevil", "/ui/logs/group?name=%2Fecs%2Fevil&pattern=alert",
		"/ui/logs/stream?" + url.Values{"group": {"/ecs/evil"}, "stream": {evil}}.Encode()} {
		p := b.expect(http.StatusOK, path)
		lacks(t, path, p.Body, evil, "<img src=x")
		contains(t, path, p.Body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	}
}

// A person who may list streams but not read them sees no link to
// them and no search, and is refused the events and their live stream.
func TestLogPermissions(t *testing.T) {
	f := newFixture(t, options{})
	f.logStream("/ecs/web", "web/app/1", time.Now(), "secret line")
	lister := f.signedIn(f.user("lister", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:DescribeLogGroups","logs:DescribeLogStreams"],"Resource":"*"}]}`))
	p := lister.expect(http.StatusOK, "/ui/logs/group?name=%2Fecs%2Fweb")
	contains(t, "the group", p.Body, "web/app/1", "you may not read it")
	lacks(t, "the group", p.Body, "/ui/logs/stream?", `name="pattern"`, "secret line")
	lacks(t, "a search anyway", lister.expect(http.StatusOK, "/ui/logs/group?name=%2Fecs%2Fweb&pattern=secret").Body, "secret line")
	for _, path := range []string{"/ui/logs/stream?group=%2Fecs%2Fweb&stream=web%2Fapp%2F1", "/ui/logs/follow?group=%2Fecs%2Fweb&stream=web%2Fapp%2F1&after=0.0.0"} {
		p := lister.expect(http.StatusForbidden, path)
		contains(t, path, p.Body, "is not authorized to perform: logs:GetLogEvents on resource: arn:aws:logs:"+region+":"+account+":log-group:/ecs/web:log-stream:web/app/1")
		lacks(t, path, p.Body, "secret line")
	}
	// One stream's grant opens that stream only.
	one := f.signedIn(f.user("one", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:GetLogEvents","Resource":"arn:aws:logs:`+region+`:`+account+`:log-group:/ecs/web:log-stream:web/app/1"}]}`))
	contains(t, "the granted stream", one.expect(http.StatusOK, "/ui/logs/stream?group=%2Fecs%2Fweb&stream=web%2Fapp%2F1").Body, "secret line")
	one.expect(http.StatusForbidden, "/ui/logs")
}
