package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/awserr"
)

type invokeInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	Qualifier    *string `json:"-" query:"Qualifier"`
	LogType      string  `json:"-" header:"X-Amz-Log-Type"`
	MaxItems     *int32  `json:"-" query:"MaxItems"`
	DryRun       bool    `json:"-" query:"DryRun"`
	Memory       int     `json:"MemorySize"`
}

type created struct {
	Name string `json:"name"`
}

func (created) StatusCode() int { return http.StatusCreated }

type deleted struct{}

func (deleted) StatusCode() int { return http.StatusNoContent }

func TestRESTService(t *testing.T) {
	var logs bytes.Buffer
	svc := NewRESTService("lambda", WithMaxBodyBytes(1024), WithServerFault("ServiceException"),
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	HandleREST(svc, "POST /2015-03-31/functions/{FunctionName}/echo", "Echo", func(ctx context.Context, in *invokeInput) (*invokeInput, error) {
		return in, nil
	})
	HandleREST(svc, "GET /2015-03-31/functions/{FunctionName}/echo", "EchoGet", func(ctx context.Context, in *invokeInput) (*struct {
		Name      string  `json:"name"`
		Qualifier *string `json:"qualifier,omitempty"`
		LogType   string  `json:"logType"`
		MaxItems  *int32  `json:"maxItems,omitempty"`
		DryRun    bool    `json:"dryRun"`
	}, error) {
		return &struct {
			Name      string  `json:"name"`
			Qualifier *string `json:"qualifier,omitempty"`
			LogType   string  `json:"logType"`
			MaxItems  *int32  `json:"maxItems,omitempty"`
			DryRun    bool    `json:"dryRun"`
		}{in.FunctionName, in.Qualifier, in.LogType, in.MaxItems, in.DryRun}, nil
	})
	HandleREST(svc, "POST /2015-03-31/functions", "Create", func(ctx context.Context, in *struct{}) (*created, error) {
		return &created{Name: "f"}, nil
	})
	HandleREST(svc, "DELETE /2015-03-31/functions/{FunctionName}", "Delete", func(ctx context.Context, in *struct{}) (*deleted, error) {
		return &deleted{}, nil
	})
	HandleREST(svc, "GET /2015-03-31/functions/{FunctionName}/boom", "Boom", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return nil, errors.New("docker engine unreachable at /var/run/secret.sock")
	})
	HandleREST(svc, "GET /2015-03-31/functions/{FunctionName}/index-down", "IndexDown", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return nil, fmt.Errorf("reading function: %w", indexDown)
	})
	HandleRESTFunc(svc, "POST /2015-03-31/functions/{FunctionName}/invocations", "Invoke", func(w http.ResponseWriter, r *http.Request) error {
		if Operation(r.Context()) != "Invoke" || RequestID(r.Context()) == "" {
			return errors.New("no operation or request id in the context")
		}
		payload, _ := io.ReadAll(r.Body)
		if string(payload) == "fail" {
			return awserr.New("TooManyRequestsException", http.StatusTooManyRequests, "Rate exceeded").WithHeader("Retry-After", "1")
		}
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		w.Write(append([]byte(r.PathValue("FunctionName")+":"), payload...))
		return nil
	})
	mux := http.NewServeMux()
	NewFront(mux, nil, nil).REST(svc)

	tests := []struct {
		name, method, path, body string
		header                   map[string]string
		wantCode                 int
		wantType                 string // error type; "" for success
		wantBody                 string // success body
	}{
		{name: "bound from path, query and header", method: "GET", path: "/2015-03-31/functions/fn/echo?Qualifier=prod&MaxItems=5&DryRun=true",
			header: map[string]string{"X-Amz-Log-Type": "Tail"}, wantCode: 200,
			wantBody: `{"name":"fn","qualifier":"prod","logType":"Tail","maxItems":5,"dryRun":true}`},
		{name: "absent members stay unset", method: "GET", path: "/2015-03-31/functions/fn/echo", wantCode: 200,
			wantBody: `{"name":"fn","logType":"","dryRun":false}`},
		{name: "body and path together", method: "POST", path: "/2015-03-31/functions/fn/echo", body: `{"MemorySize":128}`, wantCode: 200,
			wantBody: `{"MemorySize":128}`},
		{name: "bad integer", method: "GET", path: "/2015-03-31/functions/fn/echo?MaxItems=lots", wantCode: 400, wantType: awserr.SerializationException},
		{name: "integer overflow", method: "GET", path: "/2015-03-31/functions/fn/echo?MaxItems=99999999999", wantCode: 400, wantType: awserr.SerializationException},
		{name: "bad json", method: "POST", path: "/2015-03-31/functions/fn/echo", body: `{"MemorySize":"x"}`, wantCode: 400, wantType: awserr.SerializationException},
		{name: "too large", method: "POST", path: "/2015-03-31/functions/fn/echo", body: strings.Repeat(" ", 2000), wantCode: 400, wantType: awserr.ValidationException},
		{name: "created", method: "POST", path: "/2015-03-31/functions", wantCode: 201, wantBody: `{"name":"f"}`},
		{name: "no content", method: "DELETE", path: "/2015-03-31/functions/fn", wantCode: 204, wantBody: ``},
		{name: "server fault", method: "GET", path: "/2015-03-31/functions/fn/boom", wantCode: 500, wantType: "ServiceException"},
		{name: "index unreachable", method: "GET", path: "/2015-03-31/functions/fn/index-down", wantCode: 503, wantType: "ServiceException"},
		{name: "raw payload", method: "POST", path: "/2015-03-31/functions/fn/invocations", body: `{"raw":true}`, wantCode: 200, wantBody: `fn:{"raw":true}`},
		{name: "raw error", method: "POST", path: "/2015-03-31/functions/fn/invocations", body: `fail`, wantCode: 429, wantType: "TooManyRequestsException"},
		{name: "unknown path", method: "GET", path: "/2015-03-31/layers", wantCode: 400, wantType: awserr.UnknownOperationException},
		{name: "unknown method", method: "PATCH", path: "/2015-03-31/functions/fn", wantCode: 400, wantType: awserr.UnknownOperationException},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			if w.Code != tt.wantCode {
				t.Errorf("status = %d, want %d (%s)", w.Code, tt.wantCode, w.Body)
			}
			if len(w.Header().Get("x-amzn-RequestId")) != 36 {
				t.Errorf("x-amzn-RequestId = %q", w.Header().Get("x-amzn-RequestId"))
			}
			if tt.wantType == "" {
				if w.Body.String() != tt.wantBody {
					t.Errorf("body = %s, want %s", w.Body, tt.wantBody)
				}
				return
			}
			var e map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e["__type"] != tt.wantType || e["message"] == "" {
				t.Errorf("error body = %s, want __type %s", w.Body, tt.wantType)
			}
			if got := w.Header().Get("X-Amzn-ErrorType"); got != tt.wantType {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tt.wantType)
			}
			if tt.wantCode == 429 && w.Header().Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q", w.Header().Get("Retry-After"))
			}
			if tt.wantCode >= 500 {
				if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "postgres") {
					t.Errorf("%d body leaks the cause: %s", tt.wantCode, w.Body)
				}
				if !strings.Contains(logs.String(), w.Header().Get("x-amzn-RequestId")) {
					t.Errorf("server fault not logged with its request id: %s", logs.String())
				}
			}
		})
	}
}

