package sigv4

import (
	"errors"
	"net/http"

	"github.com/berth-dev/berth/internal/awserr"
)

// ErrUnknownAccessKey is returned by a Credentials implementation when it
// does not know the access key. Verify turns it into an UnrecognizedClient
// error.
var ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

// newError is an authentication failure as AWS reports it: one of the
// generic SigV4 type names of package awserr and a message that never
// contains the secret, the signature or the canonical request. AWS JSON
// 1.1 services such as ECR answer all four types with 400: real ECR does
// for an unknown key (UnrecognizedClientException) and an expired
// signature (InvalidSignatureException); the others follow the same
// convention but were not observed against ECR.
func newError(typ, msg string) *awserr.Error { return awserr.New(typ, http.StatusBadRequest, msg) }
