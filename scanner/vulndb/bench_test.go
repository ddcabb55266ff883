package vulndb

import (
	"archive/zip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// BenchmarkLoad loads 200,000 synthetic records, shaped like osv.dev's
// Debian and Go entries, from two all.zip files. Besides the time it reports
// the peak live heap seen during the load and the heap still held by the DB.
func BenchmarkLoad(b *testing.B) {
	const perEcosystem = 100_000
	dir := b.TempDir()
	writeSyntheticZip(b, filepath.Join(dir, "Debian", "all.zip"), perEcosystem, debianSynthetic)
	writeSyntheticZip(b, filepath.Join(dir, "Go", "all.zip"), perEcosystem, goSynthetic)

	var peak uint64
	var db *DB
	for b.Loop() {
		stop := samplePeakHeap(&peak)
		var err error
		db, err = Load(context.Background(), dir)
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if db.Len() != 2*perEcosystem {
			b.Fatalf("Len = %d, want %d", db.Len(), 2*perEcosystem)
		}
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(db)
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "retained-heap-MB")
}

// samplePeakHeap records into peak the largest live-object heap seen until
// the returned function is called.
func samplePeakHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			*peak = max(*peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func debianSynthetic(i int) (string, string) {
	id := fmt.Sprintf("DEBIAN-CVE-2024-%06d", i)
	return id, fmt.Sprintf(`{
  "id": %[1]q,
  "modified": "2024-%02[3]d-01T00:00:00Z",
  "published": "2024-01-01T00:00:00Z",
  "upstream": ["CVE-2024-%06[2]d"],
  "details": "A flaw was found in package %[2]d that may allow a remote attacker to cause a denial of service via crafted input.",
  "affected": [
    {"package": {"ecosystem": "Debian:11", "name": "pkg%[4]d", "purl": "pkg:deb/debian/pkg%[4]d?arch=source"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.%[2]d-1+deb11u1"}]}],
     "ecosystem_specific": {"urgency": "low"}},
    {"package": {"ecosystem": "Debian:12", "name": "pkg%[4]d", "purl": "pkg:deb/debian/pkg%[4]d?arch=source"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.%[2]d-1+deb12u1"}]}],
     "ecosystem_specific": {"urgency": "low"}}
  ],
  "references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2024-%06[2]d"}],
  "schema_version": "1.6.0"
}`, id, i, i%12+1, i%5000)
}

func goSynthetic(i int) (string, string) {
	id := fmt.Sprintf("GO-2024-%06d", i)
	return id, fmt.Sprintf(`{
  "id": %[1]q,
  "modified": "2024-%02[3]d-01T00:00:00Z",
  "published": "2024-01-01T00:00:00Z",
  "aliases": ["CVE-2024-9%05[2]d", "GHSA-%04[2]x-aaaa-bbbb"],
  "summary": "Denial of service in example.com/mod%[4]d",
  "details": "Parsing a crafted input can consume unbounded memory in example.com/mod%[4]d.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected": [
    {"package": {"ecosystem": "Go", "name": "example.com/mod%[4]d"},
     "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.%[2]d.1"}]}],
     "ecosystem_specific": {"imports": [{"path": "example.com/mod%[4]d/parse", "symbols": ["Parse", "ParseReader"]}]}}
  ],
  "references": [{"type": "FIX", "url": "https://example.com/mod%[4]d/commit/%[2]d"}],
  "database_specific": {"url": "https://pkg.go.dev/vuln/%[1]s", "review_status": "REVIEWED"},
  "schema_version": "1.6.0"
}`, id, i, i%12+1, i%5000)
}

func writeSyntheticZip(b *testing.B, path string, n int, gen func(int) (string, string)) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for i := range n {
		id, data := gen(i)
		w, err := zw.Create(id + ".json")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write([]byte(data)); err != nil {
			b.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
