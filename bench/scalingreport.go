package main

// The scaling part's results, the tables it prints, and docs/scaling.md
// with its paper estimate.

import (
	"fmt"
	"slices"
	"strings"
)

var (
	workloadNames = [wlCount]string{"large push", "large pull", "small pushes"}
	workloadUnits = [wlCount]string{"MiB/s", "MiB/s", "images/s"}
)

// CPU slots of a scaleSample.
const (
	cpuBerth = iota
	cpuMinio
	cpuPG
	cpuBench
	cpuSlots
)

var cpuNames = [cpuSlots]string{"berth replicas", "MinIO", "PostgreSQL", "bench clients"}

// scaleSample is one measurement: what moved, how long it took, the CPU
// each party spent and the statements PostgreSQL ran.
type scaleSample struct {
	units   float64 // MiB or images
	images  float64 // images pushed or pulled
	seconds float64
	cpu     [cpuSlots]float64
	pg      pgCounts
	load    float64 // 1-minute load average when it began
}

func (s scaleSample) rate() float64 {
	if s.seconds <= 0 {
		return 0
	}
	return s.units / s.seconds
}

func (s scaleSample) cpuTotal() float64 {
	var t float64
	for _, v := range s.cpu {
		t += v
	}
	return t
}

type scaleResults struct {
	cfg                 config
	info                machineInfo
	minioVer, pgVersion string
	samples             [wlCount][][]scaleSample // [workload][replica count index][round]
	headP50, headP99    [2][]float64             // [headPG or headSQLite][round], ms
	s3Ops               [wlCount]map[string]int64
	s3Images            [wlCount]float64
	countPG             [wlCount]pgCounts
	loads               []float64 // 1-minute load average, every 5 s
}

func newScaleResults(cfg config) *scaleResults {
	r := &scaleResults{cfg: cfg}
	for wl := range r.samples {
		r.samples[wl] = make([][]scaleSample, len(scaleReplicas))
	}
	return r
}

func (r *scaleResults) add(wl, k int, s scaleSample) { r.samples[wl][k] = append(r.samples[wl][k], s) }

// medianOf is the median over rounds of f of workload wl's samples with
// scaleReplicas[k] replicas.
func (r *scaleResults) medianOf(wl, k int, f func(scaleSample) float64) float64 {
	var v []float64
	for _, s := range r.samples[wl][k] {
		v = append(v, f(s))
	}
	return median(v)
}

func (r *scaleResults) rate(wl, k int) float64 {
	return r.medianOf(wl, k, scaleSample.rate)
}

// perImage is the median over every sample of workload wl (all replica
// counts) of f per image.
func (r *scaleResults) perImage(wl int, f func(scaleSample) float64) float64 {
	var v []float64
	for _, ks := range r.samples[wl] {
		for _, s := range ks {
			if s.images > 0 {
				v = append(v, f(s)/s.images)
			}
		}
	}
	return median(v)
}

// timedPG is the statements of workload wl per image over all its timed
// samples, background statements of the replicas included.
func (r *scaleResults) timedPG(wl int) (calls [sqlClasses]float64, writes, rows, wal float64) {
	var sum pgCounts
	var images float64
	for _, ks := range r.samples[wl] {
		for _, s := range ks {
			for i := range sum.calls {
				sum.calls[i] += s.pg.calls[i]
			}
			sum.writeRows += s.pg.writeRows
			sum.walBytes += s.pg.walBytes
			images += s.images
		}
	}
	return perImage(sum, images)
}

// countedPG is the statements of workload wl per image in the counted
// pass: one client, one replica, nothing else to do. The estimate rests
// on it when there was one.
func (r *scaleResults) countedPG(wl int) (calls [sqlClasses]float64, writes, rows, wal float64) {
	if r.s3Images[wl] == 0 {
		return r.timedPG(wl)
	}
	return perImage(r.countPG[wl], r.s3Images[wl])
}

// perImage divides counts over images.
func perImage(sum pgCounts, images float64) (calls [sqlClasses]float64, writes, rows, wal float64) {
	if images == 0 {
		return calls, 0, 0, 0
	}
	for i := range calls {
		calls[i] = float64(sum.calls[i]) / images
	}
	return calls, float64(sum.writes()) / images, float64(sum.writeRows) / images, float64(sum.walBytes) / images
}

