package batch

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
)

// benchSize is the array's size: BATCH_BENCH_SIZE, else 200 (the issue's
// 10,000 takes most of an hour on a 2-core machine).
func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("BATCH_BENCH_SIZE")); err == nil && n >= 2 {
		return n
	}
	return 200
}

// benchConcurrency is the compute environment's maxvCpus (one vCPU per
// child), and the plain runs' concurrency.
const benchConcurrency = 4

// benchRound is how many jobs each interleaved round runs each way, in
// at most benchRounds rounds (the whole array's round is the large one).
const (
	benchRound  = 20
	benchRounds = 8
)

// BenchmarkArrayDrain drains arrays of trivial children (exit 0) and, in
// the same rounds interleaved (the machine's load drifts), runs as many
// containers of the same image and configuration with the engine's API
// (create, start, follow the output, wait, remove: a plain `docker run
// --rm`) at the same concurrency, while
// a client calls DescribeJobs and ListJobs in a loop. It reports the
// median per-job overhead of the scheduler over the plain runs (ms), the
// API's p99 latency (ms) and the test process's highest resident memory
// (MiB), and beside the wall times the spans from the first container's
// start to the last one's exit, which leave out what a submission costs
// once (the submit, the first tick, the polling, the last output's
// drain). The last round submits one array of the whole size
// (BATCH_BENCH_SIZE), to see memory and latency with a large array.
func BenchmarkArrayDrain(b *testing.B) {
	e := newEnv(b, true)
	rt := dockertest.Require(b)
	reg, _ := testRegistry()
	ctx := context.Background()
	image := reg.host + "/test/prog:1"
	if err := rt.Pull(ctx, image, launcher.RegistryAuth{}); err != nil {
		b.Fatal(err)
	}
	e.queue("bench", benchConcurrency, 1)
	e.definition("trivial", []string{"exit", "0"}, nil)
	n := benchSize()
	var overheads []float64
	var batchTotal, plainTotal time.Duration
	var latencies []time.Duration
	var peakRSS int64
	stop := make(chan struct{})
	var watchers sync.WaitGroup
	var latest sync.Map // "id" → the array being drained
	watchers.Add(2)
	go func() { // memory
		defer watchers.Done()
		for {
			peakRSS = max(peakRSS, rssBytes())
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	go func() { // the API meanwhile
		defer watchers.Done()
		for {
			if v, ok := latest.Load("id"); ok {
				id := v.(string)
				t0 := time.Now()
				e.post(b, "DescribeJobs", map[string]any{"jobs": []string{id, childID(id, 1)}})
				e.post(b, "ListJobs", map[string]any{"arrayJobId": id, "jobStatus": "RUNNING"})
				latencies = append(latencies, time.Since(t0)/2)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	drain := func(size int) (total, span time.Duration) {
		start := time.Now()
		id := e.submit(map[string]any{"jobName": "drain", "jobQueue": "bench", "jobDefinition": "trivial", "arrayProperties": map[string]int{"size": size}})
		latest.Store("id", id)
		for {
			if j := e.describe(id); done(j.Status) {
				if j.Status != StatusSucceeded {
					b.Fatalf("array: %s %v", j.Status, j.ArrayProperties.StatusSummary)
				}
				return time.Since(start), e.childrenSpan(id, size)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	plain := func(size int) (total, span time.Duration) {
		start := time.Now()
		sem := make(chan struct{}, benchConcurrency)
		var runs sync.WaitGroup
		var spanMu sync.Mutex
		var first, last time.Time // the first start, the last exit
		for i := range size {
			sem <- struct{}{}
			runs.Add(1)
			go func() {
				defer func() { <-sem; runs.Done() }()
				// The container berth makes for a child: the same
				// variables, labels, network and limits.
				jobID := launcher.NewUUID() + ":" + strconv.Itoa(i)
				spec := launcher.Spec{Name: "berth-bench-plain-" + strings.ReplaceAll(jobID, ":", "-"), Image: image, Cmd: []string{"exit", "0"},
					Env: map[string]string{"AWS_BATCH_JOB_ID": jobID, "AWS_BATCH_JOB_ATTEMPT": "1", "AWS_BATCH_CE_NAME": "bench",
						"AWS_BATCH_JQ_NAME": "bench", "AWS_REGION": e.cfg.Region, "AWS_DEFAULT_REGION": e.cfg.Region,
						"AWS_BATCH_JOB_ARRAY_INDEX": strconv.Itoa(i), "AWS_BATCH_JOB_ARRAY_SIZE": strconv.Itoa(size)},
					Network: launcher.NetworkHost,
					Owner:   launcher.Owner{Service: launcher.ServiceBatch, Job: jobID, Container: "default", Instance: e.cfg.Instance},
					Limits:  launcher.Limits{CPUShares: 1024, Memory: 64 << 20}}
				cid, err := rt.Create(ctx, spec)
				if err != nil {
					b.Error(err)
					return
				}
				defer rt.Remove(ctx, cid)
				started := time.Now()
				if err := rt.Start(ctx, cid); err != nil {
					b.Error(err)
					return
				}
				// docker run prints the container's output as it comes;
				// berth copies it to the log store the same way.
				output := make(chan struct{})
				go func() {
					defer close(output)
					for _, err := range rt.Logs(ctx, cid, launcher.LogOptions{Follow: true}) {
						if err != nil {
							b.Error(err)
						}
					}
				}()
				exit, err := rt.Wait(ctx, cid)
				if err != nil {
					b.Error(err)
				}
				spanMu.Lock()
				if first.IsZero() || started.Before(first) {
					first = started
				}
				last = later(last, exit.FinishedAt)
				spanMu.Unlock()
				<-output
			}()
		}
		runs.Wait()
		return time.Since(start), last.Sub(first)
	}
	var batchSpan, plainSpan time.Duration
	for b.Loop() {
		for range min(max(1, n/benchRound), benchRounds) {
			bt, bs := drain(benchRound)
			pt, ps := plain(benchRound)
			batchTotal += bt
			plainTotal += pt
			batchSpan += bs
			plainSpan += ps
			overheads = append(overheads, float64((bt-pt).Milliseconds())/benchRound)
		}
	}
	if n > benchRound {
		bt, bs := drain(n)
		pt, ps := plain(n)
		b.ReportMetric(float64(bt.Milliseconds())/float64(n), "whole-array-batch-ms/job")
		b.ReportMetric(float64(pt.Milliseconds())/float64(n), "whole-array-plain-ms/job")
		b.ReportMetric(float64(bs.Milliseconds())/float64(n), "whole-array-batch-span-ms/job")
		b.ReportMetric(float64(ps.Milliseconds())/float64(n), "whole-array-plain-span-ms/job")
	}
	jobs := float64(len(overheads) * benchRound)
	b.ReportMetric(float64(batchSpan.Milliseconds())/jobs, "batch-span-ms/job")
	b.ReportMetric(float64(plainSpan.Milliseconds())/jobs, "plain-span-ms/job")
	close(stop)
	watchers.Wait()
	slices.Sort(overheads)
	b.ReportMetric(overheads[len(overheads)/2], "median-overhead-ms/job")
	b.ReportMetric(float64(batchTotal.Milliseconds())/float64(len(overheads)*benchRound), "batch-ms/job")
	b.ReportMetric(float64(plainTotal.Milliseconds())/float64(len(overheads)*benchRound), "plain-ms/job")
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "api-p99-ms")
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "api-p50-ms")
	}
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-rss-MiB")
}

// rssBytes is this process's resident memory.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// childrenSpan is the time from the first start of array id's children
// to their last stop.
func (e *env) childrenSpan(id string, size int) time.Duration {
	e.t.Helper()
	var first, last int64
	for i := range size {
		c := e.describe(childID(id, i))
		if first == 0 || c.StartedAt < first {
			first = c.StartedAt
		}
		last = max(last, c.StoppedAt)
	}
	return time.Duration(last-first) * time.Millisecond
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
