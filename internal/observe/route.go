package observe

import (
	"net/http"
	"strings"
)

// RouteNamer is an optional ability of a handler whose one mux pattern
// serves several routes (the registry's /v2/, the AWS front door's "/"):
// it names the route of each request, from a fixed set of names.
type RouteNamer interface {
	RouteName(r *http.Request) string
}

// methods are the label values a request's method may become; any other
// method is "OTHER".
var methods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
	http.MethodConnect: true, http.MethodTrace: true,
}

// methodLabel reduces a request method to the fixed set of label values.
func methodLabel(method string) string {
	if methods[method] {
		return method
	}
	return "OTHER"
}

// routeLabel names the route of r from the mux pattern it matches, never
// from its path: the handler's own name when it is a RouteNamer, else the
// pattern's path ("GET /healthz" is "healthz"); "none" when no pattern
// matches. Patterns are the server's own, so the names are a fixed set.
func routeLabel(mux *http.ServeMux, r *http.Request) string {
	h, pattern := mux.Handler(r)
	if pattern == "" {
		return "none"
	}
	if n, ok := h.(RouteNamer); ok {
		return n.RouteName(r)
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		pattern = path
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 { // a host-specific pattern
		pattern = pattern[i:]
	}
	if name := strings.Trim(strings.TrimSuffix(pattern, "{$}"), "/"); name != "" {
		return name
	}
	return "root"
}
