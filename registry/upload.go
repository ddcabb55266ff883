package registry

import (
	"context"
	"crypto/rand"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// Uploads: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-blobs
//
// Bytes stream into the storage driver's staging area while the hash state
// over them is kept with the session in the index (Go's hash state
// marshals), so each PATCH, and the final PUT, may arrive in any later
// request, after a restart, or on another replica.

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (?mount=&from=), a monolithic upload (?digest=), or a new session.
func (reg *Registry) startUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	if err := reg.pushable(r.Context(), rt.name); err != nil {
		return err
	}
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		if done, err := reg.mount(w, r, rt.name, mount, q.Get("from")); done || err != nil {
			return err
		}
	}
	now := reg.config.Now()
	u := metadata.Upload{
		ID:         newUploadID(),
		Repository: rt.name,
		Algorithm:  digest.Canonical,
		StartedAt:  now,
		UpdatedAt:  now,
	}
	if d := q.Get("digest"); d != "" {
		dgst, err := parseDigest(d)
		if err != nil {
			return err
		}
		u.Algorithm = dgst.Algorithm()
		return reg.monolithic(w, r, u, dgst)
	}
	if err := reg.store.CreateUpload(r.Context(), u); err != nil {
		return err
	}
	reg.setUploadHeaders(w, u)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// mount links a blob another repository holds into name. With no from, any
// repository may supply it (the spec's automatic content discovery). It
// reports done=false when the blob is not found or the caller may not read
// the repository that holds it, so an upload starts instead as the spec
// asks: a mount never reveals or copies another repository's blob.
func (reg *Registry) mount(w http.ResponseWriter, r *http.Request, name, mount, from string) (done bool, err error) {
	dgst, err := digest.Parse(mount)
	if err != nil {
		return false, nil
	}
	if from != "" {
		if !validName(from) || !reg.readable(r.Context(), from) {
			return false, nil
		}
		_, err = reg.store.Blob(r.Context(), from, dgst)
	} else {
		_, from, err = reg.store.AnyBlob(r.Context(), dgst)
	}
	if errors.Is(err, metadata.ErrBlobUnknown) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !reg.readable(r.Context(), from) {
		return false, nil
	}
	// LinkBlob re-checks that the blob is still recorded, in the same
	// transaction as the link: garbage collection may have taken it since.
	if _, err := reg.store.LinkBlob(r.Context(), name, dgst); errors.Is(err, metadata.ErrBlobUnknown) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	reg.blobCreated(w, name, dgst)
	return true, nil
}

// monolithic stores the request body as one blob: POST with ?digest=.
// Its session is recorded before a byte is written, as for a chunked
// upload, so the index knows the bytes from the first one on: a walk of
// the blob store (berth gc --walk) never takes them for orphans, and a
// crash mid-request leaves a session that the upload timeout purges.
func (reg *Registry) monolithic(w http.ResponseWriter, r *http.Request, u metadata.Upload, dgst digest.Digest) error {
	if err := reg.store.CreateUpload(r.Context(), u); err != nil {
		return err
	}
	h := u.Algorithm.Hash()
	su, err := reg.blobs.Append(r.Context(), storageUpload(u), io.TeeReader(r.Body, h))
	if err == nil && r.ContentLength >= 0 && su.Size != r.ContentLength {
		err = ocierr.New(ocierr.SizeInvalid, fmt.Sprintf("received %d bytes, Content-Length said %d", su.Size, r.ContentLength), nil)
	}
	if err != nil {
		u.StorageState = su.State
		reg.discard(r.Context(), u)
		return err
	}
	u.Size, u.StorageState = su.Size, su.State
	if err := reg.commit(r.Context(), u, h, dgst); err != nil {
		return err
	}
	reg.blobCreated(w, u.Repository, dgst)
	return nil
}

