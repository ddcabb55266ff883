package main

// The scaling part (-scaling; this file, with its probes in
// scalingprobe.go and its report in scalingreport.go): one PostgreSQL
// index and one MinIO, three berth replicas on them sharing their master
// key and signing keys as the README's three-replica deployment does,
// and one berth on SQLite over the same MinIO. Each round measures, with
// 1, 2 and 3 of the replicas serving (the order rotating every round), a
// fixed number of concurrent clients spread round-robin over them:
//
//  1. large push: every client pushes an image of fresh layers;
//  2. large pull: every client pulls one image, streamed by berth from
//     MinIO (redirects off: the case where clients cannot reach the
//     bucket), -scaling-pull-repeats times;
//  3. small pushes: the clients push -scaling-small-images small images.
//
// Then manifest HEAD latency through a replica on PostgreSQL and through
// the berth on SQLite, in alternating blocks. Around every measurement it
// reads the CPU time of the berth replicas, MinIO, PostgreSQL (all its
// processes) and the bench itself, and the statements PostgreSQL ran
// (pg_stat_statements). Last, a fourth replica whose S3 traffic passes a
// counting proxy pushes and pulls once more, untimed, to count the S3
// requests of each operation.

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/pgtest"
)

// Workloads of the scaling part, in the order of its tables.
const (
	wlPush  = 0
	wlPull  = 1
	wlSmall = 2
	wlCount = 3
)

// scaleReplicas are the replica counts the part compares.
var scaleReplicas = []int{1, 2, 3}

const (
	scaleBucket       = "scaling"
	scaleSQLiteBucket = "scaling-sqlite"
	scaleDatabase     = "berth_scaling"
	headBlock         = 50 // HEADs in a row to one backend before switching
)

// scaleRig is what the scaling part runs: PostgreSQL, MinIO, the
// replicas on them, and the berth on SQLite.
type scaleRig struct {
	pg       *pgtest.Server
	db       *sql.DB // the bench's own connection, for pg_stat_statements
	minio    *minioServer
	env      []string // what every replica shares
	replicas []*server
	sqlite   *server
}

// startScaleRig starts everything the scaling part measures, warmed up.
// On error it stops what it started.
func startScaleRig(ctx context.Context, cfg config, root string) (_ *scaleRig, err error) {
	rig := &scaleRig{}
	defer func() {
		if err != nil {
			rig.stop(ctx, true)
		}
	}()
	rig.pg, err = pgtest.Launch(map[string]string{
		"shared_preload_libraries": "pg_stat_statements",
	})
	if err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	logf("PostgreSQL ready at %s (pid %d)", rig.pg.Addr(), rig.pg.Pid())
	dsn, err := rig.pg.CreateDatabase(ctx, scaleDatabase)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	if rig.db, err = sql.Open("pgx", dsn); err != nil {
		return nil, err
	}
	rig.db.SetMaxOpenConns(1)
	if _, err := rig.db.ExecContext(ctx, "CREATE EXTENSION pg_stat_statements"); err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}

	if rig.minio, err = startMinio(cfg.minioBin, mkdir(root, "minio")); err != nil {
		return nil, fmt.Errorf("start MinIO: %w", err)
	}
	logf("MinIO (%s) ready at %s (pid %d)", minioVersion(cfg.minioBin), rig.minio.base(), rig.minio.Pid())

	master := make([]byte, 32)
	if _, err := crand.Read(master); err != nil {
		return nil, err
	}
	rig.env = append(s3Env(rig.minio.Endpoint, rig.minio, scaleBucket, false),
		"BERTH_METADATA_POSTGRES_DSN="+dsn,
		"BERTH_AUTH_MASTER_KEY="+base64.StdEncoding.EncodeToString(master),
		"BERTH_AUTH_SIGNING_KEYS_DIR="+mkdir(root, "signing-keys"),
	)
	// The first replica starts alone: it applies the schema.
	for i := range scaleReplicas[len(scaleReplicas)-1] {
		label := fmt.Sprintf("replica %d", i+1)
		s, err := startBerthEnv(ctx, label, cfg.berthBin, mkdir(root, fmt.Sprintf("replica-%d", i+1)), rig.env)
		if err != nil {
			return nil, fmt.Errorf("start berth %s: %w", label, err)
		}
		rig.replicas = append(rig.replicas, s)
	}
	if rig.sqlite, err = startBerthEnv(ctx, "berth on SQLite", cfg.berthBin, mkdir(root, "sqlite"),
		s3Env(rig.minio.Endpoint, rig.minio, scaleSQLiteBucket, false)); err != nil {
		return nil, fmt.Errorf("start berth on SQLite: %w", err)
	}
	for _, s := range append(rig.replicas[:len(rig.replicas):len(rig.replicas)], rig.sqlite) {
		logf("%s ready at %s (pid %d)", s.label, s.base, s.cmd.Process.Pid)
		if err := warmUp(ctx, s); err != nil {
			return nil, fmt.Errorf("%s warm-up: %w", s.label, err)
		}
	}
	return rig, nil
}

