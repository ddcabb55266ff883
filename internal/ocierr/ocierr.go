// Package ocierr is berth's one vocabulary of OCI Distribution errors: the
// spec's error codes with the HTTP status each is sent with, the error
// value handlers return, and the one writer of the spec's error body,
// {"errors":[{"code","message","detail"}]}. The registry (/v2/) and auth
// (its refusals of registry requests, and the Docker token endpoint) both
// answer in this form, so the table lives below both, as CNCF
// Distribution's registry/api/errcode does.
package ocierr

import (
	"encoding/json"
	"net/http"
)

// Code is an error code of the OCI Distribution Spec, with the HTTP status
// it is sent with and its default message.
type Code struct {
	Code    string
	Status  int
	Message string
}

// The error codes berth sends: the spec's table
// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes)
// plus the ones CNCF Distribution added that docker knows. Some codes come
// with more than one status, each its own entry.
var (
	BlobUnknown         = &Code{"BLOB_UNKNOWN", http.StatusNotFound, "blob unknown to registry"}
	BlobUploadInvalid   = &Code{"BLOB_UPLOAD_INVALID", http.StatusBadRequest, "blob upload invalid"}
	BlobUploadUnknown   = &Code{"BLOB_UPLOAD_UNKNOWN", http.StatusNotFound, "blob upload unknown to registry"}
	DigestInvalid       = &Code{"DIGEST_INVALID", http.StatusBadRequest, "provided digest did not match uploaded content"}
	ManifestBlobUnknown = &Code{"MANIFEST_BLOB_UNKNOWN", http.StatusBadRequest, "manifest references a manifest or blob unknown to registry"}
	ManifestInvalid     = &Code{"MANIFEST_INVALID", http.StatusBadRequest, "manifest invalid"}
	ManifestUnknown     = &Code{"MANIFEST_UNKNOWN", http.StatusNotFound, "manifest unknown to registry"}
	NameInvalid         = &Code{"NAME_INVALID", http.StatusBadRequest, "invalid repository name"}
	NameUnknown         = &Code{"NAME_UNKNOWN", http.StatusNotFound, "repository name not known to registry"}
	SizeInvalid         = &Code{"SIZE_INVALID", http.StatusBadRequest, "provided length did not match content length"}
	ManifestTooLarge    = &Code{"SIZE_INVALID", http.StatusRequestEntityTooLarge, "manifest exceeds the 4 MiB limit"}
	TagInvalid          = &Code{"TAG_INVALID", http.StatusBadRequest, "manifest tag did not match URI"}
	RangeInvalid        = &Code{"BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable, "content range does not match the upload's current size"}
	PaginationInvalid   = &Code{"PAGINATION_NUMBER_INVALID", http.StatusBadRequest, "invalid number of results requested"}
	Unsupported         = &Code{"UNSUPPORTED", http.StatusMethodNotAllowed, "the operation is unsupported"}
	RangeNotSatisfiable = &Code{"UNSUPPORTED", http.StatusRequestedRangeNotSatisfiable, "requested range not satisfiable"}
	PreconditionFailed  = &Code{"UNSUPPORTED", http.StatusPreconditionFailed, "precondition failed"}
	NotFound            = &Code{"UNSUPPORTED", http.StatusNotFound, "no such API endpoint"}
	BadRequest          = &Code{"UNSUPPORTED", http.StatusBadRequest, "the request is not valid"}
	Unavailable         = &Code{"UNAVAILABLE", http.StatusServiceUnavailable, "the registry is temporarily unable to serve the request; retry"}
	Unknown             = &Code{"UNKNOWN", http.StatusInternalServerError, "unknown error"}
	Unauthorized        = &Code{"UNAUTHORIZED", http.StatusUnauthorized, "authentication required"}
	Denied              = &Code{"DENIED", http.StatusForbidden, "requested access to the resource is denied"}
	TooManyRequests     = &Code{"TOOMANYREQUESTS", http.StatusTooManyRequests, "too many requests"}
)

// Error is an error to send to the client: a code, a message that replaces
// the code's default when set, optional detail, and headers to send with
// it (a WWW-Authenticate challenge, Retry-After).
type Error struct {
	Code    *Code
	Message string
	Detail  any
	Header  http.Header
}

// New returns an *Error with code, message ("": the code's default) and
// detail (nil: none).
func New(code *Code, message string, detail any) *Error {
	return &Error{Code: code, Message: message, Detail: detail}
}

// Error returns "CODE: message".
func (e *Error) Error() string { return e.Code.Code + ": " + e.message() }

// HTTPStatus returns the status the error is sent with: its code's.
func (e *Error) HTTPStatus() int { return e.Code.Status }

func (e *Error) message() string {
	if e.Message != "" {
		return e.Message
	}
	return e.Code.Message
}

// Write sends e in the spec's error body with its code's status; a HEAD
// request gets the status and headers only. Headers already set on w
// (Range, Location) are kept; Content-Length is dropped, as it described
// the success response.
func Write(w http.ResponseWriter, method string, e *Error) {
	type wireError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Detail  any    `json:"detail,omitempty"`
	}
	body, _ := json.Marshal(struct { // details are digests and strings: cannot fail
		Errors []wireError `json:"errors"`
	}{[]wireError{{e.Code.Code, e.message(), e.Detail}}})
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	for k, vs := range e.Header {
		h[k] = vs
	}
	w.WriteHeader(e.Code.Status)
	if method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
