package scanner_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
)

// writeLayer streams a gzipped tar of files of size bytes each, plus an
// os-release and a dpkg database, into w.
func writeLayer(w io.Writer, files, size int) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	add := func(name string, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	if err := add("etc/os-release", []byte("ID=debian\nVERSION_ID=\"12\"\n")); err != nil {
		return err
	}
	status := ""
	for i := range 500 {
		status += fmt.Sprintf("Package: pkg%d\nStatus: install ok installed\nVersion: 1.%d-1\n\n", i, i)
	}
	if err := add("var/lib/dpkg/status", []byte(status)); err != nil {
		return err
	}
	body := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{7})
	for i := range files {
		rng.Read(body) // incompressible: the layer is as big gzipped
		if err := add(fmt.Sprintf("usr/share/data/%03d/file%d", i%1000, i), body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// BenchmarkScan1GiB scans an image whose one layer holds 1 GiB of small
// files (100,000 × 10 KiB of random bytes, gzipped: 1 GiB stored) from the filesystem blob store, and
// reports the time, the peak heap and the peak RSS of the process. Target:
// under 20 s and 256 MiB.
//
//	go test -run '^$' -bench Scan1GiB -benchtime 1x ./scanner/
func BenchmarkScan1GiB(b *testing.B) {
	ctx := b.Context()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "berth.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeLayer(pw, 100000, 10<<10)) }()
	h := digest.Canonical.Digester()
	u, err := blobs.Append(ctx, storage.Upload{ID: "layer"}, io.TeeReader(pr, h.Hash()))
	if err != nil {
		b.Fatal(err)
	}
	loc, err := blobs.Commit(ctx, u)
	if err != nil {
		b.Fatal(err)
	}
	layer := metadata.Blob{Digest: h.Digest(), Size: u.Size, Location: loc}
	if _, err := store.PutBlob(ctx, "big", layer); err != nil {
		b.Fatal(err)
	}
	body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}]}`, layer.Digest, layer.Size)
	m := metadata.Manifest{Repository: "big", Digest: digest.FromBytes(body), Content: body, MediaType: "application/vnd.oci.image.manifest.v1+json",
		References: []metadata.Reference{{Digest: layer.Digest}}}
	if err := store.PutManifest(ctx, m, []string{"v1"}); err != nil {
		b.Fatal(err)
	}
	s, err := scanner.New(ctx, store, blobs, filepath.Join(dir, "osv"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	var sc metadata.Scan
	for b.Loop() {
		// A fresh layer cache each time: the layer is read, not recalled.
		store.PutLayerInventory(context.Background(), layer.Digest, "")
		if sc, err = s.Scan(ctx, "big", m.Digest); err != nil || sc.Status != scanner.StatusComplete {
			b.Fatalf("scan = %s %s, %v", sc.Status, sc.Description, err)
		}
	}
	close(stop)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/scan")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(layer.Size)/(1<<20), "layer-MiB-gzipped")
	b.ReportMetric(float64(maxRSSKiB())/1024, "max-RSS-MiB")
}