// startBerthEnv runs berth with its data in root and the extra
// environment env, open (--no-auth) like every berth the bench runs.
func startBerthEnv(ctx context.Context, label, bin, root string, env []string) (*server, error) {
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		data, err := makeDataDir(root)
		if err != nil {
			return nil, err
		}
		return spawnEnv(ctx, label, root, "/healthz", addr, berthEnv(env...), bin, "serve", "--no-auth", "--listen", addr, "--data-dir", data)
	})
}

// stop stops the berth processes, MinIO and PostgreSQL; after a failure
// it prints the end of each berth's and MinIO's log.
func (rig *scaleRig) stop(ctx context.Context, failed bool) {
	tail := func(label, text string) {
		if failed && ctx.Err() == nil && strings.TrimSpace(text) != "" {
			fmt.Fprintf(os.Stderr, "\n--- %s log tail ---\n%s\n", label, text)
		}
	}
	for _, s := range append(rig.replicas, rig.sqlite) {
		if s != nil {
			s.stop()
			tail(s.label, s.logTail(40))
		}
	}
	if rig.minio != nil {
		rig.minio.Stop()
		tail("MinIO", rig.minio.outputTail(40))
	}
	if rig.db != nil {
		rig.db.Close()
	}
	if rig.pg != nil {
		rig.pg.Stop()
	}
}

// scaleProbe reads, around one measurement, what the machine's processes
// spent on it.
type scaleProbe struct {
	replicas []procStat
	minio    procStat
	pgPid    int
	self     procStat
}

func (rig *scaleRig) probe() scaleProbe {
	p := scaleProbe{minio: rig.minio.stat(), pgPid: rig.pg.Pid(), self: procStat{label: "bench", pid: os.Getpid()}}
	for _, s := range rig.replicas {
		p.replicas = append(p.replicas, s.stat())
	}
	return p
}

// cpu returns the CPU seconds used so far by the replicas (summed),
// MinIO, PostgreSQL and the bench.
func (p scaleProbe) cpu() ([4]float64, error) {
	var out [4]float64
	for _, r := range p.replicas {
		v, err := r.cpuSeconds()
		if err != nil {
			return out, err
		}
		out[0] += v
	}
	var err error
	if out[1], err = p.minio.cpuSeconds(); err != nil {
		return out, err
	}
	if out[2], err = treeCPUSeconds(p.pgPid); err != nil {
		return out, err
	}
	out[3], err = p.self.cpuSeconds()
	return out, err
}

// treeCPUSeconds is the CPU time so far of process pid and its children,
// with that of the children they have waited for: PostgreSQL runs a
// process per connection, forked by the postmaster (each in a session of
// its own, so not in the postmaster's process group).
func treeCPUSeconds(pid int) (float64, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var total float64
	found := false
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue // exited since the listing
		}
		st, err := parseProcStat(string(b))
		if err != nil || (p != pid && st.ppid != pid) {
			continue
		}
		found = found || p == pid
		total += st.utime + st.stime + st.cutime + st.cstime
	}
	if !found {
		return 0, fmt.Errorf("no process %d", pid)
	}
	return total, nil
}

