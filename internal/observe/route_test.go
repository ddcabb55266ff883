package observe

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type named struct{ http.Handler }

func (named) RouteName(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/list") {
		return "list"
	}
	return "other"
}

func TestLabels(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", ok)
	mux.Handle("/v2/", named{ok})
	mux.Handle("/{$}", ok)
	mux.Handle("GET /2015-03-31/functions/{FunctionName}", ok)
	mux.Handle("/2015-03-31/", ok)
	tests := []struct{ method, path, route, label string }{
		{"GET", "/healthz", "healthz", "GET"},
		{"POST", "/healthz", "none", "POST"}, // the mux answers 405: no pattern
		{"GET", "/v2/a/b/tags/list", "list", "GET"},
		{"BREW", "/v2/" + strings.Repeat("x/", 500), "other", "OTHER"},
		{"POST", "/", "root", "POST"},
		{"GET", "/2015-03-31/functions/hello", "2015-03-31/functions/{FunctionName}", "GET"},
		{"DELETE", "/2015-03-31/functions/hello", "2015-03-31", "DELETE"},
		{"GET", "/nothing/" + strings.Repeat("y", 3000), "none", "GET"},
		{"GET", "/v2", "v2", "GET"}, // the mux redirects /v2 to /v2/: that pattern
		{strings.Repeat("M", 2048), "/", "root", "OTHER"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.path, nil)
		r.Method = tt.method
		if got := routeLabel(mux, r); got != tt.route {
			t.Errorf("routeLabel(%.40s %.40s) = %q, want %q", tt.method, tt.path, got, tt.route)
		}
		if got := methodLabel(r.Method); got != tt.label {
			t.Errorf("methodLabel(%.40s) = %q, want %q", tt.method, got, tt.label)
		}
	}
}
