package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// ErrorCode is an error code of the OCI Distribution Spec, with the HTTP
// status it is sent with and its default message.
type ErrorCode struct {
	Code    string
	Status  int
	Message string
}

// The error codes berth sends: the spec's table
// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes)
// plus the ones CNCF Distribution added that docker knows.
var (
	ErrBlobUnknown         = &ErrorCode{"BLOB_UNKNOWN", http.StatusNotFound, "blob unknown to registry"}
	ErrBlobUploadInvalid   = &ErrorCode{"BLOB_UPLOAD_INVALID", http.StatusBadRequest, "blob upload invalid"}
	ErrBlobUploadUnknown   = &ErrorCode{"BLOB_UPLOAD_UNKNOWN", http.StatusNotFound, "blob upload unknown to registry"}
	ErrDigestInvalid       = &ErrorCode{"DIGEST_INVALID", http.StatusBadRequest, "provided digest did not match uploaded content"}
	ErrManifestBlobUnknown = &ErrorCode{"MANIFEST_BLOB_UNKNOWN", http.StatusBadRequest, "manifest references a manifest or blob unknown to registry"}
	ErrManifestInvalid     = &ErrorCode{"MANIFEST_INVALID", http.StatusBadRequest, "manifest invalid"}
	ErrManifestUnknown     = &ErrorCode{"MANIFEST_UNKNOWN", http.StatusNotFound, "manifest unknown to registry"}
	ErrNameInvalid         = &ErrorCode{"NAME_INVALID", http.StatusBadRequest, "invalid repository name"}
	ErrNameUnknown         = &ErrorCode{"NAME_UNKNOWN", http.StatusNotFound, "repository name not known to registry"}
	ErrSizeInvalid         = &ErrorCode{"SIZE_INVALID", http.StatusBadRequest, "provided length did not match content length"}
	ErrManifestTooLarge    = &ErrorCode{"SIZE_INVALID", http.StatusRequestEntityTooLarge, "manifest exceeds the 4 MiB limit"}
	ErrTagInvalid          = &ErrorCode{"TAG_INVALID", http.StatusBadRequest, "manifest tag did not match URI"}
	ErrRangeInvalid        = &ErrorCode{"BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable, "content range does not match the upload's current size"}
	ErrPaginationInvalid   = &ErrorCode{"PAGINATION_NUMBER_INVALID", http.StatusBadRequest, "invalid number of results requested"}
	ErrUnsupported         = &ErrorCode{"UNSUPPORTED", http.StatusMethodNotAllowed, "the operation is unsupported"}
	ErrRangeNotSatisfiable = &ErrorCode{"UNSUPPORTED", http.StatusRequestedRangeNotSatisfiable, "requested range not satisfiable"}
	ErrPreconditionFailed  = &ErrorCode{"UNSUPPORTED", http.StatusPreconditionFailed, "precondition failed"}
	ErrNotFound            = &ErrorCode{"UNSUPPORTED", http.StatusNotFound, "no such API endpoint"}
	ErrUnavailable         = &ErrorCode{"UNAVAILABLE", http.StatusServiceUnavailable, "the registry is temporarily unable to serve the request; retry"}
	ErrUnknown             = &ErrorCode{"UNKNOWN", http.StatusInternalServerError, "unknown error"}
	ErrUnauthorized        = &ErrorCode{"UNAUTHORIZED", http.StatusUnauthorized, "authentication required"}
	ErrDenied              = &ErrorCode{"DENIED", http.StatusForbidden, "requested access to the resource is denied"}
	ErrTooManyRequests     = &ErrorCode{"TOOMANYREQUESTS", http.StatusTooManyRequests, "too many requests"}
)

// Error is an error to send to the client: a code, a message that replaces
// the code's default when set, and optional detail.
type Error struct {
	Code    *ErrorCode
	Message string
	Detail  any
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Code.Code + ": " + e.Message
	}
	return e.Code.Code + ": " + e.Code.Message
}

// errorf returns an *Error with code and message.
func newError(code *ErrorCode, message string, detail any) *Error {
	return &Error{Code: code, Message: message, Detail: detail}
}

// asError turns any error a handler returns into the *Error sent for it.
// This is the one place where domain errors meet the OCI error table.
func asError(err error) *Error {
	var e *Error
	var missing *metadata.MissingReferencesError
	var denial accessError
	var immutable *ImmutableTagError
	var noRepo *RepositoryNotFoundError
	var mismatch *DigestMismatchError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &immutable):
		return newError(ErrTagInvalid, immutable.Error(), nil)
	case errors.As(err, &noRepo):
		return newError(ErrNameUnknown, noRepo.Error(), nil)
	case errors.As(err, &mismatch):
		return newError(ErrDigestInvalid, mismatch.Error(), nil)
	case errors.As(err, &denial) && accessCodes[denial.HTTPStatus()] != nil:
		return newError(accessCodes[denial.HTTPStatus()], denial.Error(), nil)
	case errors.As(err, &missing):
		return newError(ErrManifestBlobUnknown, "", map[string]any{"digests": missing.Digests})
	case errors.Is(err, metadata.ErrBlobUnknown):
		return newError(ErrBlobUnknown, "", nil)
	case errors.Is(err, metadata.ErrManifestUnknown), errors.Is(err, metadata.ErrTagUnknown):
		return newError(ErrManifestUnknown, "", nil)
	case errors.Is(err, metadata.ErrRepositoryUnknown):
		return newError(ErrNameUnknown, "", nil)
	case errors.Is(err, metadata.ErrUploadUnknown), errors.Is(err, storage.ErrNotFound):
		return newError(ErrBlobUploadUnknown, "", nil)
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return newError(ErrUnavailable, "", nil)
	}
	return newError(ErrUnknown, "", nil)
}

// accessError is an Authorizer's refusal; see Authorizer.Authorize.
type accessError interface {
	error
	HTTPStatus() int
	Header() http.Header
}

// accessCodes maps an Authorizer's refusal status to its error code.
var accessCodes = map[int]*ErrorCode{
	http.StatusUnauthorized:    ErrUnauthorized,
	http.StatusForbidden:       ErrDenied,
	http.StatusTooManyRequests: ErrTooManyRequests,
}

// writeError sends err in the spec's error body. Headers the handler set
// before failing (Range, Location) are kept.
func (reg *Registry) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		return // the client went away; nobody is listening
	}
	e := asError(err)
	if e.Code == ErrUnknown || e.Code == ErrUnavailable {
		reg.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message
	}
	type wireError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Detail  any    `json:"detail,omitempty"`
	}
	body, _ := json.Marshal(struct {
		Errors []wireError `json:"errors"`
	}{[]wireError{{e.Code.Code, msg, e.Detail}}})
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	var denial accessError
	if errors.As(err, &denial) {
		for k, vs := range denial.Header() {
			h[k] = vs
		}
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Code.Status)
		return
	}
	w.WriteHeader(e.Code.Status)
	w.Write(body)
}
