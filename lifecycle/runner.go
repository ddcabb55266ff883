package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// ErrNoPolicy: the repository has no lifecycle policy.
var ErrNoPolicy = errors.New("lifecycle: the repository has no lifecycle policy")

// RunnerStore is what a Runner needs of the metadata index.
type RunnerStore interface {
	// Repository, ListRepositories and UpdateRepository read the
	// repositories' policies and record when each was applied.
	Repository(ctx context.Context, name string) (metadata.Repository, error)
	ListRepositories(ctx context.Context, last string, n int) ([]metadata.Repository, error)
	UpdateRepository(ctx context.Context, name string, change func(*metadata.Repository) error) (metadata.Repository, error)
	// ImageFacts lists the images a policy is evaluated against.
	ImageFacts(ctx context.Context, repo string, last digest.Digest, n int) ([]metadata.Image, error)
	// DeleteManifest expires an image; SetStorageClass archives one.
	DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error
	SetStorageClass(ctx context.Context, repo string, dgst digest.Digest, class string, at time.Time) error
}

// Runner applies repositories' lifecycle policies to the index: it
// expires images (their manifests and tags go; their blobs are left to
// garbage collection) and moves images to and from the archive. It is safe
// for concurrent use.
type Runner struct {
	store RunnerStore
	log   *slog.Logger
	now   func() time.Time
	// Applied, when set, is called for each action taken (for metrics).
	Applied func(repo string, r Result)
}

// NewRunner returns a Runner over store.
func NewRunner(store RunnerStore, log *slog.Logger, opts ...Option) *Runner {
	if log == nil {
		log = slog.Default()
	}
	return &Runner{store: store, log: log, now: newOptions(opts).now}
}

// Images returns the images of repo as Evaluate sees them.
func Images(ctx context.Context, store RunnerStore, repo string) ([]Image, error) {
	var out []Image
	var last digest.Digest
	for {
		page, err := store.ImageFacts(ctx, repo, last, 1000)
		if err != nil {
			return nil, err
		}
		for _, im := range page {
			class := StorageClassStandard
			if im.StorageClass == metadata.StorageClassArchive {
				class = StorageClassArchive
			}
			out = append(out, Image{
				Digest: im.Digest.String(), Tags: im.Tags, PushedAt: im.PushedAt, LastPulledAt: im.LastPulledAt,
				ActivatedAt: im.ActivatedAt, TransitionedAt: im.ArchivedAt, StorageClass: class,
				ReferencedByIndex: im.Parents > 0, Subject: im.Subject.String(),
			})
		}
		if len(page) < 1000 {
			return out, nil
		}
		last = page[len(page)-1].Digest
	}
}

// Policy returns the parsed lifecycle policy of repo; ErrNoPolicy if it has
// none.
func (r *Runner) Policy(ctx context.Context, repo string) (*Policy, error) {
	rp, err := r.store.Repository(ctx, repo)
	if err != nil {
		return nil, err
	}
	if rp.LifecyclePolicy == "" {
		return nil, ErrNoPolicy
	}
	return Parse(rp.LifecyclePolicy)
}

// Preview returns what policy p (the repository's own when nil) would do
// to repo's images at instant at, without doing it.
func (r *Runner) Preview(ctx context.Context, repo string, p *Policy, at time.Time) ([]Result, error) {
	if p == nil {
		var err error
		if p, err = r.Policy(ctx, repo); err != nil {
			return nil, err
		}
	}
	images, err := Images(ctx, r.store, repo)
	if err != nil {
		return nil, err
	}
	return Evaluate(p, images, at), nil
}

// Run applies repo's policy now and records when. It returns the actions
// taken; an image that changed meanwhile (deleted, say) is skipped.
func (r *Runner) Run(ctx context.Context, repo string) ([]Result, error) {
	now := r.now()
	results, err := r.Preview(ctx, repo, nil, now)
	if err != nil {
		return nil, err
	}
	var done []Result
	for _, res := range results {
		dgst := digest.Digest(res.Digest)
		switch res.Action.Type {
		case ActionExpire:
			err = r.store.DeleteManifest(ctx, repo, dgst)
		case ActionTransition:
			err = r.store.SetStorageClass(ctx, repo, dgst, metadata.StorageClassArchive, now)
		}
		if errors.Is(err, metadata.ErrManifestUnknown) {
			continue
		}
		if err != nil {
			return done, fmt.Errorf("lifecycle %s: %s %s: %w", repo, res.Action.Type, res.Digest, err)
		}
		done = append(done, res)
		r.log.InfoContext(ctx, "lifecycle", "repository", repo, "action", res.Action.Type, "digest", res.Digest,
			"tags", res.Tags, "rule", res.RulePriority)
		if r.Applied != nil {
			r.Applied(repo, res)
		}
	}
	_, err = r.store.UpdateRepository(ctx, repo, func(rp *metadata.Repository) error {
		rp.LifecycleEvaluatedAt = now
		return nil
	})
	return done, err
}

// RunAll applies the policy of every repository that has one. A failure
// in one repository is logged and the others still run; the first error
// is returned.
func (r *Runner) RunAll(ctx context.Context) (map[string][]Result, error) {
	out := map[string][]Result{}
	var first error
	last := ""
	for {
		page, err := r.store.ListRepositories(ctx, last, 500)
		if err != nil {
			return out, err
		}
		for _, rp := range page {
			last = rp.Name
			if rp.LifecyclePolicy == "" {
				continue
			}
			done, err := r.Run(ctx, rp.Name)
			out[rp.Name] = done
			if err != nil {
				r.log.ErrorContext(ctx, "lifecycle run failed", "repository", rp.Name, "err", err)
				if first == nil {
					first = err
				}
			}
		}
		if len(page) < 500 {
			return out, first
		}
	}
}

// Schedule runs RunAll every interval until ctx ends.
func (r *Runner) Schedule(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if _, err := r.RunAll(ctx); err != nil && ctx.Err() == nil {
			r.log.ErrorContext(ctx, "scheduled lifecycle run", "err", err)
		}
	})
}

// every calls fn every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}
