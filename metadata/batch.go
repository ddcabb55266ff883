package metadata

import (
	"context"
	"errors"
	"time"
)

// Errors returned by the Batch families.
var (
	ErrBatchResourceUnknown      = errors.New("metadata: batch resource unknown")
	ErrBatchJobDefinitionUnknown = errors.New("metadata: batch job definition unknown")
	ErrBatchJobUnknown           = errors.New("metadata: batch job unknown")
)

// Kinds of [BatchResource].
const (
	BatchComputeEnvironment = "compute-environment"
	BatchJobQueue           = "job-queue"
)

// BatchResource is a Batch compute environment or job queue, as the
// launcher's JSON Document, opaque to the index.
type BatchResource struct {
	Kind     string
	Name     string
	Document []byte
}

// BatchResources records compute environments and job queues by kind and
// name.
type BatchResources interface {
	// PutBatchResource creates r, or replaces the resource of its kind
	// and name.
	PutBatchResource(ctx context.Context, r BatchResource) error
	// BatchResources lists the resources of kind, by name.
	BatchResources(ctx context.Context, kind string) ([]BatchResource, error)
	// DeleteBatchResource deletes the resource; ErrBatchResourceUnknown if
	// there is none.
	DeleteBatchResource(ctx context.Context, kind, name string) error
}

// BatchJobDefinition is one revision of a Batch job definition.
type BatchJobDefinition struct {
	Name     string
	Revision int
	Document []byte
}

// BatchJobDefinitions records job definitions: revisions numbered 1, 2,
// ... per name, a number never used twice.
type BatchJobDefinitions interface {
	// RegisterBatchJobDefinition stores d as the next revision of d.Name
	// and returns it with its number. Its document is written by fill,
	// called with that number inside the same transaction.
	RegisterBatchJobDefinition(ctx context.Context, name string, fill func(revision int) ([]byte, error)) (BatchJobDefinition, error)
	// PutBatchJobDefinition replaces the document of an existing revision;
	// ErrBatchJobDefinitionUnknown if there is none.
	PutBatchJobDefinition(ctx context.Context, d BatchJobDefinition) error
	// BatchJobDefinitions lists the revisions of name ("" for every name),
	// by name and revision.
	BatchJobDefinitions(ctx context.Context, name string) ([]BatchJobDefinition, error)
}

// BatchJob is a Batch job (an array's child too, once it exists), as the
// launcher's JSON Document; the index keeps the fields beside it to find
// jobs without reading documents.
type BatchJob struct {
	ID        string
	Status    string
	CreatedAt time.Time
	Document  []byte
}

// BatchJobs records Batch jobs by id.
type BatchJobs interface {
	// PutBatchJob creates j, or replaces the job of its id.
	PutBatchJob(ctx context.Context, j BatchJob) error
	// BatchJobs lists up to n jobs whose ids come after after, in byte
	// order.
	BatchJobs(ctx context.Context, after string, n int) ([]BatchJob, error)
	// DeleteBatchJobs deletes the jobs of ids that exist.
	DeleteBatchJobs(ctx context.Context, ids []string) error
}
