package scanner_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/scanner/scannertest"
	"github.com/berth-dev/berth/storage/filesystem"
)

func mustScan(t *testing.T, s *scanner.Scanner, repo string, dgst digest.Digest) (findings int, generation int64) {
	t.Helper()
	sc, err := s.Scan(t.Context(), repo, dgst)
	if err != nil || sc.Status != scanner.StatusComplete {
		t.Fatalf("Scan = %s %s, %v", sc.Status, sc.Description, err)
	}
	fs, err := scanner.Findings(sc)
	if err != nil {
		t.Fatal(err)
	}
	return len(fs), sc.VulnDBGeneration
}

// Data that Import installs is used by the very next scan of a scanner
// that loaded older data, with no reload in between (before, it waited for
// Watch's interval), and every scan records the generation it used. A
// scanner that notices new data tells Watch, which re-matches the stored
// scans at once. Data copied into the directory by hand gets a new
// generation when Reload finds it, which other scanners of the index then
// use.
func TestImportedDataAppliesAtOnce(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	osvDir := filepath.Join(dir, "osv")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := scanner.New(t.Context(), store, blobs, osvDir, log)
	if err != nil {
		t.Fatal(err)
	}
	before := scannertest.PutDebianImage(t, store, blobs, "app", "before")
	if n, gen := mustScan(t, s, "app", before); n != 0 || gen != 0 {
		t.Fatalf("scan with no data: %d findings, generation %d", n, gen)
	}

	src := t.TempDir()
	scannertest.WriteOSVRecord(t, src, "DEBIAN-CVE-2024-0001")
	records, gen, err := scanner.Import(t.Context(), store, src, osvDir)
	if err != nil || records != 1 || gen != 1 {
		t.Fatalf("Import = %d records, generation %d, %v; want 1, 1", records, gen, err)
	}
	after := scannertest.PutDebianImage(t, store, blobs, "app", "after")
	if n, gen := mustScan(t, s, "app", after); n != 1 || gen != 1 {
		t.Errorf("scan after the import: %d findings, generation %d; want 1 from generation 1", n, gen)
	}

	// Watch re-matches the scan made before the import without waiting
	// for its interval.
	go s.Watch(t.Context(), time.Hour)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		sc, err := store.Scan(t.Context(), "app", before)
		if err == nil && sc.VulnDBGeneration == 1 {
			if fs, _ := scanner.Findings(sc); len(fs) != 1 {
				t.Errorf("re-matched scan: %d findings; want 1", len(fs))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scan before the import was not re-matched: %+v, %v", sc, err)
		}
	}

	// A record copied in by hand: Reload finds it and bumps the
	// generation, and a second scanner of the index, loaded before, uses
	// it at its next scan.
	other, err := scanner.New(t.Context(), store, blobs, osvDir, log)
	if err != nil {
		t.Fatal(err)
	}
	scannertest.WriteOSVRecord(t, osvDir, "DEBIAN-CVE-2024-0002")
	if _, err := s.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, gen := mustScan(t, other, "app", after); n != 2 || gen != 2 {
		t.Errorf("the other scanner after a hand-copied record: %d findings, generation %d; want 2 from generation 2", n, gen)
	}
}
