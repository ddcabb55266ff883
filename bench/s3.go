package main

// The S3 part: one MinIO on 127.0.0.1, berth with its blobs in bucket
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
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/berth-dev/berth/internal/gotool"
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
)

// findMinio looks for the minio program in PATH, then in the Go bin
// directory, where scripts/test and scripts/bench install it.
func findMinio() (string, error) { return gotool.Find("minio") }

// minioVersion names the module version the minio program was built from
// (`go version -m`), or what `minio --version` says.
func minioVersion(bin string) string {
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
				return f[1] + " " + f[2]
			}
		}
	}
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		return strings.TrimSpace(first)
	}
	return "unknown version"
}

// childEnv is the bench's environment without settings meant for another
// berth, MinIO or S3 client, plus extra (whose keys replace the bench's).
func childEnv(extra ...string) []string {
	drop := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || strings.HasPrefix(k, "BERTH_") || strings.HasPrefix(k, "MINIO_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// minioServer is the one MinIO of the S3 part.
type minioServer struct {
	*server
	endpoint  string // 127.0.0.1:PORT, plain HTTP
	accessKey string
	secretKey string
	client    *minio.Client
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := crand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// startMinio runs `minio server ROOT/data` on two loopback ports (the S3
// API and the console, which is off) with random root credentials and HOME
// set to root, and waits for /minio/health/ready.
func startMinio(ctx context.Context, bin, root string) (*minioServer, error) {
	m := &minioServer{accessKey: "bench" + randomHex(6), secretKey: randomHex(16)}
	s, err := startWithRetry(ctx, func() (*server, error) {
		api, err := freePort()
		if err != nil {
			return nil, err
		}
		console, err := freePort()
		if err != nil {
			return nil, err
		}
		if console == api {
			return nil, errExitedEarly // try again with other ports
		}
		data := filepath.Join(root, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", api)
		env := childEnv(
			"HOME="+root, // MinIO writes ~/.minio
			"MINIO_ROOT_USER="+m.accessKey,
			"MINIO_ROOT_PASSWORD="+m.secretKey,
			"MINIO_BROWSER=off",
			"MINIO_UPDATE=off",
		)
		return spawnEnv(ctx, "MinIO", root, "/minio/health/ready", addr, env, bin,
			"server", data, "--address", addr, "--console-address", fmt.Sprintf("127.0.0.1:%d", console), "--quiet")
	})
	if err != nil {
		return nil, err
	}
	m.server = s
	m.endpoint = strings.TrimPrefix(s.base, "http://")
	m.client, err = minio.New(m.endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(m.accessKey, m.secretKey, ""),
		Region: s3Region,
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	return m, nil
}

// startBerthS3 runs berth with its index in root and its blobs in bucket,
// configured through BERTH_STORAGE_S3_* variables.
func startBerthS3(ctx context.Context, label, bin, root string, m *minioServer, bucket string, redirect bool) (*server, error) {
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		data, err := makeDataDir(root)
		if err != nil {
			return nil, err
		}
		env := childEnv(
			"BERTH_STORAGE_S3_ENDPOINT="+m.endpoint,
			"BERTH_STORAGE_S3_BUCKET="+bucket,
			"BERTH_STORAGE_S3_ACCESS_KEY="+m.accessKey,
			"BERTH_STORAGE_S3_SECRET_KEY="+m.secretKey,
			fmt.Sprintf("BERTH_STORAGE_S3_REDIRECT=%t", redirect),
			"BERTH_STORAGE_S3_CREATE_BUCKET=true",
		)
		return spawnEnv(ctx, label, root, "/healthz", addr, env, bin, "serve", "--no-auth", "--listen", addr, "--data-dir", data)
	})
}

// distributionS3Config is distributionConfig with the s3 driver instead of
// the filesystem: MinIO over plain HTTP, path-style (Distribution uses it
// whenever regionendpoint is set), the driver's default chunk size of
// 10 MiB, and its defaults otherwise, which include redirecting blob GETs
// to presigned URLs.
const distributionS3Config = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  s3:
    accesskey: %s
    secretkey: %s
    region: ` + s3Region + `
    regionendpoint: http://%s
    bucket: %s
    secure: false
    v4auth: true
    chunksize: 10485760
    rootdirectory: /
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: berth-bench-not-a-secret
`

// startDistributionS3 runs Distribution with its blobs in bucket, which
// must exist (its driver does not create buckets).
func startDistributionS3(ctx context.Context, label, bin, root string, m *minioServer, bucket string) (*server, error) {
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		cfg := filepath.Join(root, "config.yml")
		text := fmt.Sprintf(distributionS3Config, m.accessKey, m.secretKey, m.endpoint, bucket, addr)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			return nil, err
		}
		return spawnEnv(ctx, label, root, "/v2/", addr, childEnv(), bin, "serve", cfg)
	})
}

// commitResult is one registry's big-blob commit.
type commitResult struct {
	ran      bool
	ms       float64 // the final PUT ?digest=
	pushMiBs float64 // the PATCH that streamed the blob, for information
	uploadID string
	// What the bucket holds for the upload afterwards (berth only).
	objects    int
	stored     int64
	incomplete int
	size       int64
}

// storedOnce reports whether the bucket holds the blob's bytes exactly once
// for its upload: objects that add up to its size and no unfinished
// multipart upload.
func (c commitResult) storedOnce() bool {
	return c.stored == c.size && c.incomplete == 0 && c.objects >= 1
}

// bucketCheck is what bucket A holds at the end against what the berth
// processes were sent: each distinct blob once per process.
type bucketCheck struct {
	done       bool
	objects    int
	bytes      int64
	want       int64
	blobs      int
	incomplete int
}

func (b bucketCheck) ok() bool { return b.bytes == b.want && b.incomplete == 0 }

type s3Results struct {
	cfg         config
	pushLabels  [4]string
	pullLabels  [4]string
	push, pull  *metric
	pushCPU     *metric // registry CPU per push measurement
	pushMinio   *metric // MinIO CPU per push measurement
	pullCPU     *metric
	pullMinio   *metric
	commit      [2]commitResult // berth, Distribution
	bucket      bucketCheck
	rss         [4]float64 // MiB: berth (push, streaming), berth (redirecting), Distribution, MinIO
	rssLabels   [4]string
	minioVer    string
	cpuTotal    map[string]float64
	imageMiB    float64
	pullRepeats int
}

func newS3Results(cfg config) *s3Results {
	cpu := func(name string) *metric {
		return &metric{name: name, unit: "s", format: "%.2f", lowerBetter: true}
	}
	return &s3Results{
		cfg: cfg,
		pushLabels: [4]string{"berth on MinIO", "Distribution 2.8.2 on MinIO",
			"straight to MinIO (minio-go, 8 MiB parts one at a time)", "straight to MinIO (minio-go, 8 MiB parts 4 at a time)"},
		pullLabels: [4]string{"berth, redirecting (307)", "straight from MinIO (presigned URLs)", "berth, streaming (redirect off)", "Distribution 2.8.2 (redirects by default)"},
		push: &metric{
			name:  fmt.Sprintf("Large push to MinIO (%d × %d MiB layers)", cfg.layers, cfg.layerMiB),
			short: "S3 large push", unit: "MiB/s", format: "%.1f", target: 2,
		},
		pull: &metric{
			name:  fmt.Sprintf("Large pull via MinIO (one client, %d pulls per source, interleaved)", cfg.pullRepeats),
			short: "S3 redirected pull", unit: "MiB/s", format: "%.1f", target: 0.9,
		},
		pushCPU:     cpu("push"),
		pushMinio:   cpu("push, MinIO"),
		pullCPU:     cpu("pull"),
		pullMinio:   cpu("pull, MinIO"),
		rssLabels:   [4]string{"berth (pushes, streamed pulls, commit)", "berth (redirecting)", "Distribution 2.8.2 on MinIO", "MinIO"},
		cpuTotal:    map[string]float64{},
		pullRepeats: cfg.pullRepeats,
	}
}

// runS3 is the S3 part. Everything it starts is stopped when it returns.
func runS3(ctx context.Context, cfg config, tmp string, layers []blob) (res *s3Results, err error) {
	res = newS3Results(cfg)
	res.minioVer = minioVersion(cfg.minioBin)
	root := mkdir(tmp, "s3")

	var procs []*server // stopped in reverse order: the registries, then MinIO
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			s := procs[i]
			s.stop()
			if tail := s.logTail(40); err != nil && ctx.Err() == nil && strings.TrimSpace(tail) != "" {
				fmt.Fprintf(os.Stderr, "\n--- %s log tail ---\n%s\n", s.label, tail)
			}
		}
	}()

	m, err := startMinio(ctx, cfg.minioBin, mkdir(root, "minio"))
	if err != nil {
		return nil, fmt.Errorf("start MinIO: %w", err)
	}
	procs = append(procs, m.server)
	logf("MinIO (%s) ready at %s (pid %d)", res.minioVer, m.base, m.cmd.Process.Pid)
	{
		mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		for _, b := range []string{bucketDist, bucketDirect} {
			if err := m.client.MakeBucket(mctx, b, minio.MakeBucketOptions{Region: s3Region}); err != nil {
				cancel()
				return nil, fmt.Errorf("MinIO: creating bucket %s: %w", b, err)
			}
		}
		cancel()
	}

	berth, err := startBerthS3(ctx, "berth on MinIO", cfg.berthBin, mkdir(root, "berth"), m, bucketBerth, false)
	if err != nil {
		return nil, fmt.Errorf("start berth on MinIO: %w", err)
	}
	procs = append(procs, berth)
	redirecting, err := startBerthS3(ctx, "berth on MinIO, redirecting", cfg.berthBin, mkdir(root, "berth-redirect"), m, bucketBerth, true)
	if err != nil {
		return nil, fmt.Errorf("start berth on MinIO with redirects: %w", err)
	}
	procs = append(procs, redirecting)
	redirecting.reg.blobHost = m.endpoint
	dist, err := startDistributionS3(ctx, "Distribution 2.8.2 on MinIO", cfg.distBin, mkdir(root, "distribution"), m, bucketDist)
	if err != nil {
		return nil, fmt.Errorf("start Distribution on MinIO: %w", err)
	}
	procs = append(procs, dist)
	dist.reg.blobHost = m.endpoint
	for _, s := range []*server{berth, redirecting, dist} {
		logf("%s ready at %s (pid %d)", s.label, s.base, s.cmd.Process.Pid)
		if err := warmUp(ctx, s); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", s.label, err)
		}
	}

	// Fresh layers for every run: a registry that already holds a blob may
	// skip work on commit (Distribution skips its copy when the blob's
	// path exists), so each push must bring new blobs. Run 0 reuses the
	// filesystem part's layers, which MinIO has not seen.
	images := make([]*image, cfg.runs)
	for r := range images {
		set := layers
		if r > 0 {
			dir := mkdir(tmp, fmt.Sprintf("layers-s3-r%d", r))
			logf("writing %d random layers of %d MiB to %s", cfg.layers, cfg.layerMiB, dir)
			if set, err = makeLayerFiles(ctx, dir, cfg.layers, int64(cfg.layerMiB)*mib); err != nil {
				return nil, err
			}
		}
		images[r] = largeImage(set, r)
		images[r].repo = fmt.Sprintf("bench/s3-large-r%d", r)
	}
	res.imageMiB = float64(images[0].bytes()) / mib

	// measure runs one scenario cfg.runs times over the given slots,
	// rotating the order. f measures slot i in run r; the CPU time of the
	// slot's registry (none for MinIO straight) and of MinIO goes into
	// regCPU and minioCPU.
	measure := func(scenario int, name string, slots []*server, labels []string, regCPU, minioCPU *metric, f func(r, i int) (string, error)) error {
		who := make([]int, len(slots))
		for i := range who {
			who[i] = i
		}
		for r := 0; r < cfg.runs; r++ {
			for _, i := range order(who, scenario, r) {
				s := slots[i]
				var regBefore float64
				if s != nil {
					if regBefore, err = s.cpuSeconds(); err != nil {
						return fmt.Errorf("%s: %w", s.label, err)
					}
				}
				minioBefore, err := m.cpuSeconds()
				if err != nil {
					return fmt.Errorf("MinIO: %w", err)
				}
				text, err := f(r, i)
				if err == nil && s != nil {
					err = s.alive()
				}
				if err == nil {
					err = m.alive()
				}
				if err != nil {
					return fmt.Errorf("%s, %s run %d: %w", labels[i], name, r+1, err)
				}
				var regCPUs float64
				if s != nil {
					after, err := s.cpuSeconds()
					if err != nil {
						return fmt.Errorf("%s: %w", s.label, err)
					}
					regCPUs = after - regBefore
				}
				minioAfter, err := m.cpuSeconds()
				if err != nil {
					return fmt.Errorf("MinIO: %w", err)
				}
				regCPU.add(i, regCPUs)
				minioCPU.add(i, minioAfter-minioBefore)
				logf("%-16s run %d/%d  %-40s %s  (server CPU %.2f s, MinIO CPU %.2f s)",
					name, r+1, cfg.runs, labels[i], text, regCPUs, minioAfter-minioBefore)
			}
		}
		return nil
	}

	// 1. Large push, fresh blobs each run; the same blobs also go straight
	// to MinIO as a yardstick.
	pushSlots := []*server{berth, dist, nil, nil}
	if err := measure(0, "S3 large push", pushSlots, res.pushLabels[:], res.pushCPU, res.pushMinio, func(r, i int) (string, error) {
		var v float64
		var err error
		switch i {
		case pushSerial, pushParallel:
			threads := uint(1)
			if i == pushParallel {
				threads = 4
			}
			v, err = measureDirectPush(ctx, m, images[r], fmt.Sprintf("r%d-t%d/", r, threads), threads, cfg.stepTimeout)
		default:
			v, err = measureLargePush(ctx, pushSlots[i], images[r], cfg.stepTimeout)
		}
		res.push.add(i, v)
		return fmt.Sprintf("%8.1f MiB/s", v), err
	}); err != nil {
		return nil, err
	}

	// 2. Large pull of the run-0 image. The redirecting berth gets it first
	// (not timed); the baseline fetches the very objects it redirects to.
	pullImage := images[0]
	logf("pushing %s:%s to %s (not timed)", pullImage.repo, pullImage.tag, redirecting.label)
	if err := redirecting.reg.pushImage(ctx, pullImage, false); err != nil {
		return nil, fmt.Errorf("%s: push of the pull image: %w", redirecting.label, err)
	}
	direct, err := presignImage(ctx, m, redirecting.reg, pullImage)
	if err != nil {
		return nil, err
	}
	directClient := newRegClient(m.base)
	defer directClient.close()
	directClient.blobHost = m.endpoint
	pullSlots := []*server{redirecting, nil, berth, dist}
	pullOnce := func(ctx context.Context, i int) (int64, error) {
		if i == pullDirect {
			var total int64
			for _, b := range direct {
				n, err := directClient.fetchBlob(ctx, b.url, b.d)
				total += n
				if err != nil {
					return total, err
				}
			}
			return total, nil
		}
		return pullSlots[i].reg.pullImage(ctx, pullImage)
	}
	// Each run is cfg.pullRepeats rounds; every round pulls the image once
	// from each slot, in an order that rotates every round. A slot's value
	// for the run is its bytes over its time summed over the rounds, so a
	// burst of load from elsewhere lands on all slots alike rather than on
	// whichever one was being measured.
	who := []int{pullRedirect, pullDirect, pullStream, pullDist}
	for r := 0; r < cfg.runs; r++ {
		var (
			bytes    [4]int64
			elapsed  [4]time.Duration
			regCPU   [4]float64
			minioCPU [4]float64
		)
		for k := 0; k < cfg.pullRepeats; k++ {
			for _, i := range order(who, 1+r, k) {
				s := pullSlots[i]
				var regBefore float64
				if s != nil {
					if regBefore, err = s.cpuSeconds(); err != nil {
						return nil, fmt.Errorf("%s: %w", s.label, err)
					}
				}
				minioBefore, err := m.cpuSeconds()
				if err != nil {
					return nil, fmt.Errorf("MinIO: %w", err)
				}
				var n int64
				d, err := timed(ctx, cfg.stepTimeout, func(ctx context.Context) error {
					var err error
					n, err = pullOnce(ctx, i)
					return err
				})
				if err == nil && s != nil {
					err = s.alive()
				}
				if err != nil {
					return nil, fmt.Errorf("%s, S3 large pull run %d: %w", res.pullLabels[i], r+1, err)
				}
				if s != nil {
					after, err := s.cpuSeconds()
					if err != nil {
						return nil, err
					}
					regCPU[i] += after - regBefore
				}
				minioAfter, err := m.cpuSeconds()
				if err != nil {
					return nil, err
				}
				minioCPU[i] += minioAfter - minioBefore
				bytes[i] += n
				elapsed[i] += d
			}
		}
		for _, i := range who {
			want := int64(cfg.pullRepeats) * pullImage.bytes()
			if i == pullDirect {
				want -= int64(cfg.pullRepeats) * int64(len(pullImage.manifest))
			}
			if bytes[i] != want {
				return nil, fmt.Errorf("%s, S3 large pull run %d: moved %d bytes, want %d", res.pullLabels[i], r+1, bytes[i], want)
			}
			v := float64(bytes[i]) / mib / elapsed[i].Seconds()
			res.pull.add(i, v)
			res.pullCPU.add(i, regCPU[i])
			res.pullMinio.add(i, minioCPU[i])
			logf("%-16s run %d/%d  %-40s %8.1f MiB/s  (server CPU %.2f s, MinIO CPU %.2f s)",
				"S3 large pull", r+1, cfg.runs, res.pullLabels[i], v, regCPU[i], minioCPU[i])
		}
	}

	// 3. The big commit, once per registry.
	if cfg.commitGiB > 0 {
		size := int64(cfg.commitGiB) << 30
		for i, s := range []*server{berth, dist} {
			c, err := measureCommit(ctx, s, size, 2*cfg.stepTimeout)
			if err != nil {
				return nil, fmt.Errorf("%s, %d GiB commit: %w", s.label, cfg.commitGiB, err)
			}
			if err := s.alive(); err != nil {
				return nil, err
			}
			if i == s3Berth {
				if err := c.inspect(ctx, m, bucketBerth); err != nil {
					return nil, err
				}
				logf("%-16s %-40s PATCH %.1f MiB/s, final PUT %.1f ms; bucket %s holds %d bytes in %d object(s) for upload %s, %d unfinished multipart upload(s)",
					"S3 commit", s.label, c.pushMiBs, c.ms, bucketBerth, c.stored, c.objects, c.uploadID, c.incomplete)
			} else {
				logf("%-16s %-40s PATCH %.1f MiB/s, final PUT %.1f ms", "S3 commit", s.label, c.pushMiBs, c.ms)
			}
			res.commit[i] = c
		}
	}

	// 4. Bucket A against what the two berth processes were sent.
	if res.bucket, err = checkBucket(ctx, m, bucketBerth, berth.reg, redirecting.reg); err != nil {
		return nil, err
	}
	logf("bucket %s: %d objects, %d bytes; %d distinct blobs pushed to the berth processes, %d bytes; %d unfinished multipart upload(s)",
		bucketBerth, res.bucket.objects, res.bucket.bytes, res.bucket.blobs, res.bucket.want, res.bucket.incomplete)

	// 5. Peak RSS and total CPU, before stopping.
	for i, s := range []*server{berth, redirecting, dist, m.server} {
		kib, err := s.peakRSS()
		if err != nil {
			return nil, fmt.Errorf("%s, peak RSS: %w", s.label, err)
		}
		res.rss[i] = float64(kib) / 1024
		logf("peak RSS                 %-40s %8.1f MiB", res.rssLabels[i], res.rss[i])
		if cpu, err := s.cpuSeconds(); err == nil {
			res.cpuTotal[res.rssLabels[i]] = cpu
		}
	}
	return res, nil
}

// presigned is one blob of the pull image as an object in the bucket.
type presigned struct {
	url string
	d   descriptor
}

// presignImage finds the objects holding the image's config and layers in
// bucket A (by listing it for the upload ids that carried them to berth)
// and presigns a GET for each with the bench's own credentials.
func presignImage(ctx context.Context, m *minioServer, c *regClient, im *image) ([]presigned, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	commits := c.committedBlobs()
	ids := map[string]bool{}
	for _, cm := range commits {
		ids[cm.uploadID] = true
	}
	byID := map[string]string{} // upload id → the object key that names it
	for obj := range m.client.ListObjects(ctx, bucketBerth, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("listing bucket %s: %w", bucketBerth, obj.Err)
		}
		for _, part := range strings.Split(obj.Key, "/") {
			if !ids[part] {
				continue
			}
			if prev, dup := byID[part]; dup {
				return nil, fmt.Errorf("bucket %s: two objects for upload %s: %s and %s", bucketBerth, part, prev, obj.Key)
			}
			byID[part] = obj.Key
		}
	}
	var out []presigned
	for _, b := range append([]blob{im.config}, im.layers...) {
		cm, ok := commits[b.digest]
		if !ok {
			return nil, fmt.Errorf("no upload recorded for %s", b.digest)
		}
		key, ok := byID[cm.uploadID]
		if !ok {
			return nil, fmt.Errorf("bucket %s: no object for upload %s (blob %s)", bucketBerth, cm.uploadID, b.digest)
		}
		u, err := m.client.PresignedGetObject(ctx, bucketBerth, key, presignExpiry, url.Values{})
		if err != nil {
			return nil, fmt.Errorf("presigning %s: %w", key, err)
		}
		out = append(out, presigned{url: u.String(), d: descriptor{MediaType: b.mediaType, Digest: b.digest, Size: b.size}})
	}
	return out, nil
}

// measureDirectPush uploads the image's layers and config straight to
// bucketDirect with minio-go's PutObject (multipart, directPartSize parts,
// threads of them at a time) and returns MiB/s over the same bytes as a
// registry push, less the manifest.
func measureDirectPush(ctx context.Context, m *minioServer, im *image, prefix string, threads uint, limit time.Duration) (float64, error) {
	var total int64
	d, err := timed(ctx, limit, func(ctx context.Context) error {
		for _, b := range append(append([]blob(nil), im.layers...), im.config) {
			rc, err := b.open()
			if err != nil {
				return err
			}
			// A layer is an *os.File, whose parts minio-go reads with ReadAt.
			info, err := m.client.PutObject(ctx, bucketDirect, prefix+b.digest, rc, b.size, minio.PutObjectOptions{
				ContentType: "application/octet-stream",
				PartSize:    directPartSize,
				NumThreads:  threads,
			})
			rc.Close()
			if err != nil {
				return fmt.Errorf("PutObject %s/%s%s: %w", bucketDirect, prefix, b.digest, err)
			}
			if info.Size != b.size {
				return fmt.Errorf("PutObject %s/%s%s: stored %d bytes, want %d", bucketDirect, prefix, b.digest, info.Size, b.size)
			}
			total += info.Size
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return float64(total) / mib / d.Seconds(), nil
}

// measureCommit pushes one blob of size random bytes the docker way (POST,
// one PATCH streaming it, PUT ?digest=), hashing as it sends, and times
// only the final PUT. The blob is never stored on the client's disk.
func measureCommit(ctx context.Context, s *server, size int64, limit time.Duration) (commitResult, error) {
	res := commitResult{ran: true, size: size}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := s.reg
	repo := "bench/commit"

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v2/"+repo+"/blobs/uploads/"), nil)
	req.Header.Set("Content-Length", "0")
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return res, err
	}
	drain(resp)
	loc, err := c.resolve(resp)
	if err != nil {
		return res, err
	}

	h := sha256.New()
	body := io.TeeReader(io.LimitReader(newRNG(), size), h)
	req, _ = http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), body)
	req.ContentLength = -1 // chunked, as docker streams a layer
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err = c.do(req, http.StatusAccepted)
	if err != nil {
		return res, err
	}
	drain(resp)
	res.pushMiBs = float64(size) / mib / time.Since(start).Seconds()
	if loc, err = c.resolve(resp); err != nil {
		return res, err
	}
	dgst := "sha256:" + hex.EncodeToString(h.Sum(nil))

	start = time.Now()
	res.uploadID, err = c.commitUpload(ctx, loc, dgst, size)
	res.ms = ms(time.Since(start))
	if err != nil {
		return res, err
	}

	// The blob is there, with its size.
	req, _ = http.NewRequestWithContext(ctx, http.MethodHead, c.url("/v2/"+repo+"/blobs/"+dgst), nil)
	resp, err = c.do(req, http.StatusOK)
	if err != nil {
		return res, err
	}
	drain(resp)
	if resp.ContentLength != size {
		return res, fmt.Errorf("HEAD blob %s: Content-Length %d, want %d", dgst, resp.ContentLength, size)
	}
	return res, nil
}

// inspect lists the bucket for the objects and unfinished multipart
// uploads whose keys name c's upload id.
func (c *commitResult) inspect(ctx context.Context, m *minioServer, bucket string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	names := func(key string) bool {
		for _, part := range strings.Split(key, "/") {
			if part == c.uploadID {
				return true
			}
		}
		return false
	}
	for obj := range m.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("listing bucket %s: %w", bucket, obj.Err)
		}
		if names(obj.Key) {
			c.objects++
			c.stored += obj.Size
		}
	}
	for up := range m.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			return fmt.Errorf("listing multipart uploads in %s: %w", bucket, up.Err)
		}
		if names(up.Key) {
			c.incomplete++
		}
	}
	return nil
}

// checkBucket totals bucket's objects and unfinished multipart uploads and
// compares them with the distinct blobs the clients committed (each
// berth process keeps one copy of each blob it was sent).
func checkBucket(ctx context.Context, m *minioServer, bucket string, clients ...*regClient) (bucketCheck, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var b bucketCheck
	for _, c := range clients {
		for _, cm := range c.committedBlobs() {
			b.blobs++
			b.want += cm.size
		}
	}
	for obj := range m.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return b, fmt.Errorf("listing bucket %s: %w", bucket, obj.Err)
		}
		b.objects++
		b.bytes += obj.Size
	}
	for up := range m.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			return b, fmt.Errorf("listing multipart uploads in %s: %w", bucket, up.Err)
		}
		b.incomplete++
	}
	b.done = true
	return b, nil
}

// ---- report ----

// unmet lists the S3 targets this run missed.
func (r *s3Results) unmet() (missed, notes []string) {
	if !r.push.met() {
		missed = append(missed, fmt.Sprintf("%s (%.2f×, target %s)", r.push.short, r.push.ratio(), r.push.targetText()))
		notes = append(notes, fmt.Sprintf("- %s: berth ÷ Distribution, both on MinIO, %.2f× against a target of %s. berth used %.2f× Distribution's CPU and MinIO %.2f× as much CPU serving berth as serving Distribution.",
			r.push.short, r.push.ratio(), r.push.targetText(), r.pushCPU.ratio(), r.pushMinio.ratio()))
	}
	if !r.pull.met() {
		missed = append(missed, fmt.Sprintf("%s (%.2f× of straight from MinIO, target %s)", r.pull.short, r.pull.ratio(), r.pull.targetText()))
		notes = append(notes, fmt.Sprintf("- %s: berth redirecting ÷ straight from MinIO %.2f× against a target of %s.",
			r.pull.short, r.pull.ratio(), r.pull.targetText()))
	}
	if c := r.commit[s3Berth]; c.ran && !c.storedOnce() {
		missed = append(missed, "S3 commit stored bytes")
		notes = append(notes, fmt.Sprintf("- S3 commit: bucket %s holds %d bytes in %d object(s) and %d unfinished multipart upload(s) for the %d-byte blob's upload, not the blob exactly once.",
			bucketBerth, c.stored, c.objects, c.incomplete, c.size))
	}
	if b := r.bucket; b.done && !b.ok() {
		missed = append(missed, "S3 bucket contents")
		notes = append(notes, fmt.Sprintf("- S3 bucket: %s holds %d bytes (%d objects, %d unfinished multipart uploads); the distinct blobs sent to the berth processes total %d bytes.",
			bucketBerth, b.bytes, b.objects, b.incomplete, b.want))
	}
	return missed, notes
}

// unmetAll gathers the missed targets of both parts (either may be nil).
func unmetAll(fs *results, s3 *s3Results) (missed, notes []string) {
	if fs != nil {
		missed, notes = fs.unmet()
	}
	if s3 != nil {
		m, n := s3.unmet()
		missed, notes = append(missed, m...), append(notes, n...)
	}
	return missed, notes
}

// ratioText prints a ratio with two significant digits below 0.01.
func ratioText(r float64) string {
	if r > 0 && r < 0.01 {
		return fmt.Sprintf("%.2g×", r)
	}
	return fmt.Sprintf("%.2f×", r)
}

func metText(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// table is the S3 summary: medians, the thing compared with, ratio,
// target, verdict.
func (r *s3Results) table() string {
	var b strings.Builder
	b.WriteString("| metric | measured | compared with | ratio | target | result |\n")
	b.WriteString("|---|---:|---|---:|---|---|\n")
	p, q := r.push, r.pull
	fmt.Fprintf(&b, "| %s | %s: %s | %s: %s | %.2f× | %s | %s |\n", p.name,
		r.pushLabels[s3Berth], p.value(p.median(s3Berth)), r.pushLabels[s3Dist], p.value(p.median(s3Dist)),
		p.ratio(), p.targetText(), p.metText())
	for _, i := range []int{pullRedirect, pullStream, pullDist} {
		target, result := "—", "—"
		if i == pullRedirect {
			target, result = q.targetText(), q.metText()
		}
		fmt.Fprintf(&b, "| %s | %s: %s | %s: %s | %.2f× | %s | %s |\n", q.name,
			r.pullLabels[i], q.value(q.median(i)), r.pullLabels[pullDirect], q.value(q.median(pullDirect)),
			median(q.runRatios(i, pullDirect)), target, result)
	}
	if c, d := r.commit[s3Berth], r.commit[s3Dist]; c.ran {
		fmt.Fprintf(&b, "| Commit of one %d GiB blob: the final `PUT ?digest=` only (one run each) | berth: %.0f ms | Distribution 2.8.2: %.0f ms | %s | — | — |\n",
			r.cfg.commitGiB, c.ms, d.ms, ratioText(c.ms/d.ms))
		fmt.Fprintf(&b, "| Bytes in bucket `%s` for that blob's upload | %d bytes in %d object(s), %d unfinished multipart upload(s) | the blob: %d bytes | %.2f× | exactly once | %s |\n",
			bucketBerth, c.stored, c.objects, c.incomplete, c.size, float64(c.stored)/float64(c.size), metText(c.storedOnce()))
	}
	if bc := r.bucket; bc.done {
		fmt.Fprintf(&b, "| Bucket `%s` at the end, whole | %d bytes in %d objects, %d unfinished multipart upload(s) | %d distinct blobs sent to the berth processes: %d bytes | %.2f× | exactly once | %s |\n",
			bucketBerth, bc.bytes, bc.objects, bc.incomplete, bc.blobs, bc.want, float64(bc.bytes)/float64(max(bc.want, 1)), metText(bc.ok()))
	}
	fmt.Fprintf(&b, "| Peak RSS (VmHWM, whole S3 part) | %s: %.1f MiB | %s: %.1f MiB | %.2f× | — | — |\n",
		r.rssLabels[0], r.rss[0], r.rssLabels[2], r.rss[2], r.rss[0]/r.rss[2])
	return b.String()
}

// yardstickTable puts the registries' pushes next to the same bytes sent
// straight to MinIO.
func (r *s3Results) yardstickTable() string {
	var b strings.Builder
	p := r.push
	fmt.Fprintf(&b, "| scenario | %s | %s | %s | %s | berth ÷ one at a time |\n",
		r.pushLabels[pushSerial], r.pushLabels[pushParallel], r.pushLabels[s3Berth], r.pushLabels[s3Dist])
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2f× |\n", p.name,
		p.value(p.median(pushSerial)), p.value(p.median(pushParallel)), p.value(p.median(s3Berth)), p.value(p.median(s3Dist)),
		median(p.runRatios(s3Berth, pushSerial)))
	return b.String()
}

// cpuTable shows each process's CPU time per measurement, median over runs.
func (r *s3Results) cpuTable() string {
	var b strings.Builder
	b.WriteString("| work per measurement | served by | registry CPU | MinIO CPU | together |\n")
	b.WriteString("|---|---|---:|---:|---:|\n")
	for i, l := range r.pushLabels {
		c, mc := r.pushCPU.median(i), r.pushMinio.median(i)
		reg := fmt.Sprintf("%.2f s", c)
		if i == pushSerial || i == pushParallel {
			reg = "— (the bench)"
		}
		fmt.Fprintf(&b, "| Large push (%.0f MiB) | %s | %s | %.2f s | %.2f s |\n", r.imageMiB, l, reg, mc, c+mc)
	}
	for i, l := range r.pullLabels {
		c, mc := r.pullCPU.median(i), r.pullMinio.median(i)
		reg := fmt.Sprintf("%.2f s", c)
		if i == pullDirect {
			reg = "— (the bench)"
		}
		fmt.Fprintf(&b, "| Large pull (%d × %.0f MiB) | %s | %s | %.2f s | %.2f s |\n", r.pullRepeats, r.imageMiB, l, reg, mc, c+mc)
	}
	return b.String()
}

// runsTable lists every run's values.
func (r *s3Results) runsTable() string {
	join := func(v []float64, format string) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf(format, x)
		}
		return strings.Join(s, ", ")
	}
	var b strings.Builder
	b.WriteString("| metric | values per run | ratio per run |\n|---|---|---|\n")
	for i, l := range r.pushLabels {
		ratio := ""
		if i == s3Berth {
			ratio = join(r.push.runRatios(s3Berth, s3Dist), "%.2f×") + " (berth ÷ Distribution)"
		}
		fmt.Fprintf(&b, "| %s (MiB/s), %s | %s | %s |\n", r.push.name, l, join(r.push.vals[i], r.push.format), ratio)
	}
	for i, l := range r.pullLabels {
		ratio := ""
		if i != pullDirect {
			ratio = join(r.pull.runRatios(i, pullDirect), "%.2f×") + " (÷ straight from MinIO)"
		}
		fmt.Fprintf(&b, "| %s (MiB/s), %s | %s | %s |\n", r.pull.name, l, join(r.pull.vals[i], r.pull.format), ratio)
	}
	return b.String()
}

// worstSpread is the largest max/min over runs of one S3 measurement.
func (r *s3Results) worstSpread() (float64, string) {
	worst, name := 1.0, ""
	for i, l := range r.pushLabels {
		if s := r.push.spread(i); s > worst {
			worst, name = s, "S3 large push, "+l
		}
	}
	for i, l := range r.pullLabels {
		if s := r.pull.spread(i); s > worst {
			worst, name = s, "S3 large pull, "+l
		}
	}
	return worst, name
}

// cpuTotals lists the whole-part CPU seconds of each process, sorted.
func (r *s3Results) cpuTotals() string {
	keys := make([]string, 0, len(r.cpuTotal))
	for k := range r.cpuTotal {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.1f s", k, r.cpuTotal[k])
	}
	return strings.Join(parts, ", ")
}
