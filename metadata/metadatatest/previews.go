package metadatatest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// previewResults are three results of a preview: a tagged image expired,
// an untagged one, and an archived one expired.
func previewResults() []metadata.PreviewResult {
	at := time.Unix(1_700_000_000, 0)
	return []metadata.PreviewResult{
		{Digest: digest.FromString("a"), Tags: []string{"v1", "latest"}, PushedAt: at, StorageClass: "standard", RulePriority: 1, Action: "expire"},
		{Digest: digest.FromString("b"), PushedAt: at.Add(time.Second), StorageClass: "standard", RulePriority: 2, Action: "transition", TargetStorageClass: "archive"},
		{Digest: digest.FromString("c"), Tags: []string{"old"}, PushedAt: at.Add(2 * time.Second), StorageClass: metadata.StorageClassArchive, RulePriority: 3, Action: "expire"},
	}
}

// A repository has one preview at a time: started in progress, claimed by
// one worker until its claim lapses, finished with its results, and then
// replaced by the next. Results page by position and filter like images.
func testLifecyclePreviews(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	mustPutBlob(t, s, "app", blob("x"))
	t0 := time.Unix(1_700_000_000, 0)
	if _, err := s.LifecyclePreview(ctx, "nope"); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("LifecyclePreview(unknown repository): %v", err)
	}
	if err := s.StartPreview(ctx, metadata.LifecyclePreview{Repository: "nope", ID: "x", StartedAt: t0}); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("StartPreview(unknown repository): %v", err)
	}
	if _, err := s.LifecyclePreview(ctx, "app"); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("LifecyclePreview before any: %v", err)
	}
	if _, err := s.ClaimPreview(ctx, t0, t0); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("ClaimPreview with none: %v", err)
	}

	// The first is a what-if at a later instant; the next is ECR's, at
	// whenever it runs.
	first := metadata.LifecyclePreview{Repository: "app", ID: "first", Policy: `{"rules":[]}`, At: t0.Add(90 * 24 * time.Hour), StartedAt: t0}
	if err := s.StartPreview(ctx, first); err != nil {
		t.Fatal(err)
	}
	want := first
	want.Status = metadata.PreviewInProgress
	assertPreview(t, s, want)
	if err := s.StartPreview(ctx, metadata.LifecyclePreview{Repository: "app", ID: "second", StartedAt: t0}); !errors.Is(err, metadata.ErrPreviewInProgress) {
		t.Errorf("StartPreview while one runs: %v; want ErrPreviewInProgress", err)
	}
	assertPreview(t, s, want)

	// One worker claims it; its claim holds until it lapses.
	t1 := t0.Add(time.Minute)
	claimed, err := s.ClaimPreview(ctx, t0, t1)
	want.ClaimedAt = t1
	if err != nil || !samePreview(claimed, want) {
		t.Fatalf("ClaimPreview = %+v, %v; want %+v", claimed, err, want)
	}
	assertPreview(t, s, want)
	if p, err := s.ClaimPreview(ctx, t1, t1); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("ClaimPreview of a claim that holds = %+v, %v; want ErrPreviewUnknown", p, err)
	}
	t2 := t1.Add(time.Minute)
	if err := s.HoldPreview(ctx, "app", "first", t2); err != nil {
		t.Fatalf("HoldPreview: %v", err)
	}
	want.ClaimedAt = t2
	assertPreview(t, s, want)
	if _, err := s.ClaimPreview(ctx, t2, t2); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("ClaimPreview of a renewed claim: %v", err)
	}
	t3 := t2.Add(time.Minute)
	if again, err := s.ClaimPreview(ctx, t2.Add(time.Nanosecond), t3); err != nil || again.ID != "first" || !again.ClaimedAt.Equal(t3) {
		t.Errorf("ClaimPreview of a lapsed claim = %+v, %v; want it claimed again", again, err)
	}
	if err := s.HoldPreview(ctx, "app", "first", time.Time{}); err != nil {
		t.Fatalf("HoldPreview giving the claim up: %v", err)
	}
	want.ClaimedAt = time.Time{}
	assertPreview(t, s, want)
	if again, err := s.ClaimPreview(ctx, time.Time{}, t3); err != nil || again.ID != "first" {
		t.Errorf("ClaimPreview of a claim given up = %+v, %v", again, err)
	}
	for _, bad := range []struct{ repo, id string }{{"app", "other"}, {"nope", "first"}} {
		if err := s.HoldPreview(ctx, bad.repo, bad.id, t3); !errors.Is(err, metadata.ErrPreviewUnknown) {
			t.Errorf("HoldPreview(%s, %s): %v; want ErrPreviewUnknown", bad.repo, bad.id, err)
		}
	}

	// Finished with its results, it is no longer claimed nor held.
	done := first
	done.Status, done.CompletedAt, done.Expiring, done.Transitioning = metadata.PreviewComplete, t3, 2, 1
	if err := s.FinishPreview(ctx, metadata.LifecyclePreview{Repository: "app", ID: "other", Status: metadata.PreviewComplete}, nil); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("FinishPreview of another preview: %v", err)
	}
	if err := s.FinishPreview(ctx, done, previewResults()); err != nil {
		t.Fatal(err)
	}
	want = done
	assertPreview(t, s, want)
	if err := s.FinishPreview(ctx, done, previewResults()); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("FinishPreview twice: %v; want ErrPreviewUnknown", err)
	}
	if err := s.HoldPreview(ctx, "app", "first", t3); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("HoldPreview of a finished preview: %v", err)
	}
	if p, err := s.ClaimPreview(ctx, t3.Add(time.Hour), t3); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("ClaimPreview with only a finished one = %+v, %v", p, err)
	}

	all := previewResults()
	for i := range all {
		all[i].Position = i + 1
	}
	assertPreviewResults(t, s, "first", metadata.AnyImage(), 0, 10, all)
	assertPreviewResults(t, s, "first", metadata.AnyImage(), 0, 2, all[:2])
	assertPreviewResults(t, s, "first", metadata.AnyImage(), 2, 2, all[2:])
	assertPreviewResults(t, s, "first", metadata.ImageFilter{Tagged: true, Standard: true, Archived: true}, 0, 10, []metadata.PreviewResult{all[0], all[2]})
	assertPreviewResults(t, s, "first", metadata.ImageFilter{Untagged: true, Standard: true, Archived: true}, 0, 10, all[1:2])
	assertPreviewResults(t, s, "first", metadata.ImageFilter{Tagged: true, Untagged: true, Archived: true}, 0, 10, all[2:])
	byDigest := metadata.AnyImage()
	byDigest.Digests = []digest.Digest{all[2].Digest, all[0].Digest}
	assertPreviewResults(t, s, "first", byDigest, 0, 10, []metadata.PreviewResult{all[0], all[2]})
	assertPreviewResults(t, s, "first", byDigest, 1, 10, all[2:])
	assertPreviewResults(t, s, "other", metadata.AnyImage(), 0, 10, nil)
	if _, err := s.PreviewResults(ctx, "nope", "first", metadata.AnyImage(), 0, 10); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("PreviewResults(unknown repository): %v", err)
	}

	// The next preview replaces it and its results.
	second := metadata.LifecyclePreview{Repository: "app", ID: "second", Policy: `{"rules":[{}]}`, StartedAt: t3}
	if err := s.StartPreview(ctx, second); err != nil {
		t.Fatalf("StartPreview after one finished: %v", err)
	}
	want = second
	want.Status = metadata.PreviewInProgress
	assertPreview(t, s, want)
	assertPreviewResults(t, s, "first", metadata.AnyImage(), 0, 10, nil)
	assertPreviewResults(t, s, "second", metadata.AnyImage(), 0, 10, nil)
	failed := second
	failed.Status, failed.CompletedAt = metadata.PreviewFailed, t3
	if err := s.FinishPreview(ctx, failed, nil); err != nil {
		t.Fatal(err)
	}
	assertPreview(t, s, failed)

	// The earliest started is claimed first, whatever the repository.
	mustPutBlob(t, s, "b-repo", blob("x"))
	mustPutBlob(t, s, "c-repo", blob("x"))
	for i, repo := range []string{"c-repo", "app", "b-repo"} {
		if err := s.StartPreview(ctx, metadata.LifecyclePreview{Repository: repo, ID: repo, StartedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	for {
		p, err := s.ClaimPreview(ctx, t0, t3)
		if errors.Is(err, metadata.ErrPreviewUnknown) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, p.Repository)
	}
	assertStrings(t, "ClaimPreview order", order, []string{"c-repo", "app", "b-repo"})

	// A deleted repository takes its preview along.
	if _, err := s.DeleteRepository(ctx, "app", true); err != nil {
		t.Fatal(err)
	}
	mustPutBlob(t, s, "app", blob("x"))
	if p, err := s.LifecyclePreview(ctx, "app"); !errors.Is(err, metadata.ErrPreviewUnknown) {
		t.Errorf("LifecyclePreview of a repository made again = %+v, %v; want ErrPreviewUnknown", p, err)
	}
}

// A preview in progress survives a restart, claimed or not, so the next
// process takes it up.
func testPreviewSurvivesReopen(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	mustPutBlob(t, s, "app", blob("x"))
	t0 := time.Unix(1_700_000_000, 0)
	if err := s.StartPreview(t.Context(), metadata.LifecyclePreview{Repository: "app", ID: "p", Policy: "text", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimPreview(t.Context(), t0, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open)
	p, err := s.ClaimPreview(t.Context(), t0.Add(time.Minute), t0.Add(time.Minute))
	if err != nil || p.ID != "p" || p.Policy != "text" || p.Status != metadata.PreviewInProgress {
		t.Errorf("ClaimPreview after reopening = %+v, %v; want the preview left in progress", p, err)
	}
}

func samePreview(a, b metadata.LifecyclePreview) bool {
	return a.Repository == b.Repository && a.ID == b.ID && a.Policy == b.Policy && a.At.Equal(b.At) && a.Status == b.Status &&
		a.StartedAt.Equal(b.StartedAt) && a.ClaimedAt.Equal(b.ClaimedAt) && a.CompletedAt.Equal(b.CompletedAt) &&
		a.Expiring == b.Expiring && a.Transitioning == b.Transitioning
}

func assertPreview(t *testing.T, s metadata.Store, want metadata.LifecyclePreview) {
	t.Helper()
	got, err := s.LifecyclePreview(t.Context(), want.Repository)
	if err != nil || !samePreview(got, want) {
		t.Errorf("LifecyclePreview(%s) = %+v, %v; want %+v", want.Repository, got, err, want)
	}
}

func assertPreviewResults(t *testing.T, s metadata.Store, id string, f metadata.ImageFilter, after, n int, want []metadata.PreviewResult) {
	t.Helper()
	got, err := s.PreviewResults(t.Context(), "app", id, f, after, n)
	if err != nil {
		t.Fatalf("PreviewResults(%s, %+v, %d, %d): %v", id, f, after, n, err)
	}
	if len(got) != len(want) {
		t.Errorf("PreviewResults(%s, %+v, %d, %d) = %d results %+v; want %d", id, f, after, n, len(got), got, len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.PushedAt.Equal(w.PushedAt) {
			t.Errorf("result %d pushed at %v; want %v", i, g.PushedAt, w.PushedAt)
		}
		g.PushedAt, w.PushedAt = time.Time{}, time.Time{}
		if len(g.Tags) == 0 && len(w.Tags) == 0 { // no tags: nil or empty alike
			g.Tags, w.Tags = nil, nil
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("PreviewResults(%s, %+v, %d, %d)[%d] = %+v; want %+v", id, f, after, n, i, g, w)
		}
	}
}
