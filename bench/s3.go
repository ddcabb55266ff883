package main

// The S3 part (this file; its servers, measurements and report are in
// s3servers.go, s3measure.go and s3report.go): one MinIO on 127.0.0.1, berth with its blobs in bucket
// "berth" and Distribution 2.8.2 with its s3 driver in bucket
// "distribution", measured in the same rounds:
//
//  1. large push (docker-style) to each registry;
//  2. large pull: berth answering blob GETs with a 307 to a presigned URL
//     (a second berth process with redirect on, over the same bucket),
//     the same objects fetched straight from MinIO with presigned URLs
//     (the baseline), berth streaming the objects itself, and Distribution
//     (which redirects by default);
//  3. a blob of -commit-gib GiB pushed to each registry with only the final
//     PUT ?digest= timed, then the bucket listed to check what it holds.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

const (
	s3Region      = "us-east-1"
	bucketBerth   = "berth"        // bucket A
	bucketDist    = "distribution" // bucket B
	bucketDirect  = "straight"     // the push yardstick's
	presignExpiry = time.Hour
)

// Slots of the S3 metrics. Push: berth, Distribution. Pull: the first two
// make the ratio (berth redirecting ÷ straight from MinIO); the others are
// for information.
const (
	s3Berth        = 0
	s3Dist         = 1
	pushSerial     = 2       // straight to MinIO, one part at a time
	pushParallel   = 3       // straight to MinIO, parts in parallel
	directPartSize = 8 << 20 // berth's default part size

	pullRedirect = 0
	pullDirect   = 1
	pullStream   = 2
	pullDist     = 3
	pullProxy    = 4 // the yardstick of the streamed pull (s3proxy.go)
)

// s3Rig is what the S3 part measures: one MinIO, berth over bucket A
// twice (streaming, and redirecting blob GETs to MinIO), and Distribution
// over bucket B.
type s3Rig struct {
	minio                    *minioServer
	berth, redirecting, dist *server
	proxy                    *server // the minimal proxy over bucket A
}

// startS3Rig starts MinIO, creates the buckets the registries do not
// create themselves, and starts the registries, warmed up. On error it
// stops what it started.
func startS3Rig(ctx context.Context, cfg config, root string) (_ *s3Rig, err error) {
	// Not the named result: a failed return sets that to nil before the
	// deferred stop runs.
	rig := &s3Rig{}
	defer func() {
		if err != nil {
			rig.stop(ctx, true)
		}
	}()
	if rig.minio, err = startMinio(cfg.minioBin, mkdir(root, "minio")); err != nil {
		return nil, fmt.Errorf("start MinIO: %w", err)
	}
	m := rig.minio
	logf("MinIO (%s) ready at %s (pid %d)", minioVersion(cfg.minioBin), m.base(), m.Pid())
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, b := range []string{bucketDist, bucketDirect} {
		if err := m.client.MakeBucket(mctx, b, minio.MakeBucketOptions{Region: s3Region}); err != nil {
			return nil, fmt.Errorf("MinIO: creating bucket %s: %w", b, err)
		}
	}

	if rig.berth, err = startBerthS3(ctx, "berth on MinIO", cfg.berthBin, mkdir(root, "berth"), m, bucketBerth, false); err != nil {
		return nil, fmt.Errorf("start berth on MinIO: %w", err)
	}
	if rig.redirecting, err = startBerthS3(ctx, "berth on MinIO, redirecting", cfg.berthBin, mkdir(root, "berth-redirect"), m, bucketBerth, true); err != nil {
		return nil, fmt.Errorf("start berth on MinIO with redirects: %w", err)
	}
	rig.redirecting.reg.blobHost = m.Endpoint
	if rig.dist, err = startDistributionS3(ctx, "Distribution 2.8.2 on MinIO", cfg.distBin, mkdir(root, "distribution"), m, bucketDist); err != nil {
		return nil, fmt.Errorf("start Distribution on MinIO: %w", err)
	}
	rig.dist.reg.blobHost = m.Endpoint
	if rig.proxy, err = startS3Proxy(ctx, mkdir(root, "proxy"), m, bucketBerth); err != nil {
		return nil, fmt.Errorf("start the minimal S3 proxy: %w", err)
	}
	logf("%s ready at %s (pid %d)", rig.proxy.label, rig.proxy.base, rig.proxy.cmd.Process.Pid)
	for _, s := range rig.registries() {
		logf("%s ready at %s (pid %d)", s.label, s.base, s.cmd.Process.Pid)
		if err := warmUp(ctx, s); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", s.label, err)
		}
	}
	return rig, nil
}

