package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Server slots in metric.vals.
const (
	slotBerth   = 0
	slotDist    = 1
	slotCeiling = 2 // the minimal server, large push and pull scenarios only
)

// metric holds one measured quantity per server slot, one value per run.
type metric struct {
	name        string
	short       string
	unit        string
	format      string  // printf verb for one value
	lowerBetter bool    // latency and memory
	target      float64 // ratio berth/Distribution to meet; 0 means none
	vals        [4][]float64
	cpu         *metric // server CPU seconds per measurement of this scenario
}

func (m *metric) add(i int, v float64) { m.vals[i] = append(m.vals[i], v) }

func (m *metric) median(i int) float64 { return median(m.vals[i]) }

// runRatios is slot a's value divided by slot b's in the same run.
func (m *metric) runRatios(a, b int) []float64 {
	var rs []float64
	for j := 0; j < len(m.vals[a]) && j < len(m.vals[b]); j++ {
		if m.vals[b][j] > 0 {
			rs = append(rs, m.vals[a][j]/m.vals[b][j])
		}
	}
	return rs
}

// ratio is the median over runs of berth's value divided by
// Distribution's in the same run. Both are measured back to back in each
// run, so pairing them cancels slow drift in the machine's load better than
// a ratio of the two medians would.
func (m *metric) ratio() float64 { return median(m.runRatios(slotBerth, slotDist)) }

func (m *metric) hasTarget() bool { return m.target > 0 }

func (m *metric) met() bool {
	if m.lowerBetter {
		return m.ratio() <= m.target
	}
	return m.ratio() >= m.target
}

func (m *metric) targetText() string {
	if !m.hasTarget() {
		return "—"
	}
	if m.lowerBetter {
		return fmt.Sprintf("≤ %.2g×", m.target)
	}
	return fmt.Sprintf("≥ %.2g×", m.target)
}

func (m *metric) metText() string {
	switch {
	case !m.hasTarget():
		return "—"
	case m.met():
		return "met"
	default:
		return "**not met**"
	}
}

func (m *metric) value(v float64) string { return fmt.Sprintf(m.format, v) + " " + m.unit }

