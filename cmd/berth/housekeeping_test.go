package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
)

// seedImages writes n one-layer images tagged v0..v(n-1) into repo of the
// data directory's index and blob store, a second apart on clock, and
// returns their digests, oldest first.
func seedImages(t *testing.T, clock *clocktest.Clock, dataDir, repo string, n int) []digest.Digest {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = dataDir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.Context(), cfg.Metadata.SQLite.Path, sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, err := filesystem.New(cfg.Storage.Filesystem.Root)
	if err != nil {
		t.Fatal(err)
	}
	var out []digest.Digest
	for i := range n {
		layer := []byte(fmt.Sprintf("layer %d of %s", i, repo))
		u := storage.Upload{ID: fmt.Sprintf("seed%d", i)}
		if u, err = blobs.Append(t.Context(), u, bytes.NewReader(layer)); err != nil {
			t.Fatal(err)
		}
		loc, err := blobs.Commit(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		b := metadata.Blob{Digest: digest.FromBytes(layer), Size: int64(len(layer)), Location: loc}
		if _, err := store.PutBlob(t.Context(), repo, b); err != nil {
			t.Fatal(err)
		}
		body := fmt.Appendf(nil, `{"schemaVersion":2,"n":%d}`, i)
		m := metadata.Manifest{Repository: repo, Digest: digest.FromBytes(body), Content: body,
			MediaType: "application/vnd.oci.image.manifest.v1+json", References: []metadata.Reference{{Digest: b.Digest}}}
		if err := store.PutManifest(t.Context(), m, []string{fmt.Sprint("v", i)}); err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Digest)
		clock.Advance(time.Second) // distinct push times
	}
	return out
}

func runCommand(t *testing.T, dataDir string, args ...string) string {
	t.Helper()
	return runCommandAt(t, time.Now, dataDir, args...)
}

