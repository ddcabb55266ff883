// Package metadata is the index of everything a person asks about:
// repositories, manifests (with their bytes, so a pull costs one read),
// tags, which blobs each repository holds, upload sessions and pull times,
// scans, lifecycle policy previews, and the identities that may use them:
// users, their policies and their access keys, and the web UI's sessions;
// and the launcher's state: ECS clusters, task definitions and tasks, log
// groups, streams and events, and Lambda functions, their versions and
// aliases. Listing, tag lists, the catalog, lifecycle and GC read the
// index and never walk the blob store.
//
// The index is declared in families of small interfaces, one file each
// (blobs.go, manifests.go, repositories.go, images.go, scans.go,
// previews.go, settings.go, identities.go, sessions.go, browsing.go,
// statistics.go, ecs.go, logs.go, lambda.go); Store is their union,
// which a backend implements: the embedded SQLite backend
// (metadata/sqlite) and, for several replicas, PostgreSQL. Consumers never
// take Store: each declares the few methods it uses, in its own package. A
// new kind of state gets its own family (and file) and a line in Store,
// never more methods on an existing one.
package metadata

import (
	"context"
	"errors"
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

	ErrPreviewUnknown = errors.New("metadata: lifecycle policy preview unknown")
	// ErrPreviewInProgress: a repository's preview is not replaced while
	// it runs.
	ErrPreviewInProgress = errors.New("metadata: lifecycle policy preview in progress")

	ErrSessionUnknown = errors.New("metadata: session unknown or expired")
	ErrSessionExists  = errors.New("metadata: session already exists")
)

// Store is the metadata index: every family, as a backend implements it
// and the metadatatest suite checks it. Implementations are safe for
// concurrent use.
type Store interface {
	Blobs
	Manifests
	Uploads
	Identities
	Repositories
	Images
	RepositoryPolicies
	Settings
	Garbage
	Scans
	LifecyclePreviews
	Sessions
	Browsing
	Statistics
	Clusters
	TaskDefinitions
	Tasks
	Services
	Logs
	Functions
	FunctionVersions
	FunctionAliases
	LambdaEvents
	Replications
	BatchResources
	BatchJobDefinitions
	BatchJobs
	// Ping reports whether the index is reachable.
	Ping(ctx context.Context) error
	// Close releases the index.
	Close() error
}
