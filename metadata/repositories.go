package metadata

import (
	"context"
	"path"
	"time"
)

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

// Repositories records repositories and their settings. Pushing through
// /v2/ creates repositories implicitly (PutBlob, PutManifest) with default
// settings.
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
