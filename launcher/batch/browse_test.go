package batch

import (
	"context"
	"errors"
	"testing"
)

// The UI's Go API sees what the HTTP API shows: environments with their
// capacity, queues with their jobs counted by status, a queue's jobs and
// an array's children by status, newest first and paged, a job (an
// unmade child included), and terminates jobs as TerminateJob does.
func TestBrowse(t *testing.T) {
	e := newEnv(t, false)
	ctx := context.Background()
	e.queue("q", 4, 7)
	e.definition("d", []string{"exit", "0"}, nil)
	var ids []string
	for range 3 {
		ids = append(ids, e.submit(map[string]any{"jobName": "one", "jobQueue": "q", "jobDefinition": "d"}))
	}
	array := e.submit(map[string]any{"jobName": "many", "jobQueue": "q", "jobDefinition": "d", "arrayProperties": map[string]any{"size": 5}})

	envs, err := e.api.ComputeEnvironments(ctx)
	if err != nil || len(envs) != 1 || envs[0].Name != "q" || envs[0].Capacity != 4000 || envs[0].Used != 0 || envs[0].Status != "VALID" {
		t.Errorf("ComputeEnvironments = %+v, %v", envs, err)
	}
	queues, err := e.api.JobQueues(ctx)
	if err != nil || len(queues) != 1 {
		t.Fatalf("JobQueues = %+v, %v", queues, err)
	}
	if q := queues[0]; q.Priority != 7 || q.State != "ENABLED" || len(q.ComputeEnvironments) != 1 || q.ComputeEnvironments[0] != "q" ||
		q.Jobs[StatusSubmitted] != 4 || q.Jobs[StatusRunning] != 0 || len(q.Jobs) != len(Statuses()) {
		t.Errorf("queue = %+v", q)
	}

	page, total, err := e.api.Jobs(ctx, JobQuery{Queue: "q", Status: StatusSubmitted, Offset: 1, Limit: 2})
	if err != nil || total != 4 || len(page) != 2 || page[0].JobID != ids[2] || page[1].JobID != ids[1] {
		t.Errorf("the queue's second page = %+v, %d, %v; want %s and %s of 4", page, total, err, ids[2], ids[1])
	}
	children, total, err := e.api.Jobs(ctx, JobQuery{ArrayJob: array})
	if err != nil || total != 5 || len(children) != 5 || children[3].JobID != array+":3" || *children[3].ArrayProperties.Index != 3 {
		t.Errorf("the array's children = %+v, %d, %v", children, total, err)
	}
	if _, _, err := e.api.Jobs(ctx, JobQuery{Queue: "nope"}); err == nil {
		t.Error("the jobs of a queue that does not exist: no error")
	}
	if _, _, err := e.api.Jobs(ctx, JobQuery{ArrayJob: ids[0]}); err == nil {
		t.Error("the children of a job that is no array: no error")
	}

	j, queue, err := e.api.Job(ctx, array+":2")
	if err != nil || queue != "q" || j.JobID != array+":2" || j.Status != StatusPending {
		t.Errorf("an unmade child = %s %s, %q, %v", j.JobID, j.Status, queue, err)
	}
	j, _, _ = e.api.Job(ctx, array)
	if j.ArrayProperties == nil || j.ArrayProperties.StatusSummary[StatusPending] != 5 {
		t.Errorf("the array's summary = %+v", j.ArrayProperties)
	}
	for _, id := range []string{"nope", array + ":5", array + ":x"} {
		if _, _, err := e.api.Job(ctx, id); !errors.Is(err, ErrJobUnknown) {
			t.Errorf("Job(%q) = %v; want ErrJobUnknown", id, err)
		}
	}

	if err := e.api.TerminateJob(ctx, ids[0], "enough"); err != nil {
		t.Fatal(err)
	}
	if j := e.describe(ids[0]); j.Status != StatusFailed || j.StatusReason != "enough" || !j.IsTerminated {
		t.Errorf("the terminated job: %s (%s)", j.Status, j.StatusReason)
	}
	if err := e.api.TerminateJob(ctx, "nope", "enough"); !errors.Is(err, ErrJobUnknown) {
		t.Errorf("terminating a job that does not exist = %v; want ErrJobUnknown", err)
	}
	if err := e.api.TerminateJob(ctx, ids[1], ""); err == nil {
		t.Error("terminating without a reason: no error")
	}
	if _, total, _ := e.api.Jobs(ctx, JobQuery{Queue: "q", Status: StatusFailed}); total != 1 {
		t.Errorf("%d FAILED jobs; want the terminated one", total)
	}
}
