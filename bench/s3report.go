package main

import (
	"fmt"
	"sort"
	"strings"
)

// The S3 part's results and the tables the bench prints and the report
// shows of them.

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
	pullLabels  [5]string
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
		pullLabels: [5]string{"berth, redirecting (307)", "straight from MinIO (presigned URLs)", "berth, streaming (redirect off)",
			"Distribution 2.8.2 (redirects by default)", "minimal proxy (GetObject + copy, redirect off)"},
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
	for _, i := range []int{pullRedirect, pullStream, pullProxy, pullDist} {
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
	var b strings.Builder
	b.WriteString("| metric | values per run | ratio per run |\n|---|---|---|\n")
	for i, l := range r.pushLabels {
		ratio := ""
		if i == s3Berth {
			ratio = joinf(r.push.runRatios(s3Berth, s3Dist), "%.2f×") + " (berth ÷ Distribution)"
		}
		fmt.Fprintf(&b, "| %s (MiB/s), %s | %s | %s |\n", r.push.name, l, joinf(r.push.vals[i], r.push.format), ratio)
	}
	for i, l := range r.pullLabels {
		ratio := ""
		if i != pullDirect {
			ratio = joinf(r.pull.runRatios(i, pullDirect), "%.2f×") + " (÷ straight from MinIO)"
		}
		fmt.Fprintf(&b, "| %s (MiB/s), %s | %s | %s |\n", r.pull.name, l, joinf(r.pull.vals[i], r.pull.format), ratio)
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
