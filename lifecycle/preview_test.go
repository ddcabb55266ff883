package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/metadata"
)

const keepNewest = `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`

// previewFixture is a repository of three images and a clock the
// Previewers under test read.
type previewFixture struct {
	store metadata.Store
	clock *clocktest.Clock
}

func newPreviewFixture(t *testing.T) *previewFixture {
	f := &previewFixture{store: openStore(t), clock: clocktest.New(time.Unix(1_800_000_000, 0))}
	for i := range 3 {
		putImage(t, f.store, "app", fmt.Sprint("image ", i), "", fmt.Sprint("v", i))
	}
	return f
}

// previewer is a Previewer over the fixture's index, on its clock, with
// evaluation reading images through images (nil: the index).
func (f *previewFixture) previewer(images RunnerStore) *Previewer {
	if images == nil {
		images = f.store
	}
	return NewPreviewer(f.store, NewRunner(images, nil), nil, WithClock(f.clock.Now))
}

func (f *previewFixture) preview(t *testing.T) metadata.LifecyclePreview {
	t.Helper()
	p, err := f.store.LifecyclePreview(t.Context(), "app")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// assertComplete checks that the preview recorded what the Runner's own
// preview shows: two of the three images expired.
func (f *previewFixture) assertComplete(t *testing.T) {
	t.Helper()
	policy, err := Parse(keepNewest)
	if err != nil {
		t.Fatal(err)
	}
	want, err := NewRunner(f.store, nil).Preview(t.Context(), "app", policy, f.clock.Now())
	if err != nil || len(want) != 2 {
		t.Fatalf("Runner.Preview = %v, %v; want 2 results", want, err)
	}
	p := f.preview(t)
	results, err := f.store.PreviewResults(t.Context(), "app", p.ID, metadata.AnyImage(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != metadata.PreviewComplete || p.Expiring != 2 || p.Transitioning != 0 || len(results) != len(want) {
		t.Fatalf("preview %+v with results %+v; want %+v", p, results, want)
	}
	for i, r := range results {
		w := want[i]
		if r.Position != i+1 || r.Digest.String() != w.Digest || fmt.Sprint(r.Tags) != fmt.Sprint(w.Tags) || !r.PushedAt.Equal(w.PushedAt) ||
			r.StorageClass != w.StorageClass || r.RulePriority != w.RulePriority || r.Action != w.Action.Type || r.TargetStorageClass != w.Action.TargetStorageClass {
			t.Errorf("result %d = %+v; want %+v", i, r, w)
		}
	}
}

// A preview is kept in the index: one replica starts it, another runs it,
// and a third (or the first) reads the outcome.
func TestPreviewRunsAnywhere(t *testing.T) {
	f := newPreviewFixture(t)
	started, err := f.previewer(nil).Start(t.Context(), "app", keepNewest)
	if err != nil {
		t.Fatal(err)
	}
	if started.Status != metadata.PreviewInProgress || started.Policy != keepNewest {
		t.Errorf("Start = %+v", started)
	}
	if _, err := f.previewer(nil).Start(t.Context(), "app", keepNewest); !errors.Is(err, metadata.ErrPreviewInProgress) {
		t.Errorf("a second Start while the first runs: %v; want ErrPreviewInProgress", err)
	}
	if n, err := f.previewer(nil).RunPending(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunPending on another replica = %d, %v; want 1", n, err)
	}
	f.assertComplete(t)
	if p := f.preview(t); p.ID != started.ID || !p.CompletedAt.Equal(f.clock.Now()) || !p.ClaimedAt.IsZero() {
		t.Errorf("finished preview %+v", p)
	}
	if n, err := f.previewer(nil).RunPending(t.Context()); n != 0 || err != nil {
		t.Errorf("RunPending with nothing left = %d, %v", n, err)
	}
}

// A preview claimed by a process that died is taken up once its claim
// lapses, and not before.
func TestPreviewResumedAfterItsProcessDied(t *testing.T) {
	f := newPreviewFixture(t)
	ctx := t.Context()
	dead := f.previewer(nil)
	if _, err := dead.Start(ctx, "app", keepNewest); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ClaimPreview(ctx, f.clock.Now(), f.clock.Now()); err != nil { // the dead process's claim
		t.Fatal(err)
	}
	next := f.previewer(nil)
	f.clock.Advance(next.Lease - time.Second)
	if n, err := next.RunPending(ctx); n != 0 || err != nil {
		t.Fatalf("RunPending while the claim holds = %d, %v; want 0", n, err)
	}
	if p := f.preview(t); p.Status != metadata.PreviewInProgress {
		t.Fatalf("preview %+v; want it still in progress", p)
	}
	f.clock.Advance(2 * time.Second)
	if n, err := next.RunPending(ctx); n != 1 || err != nil {
		t.Fatalf("RunPending after the claim lapsed = %d, %v; want 1", n, err)
	}
	f.assertComplete(t)
}

// blockingImages holds the image listing of an evaluation until its
// context ends, and says when it is reached.
type blockingImages struct {
	metadata.Store
	reached chan struct{}
}

func (b blockingImages) ImageFacts(ctx context.Context, _ string, _ digest.Digest, _ int) ([]metadata.Image, error) {
	close(b.reached)
	<-ctx.Done()
	return nil, ctx.Err()
}

// A process stopped during a preview gives its claim up, so the next one
// runs it at once; nothing is recorded as failed.
func TestPreviewStoppedMidwayIsGivenUp(t *testing.T) {
	f := newPreviewFixture(t)
	slow := blockingImages{f.store, make(chan struct{})}
	p := f.previewer(slow)
	if _, err := p.Start(t.Context(), "app", keepNewest); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	<-slow.reached
	if pv := f.preview(t); pv.ClaimedAt.IsZero() {
		t.Errorf("preview %+v is not claimed while it runs", pv)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run = %v; want nil when stopped", err)
	}
	if pv := f.preview(t); pv.Status != metadata.PreviewInProgress || !pv.ClaimedAt.IsZero() {
		t.Fatalf("preview after the stop = %+v; want in progress and unclaimed", pv)
	}
	if n, err := f.previewer(nil).RunPending(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunPending after the stop = %d, %v; want 1", n, err)
	}
	f.assertComplete(t)
}

// A preview whose repository goes while it runs stops when its claim is
// next renewed, and records nothing.
func TestPreviewOfDeletedRepositoryStops(t *testing.T) {
	f := newPreviewFixture(t)
	slow := blockingImages{f.store, make(chan struct{})}
	p := f.previewer(slow)
	p.Lease = 3 * time.Millisecond // renewed every millisecond
	if _, err := p.Start(t.Context(), "app", keepNewest); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := p.RunPending(t.Context())
		done <- err
	}()
	<-slow.reached
	if _, err := f.store.DeleteRepository(t.Context(), "app", true); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("RunPending = %v; want nil for a preview that went", err)
	}
}

// A policy that no longer parses fails its preview instead of running it.
func TestPreviewOfBadPolicyFails(t *testing.T) {
	f := newPreviewFixture(t)
	p := f.previewer(nil)
	if _, err := p.Start(t.Context(), "app", `{"rules":[{"rulePriority":0}]}`); err != nil {
		t.Fatal(err)
	}
	if n, err := p.RunPending(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunPending = %d, %v", n, err)
	}
	if pv := f.preview(t); pv.Status != metadata.PreviewFailed || pv.Expiring != 0 {
		t.Errorf("preview of a bad policy = %+v; want FAILED", pv)
	}
}

// A what-if preview evaluates the policy at its own instant; an ECR
// preview at the instant it runs.
func TestPreviewAtAnInstant(t *testing.T) {
	f := newPreviewFixture(t)
	f.clock.Set(time.Now()) // the fixture's images were pushed just now
	const monthOld = `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30},"action":{"type":"expire"}}]}`
	p := f.previewer(nil)
	at := f.clock.Now().AddDate(0, 0, 31)
	started, err := p.StartAt(t.Context(), "app", monthOld, at)
	if err != nil || !started.At.Equal(at) {
		t.Fatalf("StartAt = %+v, %v", started, err)
	}
	if n, err := p.RunPending(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunPending = %d, %v", n, err)
	}
	if pv := f.preview(t); pv.Status != metadata.PreviewComplete || pv.Expiring != 3 || !pv.At.Equal(at) {
		t.Errorf("preview a month ahead = %+v; want all 3 images expiring", pv)
	}
	if _, err := p.Start(t.Context(), "app", monthOld); err != nil {
		t.Fatal(err)
	}
	if n, err := p.RunPending(t.Context()); n != 1 || err != nil {
		t.Fatalf("RunPending = %d, %v", n, err)
	}
	if pv := f.preview(t); pv.Status != metadata.PreviewComplete || pv.Expiring != 0 || !pv.At.IsZero() {
		t.Errorf("preview now = %+v; want nothing expiring", pv)
	}
}