// measure runs one measurement and returns what it cost: f does the work
// and returns the units it moved (MiB or images) and the images it pushed
// or pulled.
func (rig *scaleRig) measure(ctx context.Context, limit time.Duration, f func(ctx context.Context) (units, images float64, err error)) (scaleSample, error) {
	p := rig.probe()
	load, _ := loadAvg1()
	before, err := p.cpu()
	if err != nil {
		return scaleSample{}, err
	}
	pgBefore, err := pgStatements(ctx, rig.db)
	if err != nil {
		return scaleSample{}, err
	}
	var units, images float64
	d, err := timed(ctx, limit, func(ctx context.Context) error {
		var err error
		units, images, err = f(ctx)
		return err
	})
	if err != nil {
		return scaleSample{}, err
	}
	pgAfter, err := pgStatements(ctx, rig.db)
	if err != nil {
		return scaleSample{}, err
	}
	after, err := p.cpu()
	if err != nil {
		return scaleSample{}, err
	}
	for _, s := range rig.replicas {
		if err := s.alive(); err != nil {
			return scaleSample{}, err
		}
	}
	if err := rig.minio.Alive(); err != nil {
		return scaleSample{}, err
	}
	s := scaleSample{units: units, images: images, seconds: d.Seconds(), pg: pgAfter.sub(pgBefore), load: load}
	for i := range after {
		s.cpu[i] = after[i] - before[i]
	}
	return s, nil
}

// runScaling is the scaling part. Everything it starts is stopped when it
// returns.
func runScaling(ctx context.Context, cfg config) (err error) {
	started := time.Now()
	tmp, err := os.MkdirTemp(cfg.workDir, "berth-scaling-")
	if err != nil {
		return err
	}
	defer func() { removeTemp(cfg, tmp, err) }()
	info := collectMachineInfo(cfg)
	info.storage = storageInfo(tmp)
	loads := startLoadSampler(ctx, 5*time.Second)
	if cfg.berthBin == "" {
		if cfg.berthBin, err = buildBerthIn(ctx, tmp); err != nil {
			return err
		}
	}
	rig, err := startScaleRig(ctx, cfg, tmp)
	if err != nil {
		return err
	}
	defer func() { rig.stop(ctx, err != nil) }()

	res := newScaleResults(cfg)
	res.minioVer = minioVersion(cfg.minioBin)
	if err := rig.db.QueryRowContext(ctx, "SHOW server_version").Scan(&res.pgVersion); err != nil {
		return err
	}
	pullImage, err := rig.pullImage(ctx, cfg, tmp)
	if err != nil {
		return err
	}
	headImage := smallImages(-2, 1)[0]
	headImage.repo = "scale/head"
	for _, s := range []*server{rig.replicas[0], rig.sqlite} {
		if err := s.reg.pushImage(ctx, headImage, false); err != nil {
			return fmt.Errorf("%s: push of the HEAD image: %w", s.label, err)
		}
	}

	for r := 0; r < cfg.runs; r++ {
		if err := rig.round(ctx, cfg, tmp, r, pullImage, headImage, res); err != nil {
			return err
		}
	}
	if err := rig.countS3(ctx, cfg, tmp, pullImage, res); err != nil {
		return err
	}

	res.loads = loads()
	info.elapsed = time.Since(started)
	res.info = info
	fmt.Println()
	fmt.Println(res.throughputTable())
	fmt.Println(res.headTable())
	doc := res.render()
	if cfg.scalingOut != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.scalingOut), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.scalingOut, []byte(doc), 0o644); err != nil {
			return err
		}
		logf("wrote %s", cfg.scalingOut)
	}
	logf("done in %s", info.elapsed.Round(time.Second))
	return nil
}

