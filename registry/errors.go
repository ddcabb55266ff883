package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// asError turns any error a handler returns into the *ocierr.Error sent
// for it. This is the one place where domain errors meet the OCI error
// table (package ocierr). An Authorizer's refusals are *ocierr.Errors
// already and pass as they are.
func asError(err error) *ocierr.Error {
	var e *ocierr.Error
	var missing *metadata.MissingReferencesError
	var immutable *ImmutableTagError
	var noRepo *RepositoryNotFoundError
	var mismatch *DigestMismatchError
	var upstream *upstreamError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &immutable):
		return ocierr.New(ocierr.TagInvalid, immutable.Error(), nil)
	case errors.As(err, &noRepo):
		return ocierr.New(ocierr.NameUnknown, noRepo.Error(), nil)
	case errors.As(err, &mismatch):
		return ocierr.New(ocierr.DigestInvalid, mismatch.Error(), nil)
	case errors.As(err, &upstream):
		return ocierr.New(ocierr.Unavailable, upstream.Error(), nil)
	case errors.As(err, &missing):
		return ocierr.New(ocierr.ManifestBlobUnknown, "", map[string]any{"digests": missing.Digests})
	case errors.Is(err, metadata.ErrBlobUnknown):
		return ocierr.New(ocierr.BlobUnknown, "", nil)
	case errors.Is(err, metadata.ErrManifestUnknown), errors.Is(err, metadata.ErrTagUnknown):
		return ocierr.New(ocierr.ManifestUnknown, "", nil)
	case errors.Is(err, metadata.ErrRepositoryUnknown):
		return ocierr.New(ocierr.NameUnknown, "", nil)
	case errors.Is(err, metadata.ErrUploadUnknown), errors.Is(err, storage.ErrNotFound):
		return ocierr.New(ocierr.BlobUploadUnknown, "", nil)
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), metadata.Unavailable(err):
		return ocierr.New(ocierr.Unavailable, "", nil)
	}
	return ocierr.New(ocierr.Unknown, "", nil)
}

// writeError sends err in the spec's error body. Headers the handler set
// before failing (Range, Location) are kept.
func (reg *Registry) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		return // the client went away; nobody is listening
	}
	e := asError(err)
	if e.Code == ocierr.Unknown || e.Code == ocierr.Unavailable {
		reg.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	ocierr.Write(w, r.Method, e)
}
