package ui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/launcher/batch"
	"github.com/berth-dev/berth/metadata"
)

// views are the parsed templates, one per page, each with the layout and
// the shared parts.
type views struct {
	pages map[string]*template.Template
}

// assetVersions are the embedded static files' content hashes, so that
// their URLs change when they do and browsers may cache them for long.
var assetVersions = func() map[string]string {
	out := map[string]string{}
	fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path.Base(p)] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
}()

// staticHandler serves the embedded CSS, script and icon.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fileServer := http.StripPrefix("/ui/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		fileServer.ServeHTTP(w, r)
	})
}

// templateFuncs are the helpers templates format with.
var templateFuncs = template.FuncMap{
	"asset": func(name string) string { return "/ui/static/" + name + "?v=" + assetVersions[name] },
	"bytes": humanBytes,
	"when":  when,
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"short":      shortDigest,
	"repoURL":    repoURL,
	"imageURL":   imageURL,
	"sevclass":   severityClass,
	"platform":   platform,
	"severities": func() []string { return severities },
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"add": func(a, b int) int { return a + b },
	// The launcher's pages.
	"clusterURL": func(name string) string { return "/ui/clusters/" + url.PathEscape(name) },
	"serviceURL": func(cluster, name string) string {
		return "/ui/clusters/" + url.PathEscape(cluster) + "/services/" + url.PathEscape(name)
	},
	"taskURL": func(cluster, id string) string {
		return "/ui/clusters/" + url.PathEscape(cluster) + "/tasks/" + url.PathEscape(id)
	},
	"taskDefinitionURL": taskDefinitionURL,
	"logGroupURL":       func(group string) string { return "/ui/logs/group?" + url.Values{"name": {group}}.Encode() },
	"logStreamURL": func(group, stream string) string {
		return "/ui/logs/stream?" + url.Values{"group": {group}, "stream": {stream}}.Encode()
	},
	"statusclass": statusClass,
	// unset reports whether an optional flag is set to false.
	"unset":       func(b *bool) bool { return b != nil && !*b },
	"logtime":     logTime,
	"functionURL": func(name string) string { return functionsHref + "/" + url.PathEscape(name) },
	"usd":         usd,
	"lambdaclass": lambdaClass,
	"int":         func(n int64) int { return int(n) },
	"gbs":         func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) },
	"logiso":      logISO,
	"jobURL":      jobURL,
	// vcpus formats thousandths of a vCPU.
	"vcpus":       func(m int64) string { return strconv.FormatFloat(float64(m)/1000, 'f', -1, 64) },
	"jobQueueURL": jobQueueURL,
	// millis is an epoch-milliseconds time (Batch's), zero for 0.
	"millis": func(ms int64) time.Time {
		if ms == 0 {
			return time.Time{}
		}
		return time.UnixMilli(ms)
	},
}

// taskDefinitionURL is the path of a task definition revision's page.
func taskDefinitionURL(family string, revision int) string {
	return "/ui/task-definitions/" + url.PathEscape(family) + "/" + strconv.Itoa(revision)
}

// statusClass is the class that colours an ECS status or health.
func statusClass(status string) string {
	switch status {
	case "RUNNING", "HEALTHY", "ACTIVE", "SUCCEEDED", "VALID", "ENABLED":
		return "st-ok"
	case "STOPPED", "INACTIVE", "DISABLED":
		return "st-done"
	case "UNHEALTHY", "FAILED", "INVALID":
		return "st-bad"
	}
	return "st-busy"
}

// usd formats an estimated cost in US dollars: cents, or down to the
// millionth of a cent for the small sums Lambda bills.
func usd(v float64) string {
	if v == 0 || v >= 0.01 {
		return fmt.Sprintf("$%.2f", v)
	}
	return "$" + strings.TrimRight(fmt.Sprintf("%.8f", v), "0")
}

// lambdaClass is the class that colours a function's state or last
// update status.
func lambdaClass(status string) string {
	switch status {
	case "Active", "Successful":
		return "st-ok"
	case "Failed":
		return "st-bad"
	}
	return "st-busy"
}

// logTime formats a log event's time (epoch milliseconds) to the
// millisecond, in UTC.
func logTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000") }

