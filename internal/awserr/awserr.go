// Package awserr is berth's one vocabulary of AWS API errors: the error
// value every AWS-compatible service returns (ECR now; ECS, CloudWatch
// Logs, Lambda and Batch next) and the type names the services share.
//
// An [*Error] says what went wrong in AWS's terms (a type name such as
// "RepositoryNotFoundException", a message for the client, an HTTP status
// and optional headers) and nothing about how it is written: AWS JSON 1.1
// sends {"__type", "message"}, Lambda's REST-JSON an X-Amzn-ErrorType
// header and {"Type", "Message"}. Those writers live with their protocol
// (internal/awsjson); every one of them reads the same value, found with
// errors.As, so wrapped errors keep their form. An error that is not an
// *Error is the server's fault: the writer sends the service's generic
// server error and logs the cause.
//
// Service-specific type names live with the service, one table per
// service (ecr/errors.go).
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Type names shared by berth's AWS services.
const (
	// SerializationException: the body does not decode into the
	// operation's input.
	SerializationException = "SerializationException"
	// ValidationException: a member breaks a constraint of the model (a
	// length, a pattern, the body size).
	ValidationException = "ValidationException"
	// InvalidParameterException: a parameter value is refused, e.g. a bad
	// nextToken.
	InvalidParameterException = "InvalidParameterException"
	// UnknownOperationException: the request names no operation berth
	// serves, or is not an AWS request at all.
	UnknownOperationException = "UnknownOperationException"
	// ServerException is the server fault of the ECR, ECS and Batch models.
	ServerException = "ServerException"
	// AccessDeniedException: the caller is known but not allowed.
	AccessDeniedException = "AccessDeniedException"
	// ThrottlingException: too many requests (HTTP 429).
	ThrottlingException = "ThrottlingException"
	// MissingAuthenticationTokenException: no SigV4 authentication was
	// sent.
	MissingAuthenticationTokenException = "MissingAuthenticationTokenException"
	// IncompleteSignatureException: the Authorization header, or a value
	// it depends on (X-Amz-Date, X-Amz-Content-Sha256), is malformed.
	IncompleteSignatureException = "IncompleteSignatureException"
	// InvalidSignatureException: the signature does not match, its time
	// is outside the allowed skew, or its credential scope is wrong.
	InvalidSignatureException = "InvalidSignatureException"
	// UnrecognizedClientException: the access key is not known.
	UnrecognizedClientException = "UnrecognizedClientException"
)

// ServerMessage is the only text a client ever sees for a server fault.
const ServerMessage = "An internal error occurred while processing the request."

// UnavailableMessage is the only text a client sees when berth cannot
// reach its index: the server fault sent with 503, which SDKs retry.
const UnavailableMessage = "The service is temporarily unavailable; retry the request."

// Error is an AWS API error: a type name, a message for the client, an
// HTTP status (400 when zero) and headers to send with it (Retry-After).
// It may record a cause for errors.Is and errors.As on the server side;
// the cause is never sent.
type Error struct {
	// Type is the bare type name, e.g. "RepositoryNotFoundException".
	Type string
	// Message is the text the client sees.
	Message string
	// Status is the HTTP status; 0 means 400.
	Status int
	// Header holds headers to send with the error, e.g. Retry-After.
	Header http.Header

	cause error
}

// New returns an error of type typ with status (0: 400) and message.
func New(typ string, status int, message string) *Error {
	return &Error{Type: typ, Message: message, Status: status}
}

// Errorf returns a client error (HTTP 400) of type typ.
func Errorf(typ, format string, args ...any) *Error {
	return New(typ, http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// Server returns the server fault of type typ (ServerException for ECR,
// ECS and Batch) with the generic message; log the cause, never send it.
func Server(typ string) *Error {
	return New(typ, http.StatusInternalServerError, ServerMessage)
}

// Unavailable returns the server fault of type typ sent with 503 Service
// Unavailable: the request may succeed when retried.
func Unavailable(typ string) *Error {
	return New(typ, http.StatusServiceUnavailable, UnavailableMessage)
}

// IsClient reports whether err is an AWS error the client caused (a
// status below 500): a resource that does not exist, a bad request.
func IsClient(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.HTTPStatus() < http.StatusInternalServerError
}

// Error returns "Type: Message".
func (e *Error) Error() string { return e.Type + ": " + e.Message }

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

// WithHeader returns a copy of e that is sent with header key set to value.
func (e *Error) WithHeader(key, value string) *Error {
	c := *e
	c.Header = e.Header.Clone()
	if c.Header == nil {
		c.Header = http.Header{}
	}
	c.Header.Set(key, value)
	return &c
}
