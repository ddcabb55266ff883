package client

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		`{"authorizationToken":"QVdTOnNlY3JldA==","expiresAt":1.5}`:                                               `{"authorizationToken":"<redacted>","expiresAt":1.5}`,
		`{"password": "p\"w", "user":"AWS"}`:                                                                      `{"password": "<redacted>", "user":"AWS"}`,
		`{"SecretAccessKey":"x","sessionToken":"y","nextToken":"z"}`:                                              `{"SecretAccessKey":"<redacted>","sessionToken":"<redacted>","nextToken":"z"}`,
		`{"Secret":"abc","token":"t"}`:                                                                            `{"Secret":"<redacted>","token":"<redacted>"}`,
		`{"downloadUrl":"https://s3/b?X-Amz-Credential=AKIA%2F&X-Amz-Signature=abcdef&X-Amz-Security-Token=tok"}`: `{"downloadUrl":"https://s3/b?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>&X-Amz-Security-Token=<redacted>"}`,
		`{"authorizationToken":"cut off here`:                                                                     `{"authorizationToken":"<redacted>`,
		`{"repositoryName":"app"}`:                                                                                `{"repositoryName":"app"}`,
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%s)\n got %s\nwant %s", in, got, want)
		}
	}
}

// FuzzRedact: whatever a secret member holds, none of it is left.
func FuzzRedact(f *testing.F) {
	f.Add("password", "hunter2")
	f.Add("authorizationToken", `a"b\c`)
	f.Add("secretAccessKey", "")
	f.Fuzz(func(t *testing.T, name, secret string) {
		switch name {
		case "password", "authorizationToken", "secretAccessKey", "sessionToken", "token", "secret":
		default:
			return
		}
		doc, _ := json.Marshal(map[string]string{name: secret})
		want := `{"` + name + `":"<redacted>"}`
		if got := Redact(string(doc)); got != want {
			t.Fatalf("Redact(%s) = %s; want %s", doc, got, want)
		}
		// Cut off anywhere inside the value, nothing of it shows either.
		for cut := len(name) + 5; cut < len(doc)-2; cut++ {
			if got := Redact(string(doc[:cut])); got != `{"`+name+`":"<redacted>` {
				t.Fatalf("Redact(%s) = %s", doc[:cut], got)
			}
		}
	})
}

// TestDebugClientStreams: the debug transport shows both sides of an
// exchange, redacted, and hands the caller every byte of a body larger
// than it shows.
func TestDebugClientStreams(t *testing.T) {
	big := strings.Repeat("layer bytes ", 4000) // 48 KB, more than is shown
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Set-Cookie", "session=secret-cookie")
		w.Write([]byte(`{"echo":` + string(body) + `,"password":"pw-in-response","blob":"` + big + `"}`))
	}))
	defer srv.Close()
	var log bytes.Buffer
	d := &debugClient{next: http.DefaultClient, w: &log}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/?X-Amz-Signature=sig-in-url", strings.NewReader(`{"secretAccessKey":"sk-in-request"}`))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/..., Signature=sig-in-header")
	req.Header.Set("X-Amz-Security-Token", "session-token")
	resp, err := d.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.HasSuffix(string(body), big+`"}`) || !strings.Contains(string(body), "sk-in-request") {
		t.Errorf("the caller got %d bytes, not the whole body: %v", len(body), err)
	}
	shown := log.String()
	for _, secret := range []string{"sig-in-url", "sig-in-header", "session-token", "sk-in-request", "pw-in-response", "secret-cookie"} {
		if strings.Contains(shown, secret) {
			t.Errorf("--debug showed %s:\n%s", secret, shown)
		}
	}
	for _, want := range []string{"> POST /?X-Amz-Signature=<redacted>", "> Authorization: <redacted>", "< HTTP/1.1 200 OK", "< Set-Cookie: <redacted>", "bytes in all]"} {
		if !strings.Contains(shown, want) {
			t.Errorf("--debug lacks %q:\n%.2000s", want, shown)
		}
	}
	if len(shown) > 2*debugBodyLimit {
		t.Errorf("--debug showed %d bytes of a %d-byte exchange; want at most the first %d of each body", len(shown), len(body), debugBodyLimit)
	}
}
