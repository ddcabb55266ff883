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
	"time"
)

// ErrNotFound is returned when a location or upload does not exist.
var ErrNotFound = errors.New("storage: not found")

// ErrUnavailable wraps failures of the storage service itself (down,
// unreachable, overloaded): the request may succeed if retried.
var ErrUnavailable = errors.New("storage: service unavailable")

// ErrOffsetMismatch is returned by Append when the upload holds fewer bytes
// than the caller's Upload says: bytes acknowledged earlier were lost.
var ErrOffsetMismatch = errors.New("storage: upload offset mismatch")

// File is an open blob: readable from any offset, so http.ServeContent can
// answer Range requests from it.
type File interface {
	io.ReadSeekCloser
}

// Upload is an upload in progress as a driver sees it. The caller keeps it
// with the upload session (in the metadata index) and passes the latest one
// back, so any later request, process or replica can continue the upload.
type Upload struct {
	ID    string // chosen by the caller: a plain name, unique per upload
	Size  int64  // bytes received so far
	State []byte // the driver's own state; opaque to the caller
}

// Driver stores blob bytes. Implementations are safe for concurrent use.
type Driver interface {
	// Open returns the blob at location. ErrNotFound if it does not exist.
	Open(ctx context.Context, location string) (File, error)
	// Delete removes the blob at location. Deleting a missing blob is not
	// an error.
	Delete(ctx context.Context, location string) error

	// Append writes r to the end of upload u and returns the upload after
	// it. An Upload with Size 0 and no State starts the upload (again).
	// Bytes an earlier failed Append left beyond u.Size are discarded.
	// ErrNotFound if the upload does not exist; ErrOffsetMismatch if it
	// holds fewer than u.Size bytes.
	Append(ctx context.Context, u Upload, r io.Reader) (Upload, error)
	// Commit makes the u.Size bytes of upload u a blob and returns its
	// location. It does not copy the bytes. It does not check them either:
	// the caller verifies the digest, before Commit or, by reading the
	// blob, after it. ErrNotFound if the upload does not exist.
	Commit(ctx context.Context, u Upload) (location string, err error)
	// Abort removes upload u and its bytes. Aborting a missing upload is
	// not an error.
	Abort(ctx context.Context, u Upload) error
}

// Redirector is a Driver that can send clients to fetch a blob straight from
// the storage service (a presigned URL), so its bytes never pass through
// berth. The caller must already have decided the client may read it.
type Redirector interface {
	// RedirectURL returns a URL from which location can be read for a
	// short time, or "" when this blob should be served directly.
	RedirectURL(ctx context.Context, location string) (string, error)
}

// Lister is a Driver that can list what it stores, so that a walk of the
// blob store (berth gc --walk) can find bytes the metadata index lost
// track of, such as a blob committed just before a crash and never
// recorded. Listing a large store is slow; no request path uses it.
type Lister interface {
	// List calls fn for each object the driver wrote: committed blobs and
	// the bytes of uploads, in no particular order. Objects written or
	// removed while it runs may or may not be listed. It stops at the
	// first error fn returns and returns it.
	List(ctx context.Context, fn func(Object) error) error
	// Remove deletes the object that List returned under key: a blob or
	// the bytes of an upload. It refuses, with ErrNotFound, keys that are
	// not laid out as the driver writes them. Removing a missing object
	// is not an error.
	Remove(ctx context.Context, key string) error
}

// Object is one object a Lister found.
type Object struct {
	// Key names the object for Remove. A committed blob's key is the
	// location Commit returned.
	Key string
	// Upload is the id of the upload the bytes came from, as an upload in
	// progress or as the blob it was committed to.
	Upload string
	Size   int64
	// Modified is when the object was last written.
	Modified time.Time
}
