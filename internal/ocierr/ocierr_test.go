package ocierr

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		method   string
		err      *Error
		status   int
		body     string
		header   string // WWW-Authenticate
		reserved string // a header set before the error, kept
	}{
		{"GET", New(ManifestUnknown, "", nil), 404, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown to registry"}]}`, "", "0-9"},
		{"GET", New(ManifestBlobUnknown, "", map[string]any{"digests": []string{"sha256:a"}}), 400,
			`{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"manifest references a manifest or blob unknown to registry","detail":{"digests":["sha256:a"]}}]}`, "", "0-9"},
		{"GET", &Error{Code: Unauthorized, Message: "log in", Header: http.Header{"Www-Authenticate": {`Basic realm="x"`}}}, 401,
			`{"errors":[{"code":"UNAUTHORIZED","message":"log in"}]}`, `Basic realm="x"`, "0-9"},
		{"HEAD", New(BlobUnknown, "", nil), 404, ``, "", "0-9"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		w.Header().Set("Range", tt.reserved)
		w.Header().Set("Content-Length", "123")
		Write(w, tt.method, tt.err)
		if w.Code != tt.status || w.Body.String() != tt.body {
			t.Errorf("%s %v: %d %s, want %d %s", tt.method, tt.err, w.Code, w.Body, tt.status, tt.body)
		}
		if w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Content-Length") != "" {
			t.Errorf("%v: headers %v", tt.err, w.Header())
		}
		if w.Header().Get("WWW-Authenticate") != tt.header || w.Header().Get("Range") != tt.reserved {
			t.Errorf("%v: headers %v", tt.err, w.Header())
		}
	}
	if e := New(Denied, "", nil); e.Error() != "DENIED: requested access to the resource is denied" || e.HTTPStatus() != http.StatusForbidden {
		t.Errorf("Error() = %q, HTTPStatus() = %d", e.Error(), e.HTTPStatus())
	}
}
