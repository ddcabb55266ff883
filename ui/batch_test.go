package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/batch"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/launcher/logs"
)

// startBatch gives the fixture a Batch API on the machine's Docker
// Engine, its scheduler running until the test ends, logging to the
// index's log store; the test program is in the fixture's registry.
func (f *fixture) startBatch(log *slog.Logger) {
	t := f.t
	engine := dockertest.Require(t)
	host := f.srv.Listener.Addr().String()
	instance := "ui-test-" + launcher.NewID()[:8]
	f.batch = batch.New(f.store, engine, batch.Config{
		AccountID: account, Region: region, Instance: instance,
		Images: launcher.Images{Registry: host}, Access: openLambda{},
		Logs:               batchLogs{logs.NewStore(f.store, logs.StoreConfig{Log: log})},
		MinAttemptDuration: time.Second, StopGrace: 2 * time.Second, Log: log,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.batch.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		list, err := engine.List(context.Background(), map[string]string{launcher.LabelInstance: instance})
		if err != nil {
			t.Errorf("listing the jobs' containers: %v", err)
		}
		for _, c := range list {
			engine.Remove(context.Background(), c.ID)
		}
	})
	select {
	case <-f.batch.Ready():
	case <-time.After(time.Minute):
		t.Fatal("the Batch scheduler did not load within a minute")
	}
	dockertest.Remember(host + "/" + testImage)
	f.pushProgram()
}

// batchLogs is the log store as Batch's sink, as berth serve wires it.
type batchLogs struct{ s *logs.Store }

func (l batchLogs) OpenStream(ctx context.Context, group, stream string) (batch.LogWriter, time.Time, error) {
	w, err := l.s.Open(ctx, logs.Destination{Group: group, Stream: stream, CreateGroup: true})
	return w, time.Time{}, err
}

// batchCall sends a Batch operation through its HTTP API, as the AWS CLI
// would, and returns the answer.
func (f *fixture) batchCall(op string, in any) map[string]any {
	f.t.Helper()
	mux := http.NewServeMux()
	f.batch.Register(awsjson.NewFront(mux, nil, slog.New(slog.DiscardHandler)))
	body, _ := json.Marshal(in)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/"+strings.ToLower(op), bytes.NewReader(body)))
	raw, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || rec.Code != http.StatusOK {
		f.t.Fatalf("%s = %d %s", op, rec.Code, raw)
	}
	return out
}

// batchQueue makes a compute environment of maxvCpus and a queue on it,
// both named name, and job definition name running the test program
// with command, 1 vCPU and 64 MiB, and up to attempts attempts.
func (f *fixture) batchQueue(name string, maxvCpus, attempts int, command ...string) {
	f.t.Helper()
	f.batchCall("CreateComputeEnvironment", map[string]any{"computeEnvironmentName": name, "type": "MANAGED",
		"computeResources": map[string]any{"type": "EC2", "maxvCpus": maxvCpus, "subnets": []string{"subnet-1"}}})
	f.batchCall("CreateJobQueue", map[string]any{"jobQueueName": name, "priority": 1,
		"computeEnvironmentOrder": []map[string]any{{"order": 1, "computeEnvironment": name}}})
	f.batchCall("RegisterJobDefinition", map[string]any{"jobDefinitionName": name, "type": "container",
		"retryStrategy": map[string]any{"attempts": attempts},
		"containerProperties": map[string]any{"image": testImage, "command": command,
			"resourceRequirements": []map[string]string{{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "64"}}}})
}

