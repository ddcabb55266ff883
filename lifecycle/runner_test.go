package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
)

// putImage records an image of repo in the index: a manifest referencing
// one shared blob, optionally with a subject, under tags.
func putImage(t *testing.T, store metadata.Store, repo, content string, subject digest.Digest, tags ...string) digest.Digest {
	t.Helper()
	layer := metadata.Blob{Digest: digest.FromString("layer"), Size: 10, Location: "x"}
	if _, err := store.PutBlob(t.Context(), repo, layer); err != nil {
		t.Fatal(err)
	}
	body := fmt.Appendf(nil, `{"schemaVersion":2,"c":%q}`, content)
	m := metadata.Manifest{Repository: repo, Digest: digest.FromBytes(body), Content: body, Subject: subject,
		MediaType: "application/vnd.oci.image.manifest.v1+json", References: []metadata.Reference{{Digest: layer.Digest}}}
	if err := store.PutManifest(t.Context(), m, tags); err != nil {
		t.Fatal(err)
	}
	return m.Digest
}

func openStore(t *testing.T, opts ...sqlite.Option) metadata.Store {
	t.Helper()
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/berth.db", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

const runnerPolicy = `{"rules":[
 {"rulePriority":1,"description":"two newest releases","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}},
 {"rulePriority":2,"description":"untagged after a day","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},
 {"rulePriority":3,"description":"archive old dev builds","selection":{"tagStatus":"tagged","tagPrefixList":["dev"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"transition","targetStorageClass":"archive"}}]}`

// A run applies exactly what a preview at the same instant shows: it
// expires, archives, keeps what an index uses, takes referrers with their
// subject, and records when it ran.
func TestRunnerAppliesWhatPreviewShows(t *testing.T) {
	ctx := t.Context()
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	store := openStore(t, sqlite.WithClock(clock.Now))
	var v []digest.Digest
	for i := range 4 {
		v = append(v, putImage(t, store, "app", fmt.Sprint("v", i), "", fmt.Sprint("v", i)))
		clock.Advance(time.Second) // distinct push times
	}
	sig := putImage(t, store, "app", "signature of v0", v[0])
	untagged := putImage(t, store, "app", "untagged", "")
	child := putImage(t, store, "app", "child", "")
	indexBody := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	err := store.PutManifest(ctx, metadata.Manifest{Repository: "app", Digest: digest.FromBytes(indexBody), Content: indexBody,
		MediaType: "application/vnd.oci.image.index.v1+json", References: []metadata.Reference{{Digest: child, Kind: metadata.RefManifest}}}, []string{"multi"})
	if err != nil {
		t.Fatal(err)
	}
	dev := putImage(t, store, "app", "dev", "", "dev-1")
	if _, err := store.UpdateRepository(ctx, "app", func(r *metadata.Repository) error { r.LifecyclePolicy = runnerPolicy; return nil }); err != nil {
		t.Fatal(err)
	}

	later := clock.Advance(48 * time.Hour)
	r := NewRunner(store, nil, WithClock(clock.Now))
	preview, err := r.Preview(ctx, "app", nil, later)
	if err != nil {
		t.Fatal(err)
	}
	var applied []Result
	r.Applied = func(_ string, res Result) { applied = append(applied, res) }
	done, err := r.Run(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(done) != fmt.Sprint(preview) || fmt.Sprint(applied) != fmt.Sprint(done) {
		t.Errorf("run did %v; preview said %v", done, preview)
	}

	want := map[digest.Digest]string{v[0]: "expire", v[1]: "expire", sig: "expire", untagged: "expire", dev: "transition"}
	for _, res := range done {
		if want[digest.Digest(res.Digest)] != res.Action.Type {
			t.Errorf("unexpected %s of %s (tags %v)", res.Action.Type, res.Digest, res.Tags)
		}
		delete(want, digest.Digest(res.Digest))
	}
	if len(want) != 0 {
		t.Errorf("not acted on: %v", want)
	}
	left, _ := Images(ctx, store, "app")
	var kept []string
	for _, im := range left {
		kept = append(kept, im.Digest+"/"+im.Class())
	}
	for _, d := range []digest.Digest{v[2], v[3], child} {
		if !slices.Contains(kept, d.String()+"/standard") {
			t.Errorf("%s was not kept: %v", d, kept)
		}
	}
	if !slices.Contains(kept, dev.String()+"/archive") {
		t.Errorf("dev build not archived: %v", kept)
	}
	rp, _ := store.Repository(ctx, "app")
	if !rp.LifecycleEvaluatedAt.Equal(later) {
		t.Errorf("LifecycleEvaluatedAt = %v; want %v", rp.LifecycleEvaluatedAt, later)
	}

	// Idempotent: a second run at the same instant does nothing more.
	if again, err := r.Run(ctx, "app"); err != nil || len(again) != 0 {
		t.Errorf("second run = %v, %v", again, err)
	}
	// RunAll covers repositories with a policy only.
	putImage(t, store, "other", "x", "")
	all, err := r.RunAll(context.Background())
	if err != nil || len(all) != 1 {
		t.Errorf("RunAll = %v, %v", all, err)
	}
	if _, err := r.Preview(ctx, "other", nil, later); err != ErrNoPolicy {
		t.Errorf("Preview without a policy: %v", err)
	}
}
