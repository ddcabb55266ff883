package lambda

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/berth-dev/berth/internal/awserr"
)

// The errors of the Lambda API, with Lambda's type names and wording.
// Handlers return these values; the front door's one writer sends each as
// Lambda does: an X-Amzn-ErrorType header and {"Type", "Message"}.
const (
	typeInvalidParameterValue = "InvalidParameterValueException"
	typeResourceNotFound      = "ResourceNotFoundException"
	typeResourceConflict      = "ResourceConflictException"
	typeRequestTooLarge       = "RequestTooLargeException"
	typeTooManyRequests       = "TooManyRequestsException"
	typePreconditionFailed    = "PreconditionFailedException"
	typeServiceException      = "ServiceException"
)

// errorBody is Lambda's error document: the fault's side ("User" for the
// caller's, "Service" for berth's) and the message.
func errorBody(e *awserr.Error) any {
	side := "User"
	if e.HTTPStatus() >= 500 {
		side = "Service"
	}
	return struct {
		Type    string `json:"Type"`
		Message string `json:"Message"`
	}{side, e.Message}
}

// validation is the ValidationException for one member that breaks a
// constraint of the model.
func validation(member, value, constraint string) error {
	return awserr.Errorf(awserr.ValidationException,
		"1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func invalidParameter(format string, args ...any) error {
	return awserr.Errorf(typeInvalidParameterValue, format, args...)
}

// functionNotFound names the function (qualified when it was) by its ARN.
func functionNotFound(arn string) error {
	return awserr.New(typeResourceNotFound, http.StatusNotFound, "Function not found: "+arn)
}

func aliasNotFound(arn string) error {
	return awserr.New(typeResourceNotFound, http.StatusNotFound, "Alias not found: "+arn)
}

func notFound(format string, args ...any) error {
	return awserr.New(typeResourceNotFound, http.StatusNotFound, fmt.Sprintf(format, args...))
}

func conflict(format string, args ...any) error {
	return awserr.New(typeResourceConflict, http.StatusConflict, fmt.Sprintf(format, args...))
}

// notReady refuses an operation on a function whose state does not allow
// it yet (Pending) or at all (Failed).
func notReady(state string) error {
	return conflict("The operation cannot be performed at this time. The function is currently in the following state: %s", state)
}

// updateInProgress refuses an update while another is in progress.
func updateInProgress(arn string) error {
	return conflict("The operation cannot be performed at this time. An update is in progress for resource: %s", arn)
}

// requestTooLarge refuses an invocation payload over limit bytes.
func requestTooLarge(limit int) error {
	return awserr.New(typeRequestTooLarge, http.StatusRequestEntityTooLarge,
		"Request must be smaller than "+strconv.Itoa(limit)+" bytes for the InvokeFunction operation")
}

// invalidContent refuses an invocation payload that is not JSON.
func invalidContent() error {
	return awserr.Errorf("InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value")
}

// throttled is Lambda's answer to an invocation over a concurrency limit.
func throttled() error {
	return awserr.New(typeTooManyRequests, http.StatusTooManyRequests, "Rate Exceeded.").WithHeader("Retry-After", "1")
}

// preconditionFailed refuses an update made from a stale RevisionId.
func preconditionFailed() error {
	return awserr.New(typePreconditionFailed, http.StatusPreconditionFailed,
		"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}
