package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

// /readyz says whether the index answers, never why not: the error text
// of a database driver can hold its address, user name or password. The
// reason goes to the log, for the operator.
func TestReadyzHidesTheIndexError(t *testing.T) {
	const detail = `failed to connect to host=db.internal user=berth password=hunter2: connection refused`
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for _, tc := range []struct {
		name     string
		err      error
		wantCode int
	}{
		{"up", nil, http.StatusOK},
		{"down", errors.New(detail), http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := readyz(pingFunc(func(context.Context) error { return tc.err }), log)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			body, _ := io.ReadAll(rec.Result().Body)
			if rec.Code != tc.wantCode {
				t.Errorf("status %d; want %d", rec.Code, tc.wantCode)
			}
			for _, secret := range []string{"hunter2", "db.internal", "user=berth"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("the body %q shows %q from the index error", body, secret)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the index error was not logged:\n%s", logs.String())
	}
}
