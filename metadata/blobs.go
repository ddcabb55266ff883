package metadata

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// Blob is a committed blob: its digest, size and where the storage driver
// keeps its bytes.
type Blob struct {
	Digest   digest.Digest
	Size     int64
	Location string
	// Marked is set when garbage collection found the blob unreferenced;
	// a request that uses the blob must call KeepBlob first.
	Marked bool
}

// Blobs records which blobs exist and which repositories hold them.
type Blobs interface {
	// Blob returns the blob dgst if repo holds it. ErrBlobUnknown otherwise.
	Blob(ctx context.Context, repo string, dgst digest.Digest) (Blob, error)
	// AnyBlob returns the blob dgst if any repository holds it, and the
	// name of one such repository. ErrBlobUnknown otherwise.
	AnyBlob(ctx context.Context, dgst digest.Digest) (Blob, string, error)
	// PutBlob records b, if it is new, and links it into repo, creating the
	// repository. It returns the blob as recorded: when the digest was
	// already known, its earlier location wins and the caller should delete
	// the new bytes if they live elsewhere.
	PutBlob(ctx context.Context, repo string, b Blob) (Blob, error)
	// UnlinkBlob removes dgst from repo. ErrBlobUnknown if repo does not
	// hold it.
	UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error
	// LinkBlob links a blob the index already records into repo (a
	// cross-repository mount) and keeps it from garbage collection, in one
	// transaction. ErrBlobUnknown if the blob is not recorded (any more).
	LinkBlob(ctx context.Context, repo string, dgst digest.Digest) (Blob, error)
	// KeepBlob takes a marked blob off garbage collection's list before
	// it is served. ErrBlobUnknown if it was collected meanwhile.
	KeepBlob(ctx context.Context, dgst digest.Digest) error
}

// Garbage is what online garbage collection does to the index. A blob is
// garbage when no manifest references it. Collection is two-phase so that
// it never races a request: MarkGarbage marks garbage blobs; any use of a
// marked blob (KeepBlob, LinkBlob, PutBlob) unmarks it; SweepGarbage
// deletes blobs still marked and still garbage after a grace period, and
// queues their bytes for deletion from the blob store.
type Garbage interface {
	// MarkGarbage marks, at time now, up to n unmarked garbage blobs
	// created before cutoff, scanning digests after last. It returns how
	// many it marked and the last digest scanned ("" when done).
	MarkGarbage(ctx context.Context, cutoff, now time.Time, last digest.Digest, n int) (marked int, next digest.Digest, err error)
	// GarbageBlobs lists up to n garbage blobs created before cutoff after
	// digest last, marked or not, without changing anything (dry runs).
	GarbageBlobs(ctx context.Context, cutoff time.Time, last digest.Digest, n int) ([]Blob, error)
	// SweepGarbage deletes up to n blobs marked before markedBefore that
	// are still garbage, with their repository links, and queues their
	// locations for deletion from the blob store, in one transaction.
	SweepGarbage(ctx context.Context, markedBefore time.Time, n int) ([]Blob, error)
	// PendingDeletions lists up to n blob store locations queued for
	// deletion; DeletionDone removes one from the queue.
	PendingDeletions(ctx context.Context, n int) ([]string, error)
	DeletionDone(ctx context.Context, location string) error
	// StaleUploads lists up to n upload sessions last written before
	// cutoff.
	StaleUploads(ctx context.Context, cutoff time.Time, n int) ([]Upload, error)
	// PurgeUpload removes upload session id if it was still last written
	// before cutoff, and reports whether it did: a session written since
	// it was listed as stale is kept with what was written.
	PurgeUpload(ctx context.Context, id string, cutoff time.Time) (bool, error)
	// UnknownObjects returns the objects of objs, found by a walk of the
	// blob store, that the index does not know: whose key is no blob's
	// location and is not queued for deletion, and whose upload is no
	// session. It answers from one consistent read of the index, so bytes
	// that a request moves from its upload session to a blob meanwhile
	// are known either way (a blob is recorded before its session ends).
	UnknownObjects(ctx context.Context, objs []StoredObject) ([]StoredObject, error)
}

// StoredObject names bytes found in the blob store: the key they are
// stored under and the id of the upload they came from.
type StoredObject struct {
	Key    string
	Upload string
}

// Upload is an upload session: how many bytes were received and the hash
// state over them, so the upload resumes in any later request or process.
type Upload struct {
	ID         string
	Repository string
	Size       int64
	Algorithm  digest.Algorithm // the algorithm HashState belongs to
	HashState  []byte
	// StorageState is the blob store's own state of the upload, kept here
	// so that it travels with the session.
	StorageState []byte
	StartedAt    time.Time
	UpdatedAt    time.Time
}

// Uploads records upload sessions.
type Uploads interface {
	// CreateUpload records a new upload session.
	CreateUpload(ctx context.Context, u Upload) error
	// Upload returns session id. ErrUploadUnknown if there is none.
	Upload(ctx context.Context, id string) (Upload, error)
	// UpdateUpload stores u's size, hash and storage state if the session still has
	// size fromSize. ErrUploadConflict if it does not; ErrUploadUnknown if
	// the session is gone.
	UpdateUpload(ctx context.Context, u Upload, fromSize int64) error
	// DeleteUpload removes session id. Deleting a missing session is not
	// an error.
	DeleteUpload(ctx context.Context, id string) error
}
