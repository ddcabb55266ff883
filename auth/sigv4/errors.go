package sigv4

import (
	"errors"
	"net/http"
)

// AWS JSON error type names ("__type") that Verify's *Error values carry.
// They are the generic AWS names, not ECR-specific ones.
const (
	// TypeMissingAuthenticationToken: the request carries no SigV4
	// authentication at all.
	TypeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// TypeIncompleteSignature: the Authorization header or a value it depends
	// on (X-Amz-Date, X-Amz-Content-Sha256) is malformed or incomplete.
	TypeIncompleteSignature = "IncompleteSignatureException"
	// TypeInvalidSignature: the signature does not match, the signing time
	// is outside the allowed skew, or the credential scope is wrong.
	TypeInvalidSignature = "InvalidSignatureException"
	// TypeUnrecognizedClient: the access key is not known.
	TypeUnrecognizedClient = "UnrecognizedClientException"
)

// ErrUnknownAccessKey is returned by a Credentials implementation when it
// does not know the access key. Verify turns it into an *Error of type
// TypeUnrecognizedClient.
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

// Error is an authentication failure as AWS reports it: an error type name
// for the JSON "__type" field and a human-readable message. Verify returns
// *Error for every failure that is the client's fault; any other error it
// returns (a failing Credentials store, a bad argument) is the server's.
type Error struct {
	awsType string
	// Message is the text for the JSON "message" field. It never contains
	// the secret, the signature or the canonical request.
	Message string
}

func newError(awsType, msg string) *Error { return &Error{awsType: awsType, Message: msg} }

// AWSType returns the AWS error type name, one of the Type* constants.
func (e *Error) AWSType() string { return e.awsType }

// HTTPStatus returns the HTTP status AWS JSON 1.1 services such as ECR use
// for this error: 400 for all four types. Real ECR answers an unknown key
// (UnrecognizedClientException) and an expired signature
// (InvalidSignatureException) with 400; the others follow the same
// convention but were not observed against ECR.
func (e *Error) HTTPStatus() int { return http.StatusBadRequest }

// Error implements error as "<type>: <message>".
func (e *Error) Error() string { return e.awsType + ": " + e.Message }

// AWSMessage is the text for the JSON "message" field.
func (e *Error) AWSMessage() string { return e.Message }
