package registry

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/storage"
)

// parseDigest parses a digest from a request, answering DIGEST_INVALID.
func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", newError(ErrDigestInvalid, "invalid digest "+strconv.Quote(s)+": "+err.Error(), nil)
	}
	return d, nil
}

// getBlob serves GET and HEAD /v2/<name>/blobs/<digest>.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-blobs
// GET is answered by http.ServeContent from the stored file, so Range and
// conditional requests work and the kernel sends the bytes.
func (reg *Registry) getBlob(w http.ResponseWriter, r *http.Request, rt route) error {
	dgst, err := parseDigest(rt.arg)
	if err != nil {
		return err
	}
	b, err := reg.store.Blob(r.Context(), rt.name, dgst)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Docker-Content-Digest", dgst.String())
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+dgst.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	h.Set("Accept-Ranges", "bytes")
	if r.Method == http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(b.Size, 10))
		w.WriteHeader(http.StatusOK)
		return nil
	}
	f, err := reg.blobs.Open(r.Context(), b.Location)
	if errors.Is(err, storage.ErrNotFound) {
		reg.log.ErrorContext(r.Context(), "blob in index but not in storage",
			"repository", rt.name, "digest", dgst, "location", b.Location)
		return newError(ErrBlobUnknown, "", nil)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

// deleteBlob serves DELETE /v2/<name>/blobs/<digest>: the repository no
// longer holds the blob. Its bytes are freed by garbage collection once no
// repository holds them.
func (reg *Registry) deleteBlob(w http.ResponseWriter, r *http.Request, rt route) error {
	dgst, err := parseDigest(rt.arg)
	if err != nil {
		return err
	}
	if err := reg.store.UnlinkBlob(r.Context(), rt.name, dgst); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
