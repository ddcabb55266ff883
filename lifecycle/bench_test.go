package lifecycle_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/metadata/sqlite/sqlitetest"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

// fiveRules is a five-rule policy of every count type a repository of
// releases, builds and untagged images would have.
const fiveRules = `{"rules":[
 {"rulePriority":1,"description":"keep 500 releases","selection":{"tagStatus":"tagged","tagPatternList":["v*.*"],"countType":"imageCountMoreThan","countNumber":500},"action":{"type":"expire"}},
 {"rulePriority":2,"description":"dev builds: a week","selection":{"tagStatus":"tagged","tagPrefixList":["dev-"],"countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}},
 {"rulePriority":3,"description":"unpulled branches: archive","selection":{"tagStatus":"tagged","tagPrefixList":["branch-"],"countType":"sinceImagePulled","countUnit":"days","countNumber":30},"action":{"type":"transition","targetStorageClass":"archive"}},
 {"rulePriority":4,"description":"archived: 90 days","selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90},"action":{"type":"expire"}},
 {"rulePriority":5,"description":"untagged: a day","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}`

// seed fills a new index with images manifests of repository "app",
// each referencing blobsPer blobs of its own, with raw SQL in one
// transaction (the API would take minutes for a million rows). A quarter
// of the images are releases, a quarter dev builds, a quarter branch
// builds and a quarter untagged, pushed one minute apart.
func seed(b *testing.B, path string, images, blobsPer int) {
	b.Helper()
	start := time.Now().Add(-time.Duration(images) * time.Minute).UnixNano()
	stmts := []string{
		`INSERT INTO repositories(id, name, created_at) VALUES (1, 'app', 0)`,
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < %d)
			INSERT INTO manifests(repository_id, digest, media_type, size, content, pushed_at)
			SELECT 1, 'sha256:' || printf('%%064x', i), 'application/vnd.oci.image.manifest.v1+json', 2, '{}', %d + i * 60000000000 FROM c`, images-1, start),
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < %d)
			INSERT INTO tags(repository_id, name, digest, updated_at)
			SELECT 1, CASE i %% 4 WHEN 0 THEN 'v' || (i / 1000) || '.' || (i %% 1000) WHEN 1 THEN 'dev-' || i ELSE 'branch-' || i END,
				'sha256:' || printf('%%064x', i), 0 FROM c WHERE i %% 4 <> 3`, images-1),
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < %d)
			INSERT INTO blobs(digest, size, location, created_at) SELECT 'sha256:b' || printf('%%063x', i), 1000, 'loc' || i, 0 FROM c`, images*blobsPer-1),
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < %d)
			INSERT INTO repository_blobs(repository_id, digest, created_at) SELECT 1, 'sha256:b' || printf('%%063x', i), 0 FROM c`, images*blobsPer-1),
		fmt.Sprintf(`WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < %d)
			INSERT INTO manifest_references(repository_id, manifest_digest, digest, kind)
			SELECT 1, 'sha256:' || printf('%%064x', i / %d), 'sha256:b' || printf('%%063x', i), 0 FROM c`, images*blobsPer-1, blobsPer),
		`UPDATE repositories SET settings = json_object('lifecyclePolicy', ` + quote(fiveRules) + `) WHERE id = 1`,
	}
	sqlitetest.Seed(b, path, stmts...)
}

func quote(s string) string {
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += "''"
		} else {
			out += string(r)
		}
	}
	return out + "'"
}

// peakHeap samples the heap in use while fn runs and returns the peak in
// MiB.
func peakHeap(fn func()) float64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	return float64(peak.Load()) / (1 << 20)
}

