package main

import (
	"bufio"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"text/template"
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
	vals        [5][]float64
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

// joinf formats each of v with format and joins them with commas.
func joinf(v []float64, format string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(s, ", ")
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
	var b strings.Builder
	fmt.Fprintf(&b, "| metric | %s | %s | ratio per run |\n|---|---|---|---|\n", labels[0], labels[1])
	for _, m := range r.all() {
		fmt.Fprintf(&b, "| %s (%s) | %s | %s | %s |\n", m.name, m.unit,
			joinf(m.vals[slotBerth], m.format), joinf(m.vals[slotDist], m.format),
			joinf(m.runRatios(slotBerth, slotDist), "%.2f×"))
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

// reportTemplate lays out docs/benchmarks.md; renderDoc fills it in.
//
//go:embed report.md.tmpl
var reportTemplate string

var reportDoc = template.Must(template.New("report").Funcs(template.FuncMap{"join": strings.Join}).Parse(reportTemplate))

// docView is what report.md.tmpl renders: the run's settings, the machine
// and the results, with every table already laid out (the same tables
// the bench prints when it ends). FS and S3 are nil for a part that did
// not run.
type docView struct {
	Date, Elapsed string
	AA            bool
	Parts         []string
	Missed, Notes []string
	// Worst is the largest spread of one server's result between runs,
	// and WorstName says which ("" when there is none).
	Worst     float64
	WorstName string

	NProc                                               int
	CPU, MemTotal, Kernel, GoVersion, BerthRev, Storage string
	DistVersion, LoadBefore, LoadAfter                  string

	Runs, Layers, LayerMiB, PullRepeats, SmallImages, SmallWorkers, PullClients, Heads, CommitGiB int

	FS *fsView
	S3 *s3View
}

// fsView is the filesystem part of a docView.
type fsView struct {
	Table, CeilingTable, CPUTable, RunsTable string
	Ceiling                                  bool
	Labels                                   [2]string
	CPUTotal                                 [2]float64
}

// s3View is the S3 part of a docView.
type s3View struct {
	MinioVersion                               string
	BucketBerth, BucketDist, BucketDirect      string
	Table, YardstickTable, CPUTable, RunsTable string
	CPUTotals                                  string
	ImageMiB                                   float64
	BerthPushCPU, BerthPushMinio               float64
	DistPushCPU, DistPushMinio                 float64
	RedirectingRSS, MinioRSS                   float64
	Commit                                     *commitView // nil when skipped
}

// commitView is the big commit of the S3 part: how fast each registry
// took the PATCH that streamed the blob.
type commitView struct{ BerthMiBs, DistMiBs float64 }

// renderDoc writes the markdown report of a run; r or s3 is nil for a
// part that did not run.
func renderDoc(cfg config, info machineInfo, r *results, s3 *s3Results) (string, error) {
	v := docView{
		Date: info.date.Format("2006-01-02 15:04 MST"), Elapsed: info.elapsed.Round(time.Second).String(), AA: info.aa,
		NProc: info.nproc, CPU: info.cpu, MemTotal: info.memTotal, Kernel: info.kernel, GoVersion: info.goVersion,
		BerthRev: info.berthRev, Storage: info.storage, DistVersion: info.distVer, LoadBefore: info.loadBefore, LoadAfter: info.loadAfter,
		Runs: cfg.runs, Layers: cfg.layers, LayerMiB: cfg.layerMiB, PullRepeats: cfg.pullRepeats, SmallImages: cfg.smallImages,
		SmallWorkers: cfg.smallWorkers, PullClients: cfg.pullClients, Heads: cfg.heads, CommitGiB: cfg.commitGiB,
		Worst: 1,
	}
	v.Missed, v.Notes = unmetAll(r, s3)
	if r != nil {
		v.Parts = append(v.Parts, "[filesystem](#filesystem-results-median-of-"+strconv.Itoa(cfg.runs)+"-runs)")
		v.FS = &fsView{Table: r.table(info.labels), CeilingTable: r.ceilingTable(info.labels), CPUTable: r.cpuTable(info.labels),
			RunsTable: r.runsTable(info.labels), Ceiling: info.ceiling, Labels: info.labels, CPUTotal: info.cpuTotal}
		// The noise warning, with this run's own evidence.
		for _, m := range r.all() {
			for i := 0; i < 2; i++ {
				if s := m.spread(i); s > v.Worst {
					v.Worst, v.WorstName = s, fmt.Sprintf("%s on %s", m.short, info.labels[i])
				}
			}
		}
	}
	if s3 != nil {
		v.Parts = append(v.Parts, "[S3 (MinIO)](#s3-minio)")
		v.S3 = s3.view()
		if s, name := s3.worstSpread(); s > v.Worst {
			v.Worst, v.WorstName = s, name
		}
	}
	var b strings.Builder
	err := reportDoc.Execute(&b, v)
	return b.String(), err
}

// view is the S3 part of the report's docView.
func (s *s3Results) view() *s3View {
	v := &s3View{
		MinioVersion: s.minioVer, BucketBerth: bucketBerth, BucketDist: bucketDist, BucketDirect: bucketDirect,
		Table: s.table(), YardstickTable: s.yardstickTable(), CPUTable: s.cpuTable(), RunsTable: s.runsTable(),
		CPUTotals: s.cpuTotals(), ImageMiB: s.imageMiB,
		BerthPushCPU: s.pushCPU.median(s3Berth), BerthPushMinio: s.pushMinio.median(s3Berth),
		DistPushCPU: s.pushCPU.median(s3Dist), DistPushMinio: s.pushMinio.median(s3Dist),
		RedirectingRSS: s.rss[1], MinioRSS: s.rss[3],
	}
	if c := s.commit; c[s3Berth].ran {
		v.Commit = &commitView{c[s3Berth].pushMiBs, c[s3Dist].pushMiBs}
	}
	return v
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