// uploadStatus serves GET /v2/<name>/blobs/uploads/<id>.
func (reg *Registry) uploadStatus(w http.ResponseWriter, r *http.Request, rt route) error {
	u, err := reg.upload(r, rt)
	if err != nil {
		return err
	}
	reg.setUploadHeaders(w, u)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchUpload serves PATCH /v2/<name>/blobs/uploads/<id>: a chunk, with a
// Content-Range, or a stream of the whole blob without one.
func (reg *Registry) patchUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	u, err := reg.upload(r, rt)
	if err != nil {
		return err
	}
	if u, _, err = reg.appendChunk(w, r, u); err != nil {
		return err
	}
	reg.setUploadHeaders(w, u)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// finishUpload serves PUT /v2/<name>/blobs/uploads/<id>?digest=: an
// optional last chunk, then the digest check and commit.
func (reg *Registry) finishUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	u, err := reg.upload(r, rt)
	if err != nil {
		return err
	}
	dgst, err := parseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	var h hash.Hash
	// A body is a last chunk. An upload that never received a byte is
	// appended to anyway, so the storage driver has it to commit.
	if r.ContentLength != 0 || r.Header.Get("Content-Range") != "" || u.Size == 0 {
		if u, h, err = reg.appendChunk(w, r, u); err != nil {
			return err
		}
	} else if h, err = restoreHash(u); err != nil {
		return err
	}
	if err := reg.commit(r.Context(), u, h, dgst); err != nil {
		return err
	}
	reg.blobCreated(w, u.Repository, dgst)
	return nil
}

// cancelUpload serves DELETE /v2/<name>/blobs/uploads/<id>.
func (reg *Registry) cancelUpload(w http.ResponseWriter, r *http.Request, rt route) error {
	u, err := reg.upload(r, rt)
	if err != nil {
		return err
	}
	if err := reg.discard(r.Context(), u); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// upload loads the session a request names; a session of another
// repository is unknown here.
func (reg *Registry) upload(r *http.Request, rt route) (metadata.Upload, error) {
	u, err := reg.store.Upload(r.Context(), rt.arg)
	if err == nil && u.Repository != rt.name {
		err = metadata.ErrUploadUnknown
	}
	return u, err
}

// appendChunk appends the request body to u at its current size. A
// Content-Range that does not start there is refused with 416 and the
// current Range, so the client can resume.
func (reg *Registry) appendChunk(w http.ResponseWriter, r *http.Request, u metadata.Upload) (metadata.Upload, hash.Hash, error) {
	want := int64(-1)
	if cr := r.Header.Get("Content-Range"); cr != "" {
		start, end, ok := parseContentRange(cr)
		if !ok || start != u.Size || (r.ContentLength >= 0 && r.ContentLength != end-start+1) {
			reg.setUploadHeaders(w, u)
			return u, nil, ocierr.New(ocierr.RangeInvalid,
				fmt.Sprintf("Content-Range %q does not continue the upload at byte %d", cr, u.Size), nil)
		}
		want = end - start + 1
	} else if r.ContentLength >= 0 {
		want = r.ContentLength
	}
	next, h, err := reg.appendTo(r.Context(), u, r.Body, want)
	if errors.Is(err, metadata.ErrUploadConflict) {
		reg.setUploadHeaders(w, u)
		return u, nil, ocierr.New(ocierr.RangeInvalid, "the upload was written to concurrently", nil)
	}
	return next, h, err
}

// appendTo appends body to session u at its current size and records the
// new size and hash state; want, when not negative, is how many bytes
// body must hold. It returns metadata.ErrUploadConflict when another
// request wrote to u meanwhile.
func (reg *Registry) appendTo(ctx context.Context, u metadata.Upload, body io.Reader, want int64) (metadata.Upload, hash.Hash, error) {
	h, err := restoreHash(u)
	if err != nil {
		return u, nil, err
	}
	su, err := reg.blobs.Append(ctx, storageUpload(u), io.TeeReader(body, h))
	n := su.Size - u.Size
	switch {
	case errors.Is(err, storage.ErrOffsetMismatch):
		// The staged bytes are shorter than the session says: an earlier
		// write was lost. The client must restart this upload.
		reg.discard(ctx, u)
		return u, nil, ocierr.New(ocierr.BlobUploadUnknown, "upload data was lost; start the upload again", nil)
	case err != nil:
		return u, nil, err
	case want >= 0 && n != want:
		return u, nil, ocierr.New(ocierr.SizeInvalid, fmt.Sprintf("received %d bytes, the request said %d", n, want), nil)
	}
	next := u
	next.Size, next.StorageState = su.Size, su.State
	if next.HashState, err = h.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
		return u, nil, err
	}
	if err := reg.store.UpdateUpload(ctx, next, u.Size); err != nil {
		return u, nil, err
	}
	return next, h, nil
}

