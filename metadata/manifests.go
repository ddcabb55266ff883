package metadata

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

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

// Pull records that a manifest was pulled at a time.
type Pull struct {
	Repository string
	Digest     digest.Digest
	At         time.Time
}

// Manifests records manifests, tags and repositories.
type Manifests interface {
	// Manifest returns the manifest that reference (a tag or a digest)
	// names in repo. ErrManifestUnknown if there is none.
	Manifest(ctx context.Context, repo, reference string) (Manifest, error)
	// PutManifest stores m in its repository, creating the repository, and
	// points tags at it, in one transaction. m.PushedAt, when not zero, is
	// recorded as its push time, the store's clock otherwise; a manifest
	// already in the repository keeps its own. *MissingReferencesError if
	// a blob or child manifest of m is not in the repository.
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
