package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// scaleSize is the largest array Batch accepts.
const scaleSize = 10000

// BenchmarkTenThousandChildren measures what one array of 10,000
// children costs berth without running 10,000 containers, through the
// real API, scheduler and SQLite index: (a) the array submitted to a
// queue whose compute environment is DISABLED, so all 10,000 wait
// RUNNABLE; (b) the same array as a drained one leaves the index (every
// child SUCCEEDED with one attempt, its log stream, exit code and
// times), loaded by a new API as after a restart. For each it reports
// the heap in use after a GC beyond that of the API before the
// submission, the process's resident memory, and the p50/p99 of
// DescribeJobs (the parent and a child) and of each ListJobs
// --array-job-id page (100 children, the server's default, as the CLI
// asks) while walking all the pages.
func BenchmarkTenThousandChildren(b *testing.B) {
	e := newEnv(b, true)
	eng := dockerEngine(b)
	e.must("CreateComputeEnvironment", map[string]any{"computeEnvironmentName": "off", "type": "MANAGED", "state": "DISABLED",
		"computeResources": map[string]any{"type": "EC2", "maxvCpus": 4, "subnets": []string{"subnet-1"}}})
	e.must("CreateJobQueue", map[string]any{"jobQueueName": "q", "priority": 1,
		"computeEnvironmentOrder": []map[string]any{{"order": 1, "computeEnvironment": "off"}}})
	e.definition("trivial", []string{"exit", "0"}, nil)
	base := heapInUse()
	for b.Loop() {
		id := e.submit(map[string]any{"jobName": "big", "jobQueue": "q", "jobDefinition": "trivial",
			"arrayProperties": map[string]int{"size": scaleSize}})
		e.waitFor(id, StatusPending)
		e.scaleFigures(b, "pending", id, StatusRunnable, base)

		// As a drained array leaves the index, loaded by a new API.
		e.halt()
		e.drained(b, id)
		e.start(eng)
		if p := e.describe(id); p.Status != StatusSucceeded || p.ArrayProperties.StatusSummary[StatusSucceeded] != scaleSize {
			b.Fatalf("drained array after the restart: %s %v", p.Status, p.ArrayProperties.StatusSummary)
		}
		e.scaleFigures(b, "finished", id, StatusSucceeded, base)
	}
}

// scaleFigures reports heap and resident memory with array id loaded,
// and the latency of describing it and listing its children of status.
func (e *env) scaleFigures(b *testing.B, name, id, status string, base uint64) {
	b.Helper()
	heap := heapInUse()
	b.ReportMetric(float64(heap-min(heap, base))/(1<<20), name+"-heap-MiB")
	b.ReportMetric(float64(heap-min(heap, base))/(1<<20)/(scaleSize/1000), name+"-heap-MiB/1000")
	b.ReportMetric(float64(rssBytes())/(1<<20), name+"-rss-MiB")
	var describe, list []time.Duration
	for range 500 {
		var out struct {
			Jobs []struct{} `json:"jobs"`
		}
		t0 := time.Now()
		e.lean(b, "DescribeJobs", map[string]any{"jobs": []string{id, childID(id, 4321)}}, &out)
		describe = append(describe, time.Since(t0))
		if len(out.Jobs) != 2 {
			b.Fatalf("DescribeJobs found %d of 2", len(out.Jobs))
		}
	}
	for range 5 {
		n, token := 0, ""
		for {
			in := map[string]any{"arrayJobId": id, "jobStatus": status}
			if token != "" {
				in["nextToken"] = token
			}
			var out struct {
				JobSummaryList []struct{} `json:"jobSummaryList"`
				NextToken      string     `json:"nextToken"`
			}
			t0 := time.Now()
			e.lean(b, "ListJobs", in, &out)
			list = append(list, time.Since(t0))
			n += len(out.JobSummaryList)
			if token = out.NextToken; token == "" {
				break
			}
		}
		if n != scaleSize {
			b.Fatalf("ListJobs listed %d %s children", n, status)
		}
	}
	b.ReportMetric(float64(rssBytes())/(1<<20), name+"-rss-after-calls-MiB")
	for _, l := range []struct {
		op string
		d  []time.Duration
	}{{"describe", describe}, {"list-page", list}} {
		slices.Sort(l.d)
		b.ReportMetric(float64(l.d[len(l.d)/2].Microseconds())/1000, name+"-"+l.op+"-p50-ms")
		b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds())/1000, name+"-"+l.op+"-p99-ms")
	}
}

// lean sends op and decodes its answer into out, which keeps only what
// the benchmark counts: the client shares berth's heap here (the CLI
// would not), and decoding whole answers into maps made most of the
// garbage its collector had to keep up with.
func (e *env) lean(b *testing.B, op string, in, out any) {
	b.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.Post(e.url+"/v1/"+strings.ToLower(op), "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %s", op, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		b.Fatalf("%s: %v", op, err)
	}
}

// drained rewrites array id in the index as its drain leaves it: every
// child SUCCEEDED after one attempt of a second, the parent with them.
// Call with the scheduler halted.
func (e *env) drained(b *testing.B, id string) {
	b.Helper()
	ctx := context.Background()
	e.api.mu.Lock()
	p := e.api.jobs[id]
	e.api.mu.Unlock()
	start := time.Now().Add(-time.Hour)
	for i := range scaleSize {
		c := p.unmade(i)
		c.State.CE, c.State.TaskID = "off", newTaskID()
		began := start.Add(time.Duration(i) * 300 * time.Millisecond)
		ended := began.Add(time.Second)
		zero := 0
		c.Status, c.StatusReason = StatusSucceeded, reasonContainerExited
		c.StartedAt, c.StoppedAt = ms(began), ms(ended)
		c.State.AttemptStarted, c.State.Finished = began, ended
		c.Container.LogStreamName, c.Container.TaskArn = logStream(c), e.api.taskARN(c)
		c.Container.ExitCode = &zero
		c.Attempts = []AttemptDetail{{
			Container: AttemptContainerDetail{TaskArn: e.api.taskARN(c), ExitCode: &zero,
				LogStreamName: logStream(c), NetworkInterfaces: []any{}},
			StartedAt: ms(began), StoppedAt: ms(ended), StatusReason: reasonContainerExited}}
		e.put(b, ctx, c)
	}
	p.Status, p.StartedAt = StatusSucceeded, ms(start)
	p.StoppedAt = ms(start.Add(scaleSize * 300 * time.Millisecond))
	p.State.Finished = start.Add(scaleSize * 300 * time.Millisecond)
	e.put(b, ctx, p)
}

// put writes j's document to the index as the API's save does.
func (e *env) put(b *testing.B, ctx context.Context, j *job) {
	doc, err := json.Marshal(j)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.store.PutBatchJob(ctx, metadata.BatchJob{ID: j.JobID, Status: j.Status,
		CreatedAt: time.Unix(0, j.createdNs), Document: doc}); err != nil {
		b.Fatal(err)
	}
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
