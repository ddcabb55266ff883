package awsjson

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A front door passes the calls of the services registered on another to
// a handler untouched, and answers them with each service's own 503 when
// no process can serve them; other calls are its own.
func TestPass(t *testing.T) {
	type empty struct{}
	ran := false
	op := func(context.Context, *empty) (*empty, error) { ran = true; return &empty{}, nil }
	jsonSvc := NewService("Elsewhere_20240101", "elsewhere")
	Handle(jsonSvc, "Ping", op)
	restSvc := NewRESTService("rested", WithServerFault("ServiceException"))
	HandleREST(restSvc, "GET /2024-01-01/things", "ListThings", op)
	shape := NewFront(http.NewServeMux(), nil, nil)
	shape.JSON(jsonSvc)
	shape.REST(restSvc)

	here := NewService("Here_20240101", "here")
	Handle(here, "Ping", op)
	mux := http.NewServeMux()
	front := NewFront(mux, nil, nil)
	front.JSON(here)
	var passed []string
	front.Pass(shape, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		passed = append(passed, r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Amz-Target"))
		shape.Unavailable(w, r, "nobody runs it")
	}))

	call := func(method, path, target string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader("{}"))
		r.Header.Set("Content-Type", ContentType)
		if target != "" {
			r.Header.Set("X-Amz-Target", target)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	errorType := func(w *httptest.ResponseRecorder) string {
		var body struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(w.Body.Bytes(), &body)
		return body.Type
	}

	w := call(http.MethodPost, "/", "Elsewhere_20240101.Ping")
	if w.Code != http.StatusServiceUnavailable || errorType(w) != "ServerException" || w.Header().Get("Content-Type") != ContentType {
		t.Errorf("a passed JSON call: %d %s %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	w = call(http.MethodGet, "/2024-01-01/things", "")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("X-Amzn-ErrorType") != "ServiceException" {
		t.Errorf("a passed REST call: %d %v %q", w.Code, w.Header(), w.Body)
	}
	if len(passed) != 2 || ran {
		t.Errorf("passed %q (ran here: %v); want both calls passed and none run", passed, ran)
	}
	if w = call(http.MethodPost, "/", "Here_20240101.Ping"); w.Code != http.StatusOK || !ran {
		t.Errorf("the front door's own service: %d %q", w.Code, w.Body)
	}
	if w = call(http.MethodPost, "/", "Nobody_1.Ping"); w.Code != http.StatusBadRequest || errorType(w) != "UnknownOperationException" {
		t.Errorf("an unknown service: %d %q", w.Code, w.Body)
	}
	if len(passed) != 2 {
		t.Errorf("passed %q; want only the other front door's calls", passed)
	}
}