// spread is max/min over one slot's runs (1 means no variation).
func (m *metric) spread(i int) float64 {
	v := m.vals[i]
	if len(v) < 2 {
		return 1
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	if lo <= 0 {
		return 1
	}
	return hi / lo
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

type results struct {
	smallPush, largePush, largePull, concPull, headP50, headP99, peakRSS *metric
}

func newResults(cfg config) *results {
	cpu := func(name string) *metric {
		return &metric{name: name, unit: "s", format: "%.2f", lowerBetter: true}
	}
	return &results{
		smallPush: &metric{
			name:  fmt.Sprintf("Small-image pushes (%d images, %d workers)", cfg.smallImages, cfg.smallWorkers),
			short: "small-image pushes", unit: "images/s", format: "%.1f", target: 3,
			cpu: cpu(fmt.Sprintf("Small-image pushes (%d images)", cfg.smallImages)),
		},
		largePush: &metric{
			name:  fmt.Sprintf("Large push (%d × %d MiB layers)", cfg.layers, cfg.layerMiB),
			short: "large push", unit: "MiB/s", format: "%.1f", target: 2.5,
			cpu: cpu(fmt.Sprintf("Large push (%d MiB)", cfg.layers*cfg.layerMiB)),
		},
		largePull: &metric{
			name:  fmt.Sprintf("Large pull (one client, %d pulls back to back)", cfg.pullRepeats),
			short: "large pull", unit: "MiB/s", format: "%.1f", target: 1.3,
			cpu: cpu(fmt.Sprintf("Large pull (%d × %d MiB)", cfg.pullRepeats, cfg.layers*cfg.layerMiB)),
		},
		concPull: &metric{
			name:  fmt.Sprintf("Concurrent pulls (%d clients, aggregate)", cfg.pullClients),
			short: "concurrent pulls", unit: "MiB/s", format: "%.1f", target: 1.3,
			cpu: cpu(fmt.Sprintf("Concurrent pulls (%d × %d MiB)", cfg.pullClients, cfg.layers*cfg.layerMiB)),
		},
		headP50: &metric{name: "Manifest HEAD latency p50", short: "manifest HEAD p50", unit: "ms", format: "%.3f", lowerBetter: true},
		headP99: &metric{
			name: "Manifest HEAD latency p99", short: "manifest HEAD p99", unit: "ms", format: "%.3f", lowerBetter: true, target: 0.2,
			cpu: cpu(fmt.Sprintf("Manifest HEADs (%d)", cfg.heads)),
		},
		peakRSS: &metric{name: "Peak RSS (VmHWM, whole filesystem part)", short: "peak RSS", unit: "MiB", format: "%.1f", lowerBetter: true, target: 0.5},
	}
}

func (r *results) all() []*metric {
	return []*metric{r.smallPush, r.largePush, r.largePull, r.concPull, r.headP50, r.headP99, r.peakRSS}
}

// table is the summary: medians, ratio, target, verdict.
func (r *results) table(labels [2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| metric | %s | %s | ratio | target | result |\n", labels[0], labels[1])
	b.WriteString("|---|---:|---:|---:|---|---|\n")
	for _, m := range r.all() {
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f× | %s | %s |\n",
			m.name, m.value(m.median(slotBerth)), m.value(m.median(slotDist)), m.ratio(), m.targetText(), m.metText())
	}
	return b.String()
}

// cpuTable shows how much CPU each server spent on the same work: unlike
// throughput it hardly depends on what else the machine is doing, and it
// shows the server's share when the client is the bottleneck.
func (r *results) cpuTable(labels [2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| work per measurement | %s | %s | ratio |\n", labels[0], labels[1])
	b.WriteString("|---|---:|---:|---:|\n")
	for _, m := range r.all() {
		if c := m.cpu; c != nil {
			fmt.Fprintf(&b, "| %s | %s | %s | %.2f× |\n", c.name, c.value(c.median(slotBerth)), c.value(c.median(slotDist)), c.ratio())
		}
	}
	return b.String()
}

// ceilingTable compares the push and pull scenarios with the minimal server.
func (r *results) ceilingTable(labels [2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | minimal server | %s | %s | minimal ÷ Distribution |\n", labels[0], labels[1])
	b.WriteString("|---|---:|---:|---:|---:|\n")
	for _, m := range []*metric{r.largePush, r.largePull, r.concPull} {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f× |\n", m.name,
			m.value(m.median(slotCeiling)), m.value(m.median(slotBerth)), m.value(m.median(slotDist)),
			median(m.runRatios(slotCeiling, slotDist)))
	}
	return b.String()
}

// runsTable lists every run's value and ratio so the spread is visible.
func (r *results) runsTable(labels [2]string) string {
	join := func(v []float64, format string) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf(format, x)
		}
		return strings.Join(s, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| metric | %s | %s | ratio per run |\n|---|---|---|---|\n", labels[0], labels[1])
	for _, m := range r.all() {
		fmt.Fprintf(&b, "| %s (%s) | %s | %s | %s |\n", m.name, m.unit,
			join(m.vals[slotBerth], m.format), join(m.vals[slotDist], m.format),
			join(m.runRatios(slotBerth, slotDist), "%.2f×"))
	}
	return b.String()
}

// unmet lists the targets this run missed, short and with notes.
func (r *results) unmet() (missed, notes []string) {
	for _, m := range r.all() {
		if !m.hasTarget() || m.met() {
			continue
		}
		missed = append(missed, fmt.Sprintf("%s (%.2f×, target %s)", m.short, m.ratio(), m.targetText()))
		note := fmt.Sprintf("- %s: berth ÷ Distribution %.2f× against a target of %s.", m.short, m.ratio(), m.targetText())
		if len(m.vals[slotCeiling]) > 0 {
			best := median(m.runRatios(slotCeiling, slotDist))
			note += fmt.Sprintf(" The minimal server reached %.2f× of Distribution in the same rounds", best)
			if best < m.target {
				note += ", so this target cannot be shown on this machine with this client"
			}
			note += "."
		}
		if m.cpu != nil {
			note += fmt.Sprintf(" berth used %.2f× Distribution's CPU for the same work.", m.cpu.ratio())
		}
		notes = append(notes, note)
	}
	return missed, notes
}

type machineInfo struct {
	date       time.Time
	cpu        string
	nproc      int
	memTotal   string
	kernel     string
	goVersion  string
	distVer    string
	berthRev   string
	loadBefore string
	loadAfter  string
	cpuTotal   [2]float64
	elapsed    time.Duration
	labels     [2]string
	aa         bool
	ceiling    bool
	storage    string
}

func collectMachineInfo(cfg config) machineInfo {
	info := machineInfo{
		date:      time.Now().UTC(),
		nproc:     runtime.NumCPU(),
		goVersion: runtime.Version(),
		cpu:       "unknown",
		memTotal:  "unknown",
		kernel:    "unknown",
		distVer:   "unknown version",
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				info.cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				fields := strings.Fields(rest)
				if kib, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					info.memTotal = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
				}
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		info.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	// `docker-registry --version` prints "<argv0> <module> <version>".
	if out, err := exec.Command(cfg.distBin, "--version").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) >= 2 {
			info.distVer = strings.Join(f[1:], " ")
		}
	}
	info.berthRev = berthRevision(cfg)
	return info
}

func berthRevision(cfg config) string {
	if cfg.berthBin != "" {
		return "binary " + cfg.berthBin
	}
	root, err := moduleRoot()
	if err != nil {
		return "working tree"
	}
	rev := "no commits yet"
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		rev = "commit " + strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "-C", root, "status", "--porcelain").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		rev += " plus uncommitted changes"
	}
	return "built from the working tree (" + rev + ")"
}