// s3PerImage is the S3 reads and writes per image of workload wl, from
// the counted pass.
func (r *scaleResults) s3PerImage(wl int) (reads, writes float64) {
	if r.s3Images[wl] == 0 {
		return 0, 0
	}
	for op, n := range r.s3Ops[wl] {
		if s3Read(op) {
			reads += float64(n)
		} else {
			writes += float64(n)
		}
	}
	return reads / r.s3Images[wl], writes / r.s3Images[wl]
}

// imageMiB is the size of one image of the large workloads.
func (r *scaleResults) imageMiB() float64 {
	return float64(r.cfg.scalingLayers * r.cfg.scalingLayerMiB)
}

func ratioCell(v, base float64) string {
	if base <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v/base)
}

// throughputTable is the curve: medians with 1, 2 and 3 replicas, and
// each against one replica.
func (r *scaleResults) throughputTable() string {
	var b strings.Builder
	b.WriteString("| replicas |")
	for wl := range wlCount {
		fmt.Fprintf(&b, " %s (%s) | vs 1 |", workloadNames[wl], workloadUnits[wl])
	}
	b.WriteString("\n|---:|")
	for range wlCount {
		b.WriteString("---:|---:|")
	}
	b.WriteString("\n")
	for k, n := range scaleReplicas {
		fmt.Fprintf(&b, "| %d |", n)
		for wl := range wlCount {
			fmt.Fprintf(&b, " %.1f | %s |", r.rate(wl, k), ratioCell(r.rate(wl, k), r.rate(wl, 0)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// runsTable lists every round's value and the CPU the berth replicas,
// MinIO and PostgreSQL spent on it, so the spread is visible.
func (r *scaleResults) runsTable() string {
	var b strings.Builder
	b.WriteString("| workload | replicas | every round | berth CPU s | MinIO CPU s | PostgreSQL CPU s | load average at start |\n|---|---:|---|---|---|---|---|\n")
	for wl := range wlCount {
		for k, n := range scaleReplicas {
			var v []float64
			var cpu [cpuSlots][]float64
			var load []float64
			for _, s := range r.samples[wl][k] {
				v = append(v, s.rate())
				load = append(load, s.load)
				for c := range cpu {
					cpu[c] = append(cpu[c], s.cpu[c])
				}
			}
			fmt.Fprintf(&b, "| %s | %d | %s %s | %s | %s | %s | %s |\n", workloadNames[wl], n, joinf(v, "%.1f"), workloadUnits[wl],
				joinf(cpu[cpuBerth], "%.1f"), joinf(cpu[cpuMinio], "%.1f"), joinf(cpu[cpuPG], "%.1f"), joinf(load, "%.1f"))
		}
	}
	return b.String()
}

// cpuTable is where each measurement's CPU went (medians over rounds)
// and how much of the machine's cores that kept busy.
func (r *scaleResults) cpuTable() string {
	var b strings.Builder
	b.WriteString("| workload | replicas | wall (s) |")
	for _, n := range cpuNames {
		fmt.Fprintf(&b, " %s (CPU s) |", n)
	}
	b.WriteString(" all (CPU s) | cores busy |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	cores := float64(max(r.info.nproc, 1))
	for wl := range wlCount {
		for k, n := range scaleReplicas {
			fmt.Fprintf(&b, "| %s | %d | %.1f |", workloadNames[wl], n, r.medianOf(wl, k, func(s scaleSample) float64 { return s.seconds }))
			for c := range cpuSlots {
				fmt.Fprintf(&b, " %.2f |", r.medianOf(wl, k, func(s scaleSample) float64 { return s.cpu[c] }))
			}
			fmt.Fprintf(&b, " %.2f | %.2f of %.0f |\n", r.medianOf(wl, k, scaleSample.cpuTotal), r.busy(wl, k), cores)
		}
	}
	return b.String()
}

// busy is how many cores a measurement kept busy (median over rounds).
func (r *scaleResults) busy(wl, k int) float64 {
	return r.medianOf(wl, k, func(s scaleSample) float64 { return s.cpuTotal() / s.seconds })
}

// curveNotes says, per workload, how 3 replicas compare with 1 and
// whether the work itself (CPU of every party per unit) changed or only
// the share of the cores it got.
func (r *scaleResults) curveNotes() string {
	var b strings.Builder
	last := len(scaleReplicas) - 1
	for wl := range wlCount {
		perUnit := func(k int) float64 {
			return r.medianOf(wl, k, func(s scaleSample) float64 { return s.cpuTotal() / s.units })
		}
		unit := "MiB"
		if wl == wlSmall {
			unit = "image"
		}
		rel := perUnit(last) / perUnit(0)
		verdict := "the work per unit stayed the same, so the difference is the share of the contended cores the processes got"
		if rel > 1.1 {
			verdict = "the work per unit grew with the replicas"
		} else if rel < 0.9 {
			verdict = "the work per unit shrank with the replicas"
		}
		fmt.Fprintf(&b, "- **%s**: %d replicas reached %s of 1 replica's rate; CPU of all parties per %s %.1f ms with 1 replica and %.1f ms with %d (%.2f×), cores busy %.2f and %.2f: %s.\n",
			workloadNames[wl], scaleReplicas[last], ratioCell(r.rate(wl, last), r.rate(wl, 0)), unit,
			1000*perUnit(0), 1000*perUnit(last), scaleReplicas[last], rel, r.busy(wl, 0), r.busy(wl, last), verdict)
	}
	return b.String()
}

// headTable is manifest HEAD latency through PostgreSQL and SQLite.
func (r *scaleResults) headTable() string {
	var b strings.Builder
	b.WriteString("| index | p50 (ms) | p99 (ms) | p50 every round | p99 every round |\n|---|---:|---:|---|---|\n")
	for i, name := range [2]string{"PostgreSQL (replica 1 of 3)", "SQLite (one berth)"} {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %s | %s |\n", name, median(r.headP50[i]), median(r.headP99[i]),
			joinf(r.headP50[i], "%.2f"), joinf(r.headP99[i], "%.2f"))
	}
	p50 := median(r.headP50[headPG]) / median(r.headP50[headSQLite])
	p99 := median(r.headP99[headPG]) / median(r.headP99[headSQLite])
	fmt.Fprintf(&b, "| PostgreSQL ÷ SQLite | %.2f× | %.2f× | | |\n", p50, p99)
	return b.String()
}

// pgTable is the statements per image of each workload.
func (r *scaleResults) pgTable() string {
	var b strings.Builder
	b.WriteString("| per image | all |")
	for _, n := range sqlClassNames {
		fmt.Fprintf(&b, " %s |", n)
	}
	b.WriteString(" writes | rows written | WAL (KiB) |\n|---|---:|")
	for range sqlClassNames {
		b.WriteString("---:|")
	}
	b.WriteString("---:|---:|---:|\n")
	for _, src := range []struct {
		name string
		f    func(int) ([sqlClasses]float64, float64, float64, float64)
	}{{"timed", r.timedPG}, {"counted pass", r.countedPG}} {
		for wl := range wlCount {
			calls, writes, rows, wal := src.f(wl)
			var all float64
			for _, c := range calls {
				all += c
			}
			fmt.Fprintf(&b, "| %s, %s | %.1f |", workloadNames[wl], src.name, all)
			for _, c := range calls {
				fmt.Fprintf(&b, " %.1f |", c)
			}
			fmt.Fprintf(&b, " %.1f | %.1f | %.1f |\n", writes, rows, wal/1024)
		}
	}
	return b.String()
}

// s3Table is the S3 requests of one image of each workload.
func (r *scaleResults) s3Table() string {
	var b strings.Builder
	b.WriteString("| per image | reads (GET, HEAD) | writes (PUT, POST, DELETE, LIST) | requests counted |\n|---|---:|---:|---|\n")
	for wl := range wlCount {
		reads, writes := r.s3PerImage(wl)
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %s over %.0f image(s) |\n", workloadNames[wl], reads, writes, formatOps(r.s3Ops[wl]), r.s3Images[wl])
	}
	return b.String()
}

// Reference capacities the estimate compares against: assumptions, named
// in the report, not measurements.
const (
	refS3Writes    = 3500 // PUT/COPY/POST/DELETE per second per prefix (Amazon S3's documented rate)
	refS3Reads     = 5500 // GET/HEAD per second per prefix
	refPGCores     = 16   // one PostgreSQL primary of 16 cores like this machine's
	refNetworkGbit = 25   // one 25 Gbit/s link
	scaleFactor    = 100
)

// estimate is one workload at scaleFactor× the rate measured with three
// replicas.
type estimate struct {
	images               float64 // per second
	pgStatements         float64 // per second
	pgWrites             float64
	walMiB               float64 // MiB/s
	pgCores              float64
	s3Reads, s3Writes    float64 // per second
	clientGbit, s3Gbit   float64
	berthCores, s3Cores  float64
	limit                string
	limitUse             float64 // the limit's share of its reference capacity
	pgUse, s3Use, netUse float64
}

func (r *scaleResults) estimate(wl int) estimate {
	k := len(scaleReplicas) - 1
	var e estimate
	rate := r.rate(wl, k) * scaleFactor
	mibs := rate
	if wl == wlSmall {
		e.images = rate
		mibs = 0
	} else if r.imageMiB() > 0 {
		e.images = rate / r.imageMiB()
	}
	calls, writes, _, wal := r.countedPG(wl)
	for _, c := range calls {
		e.pgStatements += c * e.images
	}
	e.pgWrites = writes * e.images
	e.walMiB = wal * e.images / mib
	e.pgCores = r.perImage(wl, func(s scaleSample) float64 { return s.cpu[cpuPG] }) * e.images
	e.berthCores = r.perImage(wl, func(s scaleSample) float64 { return s.cpu[cpuBerth] }) * e.images
	e.s3Cores = r.perImage(wl, func(s scaleSample) float64 { return s.cpu[cpuMinio] }) * e.images
	reads, w := r.s3PerImage(wl)
	e.s3Reads, e.s3Writes = reads*e.images, w*e.images
	e.clientGbit = mibs * mib * 8 / 1e9
	e.s3Gbit = e.clientGbit // streamed pulls and pushes both pass every byte between berth and S3
	e.pgUse = e.pgCores / refPGCores
	e.s3Use = max(e.s3Reads/refS3Reads, e.s3Writes/refS3Writes)
	e.netUse = e.clientGbit / refNetworkGbit
	e.limit, e.limitUse = "PostgreSQL CPU", e.pgUse
	if e.s3Use > e.limitUse {
		e.limit, e.limitUse = "S3 request rate", e.s3Use
	}
	if e.netUse > e.limitUse {
		e.limit, e.limitUse = "network bandwidth", e.netUse
	}
	return e
}

// estimateTable is every workload at scaleFactor× the three-replica rate.
func (r *scaleResults) estimateTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| at %d× | images/s | PostgreSQL statements/s | of them writes/s | WAL (MiB/s) | PostgreSQL cores | S3 reads/s | S3 writes/s | client bandwidth (Gbit/s) | berth cores | MinIO cores | first limit |\n", scaleFactor)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for wl := range wlCount {
		e := r.estimate(wl)
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.1f | %.1f | %.0f | %.0f | %.1f | %.1f | %.1f | %s (%.0f%% of the reference) |\n",
			workloadNames[wl], e.images, e.pgStatements, e.pgWrites, e.walMiB, e.pgCores, e.s3Reads, e.s3Writes, e.clientGbit,
			e.berthCores, e.s3Cores, e.limit, 100*e.limitUse)
	}
	return b.String()
}

// loadSummary is the 1-minute load average over the run.
func (r *scaleResults) loadSummary() string {
	if len(r.loads) == 0 {
		return "not read"
	}
	s := slices.Clone(r.loads)
	slices.Sort(s)
	return fmt.Sprintf("min %.2f, median %.2f, max %.2f over %d readings every 5 s (first %.2f, last %.2f)",
		s[0], median(s), s[len(s)-1], len(s), r.loads[0], r.loads[len(r.loads)-1])
}

// command is the bench command line that repeats this run.
func (r *scaleResults) command() string {
	c := r.cfg
	args := []string{"go run ./bench -scaling"}
	def := scalingDefaults
	add := func(name string, v, d int) {
		if v != d {
			args = append(args, fmt.Sprintf("-%s %d", name, v))
		}
	}
	add("runs", c.runs, def.runs)
	add("scaling-clients", c.scalingClients, def.scalingClients)
	add("scaling-layers", c.scalingLayers, def.scalingLayers)
	add("scaling-layer-mib", c.scalingLayerMiB, def.scalingLayerMiB)
	add("scaling-small-images", c.scalingSmallImages, def.scalingSmallImages)
	add("scaling-pull-repeats", c.scalingPullRepeats, def.scalingPullRepeats)
	add("scaling-heads", c.scalingHeads, def.scalingHeads)
	add("scaling-count-small", c.scalingCountSmall, def.scalingCountSmall)
	return strings.Join(args, " ")
}

// render is docs/scaling.md.
func (r *scaleResults) render() string {
	var b strings.Builder
	c, info := r.cfg, r.info
	k := len(scaleReplicas) - 1
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Scaling: berth replicas on PostgreSQL and MinIO\n\n")
	p("Generated by `%s` on %s (%s). Do not edit by hand: change bench/scalingreport.go and run the bench again.\n\n",
		r.command(), info.date.Format("2006-01-02 15:04 MST"), info.elapsed.Round(1e9))
	p("Three berth replicas (`berth serve --no-auth`, blobs in one MinIO bucket, redirects off so berth streams every blob, the index in one PostgreSQL, master key and signing keys shared as in the README's three-replica deployment) and, for the HEAD comparison, one berth on SQLite over the same MinIO. ")
	p("Each round measures 1, 2 and 3 replicas serving, in an order that rotates every round; the replicas not serving stay up and idle. ")
	p("%d clients run at once, client *c* on replica *c* mod *n*:\n\n", c.scalingClients)
	p("- **large push**: every client pushes its own image of %d fresh layers of %d MiB (%.0f MiB, docker-style: POST, one streamed PATCH, PUT per blob; then the manifest);\n", c.scalingLayers, c.scalingLayerMiB, r.imageMiB())
	p("- **large pull**: every client pulls one %.0f MiB image %d times, verifying every digest;\n", r.imageMiB(), c.scalingPullRepeats)
	p("- **small pushes**: the clients push %d images of one 1–4 KiB layer between them, each blob HEAD-checked first.\n\n", c.scalingSmallImages)
	p("Every figure is the median of %d rounds. Around each measurement the bench reads the CPU time of the three replicas, MinIO, every PostgreSQL process and itself (`/proc/<pid>/stat`, as bench/cpu.go does), and the statements PostgreSQL ran (`pg_stat_statements`).\n\n", c.runs)

	p("## Machine and run\n\n")
	p("- %s, %d cores, %s RAM, %s, %s\n", info.cpu, info.nproc, info.memTotal, info.kernel, info.goVersion)
	p("- berth %s; MinIO %s; PostgreSQL %s (a throwaway cluster: fsync, synchronous_commit and full_page_writes off, as internal/pgtest runs it)\n", info.berthRev, r.minioVer, r.pgVersion)
	p("- storage: %s\n", info.storage)
	p("- load average (1 min) during the run: %s\n", r.loadSummary())
	p("- the machine is shared: other work ran beside the bench, so absolute figures move between runs; the curve within one run is what compares.\n\n")
	p("Reproduce (needs the minio program that scripts/test installs and Debian's postgresql package):\n\n```\n%s\n```\n\n", r.command())

	p("## Throughput with 1, 2 and 3 replicas\n\n")
	b.WriteString(r.throughputTable())
	p("\n")
	b.WriteString(r.runsTable())
	p("\nEverything runs on the same %d cores: the replicas, MinIO, PostgreSQL and the bench's clients, with other work of the machine beside them (see the load average above). So a replica adds no cores, and the curve shows what spreading the same work over more processes costs or gains on contended cores and what coordinating through PostgreSQL and the shared bucket costs, not how far replicas scale on separate machines. The CPU each party used tells where the cores went:\n\n", info.nproc)
	b.WriteString(r.cpuTable())
	p("\n")
	b.WriteString(r.curveNotes())
	p("\n")

	p("## Manifest HEAD: PostgreSQL against SQLite\n\n")
	p("%d sequential HEADs (docker's Accept list) per index per round, in alternating blocks of %d, to replica 1 (PostgreSQL, with the other replicas idle) and to the berth on SQLite.\n\n", c.scalingHeads, headBlock)
	b.WriteString(r.headTable())
	p("\n")

	p("## What one image costs PostgreSQL and S3\n\n")
	p("Statements per image: over every timed measurement (all replica counts; background statements of the replicas in that time are included), and in the counted pass below (one client on a fourth replica, one image at a time), on which the estimate rests. Each transaction is a BEGIN and a COMMIT (or ROLLBACK), so transactions per image are half that column; a large image is %d layers, a config and a manifest, a small one a layer, a config and a manifest:\n\n", c.scalingLayers)
	b.WriteString(r.pgTable())
	p("\nS3 requests per image, counted in a separate untimed pass: a fourth replica whose S3 traffic passes a counting proxy pushed one large image, pulled one, and pushed %d small images:\n\n", c.scalingCountSmall)
	b.WriteString(r.s3Table())
	p("\n")

	p("## Paper estimate: %d× this load\n\n", scaleFactor)
	p("Each workload alone at %d× the rate measured with three replicas here (large push %.1f MiB/s, large pull %.1f MiB/s, small pushes %.1f images/s), using the per-image counts and CPU above. ", scaleFactor, r.rate(wlPush, k), r.rate(wlPull, k), r.rate(wlSmall, k))
	p("Reference capacities (assumptions, not measured here): Amazon S3's documented %d writes (PUT/COPY/POST/DELETE) and %d reads (GET/HEAD) per second per partitioned prefix (berth's keys are `blobs/<upload id>` with random ids, so S3 can split them as load grows, but a new bucket starts as one partition); one PostgreSQL primary of %d cores of this machine's kind; one %d Gbit/s link.\n\n", refS3Writes, refS3Reads, refPGCores, refNetworkGbit)
	b.WriteString(r.estimateTable())
	p("\n")
	p("Reading it:\n\n")
	for wl := range wlCount {
		e := r.estimate(wl)
		bw := "no bandwidth to speak of"
		if e.clientGbit >= 0.1 {
			bw = fmt.Sprintf("clients %.1f Gbit/s and berth–S3 as much again (%.1f Gbit/s: berth carries every byte, redirects off)", e.clientGbit, e.s3Gbit)
		}
		p("- **%s**: %s first, at %.0f%% of the reference. PostgreSQL needs %.1f cores (%.0f statements/s, %.0f of them writes, %.1f MiB/s of WAL), S3 %.0f reads/s and %.0f writes/s, %s; berth itself %.1f cores, spread over as many replicas as that takes.\n",
			workloadNames[wl], e.limit, 100*e.limitUse, e.pgCores, e.pgStatements, e.pgWrites, e.walMiB, e.s3Reads, e.s3Writes, bw, e.berthCores)
	}
	e := r.estimate(wlSmall)
	calls, _, _, _ := r.countedPG(wlSmall)
	txns := calls[sqlTxn] / 2 * e.images
	p("\nOf these limits only one does not grow by adding machines. berth's CPU scales out with replicas; S3's request rate grows as S3 splits the key space into more partitions (or with a MinIO cluster's nodes), and bandwidth with links. ")
	p("The PostgreSQL primary takes every write of every replica: at %d× the small pushes it runs %.0f statements/s, %.0f of them writes, in about %.0f transactions/s, and needs %.1f cores of this machine's kind (%.0f%% of a %d-core primary), measured with fsync and synchronous commit off, so a durable primary also flushes WAL for each of those commits (group commit shares the flushes). ",
		scaleFactor, e.pgStatements, e.pgWrites, txns, e.pgCores, 100*e.pgUse, refPGCores)
	p("That is the limit a deployment of many small pushes meets and cannot buy its way past with replicas: the %.0f statements a small push costs today are the number to bring down. Large images are bound by bytes instead: bandwidth to the clients and, with redirects off, the same again between berth and S3.\n", e.pgStatements/max(e.images, 1))
	return b.String()
}
