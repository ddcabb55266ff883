package awsjson

import (
	"errors"
	"fmt"
	"net/http"
)

// Error type names shared by every AWS JSON service. Service-specific names
// (RepositoryNotFoundException, ...) live with the service that returns them.
const (
	// TypeSerialization: the body is not JSON of the input's shape.
	TypeSerialization = "SerializationException"
	// TypeValidation: the request breaks a constraint (here: the body size).
	TypeValidation = "ValidationException"
	// TypeInvalidParameter: a parameter value is refused, e.g. a bad nextToken.
	TypeInvalidParameter = "InvalidParameterException"
	// TypeUnknownOperation: the X-Amz-Target names no operation of this
	// service, or the request is not an AWS JSON request at all.
	TypeUnknownOperation = "UnknownOperationException"
	// TypeServer is the only server fault in the ECR and ECS models.
	TypeServer = "ServerException"
	// TypeAccessDenied: the caller is known but not allowed.
	TypeAccessDenied = "AccessDeniedException"
	// TypeUnrecognizedClient: the access key is unknown.
	TypeUnrecognizedClient = "UnrecognizedClientException"
	// TypeInvalidSignature: the SigV4 signature does not match.
	TypeInvalidSignature = "InvalidSignatureException"
	// TypeMissingAuthenticationToken: no credentials were sent.
	TypeMissingAuthenticationToken = "MissingAuthenticationTokenException"
)

// serverMessage is the only text a client ever sees for a server fault.
const serverMessage = "An internal error occurred while processing the request."

// APIError is an error that knows its AWS wire form. [*Error] implements it;
// other packages (auth, ecr) may return their own types that do. The error
// writer looks for it with errors.As, so wrapped errors keep their form.
type APIError interface {
	error
	// AWSType is the bare __type name, e.g. "RepositoryNotFoundException".
	AWSType() string
	// HTTPStatus is the response status; 0 means 400.
	HTTPStatus() int
}

// messager is an optional ability of an [APIError]: the client-facing
// message when it differs from Error().
type messager interface{ AWSMessage() string }

// Error is an AWS JSON error: a bare __type name, a message for the client and
// an HTTP status (400 when zero).
type Error struct {
	Type    string
	Message string
	Status  int

	cause error // for errors.Is/As on the server side; never sent
}

// Errorf returns a client error (HTTP 400) of the given __type name.
func Errorf(typ, format string, args ...any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// SerializationError returns a SerializationException (HTTP 400).
func SerializationError(format string, args ...any) *Error {
	return Errorf(TypeSerialization, format, args...)
}

// ValidationError returns a ValidationException (HTTP 400).
func ValidationError(format string, args ...any) *Error {
	return Errorf(TypeValidation, format, args...)
}

// InvalidParameterError returns an InvalidParameterException (HTTP 400).
func InvalidParameterError(format string, args ...any) *Error {
	return Errorf(TypeInvalidParameter, format, args...)
}

// ServerError returns a ServerException (HTTP 500) with the generic message;
// log the cause, never send it.
func ServerError() *Error {
	return &Error{Type: TypeServer, Message: serverMessage, Status: http.StatusInternalServerError}
}

// Error returns "Type: Message".
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// AWSType returns the bare __type name.
func (e *Error) AWSType() string { return e.Type }

// HTTPStatus returns the status, 400 when unset.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// Unwrap returns the cause recorded with [Error.WithCause], if any.
func (e *Error) Unwrap() error { return e.cause }

// WithCause returns a copy of e that unwraps to cause, so server code can
// test for it with errors.Is; the cause is never sent to the client.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// AWSMessage returns the message sent to the client.
func (e *Error) AWSMessage() string { return e.Message }

// wireError is the body of every error response.
type wireError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// toWire maps any error to its wire form. internal reports that err carried no
// AWS form, so it became a ServerException and its text must only be logged.
func toWire(err error) (body wireError, status int, internal bool) {
	var ae APIError
	if !errors.As(err, &ae) || ae.AWSType() == "" {
		return wireError{Type: TypeServer, Message: serverMessage}, http.StatusInternalServerError, true
	}
	msg := ae.Error()
	if m, ok := ae.(messager); ok {
		msg = m.AWSMessage()
	}
	status = ae.HTTPStatus()
	if status == 0 {
		status = http.StatusBadRequest
	}
	return wireError{Type: ae.AWSType(), Message: msg}, status, false
}
