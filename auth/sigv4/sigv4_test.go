package sigv4

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/awserr"
)

const (
	testAccessKey = "AKIDEXAMPLE"
	cliSecret     = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	sdkSecret     = "secretEXAMPLE"
)

// staticCreds maps access key IDs to secrets.
type staticCreds map[string]string

func (c staticCreds) Secret(_ context.Context, ak string) (string, error) {
	s, ok := c[ak]
	if !ok {
		return "", ErrUnknownAccessKey
	}
	return s, nil
}

// failingCreds is a credential store that is down.
type failingCreds struct{ err error }

func (c failingCreds) Secret(context.Context, string) (string, error) { return "", c.err }

// capture is one verbatim request from testdata.
type capture struct {
	name   string
	raw    string
	secret string
}

// loadCaptures reads the '--- REQUEST'-separated requests of a testdata file.
func loadCaptures(t testing.TB, file, secret string) []capture {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []capture
	for i, block := range strings.Split(string(data), "--- REQUEST\n")[1:] {
		name := file
		for line := range strings.SplitSeq(block, "\n") {
			if target, ok := strings.CutPrefix(line, "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921."); ok {
				name = target
			}
		}
		out = append(out, capture{name: strings.TrimPrefix(file, "testdata/") + "#" + itoa(i) + "-" + name, raw: block, secret: secret})
	}
	return out
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func allCaptures(t testing.TB) []capture {
	caps := append(loadCaptures(t, "testdata/aws-cli.http", cliSecret), loadCaptures(t, "testdata/aws-sdk-go-v2.http", sdkSecret)...)
	if len(caps) != 21 {
		t.Fatalf("loaded %d captures, want 21", len(caps))
	}
	return caps
}

// parse turns a capture into a server-side request and its body, as
// net/http's server would.
func (c capture) parse(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(c.raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r, body
}

// signedAt returns the capture's X-Amz-Date as a time.
func signedAt(t testing.TB, r *http.Request) time.Time {
	t.Helper()
	at, err := time.Parse(timeFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func ecrOptions(now time.Time) Options {
	return Options{Service: "ecr", Region: "us-east-1", Now: func() time.Time { return now }}
}

func TestCapturesVerify(t *testing.T) {
	for _, c := range allCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			r, body := c.parse(t)
			at := signedAt(t, r)
			id, err := Verify(t.Context(), r, HashPayload(body), staticCreds{testAccessKey: c.secret}, ecrOptions(at))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Identity{AccessKeyID: testAccessKey, Region: "us-east-1", Service: "ecr", SignedAt: at}
			if *id != want {
				t.Fatalf("identity = %+v, want %+v", *id, want)
			}

			// Headers outside SignedHeaders may change freely.
			r.Header.Set("User-Agent", "something-else")
			r.Header.Set("Accept-Encoding", "br")
			if _, err := Verify(t.Context(), r, HashPayload(body), staticCreds{testAccessKey: c.secret}, ecrOptions(at)); err != nil {
				t.Fatalf("Verify after changing unsigned headers: %v", err)
			}
		})
	}
}

// TestCapturesTampered changes one signed part of each capture at a time
// and expects InvalidSignatureException.
func TestCapturesTampered(t *testing.T) {
	type mutation struct {
		name   string
		mutate func(r *http.Request, body *[]byte, secret *string)
	}
	for _, c := range allCaptures(t) {
		r0, _ := c.parse(t)
		auth, err := parseAuthorization(r0.Header.Get("Authorization"))
		if err != nil {
			t.Fatal(err)
		}
		muts := []mutation{
			{"body", func(_ *http.Request, b *[]byte, _ *string) { *b = append([]byte(" "), *b...) }},
			{"path", func(r *http.Request, _ *[]byte, _ *string) { r.URL.Path = "/v2/" }},
			{"query", func(r *http.Request, _ *[]byte, _ *string) { r.URL.RawQuery = "a=b" }},
			{"method", func(r *http.Request, _ *[]byte, _ *string) { r.Method = http.MethodPut }},
			{"date", func(r *http.Request, _ *[]byte, _ *string) {
				r.Header.Set("X-Amz-Date", signedAt(t, r).Add(time.Second).Format(timeFormat))
			}},
			{"region", func(r *http.Request, _ *[]byte, _ *string) {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/us-west-2/", 1))
			}},
			{"secret", func(_ *http.Request, _ *[]byte, s *string) { *s += "x" }},
			{"signature", func(r *http.Request, _ *[]byte, _ *string) {
				h := r.Header.Get("Authorization")
				last := h[len(h)-1]
				r.Header.Set("Authorization", h[:len(h)-1]+map[bool]string{true: "1", false: "0"}[last == '0'])
			}},
		}
		for _, name := range auth.signedHeaders {
			muts = append(muts, mutation{"header " + name, func(r *http.Request, _ *[]byte, _ *string) {
				switch name {
				case "host":
					r.Host = "127.0.0.1:1"
				case "x-amz-date":
					r.Header.Set("X-Amz-Date", signedAt(t, r).Add(-time.Second).Format(timeFormat))
				default:
					if r.Header.Get(name) == "" {
						t.Fatalf("signed header %q absent from request", name)
					}
					r.Header.Set(name, r.Header.Get(name)+"0")
				}
			}})
		}
		for _, m := range muts {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				r, body := c.parse(t)
				at := signedAt(t, r)
				secret := c.secret
				m.mutate(r, &body, &secret)
				opts := Options{Service: "ecr", Now: func() time.Time { return at }}
				_, err := Verify(t.Context(), r, HashPayload(body), staticCreds{testAccessKey: secret}, opts)
				wantAWSError(t, err, awserr.InvalidSignatureException, "")
			})
		}
	}
}

