package awsjson

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
)

// ContentType is the media type of AWS JSON 1.1 requests and responses.
const ContentType = "application/x-amz-json-1.1"

// contentType10 is accepted on requests too: both protocol versions share the
// same body rules, and AWS front doors take either.
const contentType10 = "application/x-amz-json-1.0"

// DefaultMaxBodyBytes bounds a request body. The largest ECR input that goes
// through the control plane is UploadLayerPart, whose base64 blob berth does
// not expect to be large; lifecycle and repository policies are far smaller.
const DefaultMaxBodyBytes = 8 << 20

// Authenticator checks a request before its body is decoded. body is the exact
// bytes received (SigV4 hashes them). It returns the context the operation
// runs with (carrying the principal) or an error; an error that implements
// [APIError] is sent in that form, any other error as a ServerException.
type Authenticator func(r *http.Request, body []byte) (context.Context, error)

// Option configures a [Service].
type Option func(*Service)

// WithAuthenticate installs the authentication hook. Without it every request
// is served with the request's own context.
func WithAuthenticate(fn Authenticator) Option { return func(s *Service) { s.authenticate = fn } }

// WithMaxBodyBytes sets the request body limit; n <= 0 keeps the default.
func WithMaxBodyBytes(n int64) Option {
	return func(s *Service) {
		if n > 0 {
			s.maxBody = n
		}
	}
}

// WithLogger sets the logger for server faults; the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.log = l
		}
	}
}

// operation decodes a body and runs one handler.
type operation func(ctx context.Context, body []byte) (any, error)

// Service is an http.Handler for one AWS JSON 1.1 API, identified by its
// target prefix (e.g. "AmazonEC2ContainerRegistry_V20150921"). Register
// operations with [Handle] before serving; registration is not safe to run
// concurrently with ServeHTTP.
type Service struct {
	prefix       string
	ops          map[string]operation
	authenticate Authenticator
	maxBody      int64
	log          *slog.Logger
}

