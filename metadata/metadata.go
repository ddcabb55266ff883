// Package metadata is the index of everything a person asks about:
// repositories, manifests (with their bytes, so a pull costs one read),
// tags, which blobs each repository holds, upload sessions and pull times,
// and the identities that may use them: users, their policies and their
// access keys.
// Listing, tag lists, the catalog, lifecycle and GC read the index and never
// walk the blob store.
//
// Store is implemented by the embedded SQLite backend (metadata/sqlite) and,
// for several replicas, by PostgreSQL.
package metadata

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Errors returned by Store methods.
var (
	ErrRepositoryUnknown = errors.New("metadata: repository unknown")
	ErrRepositoryExists  = errors.New("metadata: repository already exists")
	ErrScanUnknown       = errors.New("metadata: no scan of this image")
	// ErrRepositoryNotEmpty: a repository that still holds images is
	// deleted only when forced.
	ErrRepositoryNotEmpty = errors.New("metadata: repository not empty")
	ErrBlobUnknown        = errors.New("metadata: blob unknown")
	ErrManifestUnknown    = errors.New("metadata: manifest unknown")
	ErrTagUnknown         = errors.New("metadata: tag unknown")
	ErrUploadUnknown      = errors.New("metadata: upload unknown")
	// ErrUploadConflict means the upload's size changed since it was read:
	// another request wrote to it concurrently.
	ErrUploadConflict = errors.New("metadata: upload modified concurrently")

	ErrUserExists       = errors.New("metadata: user already exists")
	ErrUserUnknown      = errors.New("metadata: user unknown")
	ErrAccessKeyExists  = errors.New("metadata: access key already exists")
	ErrAccessKeyUnknown = errors.New("metadata: access key unknown")
	// ErrAccessKeyStatus is returned for a status other than
	// AccessKeyActive and AccessKeyInactive.
	ErrAccessKeyStatus = errors.New("metadata: access key status must be Active or Inactive")
)

// MissingReferencesError is returned by PutManifest when blobs or child
// manifests the manifest references are not in its repository.
type MissingReferencesError struct {
	Digests []digest.Digest
}

func (e *MissingReferencesError) Error() string {
	parts := make([]string, len(e.Digests))
	for i, d := range e.Digests {
		parts[i] = d.String()
	}
	return fmt.Sprintf("metadata: references not found: %s", strings.Join(parts, ", "))
}

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

// RefKind says what a manifest reference points at.
type RefKind int

// Reference kinds.
const (
	RefBlob     RefKind = iota // a config or layer blob
	RefManifest                // a child manifest of an index
)

// Reference is something a manifest needs to exist in its repository.
type Reference struct {
	Digest digest.Digest
	Kind   RefKind
}

// Manifest is a manifest stored in a repository.
type Manifest struct {
	Repository   string
	Digest       digest.Digest
	MediaType    string
	ArtifactType string // artifactType, or config media type of an artifact
	Content      []byte
	Subject      digest.Digest     // empty without a subject
	Annotations  map[string]string // top-level annotations, for referrers
	References   []Reference
	PushedAt     time.Time
	LastPulledAt time.Time // zero if never pulled
	// StorageClass is "" (standard) or StorageClassArchive; an archived
	// manifest is listed but not served.
	StorageClass string
}

// StorageClassArchive marks a manifest moved to the archive by a
// lifecycle policy or UpdateImageStorageClass.
const StorageClassArchive = "archive"

// Descriptor describes a manifest in a referrers list.
type Descriptor struct {
	MediaType    string
	Digest       digest.Digest
	Size         int64
	ArtifactType string
	Annotations  map[string]string
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

// Pull records that a manifest was pulled at a time.
type Pull struct {
	Repository string
	Digest     digest.Digest
	At         time.Time
}

// Store is the metadata index. Implementations are safe for concurrent use.
type Store interface {
	Blobs
	Manifests
	Uploads
	Identities
	Repositories
	RepositoryPolicies
	Settings
	Garbage
	Scans
	// Ping reports whether the index is reachable.
	Ping(ctx context.Context) error
	// Close releases the index.
	Close() error
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
}

// Manifests records manifests, tags and repositories.
type Manifests interface {
	// Manifest returns the manifest that reference (a tag or a digest)
	// names in repo. ErrManifestUnknown if there is none.
	Manifest(ctx context.Context, repo, reference string) (Manifest, error)
	// PutManifest stores m in its repository, creating the repository, and
	// points tags at it, in one transaction. *MissingReferencesError if a
	// blob or child manifest of m is not in the repository.
	PutManifest(ctx context.Context, m Manifest, tags []string) error
	// DeleteManifest removes manifest dgst and every tag pointing at it.
	// ErrManifestUnknown if it is not in repo.
	DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error
	// DeleteTag removes a tag. ErrTagUnknown if repo has no such tag.
	DeleteTag(ctx context.Context, repo, tag string) error
	// Tags lists up to n tags of repo in lexical order after last (n < 0:
	// all). ErrRepositoryUnknown if the repository does not exist.
	Tags(ctx context.Context, repo, last string, n int) ([]string, error)
	// Repositories lists up to n repository names in lexical order after
	// last (n < 0: all).
	Repositories(ctx context.Context, last string, n int) ([]string, error)
	// Referrers lists the manifests in repo whose subject is dgst, those of
	// artifactType only when it is not empty.
	Referrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) ([]Descriptor, error)
	// RecordPulls stores the last pull time of manifests.
	RecordPulls(ctx context.Context, pulls []Pull) error
}

