package lambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
)

func TestParseRuntimeCall(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         runtimeCall
		err          *runtimeError
	}{
		{"GET", "/2018-06-01/runtime/invocation/next", runtimeCall{kind: callNext}, nil},
		{"POST", "/2018-06-01/runtime/invocation/8f5e-11/response", runtimeCall{kind: callResponse, requestID: "8f5e-11"}, nil},
		{"POST", "/2018-06-01/runtime/invocation/abc/error", runtimeCall{kind: callError, requestID: "abc"}, nil},
		{"POST", "/2018-06-01/runtime/init/error", runtimeCall{kind: callInitError}, nil},
		{"POST", "/2018-06-01/runtime/invocation/next", runtimeCall{}, errMethod},
		{"GET", "/2018-06-01/runtime/invocation/abc/response", runtimeCall{}, errMethod},
		{"GET", "/2018-06-01/runtime/init/error", runtimeCall{}, errMethod},
		{"POST", "/2018-06-01/runtime/invocation//response", runtimeCall{}, errNotFound},
		{"POST", "/2018-06-01/runtime/invocation/a.b/response", runtimeCall{}, errNotFound},
		{"POST", "/2018-06-01/runtime/invocation/abc/response/x", runtimeCall{}, errNotFound},
		{"POST", "/2018-06-01/runtime/invocation/abc/other", runtimeCall{}, errNotFound},
		{"POST", "/2018-06-01/runtime/invocation/abc", runtimeCall{}, errNotFound},
		{"GET", "/2020-01-01/runtime/invocation/next", runtimeCall{}, errNotFound},
		{"GET", "/2018-06-01/extension/register", runtimeCall{}, errNotFound},
		{"POST", "/2018-06-01/runtime/invocation/" + strings.Repeat("a", 65) + "/response", runtimeCall{}, errNotFound},
	} {
		got, err := parseRuntimeCall(tc.method, tc.path)
		if got != tc.want || (tc.err == nil) != (err == nil) || (tc.err != nil && err != tc.err) {
			t.Errorf("parseRuntimeCall(%s %s) = %+v, %v; want %+v, %v", tc.method, tc.path, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseRuntimeCall(f *testing.F) {
	for _, p := range []string{"/2018-06-01/runtime/invocation/next", "/2018-06-01/runtime/invocation/abc-1/response",
		"/2018-06-01/runtime/invocation/x/error", "/2018-06-01/runtime/init/error", "/2018-06-01/runtime/invocation//", "/"} {
		f.Add("GET", p)
		f.Add("POST", p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		call, err := parseRuntimeCall(method, path)
		if err != nil {
			if call != (runtimeCall{}) {
				t.Fatalf("an error with a call: %+v", call)
			}
			return
		}
		// What is accepted is one of four calls, with the method each
		// needs and a request id exactly where the path has it.
		switch call.kind {
		case callNext:
			if method != "GET" || path != runtimeAPIBase+"invocation/next" || call.requestID != "" {
				t.Fatalf("%s %s → %+v", method, path, call)
			}
		case callInitError:
			if method != "POST" || path != runtimeAPIBase+"init/error" || call.requestID != "" {
				t.Fatalf("%s %s → %+v", method, path, call)
			}
		case callResponse, callError:
			what := map[callKind]string{callResponse: "response", callError: "error"}[call.kind]
			if method != "POST" || !validRequestID(call.requestID) || path != runtimeAPIBase+"invocation/"+call.requestID+"/"+what {
				t.Fatalf("%s %s → %+v", method, path, call)
			}
		default:
			t.Fatalf("%s %s → unknown kind %+v", method, path, call)
		}
	})
}

// fakeRuntime is an environment with no container: the test is its
// runtime, calling the Runtime API over HTTP.
type fakeRuntime struct {
	t   *testing.T
	e   *environment
	url string
}

func newFakeRuntime(t *testing.T, timeout time.Duration) *fakeRuntime {
	r := NewRunner(nil, RunnerConfig{})
	e := r.newEnvironment(Version{Name: "fn", Version: "$LATEST", Timeout: timeout, MemorySize: 128}, poolKey{})
	e.started = time.Now()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &fakeRuntime{t: t, e: e, url: srv.URL + runtimeAPIBase}
}

// start invokes payload in the background and returns the outcome's channel.
func (f *fakeRuntime) start(payload string) (*invocation, chan outcome) {
	return f.startRequest(Request{Payload: []byte(payload), FunctionARN: "arn:fn"})
}

func (f *fakeRuntime) startRequest(req Request) (*invocation, chan outcome) {
	inv := &invocation{id: launcher.NewUUID(), req: req, traceID: traceID(time.Now(), launcher.NewID()), done: make(chan outcome, 1)}
	res := make(chan outcome, 1)
	go func() {
		out, _ := f.e.invoke(inv)
		res <- out
	}()
	return inv, res
}

// next is the runtime's GET /next: the request id and the payload.
func (f *fakeRuntime) next() (string, string, http.Header) {
	f.t.Helper()
	resp, err := http.Get(f.url + "invocation/next")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("next: %s %s", resp.Status, body)
	}
	return resp.Header.Get(hdrRequestID), string(body), resp.Header
}

// post posts body to path and returns the status and what came back.
func (f *fakeRuntime) post(path string, body io.Reader, header, trailer http.Header) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.url+path, body)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Trailer = trailer
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wait returns the invocation's outcome.
func wait(t *testing.T, res chan outcome) outcome {
	t.Helper()
	select {
	case out := <-res:
		return out
	case <-time.After(time.Minute):
		t.Fatal("no outcome")
		return outcome{}
	}
}

// trailerReader fills trailer when its body is read to the end, as
// aws-lambda-go's error-capturing reader does when a response fails while
// it streams.
type trailerReader struct {
	r       io.Reader
	trailer http.Header
	typ     string
	doc     string
}

func (tr *trailerReader) Read(p []byte) (int, error) {
	n, err := tr.r.Read(p)
	if err == io.EOF {
		tr.trailer.Set(hdrErrorType, tr.typ)
		tr.trailer.Set(hdrErrorBody, base64.StdEncoding.EncodeToString([]byte(tr.doc)))
	}
	return n, err
}

func TestRuntimeAPIHeadersAndResponse(t *testing.T) {
	f := newFakeRuntime(t, 3*time.Second)
	inv, res := f.startRequest(Request{Payload: []byte(`{"a":1}`), FunctionARN: "arn:fn", ClientContext: `{"custom":{"k":"v"}}`})
	id, body, h := f.next()
	if id != inv.id || body != `{"a":1}` || h.Get(hdrFunctionARN) != "arn:fn" || h.Get(hdrTraceID) != inv.traceID ||
		!strings.HasPrefix(inv.traceID, "Root=1-") || h.Get(hdrClientContext) != `{"custom":{"k":"v"}}` || h.Get("Content-Type") != "application/json" {
		t.Errorf("next = %s %s %v", id, body, h)
	}
	deadline, err := strconv.ParseInt(h.Get(hdrDeadline), 10, 64)
	if left := time.Until(time.UnixMilli(deadline)); err != nil || left > 3*time.Second || left <= 0 {
		t.Errorf("deadline %s is %v away; want within the 3 s timeout", h.Get(hdrDeadline), left)
	}
	// A chunked body, as aws-lambda-go sends it, with its trailers declared
	// and empty.
	trailer := http.Header{hdrErrorType: nil, hdrErrorBody: nil}
	if code, got := f.post("invocation/"+id+"/response", io.MultiReader(strings.NewReader(`{"ok"`), strings.NewReader(`:true}`)), nil, trailer); code != http.StatusAccepted || got != `{"status":"OK"}` {
		t.Fatalf("response: %d %s", code, got)
	}
	if out := wait(t, res); string(out.payload) != `{"ok":true}` || out.errorType != "" {
		t.Errorf("outcome = %+v", out)
	}
	// The answer counts once.
	if code, got := f.post("invocation/"+id+"/response", strings.NewReader(`2`), nil, nil); code != http.StatusForbidden || !strings.Contains(got, "InvalidStateTransition") {
		t.Errorf("a second response: %d %s", code, got)
	}
	if code, got := f.post("invocation/not-the-one/response", strings.NewReader(`2`), nil, nil); code != http.StatusBadRequest || !strings.Contains(got, "InvalidRequestID") {
		t.Errorf("a response for another id: %d %s", code, got)
	}
	if code, got := f.post("init/error", strings.NewReader(`{}`), nil, nil); code != http.StatusForbidden {
		t.Errorf("init/error after init: %d %s", code, got)
	}
}

// A response that fails while it streams reports its error in trailers.
func TestRuntimeAPIStreamedError(t *testing.T) {
	f := newFakeRuntime(t, 3*time.Second)
	_, res := f.start(`1`)
	id, _, _ := f.next()
	trailer := http.Header{hdrErrorType: nil, hdrErrorBody: nil}
	doc := `{"errorMessage":"broken pipe","errorType":"Runtime.StreamError"}`
	body := &trailerReader{r: strings.NewReader(`{"partial":`), trailer: trailer, typ: "Runtime.StreamError", doc: doc}
	if code, got := f.post("invocation/"+id+"/response", body, nil, trailer); code != http.StatusAccepted {
		t.Fatalf("response: %d %s", code, got)
	}
	if out := wait(t, res); out.errorType != "Runtime.StreamError" || string(out.payload) != doc {
		t.Errorf("outcome = %s (%s); want the trailer's error", out.payload, out.errorType)
	}
}

// An /error post is the function's error, typed by its header or by its
// document.
func TestRuntimeAPIError(t *testing.T) {
	for _, tc := range []struct {
		header, body, want string
	}{
		{"", `{"errorMessage":"x","errorType":"errorString"}`, "errorString"},
		{"Custom.Error", `{"errorMessage":"x","errorType":"errorString"}`, "Custom.Error"},
		{"", `not json`, "Runtime.Unknown"},
	} {
		f := newFakeRuntime(t, 3*time.Second)
		_, res := f.start(`1`)
		id, _, _ := f.next()
		h := http.Header{}
		if tc.header != "" {
			h.Set(hdrErrorType, tc.header)
		}
		if code, got := f.post("invocation/"+id+"/error", strings.NewReader(tc.body), h, nil); code != http.StatusAccepted {
			t.Fatalf("error: %d %s", code, got)
		}
		if out := wait(t, res); out.errorType != tc.want || string(out.payload) != tc.body {
			t.Errorf("%q %s: outcome = %s (%s); want %s", tc.header, tc.body, out.payload, out.errorType, tc.want)
		}
	}
}

// A response after the deadline is refused, and the invocation is
// Sandbox.Timedout.
func TestRuntimeAPINoResponseAfterDeadline(t *testing.T) {
	f := newFakeRuntime(t, 200*time.Millisecond)
	_, res := f.start(`1`)
	id, _, _ := f.next()
	out := wait(t, res)
	if out.errorType != "Sandbox.Timedout" || !bytes.Contains(out.payload, []byte("Task timed out after 0.20 seconds")) {
		t.Errorf("outcome = %s", out.payload)
	}
	if code, got := f.post("invocation/"+id+"/response", strings.NewReader(`"late"`), nil, nil); code != http.StatusForbidden {
		t.Errorf("a response after the deadline: %d %s; want 403", code, got)
	}
}

// A response over 6 MB is refused with 413, and the caller gets
// Function.ResponseSizeTooLarge.
func TestRuntimeAPIResponseTooLarge(t *testing.T) {
	f := newFakeRuntime(t, 10*time.Second)
	_, res := f.start(`1`)
	id, _, _ := f.next()
	code, got := f.post("invocation/"+id+"/response", bytes.NewReader(make([]byte, MaxPayload+1)), nil, nil)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(got, "RequestEntityTooLarge") {
		t.Errorf("response: %d %s", code, got)
	}
	if out := wait(t, res); out.errorType != "Function.ResponseSizeTooLarge" {
		t.Errorf("outcome = %s", out.payload)
	}
}

// An init error before the first /next fails the waiting invocation with
// the runtime's document.
func TestRuntimeAPIInitError(t *testing.T) {
	f := newFakeRuntime(t, 3*time.Second)
	_, res := f.start(`1`)
	h := http.Header{}
	h.Set(hdrErrorType, "Runtime.ImportModuleError")
	doc := `{"errorMessage":"Unable to import module","errorType":"Runtime.ImportModuleError"}`
	if code, got := f.post("init/error", strings.NewReader(doc), h, nil); code != http.StatusAccepted {
		t.Fatalf("init/error: %d %s", code, got)
	}
	if out := wait(t, res); out.errorType != "Runtime.ImportModuleError" || string(out.payload) != doc {
		t.Errorf("outcome = %s (%s)", out.payload, out.errorType)
	}
}

func TestReportLine(t *testing.T) {
	r := report{requestID: "id", duration: 1234567 * time.Nanosecond, init: 80 * time.Millisecond, memorySize: 512, maxMemory: 30<<20 + 1}
	want := "REPORT RequestId: id\tDuration: 1.23 ms\tBilled Duration: 82 ms\tMemory Size: 512 MB\tMax Memory Used: 31 MB\tInit Duration: 80.00 ms\t"
	if got := r.line(); got != want {
		t.Errorf("line = %q; want %q", got, want)
	}
	if got := (Observation{MemorySize: r.memorySize, Billed: r.billed()}).GBSeconds(); got != 0.5*0.082 {
		t.Errorf("GBSeconds = %v", got)
	}
	r = report{requestID: "id", duration: 3 * time.Second, memorySize: 128, status: "timeout"}
	if got := r.line(); !strings.HasSuffix(got, "Billed Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 0 MB\tStatus: timeout\t") {
		t.Errorf("timeout line = %q", got)
	}
	r.status = "Runtime.ExitError"
	if got := r.line(); !strings.HasSuffix(got, "Status: error\tError Type: Runtime.ExitError\t") {
		t.Errorf("exit line = %q", got)
	}
}

func TestErrorDocument(t *testing.T) {
	var got map[string]string
	if err := json.Unmarshal(errorDocument("A.B", `quote " and \ `), &got); err != nil || got["errorType"] != "A.B" || got["errorMessage"] != `quote " and \ ` {
		t.Errorf("errorDocument = %v, %v", got, err)
	}
}