// NewService returns a Service for the API whose X-Amz-Target values are
// "<targetPrefix>.<Action>".
func NewService(targetPrefix string, opts ...Option) *Service {
	s := &Service{
		prefix:  targetPrefix,
		ops:     make(map[string]operation),
		maxBody: DefaultMaxBodyBytes,
		log:     slog.Default(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Handle registers fn as the operation action of svc. The request body is
// decoded into a new In (an empty body reads as {}); a nil *Out is sent as {}.
// Errors fn returns go through the service's one error writer: return
// [*Error] or another [APIError] for client errors; anything else becomes a
// ServerException whose cause is only logged. Like http.ServeMux, Handle
// panics on an empty or duplicate action, which is a wiring bug.
func Handle[In, Out any](svc *Service, action string, fn func(ctx context.Context, in *In) (*Out, error)) {
	if action == "" || strings.Contains(action, ".") {
		panic(fmt.Sprintf("awsjson: invalid action name %q", action))
	}
	if _, dup := svc.ops[action]; dup {
		panic(fmt.Sprintf("awsjson: action %s.%s registered twice", svc.prefix, action))
	}
	svc.ops[action] = func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := decode(body, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return struct{}{}, nil
		}
		return out, nil
	}
}

// Matches reports whether r is addressed to this service: POST / with an
// X-Amz-Target of this service's prefix. The top-level router uses it.
func (s *Service) Matches(r *http.Request) bool {
	if r.Method != http.MethodPost || (r.URL.Path != "/" && r.URL.Path != "") {
		return false
	}
	prefix, _, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	return ok && prefix == s.prefix
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	operationKey
)

// RequestID returns the x-amzn-RequestId of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// Operation returns the action name (e.g. "CreateRepository") of the request
// ctx belongs to, or "". It is set before the authentication hook runs, so
// authorization can map it to an IAM action such as ecr:CreateRepository.
func Operation(ctx context.Context) string {
	op, _ := ctx.Value(operationKey).(string)
	return op
}

// ServeHTTP serves one AWS JSON 1.1 call. Every response, error or not,
// carries x-amzn-RequestId and the AWS JSON content type.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("x-amzn-RequestId", id)
	ctx := context.WithValue(r.Context(), requestIDKey, id)

	out, err := s.serve(ctx, w, r)
	if err != nil {
		s.writeError(ctx, w, err)
		return
	}
	body, err := json.Marshal(out)
	if err != nil {
		s.writeError(ctx, w, fmt.Errorf("marshal %s output: %w", Operation(ctx), err))
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// serve checks, authenticates, decodes and runs one request.
func (s *Service) serve(ctx context.Context, w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, &Error{Type: TypeUnknownOperation, Message: "Only POST is supported.", Status: http.StatusMethodNotAllowed}
	}
	prefix, action, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if !ok || prefix != s.prefix || action == "" {
		return nil, Errorf(TypeUnknownOperation, "The X-Amz-Target header does not name an operation of %s.", s.prefix)
	}
	ctx = context.WithValue(ctx, operationKey, action)
	// Coral-style services pick the operation by content type and target
	// together, so a request in another media type is an unknown operation.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != ContentType && mt != contentType10) {
		return nil, Errorf(TypeUnknownOperation, "Content-Type must be %s.", ContentType)
	}
	body, err := s.readBody(r)
	if err != nil {
		return nil, err
	}
	if s.authenticate != nil {
		actx, err := s.authenticate(r.WithContext(ctx), body)
		if err != nil {
			return nil, err
		}
		if actx != nil {
			ctx = actx
		}
	}
	op, ok := s.ops[action]
	if !ok {
		return nil, Errorf(TypeUnknownOperation, "The operation %s is not supported by %s.", action, s.prefix)
	}
	return op(ctx, body)
}

// readBody reads at most maxBody bytes. AWS JSON services answer an oversized
// body with a 400 ValidationException, not a bare 413, so SDKs surface it as
// a typed API error rather than a transport failure.
func (s *Service) readBody(r *http.Request) ([]byte, error) {
	tooBig := ValidationError("Request body exceeds the maximum size of %d bytes.", s.maxBody)
	if r.ContentLength > s.maxBody {
		return nil, tooBig
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		return nil, SerializationError("The request body could not be read.")
	}
	if int64(len(body)) > s.maxBody {
		return nil, tooBig
	}
	return body, nil
}

// decode reads an AWS JSON object into in. An empty body is {}; null is {};
// unknown members are ignored; anything else that is not one JSON value of
// the input's shape is a SerializationException.
func decode(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(in); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return SerializationError("Unexpected content after the JSON document.")
	}
	return nil
}

// decodeError describes a JSON error without Go type names.
func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return SerializationError("Malformed JSON at offset %d.", syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return SerializationError("Unexpected JSON %s for member %s.", typ.Value, typ.Field)
	case errors.As(err, &typ):
		return SerializationError("Unexpected JSON %s; the request must be a JSON object.", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return SerializationError("Unexpected end of the JSON document.")
	default:
		// Errors from member types' UnmarshalJSON (e.g. Time) are ours and
		// carry no internals.
		var ae APIError
		if errors.As(err, &ae) {
			return ae
		}
		return SerializationError("The request body is not a valid JSON document for this operation.")
	}
}

// headerer is an optional ability of an error: response headers to send
// with it, such as Retry-After.
type headerer interface{ Header() http.Header }

// writeError is the one place an error becomes a response.
func (s *Service) writeError(ctx context.Context, w http.ResponseWriter, err error) {
	body, status, internal := toWire(err)
	if internal || status >= 500 {
		s.log.ErrorContext(ctx, "aws json request failed",
			"request_id", RequestID(ctx), "service", s.prefix, "operation", Operation(ctx), "error", err)
	}
	b, _ := json.Marshal(body) // two strings: cannot fail
	var h headerer
	if errors.As(err, &h) {
		for k, vs := range h.Header() {
			w.Header()[k] = vs
		}
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newRequestID returns a random UUID (version 4) in its usual text form.
func newRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}