// wantAWSError fails unless err is an *awserr.Error of type typ whose message
// contains msg.
func wantAWSError(t *testing.T, err error, typ, msg string) {
	t.Helper()
	var e *awserr.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *awserr.Error %s", err, err, typ)
	}
	if e.Type != typ || !strings.Contains(e.Message, msg) {
		t.Fatalf("err = %v, want %s containing %q", e, typ, msg)
	}
	if e.HTTPStatus() != http.StatusBadRequest {
		t.Fatalf("status = %d", e.HTTPStatus())
	}
}

func TestVerifyErrors(t *testing.T) {
	base := loadCaptures(t, "testdata/aws-cli.http", cliSecret)[0] // CreateRepository, 20261128T111324Z
	setAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
		}
	}
	at := time.Date(2026, 11, 28, 11, 13, 24, 0, time.UTC)
	tests := []struct {
		name    string
		mutate  func(*http.Request)
		opts    Options
		creds   Credentials
		payload string // overrides the body's hash when set
		typ     string // "" for a success
		msg     string
	}{
		{name: "ok"},
		{name: "ok at the edge of the skew window", opts: Options{Now: func() time.Time { return at.Add(15 * time.Minute) }}},
		{name: "no Authorization", mutate: func(r *http.Request) { r.Header.Del("Authorization") },
			typ: awserr.MissingAuthenticationTokenException, msg: "Missing Authentication Token"},
		{name: "blank Authorization", mutate: func(r *http.Request) { r.Header.Set("Authorization", "  ") },
			typ: awserr.MissingAuthenticationTokenException},
		{name: "two Authorization headers", mutate: func(r *http.Request) { r.Header.Add("Authorization", "x") },
			typ: awserr.IncompleteSignatureException, msg: "exactly one"},
		{name: "other algorithm", mutate: setAuth("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
			typ: awserr.IncompleteSignatureException, msg: "algorithm"},
		{name: "Basic auth", mutate: func(r *http.Request) { r.Header.Set("Authorization", "Basic QVdTOnB3") },
			typ: awserr.IncompleteSignatureException, msg: "algorithm"},
		{name: "no Credential", mutate: setAuth("Credential=", "Credentials="),
			typ: awserr.IncompleteSignatureException, msg: "requires 'Credential' parameter"},
		{name: "no Signature", mutate: setAuth("Signature=", "Sig="),
			typ: awserr.IncompleteSignatureException, msg: "requires 'Signature' parameter"},
		{name: "no SignedHeaders", mutate: setAuth("SignedHeaders=", "Signed="),
			typ: awserr.IncompleteSignatureException, msg: "requires 'SignedHeaders' parameter"},
		{name: "missing equal sign", mutate: setAuth(", Signature=", ", Junk, Signature="),
			typ: awserr.IncompleteSignatureException, msg: "missing equal-sign"},
		{name: "duplicate parameter", mutate: setAuth(", Signature=", ", Signature=00, Signature="),
			typ: awserr.IncompleteSignatureException, msg: "duplicate"},
		{name: "short credential", mutate: setAuth("/ecr/aws4_request", "/aws4_request"),
			typ: awserr.IncompleteSignatureException, msg: "Credential must have the form"},
		{name: "bad terminator", mutate: setAuth("aws4_request", "aws5_request"),
			typ: awserr.IncompleteSignatureException, msg: "valid terminator"},
		{name: "bad scope date", mutate: setAuth("/20261128/", "/2026-11-28/"),
			typ: awserr.IncompleteSignatureException, msg: "yyyymmdd"},
		{name: "upper-case signed header", mutate: setAuth("content-type;host", "Content-Type;host"),
			typ: awserr.IncompleteSignatureException, msg: "lower-case"},
		{name: "empty signed header", mutate: setAuth("content-type;host", "content-type;;host"),
			typ: awserr.IncompleteSignatureException, msg: "lower-case"},
		{name: "host not signed", mutate: setAuth("content-type;host;", "content-type;"),
			typ: awserr.IncompleteSignatureException, msg: "'Host' must be a 'SignedHeader'"},
		{name: "no X-Amz-Date", mutate: func(r *http.Request) { r.Header.Del("X-Amz-Date") },
			typ: awserr.IncompleteSignatureException, msg: "'X-Amz-Date'"},
		{name: "bad X-Amz-Date", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Date", "Sat, 28 Nov 2026 11:13:24 GMT") },
			typ: awserr.IncompleteSignatureException, msg: "X-Amz-Date must have the form"},
		{name: "scope date differs from X-Amz-Date", mutate: setAuth("/20261128/", "/20261127/"),
			typ: awserr.InvalidSignatureException, msg: "'20261127' != '20261128', from '20261128T111324Z'"},
		{name: "wrong service", opts: Options{Service: "s3"},
			typ: awserr.InvalidSignatureException, msg: "correct service: 's3'"},
		{name: "wrong region", opts: Options{Region: "eu-west-1"},
			typ: awserr.InvalidSignatureException, msg: "valid region"},
		{name: "expired", opts: Options{Now: func() time.Time { return at.Add(15*time.Minute + time.Second) }},
			typ: awserr.InvalidSignatureException,
			msg: "Signature expired: 20261128T111324Z is now earlier than 20261128T111325Z (20261128T112825Z - 15 min.)"},
		{name: "expired, 5 minute window", opts: Options{MaxSkew: 5 * time.Minute, Now: func() time.Time { return at.Add(6 * time.Minute) }},
			typ: awserr.InvalidSignatureException,
			msg: "Signature expired: 20261128T111324Z is now earlier than 20261128T111424Z (20261128T111924Z - 5 min.)"},
		{name: "not yet current", opts: Options{Now: func() time.Time { return at.Add(-16 * time.Minute) }},
			typ: awserr.InvalidSignatureException,
			msg: "Signature not yet current: 20261128T111324Z is still later than 20261128T111224Z (20261128T105724Z + 15 min.)"},
		{name: "unknown access key", creds: staticCreds{"AKIDOTHER": cliSecret},
			typ: awserr.UnrecognizedClientException, msg: "The security token included in the request is invalid."},
		{name: "wrong body", payload: HashPayload([]byte(`{}`)),
			typ: awserr.InvalidSignatureException, msg: "The request signature we calculated does not match"},
		{name: "content hash header disagrees with body",
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", HashPayload(nil)) },
			typ:    awserr.InvalidSignatureException, msg: "'x-amz-content-sha256' header does not match"},
		{name: "streaming payload", mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") },
			typ: awserr.IncompleteSignatureException, msg: "streaming"},
		{name: "unsigned payload not used by the signer", opts: Options{AllowUnsignedPayload: true},
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload) },
			typ:    awserr.InvalidSignatureException, msg: "does not match the signature"},
		// Before, a control plane took UNSIGNED-PAYLOAD, leaving the body
		// out of the signature.
		{name: "unsigned payload on a control plane",
			mutate: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload) },
			typ:    awserr.InvalidSignatureException, msg: "'x-amz-content-sha256' header does not match what was computed"},
		// Before, an unsigned X-Amz-Target let anyone replay a signed
		// request as another operation.
		{name: "X-Amz-Target not signed", mutate: setAuth("x-amz-date;x-amz-target", "x-amz-date"),
			typ: awserr.IncompleteSignatureException, msg: "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, body := base.parse(t)
			if tc.mutate != nil {
				tc.mutate(r)
			}
			if tc.opts.Now == nil {
				tc.opts.Now = func() time.Time { return at }
			}
			if tc.creds == nil {
				tc.creds = staticCreds{testAccessKey: cliSecret}
			}
			payload := HashPayload(body)
			if tc.payload != "" {
				payload = tc.payload
			}
			id, err := Verify(t.Context(), r, payload, tc.creds, tc.opts)
			if tc.typ == "" {
				if err != nil || id == nil {
					t.Fatalf("Verify = %v, %v; want success", id, err)
				}
				return
			}
			if id != nil {
				t.Fatalf("identity %+v returned with an error", id)
			}
			wantAWSError(t, err, tc.typ, tc.msg)
		})
	}
}

