package batch

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/launcher"
)

type submitJobInput struct {
	JobName                    string              `json:"jobName"`
	JobQueue                   string              `json:"jobQueue"`
	JobDefinition              string              `json:"jobDefinition"`
	ArrayProperties            *ArrayProperties    `json:"arrayProperties"`
	DependsOn                  []JobDependency     `json:"dependsOn"`
	Parameters                 map[string]string   `json:"parameters"`
	ContainerOverrides         *ContainerOverrides `json:"containerOverrides"`
	NodeOverrides              any                 `json:"nodeOverrides"`
	EksPropertiesOverride      any                 `json:"eksPropertiesOverride"`
	RetryStrategy              *RetryStrategy      `json:"retryStrategy"`
	Timeout                    *JobTimeout         `json:"timeout"`
	Tags                       map[string]string   `json:"tags"`
	PropagateTags              *bool               `json:"propagateTags"`
	ShareIdentifier            string              `json:"shareIdentifier"`
	SchedulingPriorityOverride *int                `json:"schedulingPriorityOverride"`
}

type submitJobOutput struct {
	JobArn  string `json:"jobArn"`
	JobName string `json:"jobName"`
	JobID   string `json:"jobId"`
}

// submitJob validates the job against its queue and definition, stores it
// SUBMITTED and wakes the scheduler.
func (a *API) submitJob(ctx context.Context, in *submitJobInput) (*submitJobOutput, error) {
	id := launcher.NewUUID()
	jobARN := a.scope.Job(id).String()
	// Batch authorizes SubmitJob on the queue and the definition.
	if err := a.authorize(ctx, "SubmitJob", a.scope.JobQueue(nameOf(in.JobQueue, "job-queue")).String()); err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, "SubmitJob", a.definitionARN(in.JobDefinition)); err != nil {
		return nil, err
	}
	if !resourceName.MatchString(in.JobName) {
		return nil, clientError("Invalid job name %q: up to 128 letters, numbers, hyphens and underscores, starting with a letter or number.", in.JobName)
	}
	if in.NodeOverrides != nil || in.EksPropertiesOverride != nil {
		return nil, clientError("nodeOverrides and eksPropertiesOverride are not supported: berth runs single-node container jobs.")
	}
	size := 0
	if in.ArrayProperties != nil {
		size = in.ArrayProperties.Size
		if size < 2 || size > 10000 {
			return nil, clientError("Array job size must be between 2 and 10000 (got %d).", size)
		}
	}
	if len(in.DependsOn) > 20 {
		return nil, clientError("A job may depend on at most 20 jobs.")
	}
	if err := validRetry(in.RetryStrategy); err != nil {
		return nil, err
	}
	if err := a.validTimeout(in.Timeout); err != nil {
		return nil, err
	}
	var over ContainerOverrides
	if in.ContainerOverrides != nil {
		over = *in.ContainerOverrides
	}
	if err := validEnv(over.Environment); err != nil {
		return nil, err
	}
	caller := a.caller(ctx)

	a.mu.Lock()
	defer a.mu.Unlock()
	q, ok := a.queues[nameOf(in.JobQueue, "job-queue")]
	if !ok {
		return nil, clientError("Job Queue %s does not exist.", in.JobQueue)
	}
	if q.State != "ENABLED" {
		return nil, clientError("Job Queue %s is not ENABLED: it accepts no jobs.", q.Name)
	}
	def, err := a.definition(in.JobDefinition)
	if err != nil {
		return nil, err
	}
	j := &job{}
	sequential, nToN := false, ""
	for _, d := range in.DependsOn {
		switch d.Type {
		case "", "N_TO_N", "SEQUENTIAL":
		default:
			return nil, clientError("Invalid dependency type %q: it must be N_TO_N or SEQUENTIAL.", d.Type)
		}
		if d.Type == "SEQUENTIAL" {
			if size == 0 || d.JobID != "" {
				return nil, clientError("A SEQUENTIAL dependency is for an array job and names no job id.")
			}
			sequential = true
			continue
		}
		dep, known := a.lookup(d.JobID)
		if !known {
			return nil, clientError("Dependent job ID %s does not exist.", d.JobID)
		}
		if d.Type == "N_TO_N" {
			if size == 0 || !dep.isArray() || dep.size() != size {
				return nil, clientError("An N_TO_N dependency needs both jobs to be arrays of the same size (%s).", d.JobID)
			}
			nToN = dep.JobID
		}
	}
	cp := def.ContainerProperties
	reqs := merged(cp.ResourceRequirements, over.ResourceRequirements)
	vcpus, memory := cp.Vcpus, cp.Memory
	if over.Vcpus != nil {
		vcpus = over.Vcpus
	}
	if over.Memory != nil {
		memory = over.Memory
	}
	n, err := parseNeeds(reqs, vcpus, memory)
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	for k, v := range def.Parameters {
		params[k] = v
	}
	for k, v := range in.Parameters {
		params[k] = v
	}
	command := cp.Command
	if over.Command != nil {
		command = over.Command
	}
	subst := make([]string, len(command))
	for i, c := range command {
		subst[i] = substitute(c, params)
	}
	retry, timeout := def.RetryStrategy, def.Timeout
	if in.RetryStrategy != nil {
		retry = in.RetryStrategy
	}
	if in.Timeout != nil {
		timeout = in.Timeout
	}
	propagate := def.PropagateTags
	if in.PropagateTags != nil {
		propagate = *in.PropagateTags
	}
	now := a.cfg.Now()
	j.JobDetail = JobDetail{
		JobArn: jobARN, JobName: in.JobName, JobID: id, JobQueue: q.ARN, Status: StatusSubmitted,
		CreatedAt: ms(now), RetryStrategy: retry, DependsOn: in.DependsOn, JobDefinition: def.ARN,
		Parameters: params, Timeout: timeout, Tags: in.Tags, PropagateTags: propagate,
		PlatformCapabilities: def.PlatformCapabilities,
		Container: &ContainerDetail{
			Image: cp.Image, Vcpus: vcpus, Memory: memory, Command: subst, JobRoleArn: cp.JobRoleArn,
			ExecutionRoleArn: cp.ExecutionRoleArn, User: cp.User,
			Environment: mergedEnv(cp.Environment, over.Environment), ResourceRequirements: reqs,
			MountPoints: []any{}, Volumes: []any{}, Ulimits: []any{}, NetworkInterfaces: []any{}, Secrets: []any{},
		},
	}
	if size > 0 {
		j.ArrayProperties = &ArrayPropertiesDetail{Size: size}
		j.children, j.live = map[int]*job{}, map[int]*job{}
	}
	j.State = jobState{Queue: q.Name, DefName: def.Name, MilliCPU: n.milliCPU, MemoryMiB: n.memoryMiB,
		Caller: caller, Sequential: sequential, NToN: nToN}
	j.createdNs = now.UnixNano()
	if err := a.save(ctx, j); err != nil {
		return nil, serverError("submit job", err)
	}
	a.jobs[id] = j
	a.active[id] = j
	a.kick()
	return &submitJobOutput{JobArn: jobARN, JobName: in.JobName, JobID: id}, nil
}