// logISO is logTime as a datetime attribute has it.
func logISO(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func loadViews() (*views, error) {
	base, err := template.New("layout.html").Funcs(templateFuncs).ParseFS(files, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{pages: map[string]*template.Template{}}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(files, p)
		if err != nil {
			return nil, err
		}
		v.pages[name] = t
	}
	return v, nil
}

// view is what the layout renders a page with.
type view struct {
	Title string
	Nav   []navItem
	// User is the signed-in user; empty when nobody is (the sign-in page,
	// auth mode none).
	User string
	Open bool
	CSRF string
	// Refresh, when set, reloads the page after that many seconds (a
	// preview still running).
	Refresh int
	Body    any
}

// navItem is an entry of the navigation.
type navItem struct {
	Name, Href string
	Current    bool
}

// sections are the navigation's entries (ECS services are pages of their
// clusters); the ECS pages say so when the launcher is off, and Lambda's
// and Batch's are absent then.
var sections = []navItem{
	{Name: "Overview", Href: "/ui/"},
	{Name: "Repositories", Href: "/ui/repositories"},
	{Name: "Clusters", Href: "/ui/clusters"},
	{Name: "Task definitions", Href: "/ui/task-definitions"},
	{Name: "Logs", Href: "/ui/logs"},
	{Name: "Functions", Href: functionsHref},
	{Name: "Batch", Href: batchHref},
}

// functionsHref and batchHref are the sections absent while Lambda or
// Batch is off.
const (
	functionsHref = "/ui/functions"
	batchHref     = "/ui/batch"
)

// LauncherPaths are the paths of the launcher's pages, each with its
// subtree: a replica whose launcher runs on another replica hands them on.
var LauncherPaths = []string{"/ui/clusters", "/ui/task-definitions", functionsHref, batchHref}

func navigation(p string) []navItem {
	out := make([]navItem, len(sections))
	for i, s := range sections {
		s.Current = p == s.Href || s.Href != Prefix && strings.HasPrefix(p, s.Href)
		out[i] = s
	}
	return out
}

// render writes page name with status. The page is rendered whole before
// anything is sent, so a template failure is still a clean error.
func (u *UI) render(w http.ResponseWriter, rq *request, status int, name, title string, body any) {
	u.renderView(w, rq, status, name, view{Title: title, Body: body})
}

func (u *UI) renderView(w http.ResponseWriter, rq *request, status int, name string, v view) {
	v.CSRF, v.Open = rq.csrf, u.cfg.Access.Open()
	if rq.principal != nil {
		v.Nav, v.User = navigation(rq.URL.Path), rq.principal.User
		v.Nav = slices.DeleteFunc(v.Nav, func(n navItem) bool {
			return !u.cfg.LauncherElsewhere && (n.Href == functionsHref && u.cfg.Functions == nil || n.Href == batchHref && u.cfg.Batch == nil)
		})
	}
	var buf bytes.Buffer
	if err := u.views.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		u.log.ErrorContext(rq.Context(), "ui: rendering a page", "page", name, "err", err)
		http.Error(w, "The page could not be rendered; the server's log says why.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pageError is an error shown to the person as a page with its status.
type pageError struct {
	status         int
	title, message string
}

func (e *pageError) Error() string { return e.message }

var (
	errNotFound  = &pageError{http.StatusNotFound, "Not found", "There is no such page."}
	errCSRF      = &pageError{http.StatusForbidden, "Form refused", "The form did not come from this page of berth, or it has expired. Go back, reload the page and try again."}
	errCrossSite = &pageError{http.StatusForbidden, "Form refused", "Forms may be sent to berth only from berth's own pages."}
)

// badRequest is a 400 page saying what is wrong with the input.
func badRequest(format string, args ...any) *pageError {
	return &pageError{http.StatusBadRequest, "Cannot do that", fmt.Sprintf(format, args...)}
}

// renderError shows err as a page: the person's mistakes as they are, a
// missing repository or image as 404, anything else as 500 with the
// cause in the server's log only.
func (u *UI) renderError(w http.ResponseWriter, rq *request, err error) {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
	case errors.Is(err, metadata.ErrRepositoryUnknown):
		pe = &pageError{http.StatusNotFound, "Not found", "There is no such repository."}
	case errors.Is(err, metadata.ErrManifestUnknown):
		pe = &pageError{http.StatusNotFound, "Not found", "There is no such image in this repository."}
	case errors.Is(err, metadata.ErrClusterUnknown):
		pe = &pageError{http.StatusNotFound, "Not found", "There is no such cluster."}
	case errors.Is(err, metadata.ErrServiceUnknown):
		pe = &pageError{http.StatusNotFound, "Not found", "There is no such service in this cluster."}
	case errors.Is(err, metadata.ErrTaskUnknown):
		pe = &pageError{http.StatusNotFound, "Not found", "There is no such task in this cluster (stopped tasks are kept for an hour)."}
	case errors.Is(err, metadata.ErrLogGroupUnknown):
		pe = &pageError{http.StatusNotFound, "Not found", "There is no such log group."}
	case errors.Is(err, batch.ErrJobUnknown):
		pe = errJobUnknown
	case errors.Is(err, metadata.ErrLogStreamUnknown):
		pe = &pageError{http.StatusNotFound, "Not found", "There is no such log stream in this group."}
	case errors.As(err, new(*awserr.Error)):
		if pe = awsPageError(err); pe.status >= http.StatusInternalServerError {
			u.log.WarnContext(rq.Context(), "ui: the launcher refused", "path", rq.URL.Path, "err", err)
		}
	default:
		u.log.ErrorContext(rq.Context(), "ui: serving a page", "path", rq.URL.Path, "err", err)
		pe = &pageError{http.StatusInternalServerError, "Something went wrong", "berth could not serve this page; the server's log says why."}
	}
	u.render(w, rq, pe.status, "error", pe.title, pe)
}

// awsPageError shows an error the launcher's Go API returned in AWS's
// terms: what it refuses with its message and status; a server fault
// (the engine not answering is the only one with a message for people)
// as unavailable, with its message.
func awsPageError(err error) *pageError {
	var ae *awserr.Error
	errors.As(err, &ae)
	if status := ae.HTTPStatus(); status < http.StatusInternalServerError {
		return &pageError{status, "Cannot do that", ae.Message}
	}
	return &pageError{http.StatusServiceUnavailable, "Not available", ae.Message}
}

// Message returns the error's text, for the error page.
func (e *pageError) Message() string { return e.message }

// humanBytes formats a size in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// when formats a time for people, in UTC; the zero time is "never".
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// shortDigest is a digest's algorithm and first 12 hex digits.
func shortDigest(d digest.Digest) string {
	s := d.String()
	if i := strings.IndexByte(s, ':'); i >= 0 && len(s) > i+13 {
		return s[:i+13]
	}
	return s
}

// repoURL is the path of a repository's page, or of one of its pages
// under "/-/".
func repoURL(name string, sub ...string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	p := "/ui/repositories/" + strings.Join(parts, "/")
	if len(sub) > 0 {
		p += "/-/" + strings.Join(sub, "/")
	}
	return p
}

// imageURL is the path of an image's page.
func imageURL(repo string, d digest.Digest) string {
	return repoURL(repo, "images", url.PathEscape(d.String()))
}