// runCommandAt runs a berth command line that must succeed, with the
// commands reading the time from now, and returns what it printed.
func runCommandAt(t *testing.T, now func() time.Time, dataDir string, args ...string) string {
	t.Helper()
	out, errOut, err := runBerthAt(t, now, dataDir, args...)
	if err != nil {
		t.Fatalf("berth %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// preview tells what a policy would do at a later time, as a table or
// JSON; run does exactly that; gc then frees the expired images' bytes.
func TestLifecycleAndGCCommands(t *testing.T) {
	dataDir := t.TempDir()
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	// Every command of this test reads the fake clock.
	runCommand := func(t *testing.T, dataDir string, args ...string) string {
		t.Helper()
		return runCommandAt(t, clock.Now, dataDir, args...)
	}
	seeded := clock.Now() // images pushed a second apart from here
	digests := seedImages(t, clock, dataDir, "app", 3)
	policy := filepath.Join(t.TempDir(), "policy.json")
	text := `{"rules":[{"rulePriority":1,"description":"one release","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	if err := os.WriteFile(policy, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	out := runCommand(t, dataDir, "lifecycle", "preview", "app", "--policy", policy, "--at", "30d")
	if at := clock.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339); !strings.HasPrefix(out, "at "+at+":\n") {
		t.Errorf("preview --at 30d is not 30 days from the clock's %s:\n%s", clock.Now(), out)
	}
	for _, d := range digests[:2] {
		if !strings.Contains(out, d.String()) {
			t.Errorf("preview lacks %s:\n%s", d, out)
		}
	}
	if strings.Contains(out, digests[2].String()) || !strings.Contains(out, "2 images in app") {
		t.Errorf("preview:\n%s", out)
	}
	// --json prints previewResults as GetLifecyclePolicyPreview does,
	// member for member, and the instant evaluated.
	printed := runCommand(t, dataDir, "lifecycle", "preview", "app", "--policy", policy, "--json", "--at", "2030-01-02T03:04:05Z")
	var doc struct {
		RepositoryName string
		At             time.Time
		PreviewResults []map[string]any
		Summary        struct{ ExpiringImageTotalCount int }
	}
	if err := json.Unmarshal([]byte(printed), &doc); err != nil || len(doc.PreviewResults) != 2 {
		t.Fatalf("preview --json: %+v, %v\n%s", doc, err, printed)
	}
	if doc.RepositoryName != "app" || !doc.At.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || doc.Summary.ExpiringImageTotalCount != 2 {
		t.Errorf("preview --json: %+v", doc)
	}
	for i, r := range doc.PreviewResults {
		var members []string
		for k := range r {
			members = append(members, k)
		}
		slices.Sort(members)
		if want := []string{"action", "appliedRulePriority", "imageDigest", "imagePushedAt", "imageTags", "storageClass"}; !slices.Equal(members, want) {
			t.Errorf("previewResults[%d] has members %v; want %v", i, members, want)
		}
		if r["imageDigest"] != digests[i].String() || fmt.Sprint(r["imageTags"]) != fmt.Sprintf("[v%d]", i) ||
			fmt.Sprint(r["action"]) != "map[type:EXPIRE]" || r["appliedRulePriority"] != 1.0 || r["storageClass"] != "STANDARD" {
			t.Errorf("previewResults[%d] = %v", i, r)
		}
		if pushed, err := time.Parse(time.RFC3339, fmt.Sprint(r["imagePushedAt"])); err != nil || !pushed.Equal(seeded.Add(time.Duration(i)*time.Second)) {
			t.Errorf("previewResults[%d].imagePushedAt = %v (%v); want the push time in ISO 8601", i, r["imagePushedAt"], err)
		}
	}

	// Without a policy of its own, the repository is not touched by run.
	if _, _, err := runBerthAt(t, clock.Now, dataDir, "lifecycle", "run", "app"); err == nil {
		t.Errorf("lifecycle run of a repository without a policy succeeded")
	}
	setPolicy(t, dataDir, "app", text)
	out = runCommand(t, dataDir, "lifecycle", "run", "app")
	if !strings.Contains(out, "2 images in app") {
		t.Errorf("lifecycle run:\n%s", out)
	}

	before := dirBytes(t, filepath.Join(dataDir, "blobs"))
	if out := runCommand(t, dataDir, "gc", "--dry-run", "--grace", "1ns"); !strings.Contains(out, "would free 2 blobs") {
		t.Errorf("gc --dry-run: %s", out)
	}
	runCommand(t, dataDir, "gc", "--grace", "1ns") // marks
	clock.Advance(time.Millisecond)
	if out := runCommand(t, dataDir, "gc", "--grace", "1ns"); !strings.Contains(out, "freed 2 blobs") {
		t.Errorf("gc: %s", out)
	}
	if after := dirBytes(t, filepath.Join(dataDir, "blobs")); after >= before || after == 0 {
		t.Errorf("blob store %d bytes before gc, %d after; want less but not nothing", before, after)
	}
}

func setPolicy(t *testing.T, dataDir, repo, text string) {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(dataDir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.UpdateRepository(t.Context(), repo, func(r *metadata.Repository) error { r.LifecyclePolicy = text; return nil }); err != nil {
		t.Fatal(err)
	}
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	return total
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     now,
		"36h":                  now.Add(36 * time.Hour),
		"30d":                  now.Add(30 * 24 * time.Hour),
		"2027-02-03T04:05:06Z": time.Date(2027, 2, 3, 4, 5, 6, 0, time.UTC),
	} {
		if got, err := parseWhen(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseWhen("next tuesday", now); err == nil {
		t.Errorf("parseWhen accepted nonsense")
	}
}

// gc --walk finds the bytes the index does not know in the blob store:
// --dry-run reports them, a walk deletes them, and the images stay whole.
func TestGCWalkCommand(t *testing.T) {
	dataDir := t.TempDir()
	seedImages(t, clocktest.New(time.Now()), dataDir, "app", 2)
	orphan := filepath.Join(dataDir, "blobs", "blobs", "cr", "crashed")
	if err := os.MkdirAll(filepath.Dir(orphan), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(orphan, []byte("committed, never recorded"), 0o640); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(orphan, past, past)
	before := dirBytes(t, filepath.Join(dataDir, "blobs"))

	if out := runCommand(t, dataDir, "gc", "--walk", "--dry-run"); !strings.Contains(out, "walked 3 objects; would delete 1 (25.0 B (25 bytes))") {
		t.Errorf("gc --walk --dry-run: %s", out)
	}
	if _, err := os.Stat(orphan); err != nil {
		t.Fatalf("the dry run deleted the orphan: %v", err)
	}
	// Within the grace period the orphan is left alone.
	if out := runCommand(t, dataDir, "gc", "--walk", "--grace", "3h"); !strings.Contains(out, "deleted 0") {
		t.Errorf("gc --walk --grace 3h: %s", out)
	}
	if out := runCommand(t, dataDir, "gc", "--walk"); !strings.Contains(out, "deleted 1 ") {
		t.Errorf("gc --walk: %s", out)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the orphan is still there: %v", err)
	}
	if after := dirBytes(t, filepath.Join(dataDir, "blobs")); after != before-25 {
		t.Errorf("blob store %d bytes before the walk, %d after; want the orphan's 25 fewer", before, after)
	}
}