// lookup finds job id, an array child not made yet included (as its
// parent shows it). Call with a.mu held.
func (a *API) lookup(id string) (*job, bool) {
	if j, ok := a.jobs[id]; ok {
		return j, true
	}
	if p, i, ok := splitChild(id); ok {
		if parent, ok := a.jobs[p]; ok && parent.isArray() && i < parent.size() {
			if c, ok := parent.children[i]; ok {
				return c, true
			}
			return parent.unmade(i), true
		}
	}
	return nil, false
}

type describeJobsInput struct {
	Jobs []string `json:"jobs"`
}

type describeJobsOutput struct {
	Jobs []JobDetail `json:"jobs"`
}

// describeJobs describes up to 100 jobs; ids it does not know are left
// out, as Batch does.
func (a *API) describeJobs(ctx context.Context, in *describeJobsInput) (*describeJobsOutput, error) {
	if err := a.authorize(ctx, "DescribeJobs", "*"); err != nil {
		return nil, err
	}
	if len(in.Jobs) > 100 {
		return nil, clientError("jobs may name at most 100 jobs.")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &describeJobsOutput{Jobs: []JobDetail{}}
	for _, id := range in.Jobs {
		if j, ok := a.lookup(id); ok {
			out.Jobs = append(out.Jobs, j.detail())
		}
	}
	return out, nil
}

// KeyValuesPair is a ListJobs filter.
type KeyValuesPair struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

type listJobsInput struct {
	JobQueue       string          `json:"jobQueue"`
	ArrayJobID     string          `json:"arrayJobId"`
	MultiNodeJobID string          `json:"multiNodeJobId"`
	JobStatus      string          `json:"jobStatus"`
	MaxResults     *int            `json:"maxResults"`
	NextToken      string          `json:"nextToken"`
	Filters        []KeyValuesPair `json:"filters"`
}

type listJobsOutput struct {
	JobSummaryList []JobSummary `json:"jobSummaryList"`
	NextToken      string       `json:"nextToken,omitempty"`
}

// listJobs lists a queue's jobs or an array's children of one status
// (RUNNING when none is given), or with filters of any status, newest
// first.
func (a *API) listJobs(ctx context.Context, in *listJobsInput) (*listJobsOutput, error) {
	if err := a.authorize(ctx, "ListJobs", "*"); err != nil {
		return nil, err
	}
	if in.MultiNodeJobID != "" {
		return nil, clientError("multiNodeJobId: multi-node parallel jobs are not supported by berth, so there are no nodes to list; use jobQueue or arrayJobId.")
	}
	if (in.JobQueue == "") == (in.ArrayJobID == "") {
		return nil, clientError("Exactly one of jobQueue, arrayJobId or multiNodeJobId must be given.")
	}
	status := in.JobStatus
	if status == "" {
		status = StatusRunning
	} else if !contains(statuses, status) {
		return nil, clientError("Invalid jobStatus %q: it must be one of %s.", status, strings.Join(statuses, ", "))
	}
	keep, err := parseFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 {
		status = ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var page []*job
	var next string
	if in.ArrayJobID != "" {
		p, ok := a.jobs[in.ArrayJobID]
		if !ok || !p.isArray() {
			return nil, clientError("Array job %s does not exist.", in.ArrayJobID)
		}
		// The children not made yet share their parent's status, name,
		// definition and creation time, which are all the filters look
		// at, so one of them stands for all; only the page's children are
		// made up. The token is the index of the next child listed, so a
		// page reads from there on, not all 10,000 children each time.
		unmadeKept := (status == "" || p.unmadeStatus() == status) && keep(p.unmade(0))
		n, err := pageSize(in.MaxResults, 1000)
		if err != nil {
			return nil, err
		}
		start, err := pageStart(in.NextToken, p.size())
		if err != nil {
			return nil, err
		}
		for i := start; i < p.size(); i++ {
			c, made := p.children[i]
			listed := unmadeKept
			if made {
				listed = (status == "" || c.Status == status) && keep(c)
			}
			if !listed {
				continue
			}
			if len(page) == n {
				next = pageToken(i)
				break
			}
			if !made {
				c = p.unmade(i)
			}
			page = append(page, c)
		}
	} else {
		q, ok := a.queues[nameOf(in.JobQueue, "job-queue")]
		if !ok {
			return nil, clientError("Job Queue %s does not exist.", in.JobQueue)
		}
		var list []*job
		for _, j := range a.jobs {
			if j.State.Parent == "" && j.State.Queue == q.Name && (status == "" || j.Status == status) && keep(j) {
				list = append(list, j)
			}
		}
		sort.Slice(list, func(x, y int) bool {
			if list[x].createdNs != list[y].createdNs {
				return list[x].createdNs > list[y].createdNs
			}
			return list[x].JobID < list[y].JobID
		})
		var err error
		if page, next, err = paginate(list, in.MaxResults, in.NextToken, 1000); err != nil {
			return nil, err
		}
	}
	out := &listJobsOutput{JobSummaryList: make([]JobSummary, 0, len(page)), NextToken: next}
	for _, j := range page {
		out.JobSummaryList = append(out.JobSummaryList, j.summaryOf())
	}
	return out, nil
}

// parseFilters reads ListJobs filters (JOB_NAME and JOB_DEFINITION with
// an optional trailing *, BEFORE_CREATED_AT and AFTER_CREATED_AT in epoch
// milliseconds) into one predicate.
func parseFilters(fs []KeyValuesPair) (func(*job) bool, error) {
	var preds []func(*job) bool
	for _, f := range fs {
		if len(f.Values) != 1 {
			return nil, clientError("Filter %s takes exactly one value.", f.Name)
		}
		v := f.Values[0]
		switch f.Name {
		case "JOB_NAME":
			preds = append(preds, func(j *job) bool { return matches(v, j.JobName) })
		case "JOB_DEFINITION":
			preds = append(preds, func(j *job) bool {
				return matches(v, j.State.DefName) || matches(v, j.JobDefinition) ||
					matches(v, j.State.DefName+":"+j.JobDefinition[strings.LastIndex(j.JobDefinition, ":")+1:])
			})
		case "BEFORE_CREATED_AT", "AFTER_CREATED_AT":
			t, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, clientError("Filter %s takes a time in epoch milliseconds, not %q.", f.Name, v)
			}
			if f.Name == "BEFORE_CREATED_AT" {
				preds = append(preds, func(j *job) bool { return j.CreatedAt < t })
			} else {
				preds = append(preds, func(j *job) bool { return j.CreatedAt > t })
			}
		default:
			return nil, clientError("Invalid filter name %q: it must be JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT or AFTER_CREATED_AT.", f.Name)
		}
	}
	return func(j *job) bool {
		for _, p := range preds {
			if !p(j) {
				return false
			}
		}
		return true
	}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

type cancelJobInput struct {
	JobID  string `json:"jobId"`
	Reason string `json:"reason"`
}

// cancelJob fails a job that has not reached STARTING; later jobs go on
// (Batch's CancelJob), an array's children that have not started are
// cancelled.
func (a *API) cancelJob(ctx context.Context, in *cancelJobInput) (*struct{}, error) {
	return a.endJob(ctx, "CancelJob", in.JobID, in.Reason, false)
}

// terminateJob fails a job whatever its state, stopping its container.
func (a *API) terminateJob(ctx context.Context, in *cancelJobInput) (*struct{}, error) {
	return a.endJob(ctx, "TerminateJob", in.JobID, in.Reason, true)
}

func (a *API) endJob(ctx context.Context, op, id, reason string, running bool) (*struct{}, error) {
	if err := a.authorize(ctx, op, a.scope.Job(id).String()); err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, clientError("reason is required.")
	}
	if err := a.end(ctx, id, reason, running); err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// end terminates (running) or cancels job id, authorized already.
func (a *API) end(ctx context.Context, id, reason string, running bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	j, ok := a.lookup(id)
	if !ok {
		return clientError("Job %s does not exist.", id)
	}
	if _, made := a.jobs[id]; !made {
		// A child not made yet (none has started): make it, failed, as
		// Batch does; its parent counts it and its turn is skipped.
		if done(j.Status) {
			return nil
		}
		j.IsCancelled, j.IsTerminated = !running, running
		a.adopt(j.parent, j)
		a.fail(ctx, j, reason)
		return nil
	}
	if running {
		a.terminate(ctx, j, reason)
	} else {
		a.cancel(ctx, j, reason)
	}
	return nil
}