// registries are the rig's registry processes that have started.
func (rig *s3Rig) registries() []*server {
	var out []*server
	for _, s := range []*server{rig.berth, rig.redirecting, rig.dist} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// stop stops the registries, then MinIO; after a failure it prints the
// end of each one's log.
func (rig *s3Rig) stop(ctx context.Context, failed bool) {
	tail := func(label, text string) {
		if failed && ctx.Err() == nil && strings.TrimSpace(text) != "" {
			fmt.Fprintf(os.Stderr, "\n--- %s log tail ---\n%s\n", label, text)
		}
	}
	regs := rig.registries()
	if rig.proxy != nil {
		regs = append(regs, rig.proxy)
	}
	for i := len(regs) - 1; i >= 0; i-- {
		regs[i].stop()
		tail(regs[i].label, regs[i].logTail(40))
	}
	if m := rig.minio; m != nil {
		m.Stop()
		tail("MinIO", m.outputTail(40))
	}
}

// runS3 is the S3 part. Everything it starts is stopped when it returns.
func runS3(ctx context.Context, cfg config, tmp string, layers []blob) (res *s3Results, err error) {
	res = newS3Results(cfg)
	res.minioVer = minioVersion(cfg.minioBin)
	rig, err := startS3Rig(ctx, cfg, mkdir(tmp, "s3"))
	if err != nil {
		return nil, err
	}
	defer func() { rig.stop(ctx, err != nil) }()

	images, err := s3Images(ctx, cfg, tmp, layers)
	if err != nil {
		return nil, err
	}
	res.imageMiB = float64(images[0].bytes()) / mib
	if err := rig.measurePush(ctx, cfg, images, res); err != nil {
		return nil, err
	}
	if err := rig.measurePull(ctx, cfg, images[0], res); err != nil {
		return nil, err
	}
	if cfg.commitGiB > 0 {
		if err := rig.measureCommits(ctx, cfg, res); err != nil {
			return nil, err
		}
	}
	return res, rig.finish(ctx, res)
}

// s3Images are the large images of the S3 part's runs. Every run has
// fresh layers: a registry that already holds a blob may skip work on
// commit (Distribution skips its copy when the blob's path exists), so
// each push must bring new blobs. Run 0 reuses the filesystem part's
// layers, which MinIO has not seen.
func s3Images(ctx context.Context, cfg config, tmp string, layers []blob) ([]*image, error) {
	images := make([]*image, cfg.runs)
	for r := range images {
		set := layers
		if r > 0 {
			dir := mkdir(tmp, fmt.Sprintf("layers-s3-r%d", r))
			logf("writing %d random layers of %d MiB to %s", cfg.layers, cfg.layerMiB, dir)
			var err error
			if set, err = makeLayerFiles(ctx, dir, cfg.layers, int64(cfg.layerMiB)*mib); err != nil {
				return nil, err
			}
		}
		images[r] = largeImage(set, r)
		images[r].repo = fmt.Sprintf("bench/s3-large-r%d", r)
	}
	return images, nil
}

// measured runs one S3 measurement of slot label, served by registry s
// (nil for the bench talking to MinIO itself), and returns the CPU
// seconds the registry and MinIO used for it. A server that died fails it.
func (rig *s3Rig) measured(s *server, measure func() error) (regCPU, minioCPU float64, err error) {
	procs := []procStat{rig.minio.stat()}
	if s != nil {
		procs = append(procs, s.stat())
	}
	used, err := cpuDuring(procs, func() error {
		err := measure()
		if err == nil && s != nil {
			err = s.alive()
		}
		if err == nil {
			err = rig.minio.Alive()
		}
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	if s != nil {
		regCPU = used[1]
	}
	return regCPU, used[0], nil
}

// measurePush is the large push, fresh blobs each run, to both
// registries and, as a yardstick, straight to MinIO.
func (rig *s3Rig) measurePush(ctx context.Context, cfg config, images []*image, res *s3Results) error {
	slots := []*server{rig.berth, rig.dist, nil, nil}
	who := []int{s3Berth, s3Dist, pushSerial, pushParallel}
	for r := 0; r < cfg.runs; r++ {
		for _, i := range order(who, 0, r) {
			var v float64
			regCPU, minioCPU, err := rig.measured(slots[i], func() error {
				var err error
				switch i {
				case pushSerial, pushParallel:
					threads := uint(1)
					if i == pushParallel {
						threads = 4
					}
					v, err = measureDirectPush(ctx, rig.minio, images[r], fmt.Sprintf("r%d-t%d/", r, threads), threads, cfg.stepTimeout)
				default:
					v, err = measureLargePush(ctx, slots[i], images[r], cfg.stepTimeout)
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("%s, S3 large push run %d: %w", res.pushLabels[i], r+1, err)
			}
			res.push.add(i, v)
			res.pushCPU.add(i, regCPU)
			res.pushMinio.add(i, minioCPU)
			logf("%-16s run %d/%d  %-40s %s  (server CPU %.2f s, MinIO CPU %.2f s)",
				"S3 large push", r+1, cfg.runs, res.pushLabels[i], fmt.Sprintf("%8.1f MiB/s", v), regCPU, minioCPU)
		}
	}
	return nil
}

// measurePull is the large pull of pullImage. The redirecting berth gets
// it first (not timed); the baseline fetches the very objects it
// redirects to. Each run is cfg.pullRepeats rounds; every round pulls the
// image once from each source, in an order that rotates every round. A
// source's value for the run is its bytes over its time summed over the
// rounds, so a burst of load from elsewhere lands on all sources alike
// rather than on whichever one was being measured.
func (rig *s3Rig) measurePull(ctx context.Context, cfg config, pullImage *image, res *s3Results) error {
	logf("pushing %s:%s to %s (not timed)", pullImage.repo, pullImage.tag, rig.redirecting.label)
	if err := rig.redirecting.reg.pushImage(ctx, pullImage, false); err != nil {
		return fmt.Errorf("%s: push of the pull image: %w", rig.redirecting.label, err)
	}
	direct, err := presignImage(ctx, rig.minio, rig.redirecting.reg, pullImage)
	if err != nil {
		return err
	}
	directClient := newRegClient(rig.minio.base())
	defer directClient.close()
	directClient.blobHost = rig.minio.Endpoint
	proxyClient := newRegClient(rig.proxy.base)
	defer proxyClient.close()
	slots := []*server{rig.redirecting, nil, rig.berth, rig.dist, rig.proxy}
	pullOnce := func(ctx context.Context, i int) (int64, error) {
		if i == pullDirect || i == pullProxy {
			var total int64
			for _, b := range direct {
				c, u := directClient, b.url
				if i == pullProxy {
					c, u = proxyClient, rig.proxy.base+"/"+b.key
				}
				n, err := c.fetchBlob(ctx, u, b.d)
				total += n
				if err != nil {
					return total, err
				}
			}
			return total, nil
		}
		return slots[i].reg.pullImage(ctx, pullImage)
	}
	who := []int{pullRedirect, pullDirect, pullStream, pullDist, pullProxy}
	for r := 0; r < cfg.runs; r++ {
		var (
			bytes    [5]int64
			elapsed  [5]time.Duration
			regCPU   [5]float64
			minioCPU [5]float64
		)
		for k := 0; k < cfg.pullRepeats; k++ {
			for _, i := range order(who, 1+r, k) {
				var n int64
				var d time.Duration
				reg, mc, err := rig.measured(slots[i], func() error {
					var err error
					d, err = timed(ctx, cfg.stepTimeout, func(ctx context.Context) error {
						var err error
						n, err = pullOnce(ctx, i)
						return err
					})
					return err
				})
				if err != nil {
					return fmt.Errorf("%s, S3 large pull run %d: %w", res.pullLabels[i], r+1, err)
				}
				regCPU[i] += reg
				minioCPU[i] += mc
				bytes[i] += n
				elapsed[i] += d
			}
		}
		for _, i := range who {
			want := int64(cfg.pullRepeats) * pullImage.bytes()
			if i == pullDirect || i == pullProxy {
				want -= int64(cfg.pullRepeats) * int64(len(pullImage.manifest))
			}
			if bytes[i] != want {
				return fmt.Errorf("%s, S3 large pull run %d: moved %d bytes, want %d", res.pullLabels[i], r+1, bytes[i], want)
			}
			v := float64(bytes[i]) / mib / elapsed[i].Seconds()
			res.pull.add(i, v)
			res.pullCPU.add(i, regCPU[i])
			res.pullMinio.add(i, minioCPU[i])
			logf("%-16s run %d/%d  %-40s %8.1f MiB/s  (server CPU %.2f s, MinIO CPU %.2f s)",
				"S3 large pull", r+1, cfg.runs, res.pullLabels[i], v, regCPU[i], minioCPU[i])
		}
	}
	return nil
}

// measureCommits pushes the big blob once to each registry and, for
// berth, checks what the bucket holds for it.
func (rig *s3Rig) measureCommits(ctx context.Context, cfg config, res *s3Results) error {
	size := int64(cfg.commitGiB) << 30
	for i, s := range []*server{rig.berth, rig.dist} {
		c, err := measureCommit(ctx, s, size, 2*cfg.stepTimeout)
		if err != nil {
			return fmt.Errorf("%s, %d GiB commit: %w", s.label, cfg.commitGiB, err)
		}
		if err := s.alive(); err != nil {
			return err
		}
		if i == s3Berth {
			if err := c.inspect(ctx, rig.minio, bucketBerth); err != nil {
				return err
			}
			logf("%-16s %-40s PATCH %.1f MiB/s, final PUT %.1f ms; bucket %s holds %d bytes in %d object(s) for upload %s, %d unfinished multipart upload(s)",
				"S3 commit", s.label, c.pushMiBs, c.ms, bucketBerth, c.stored, c.objects, c.uploadID, c.incomplete)
		} else {
			logf("%-16s %-40s PATCH %.1f MiB/s, final PUT %.1f ms", "S3 commit", s.label, c.pushMiBs, c.ms)
		}
		res.commit[i] = c
	}
	return nil
}

// finish checks bucket A against what the two berth processes were sent,
// and reads every process's peak RSS and total CPU before they stop.
func (rig *s3Rig) finish(ctx context.Context, res *s3Results) error {
	var err error
	if res.bucket, err = checkBucket(ctx, rig.minio, bucketBerth, rig.berth.reg, rig.redirecting.reg); err != nil {
		return err
	}
	logf("bucket %s: %d objects, %d bytes; %d distinct blobs pushed to the berth processes, %d bytes; %d unfinished multipart upload(s)",
		bucketBerth, res.bucket.objects, res.bucket.bytes, res.bucket.blobs, res.bucket.want, res.bucket.incomplete)

	for i, p := range []procStat{rig.berth.stat(), rig.redirecting.stat(), rig.dist.stat(), rig.minio.stat()} {
		kib, err := p.peakRSS()
		if err != nil {
			return fmt.Errorf("%s, peak RSS: %w", p.label, err)
		}
		res.rss[i] = float64(kib) / 1024
		logf("peak RSS                 %-40s %8.1f MiB", res.rssLabels[i], res.rss[i])
		if cpu, err := p.cpuSeconds(); err == nil {
			res.cpuTotal[res.rssLabels[i]] = cpu
		}
	}
	return nil
}