// storageInfo names the filesystem that holds dir, from /proc/self/mounts
// (the longest mount point that is a prefix of dir).
func storageInfo(dir string) string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return dir
	}
	best, fstype := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > len(best) {
			best, fstype = mp, f[2]
		}
	}
	return fmt.Sprintf("temp dir under %s (%s filesystem mounted at %s)", filepath.Dir(dir), fstype, best)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func renderDoc(cfg config, info machineInfo, r *results, s3 *s3Results) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# Benchmarks: berth vs CNCF Distribution 2.8.2\n\n")
	w("Generated by `scripts/bench` (`go run ./bench`) on %s; the run took %s.\n",
		info.date.Format("2006-01-02 15:04 MST"), info.elapsed.Round(time.Second))
	w("Each run of `scripts/bench` overwrites this file.\n\n")
	if info.aa {
		w("> **A/A check, not a berth result.** This run put Distribution 2.8.2 in berth's slot\n")
		w("> (`-berth-kind distribution`) to test the bench itself: ratios away from 1.00× here are\n")
		w("> bench bias or machine noise, not a difference between registries.\n\n")
	}
	var parts []string
	if r != nil {
		parts = append(parts, "[filesystem](#filesystem-results-median-of-"+strconv.Itoa(cfg.runs)+"-runs)")
	}
	if s3 != nil {
		parts = append(parts, "[S3 (MinIO)](#s3-minio)")
	}
	w("Parts in this run: %s.\n\n", strings.Join(parts, ", "))

	// The noise warning, with this run's own evidence.
	worst, worstName := 1.0, ""
	if r != nil {
		for _, m := range r.all() {
			for i := 0; i < 2; i++ {
				if s := m.spread(i); s > worst {
					worst, worstName = s, fmt.Sprintf("%s on %s", m.short, info.labels[i])
				}
			}
		}
	}
	if s3 != nil {
		if s, name := s3.worstSpread(); s > worst {
			worst, worstName = s, name
		}
	}
	w("> **This machine is shared and noisy; read the numbers with that in mind.** It is a small\n")
	w("> virtual machine (%d cores) shared with other work, and the bench client runs on the same\n", info.nproc)
	w("> cores as the servers it measures (and, in the S3 part, as MinIO). The load average was\n")
	w("> %s before this run and %s after (1, 5, 15 min).", info.loadBefore, info.loadAfter)
	if worstName != "" {
		w(" The same server's result moved\n> by up to %.2f× between runs (%s).\n", worst, worstName)
	} else {
		w("\n")
	}
	w("> Compared servers are measured back to back in each run, in rotating order, and each ratio\n")
	w("> is taken per run, which cancels much of that; a ratio within about 20%% of its target\n")
	w("> can still land on either side in another run.\n\n")

	missed, notes := unmetAll(r, s3)
	if len(missed) == 0 {
		w("**All targets were met in this run.**\n\n")
	} else {
		w("**Targets not met in this run: %s.**\n\n", strings.Join(missed, "; "))
		w("%s\n\n", strings.Join(notes, "\n"))
	}

	if r != nil {
		w("## Filesystem: results (median of %d runs)\n\n", cfg.runs)
		w("%s\n", r.table(info.labels))
		w("The server columns are medians over runs. The ratio is berth ÷ Distribution taken per run,\n")
		w("then the median over runs. Above 1× is better for throughput; below 1× is better for latency\n")
		w("and memory.\n\n")

		if info.ceiling {
			w("### Yardstick: a minimal server\n\n")
			w("The same large push and pulls, in the same rounds, against a minimal server: the bench\n")
			w("binary itself, doing only what no registry can skip (hash and write pushed bytes, rename\n")
			w("on commit, send stored files with `sendfile`) and keeping no index. On a quiet machine it\n")
			w("is about the most this client can get from any server, so \"minimal ÷ Distribution\" is\n")
			w("roughly the best ratio a registry could show here; where it is near or below a target, that\n")
			w("target cannot be shown on this machine with this client (which hashes every byte on the\n")
			w("same cores). Under noise a registry can land above it in a given run.\n\n")
			w("%s\n", r.ceilingTable(info.labels))
		}

		w("### Server CPU time\n\n")
		w("CPU seconds (user + system, from `/proc/<pid>/stat`) each server used for one measurement,\n")
		w("median over runs. Both servers do the same work, so this compares their efficiency even\n")
		w("where the client or the machine's other load limits throughput. Whole filesystem part:\n")
		w("%s %.1f s, %s %.1f s.\n\n", info.labels[0], info.cpuTotal[0], info.labels[1], info.cpuTotal[1])
		w("%s\n", r.cpuTable(info.labels))
	}

	if s3 != nil {
		renderS3(&b, cfg, info, s3)
	}

	w("## Machine\n\n")
	w("| | |\n|---|---|\n")
	w("| CPU | %s, %d cores (nproc) |\n", info.cpu, info.nproc)
	w("| memory | %s |\n", info.memTotal)
	w("| OS | %s |\n", info.kernel)
	w("| Go | %s |\n", info.goVersion)
	w("| berth | %s |\n", info.berthRev)
	w("| Distribution | %s (Debian package `docker-registry`) |\n", info.distVer)
	if s3 != nil {
		w("| MinIO | %s |\n", s3.minioVer)
	}
	w("| storage | %s |\n", info.storage)
	w("| load average (1, 5, 15 min) | before: %s; after: %s |\n\n", info.loadBefore, info.loadAfter)

	w("## Per-run values\n\n")
	if r != nil {
		w("Filesystem:\n\n%s\n", r.runsTable(info.labels))
	}
	if s3 != nil {
		w("S3 (MinIO):\n\n%s\n", s3.runsTable())
	}

	if r != nil {
		w("## What is measured: filesystem\n\n")
		w("Both registries run at once on 127.0.0.1, each with fresh storage in a temp directory,\n")
		w("plain HTTP and no auth. berth runs as `berth serve --listen 127.0.0.1:PORT --data-dir DIR`\n")
		w("with its defaults (which include a per-request log line). Distribution runs as\n")
		w("`docker-registry serve config.yml` with filesystem storage, deletes enabled, the in-memory\n")
		w("blob descriptor cache of the Debian package's stock config, no redis, log level warn and\n")
		w("its access log off. The client is Go's `net/http` with keep-alive (up to 128 idle\n")
		w("connections per server) and no compression. Each scenario is measured on both servers back\n")
		w("to back, the order rotating every run and every scenario; each scenario is repeated `-runs`\n")
		w("times (default 3) and the median is reported. Before measuring, each server gets a small\n")
		w("push/pull/HEAD warm-up. Every response is checked (status, digests, sizes, content type);\n")
		w("an unexpected one aborts the run and prints the request and the response body.\n\n")
		w("1. **Large push**: an OCI image of %d random %d MiB layers (generated once into temp files and\n", cfg.layers, cfg.layerMiB)
		w("   streamed from disk), a config and a manifest. Each blob is pushed the way the docker CLI\n")
		w("   does: `POST /v2/<name>/blobs/uploads/`, one `PATCH` streaming the whole blob with chunked\n")
		w("   transfer encoding, `PUT ?digest=`; then `PUT` of the manifest. Each run pushes to a new\n")
		w("   repository. MiB/s = all bytes (layers, config, manifest) ÷ wall time.\n")
		w("2. **Large pull**: one client `GET`s the manifest (docker's Accept headers), then the config\n")
		w("   and each layer in turn, hashing every byte and discarding it; digests and sizes are\n")
		w("   verified. One measurement pulls the image %d times back to back (`-pull-repeats`) so it\n", cfg.pullRepeats)
		w("   lasts long enough to be stable. MiB/s = all bytes ÷ wall time.\n")
		w("3. **Small-image pushes**: %d images per run, each one random 1-4 KiB layer, a config and a\n", cfg.smallImages)
		w("   manifest, spread over 25 repositories with distinct tags, pushed by %d concurrent workers.\n", cfg.smallWorkers)
		w("   Like docker, each blob is checked with `HEAD /v2/<name>/blobs/<digest>` first, then\n")
		w("   uploaded (POST, PATCH, PUT). Fresh images every run; the same set goes to both servers.\n")
		w("4. **Concurrent pulls**: %d clients at once each pull the whole large image (manifest, config,\n", cfg.pullClients)
		w("   every layer, all verified). Aggregate MiB/s = all bytes ÷ wall time.\n")
		w("5. **Manifest HEAD latency**: %d sequential `HEAD /v2/<name>/manifests/<tag>` per run with\n", cfg.heads)
		w("   the docker CLI's Accept headers; the digest header and length are checked. p50 and p99 per\n")
		w("   run (nearest rank), median over runs.\n")
		w("6. **Peak RSS**: `VmHWM` from `/proc/<pid>/status` of each server process at the end of the\n")
		w("   filesystem part, before it is stopped.\n\n")
	}

	w("## Targets\n\n")
	w("Filesystem, ratios berth ÷ Distribution 2.8.2: small-image pushes ≥ 3×, large push ≥ 2.5×,\n")
	w("large pull ≥ 1.3×, concurrent pulls ≥ 1.3×, manifest HEAD p99 ≤ 0.2× of Distribution's,\n")
	w("peak RSS ≤ 0.5×. S3 (MinIO): large push ≥ 2× of Distribution's on the same MinIO; a pull\n")
	w("through berth's redirect ≥ 0.9× of pulling the same objects straight from MinIO; a\n")
	w("committed blob's upload leaves its bytes in the bucket exactly once.\n\n")

	w("## Running it\n\n")
	w("```sh\n")
	w("scripts/bench                     # installs docker-registry and minio if missing, builds berth, writes this file\n")
	w("scripts/bench -runs 5             # more repetitions\n")
	w("scripts/bench -s3=false           # filesystem part only (no MinIO needed)\n")
	w("scripts/bench -commit-gib 0       # skip the 1 GiB commit of the S3 part\n")
	w("scripts/bench -fs=false -out /tmp/s3.md  # S3 part only\n")
	w("scripts/bench -berth-bin ./berth  # use a prebuilt berth\n")
	w("scripts/bench -out /tmp/b.md      # write the report elsewhere\n")
	w("scripts/bench -berth-kind distribution -s3=false -out /tmp/aa.md  # A/A check: Distribution vs itself\n")
	w("```\n\n")
	w("Other flags: `-layer-mib` (default 64), `-layers`, `-small-images`, `-small-workers`,\n")
	w("`-pull-clients`, `-pull-repeats`, `-heads`, `-ceiling` (the minimal server), `-distribution-bin`\n")
	w("(default `/usr/bin/docker-registry`), `-minio-bin` (default: `minio` in PATH or the Go bin\n")
	w("directory, where `scripts/bench` and `scripts/test` install it), `-work-dir` (where layers\n")
	w("and server storage, MinIO's included, go; `/dev/shm` takes the disk out of the measurement),\n")
	w("`-keep` (keep storage and server logs), `-timeout`, `-step-timeout`; see `go run ./bench -h`.\n")
	w("A whole run takes about 3-6 minutes on 2 cores (more when the machine is busy); the filesystem part alone about 2-3.\n")
	return b.String()
}