// waitJob waits, bounded, until job id satisfies ok.
func (f *fixture) waitJob(id, what string, ok func(batch.JobDetail) bool) batch.JobDetail {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		j, _, err := f.batch.Job(context.Background(), id)
		if err != nil {
			f.t.Fatal(err)
		}
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("job %s: not %s within 2 minutes; it is %s (%s)", id, what, j.Status, j.StatusReason)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func jobStatus(status string) func(batch.JobDetail) bool {
	return func(j batch.JobDetail) bool { return j.Status == status }
}

// The Batch pages: environments with the vCPUs their jobs hold, queues
// with their jobs by status, a queue's jobs of one status, a job retried
// once with each attempt's exit code and log stream, an array with its
// children by status; the terminate form ends the array, with a reason
// that renders as text.
func TestBatchPages(t *testing.T) {
	f := newFixture(t, options{batch: true})
	b := f.signedIn(f.user("admin", "admin"))
	f.batchQueue("work", 2, 2, "exit-unless-attempt", "2", "3")
	retried := f.batchCall("SubmitJob", map[string]any{"jobName": "retried", "jobQueue": "work", "jobDefinition": "work",
		"tags": map[string]string{"team": hostile}})["jobId"].(string)
	f.waitJob(retried, "SUCCEEDED", jobStatus(batch.StatusSucceeded))
	array := f.batchCall("SubmitJob", map[string]any{"jobName": "sleepers", "jobQueue": "work", "jobDefinition": "work",
		"arrayProperties": map[string]any{"size": 2}, "containerOverrides": map[string]any{"command": []string{"sleep"}}})["jobId"].(string)
	parent := f.waitJob(array, "running both children", func(j batch.JobDetail) bool { return j.ArrayProperties.StatusSummary[batch.StatusRunning] == 2 })

	p := b.expect(http.StatusOK, "/ui/batch")
	contains(t, "the overview", p.Body, `<a href="/ui/batch/queues/work">work</a>`, `href="/ui/batch/queues/work?status=SUCCEEDED">1</a>`,
		`href="/ui/batch/queues/work?status=`+parent.Status+`">1</a>`, "2 of 2", ">VALID<", `<a href="/ui/batch" aria-current="page">`)
	wellFormed(t, "/ui/batch", p)

	p = b.expect(http.StatusOK, "/ui/batch/queues/work?status=SUCCEEDED")
	contains(t, "the queue's succeeded jobs", p.Body, `href="/ui/batch/jobs/`+retried+`"`, "retried", "1 SUCCEEDED job", "arn:aws:batch:"+region+":"+account+":job-queue/work")
	lacks(t, "the queue's succeeded jobs", p.Body, array)
	// An array's status is its own (it waits for its children).
	p = b.expect(http.StatusOK, "/ui/batch/queues/work?status="+parent.Status)
	contains(t, "the queue's array", p.Body, `href="/ui/batch/jobs/`+array+`"`, "array of 2", `aria-current="page">`+parent.Status+` 1<`)
	wellFormed(t, "/ui/batch/queues/work", p)

	p = b.expect(http.StatusOK, "/ui/batch/jobs/"+retried)
	contains(t, "the retried job", p.Body, `id="job-status">SUCCEEDED<`, "Attempts", `<th scope="row" class="num">1</th>`, `<th scope="row" class="num">2</th>`,
		`<td class="num">3</td>`, `<td class="num">0</td>`, "Essential container in task exited",
		`href="/ui/logs/stream?group=%2Faws%2Fbatch%2Fjob&amp;stream=work%2Fdefault%2F`, "team=&lt;script&gt;")
	lacks(t, "the retried job", p.Body, hostile, "Terminate job")
	wellFormed(t, "/ui/batch/jobs/"+retried, p)

	p = b.expect(http.StatusOK, "/ui/batch/jobs/"+array)
	contains(t, "the array", p.Body, `id="children-summary"`, "<strong>2</strong> RUNNING", "2 RUNNING jobs",
		`href="/ui/batch/jobs/`+array+`:0"`, `href="/ui/batch/jobs/`+array+`:1"`, "Terminate job")
	child := b.expect(http.StatusOK, "/ui/batch/jobs/"+array+":1")
	contains(t, "a child", child.Body, `id="job-status">RUNNING<`, `<span class="badge st-ok">running</span>`, `href="/ui/batch/jobs/`+array+`"`, "Array index")

	// Terminating: without the form's token nothing happens; with it the
	// children stop and fail with the reason.
	term := "/ui/batch/jobs/" + array + "/terminate"
	if p := b.post(term, url.Values{"reason": {"x"}, "csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("terminating without the CSRF token = %d; want 403", p.Status)
	}
	b.expect(http.StatusOK, "/ui/batch/jobs/"+array)
	p = b.post(term, url.Values{"reason": {hostile}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/batch/jobs/"+array+"?done=terminating" {
		t.Fatalf("terminating = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	f.waitJob(array, "FAILED", jobStatus(batch.StatusFailed))
	p = b.expect(http.StatusOK, "/ui/batch/jobs/"+array+"?done=terminating&status=FAILED")
	contains(t, "the terminated array", p.Body, "Terminating the job", `id="job-status">FAILED<`, "<strong>2</strong> FAILED",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	lacks(t, "the terminated array", p.Body, hostile, "Terminate job")

	b.expect(http.StatusNotFound, "/ui/batch/jobs/nothing")
	b.expect(http.StatusNotFound, "/ui/batch/jobs/"+array+":2")
	b.expect(http.StatusNotFound, "/ui/batch/queues/nothing")
	p = b.expect(http.StatusNotFound, "/ui/batch/queues/"+url.PathEscape(hostile))
	lacks(t, "a hostile queue name", p.Body, hostile)
}

// A person who may read Batch but not terminate jobs sees no terminate
// form and is refused in IAM's words when posting anyway, and the job
// runs on; one who may not describe jobs cannot open them.
func TestBatchPermissions(t *testing.T) {
	f := newFixture(t, options{batch: true})
	f.batchQueue("work", 1, 1, "sleep")
	id := f.batchCall("SubmitJob", map[string]any{"jobName": "runs", "jobQueue": "work", "jobDefinition": "work"})["jobId"].(string)
	f.waitJob(id, "RUNNING", jobStatus(batch.StatusRunning))

	reader := f.signedIn(f.user("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["batch:Describe*","batch:List*"],"Resource":"*"}]}`))
	p := reader.expect(http.StatusOK, "/ui/batch/jobs/"+id)
	lacks(t, "the reader's page", p.Body, "Terminate job", "/terminate")
	if forms := strings.Count(p.Body, `<form method="post"`); forms != 1 { // signing out
		t.Errorf("%d forms; want only the sign-out form", forms)
	}
	contains(t, "the reader's page", p.Body, `<span class="badge st-ok">running</span>`, "sleep")
	lacks(t, "the reader's page", p.Body, `href="/ui/logs/stream`) // no logs:GetLogEvents
	p = reader.post("/ui/batch/jobs/"+id+"/terminate", url.Values{"reason": {"no"}})
	want := "User: arn:aws:iam::" + account + ":user/reader is not authorized to perform: batch:TerminateJob on resource: arn:aws:batch:" + region + ":" + account + ":job/" + id
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, want) {
		t.Errorf("the reader terminating = %d; want 403 saying %q\n%s", p.Status, want, p.Body)
	}
	if j, _, _ := f.batch.Job(context.Background(), id); j.Status != batch.StatusRunning {
		t.Errorf("the reader's refused post ended the job: %s (%s)", j.Status, j.StatusReason)
	}

	queues := f.signedIn(f.user("queues", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"batch:DescribeJobQueues","Resource":"*"}]}`))
	p = queues.expect(http.StatusOK, "/ui/batch")
	contains(t, "the queues-only overview", p.Body, `href="/ui/batch/queues/work"`)
	lacks(t, "the queues-only overview", p.Body, `class="list environments"`)
	contains(t, "the queue without ListJobs", queues.expect(http.StatusOK, "/ui/batch/queues/work").Body, "You may not list this queue's jobs (batch:ListJobs).")
	queues.expect(http.StatusForbidden, "/ui/batch/jobs/"+id)

	nobody := f.signedIn(f.user("nobody", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}`))
	nobody.expect(http.StatusForbidden, "/ui/batch")
	nobody.expect(http.StatusForbidden, "/ui/batch/queues/work")
}

// Without Batch its pages are absent: not in the navigation, and not
// found.
func TestBatchAbsentWithoutIt(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "admin"))
	lacks(t, "the navigation", b.expect(http.StatusOK, "/ui/").Body, `href="/ui/batch"`)
	b.expect(http.StatusNotFound, "/ui/batch")
	b.expect(http.StatusNotFound, "/ui/batch/jobs/x")
}
