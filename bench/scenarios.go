package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

const mib = 1 << 20

// newRNG returns a fast generator seeded from the OS; the bench needs
// incompressible, unique bytes, not secrets.
func newRNG() *mrand.ChaCha8 {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic(err)
	}
	return mrand.NewChaCha8(seed)
}

// makeLayerFiles writes n random layers of size bytes each into dir,
// hashing as it writes; no layer is ever held in memory.
func makeLayerFiles(ctx context.Context, dir string, n int, size int64) ([]blob, error) {
	rng := newRNG()
	buf := make([]byte, mib)
	var out []blob
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, fmt.Sprintf("layer-%d.bin", i))
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriterSize(f, mib)
		h := sha256.New()
		for left := size; left > 0; {
			chunk := buf
			if left < int64(len(chunk)) {
				chunk = chunk[:left]
			}
			_, _ = rng.Read(chunk)
			h.Write(chunk)
			if _, err := w.Write(chunk); err != nil {
				f.Close()
				return nil, err
			}
			left -= int64(len(chunk))
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		out = append(out, blob{
			mediaType: mediaOCILayer,
			digest:    "sha256:" + hex.EncodeToString(h.Sum(nil)),
			size:      size,
			path:      path,
		})
	}
	return out, nil
}

// largeImage is the big image for one run: the shared layer files plus a
// config unique to the run, in its own repository.
func largeImage(layers []blob, run int) *image {
	id := fmt.Sprintf("large-%d-%d", run, time.Now().UnixNano())
	cfg := memBlob(mediaOCIConfig, imageConfig(time.Now(), id, layers))
	return newImage(fmt.Sprintf("bench/large-r%d", run), "v1", cfg, layers)
}

// smallImages makes n distinct small images: one random 1-4 KiB layer, a
// config and a manifest each, spread over 25 repositories with distinct tags.
func smallImages(run, n int) []*image {
	rng := mrand.New(newRNG())
	out := make([]*image, n)
	for i := range out {
		data := make([]byte, 1024+rng.IntN(3*1024+1))
		for j := 0; j < len(data); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < len(data); k++ {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		layer := memBlob(mediaOCILayer, data)
		id := fmt.Sprintf("small-%d-%d-%x", run, i, rng.Uint64())
		cfg := memBlob(mediaOCIConfig, imageConfig(time.Now(), id, []blob{layer}))
		out[i] = newImage(fmt.Sprintf("bench/small-r%d/app%02d", run, i%25), fmt.Sprintf("v%d", i), cfg, []blob{layer})
	}
	return out
}

// timed runs f under a per-measurement deadline and returns its duration.
func timed(ctx context.Context, limit time.Duration, f func(ctx context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	return time.Since(start), err
}

// parallel runs f(i) for i in [0, n) on workers goroutines; the first
// error cancels the rest.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := f(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// scenario functions measure one server once and return the metric values.

func measureLargePush(ctx context.Context, s *server, im *image, limit time.Duration) (float64, error) {
	d, err := timed(ctx, limit, func(ctx context.Context) error {
		return s.reg.pushImage(ctx, im, false)
	})
	if err != nil {
		return 0, err
	}
	return float64(im.bytes()) / mib / d.Seconds(), nil
}

// measureLargePull pulls the image repeats times back to back with one
// client, so that one measurement lasts long enough to be stable.
func measureLargePull(ctx context.Context, s *server, im *image, repeats int, limit time.Duration) (float64, error) {
	var total int64
	d, err := timed(ctx, limit, func(ctx context.Context) error {
		for i := 0; i < repeats; i++ {
			n, err := s.reg.pullImage(ctx, im)
			total += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if want := int64(repeats) * im.bytes(); total != want {
		return 0, fmt.Errorf("pull %s:%s moved %d bytes, want %d", im.repo, im.tag, total, want)
	}
	return float64(total) / mib / d.Seconds(), nil
}

func measureConcurrentPull(ctx context.Context, s *server, im *image, clients int, limit time.Duration) (float64, error) {
	var (
		mu    sync.Mutex
		total int64
	)
	d, err := timed(ctx, limit, func(ctx context.Context) error {
		return parallel(ctx, clients, clients, func(ctx context.Context, _ int) error {
			n, err := s.reg.pullImage(ctx, im)
			mu.Lock()
			total += n
			mu.Unlock()
			return err
		})
	})
	if err != nil {
		return 0, err
	}
	if want := int64(clients) * im.bytes(); total != want {
		return 0, fmt.Errorf("concurrent pull moved %d bytes, want %d", total, want)
	}
	return float64(total) / mib / d.Seconds(), nil
}

func measureSmallPushes(ctx context.Context, s *server, ims []*image, workers int, limit time.Duration) (float64, error) {
	d, err := timed(ctx, limit, func(ctx context.Context) error {
		return parallel(ctx, len(ims), workers, func(ctx context.Context, i int) error {
			return s.reg.pushImage(ctx, ims[i], true)
		})
	})
	if err != nil {
		return 0, err
	}
	return float64(len(ims)) / d.Seconds(), nil
}

// measureHeadLatency returns p50 and p99 in milliseconds over count
// sequential manifest HEADs.
func measureHeadLatency(ctx context.Context, s *server, im *image, count int, limit time.Duration) (p50, p99 float64, err error) {
	lat := make([]time.Duration, 0, count)
	_, err = timed(ctx, limit, func(ctx context.Context) error {
		for i := 0; i < count; i++ {
			start := time.Now()
			if err := s.reg.headManifest(ctx, im); err != nil {
				return err
			}
			lat = append(lat, time.Since(start))
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99)), nil
}

// percentile uses the nearest-rank method on sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p*float64(len(sorted))+0.999999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return sorted[rank]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// warmUp pushes, pulls and resolves one tiny image so first-request costs
// (connection setup, lazy initialisation) stay out of the measurements. It
// doubles as a smoke test of the whole protocol path.
func warmUp(ctx context.Context, s *server) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ims := smallImages(-1, 3)
	for _, im := range ims {
		im.repo = "bench/warmup" // the manifest does not name its repository
		if err := s.reg.pushImage(ctx, im, true); err != nil {
			return err
		}
		if _, err := s.reg.pullImage(ctx, im); err != nil {
			return err
		}
		if err := s.reg.headManifest(ctx, im); err != nil {
			return err
		}
	}
	return nil
}
