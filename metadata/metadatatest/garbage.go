package metadatatest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// markAll runs MarkGarbage to the end, a blob at a time, and returns how
// many blobs it marked.
func markAll(t *testing.T, s metadata.Store, cutoff, at time.Time) int {
	t.Helper()
	total := 0
	var last digest.Digest
	for {
		n, next, err := s.MarkGarbage(t.Context(), cutoff, at, last, 1)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if next == "" {
			return total
		}
		last = next
	}
}

// Garbage is marked, unmarked by any use, swept only when still marked and
// unreferenced after the grace period, and its bytes are queued for
// deletion.
func testGarbage(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	used, loose, late := blob("used"), blob("loose"), blob("referenced after marking")
	mustPutBlob(t, s, "app", used, loose, late)
	mustPutManifest(t, s, manifest("app", "image", used.Digest))
	future := time.Now().Add(time.Hour)

	dry, err := s.GarbageBlobs(ctx, future, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []digest.Digest
	for _, b := range dry {
		names = append(names, b.Digest)
	}
	want := []digest.Digest{loose.Digest, late.Digest}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("GarbageBlobs = %v; want %v", names, want)
	}
	if n := markAll(t, s, time.Now().Add(-time.Hour), time.Now()); n != 0 {
		t.Errorf("marked %d blobs created after the cutoff", n)
	}

	t0 := time.Now()
	if n := markAll(t, s, future, t0); n != 2 {
		t.Fatalf("marked %d; want 2", n)
	}
	b, _ := s.Blob(ctx, "app", loose.Digest)
	if !b.Marked {
		t.Errorf("Blob(loose).Marked = false after marking")
	}
	// Any use unmarks: KeepBlob, PutBlob, LinkBlob.
	if err := s.KeepBlob(ctx, loose.Digest); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Blob(ctx, "app", loose.Digest); b.Marked {
		t.Errorf("KeepBlob left the blob marked")
	}
	markAll(t, s, future, t0)
	mustPutBlob(t, s, "app", loose)
	if b, _ := s.Blob(ctx, "app", loose.Digest); b.Marked {
		t.Errorf("PutBlob left the blob marked")
	}
	markAll(t, s, future, t0)
	if _, err := s.LinkBlob(ctx, "other", loose.Digest); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Blob(ctx, "other", loose.Digest); b.Marked {
		t.Errorf("LinkBlob left the blob marked")
	}
	markAll(t, s, future, t0)

	// late becomes referenced after it was marked: the sweep spares it.
	mustPutManifest(t, s, manifest("app", "late image", late.Digest))
	if swept, err := s.SweepGarbage(ctx, t0, 10); err != nil || len(swept) != 0 {
		t.Fatalf("SweepGarbage before the grace period = %v, %v", swept, err)
	}
	swept, err := s.SweepGarbage(ctx, t0.Add(time.Second), 10)
	if err != nil || len(swept) != 1 || swept[0].Digest != loose.Digest {
		t.Fatalf("SweepGarbage = %v, %v; want loose only", swept, err)
	}
	for _, repo := range []string{"app", "other"} {
		if _, err := s.Blob(ctx, repo, loose.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
			t.Errorf("Blob(%s, loose) after the sweep: %v", repo, err)
		}
	}
	if _, err := s.LinkBlob(ctx, "app", loose.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("LinkBlob of a swept blob: %v", err)
	}
	if err := s.KeepBlob(ctx, loose.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("KeepBlob of a swept blob: %v", err)
	}
	pending, err := s.PendingDeletions(ctx, 10)
	if err != nil || !slices.Equal(pending, []string{loose.Location}) {
		t.Fatalf("PendingDeletions = %v, %v", pending, err)
	}
	if err := s.DeletionDone(ctx, loose.Location); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.PendingDeletions(ctx, 10); len(pending) != 0 {
		t.Errorf("PendingDeletions after DeletionDone = %v", pending)
	}
	if _, err := s.Blob(ctx, "app", used.Digest); err != nil {
		t.Errorf("the referenced blob went: %v", err)
	}

	// Stale uploads.
	old := metadata.Upload{ID: "old", Repository: "app", Algorithm: digest.SHA256, StartedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateUpload(ctx, old); err != nil {
		t.Fatal(err)
	}
	stale, err := s.StaleUploads(ctx, time.Now().Add(time.Minute), 10)
	if err != nil || len(stale) != 1 || stale[0].ID != "old" {
		t.Errorf("StaleUploads = %v, %v", stale, err)
	}
	if stale, _ := s.StaleUploads(ctx, time.Now().Add(-time.Minute), 10); len(stale) != 0 {
		t.Errorf("StaleUploads of a fresh upload = %v", stale)
	}
	// A session written after the cutoff it was listed by is kept.
	if ok, err := s.PurgeUpload(ctx, "old", time.Now().Add(-time.Minute)); ok || err != nil {
		t.Errorf("PurgeUpload of an upload written since the cutoff = %v, %v; want false", ok, err)
	}
	if _, err := s.Upload(ctx, "old"); err != nil {
		t.Errorf("Upload after a refused purge: %v", err)
	}
	if ok, err := s.PurgeUpload(ctx, "old", time.Now().Add(time.Minute)); !ok || err != nil {
		t.Errorf("PurgeUpload of a stale upload = %v, %v; want true", ok, err)
	}
	if _, err := s.Upload(ctx, "old"); !errors.Is(err, metadata.ErrUploadUnknown) {
		t.Errorf("Upload after PurgeUpload: %v; want ErrUploadUnknown", err)
	}
}

// Garbage is found by what changed: a blob that was referenced becomes a
// candidate again when its manifest or its repository goes, and a pass
// over an index where nothing changed finds nothing to check.
func testGarbageFollowsChanges(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	a, b := blob("in a deleted manifest"), blob("in a deleted repository")
	mustPutBlob(t, s, "one", a)
	mustPutBlob(t, s, "two", b)
	ma := manifest("one", "a", a.Digest)
	mustPutManifest(t, s, ma)
	mustPutManifest(t, s, manifest("two", "b", b.Digest))
	future := time.Now().Add(time.Hour)
	if n := markAll(t, s, future, time.Now()); n != 0 {
		t.Fatalf("marked %d referenced blobs", n)
	}
	// Nothing changed: the candidates are gone, the pass finds nothing.
	if _, next, err := s.MarkGarbage(ctx, future, time.Now(), "", 10); err != nil || next != "" {
		t.Errorf("a pass over an unchanged index scanned up to %q (%v); want nothing to scan", next, err)
	}
	if err := s.DeleteManifest(ctx, "one", ma.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteRepository(ctx, "two", true); err != nil {
		t.Fatal(err)
	}
	if n := markAll(t, s, future, time.Now()); n != 2 {
		t.Errorf("marked %d blobs after deleting their manifest and repository; want 2", n)
	}
}

// A walk of the blob store asks which of the objects it found the index
// does not know: a blob's location is known, and so is a location queued
// for deletion and every object of an upload session.
func testUnknownObjects(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	kept, swept := blob("kept"), blob("swept")
	mustPutBlob(t, s, "app", kept, swept)
	future := time.Now().Add(time.Hour)
	markAll(t, s, future, time.Now())
	mustPutManifest(t, s, manifest("app", "keeps", kept.Digest))
	if got, err := s.SweepGarbage(ctx, future, 10); err != nil || len(got) != 1 {
		t.Fatalf("SweepGarbage = %v, %v; want the unreferenced blob", got, err)
	}
	up := metadata.Upload{ID: "in-progress", Repository: "app", Algorithm: digest.SHA256, StartedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateUpload(ctx, up); err != nil {
		t.Fatal(err)
	}

	orphan := metadata.StoredObject{Key: "blobs/orphan", Upload: "crashed"}
	got, err := s.UnknownObjects(ctx, []metadata.StoredObject{
		{Key: kept.Location, Upload: "u1"},
		{Key: swept.Location, Upload: "u2"},         // queued for deletion
		{Key: "uploads/in-progress", Upload: up.ID}, // its session is open
		{Key: "blobs/in-progress", Upload: up.ID},   // committed, not recorded yet
		orphan,
	})
	if err != nil || !slices.Equal(got, []metadata.StoredObject{orphan}) {
		t.Errorf("UnknownObjects = %v, %v; want only %v", got, err, orphan)
	}
	if got, err := s.UnknownObjects(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("UnknownObjects of none = %v, %v", got, err)
	}
}