// TestVerifyServerErrors covers failures that are not the client's.
func TestVerifyServerErrors(t *testing.T) {
	base := loadCaptures(t, "testdata/aws-cli.http", cliSecret)[0]
	r, body := base.parse(t)
	opts := Options{Now: func() time.Time { return signedAt(t, r) }}

	down := errors.New("database down")
	_, err := Verify(t.Context(), r, HashPayload(body), failingCreds{down}, opts)
	var e *awserr.Error
	if !errors.Is(err, down) || errors.As(err, &e) {
		t.Fatalf("store failure: err = %v, want a wrapped %v that is not an *awserr.Error", err, down)
	}

	for _, bad := range []string{"", "abc", strings.ToUpper(HashPayload(body))} {
		_, err = Verify(t.Context(), r, bad, staticCreds{testAccessKey: cliSecret}, opts)
		if err == nil || errors.As(err, &e) {
			t.Fatalf("payloadHash %q: err = %v, want a plain error", bad, err)
		}
	}
}

func TestParseAuthorizationSpacingAndOrder(t *testing.T) {
	want := authorization{
		accessKeyID: "AKIDEXAMPLE", date: "20261128", region: "us-east-1", service: "ecr",
		signedHeaders: []string{"host", "x-amz-date"}, signature: "abc",
	}
	for _, h := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ecr/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ecr/aws4_request,SignedHeaders=host;x-amz-date,Signature=abc",
		"  AWS4-HMAC-SHA256   Signature=abc ,  Credential=AKIDEXAMPLE/20261128/us-east-1/ecr/aws4_request,SignedHeaders = host;x-amz-date  ",
		"AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Unknown=1, Credential=AKIDEXAMPLE/20261128/us-east-1/ecr/aws4_request, Signature=abc,",
	} {
		got, err := parseAuthorization(h)
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		if got.String() != want.String() {
			t.Fatalf("%q parsed to %v, want %v", h, got, want)
		}
	}
}

func TestCanonicalization(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a", "a=&a=1&a=2"},
		{"k=a+b&k=a%2Bb&sp=%20", "k=a%20b&k=a%2Bb&sp=%20"},
		{"k=a/b&k=a-b", "k=a%2Fb&k=a-b"},
		{"%C3%A9=2&a=1&t=~", "%C3%A9=2&a=1&t=~"},
		{"bad=%zz", "bad=%25zz"},
	} {
		if got := canonicalQuery(tc.in); got != tc.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/a%20b/c%2Fd", "/a%2520b/c%252Fd"},
		{"/a b", "/a%2520b"},
		{"/v2/team/my-app/blobs/sha256:ab", "/v2/team/my-app/blobs/sha256%3Aab"},
	} {
		r, err := http.NewRequest(http.MethodGet, "http://h"+tc.in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := canonicalURI(r.URL); got != tc.want {
			t.Errorf("canonicalURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := collapseSpaces("a   b  c d"); got != "a b c d" {
		t.Errorf("collapseSpaces = %q", got)
	}
}