// pullImage writes and pushes (through replica 1, untimed) the image
// every client pulls.
func (rig *scaleRig) pullImage(ctx context.Context, cfg config, tmp string) (*image, error) {
	layers, err := makeLayerFiles(ctx, mkdir(tmp, "pull-layers"), cfg.scalingLayers, int64(cfg.scalingLayerMiB)*mib)
	if err != nil {
		return nil, err
	}
	im := largeImage(layers, 0)
	im.repo = "scale/pull"
	logf("pushing %s:%s (%.0f MiB) through %s (not timed)", im.repo, im.tag, float64(im.bytes())/mib, rig.replicas[0].label)
	if err := rig.replicas[0].reg.pushImage(ctx, im, false); err != nil {
		return nil, fmt.Errorf("push of the pull image: %w", err)
	}
	return im, nil
}

// clients runs one function per client, client c on replica c mod n,
// all at once; the first error cancels the others.
func (rig *scaleRig) clients(ctx context.Context, cfg config, n int, f func(ctx context.Context, c int, s *server) error) error {
	return parallel(ctx, cfg.scalingClients, cfg.scalingClients, func(ctx context.Context, c int) error {
		return f(ctx, c, rig.replicas[c%n])
	})
}

// round is one round of every measurement.
func (rig *scaleRig) round(ctx context.Context, cfg config, tmp string, r int, pullImage, headImage *image, res *scaleResults) error {
	// Fresh layers for every push of the round, written before any is timed.
	dir := mkdir(tmp, fmt.Sprintf("push-layers-r%d", r))
	defer os.RemoveAll(dir)
	pushes := make([][]*image, len(scaleReplicas))
	logf("round %d/%d: writing %d × %d random layers of %d MiB", r+1, cfg.runs, len(scaleReplicas)*cfg.scalingClients, cfg.scalingLayers, cfg.scalingLayerMiB)
	for k, n := range scaleReplicas {
		for c := range cfg.scalingClients {
			layers, err := makeLayerFiles(ctx, mkdir(dir, fmt.Sprintf("n%d-c%d", n, c)), cfg.scalingLayers, int64(cfg.scalingLayerMiB)*mib)
			if err != nil {
				return err
			}
			im := largeImage(layers, r)
			im.repo = fmt.Sprintf("scale/push-r%d-n%d/c%d", r, n, c)
			pushes[k] = append(pushes[k], im)
		}
	}
	who := make([]int, len(scaleReplicas))
	for k := range who {
		who[k] = k
	}
	for wl := range wlCount {
		for _, k := range order(who, wl, r) {
			n := scaleReplicas[k]
			s, err := rig.measure(ctx, cfg.stepTimeout, func(ctx context.Context) (float64, float64, error) {
				return rig.workload(ctx, cfg, wl, n, r, pushes[k], pullImage)
			})
			if err != nil {
				return fmt.Errorf("round %d, %s with %d replica(s): %w", r+1, workloadNames[wl], n, err)
			}
			res.add(wl, k, s)
			logf("round %d/%d  %-12s %d replica(s)  %8.1f %-8s (CPU s: berth %.1f, MinIO %.1f, PostgreSQL %.1f, bench %.1f; %d statements)",
				r+1, cfg.runs, workloadNames[wl], n, s.rate(), workloadUnits[wl], s.cpu[0], s.cpu[1], s.cpu[2], s.cpu[3], s.pg.total())
		}
	}
	p50, p99, err := rig.heads(ctx, cfg, r, headImage)
	if err != nil {
		return err
	}
	for i := range p50 {
		res.headP50[i] = append(res.headP50[i], p50[i])
		res.headP99[i] = append(res.headP99[i], p99[i])
	}
	logf("round %d/%d  manifest HEAD  PostgreSQL p50 %.2f ms p99 %.2f ms, SQLite p50 %.2f ms p99 %.2f ms",
		r+1, cfg.runs, p50[headPG], p99[headPG], p50[headSQLite], p99[headSQLite])
	return nil
}

