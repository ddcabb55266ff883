package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berth-dev/berth/internal/awserr"
)

const testPrefix = "AmazonEC2ContainerRegistry_V20150921"

type echoInput struct {
	Name  *string `json:"name,omitempty"`
	Count *int    `json:"count,omitempty"`
	When  *Time   `json:"when,omitempty"`
}

type echoOutput struct {
	Name    *string  `json:"name,omitempty"`
	Count   *int     `json:"count,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	When    Time     `json:"when,omitzero"`
	Enabled *bool    `json:"enabled,omitempty"`
}

type principalKey struct{}

// newTestService registers the fake operations every test drives.
func newTestService(t *testing.T, logs io.Writer, opts ...Option) *Service {
	t.Helper()
	opts = append(opts, WithLogger(slog.New(slog.NewTextHandler(logs, nil))), WithMaxBodyBytes(1024))
	svc := NewService(testPrefix, "ecr", opts...)
	Handle(svc, "Echo", func(ctx context.Context, in *echoInput) (*echoOutput, error) {
		out := &echoOutput{Name: in.Name, Count: in.Count}
		if in.When != nil {
			out.When = *in.When
		}
		if p, ok := ctx.Value(principalKey{}).(string); ok {
			out.Name = &p
		}
		return out, nil
	})
	Handle(svc, "Nil", func(ctx context.Context, in *struct{}) (*struct{}, error) { return nil, nil })
	Handle(svc, "NotFound", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return nil, fmt.Errorf("lookup: %w", awserr.Errorf("RepositoryNotFoundException", "The repository with name 'x' does not exist"))
	})
	Handle(svc, "Boom", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return nil, errors.New("sqlite: database is locked at /var/lib/berth/secret.db")
	})
	Handle(svc, "IndexDown", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return nil, fmt.Errorf("listing repositories: %w", indexDown)
	})
	return svc
}

func TestService(t *testing.T) {
	ct := ContentType
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		auth        Authenticator
		wantCode    int
		wantType    string // __type of an error, "" for success
		wantBody    string // exact success body
		wantMessage string // substring of the error message
	}{
		{name: "echo", target: "Echo", body: `{"name":"a","count":0}`, wantCode: 200, wantBody: `{"name":"a","count":0}`},
		{name: "empty body is {}", target: "Echo", body: ``, wantCode: 200, wantBody: `{}`},
		{name: "null body is {}", target: "Echo", body: `null`, wantCode: 200, wantBody: `{}`},
		{name: "unknown members ignored", target: "Echo", body: `{"name":"a","futureMember":{"x":[1,2]}}`, wantCode: 200, wantBody: `{"name":"a"}`},
		{name: "time echoed", target: "Echo", body: `{"when":1.700000000123E9}`, wantCode: 200, wantBody: `{"when":1700000000.123}`},
		{name: "json 1.0 content type", target: "Echo", contentType: "application/x-amz-json-1.0", body: `{}`, wantCode: 200, wantBody: `{}`},
		{name: "content type parameters", target: "Echo", contentType: ct + "; charset=utf-8", body: `{}`, wantCode: 200, wantBody: `{}`},
		{name: "nil output is {}", target: "Nil", wantCode: 200, wantBody: `{}`},
		{name: "malformed json", target: "Echo", body: `{"name":`, wantCode: 400, wantType: awserr.SerializationException},
		{name: "syntax error", target: "Echo", body: `{"name" "a"}`, wantCode: 400, wantType: awserr.SerializationException, wantMessage: "offset"},
		{name: "wrong member type", target: "Echo", body: `{"count":"x"}`, wantCode: 400, wantType: awserr.SerializationException, wantMessage: "member count"},
		{name: "not an object", target: "Echo", body: `[1]`, wantCode: 400, wantType: awserr.SerializationException},
		{name: "trailing data", target: "Echo", body: `{}{}`, wantCode: 400, wantType: awserr.SerializationException},
		{name: "time as string", target: "Echo", body: `{"when":"2024-01-01"}`, wantCode: 400, wantType: awserr.SerializationException},
		{name: "too large", target: "Echo", body: `{"name":"` + strings.Repeat("a", 2000) + `"}`, wantCode: 400, wantType: awserr.ValidationException},
		{name: "unknown action", target: "DeleteEverything", body: `{}`, wantCode: 400, wantType: awserr.UnknownOperationException},
		{name: "other service", target: "!AmazonEC2ContainerServiceV20141113.ListClusters", body: `{}`, wantCode: 400, wantType: awserr.UnknownOperationException},
		{name: "no target", target: "!", body: `{}`, wantCode: 400, wantType: awserr.UnknownOperationException},
		{name: "wrong content type", target: "Echo", contentType: "application/json", body: `{}`, wantCode: 400, wantType: awserr.UnknownOperationException},
		{name: "wrong method", method: http.MethodGet, target: "Echo", wantCode: 405, wantType: awserr.UnknownOperationException},
		{name: "typed error wrapped", target: "NotFound", wantCode: 400, wantType: "RepositoryNotFoundException", wantMessage: "The repository with name 'x' does not exist"},
		{name: "plain error is ServerException", target: "Boom", wantCode: 500, wantType: awserr.ServerException, wantMessage: awserr.ServerMessage},
		{name: "index unreachable is 503", target: "IndexDown", wantCode: 503, wantType: awserr.ServerException, wantMessage: awserr.UnavailableMessage},
		{
			name: "auth error in AWS form", target: "Echo", body: `{}`, wantCode: 403, wantType: awserr.InvalidSignatureException, wantMessage: "signature",
			auth: func(r *http.Request, body []byte) (context.Context, error) {
				return nil, awserr.New(awserr.InvalidSignatureException, 403, "The request signature we calculated does not match the signature you provided.")
			},
		},
		{
			name: "auth plain error is ServerException", target: "Echo", body: `{}`, wantCode: 500, wantType: awserr.ServerException,
			auth: func(r *http.Request, body []byte) (context.Context, error) {
				return nil, errors.New("key store unreachable: secret")
			},
		},
		{
			// SigV4 reads the caller's key from the index first.
			name: "auth index unreachable is 503", target: "Echo", body: `{}`, wantCode: 503, wantType: awserr.ServerException, wantMessage: awserr.UnavailableMessage,
			auth: func(r *http.Request, body []byte) (context.Context, error) {
				return nil, fmt.Errorf("sigv4: looking up access key: %w", indexDown)
			},
		},
		{
			name: "auth runs before unknown action", target: "Nope", body: `{}`, wantCode: 400, wantType: awserr.MissingAuthenticationTokenException,
			auth: func(r *http.Request, body []byte) (context.Context, error) {
				return nil, awserr.Errorf(awserr.MissingAuthenticationTokenException, "Missing Authentication Token")
			},
		},
		{
			name: "auth sees exact body and operation, sets principal", target: "Echo", body: ` {"name":"x"} `, wantCode: 200, wantBody: `{"name":"Echo: {\"name\":\"x\"} "}`,
			auth: func(r *http.Request, body []byte) (context.Context, error) {
				return context.WithValue(r.Context(), principalKey{}, Operation(r.Context())+":"+string(body)), nil
			},
		},
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			srv := httptest.NewServer(frontFor(newTestService(t, &logs), tt.auth))
			defer srv.Close()

			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, srv.URL+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			target := testPrefix + "." + tt.target
			if strings.HasPrefix(tt.target, "!") {
				target = tt.target[1:]
			}
			if target != "" {
				req.Header.Set("X-Amz-Target", target)
			}
			if tt.contentType == "" {
				req.Header.Set("Content-Type", ct)
			} else {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)

			if resp.StatusCode != tt.wantCode {
				t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, tt.wantCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != ContentType {
				t.Errorf("Content-Type = %q", got)
			}
			if id := resp.Header.Get("x-amzn-RequestId"); !uuid.MatchString(id) {
				t.Errorf("x-amzn-RequestId = %q, want a UUID", id)
			}
			if tt.wantType == "" {
				if string(body) != tt.wantBody {
					t.Errorf("body = %s, want %s", body, tt.wantBody)
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q: %v", body, err)
			}
			if len(e) != 2 || e["__type"] != tt.wantType {
				t.Errorf("error body = %s, want __type %s and message only", body, tt.wantType)
			}
			if !strings.Contains(e["message"], tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", e["message"], tt.wantMessage)
			}
			if tt.wantCode >= 500 {
				for _, leak := range []string{"sqlite", "secret", "unreachable", "postgres"} {
					if strings.Contains(string(body), leak) {
						t.Errorf("%d body leaks %q: %s", tt.wantCode, leak, body)
					}
				}
				if !strings.Contains(logs.String(), resp.Header.Get("x-amzn-RequestId")) {
					t.Errorf("server fault not logged with its request id; logs: %s", logs.String())
				}
			}
		})
	}
}

// TestFrontRoutes checks which requests the front door hands to which
// service: JSON services by exact X-Amz-Target prefix on POST /, REST
// services by method and path, and everything else refused in the AWS form
// of its protocol.
func TestFrontRoutes(t *testing.T) {
	const ecsPrefix = "AmazonEC2ContainerServiceV20141113"
	reached := func(name string) func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return func(ctx context.Context, in *struct{}) (*struct{}, error) {
			return nil, awserr.Errorf("Reached", "%s %s", name, Operation(ctx))
		}
	}
	ecr := NewService(testPrefix, "ecr")
	Handle(ecr, "CreateRepository", reached("ecr"))
	Handle(ecr, "Anything", reached("ecr"))
	ecs := NewService(ecsPrefix, "ecs")
	Handle(ecs, "ListClusters", reached("ecs"))
	batch := NewRESTService("batch")
	HandleREST(batch, "POST /v1/submitjob", "SubmitJob", reached("batch"))
	mux := http.NewServeMux()
	front := NewFront(mux, nil, discardLogger())
	front.JSON(ecr)
	front.JSON(ecs)
	front.REST(batch)

	tests := []struct {
		method, path, target string
		want                 string // "Reached" message, or the error type
	}{
		{"POST", "/", testPrefix + ".CreateRepository", "ecr CreateRepository"},
		{"POST", "/", testPrefix + ".Anything", "ecr Anything"},
		{"POST", "/", ecsPrefix + ".ListClusters", "ecs ListClusters"},
		{"POST", "/", "AmazonEC2ContainerServiceV20141113X.ListClusters", awserr.UnknownOperationException},
		{"POST", "/", testPrefix, awserr.UnknownOperationException},
		{"POST", "/", testPrefix + ".", awserr.UnknownOperationException},
		{"POST", "/", testPrefix + "X.CreateRepository", awserr.UnknownOperationException},
		{"POST", "/", "Logs_20140328.PutLogEvents", awserr.UnknownOperationException},
		{"POST", "/", "", awserr.UnknownOperationException},
		{"GET", "/", testPrefix + ".CreateRepository", awserr.UnknownOperationException},
		{"POST", "/v1/submitjob", "", "batch SubmitJob"},
		{"POST", "/v1/submitjob", testPrefix + ".CreateRepository", "batch SubmitJob"},
		{"GET", "/v1/submitjob", "", awserr.UnknownOperationException},
		{"POST", "/v1/deletejob", "", awserr.UnknownOperationException},
		{"POST", "/v2/", testPrefix + ".CreateRepository", "404"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}"))
		r.Header.Set("Content-Type", ContentType)
		if tt.target != "" {
			r.Header.Set("X-Amz-Target", tt.target)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(w.Body.Bytes(), &e)
		got := e.Type
		switch {
		case w.Code == http.StatusNotFound && e.Type == "":
			got = "404"
		case e.Type == "Reached":
			got = e.Message
		}
		if got != tt.want {
			t.Errorf("%s %s (target %q) reached %q (%d %s), want %q", tt.method, tt.path, tt.target, got, w.Code, w.Body, tt.want)
		}
		if tt.path == "/v1/submitjob" || tt.path == "/v1/deletejob" {
			if h := w.Header().Get("X-Amzn-ErrorType"); h != e.Type {
				t.Errorf("%s %s: X-Amzn-ErrorType = %q, want %q", tt.method, tt.path, h, e.Type)
			}
		}
	}
}

func TestRequestIDUniqueAndInContext(t *testing.T) {
	svc := NewService(testPrefix, "ecr")
	var seen string
	Handle(svc, "Op", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		seen = RequestID(ctx)
		return nil, nil
	})
	ids := map[string]bool{}
	for range 3 {
		r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
		r.Header.Set("X-Amz-Target", testPrefix+".Op")
		r.Header.Set("Content-Type", ContentType)
		w := httptest.NewRecorder()
		frontFor(svc, nil).ServeHTTP(w, r)
		id := w.Header().Get("x-amzn-RequestId")
		if id == "" || id != seen || ids[id] {
			t.Fatalf("request id %q (handler saw %q, seen before %v)", id, seen, ids[id])
		}
		ids[id] = true
	}
}

func TestHandlePanicsOnDuplicate(t *testing.T) {
	svc := NewService(testPrefix, "ecr")
	op := func(ctx context.Context, in *struct{}) (*struct{}, error) { return nil, nil }
	Handle(svc, "Op", op)
	defer func() {
		if recover() == nil {
			t.Error("duplicate Handle did not panic")
		}
	}()
	Handle(svc, "Op", op)
}

func TestTimeRoundTrip(t *testing.T) {
	tests := []struct {
		in   time.Time
		wire string
	}{
		{time.UnixMilli(1700000000123), "1700000000.123"},
		{time.Unix(1795860000, 0), "1795860000.0"},
		{time.Unix(1795864402, 550466500), "1795864402.55"}, // ms precision, like the SDK
		{time.Unix(0, 0), "0.0"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(NewTime(tt.in))
		if err != nil || string(b) != tt.wire {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.in, b, err, tt.wire)
		}
		var got Time
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if !got.Equal(tt.in.Truncate(time.Millisecond)) || got.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) = %v, want %v UTC", b, got, tt.in.Truncate(time.Millisecond))
		}
	}
	for _, in := range []string{"1.700000000123E9", "1700000000.123", "1700000000123e-3"} {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || got.UnixMilli() != 1700000000123 {
			t.Errorf("Unmarshal(%s) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{`"1700000000"`, `1e300`, `-1e20`, `true`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want error", bad, got)
		}
	}
	b, _ := json.Marshal(echoOutput{})
	if string(b) != "{}" {
		t.Errorf("zero Time with omitzero marshals to %s, want {}", b)
	}
}

func TestErrorWriterForms(t *testing.T) {
	tests := []struct {
		err        error
		wantType   string
		wantStatus int
		wantMsg    string
	}{
		{awserr.Errorf("RepositoryNotFoundException", "no %s", "x"), "RepositoryNotFoundException", 400, "no x"},
		{&awserr.Error{Type: "LimitExceededException", Message: "m"}, "LimitExceededException", 400, "m"},
		{awserr.Server(awserr.ServerException), awserr.ServerException, 500, awserr.ServerMessage},
		{fmt.Errorf("wrapped: %w", awserr.Errorf(awserr.ValidationException, "v")), awserr.ValidationException, 400, "v"},
		{errors.New("internal detail"), awserr.ServerException, 500, awserr.ServerMessage},
		{&awserr.Error{Message: "no type"}, awserr.ServerException, 500, awserr.ServerMessage},
		{fmt.Errorf("reading: %w", indexDown), awserr.ServerException, 503, awserr.UnavailableMessage},
		{fmt.Errorf("reading: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), awserr.ServerException, 503, awserr.UnavailableMessage},
		{&pgconn.PgError{Code: "23505", Message: "duplicate key"}, awserr.ServerException, 500, awserr.ServerMessage},
		// An error already in an AWS form keeps it, whatever it wraps.
		{awserr.Errorf("RepositoryNotFoundException", "gone").WithCause(indexDown), "RepositoryNotFoundException", 400, "gone"},
	}
	for _, tt := range tests {
		e, _ := asAWS(tt.err, awserr.ServerException)
		if e.Type != tt.wantType || e.HTTPStatus() != tt.wantStatus || e.Message != tt.wantMsg {
			t.Errorf("asAWS(%v) = %+v, want %s %d %q", tt.err, e, tt.wantType, tt.wantStatus, tt.wantMsg)
		}
	}
	// CloudWatch Logs' one server fault is ServiceUnavailableException.
	if e, internal := asAWS(indexDown, "ServiceUnavailableException"); e.Type != "ServiceUnavailableException" || e.HTTPStatus() != 503 || !internal {
		t.Errorf("asAWS(index down) for Logs = %+v, %v; want ServiceUnavailableException 503, logged", e, internal)
	}
}

// indexDown is what the PostgreSQL index returns while it is down: a
// refused connection, its text naming the server.
var indexDown = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("postgres at 127.0.0.1:5432: connection refused")}

// frontFor serves svc behind a front door whose every service is
// authenticated by auth (nil: not at all).
func frontFor(svc *Service, auth Authenticator) http.Handler {
	var authn func(string) Authenticator
	if auth != nil {
		authn = func(string) Authenticator { return auth }
	}
	mux := http.NewServeMux()
	NewFront(mux, authn, discardLogger()).JSON(svc)
	return mux
}
