package metadata

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// Lifecycle policy preview statuses, as ECR names them.
const (
	PreviewInProgress = "IN_PROGRESS"
	PreviewComplete   = "COMPLETE"
	PreviewFailed     = "FAILED"
)

// LifecyclePreview is a repository's latest lifecycle policy preview: what
// a policy would do to its images, worked out by whichever process claims
// it. The index keeps it, not the process that was asked, so any replica
// answers for it and a restart loses none.
type LifecyclePreview struct {
	Repository string
	// ID tells the repository's successive previews apart (pagination
	// tokens are bound to it).
	ID string
	// Policy is the policy text previewed.
	Policy string
	// At is the instant the policy is evaluated at, for a what-if in the
	// future; zero (ECR's previews) means when the preview runs.
	At time.Time
	// Status is PreviewInProgress, PreviewComplete or PreviewFailed.
	Status    string
	StartedAt time.Time
	// ClaimedAt is when a worker last claimed the preview or renewed its
	// claim; zero while nobody works on it.
	ClaimedAt   time.Time
	CompletedAt time.Time
	// Expiring and Transitioning count the results by action, once the
	// preview is complete.
	Expiring, Transitioning int
}

// PreviewResult is one image a preview acts on.
type PreviewResult struct {
	// Position is the result's place in the preview, from 1; the store
	// numbers results in the order FinishPreview is given them.
	Position int
	// Digest, Tags, PushedAt and StorageClass describe the image before
	// the action.
	Digest       digest.Digest
	Tags         []string
	PushedAt     time.Time
	StorageClass string
	// RulePriority is the rule that acts; Action and TargetStorageClass
	// what it does. The lifecycle package writes and reads them.
	RulePriority       int
	Action             string
	TargetStorageClass string
}

// LifecyclePreviews records each repository's latest lifecycle policy
// preview and its results. A preview is started IN_PROGRESS; a worker
// claims it, holds its claim while it works and finishes it; a claim not
// renewed lapses, so a preview whose worker died is claimed again.
type LifecyclePreviews interface {
	// StartPreview records a new preview of p.Repository (p.ID, p.Policy,
	// p.At, p.StartedAt), in progress and unclaimed, replacing a finished one
	// and its results. ErrPreviewInProgress if the repository's preview
	// is still in progress; ErrRepositoryUnknown.
	StartPreview(ctx context.Context, p LifecyclePreview) error
	// LifecyclePreview returns repo's latest preview. ErrPreviewUnknown
	// if it has none; ErrRepositoryUnknown.
	LifecyclePreview(ctx context.Context, repo string) (LifecyclePreview, error)
	// ClaimPreview claims, at time at, the earliest-started preview in
	// progress that is unclaimed or was last claimed before staleBefore,
	// and returns it. ErrPreviewUnknown if there is none.
	ClaimPreview(ctx context.Context, staleBefore, at time.Time) (LifecyclePreview, error)
	// HoldPreview renews the claim on preview id of repo at time at, or
	// with a zero at gives it up. ErrPreviewUnknown if that preview is no
	// longer in progress (finished, replaced, or its repository deleted).
	HoldPreview(ctx context.Context, repo, id string, at time.Time) error
	// FinishPreview records the outcome of preview p.ID of p.Repository:
	// p.Status, p.CompletedAt, p.Expiring and p.Transitioning, and its
	// results in order, in one transaction. ErrPreviewUnknown if that
	// preview is no longer in progress.
	FinishPreview(ctx context.Context, p LifecyclePreview, results []PreviewResult) error
	// PreviewResults lists up to n results of preview id of repo that f
	// selects, by position after position after; none if id is not the
	// repository's preview any more. ErrRepositoryUnknown.
	PreviewResults(ctx context.Context, repo, id string, f ImageFilter, after, n int) ([]PreviewResult, error)
}