// workload runs one measurement of workload wl on the first n replicas
// and returns the units moved (MiB or images) and the images.
func (rig *scaleRig) workload(ctx context.Context, cfg config, wl, n, r int, pushes []*image, pullImage *image) (float64, float64, error) {
	switch wl {
	case wlPush:
		err := rig.clients(ctx, cfg, n, func(ctx context.Context, c int, s *server) error {
			return s.reg.pushImage(ctx, pushes[c], false)
		})
		var total int64
		for _, im := range pushes {
			total += im.bytes()
		}
		return float64(total) / mib, float64(len(pushes)), err
	case wlPull:
		var mu sync.Mutex
		var total int64
		err := rig.clients(ctx, cfg, n, func(ctx context.Context, c int, s *server) error {
			for range cfg.scalingPullRepeats {
				got, err := s.reg.pullImage(ctx, pullImage)
				mu.Lock()
				total += got
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			return nil
		})
		pulls := cfg.scalingClients * cfg.scalingPullRepeats
		if err == nil && total != int64(pulls)*pullImage.bytes() {
			err = fmt.Errorf("pulls moved %d bytes, want %d", total, int64(pulls)*pullImage.bytes())
		}
		return float64(total) / mib, float64(pulls), err
	default:
		ims := smallImages(r, cfg.scalingSmallImages)
		for i, im := range ims {
			im.repo = fmt.Sprintf("scale/small-r%d-n%d/app%02d", r, n, i%25)
		}
		err := rig.clients(ctx, cfg, n, func(ctx context.Context, c int, s *server) error {
			for i := c; i < len(ims); i += cfg.scalingClients {
				if err := s.reg.pushImage(ctx, ims[i], true); err != nil {
					return err
				}
			}
			return nil
		})
		return float64(len(ims)), float64(len(ims)), err
	}
}

// Backends of the HEAD comparison.
const (
	headPG     = 0
	headSQLite = 1
)

// heads measures cfg.scalingHeads sequential manifest HEADs on each of
// replica 1 (PostgreSQL) and the berth on SQLite, in alternating blocks,
// and returns each one's p50 and p99 in milliseconds.
func (rig *scaleRig) heads(ctx context.Context, cfg config, r int, im *image) (p50, p99 [2]float64, err error) {
	backends := [2]*server{rig.replicas[0], rig.sqlite}
	var lat [2][]time.Duration
	for b := 0; b*headBlock < cfg.scalingHeads; b++ {
		for _, i := range order([]int{headPG, headSQLite}, r, b) {
			for range min(headBlock, cfg.scalingHeads-b*headBlock) {
				start := time.Now()
				if err := backends[i].reg.headManifest(ctx, im); err != nil {
					return p50, p99, fmt.Errorf("%s: %w", backends[i].label, err)
				}
				lat[i] = append(lat[i], time.Since(start))
			}
		}
	}
	for i := range lat {
		sort.Slice(lat[i], func(a, b int) bool { return lat[i][a] < lat[i][b] })
		p50[i], p99[i] = ms(percentile(lat[i], 0.50)), ms(percentile(lat[i], 0.99))
	}
	return p50, p99, nil
}

// countS3 starts a fourth replica whose S3 requests pass a counting
// proxy and, untimed and one at a time, pushes one large image, pulls
// one, and pushes -scaling-count-small small images through it, counting
// the S3 requests and PostgreSQL statements of each.
func (rig *scaleRig) countS3(ctx context.Context, cfg config, tmp string, pullImage *image, res *scaleResults) error {
	proxy, err := startS3Counter(rig.minio.Endpoint)
	if err != nil {
		return err
	}
	defer proxy.close()
	root := mkdir(tmp, "counting")
	// The later endpoint wins: exec keeps a variable's last value.
	env := append(append([]string(nil), rig.env...), s3Env(proxy.addr, rig.minio, scaleBucket, false)...)
	s, err := startBerthEnv(ctx, "replica 4 (S3 counted)", cfg.berthBin, root, env)
	if err != nil {
		return err
	}
	defer s.stop()
	if err := warmUp(ctx, s); err != nil {
		return fmt.Errorf("%s warm-up: %w", s.label, err)
	}
	layers, err := makeLayerFiles(ctx, mkdir(tmp, "count-layers"), cfg.scalingLayers, int64(cfg.scalingLayerMiB)*mib)
	if err != nil {
		return err
	}
	push := largeImage(layers, -1)
	push.repo = "scale/count-push"
	small := smallImages(-3, cfg.scalingCountSmall)
	for _, im := range small {
		im.repo = "scale/count-small"
	}
	steps := [wlCount]func(ctx context.Context) (float64, error){
		wlPush: func(ctx context.Context) (float64, error) { return 1, s.reg.pushImage(ctx, push, false) },
		wlPull: func(ctx context.Context) (float64, error) {
			_, err := s.reg.pullImage(ctx, pullImage)
			return 1, err
		},
		wlSmall: func(ctx context.Context) (float64, error) {
			for _, im := range small {
				if err := s.reg.pushImage(ctx, im, true); err != nil {
					return 0, err
				}
			}
			return float64(len(small)), nil
		},
	}
	for wl, step := range steps {
		proxy.reset()
		pgBefore, err := pgStatements(ctx, rig.db)
		if err != nil {
			return err
		}
		var images float64
		if _, err := timed(ctx, cfg.stepTimeout, func(ctx context.Context) error {
			var err error
			images, err = step(ctx)
			return err
		}); err != nil {
			return fmt.Errorf("%s, counted %s: %w", s.label, workloadNames[wl], err)
		}
		pgAfter, err := pgStatements(ctx, rig.db)
		if err != nil {
			return err
		}
		res.s3Ops[wl] = proxy.snapshot()
		res.s3Images[wl] = images
		res.countPG[wl] = pgAfter.sub(pgBefore)
		logf("counted      %-12s %.0f image(s): S3 %s; PostgreSQL %d statements", workloadNames[wl], images, formatOps(res.s3Ops[wl]), res.countPG[wl].total())
	}
	return s.alive()
}

// loadAvg1 is the 1-minute load average.
func loadAvg1() (float64, bool) {
	f := strings.Fields(loadAvg())
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// startLoadSampler reads the 1-minute load average every interval until
// ctx ends or the returned function is called, which returns the values
// read (the first at once).
func startLoadSampler(ctx context.Context, interval time.Duration) func() []float64 {
	var (
		mu   sync.Mutex
		vals []float64
	)
	read := func() {
		if v, ok := loadAvg1(); ok {
			mu.Lock()
			vals = append(vals, v)
			mu.Unlock()
		}
	}
	read()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				read()
			case <-done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	var once sync.Once
	return func() []float64 {
		once.Do(func() { close(done); read() })
		mu.Lock()
		defer mu.Unlock()
		return append([]float64(nil), vals...)
	}
}

// validateScaling checks the scaling part's settings.
func validateScaling(cfg *config) error {
	switch {
	case cfg.runs < 1 || cfg.runs > 50:
		return errors.New("-runs must be 1..50")
	case cfg.scalingClients < 1 || cfg.scalingClients > 64:
		return errors.New("-scaling-clients must be 1..64")
	case cfg.scalingLayerMiB < 1 || cfg.scalingLayerMiB > 1024:
		return errors.New("-scaling-layer-mib must be 1..1024")
	case cfg.scalingLayers < 1 || cfg.scalingLayers > 16:
		return errors.New("-scaling-layers must be 1..16")
	case cfg.scalingSmallImages < 1 || cfg.scalingSmallImages > 10000:
		return errors.New("-scaling-small-images must be 1..10000")
	case cfg.scalingPullRepeats < 1 || cfg.scalingPullRepeats > 20:
		return errors.New("-scaling-pull-repeats must be 1..20")
	case cfg.scalingHeads < 1 || cfg.scalingHeads > 100000:
		return errors.New("-scaling-heads must be 1..100000")
	case cfg.scalingCountSmall < 1 || cfg.scalingCountSmall > 1000:
		return errors.New("-scaling-count-small must be 1..1000")
	}
	for _, p := range []*string{&cfg.berthBin, &cfg.minioBin} {
		if *p != "" && strings.ContainsRune(*p, filepath.Separator) {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	if cfg.minioBin == "" {
		return errors.New("-scaling: no minio program found (scripts/bench installs it; or pass -minio-bin)")
	}
	return nil
}