// Tag mutability settings, named as ECR names them.
const (
	Mutable                = "MUTABLE"
	Immutable              = "IMMUTABLE"
	MutableWithExclusion   = "MUTABLE_WITH_EXCLUSION"
	ImmutableWithExclusion = "IMMUTABLE_WITH_EXCLUSION"
)

// Repository is a repository's settings, as ECR's CreateRepository takes
// them. The index stores them; the API validates them.
type Repository struct {
	Name      string
	CreatedAt time.Time
	// TagMutability is one of Mutable (also when empty), Immutable,
	// MutableWithExclusion, ImmutableWithExclusion.
	TagMutability string
	// MutabilityExclusions are wildcard filters ('*' matches any run of
	// characters) naming the tags the *WithExclusion settings exempt.
	MutabilityExclusions []string
	ScanOnPush           bool
	// EncryptionType is AES256 (also when empty), KMS or KMS_DSSE; berth
	// stores it and KMSKey as given.
	EncryptionType string
	KMSKey         string
	// Tags are the repository's resource tags in the order set.
	Tags []ResourceTag
	// LifecyclePolicy is the lifecycle policy text, "" if none; the
	// lifecycle package parses it. LifecycleEvaluatedAt is when it was
	// last applied.
	LifecyclePolicy      string
	LifecycleEvaluatedAt time.Time
}

// ResourceTag is an AWS resource tag.
type ResourceTag struct{ Key, Value string }

// TagImmutable reports whether tag, once it exists, may not be moved to
// another image.
func (r Repository) TagImmutable(tag string) bool {
	excluded := false
	for _, f := range r.MutabilityExclusions {
		if ok, _ := path.Match(f, tag); ok {
			excluded = true
			break
		}
	}
	switch r.TagMutability {
	case Immutable:
		return true
	case ImmutableWithExclusion:
		return !excluded
	case MutableWithExclusion:
		return excluded
	}
	return false
}

// Image is a manifest as the ECR API describes it.
type Image struct {
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	// ConfigMediaType is the media type of the manifest's config blob;
	// empty for an index.
	ConfigMediaType string
	Subject         digest.Digest
	// Tags point at the image, in byte order.
	Tags []string
	// Size is the sum of the image's blob sizes; for an index, the largest
	// of its child images'.
	Size         int64
	PushedAt     time.Time
	LastPulledAt time.Time
	// StorageClass is "" (standard) or StorageClassArchive; ArchivedAt
	// and ActivatedAt are when it last moved each way (zero: never).
	StorageClass string
	ArchivedAt   time.Time
	ActivatedAt  time.Time
	// Parents counts the indexes in the repository that reference this
	// image.
	Parents int
}

// ImageTag is one row of ECR's ListImages: an image with one of its tags,
// or with Tag empty if it has none.
type ImageTag struct {
	Digest digest.Digest
	Tag    string
}