// BenchmarkPreview100k evaluates a five-rule policy over a repository of
// 100,000 images read from the SQLite index: the work of a scheduled run
// or a preview. Target: under 2 s and 200 MiB.
//
//	go test -run '^$' -bench Preview100k -benchtime 3x ./lifecycle/
func BenchmarkPreview100k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "berth.db")
	seed(b, path, 100000, 1)
	store, err := sqlite.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	runner := lifecycle.NewRunner(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var peak float64
	var acted int
	for b.Loop() {
		peak = max(peak, peakHeap(func() {
			results, err := runner.Preview(b.Context(), "app", nil, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			acted = len(results)
		}))
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(acted), "images-acted-on")
}

// BenchmarkGCPass1M runs garbage collection over an index of 1,000,000
// blobs, all referenced, so there is nothing to free. A pass checks only
// candidates (blobs that are new or lost a reference): after the seeding
// all 1,000,000 are candidates, the worst case, as after a migration or a
// burst of uploads; after that first pass none are, the steady state. It
// measures both, and pull throughput (manifest and blob GETs through the
// registry by 4 clients) alone, beside steady passes and beside a
// worst-case pass. Targets: a pass under 30 s, pulls slowed by at most
// 10%.
//
//	go test -run '^$' -bench GCPass1M -benchtime 1x ./lifecycle/
func BenchmarkGCPass1M(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "berth.db")
	seed(b, path, 100000, 10)
	store, err := sqlite.Open(b.Context(), path)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	blobs, err := filesystem.New(filepath.Join(dir, "store"))
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gc := lifecycle.NewCollector(store, blobs, quiet)
	gc.Grace = time.Minute
	pass := func() time.Duration {
		start := time.Now()
		rep, err := gc.Run(b.Context(), false)
		if err != nil || rep.Marked != 0 || rep.Blobs != 0 {
			b.Fatalf("pass = %+v, %v; want nothing to do", rep, err)
		}
		return time.Since(start)
	}
	allCandidates := func() {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`INSERT OR IGNORE INTO gc_candidates SELECT digest FROM blobs`); err != nil {
			b.Fatal(err)
		}
	}

	// Pull throughput: a real image pushed through the registry into the
	// same index, pulled by 4 clients for 3 s.
	reg := registry.New(store, blobs, quiet, registry.Config{CreateOnPush: true})
	defer reg.Close(context.Background())
	srv := httptest.NewServer(reg)
	defer srv.Close()
	rig := &gcRig{srv: srv, store: store}
	im := newImage([]byte(`{"bench":1}`), make([]byte, 256<<10))
	if err := rig.push("pull/app", "v1", im, ""); err != nil {
		b.Fatal(err)
	}
	pulls := func(d time.Duration, beside func(ctx context.Context)) float64 {
		ctx, stop := context.WithCancel(b.Context())
		done := make(chan struct{})
		go func() { beside(ctx); close(done) }()
		var n atomic.Int64
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if err := rig.pull("pull/app", "v1", im); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		stop()
		<-done
		return float64(n.Load()) / d.Seconds()
	}
	idle := func(ctx context.Context) { <-ctx.Done() }
	steadyPasses := func(ctx context.Context) {
		for ctx.Err() == nil {
			gc.Run(ctx, false)
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Each ratio is the median of 3 pairs of 2 s measurements taken back
	// to back, alone then beside, so that the machine's drift cancels.
	ratio := func(beside func(ctx context.Context), before func()) (alone, ratio float64) {
		var rs, as []float64
		for range 3 {
			a := pulls(2*time.Second, idle)
			if before != nil {
				before()
			}
			rs = append(rs, pulls(2*time.Second, beside)/a)
			as = append(as, a)
		}
		slices.Sort(rs)
		slices.Sort(as)
		return as[1], rs[1]
	}
	var first, steady time.Duration
	var alone, besideSteady, besideFirst float64
	for b.Loop() {
		allCandidates()
		first = pass()
		steady = pass()
		alone, besideSteady = ratio(steadyPasses, nil)
		_, besideFirst = ratio(func(ctx context.Context) { gc.Run(ctx, false) }, allCandidates)
	}
	b.ReportMetric(first.Seconds(), "s/first-pass")
	b.ReportMetric(float64(steady.Microseconds())/1000, "ms/steady-pass")
	b.ReportMetric(alone, "pulls/s")
	b.ReportMetric(besideSteady, "pulls-ratio-steady")
	b.ReportMetric(besideFirst, "pulls-ratio-first")
}
