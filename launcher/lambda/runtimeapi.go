package lambda

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Runtime API a function's runtime talks to, one server per execution
// environment (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
// Its base path is fixed; AWS_LAMBDA_RUNTIME_API holds only host:port.
const runtimeAPIBase = "/2018-06-01/runtime/"

// Headers of the Runtime API.
const (
	hdrRequestID     = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline      = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN   = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID       = "Lambda-Runtime-Trace-Id"
	hdrClientContext = "Lambda-Runtime-Client-Context"
	hdrCognito       = "Lambda-Runtime-Cognito-Identity"
	// hdrErrorType names the error of /error and /init/error posts; it is
	// also a trailer of a /response that failed while it streamed, with
	// hdrErrorBody (base64 of the error document) beside it.
	hdrErrorType = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// MaxPayload is the largest synchronous invocation payload, request or
// response: 6 MB.
const MaxPayload = 6 << 20

// maxErrorBody bounds an error document a runtime posts.
const maxErrorBody = 1 << 20

// runtimeCall is one Runtime API call: what it is and, for /response and
// /error, the request id it names.
type runtimeCall struct {
	kind      callKind
	requestID string
}

type callKind int

const (
	callNext      callKind = iota + 1 // GET  invocation/next
	callResponse                      // POST invocation/{id}/response
	callError                         // POST invocation/{id}/error
	callInitError                     // POST init/error
)

// runtimeError is a Runtime API refusal: its status and the document the
// runtime gets, {"errorMessage","errorType"}.
type runtimeError struct {
	status  int
	typ     string
	message string
}

func (e *runtimeError) Error() string { return e.typ + ": " + e.message }

var (
	errNotFound         = &runtimeError{http.StatusNotFound, "NotFound", "The Runtime API has no such resource."}
	errMethod           = &runtimeError{http.StatusMethodNotAllowed, "MethodNotAllowed", "The Runtime API does not allow this method here."}
	errInvalidRequestID = &runtimeError{http.StatusBadRequest, "InvalidRequestID", "Invalid request ID"}
	errStateTransition  = &runtimeError{http.StatusForbidden, "InvalidStateTransition", "State transition from the current state is not allowed."}
	errTooLarge         = &runtimeError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
		"Exceeded maximum allowed payload size (" + strconv.Itoa(MaxPayload) + " bytes)."}
)

// parseRuntimeCall tells which Runtime API call method and path make. A
// request id is what the path says between "invocation/" and the last
// segment; it must be one berth could have made (letters, digits, '-').
func parseRuntimeCall(method, path string) (runtimeCall, error) {
	rest, ok := strings.CutPrefix(path, runtimeAPIBase)
	if !ok {
		return runtimeCall{}, errNotFound
	}
	want := http.MethodPost
	var call runtimeCall
	switch {
	case rest == "invocation/next":
		call, want = runtimeCall{kind: callNext}, http.MethodGet
	case rest == "init/error":
		call = runtimeCall{kind: callInitError}
	case strings.HasPrefix(rest, "invocation/"):
		id, what, ok := strings.Cut(strings.TrimPrefix(rest, "invocation/"), "/")
		if !ok || !validRequestID(id) {
			return runtimeCall{}, errNotFound
		}
		switch what {
		case "response":
			call = runtimeCall{kind: callResponse, requestID: id}
		case "error":
			call = runtimeCall{kind: callError, requestID: id}
		default:
			return runtimeCall{}, errNotFound
		}
	default:
		return runtimeCall{}, errNotFound
	}
	if method != want {
		return runtimeCall{}, errMethod
	}
	return call, nil
}

// validRequestID reports whether id could be a request id: 1 to 64
// letters, digits and dashes.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// readPayload reads a posted body of at most limit bytes, chunked or not.
// aws-lambda-go streams its responses chunked and declares the error
// trailers, which net/http fills in once the body is read to its end.
func readPayload(r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errTooLarge
	}
	return body, nil
}

// streamedError returns the function error a /response's trailers
// report (a runtime whose response failed while it streamed), if any: its
// type and its document, decoded from base64 or made from the type.
func streamedError(trailer http.Header) (typ string, doc []byte, ok bool) {
	typ = trailer.Get(hdrErrorType)
	if typ == "" {
		return "", nil, false
	}
	doc, err := base64.StdEncoding.DecodeString(trailer.Get(hdrErrorBody))
	if err != nil || !json.Valid(doc) {
		doc = errorDocument(typ, "The function's response failed while it was streamed.")
	}
	return typ, doc, true
}

// errorType is the errorType of a function error: the header when the
// runtime sent one, else the document's own member, else
// "Runtime.Unknown".
func errorType(header string, doc []byte) string {
	if header != "" {
		return header
	}
	var e struct {
		Type string `json:"errorType"`
	}
	if json.Unmarshal(doc, &e) == nil && e.Type != "" {
		return e.Type
	}
	return "Runtime.Unknown"
}

// errorDocument is the document Lambda sends for an error it makes
// itself: {"errorMessage","errorType"}.
func errorDocument(typ, message string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{message, typ})
	return b
}

// writeRuntimeError answers a Runtime API call with err.
func writeRuntimeError(w http.ResponseWriter, err error) {
	var re *runtimeError
	if !errors.As(err, &re) {
		re = &runtimeError{http.StatusInternalServerError, "ServerError", err.Error()}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(re.status)
	w.Write(errorDocument(re.typ, re.message))
}

// writeAccepted answers a /response or /error post the Runtime API took.
func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// writeInvocation answers /next with inv: the event and its headers.
func writeInvocation(w http.ResponseWriter, inv *invocation) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(hdrRequestID, inv.id)
	h.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(hdrFunctionARN, inv.req.FunctionARN)
	h.Set(hdrTraceID, inv.traceID)
	if inv.req.ClientContext != "" {
		h.Set(hdrClientContext, inv.req.ClientContext)
	}
	h.Set("Content-Length", strconv.Itoa(len(inv.req.Payload)))
	w.WriteHeader(http.StatusOK)
	w.Write(inv.req.Payload)
}

// traceID makes an X-Ray trace header for an invocation at t: a root id
// of the time and 96 random bits, not sampled.
func traceID(t time.Time, random string) string {
	return "Root=1-" + strconv.FormatInt(t.Unix(), 16) + "-" + random[:24] + ";Sampled=0"
}