// renderS3 writes the S3 section.
func renderS3(b *strings.Builder, cfg config, info machineInfo, s *s3Results) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	w("## S3 (MinIO)\n\n")
	w("One MinIO (%s) on 127.0.0.1, its data in the same temp dir, started for this part.\n", s.minioVer)
	w("berth keeps its blobs in bucket `%s` (set with `BERTH_STORAGE_S3_*`; its index stays in\n", bucketBerth)
	w("SQLite on local disk), Distribution 2.8.2 in bucket `%s` with its `s3` driver. Medians of %d\n", bucketDist, cfg.runs)
	w("runs, measured in the same rounds with the order rotating as in the filesystem part. The\n")
	w("client, the registries and MinIO all share the same %d cores, so MinIO's own work is\n", info.nproc)
	w("inside every number here.\n\n")
	w("%s\n", s.table())
	w("Yardstick for the push: the same layers and config sent by the bench straight to MinIO with\n")
	w("minio-go's `PutObject` (bucket `%s`, 8 MiB parts like berth's; one part at a time as berth\n", bucketDirect)
	w("sends them, and 4 at a time, minio-go's default), in the same rounds. It is roughly what\n")
	w("MinIO and this machine allow without any registry in the way.\n\n")
	w("%s\n", s.yardstickTable())

	pushCPU := func(i int) float64 { return s.pushCPU.median(i) }
	pushMinio := func(i int) float64 { return s.pushMinio.median(i) }
	w("- **Large push**: as in the filesystem part (POST, one chunked PATCH per blob, `PUT ?digest=`,\n")
	w("  then the manifest), but every run pushes %d fresh random layers: a registry that already\n", cfg.layers)
	w("  holds a blob may skip work on commit (Distribution skips its copy when the blob's path\n")
	w("  exists). berth sends each 8 MiB part of a multipart upload to MinIO while the PATCH streams\n")
	w("  and completes the multipart upload where it is on the PUT. Distribution writes the upload\n")
	w("  in 10 MiB chunks (its default), and on the PUT copies it to the blob's path with a\n")
	w("  server-side (multipart) copy and deletes the upload. Per push of %.0f MiB, median: berth\n", s.imageMiB)
	w("  used %.2f s of CPU and MinIO %.2f s serving it; Distribution %.2f s and MinIO %.2f s.\n",
		pushCPU(s3Berth), pushMinio(s3Berth), pushCPU(s3Dist), pushMinio(s3Dist))
	w("- **Large pull**: one client pulls the run-0 image (manifest, config, layers, all verified)\n")
	w("  from each source in turn, %d rounds per run with the order rotating every round; a\n", cfg.pullRepeats)
	w("  source's MiB/s for the run is its bytes over its own summed time, so a burst of load from\n")
	w("  elsewhere is spread over all sources rather than landing on one. *berth, redirecting* is\n")
	w("  a second berth process over the same bucket with `BERTH_STORAGE_S3_REDIRECT=true` (the run-0\n")
	w("  image pushed to it, untimed): the manifest comes from berth, every blob GET is answered\n")
	w("  `307` with a presigned MinIO URL, and the client follows it as docker does (Go's\n")
	w("  `http.Client`; no `Authorization` header is sent anywhere, the URL's signature is the only\n")
	w("  credential). The bench checks that each blob's bytes came from MinIO and verifies them.\n")
	w("  *Straight from MinIO*, the baseline, GETs the very objects that berth redirects to, with URLs\n")
	w("  the bench presigned itself (found by listing the bucket), and no manifest. *berth, streaming*\n")
	w("  is the first berth process (redirect off), which reads each object from MinIO and sends it on.\n")
	w("  Distribution's `s3` driver redirects by default (`storage.redirect.disable: false`); it is\n")
	w("  shown for information. Ratios are ÷ straight from MinIO, per run.\n")
	if s.commit[s3Berth].ran {
		c, d := s.commit[s3Berth], s.commit[s3Dist]
		w("- **Commit**: one blob of %d GiB of random bytes, generated and hashed as it is sent (never\n", cfg.commitGiB)
		w("  on the client's disk): POST, one chunked PATCH (berth took it at %.1f MiB/s, Distribution at\n", c.pushMiBs)
		w("  %.1f MiB/s), then only the final `PUT ?digest=` is timed: one run per registry, so these\n", d.pushMiBs)
		w("  two numbers are the most exposed to the machine's noise: Distribution's PUT has MinIO copy\n")
		w("  the whole blob, which takes longer the busier the machine is, while berth's PUT moves no\n")
		w("  blob bytes (it completes the multipart upload where it is). Afterwards the\n")
		w("  bench lists bucket `%s` (berth never lists) for objects and unfinished multipart uploads\n", bucketBerth)
		w("  whose keys name the upload's id: together they must be exactly the blob's size, the bytes\n")
		w("  stored once, not once as parts and again as a copy.\n")
	} else {
		w("- **Commit**: skipped (`-commit-gib 0`).\n")
	}
	w("- **Bucket, whole**: at the end of the part, bucket `%s` must hold exactly the distinct blobs\n", bucketBerth)
	w("  the two berth processes were sent (each has its own index, so each keeps its own copy),\n")
	w("  with no unfinished multipart upload: no leftover tails, parts or duplicates.\n")
	w("- **Peak RSS**: `VmHWM` at the end of the S3 part. berth (redirecting) %.1f MiB, MinIO %.1f MiB.\n\n",
		s.rss[1], s.rss[3])

	w("CPU seconds per measurement (median over runs) of the registry and of MinIO:\n\n")
	w("%s\n", s.cpuTable())
	w("Whole S3 part, CPU: %s.\n\n", s.cpuTotals())
}
