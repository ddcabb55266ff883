package batch

import (
	"context"
	"errors"
	"sort"
)

// The Go API below is what berth's web UI reads and drives Batch
// through. Unlike the HTTP API it authorizes nothing: its caller has
// already decided, with the same batch: actions on the same ARNs. It
// reads the scheduler's state in memory, which is the index's contents.

// ErrJobUnknown is returned for a job the scheduler does not hold (never
// submitted, or purged after its retention).
var ErrJobUnknown = errors.New("batch: no such job")

// ComputeEnvironment is a compute environment with the vCPUs its jobs
// use, in thousandths.
type ComputeEnvironment struct {
	Name, ARN, Type, State, Status, StatusReason string
	// Capacity is what its jobs may use together (maxvCpus, or the
	// host's CPUs when unmanaged); Used what its STARTING and RUNNING
	// jobs hold.
	Capacity, Used int64
}

// ComputeEnvironments returns every compute environment by name.
func (a *API) ComputeEnvironments(ctx context.Context) ([]ComputeEnvironment, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ComputeEnvironment, 0, len(a.envs))
	for _, c := range a.envs {
		out = append(out, ComputeEnvironment{Name: c.Name, ARN: c.ARN, Type: c.Type, State: c.State, Status: c.Status,
			StatusReason: c.StatusReason, Capacity: c.capacity(a.cfg.HostCPUs), Used: c.usedMilliCPU})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// JobQueue is a job queue with its jobs counted by status.
type JobQueue struct {
	Name, ARN, State, Status, StatusReason string
	Priority                               int
	// ComputeEnvironments are the names of its environments in order.
	ComputeEnvironments []string
	// Jobs counts its jobs by status, every status present; an array
	// counts once, by its own status.
	Jobs map[string]int
}

// Statuses are the job states in their order, as ListJobs filters them.
func Statuses() []string { return append([]string(nil), statuses...) }

// JobQueues returns every job queue by name.
func (a *API) JobQueues(ctx context.Context) ([]JobQueue, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	byQueue := map[string]map[string]int{}
	for _, j := range a.jobs {
		if j.State.Parent == "" {
			if byQueue[j.State.Queue] == nil {
				byQueue[j.State.Queue] = map[string]int{}
			}
			byQueue[j.State.Queue][j.Status]++
		}
	}
	out := make([]JobQueue, 0, len(a.queues))
	for _, q := range a.queues {
		jq := JobQueue{Name: q.Name, ARN: q.ARN, State: q.State, Status: q.Status, StatusReason: q.StatusReason,
			Priority: q.Priority, Jobs: map[string]int{}}
		order := append([]ComputeEnvironmentOrder(nil), q.Order...)
		sort.SliceStable(order, func(i, j int) bool { return order[i].Order < order[j].Order })
		for _, o := range order {
			jq.ComputeEnvironments = append(jq.ComputeEnvironments, nameOf(o.ComputeEnvironment, "compute-environment"))
		}
		for _, s := range statuses {
			jq.Jobs[s] = byQueue[q.Name][s]
		}
		out = append(out, jq)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// JobQuery selects jobs as ListJobs does: those of Queue (array children
// left out) newest first, or the children of array job ArrayJob by
// index; of Status, or of any status when it is "". Offset and Limit
// page them (Limit 0: all).
type JobQuery struct {
	Queue, ArrayJob, Status string
	Offset, Limit           int
}

// Jobs returns the jobs q selects and how many it selects in all. A
// ClientException if the queue or the array job does not exist.
func (a *API) Jobs(ctx context.Context, q JobQuery) ([]JobSummary, int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keep := func(j *job) bool { return q.Status == "" || j.Status == q.Status }
	var list []*job
	if q.ArrayJob != "" {
		p, ok := a.jobs[q.ArrayJob]
		if !ok || !p.isArray() {
			return nil, 0, clientError("Array job %s does not exist.", q.ArrayJob)
		}
		for i := range p.size() {
			c, made := p.children[i]
			if !made {
				c = p.unmade(i)
			}
			if keep(c) {
				list = append(list, c)
			}
		}
	} else {
		if _, ok := a.queues[q.Queue]; !ok {
			return nil, 0, clientError("Job Queue %s does not exist.", q.Queue)
		}
		for _, j := range a.jobs {
			if j.State.Parent == "" && j.State.Queue == q.Queue && keep(j) {
				list = append(list, j)
			}
		}
		sort.Slice(list, func(x, y int) bool {
			if list[x].createdNs != list[y].createdNs {
				return list[x].createdNs > list[y].createdNs
			}
			return list[x].JobID < list[y].JobID
		})
	}
	total := len(list)
	list = list[min(max(q.Offset, 0), total):]
	if q.Limit > 0 && len(list) > q.Limit {
		list = list[:q.Limit]
	}
	out := make([]JobSummary, 0, len(list))
	for _, j := range list {
		out = append(out, j.summaryOf())
	}
	return out, total, nil
}

// Job describes job id as DescribeJobs does, an array child not made yet
// included; ErrJobUnknown if there is none. Queue is the name of its
// queue.
func (a *API) Job(ctx context.Context, id string) (detail JobDetail, queue string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, ok := a.lookup(id)
	if !ok {
		return JobDetail{}, "", ErrJobUnknown
	}
	return j.detail(), j.State.Queue, nil
}

// TerminateJob fails job id with reason as TerminateJob does, stopping
// its container if it runs; ErrJobUnknown if there is none.
func (a *API) TerminateJob(ctx context.Context, id, reason string) error {
	if reason == "" {
		return clientError("reason is required.")
	}
	a.mu.Lock()
	_, known := a.lookup(id)
	a.mu.Unlock()
	if !known {
		return ErrJobUnknown
	}
	return a.end(ctx, id, reason, true)
}
