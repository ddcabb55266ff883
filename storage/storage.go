// Package storage owns blob bytes: the Driver interface every backend
// implements, and the errors it returns. It knows nothing of repositories,
// tags or manifests; those facts live in the metadata index.
//
// A blob is addressed by a location, an opaque key the driver hands out when
// an upload is committed. The metadata index records the location beside the
// digest, so a driver is free to leave the verified bytes where they were
// written (the S3 driver does) instead of copying them under a digest key.
package storage

import (
	"context"
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
)

// ErrNotFound is returned when a location or upload does not exist.
var ErrNotFound = errors.New("storage: not found")

// ErrOffsetMismatch is returned by Append when the offset does not match the
// upload's current size.
var ErrOffsetMismatch = errors.New("storage: upload offset mismatch")

// File is an open blob: readable from any offset, so http.ServeContent can
// answer Range requests from it.
type File interface {
	io.ReadSeekCloser
}

// Driver stores blob bytes. Implementations are safe for concurrent use.
type Driver interface {
	// Open returns the blob at location. ErrNotFound if it does not exist.
	Open(ctx context.Context, location string) (File, error)
	// Delete removes the blob at location. Deleting a missing blob is not
	// an error.
	Delete(ctx context.Context, location string) error

	// Append writes r to upload id starting at offset, creating the upload
	// when offset is 0, and returns how many bytes it wrote. Bytes beyond
	// offset left by an earlier interrupted Append are discarded first.
	// ErrNotFound if offset > 0 and the upload does not exist;
	// ErrOffsetMismatch if the upload holds fewer than offset bytes.
	Append(ctx context.Context, id string, offset int64, r io.Reader) (int64, error)
	// ReadUpload opens the bytes written so far to upload id, for a caller
	// that must hash them with another algorithm. ErrNotFound if missing.
	ReadUpload(ctx context.Context, id string) (io.ReadCloser, error)
	// Commit makes the first size bytes of upload id a blob with digest dgst
	// and returns its location. The caller has verified the digest. Commit
	// does not copy the bytes. ErrNotFound if the upload does not exist.
	Commit(ctx context.Context, id string, size int64, dgst digest.Digest) (location string, err error)
	// Abort removes upload id and its bytes. Aborting a missing upload is
	// not an error.
	Abort(ctx context.Context, id string) error
}
