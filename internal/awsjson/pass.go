package awsjson

import (
	"net/http"
	"strings"

	"github.com/berth-dev/berth/internal/awserr"
)

// Pass hands every call of the services registered on other to h, as it
// came and before any authentication: JSON calls by their target prefix,
// REST calls by their paths' first segment. A replica whose launcher runs
// on another replica passes the launcher's services to the forwarder this
// way; other is a front door those services were registered on only to
// learn their routes.
func (f *Front) Pass(other *Front, h http.Handler) {
	for prefix := range other.json {
		f.passed[prefix] = h
	}
	for prefix, svc := range other.paths {
		if f.paths[prefix] == nil {
			f.paths[prefix] = svc
			f.mux.Handle(prefix, h)
		}
	}
}

// Unavailable answers r, a call of a service registered on f, with that
// service's server fault and status 503 in the service's own form, saying
// message; a call of no such service gets a plain 503.
func (f *Front) Unavailable(w http.ResponseWriter, r *http.Request, message string) {
	ctx := begin(w, r)
	prefix, _, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if s, ok := f.json[prefix]; ok && r.URL.Path == "/" {
		s.svc.writeError(ctx, w, awserr.New(s.svc.fault, http.StatusServiceUnavailable, message), ContentType, jsonErrorBody, false)
		return
	}
	if svc := f.paths[firstSegment(r.URL.Path)]; svc != nil {
		svc.writeError(ctx, w, awserr.New(svc.fault, http.StatusServiceUnavailable, message))
		return
	}
	http.Error(w, message, http.StatusServiceUnavailable)
}

// firstSegment is the first segment of path as REST routes claim it:
// "/2015-03-31/functions/f" is "/2015-03-31/".
func firstSegment(path string) string {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return ""
	}
	seg, _, found := strings.Cut(rest, "/")
	if !found {
		return ""
	}
	return "/" + seg + "/"
}