// commit checks the uploaded bytes against dgst and makes them a blob of
// u's repository. On a mismatch nothing is stored and the session ends.
func (reg *Registry) commit(ctx context.Context, u metadata.Upload, h hash.Hash, dgst digest.Digest) error {
	mismatch := func(got digest.Digest) error {
		return ocierr.New(ocierr.DigestInvalid, fmt.Sprintf("provided digest %s did not match uploaded content %s", dgst, got), nil)
	}
	var location string
	if u.Algorithm == dgst.Algorithm() {
		if got := digest.NewDigest(dgst.Algorithm(), h); got != dgst {
			reg.discard(ctx, u)
			return mismatch(got)
		}
		var err error
		if location, err = reg.blobs.Commit(ctx, storageUpload(u)); err != nil {
			return err
		}
	} else {
		// The client named a digest of another algorithm than the one
		// hashed on the way in (a sha512 digest given only at the end):
		// hash the committed bytes again, and drop them if they differ.
		var err error
		if location, err = reg.blobs.Commit(ctx, storageUpload(u)); err != nil {
			return err
		}
		got, err := reg.hashBlob(ctx, location, dgst.Algorithm())
		if err != nil || got != dgst {
			reg.blobs.Delete(ctx, location)
			reg.store.DeleteUpload(ctx, u.ID)
			if err != nil {
				return err
			}
			return mismatch(got)
		}
	}
	recorded, err := reg.store.PutBlob(ctx, u.Repository, metadata.Blob{Digest: dgst, Size: u.Size, Location: location})
	if err != nil {
		return err
	}
	if recorded.Location != location {
		// The blob was already stored elsewhere; these bytes are spare.
		if err := reg.blobs.Delete(ctx, location); err != nil {
			reg.log.WarnContext(ctx, "deleting duplicate blob bytes", "location", location, "err", err)
		}
	}
	return reg.store.DeleteUpload(ctx, u.ID)
}

// hashBlob returns the digest with alg of the blob at location.
func (reg *Registry) hashBlob(ctx context.Context, location string, alg digest.Algorithm) (digest.Digest, error) {
	f, err := reg.blobs.Open(ctx, location)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return alg.FromReader(f)
}

// storageUpload is the storage driver's view of session u.
func storageUpload(u metadata.Upload) storage.Upload {
	return storage.Upload{ID: u.ID, Size: u.Size, State: u.StorageState}
}

// discard ends session u and removes its bytes.
func (reg *Registry) discard(ctx context.Context, u metadata.Upload) error {
	if err := reg.store.DeleteUpload(ctx, u.ID); err != nil {
		return err
	}
	return reg.blobs.Abort(ctx, storageUpload(u))
}

func (reg *Registry) blobCreated(w http.ResponseWriter, name string, dgst digest.Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+dgst.String())
	h.Set("Docker-Content-Digest", dgst.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// setUploadHeaders describes session u: where to send the next chunk and
// the bytes received so far, inclusive ("0-0" when none, as CNCF
// Distribution and docker expect).
func (reg *Registry) setUploadHeaders(w http.ResponseWriter, u metadata.Upload) {
	h := w.Header()
	h.Set("Location", "/v2/"+u.Repository+"/blobs/uploads/"+u.ID)
	h.Set("Docker-Upload-UUID", u.ID)
	h.Set("Range", fmt.Sprintf("0-%d", max(u.Size-1, 0)))
	h.Set("Content-Length", "0")
}

// restoreHash returns u's hash with its state over the bytes received.
func restoreHash(u metadata.Upload) (hash.Hash, error) {
	if !u.Algorithm.Available() {
		return nil, fmt.Errorf("upload %s: hash algorithm %q unavailable", u.ID, u.Algorithm)
	}
	h := u.Algorithm.Hash()
	if len(u.HashState) > 0 {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.HashState); err != nil {
			return nil, fmt.Errorf("upload %s: restoring hash state: %w", u.ID, err)
		}
	}
	return h, nil
}

// parseContentRange parses a chunk's Content-Range: "<start>-<end>",
// inclusive, optionally with the "bytes " unit some clients send.
func parseContentRange(s string) (start, end int64, ok bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "bytes ")
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// newUploadID returns a random session id.
func newUploadID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
