package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/internal/awserr"
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
// runs with (carrying the principal) or an error; an [*awserr.Error] is sent
// in that form, any other error as the service's server fault. The [Front]
// makes one per service, for the service's signing name.
type Authenticator = func(r *http.Request, body []byte) (context.Context, error)

// settings are what both protocols' services share.
type settings struct {
	name    string // the SigV4 signing name: "ecr", "logs", "lambda"
	maxBody int64
	log     *slog.Logger
	fault   string    // the server fault's type name
	body    errorBody // REST-JSON only: the error body
	tooBig  *awserr.Error
}

func newSettings(signingName string, opts []Option) settings {
	s := settings{name: signingName, maxBody: DefaultMaxBodyBytes, log: slog.Default(), fault: awserr.ServerException}
	for _, o := range opts {
		o(&s)
	}
	return s
}

// Option configures a [Service] or a [RESTService].
type Option func(*settings)

// WithMaxBodyBytes sets the request body limit; n <= 0 keeps the default.
func WithMaxBodyBytes(n int64) Option {
	return func(s *settings) {
		if n > 0 {
			s.maxBody = n
		}
	}
}

// WithLogger sets the logger for server faults; the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) {
		if l != nil {
			s.log = l
		}
	}
}

// WithBodyTooLarge sets the error a body over the limit gets; the default
// is a 400 ValidationException. Lambda answers 413
// RequestTooLargeException.
func WithBodyTooLarge(e *awserr.Error) Option { return func(s *settings) { s.tooBig = e } }

// WithServerFault sets the type name of the service's server fault, sent
// for every error that has no AWS form: with 500, or with 503 when the
// error is a failure to reach the index (metadata.Unavailable), which
// clients retry. The default, ServerException, is ECR's, ECS's and
// Batch's; Lambda's is ServiceException.
func WithServerFault(typ string) Option { return func(s *settings) { s.fault = typ } }

// WithErrorBody sets how a REST-JSON service writes an error's body; the
// default is {"__type": ..., "message": ...}. The X-Amzn-ErrorType header
// is always sent. Lambda writes {"Type": "User", "Message": ...}. AWS JSON
// 1.1 services ignore it: their error body is fixed by the protocol.
func WithErrorBody(body func(e *awserr.Error) any) Option {
	return func(s *settings) { s.body = body }
}

// operation decodes a body and runs one handler.
type operation func(ctx context.Context, body []byte) (any, error)

// Service is one AWS JSON 1.1 API, identified by its target prefix (e.g.
// "AmazonEC2ContainerRegistry_V20150921") and its SigV4 signing name
// ("ecr"). Register operations with [Handle], then the service on a [Front],
// which serves it. Registration is not safe to run concurrently with
// serving.
type Service struct {
	settings
	prefix string
	ops    map[string]operation
}

// NewService returns a Service for the API whose X-Amz-Target values are
// "<targetPrefix>.<Action>" and whose requests are signed for signingName.
func NewService(targetPrefix, signingName string, opts ...Option) *Service {
	return &Service{settings: newSettings(signingName, opts), prefix: targetPrefix, ops: make(map[string]operation)}
}

// Handle registers fn as the operation action of svc. The request body is
// decoded into a new In (an empty body reads as {}); a nil *Out is sent as {}.
// Errors fn returns go through the one error writer: return an
// [*awserr.Error] for client errors; anything else becomes the service's
// server fault, whose cause is only logged. Like http.ServeMux, Handle
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
		return result(fn(ctx, in))
	}
}

// result is what an operation sends: out, or {} for a nil out.
func result[Out any](out *Out, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if out == nil {
		return struct{}{}, nil
	}
	return out, nil
}

// serve serves one call of action, found by the front from X-Amz-Target.
// Every response, error or not, carries x-amzn-RequestId (set by the front)
// and the AWS JSON content type.
func (s *Service) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, action string, authenticate Authenticator) {
	ctx = context.WithValue(ctx, operationKey, action)
	out, err := s.call(ctx, r, action, authenticate)
	if err == nil {
		var body []byte
		if body, err = json.Marshal(out); err == nil {
			w.Header().Set("Content-Type", ContentType)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
			return
		}
		err = fmt.Errorf("marshal %s output: %w", action, err)
	}
	s.writeError(ctx, w, err, ContentType, jsonErrorBody, false)
}

// call checks, authenticates, decodes and runs one request.
func (s *Service) call(ctx context.Context, r *http.Request, action string, authenticate Authenticator) (any, error) {
	// Coral-style services pick the operation by content type and target
	// together, so a request in another media type is an unknown operation.
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != ContentType && mt != contentType10) {
		return nil, awserr.Errorf(awserr.UnknownOperationException, "Content-Type must be %s.", ContentType)
	}
	ctx, body, err := s.admit(ctx, r, authenticate)
	if err != nil {
		return nil, err
	}
	op, ok := s.ops[action]
	if !ok {
		return nil, awserr.Errorf(awserr.UnknownOperationException, "The operation %s is not supported by %s.", action, s.prefix)
	}
	return op(ctx, body)
}

// admit reads the body of r and authenticates it, returning the context the
// operation runs with.
func (s *settings) admit(ctx context.Context, r *http.Request, authenticate Authenticator) (context.Context, []byte, error) {
	body, err := s.readBody(r)
	if err != nil {
		return nil, nil, err
	}
	if authenticate != nil {
		actx, err := authenticate(r.WithContext(ctx), body)
		if err != nil {
			return nil, nil, err
		}
		if actx != nil {
			ctx = actx
		}
	}
	return ctx, body, nil
}

// readBody reads at most maxBody bytes. AWS services answer an oversized
// body with a 400 ValidationException, not a bare 413, so SDKs surface it as
// a typed API error rather than a transport failure.
func (s *settings) readBody(r *http.Request) ([]byte, error) {
	tooBig := s.tooBig
	if tooBig == nil {
		tooBig = awserr.Errorf(awserr.ValidationException, "Request body exceeds the maximum size of %d bytes.", s.maxBody)
	}
	if r.ContentLength > s.maxBody {
		return nil, tooBig
	}
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	if err != nil {
		return nil, serialization("The request body could not be read.")
	}
	if int64(len(body)) > s.maxBody {
		return nil, tooBig
	}
	return body, nil
}

// serialization is a SerializationException.
func serialization(format string, args ...any) *awserr.Error {
	return awserr.Errorf(awserr.SerializationException, format, args...)
}

// decode reads a JSON object into in. An empty body is {}; null is {};
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
		return serialization("Unexpected content after the JSON document.")
	}
	return nil
}

// decodeError describes a JSON error without Go type names.
func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var ae *awserr.Error
	switch {
	case errors.As(err, &syn):
		return serialization("Malformed JSON at offset %d.", syn.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return serialization("Unexpected JSON %s for member %s.", typ.Value, typ.Field)
	case errors.As(err, &typ):
		return serialization("Unexpected JSON %s; the request must be a JSON object.", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return serialization("Unexpected end of the JSON document.")
	case errors.As(err, &ae):
		// Errors from member types' UnmarshalJSON (e.g. Time) are ours and
		// carry no internals.
		return ae
	default:
		return serialization("The request body is not a valid JSON document for this operation.")
	}
}