// Repositories records repositories and lists their images for the ECR
// API. Pushing through /v2/ creates repositories implicitly (PutBlob,
// PutManifest) with default settings.
type Repositories interface {
	// CreateRepository records r. ErrRepositoryExists if the name is taken.
	CreateRepository(ctx context.Context, r Repository) error
	// Repository returns repository name. ErrRepositoryUnknown if none.
	Repository(ctx context.Context, name string) (Repository, error)
	// ListRepositories lists up to n repositories after name last, in
	// byte order of their names.
	ListRepositories(ctx context.Context, last string, n int) ([]Repository, error)
	// UpdateRepository applies change to repository name in one
	// transaction and returns the result; change may not rename it.
	UpdateRepository(ctx context.Context, name string, change func(*Repository) error) (Repository, error)
	// DeleteRepository removes repository name with its manifests, tags
	// and blob links (the blobs' bytes are left for garbage collection).
	// Without force, ErrRepositoryNotEmpty if it holds a manifest.
	DeleteRepository(ctx context.Context, name string, force bool) (Repository, error)
	// Images describes up to n images of repo after digest last, in byte
	// order of their digests, with their tags and sizes.
	// ErrRepositoryUnknown if the repository does not exist.
	Images(ctx context.Context, repo string, last digest.Digest, n int) ([]Image, error)
	// ImageFacts is Images without sizes, media types and the subject's
	// artifact details: the cheaper listing lifecycle evaluation needs.
	ImageFacts(ctx context.Context, repo string, last digest.Digest, n int) ([]Image, error)
	// Image describes one image by digest. ErrManifestUnknown if none.
	Image(ctx context.Context, repo string, dgst digest.Digest) (Image, error)
	// ImageTags lists up to n (digest, tag) rows of repo after (last,
	// lastTag), by digest then tag: one per tag, and one with no tag for
	// an untagged image. tagged and untagged select which rows come back.
	ImageTags(ctx context.Context, repo string, last ImageTag, n int, tagged, untagged bool) ([]ImageTag, error)
	// ManifestParents lists the manifests in repo (indexes) that reference
	// manifest dgst.
	ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error)
	// SetStorageClass moves image dgst of repo to class ("" or
	// StorageClassArchive) at time at. ErrManifestUnknown if none.
	SetStorageClass(ctx context.Context, repo string, dgst digest.Digest, class string, at time.Time) error
}

// Scan is the vulnerability scan of one image: its status and, once
// complete, its findings. Findings and Inventory are JSON the scanner
// writes and reads; the index keeps them opaque.
type Scan struct {
	Repository string
	Digest     digest.Digest
	// Status is ECR's: PENDING, IN_PROGRESS, COMPLETE, FAILED or
	// UNSUPPORTED_IMAGE; Description says why, for people.
	Status      string
	Description string
	// StartedAt is when the scan was asked for (ECR allows one a day);
	// CompletedAt when it finished; SourceUpdatedAt the vulnerability
	// data's newest record at that time.
	StartedAt       time.Time
	CompletedAt     time.Time
	SourceUpdatedAt time.Time
	Findings        string
	// Inventory is the image's package inventory, kept so that a new
	// vulnerability database re-matches without reading the layers.
	Inventory string
}

// Scans records image scans and the package inventory of each layer.
type Scans interface {
	// PutScan records s, replacing an earlier scan of the same image.
	PutScan(ctx context.Context, s Scan) error
	// Scan returns the scan of image dgst in repo; ErrScanUnknown if none.
	Scan(ctx context.Context, repo string, dgst digest.Digest) (Scan, error)
	// CompletedScans lists up to n complete scans after (repo, dgst) in
	// that order, for re-matching after a database reload.
	CompletedScans(ctx context.Context, repo string, dgst digest.Digest, n int) ([]Scan, error)
	// UnfinishedScans lists up to n scans still PENDING or IN_PROGRESS
	// after (repo, dgst), for resuming them after a restart.
	UnfinishedScans(ctx context.Context, repo string, dgst digest.Digest, n int) ([]Scan, error)
	// LayerInventory returns the inventory recorded for layer dgst ("" if
	// none); PutLayerInventory records it.
	LayerInventory(ctx context.Context, dgst digest.Digest) (string, error)
	PutLayerInventory(ctx context.Context, dgst digest.Digest, inventory string) error
}

// Settings records registry-wide settings as opaque text by key (the ECR
// API keeps its registry policy, replication configuration, pull-through
// cache rules and account settings here, as JSON).
type Settings interface {
	// Setting returns the value of key, "" if it was never set.
	Setting(ctx context.Context, key string) (string, error)
	// PutSetting sets key to value; "" removes it.
	PutSetting(ctx context.Context, key, value string) error
}

