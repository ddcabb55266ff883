package metadata

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// Replication states, as ECR's DescribeImageReplicationStatus names them.
const (
	ReplicationInProgress = "IN_PROGRESS"
	ReplicationComplete   = "COMPLETE"
	ReplicationFailed     = "FAILED"
)

// Replication is one image to copy to one destination registry: a row of
// the replication queue, kept after it is done as the image's status
// there.
type Replication struct {
	Repository  string
	Digest      digest.Digest
	Destination string // the destination's name ("<region>/<registryId>")
	Status      string // ReplicationInProgress, ReplicationComplete, ReplicationFailed
	// Failure is the last attempt's error ("" when it worked).
	Failure  string
	Attempts int
	// Due is when the next attempt may start (in progress only).
	Due       time.Time
	UpdatedAt time.Time
}

// Replications is the replication queue. It survives restarts: a push
// enqueues in the index, and workers take what is due.
type Replications interface {
	// EnqueueReplication records r (in progress, due now), replacing what
	// the index had for its image and destination.
	EnqueueReplication(ctx context.Context, r Replication) error
	// DueReplications lists up to n replications in progress due at or
	// before now, the longest waiting first.
	DueReplications(ctx context.Context, now time.Time, n int) ([]Replication, error)
	// UpdateReplication stores r's status, failure, attempts, due time and
	// UpdatedAt if its row was last updated at from, and reports whether
	// it did: an image queued again since it was read (pushed with a new
	// tag while it was being copied) stays due.
	UpdateReplication(ctx context.Context, r Replication, from time.Time) (bool, error)
	// ReplicationStatuses lists the replications of image dgst of repo,
	// by destination.
	ReplicationStatuses(ctx context.Context, repo string, dgst digest.Digest) ([]Replication, error)
}
