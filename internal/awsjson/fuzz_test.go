package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

type fuzzInput struct {
	Name   *string             `json:"name,omitempty"`
	Count  *int32              `json:"count,omitempty"`
	Flag   *bool               `json:"flag,omitempty"`
	When   *Time               `json:"when,omitempty"`
	Tags   []map[string]string `json:"tags,omitempty"`
	Nested *struct {
		IDs []string `json:"ids,omitempty"`
	} `json:"nested,omitempty"`
	Blob []byte `json:"blob,omitempty"`
}

// FuzzServe drives the request decoding path with arbitrary bodies: it must
// never panic, and client garbage must never be a server fault.
func FuzzServe(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `{"name":"a","count":1,"flag":true}`, `{"when":1.7e9}`,
		`{"tags":[{"Key":"k","Value":"v"}]}`, `{"nested":{"ids":["a"]}}`, `{"blob":"AAEC"}`,
		`{"count":1e99}`, `{"when":"x"}`, `[`, `{"a":` + string(bytes.Repeat([]byte("["), 200)),
		"\xff\xfe", `{"name":"\ud800"}`, `{} {}`,
	} {
		f.Add([]byte(seed))
	}
	svc := NewService(testPrefix, "ecr", WithMaxBodyBytes(64<<10), WithLogger(discardLogger()))
	Handle(svc, "Op", func(ctx context.Context, in *fuzzInput) (*fuzzInput, error) { return in, nil })
	front := frontFor(svc, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", testPrefix+".Op")
		r.Header.Set("Content-Type", ContentType)
		w := httptest.NewRecorder()
		front.ServeHTTP(w, r)
		resp := w.Result()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d for body %q: %s", resp.StatusCode, body, out)
		}
		if !json.Valid(out) {
			t.Fatalf("response is not JSON: %q", out)
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