// RepositoryPolicies records each repository's resource-based policy
// (ECR's repository policy) as opaque text; package auth/policy parses it.
type RepositoryPolicies interface {
	// RepositoryPolicy returns the policy text of repo, "" when it has
	// none. ErrRepositoryUnknown if the repository does not exist.
	RepositoryPolicy(ctx context.Context, repo string) (string, error)
	// SetRepositoryPolicy replaces the policy of repo; "" removes it.
	// ErrRepositoryUnknown if the repository does not exist.
	SetRepositoryPolicy(ctx context.Context, repo, text string) error
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

// User is a person or machine that signs requests with access keys.
type User struct {
	// Name identifies the user, like an IAM user name. Users are listed in
	// byte order of their names.
	Name string
	// ARN is the user's ARN as principals in policies name it, e.g.
	// "arn:aws:iam::123456789012:user/alice"; empty if the caller derives
	// it from Name. The store keeps it as given.
	ARN string
	// CreatedAt is when the user was created; CreateUser records the time
	// of the call when it is zero.
	CreatedAt time.Time
	// Policies are the user's identity policies, in the order given. Each
	// entry is either the ARN of a managed policy
	// ("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly") or an
	// inline policy document (JSON, starting with '{'). The store keeps
	// them as opaque strings; the auth package parses and evaluates them.
	Policies []string
}

// AccessKeyStatus says whether an access key may sign requests.
type AccessKeyStatus string

// Access key statuses, named as IAM names them.
const (
	AccessKeyActive   AccessKeyStatus = "Active"
	AccessKeyInactive AccessKeyStatus = "Inactive"
)

// Valid reports whether s is AccessKeyActive or AccessKeyInactive.
func (s AccessKeyStatus) Valid() bool {
	return s == AccessKeyActive || s == AccessKeyInactive
}

// AccessKey is a user's access key. Its secret is stored only sealed
// (encrypted and authenticated under berth's master key, bound to ID), so
// the index alone never reveals it; see package auth/secret.
type AccessKey struct {
	// ID is the public half, "AKIA" and 16 characters of [A-Z2-7], as
	// AWS's are.
	ID string
	// User is the name of the user the key belongs to.
	User string
	// SealedSecret is the secret access key as auth/secret sealed it.
	SealedSecret []byte
	// Status is AccessKeyActive or AccessKeyInactive; CreateAccessKey
	// records AccessKeyActive when it is empty.
	Status AccessKeyStatus
	// CreatedAt is when the key was created; CreateAccessKey records the
	// time of the call when it is zero.
	CreatedAt time.Time
	// LastUsedAt is the latest time given to TouchAccessKey; zero if the
	// key was never used.
	LastUsedAt time.Time
}

// Identities records users, their identity policies and their access
// keys. The request path needs only Credentials; the rest is for the
// people (and the CLI) who manage identities.
type Identities interface {
	Credentials
	// CreateUser records a new user. ErrUserExists if the name is taken.
	CreateUser(ctx context.Context, u User) error
	// Users lists every user in byte order of their names.
	Users(ctx context.Context) ([]User, error)
	// DeleteUser removes a user and all of its access keys.
	// ErrUserUnknown if there is no such user.
	DeleteUser(ctx context.Context, name string) error
	// PutUserPolicies replaces the policies of a user with policies.
	// ErrUserUnknown if there is no such user.
	PutUserPolicies(ctx context.Context, name string, policies []string) error
	// CreateAccessKey records a new access key of k.User. ErrUserUnknown
	// if the user does not exist, ErrAccessKeyExists if the ID is taken,
	// ErrAccessKeyStatus if k.Status is neither empty nor valid.
	CreateAccessKey(ctx context.Context, k AccessKey) error
	// AccessKeys lists the access keys of a user, oldest first.
	// ErrUserUnknown if there is no such user.
	AccessKeys(ctx context.Context, user string) ([]AccessKey, error)
	// SetAccessKeyStatus activates or deactivates a key.
	// ErrAccessKeyUnknown if there is no such key, ErrAccessKeyStatus if
	// status is not valid.
	SetAccessKeyStatus(ctx context.Context, id string, status AccessKeyStatus) error
	// DeleteAccessKey removes a key. ErrAccessKeyUnknown if there is no
	// such key.
	DeleteAccessKey(ctx context.Context, id string) error
}

// Credentials is what authenticating a request reads: the key that signed
// it and the user that owns it.
type Credentials interface {
	// AccessKey returns key id. ErrAccessKeyUnknown if there is none.
	AccessKey(ctx context.Context, id string) (AccessKey, error)
	// User returns the user name. ErrUserUnknown if there is none.
	User(ctx context.Context, name string) (User, error)
	// TouchAccessKey records that key id was used at a time. It is one
	// small write and never moves LastUsedAt back, so replicas may report
	// out of order; callers on the request path should still report a key
	// at most every minute or so. Touching a key that does not exist
	// (deleted meanwhile) is not an error.
	TouchAccessKey(ctx context.Context, id string, at time.Time) error
}
