// Command bench measures berth against the reference registry (CNCF
// Distribution 2.8.2) on the same machine in the same run, and writes
// docs/benchmarks.md.
//
// Both servers start with fresh temp storage on 127.0.0.1. Every scenario
// is measured on both servers, alternating which goes first, so machine
// noise lands on both alike; throughput scenarios are repeated (-runs) and
// the median is reported. Any unexpected response aborts the run.
//
// A second part (-s3, on when a minio program is found) runs one MinIO on
// 127.0.0.1 and measures both registries with their blobs in it (s3.go).
//
//	go run ./bench                      # build berth from the working tree
//	go run ./bench -runs 5 -out /tmp/b.md
//	go run ./bench -s3=false            # filesystem part only
//	go run ./bench -fs=false -commit-gib 0 -out /tmp/s3.md  # S3 part only, no 1 GiB blob
//	go run ./bench -berth-kind distribution   # A/A check: Distribution vs itself
//
// -scaling runs, instead of both parts, the scaling part (scaling.go):
// 1, 2 and 3 berth replicas on one PostgreSQL and one MinIO, and writes
// docs/scaling.md.
//
//	go run ./bench -scaling
//	go run ./bench -scaling -runs 5 -scaling-out /tmp/scaling.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	out          string
	runs         int
	berthBin     string
	distBin      string
	berthKind    string
	layerMiB     int
	layers       int
	smallImages  int
	smallWorkers int
	pullClients  int
	pullRepeats  int
	heads        int
	timeout      time.Duration
	stepTimeout  time.Duration
	keep         bool
	ceiling      bool
	workDir      string
	fs           bool   // run the filesystem part
	s3           bool   // run the S3 part
	minioBin     string // the minio program for the S3 part
	commitGiB    int    // size of the S3 commit test's blob; 0 skips it

	scaling            bool   // run the scaling part instead
	scalingOut         string // its report
	scalingClients     int
	scalingLayers      int
	scalingLayerMiB    int
	scalingSmallImages int
	scalingPullRepeats int
	scalingHeads       int
	scalingCountSmall  int
}

// scalingDefaults are the scaling part's settings unless flags change them.
var scalingDefaults = config{runs: 5, scalingClients: 6, scalingLayers: 4, scalingLayerMiB: 32,
	scalingSmallImages: 400, scalingPullRepeats: 6, scalingHeads: 1000, scalingCountSmall: 20}

