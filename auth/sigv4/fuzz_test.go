package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/awserr"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, c := range allCaptures(f) {
		r, _ := c.parse(f)
		f.Add(r.Header.Get("Authorization"))
	}
	f.Add("AWS4-HMAC-SHA256 Signature=a,Credential=A/20260101/r/s/aws4_request,SignedHeaders=host")
	f.Add("AWS4-HMAC-SHA256 Credential=A/2026/r/s/aws4_request, SignedHeaders=host;;x, Signature==")
	f.Add("AWS4-HMAC-SHA256")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			var e *awserr.Error
			if !errors.As(err, &e) || e.Type != awserr.IncompleteSignatureException {
				t.Fatalf("error %v is not an IncompleteSignatureException", err)
			}
			return
		}
		if a.accessKeyID == "" || a.region == "" || a.service == "" || a.signature == "" || len(a.signedHeaders) == 0 {
			t.Fatalf("accepted %q with an empty field: %+v", h, a)
		}
		b, err := parseAuthorization(a.String())
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", a.String(), h, err)
		}
		if a.accessKeyID != b.accessKeyID || a.date != b.date || a.region != b.region || a.service != b.service ||
			a.signature != b.signature || !slices.Equal(a.signedHeaders, b.signedHeaders) {
			t.Fatalf("round trip of %q: %+v != %+v", h, a, b)
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, c := range allCaptures(f) {
		r, body := c.parse(f)
		f.Add(r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"),
			r.Header.Get("Content-Type"), "", body)
	}
	f.Add("GET", "/a%20b/c?x=%zz&&=&y", "h:1", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/r/s/aws4_request, SignedHeaders=host;content-type, Signature=00",
		"20261128T111324Z", "  a   b ", UnsignedPayload, []byte(nil))
	at := time.Date(2026, 11, 28, 11, 13, 24, 0, time.UTC)
	creds := staticCreds{testAccessKey: cliSecret}
	f.Fuzz(func(t *testing.T, method, uri, host, auth, date, contentType, contentSHA string, body []byte) {
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			u = &url.URL{Path: "/"}
		}
		r := &http.Request{Method: method, URL: u, Host: host, Header: http.Header{}, ContentLength: int64(len(body))}
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		r.Header.Set("Content-Type", contentType)
		if contentSHA != "" {
			r.Header.Set("X-Amz-Content-Sha256", contentSHA)
		}
		id, err := Verify(t.Context(), r, HashPayload(body), creds, Options{Now: func() time.Time { return at }})
		if err == nil {
			if id == nil || id.AccessKeyID != testAccessKey {
				t.Fatalf("accepted with identity %+v", id)
			}
			return
		}
		var e *awserr.Error
		if !errors.As(err, &e) || e.Type == "" || e.Message == "" {
			t.Fatalf("error %v (%T) is not an AWS error", err, err)
		}
	})
}
