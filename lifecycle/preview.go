package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// PreviewStore is what a Previewer needs of the metadata index: previews
// kept there, so that no process holds one.
type PreviewStore interface {
	StartPreview(ctx context.Context, p metadata.LifecyclePreview) error
	ClaimPreview(ctx context.Context, staleBefore, at time.Time) (metadata.LifecyclePreview, error)
	HoldPreview(ctx context.Context, repo, id string, at time.Time) error
	FinishPreview(ctx context.Context, p metadata.LifecyclePreview, results []metadata.PreviewResult) error
}

// Previewer runs lifecycle policy previews (ECR's
// StartLifecyclePolicyPreview). A preview is a row in the index, not state
// of a process: Start records it on any replica and wakes that replica's
// Run; Run claims it, evaluates it with the Runner and records the
// results. A claim is renewed while the evaluation runs and lapses when
// its process dies, so any replica's Run takes the preview up again, and
// a restart loses none.
type Previewer struct {
	store  PreviewStore
	runner *Runner
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}

	// Lease is how long a claim holds unless renewed; Run renews it every
	// third of that. Default 30s.
	Lease time.Duration
	// Poll is how often Run looks for previews it was not woken for:
	// those whose process died. Default 10s.
	Poll time.Duration
}

// NewPreviewer returns a Previewer that evaluates with runner.
func NewPreviewer(store PreviewStore, runner *Runner, log *slog.Logger, opts ...Option) *Previewer {
	if log == nil {
		log = slog.Default()
	}
	return &Previewer{store: store, runner: runner, log: log, now: newOptions(opts).now, wake: make(chan struct{}, 1),
		Lease: 30 * time.Second, Poll: 10 * time.Second}
}

// Start records a preview of policy (text that Parse accepts) for repo,
// to be run by Run. metadata.ErrPreviewInProgress if the repository's
// previous preview is still running; metadata.ErrRepositoryUnknown.
func (p *Previewer) Start(ctx context.Context, repo, policy string) (metadata.LifecyclePreview, error) {
	return p.StartAt(ctx, repo, policy, time.Time{})
}

// StartAt is Start for a what-if: the preview evaluates policy as if it
// ran at instant at (zero: when it runs), against the images as they are.
func (p *Previewer) StartAt(ctx context.Context, repo, policy string, at time.Time) (metadata.LifecyclePreview, error) {
	var id [16]byte
	rand.Read(id[:])
	pv := metadata.LifecyclePreview{Repository: repo, ID: hex.EncodeToString(id[:]), Policy: policy, At: at,
		Status: metadata.PreviewInProgress, StartedAt: p.now()}
	if err := p.store.StartPreview(ctx, pv); err != nil {
		return pv, err
	}
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
	return pv, nil
}

// Run runs previews until ctx ends: those Start records here at once,
// and every Poll those left unfinished by a process that stopped. It
// returns nil when ctx ends.
func (p *Previewer) Run(ctx context.Context) error {
	t := time.NewTicker(p.Poll)
	defer t.Stop()
	for {
		if _, err := p.RunPending(ctx); err != nil && ctx.Err() == nil {
			p.log.ErrorContext(ctx, "lifecycle policy previews", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

// RunPending runs the previews waiting now, unclaimed or with a lapsed
// claim, one after another, and returns how many it ran.
func (p *Previewer) RunPending(ctx context.Context) (int, error) {
	for n := 0; ; n++ {
		now := p.now()
		pv, err := p.store.ClaimPreview(ctx, now.Add(-p.Lease), now)
		if errors.Is(err, metadata.ErrPreviewUnknown) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := p.run(ctx, pv); err != nil {
			return n, err
		}
	}
}

// run evaluates one claimed preview and records its outcome. Stopped by
// ctx, it gives its claim up so that the next process starts at once.
func (p *Previewer) run(ctx context.Context, pv metadata.LifecyclePreview) error {
	hold, stop := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		p.hold(hold, stop, pv)
	}()
	results, err := p.evaluate(hold, pv)
	lost := hold.Err() != nil && ctx.Err() == nil // replaced or gone meanwhile
	stop()
	<-renewed
	if ctx.Err() != nil {
		release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := p.store.HoldPreview(release, pv.Repository, pv.ID, time.Time{}); err != nil && !errors.Is(err, metadata.ErrPreviewUnknown) {
			p.log.WarnContext(ctx, "giving up a lifecycle policy preview", "repository", pv.Repository, "err", err)
		}
		return nil
	}
	if lost {
		return nil
	}
	pv.Status, pv.CompletedAt = metadata.PreviewComplete, p.now()
	if err != nil {
		pv.Status, results = metadata.PreviewFailed, nil
		p.log.ErrorContext(ctx, "lifecycle policy preview failed", "repository", pv.Repository, "err", err)
	}
	var rows []metadata.PreviewResult
	for _, r := range results {
		if r.Action.Type == ActionExpire {
			pv.Expiring++
		} else {
			pv.Transitioning++
		}
		rows = append(rows, metadata.PreviewResult{
			Digest: digest.Digest(r.Digest), Tags: r.Tags, PushedAt: r.PushedAt, StorageClass: r.StorageClass,
			RulePriority: r.RulePriority, Action: r.Action.Type, TargetStorageClass: r.Action.TargetStorageClass,
		})
	}
	err = p.store.FinishPreview(ctx, pv, rows)
	if errors.Is(err, metadata.ErrPreviewUnknown) { // replaced or gone meanwhile
		return nil
	}
	return err
}

// evaluate works out what the preview's policy does to the repository's
// images now, or at the preview's instant.
func (p *Previewer) evaluate(ctx context.Context, pv metadata.LifecyclePreview) ([]Result, error) {
	policy, err := Parse(pv.Policy)
	if err != nil {
		return nil, err
	}
	at := pv.At
	if at.IsZero() {
		at = p.now()
	}
	return p.runner.Preview(ctx, pv.Repository, policy, at)
}

// hold renews the claim on pv every third of the lease until ctx ends;
// when the preview is no longer there to hold, it stops the evaluation.
func (p *Previewer) hold(ctx context.Context, stop context.CancelFunc, pv metadata.LifecyclePreview) {
	every(ctx, p.Lease/3, func() {
		err := p.store.HoldPreview(ctx, pv.Repository, pv.ID, p.now())
		if errors.Is(err, metadata.ErrPreviewUnknown) {
			stop()
		} else if err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "renewing the claim on a lifecycle policy preview", "repository", pv.Repository, "err", err)
		}
	})
}