func main() {
	var cfg config
	flag.StringVar(&cfg.out, "out", "docs/benchmarks.md", "write the markdown report here (empty: don't write)")
	flag.IntVar(&cfg.runs, "runs", 3, "repetitions of each scenario; the median is reported (-scaling: rounds, default 5)")
	flag.StringVar(&cfg.berthBin, "berth-bin", "", "berth binary (empty: go build ./cmd/berth from the working tree)")
	flag.StringVar(&cfg.distBin, "distribution-bin", "/usr/bin/docker-registry", "Distribution 2.8.2 binary")
	flag.StringVar(&cfg.berthKind, "berth-kind", "berth", `what runs in berth's slot: "berth", or "distribution" for an A/A check of the bench itself (Distribution against itself)`)
	flag.IntVar(&cfg.layerMiB, "layer-mib", 64, "size of each large-image layer in MiB")
	flag.IntVar(&cfg.layers, "layers", 4, "number of large-image layers")
	flag.IntVar(&cfg.smallImages, "small-images", 300, "small images pushed per run")
	flag.IntVar(&cfg.smallWorkers, "small-workers", 8, "concurrent small-image pushers")
	flag.IntVar(&cfg.pullClients, "pull-clients", 16, "concurrent clients in the concurrent-pull scenario")
	flag.IntVar(&cfg.pullRepeats, "pull-repeats", 3, "back-to-back pulls of the large image in one large-pull measurement")
	flag.IntVar(&cfg.heads, "heads", 1000, "sequential manifest HEADs per run")
	flag.DurationVar(&cfg.timeout, "timeout", 20*time.Minute, "abort the whole run after this long")
	flag.DurationVar(&cfg.stepTimeout, "step-timeout", 3*time.Minute, "abort if one measurement takes longer than this")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temp dir (storage, logs) after the run")
	flag.BoolVar(&cfg.ceiling, "ceiling", true, "also run the large push and pulls against a minimal server, as a yardstick")
	flag.StringVar(&cfg.workDir, "work-dir", "", "where the temp dir for layers and server storage goes (empty: the system temp dir; /dev/shm takes the disk out of the measurement)")
	flag.BoolVar(&cfg.fs, "fs", true, "run the filesystem part (both registries on local disk)")
	flag.BoolVar(&cfg.s3, "s3", true, "run the S3 part: both registries with their blobs in one MinIO on 127.0.0.1 (unless set, on only when a minio program is found)")
	flag.StringVar(&cfg.minioBin, "minio-bin", "", "the minio program for the S3 part (empty: minio in PATH, then in the Go bin directory)")
	flag.IntVar(&cfg.commitGiB, "commit-gib", 1, "S3 part: push one blob of this many GiB and time its final PUT (0 skips it; it writes the blob to MinIO twice, once per registry)")
	d := scalingDefaults
	flag.BoolVar(&cfg.scaling, "scaling", false, "run only the scaling part: 1, 2 and 3 berth replicas on one PostgreSQL and one MinIO (scaling.go), written to -scaling-out")
	flag.StringVar(&cfg.scalingOut, "scaling-out", "docs/scaling.md", "scaling part: write its markdown report here (empty: don't write)")
	flag.IntVar(&cfg.scalingClients, "scaling-clients", d.scalingClients, "scaling part: concurrent clients, spread round-robin over the replicas")
	flag.IntVar(&cfg.scalingLayers, "scaling-layers", d.scalingLayers, "scaling part: layers of each large image")
	flag.IntVar(&cfg.scalingLayerMiB, "scaling-layer-mib", d.scalingLayerMiB, "scaling part: size of each large-image layer in MiB")
	flag.IntVar(&cfg.scalingSmallImages, "scaling-small-images", d.scalingSmallImages, "scaling part: small images pushed per measurement")
	flag.IntVar(&cfg.scalingPullRepeats, "scaling-pull-repeats", d.scalingPullRepeats, "scaling part: pulls of the large image by each client per measurement")
	flag.IntVar(&cfg.scalingHeads, "scaling-heads", d.scalingHeads, "scaling part: manifest HEADs per index per round")
	flag.IntVar(&cfg.scalingCountSmall, "scaling-count-small", d.scalingCountSmall, "scaling part: small images pushed in the pass that counts S3 requests")
	fileServer := flag.String("internal-file-server", "", "internal: run as the minimal yardstick server over this dir")
	fileListen := flag.String("internal-listen", "", "internal: address for -internal-file-server and -internal-s3-proxy")
	s3Proxy := flag.String("internal-s3-proxy", "", "internal: run as the minimal S3 proxy over this bucket")
	flag.Parse()

	if *s3Proxy != "" {
		if err := serveS3Proxy(*s3Proxy, *fileListen); err != nil {
			fmt.Fprintln(os.Stderr, "bench S3 proxy:", err)
			os.Exit(1)
		}
		return
	}

	if *fileServer != "" {
		if err := serveFiles(*fileServer, *fileListen); err != nil {
			fmt.Fprintln(os.Stderr, "bench file server:", err)
			os.Exit(1)
		}
		return
	}

	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.scaling {
		if !set["runs"] {
			cfg.runs = scalingDefaults.runs
		}
		os.Exit(mainScaling(cfg))
	}
	if cfg.s3 && cfg.minioBin == "" {
		bin, err := findMinio()
		switch {
		case err == nil:
			cfg.minioBin = bin
		case set["s3"]:
			fmt.Fprintf(os.Stderr, "bench: -s3: %v (scripts/bench installs it; or pass -minio-bin, or -s3=false)\n", err)
			os.Exit(2)
		default:
			logf("no minio program (%v): skipping the S3 part", err)
			cfg.s3 = false
		}
	}

	if err := validate(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	os.Exit(runUntil(cfg, run))
}

// runUntil runs part until it ends, is interrupted or runs past
// -timeout, and returns the exit code.
func runUntil(cfg config, part func(context.Context, config) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if err := part(ctx, cfg); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "\nbench: stopped:", context.Cause(ctx))
		} else {
			fmt.Fprintln(os.Stderr, "\nbench: FAILED:", err)
		}
		return 1
	}
	return 0
}

