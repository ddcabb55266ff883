package metadatatest

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// A scan is recorded per image, replaced by the next, listed when complete
// and removed with its image; layer inventories are kept by digest.
func testScans(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	cfg := blob("config")
	mustPutBlob(t, s, "app", cfg)
	a, b := manifest("app", "a", cfg.Digest), manifest("app", "b", cfg.Digest)
	mustPutManifest(t, s, a)
	mustPutManifest(t, s, b)
	if _, err := s.Scan(ctx, "app", a.Digest); !errors.Is(err, metadata.ErrScanUnknown) {
		t.Fatalf("Scan before any: %v", err)
	}
	at := time.Unix(1700000000, 0)
	pending := metadata.Scan{Repository: "app", Digest: a.Digest, Status: "PENDING", StartedAt: at}
	if err := s.PutScan(ctx, pending); err != nil {
		t.Fatal(err)
	}
	done := metadata.Scan{Repository: "app", Digest: a.Digest, Status: "COMPLETE", Description: "ok", StartedAt: at,
		CompletedAt: at.Add(time.Second), SourceUpdatedAt: at.Add(-time.Hour), VulnDBGeneration: 7, Findings: `[{"name":"CVE-1","severity":"HIGH"}]`, Inventory: `{"packages":[]}`,
		SeverityCounts: map[string]int{"HIGH": 1}}
	if err := s.PutScan(ctx, done); err != nil {
		t.Fatal(err)
	}
	got, err := s.Scan(ctx, "app", a.Digest)
	if err != nil || got.Status != "COMPLETE" || got.Findings != done.Findings || got.Inventory != done.Inventory || !maps.Equal(got.SeverityCounts, done.SeverityCounts) ||
		!got.StartedAt.Equal(at) || !got.CompletedAt.Equal(done.CompletedAt) || !got.SourceUpdatedAt.Equal(done.SourceUpdatedAt) ||
		got.VulnDBGeneration != 7 {
		t.Fatalf("Scan = %+v, %v", got, err)
	}
	if err := s.PutScan(ctx, metadata.Scan{Repository: "app", Digest: b.Digest, Status: "FAILED"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Scan(ctx, "app", b.Digest); err != nil || got.SeverityCounts != nil {
		t.Errorf("Scan(FAILED) = %+v, %v; want no severity counts", got, err)
	}
	list, err := s.CompletedScans(ctx, "", "", 10)
	if err != nil || len(list) != 1 || list[0].Digest != a.Digest || !maps.Equal(list[0].SeverityCounts, done.SeverityCounts) {
		t.Errorf("CompletedScans = %v, %v", list, err)
	}
	if list, err := s.UnfinishedScans(ctx, "", "", 10); err != nil || len(list) != 0 {
		t.Errorf("UnfinishedScans with none = %v, %v", list, err)
	}
	if err := s.PutScan(ctx, metadata.Scan{Repository: "app", Digest: b.Digest, Status: "PENDING"}); err != nil {
		t.Fatal(err)
	}
	if list, err := s.UnfinishedScans(ctx, "", "", 10); err != nil || len(list) != 1 || list[0].Digest != b.Digest {
		t.Errorf("UnfinishedScans = %v, %v", list, err)
	}
	if err := s.PutScan(ctx, metadata.Scan{Repository: "app", Digest: b.Digest, Status: "FAILED"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutScan(ctx, metadata.Scan{Repository: "app", Digest: blob("nothing").Digest, Status: "PENDING"}); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("PutScan of an unknown image: %v", err)
	}
	if err := s.DeleteManifest(ctx, "app", a.Digest); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Scan(ctx, "app", a.Digest); !errors.Is(err, metadata.ErrScanUnknown) {
		t.Errorf("Scan after the image went: %v", err)
	}

	if inv, err := s.LayerInventory(ctx, cfg.Digest); err != nil || inv != "" {
		t.Errorf("LayerInventory before any = %q, %v", inv, err)
	}
	if err := s.PutLayerInventory(ctx, cfg.Digest, `{"x":1}`); err != nil {
		t.Fatal(err)
	}
	if inv, _ := s.LayerInventory(ctx, cfg.Digest); inv != `{"x":1}` {
		t.Errorf("LayerInventory = %q", inv)
	}
}

// The vulnerability data's generation starts at 0 and each bump raises it
// by one, as every reader then sees.
func testVulnDBGeneration(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	if gen, err := s.VulnDBGeneration(ctx); err != nil || gen != 0 {
		t.Fatalf("VulnDBGeneration before any bump = %d, %v; want 0", gen, err)
	}
	for want := int64(1); want <= 3; want++ {
		if gen, err := s.BumpVulnDBGeneration(ctx); err != nil || gen != want {
			t.Fatalf("BumpVulnDBGeneration = %d, %v; want %d", gen, err, want)
		}
		if gen, err := s.VulnDBGeneration(ctx); err != nil || gen != want {
			t.Errorf("VulnDBGeneration after bump %d = %d, %v", want, gen, err)
		}
	}
}