func TestRESTWiringBugsPanic(t *testing.T) {
	for name, register := range map[string]func(){
		"no method": func() {
			HandleREST(NewRESTService("batch"), "/v1/submitjob", "SubmitJob", func(ctx context.Context, in *struct{}) (*struct{}, error) { return nil, nil })
		},
		"wildcard first": func() {
			HandleREST(NewRESTService("batch"), "POST /{version}/submitjob", "SubmitJob", func(ctx context.Context, in *struct{}) (*struct{}, error) { return nil, nil })
		},
		"unbindable field": func() {
			HandleREST(NewRESTService("batch"), "POST /v1/submitjob", "SubmitJob", func(ctx context.Context, in *struct {
				Tags []string `query:"tags"`
			}) (*struct{}, error) {
				return nil, nil
			})
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			register()
		}()
	}
}

// A service may answer a body over its limit with its own error, as
// Lambda answers 413 RequestTooLargeException.
func TestRESTBodyTooLarge(t *testing.T) {
	svc := NewRESTService("lambda", WithMaxBodyBytes(10),
		WithBodyTooLarge(awserr.New("RequestTooLargeException", http.StatusRequestEntityTooLarge, "Request must be smaller than 10 bytes.")))
	HandleRESTFunc(svc, "POST /2015-03-31/functions/{FunctionName}/invocations", "Invoke", func(w http.ResponseWriter, r *http.Request) error {
		return nil
	})
	mux := http.NewServeMux()
	NewFront(mux, nil, nil).REST(svc)
	for _, chunked := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/2015-03-31/functions/fn/invocations", strings.NewReader(strings.Repeat("x", 11)))
		if chunked {
			r.ContentLength = -1
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("X-Amzn-ErrorType") != "RequestTooLargeException" {
			t.Errorf("chunked %v: %d %s %s", chunked, w.Code, w.Header().Get("X-Amzn-ErrorType"), w.Body)
		}
	}
}