// mainScaling runs the scaling part and returns the exit code.
func mainScaling(cfg config) int {
	if cfg.minioBin == "" {
		cfg.minioBin, _ = findMinio()
	}
	if err := validateScaling(&cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	return runUntil(cfg, runScaling)
}

func validate(cfg *config) error {
	switch {
	case cfg.runs < 1 || cfg.runs > 50:
		return errors.New("-runs must be 1..50")
	case cfg.layerMiB < 1 || cfg.layerMiB > 4096:
		return errors.New("-layer-mib must be 1..4096")
	case cfg.layers < 1 || cfg.layers > 64:
		return errors.New("-layers must be 1..64")
	case cfg.smallImages < 1 || cfg.smallImages > 100000:
		return errors.New("-small-images must be 1..100000")
	case cfg.smallWorkers < 1 || cfg.smallWorkers > 256:
		return errors.New("-small-workers must be 1..256")
	case cfg.pullClients < 1 || cfg.pullClients > 256:
		return errors.New("-pull-clients must be 1..256")
	case cfg.pullRepeats < 1 || cfg.pullRepeats > 100:
		return errors.New("-pull-repeats must be 1..100")
	case cfg.heads < 1 || cfg.heads > 1000000:
		return errors.New("-heads must be 1..1000000")
	case cfg.berthKind != "berth" && cfg.berthKind != "distribution":
		return errors.New(`-berth-kind must be "berth" or "distribution"`)
	case cfg.commitGiB < 0 || cfg.commitGiB > 16:
		return errors.New("-commit-gib must be 0..16")
	}
	if cfg.s3 && cfg.berthKind != "berth" {
		// The S3 part compares berth's redirects with MinIO itself; the
		// A/A check is a check of the filesystem part.
		logf("-berth-kind %s: skipping the S3 part", cfg.berthKind)
		cfg.s3 = false
	}
	if !cfg.fs && !cfg.s3 {
		return errors.New("nothing to run: -fs=false and no S3 part")
	}
	// Servers run with their temp dir as working directory: make paths absolute.
	for _, p := range []*string{&cfg.berthBin, &cfg.distBin, &cfg.minioBin} {
		if *p != "" && strings.ContainsRune(*p, filepath.Separator) {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	if cfg.berthBin != "" && cfg.berthKind == "berth" {
		if _, err := exec.LookPath(cfg.berthBin); err != nil {
			return fmt.Errorf("-berth-bin: %w", err)
		}
	}
	if _, err := os.Stat(cfg.distBin); err != nil {
		return fmt.Errorf("-distribution-bin: %w (scripts/bench installs the Debian package docker-registry)", err)
	}
	if cfg.s3 {
		if cfg.minioBin == "" {
			return errors.New("-s3: no minio program found (scripts/bench installs it; or pass -minio-bin, or -s3=false)")
		}
		if _, err := exec.LookPath(cfg.minioBin); err != nil {
			return fmt.Errorf("-minio-bin: %w", err)
		}
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(ctx context.Context, cfg config) (err error) {
	started := time.Now()
	tmp, err := os.MkdirTemp(cfg.workDir, "berth-bench-")
	if err != nil {
		return err
	}
	defer func() { removeTemp(cfg, tmp, err) }()

	info := collectMachineInfo(cfg)
	info.loadBefore = loadAvg()
	info.storage = storageInfo(tmp)

	// Resolve berth's binary.
	if cfg.berthKind == "distribution" {
		info.berthRev = "Distribution 2.8.2 standing in for berth (A/A check)"
	} else if cfg.berthBin == "" {
		if cfg.berthBin, err = buildBerthIn(ctx, tmp); err != nil {
			return err
		}
	}

	// Generate the large layers before any server runs.
	dataDir := filepath.Join(tmp, "layers")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	logf("writing %d random layers of %d MiB to %s", cfg.layers, cfg.layerMiB, dataDir)
	layers, err := makeLayerFiles(ctx, dataDir, cfg.layers, int64(cfg.layerMiB)*mib)
	if err != nil {
		return err
	}

	var res *results
	if cfg.fs {
		if res, err = runFilesystem(ctx, cfg, tmp, layers, &info); err != nil {
			return err
		}
	}
	var s3res *s3Results
	if cfg.s3 {
		if s3res, err = runS3(ctx, cfg, tmp, layers); err != nil {
			return err
		}
	}

	info.loadAfter = loadAvg()
	info.elapsed = time.Since(started)

	fmt.Println()
	if res != nil {
		fmt.Println(res.table(info.labels))
		if cfg.ceiling {
			fmt.Println(res.ceilingTable(info.labels))
		}
		fmt.Println(res.cpuTable(info.labels))
	}
	if s3res != nil {
		fmt.Println(s3res.table())
		fmt.Println(s3res.cpuTable())
	}
	if _, notes := unmetAll(res, s3res); len(notes) > 0 {
		fmt.Println("Targets not met:")
		fmt.Println(strings.Join(notes, "\n"))
		fmt.Println()
	}
	if cfg.out != "" {
		doc, err := renderDoc(cfg, info, res, s3res)
		if err != nil {
			return fmt.Errorf("rendering the report: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.out, []byte(doc), 0o644); err != nil {
			return err
		}
		logf("wrote %s", cfg.out)
	}
	logf("done in %s", info.elapsed.Round(time.Second))
	return nil
}

// order gives the server sequence for one measurement round: who, rotated
// by scenario+run, so no server always goes first.
func order(who []int, scenario, run int) []int {
	k := (scenario + run) % len(who)
	return append(append([]int(nil), who[k:]...), who[:k]...)
}

func mkdir(parent, name string) string {
	p := filepath.Join(parent, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		panic(err)
	}
	return p
}

// removeTemp removes the run's temp dir, unless -keep, after the run
// ended with err.
func removeTemp(cfg config, tmp string, err error) {
	if cfg.keep {
		logf("temp dir kept: %s", tmp)
		return
	}
	os.RemoveAll(tmp)
	if err != nil && !errors.Is(err, context.Canceled) {
		logf("rerun with -keep to keep the servers' storage and logs")
	}
}

// buildBerthIn builds berth from the working tree into tmp/bin and
// returns its path.
func buildBerthIn(ctx context.Context, tmp string) (string, error) {
	bin := filepath.Join(tmp, "bin", "berth")
	logf("building berth: go build -o %s ./cmd/berth", bin)
	return bin, buildBerth(ctx, bin)
}

// buildBerth compiles ./cmd/berth from the module that contains the
// current directory.
func buildBerth(ctx context.Context, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/berth")
	cmd.Dir = root
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/berth: %w", err)
	}
	return nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside a Go module: run from the berth repository")
	}
	return filepath.Dir(mod), nil
}
