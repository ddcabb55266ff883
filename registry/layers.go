package registry

import (
	"context"
	"errors"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// The layer API: ECR's InitiateLayerUpload, UploadLayerPart,
// CompleteLayerUpload and GetDownloadUrlForLayer, on the same upload
// sessions and blob store as /v2/. A layer may be started on one API and
// finished on the other.

// ErrPartOffset: an upload part does not start where the upload ends.
var ErrPartOffset = errors.New("registry: the part does not start at the end of the upload")

// ErrEmptyUpload: an upload is completed before it received a byte.
var ErrEmptyUpload = errors.New("registry: the upload is empty")

// InitiateUpload opens an upload session in repo.
func (reg *Registry) InitiateUpload(ctx context.Context, repo string) (metadata.Upload, error) {
	if err := reg.pushable(ctx, repo); err != nil {
		return metadata.Upload{}, err
	}
	now := reg.config.Now()
	u := metadata.Upload{ID: newUploadID(), Repository: repo, Algorithm: digest.Canonical, StartedAt: now, UpdatedAt: now}
	return u, reg.store.CreateUpload(ctx, u)
}

// Upload returns session id of repo; metadata.ErrUploadUnknown if there is
// none there.
func (reg *Registry) Upload(ctx context.Context, repo, id string) (metadata.Upload, error) {
	u, err := reg.store.Upload(ctx, id)
	if err == nil && u.Repository != repo {
		err = metadata.ErrUploadUnknown
	}
	return u, err
}

// UploadPart appends n bytes of part to session id of repo; first must be
// the upload's current size (ErrPartOffset otherwise).
func (reg *Registry) UploadPart(ctx context.Context, repo, id string, first int64, part io.Reader, n int64) (metadata.Upload, error) {
	u, err := reg.Upload(ctx, repo, id)
	if err != nil {
		return u, err
	}
	if first != u.Size {
		return u, ErrPartOffset
	}
	next, _, err := reg.appendTo(ctx, u, part, n)
	if errors.Is(err, metadata.ErrUploadConflict) {
		return u, ErrPartOffset
	}
	return next, err
}

// CompleteUpload checks session id's bytes against dgst and makes them a
// blob of repo. A mismatch ends the session and is an *ocierr.Error with
// code ocierr.DigestInvalid.
func (reg *Registry) CompleteUpload(ctx context.Context, repo, id string, dgst digest.Digest) error {
	u, err := reg.Upload(ctx, repo, id)
	if err != nil {
		return err
	}
	if u.Size == 0 {
		return ErrEmptyUpload
	}
	h, err := restoreHash(u)
	if err != nil {
		return err
	}
	return reg.commit(ctx, u, h, dgst)
}

// DownloadURL returns where the blob dgst of repo can be fetched: a
// presigned storage URL when the blob store gives one, else the registry's
// own blob URL under base (which needs the registry's credentials).
// metadata.ErrBlobUnknown if repo does not hold the blob.
func (reg *Registry) DownloadURL(ctx context.Context, repo string, dgst digest.Digest, base string) (string, error) {
	b, err := reg.blob(ctx, repo, dgst)
	if err != nil {
		return "", err
	}
	if rd, ok := reg.blobs.(storage.Redirector); ok {
		target, err := rd.RedirectURL(ctx, b.Location)
		if err != nil || target != "" {
			return target, err
		}
	}
	return base + "/v2/" + repo + "/blobs/" + dgst.String(), nil
}
