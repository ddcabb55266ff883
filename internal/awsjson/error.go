package awsjson

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/metadata"
)

// asAWS returns the AWS form of err. internal reports that err carried none,
// so it became the service's server fault (type fault) and its text must
// only be logged. A failure to reach the index (a PostgreSQL index down or
// restarting) is that fault sent with 503, so SDKs and the CLI retry it:
// the models of ECR, ECS and Batch (ServerException), Lambda
// (ServiceException) and CloudWatch Logs (ServiceUnavailableException)
// each have that one server fault and no other.
func asAWS(err error, fault string) (e *awserr.Error, internal bool) {
	if errors.As(err, &e) && e.Type != "" {
		return e, false
	}
	if metadata.Unavailable(err) {
		return awserr.Unavailable(fault), true
	}
	return awserr.Server(fault), true
}

// errorBody builds the body of an error response from its AWS form.
type errorBody func(e *awserr.Error) any

// jsonErrorBody is the AWS JSON 1.1 error body, {"__type", "message"}: the
// bare type name, which botocore and the SDKs read as the error code.
func jsonErrorBody(e *awserr.Error) any {
	return struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Type, e.Message}
}

// writeError is the one place an error becomes a response, for both
// protocols: contentType and body give the protocol's form; restJSON adds
// the X-Amzn-ErrorType header REST-JSON clients read the code from. Server
// faults are logged with the request id; their cause is never sent.
func (s *settings) writeError(ctx context.Context, w http.ResponseWriter, err error, contentType string, body errorBody, restJSON bool) {
	e, internal := asAWS(err, s.fault)
	status := e.HTTPStatus()
	if internal || status >= 500 {
		s.log.ErrorContext(ctx, "aws request failed",
			"request_id", RequestID(ctx), "service", s.name, "operation", Operation(ctx), "error", err)
	}
	b, _ := json.Marshal(body(e)) // strings only: cannot fail
	for k, vs := range e.Header {
		w.Header()[k] = vs
	}
	if restJSON {
		w.Header().Set("X-Amzn-ErrorType", e.Type)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
