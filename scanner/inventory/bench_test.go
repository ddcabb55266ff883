package inventory

import (
	"archive/tar"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkReadLayer reads layers of many 10 KiB files plus a dpkg status
// and a lockfile, generated on the fly through a pipe so that nothing but
// ReadLayer could hold them. It reports throughput and the peak heap seen
// while the layer streamed (sampled every 1,000 files).
//
//	go test -run '^$' -bench ReadLayer -benchtime 1x ./scanner/inventory/
func BenchmarkReadLayer(b *testing.B) {
	for _, files := range []int{10_000, 100_000} {
		const fileSize = 10 << 10
		b.Run(fmt.Sprintf("%dx10KiB", files), func(b *testing.B) {
			var peak uint64
			var size int64
			for b.Loop() {
				r, n, sample := generateLayer(files, fileSize)
				l, err := ReadLayer(b.Context(), "bench", r)
				if err != nil {
					b.Fatal(err)
				}
				if len(l.Files) != 2 || len(l.Files[1].Packages) != 1000 {
					b.Fatalf("files %+v", l.Files)
				}
				io.Copy(io.Discard, r) // the tar's trailing padding
				peak = max(peak, sample())
				size = *n
			}
			b.SetBytes(size)
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// generateLayer streams a tar of files regular files of size bytes, with a
// dpkg status of 1,000 packages, a lockfile and a few non-Go ELF
// executables among them. n is the stream's size once it has ended; peak
// returns the highest heap in use that the generator saw.
func generateLayer(files, size int) (r io.Reader, n *int64, peak func() uint64) {
	pr, pw := io.Pipe()
	counter := &countingWriter{w: pw}
	done := make(chan uint64, 1)
	go func() {
		var maxHeap uint64
		var ms runtime.MemStats
		tw := tar.NewWriter(counter)
		body := []byte(strings.Repeat("0123456789abcdef", size/16))
		elf := append([]byte("\x7fELF"), body[4:]...)
		var status strings.Builder
		for i := range 1000 {
			fmt.Fprintf(&status, "Package: pkg%d\nStatus: install ok installed\nVersion: 1.%d-1\nSource: src%d (1.%d)\nDescription: a package\n %s\n\n", i, i, i/10, i, body[:200])
		}
		write := func(name string, mode int64, data []byte) error {
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))}); err != nil {
				return err
			}
			_, err := tw.Write(data)
			return err
		}
		var err error
		for i := 0; i < files && err == nil; i++ {
			switch {
			case i == files/2:
				err = write("var/lib/dpkg/status", 0o644, []byte(status.String()))
			case i == files/3:
				err = write("app/package-lock.json", 0o644, []byte(`{"lockfileVersion":3,"packages":{"node_modules/lodash":{"version":"4.17.21"}}}`))
			case i%(files/5) == 0:
				err = write(fmt.Sprintf("usr/lib/lib%d.so", i), 0o755, elf)
			default:
				err = write(fmt.Sprintf("usr/share/data/%03d/file%d", i%1000, i), 0o644, body)
			}
			if i%1000 == 0 {
				runtime.ReadMemStats(&ms)
				maxHeap = max(maxHeap, ms.HeapAlloc)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
		done <- maxHeap
	}()
	return pr, &counter.n, func() uint64 { return <-done }
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
