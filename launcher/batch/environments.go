package batch

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"sort"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// ComputeResources is a managed compute environment's resources; only
// maxvCpus matters locally, where it caps the vCPUs of the environment's
// running jobs on the Docker host.
type ComputeResources struct {
	Type               string            `json:"type"`
	AllocationStrategy string            `json:"allocationStrategy,omitempty"`
	MinvCpus           *int              `json:"minvCpus,omitempty"`
	MaxvCpus           int               `json:"maxvCpus"`
	DesiredvCpus       *int              `json:"desiredvCpus,omitempty"`
	InstanceTypes      []string          `json:"instanceTypes,omitempty"`
	Subnets            []string          `json:"subnets"`
	SecurityGroupIds   []string          `json:"securityGroupIds,omitempty"`
	InstanceRole       string            `json:"instanceRole,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
}

// computeEnvironment is a compute environment as DescribeComputeEnvironments
// shows it and the index keeps it.
type computeEnvironment struct {
	Name             string            `json:"computeEnvironmentName"`
	ARN              string            `json:"computeEnvironmentArn"`
	Type             string            `json:"type"`
	State            string            `json:"state"`
	Status           string            `json:"status"`
	StatusReason     string            `json:"statusReason"`
	ComputeResources *ComputeResources `json:"computeResources,omitempty"`
	UnmanagedvCpus   *int              `json:"unmanagedvCpus,omitempty"`
	ServiceRole      string            `json:"serviceRole,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	Orchestration    string            `json:"containerOrchestrationType"`
	UUID             string            `json:"uuid"`
	EcsClusterArn    string            `json:"ecsClusterArn"`

	// usedMilliCPU is the vCPUs (thousandths) of its STARTING and RUNNING
	// jobs; the scheduler keeps it, it is not stored.
	usedMilliCPU int64
}

// capacity is the vCPUs (thousandths) the environment may use.
func (c *computeEnvironment) capacity(hostCPUs int) int64 {
	if c.ComputeResources != nil {
		return int64(c.ComputeResources.MaxvCpus) * 1000
	}
	if c.UnmanagedvCpus != nil && *c.UnmanagedvCpus > 0 {
		return int64(*c.UnmanagedvCpus) * 1000
	}
	return int64(hostCPUs) * 1000
}

// ComputeEnvironmentOrder is one environment of a queue.
type ComputeEnvironmentOrder struct {
	Order              int    `json:"order"`
	ComputeEnvironment string `json:"computeEnvironment"`
}

// jobQueue is a job queue as DescribeJobQueues shows it and the index
// keeps it.
type jobQueue struct {
	Name         string                    `json:"jobQueueName"`
	ARN          string                    `json:"jobQueueArn"`
	State        string                    `json:"state"`
	Status       string                    `json:"status"`
	StatusReason string                    `json:"statusReason"`
	Priority     int                       `json:"priority"`
	Order        []ComputeEnvironmentOrder `json:"computeEnvironmentOrder"`
	Tags         map[string]string         `json:"tags,omitempty"`
	JobQueueType string                    `json:"jobQueueType,omitempty"`
	// Seq orders queues of equal priority by creation.
	Seq int64 `json:"berthSeq"`
}

// resourceName matches the names of environments, queues, definitions
// and jobs: letters, digits, hyphens and underscores, up to 128.
var resourceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// nameOf returns the name a name-or-ARN value gives for resource type typ.
func nameOf(v, typ string) string {
	if a, err := arn.Parse(v); err == nil && a.Is(arn.Batch, typ) {
		return a.ID()
	}
	return v
}

func (a *API) putResource(ctx context.Context, kind, name string, v any) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.store.PutBatchResource(ctx, metadata.BatchResource{Kind: kind, Name: name, Document: doc})
}

type createComputeEnvironmentInput struct {
	ComputeEnvironmentName string            `json:"computeEnvironmentName"`
	Type                   string            `json:"type"`
	State                  string            `json:"state"`
	UnmanagedvCpus         *int              `json:"unmanagedvCpus"`
	ComputeResources       *ComputeResources `json:"computeResources"`
	ServiceRole            string            `json:"serviceRole"`
	Tags                   map[string]string `json:"tags"`
}

type computeEnvironmentOutput struct {
	ComputeEnvironmentName string `json:"computeEnvironmentName"`
	ComputeEnvironmentArn  string `json:"computeEnvironmentArn"`
}

// createComputeEnvironment: EC2, SPOT, FARGATE and FARGATE_SPOT managed
// environments (maxvCpus is the local capacity) and UNMANAGED ones (the
// host's CPUs, or unmanagedvCpus). The environment is VALID at once.
func (a *API) createComputeEnvironment(ctx context.Context, in *createComputeEnvironmentInput) (*computeEnvironmentOutput, error) {
	c := &computeEnvironment{Name: in.ComputeEnvironmentName, Type: in.Type, State: in.State,
		ComputeResources: in.ComputeResources, UnmanagedvCpus: in.UnmanagedvCpus, ServiceRole: in.ServiceRole,
		Tags: in.Tags, Status: "VALID", StatusReason: "ComputeEnvironment Healthy", Orchestration: "ECS", UUID: launcher.NewUUID()}
	c.ARN = a.scope.ComputeEnvironment(c.Name).String()
	if err := a.authorize(ctx, "CreateComputeEnvironment", c.ARN); err != nil {
		return nil, err
	}
	if !resourceName.MatchString(c.Name) {
		return nil, clientError("Invalid compute environment name %q: up to 128 letters, numbers, hyphens and underscores.", c.Name)
	}
	if c.State == "" {
		c.State = "ENABLED"
	}
	if c.State != "ENABLED" && c.State != "DISABLED" {
		return nil, clientError("Invalid state %q: it must be ENABLED or DISABLED.", c.State)
	}
	switch c.Type {
	case "MANAGED":
		r := c.ComputeResources
		if r == nil {
			return nil, clientError("computeResources is required for a MANAGED compute environment.")
		}
		if !slices.Contains([]string{"EC2", "SPOT", "FARGATE", "FARGATE_SPOT"}, r.Type) {
			return nil, clientError("Invalid computeResources.type %q: it must be EC2, SPOT, FARGATE or FARGATE_SPOT.", r.Type)
		}
		if r.MaxvCpus < 1 {
			return nil, clientError("computeResources.maxvCpus must be at least 1.")
		}
		if r.MinvCpus != nil && (*r.MinvCpus < 0 || *r.MinvCpus > r.MaxvCpus) {
			return nil, clientError("computeResources.minvCpus must be between 0 and maxvCpus.")
		}
		if r.Subnets == nil {
			r.Subnets = []string{}
		}
	case "UNMANAGED":
		if c.ComputeResources != nil {
			return nil, clientError("computeResources must not be given for an UNMANAGED compute environment.")
		}
	default:
		return nil, clientError("Invalid compute environment type %q: it must be MANAGED or UNMANAGED.", c.Type)
	}
	c.EcsClusterArn = "arn:aws:ecs:" + a.cfg.Region + ":" + a.cfg.AccountID + ":cluster/AWSBatch-" + c.Name + "-" + c.UUID
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.envs[c.Name]; ok {
		return nil, clientError("Object already exists")
	}
	if err := a.putResource(ctx, metadata.BatchComputeEnvironment, c.Name, c); err != nil {
		return nil, serverError("create compute environment", err)
	}
	a.envs[c.Name] = c
	return &computeEnvironmentOutput{c.Name, c.ARN}, nil
}

type describeComputeEnvironmentsInput struct {
	ComputeEnvironments []string `json:"computeEnvironments"`
	MaxResults          *int     `json:"maxResults"`
	NextToken           string   `json:"nextToken"`
}

type describeComputeEnvironmentsOutput struct {
	ComputeEnvironments []*computeEnvironment `json:"computeEnvironments"`
	NextToken           string                `json:"nextToken,omitempty"`
}

func (a *API) describeComputeEnvironments(ctx context.Context, in *describeComputeEnvironmentsInput) (*describeComputeEnvironmentsOutput, error) {
	if err := a.authorize(ctx, "DescribeComputeEnvironments", "*"); err != nil {
		return nil, err
	}
	if len(in.ComputeEnvironments) > 100 {
		return nil, clientError("computeEnvironments may name at most 100 environments.")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &describeComputeEnvironmentsOutput{ComputeEnvironments: []*computeEnvironment{}}
	if len(in.ComputeEnvironments) > 0 {
		for _, n := range in.ComputeEnvironments {
			if c, ok := a.envs[nameOf(n, "compute-environment")]; ok {
				out.ComputeEnvironments = append(out.ComputeEnvironments, c)
			}
		}
	} else {
		for _, c := range a.envs {
			out.ComputeEnvironments = append(out.ComputeEnvironments, c)
		}
		sort.Slice(out.ComputeEnvironments, func(i, j int) bool { return out.ComputeEnvironments[i].Name < out.ComputeEnvironments[j].Name })
	}
	page, next, err := paginate(out.ComputeEnvironments, in.MaxResults, in.NextToken, 1000)
	if err != nil {
		return nil, err
	}
	out.ComputeEnvironments, out.NextToken = page, next
	return out, nil
}

type updateComputeEnvironmentInput struct {
	ComputeEnvironment string `json:"computeEnvironment"`
	State              string `json:"state"`
	UnmanagedvCpus     *int   `json:"unmanagedvCpus"`
	ComputeResources   *struct {
		MaxvCpus     *int `json:"maxvCpus"`
		MinvCpus     *int `json:"minvCpus"`
		DesiredvCpus *int `json:"desiredvCpus"`
	} `json:"computeResources"`
	ServiceRole string `json:"serviceRole"`
}

func (a *API) updateComputeEnvironment(ctx context.Context, in *updateComputeEnvironmentInput) (*computeEnvironmentOutput, error) {
	name := nameOf(in.ComputeEnvironment, "compute-environment")
	if err := a.authorize(ctx, "UpdateComputeEnvironment", a.scope.ComputeEnvironment(name).String()); err != nil {
		return nil, err
	}
	if in.State != "" && in.State != "ENABLED" && in.State != "DISABLED" {
		return nil, clientError("Invalid state %q: it must be ENABLED or DISABLED.", in.State)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.envs[name]
	if !ok {
		return nil, clientError("Compute environment %s does not exist.", in.ComputeEnvironment)
	}
	next := *c
	if in.State != "" {
		next.State = in.State
	}
	if in.ServiceRole != "" {
		next.ServiceRole = in.ServiceRole
	}
	if in.UnmanagedvCpus != nil {
		next.UnmanagedvCpus = in.UnmanagedvCpus
	}
	if r := in.ComputeResources; r != nil && next.ComputeResources != nil {
		cr := *next.ComputeResources
		if r.MaxvCpus != nil {
			if *r.MaxvCpus < 1 {
				return nil, clientError("computeResources.maxvCpus must be at least 1.")
			}
			cr.MaxvCpus = *r.MaxvCpus
		}
		if r.MinvCpus != nil {
			cr.MinvCpus = r.MinvCpus
		}
		if r.DesiredvCpus != nil {
			cr.DesiredvCpus = r.DesiredvCpus
		}
		next.ComputeResources = &cr
	}
	if err := a.putResource(ctx, metadata.BatchComputeEnvironment, name, &next); err != nil {
		return nil, serverError("update compute environment", err)
	}
	*c = next
	a.kick()
	return &computeEnvironmentOutput{c.Name, c.ARN}, nil
}

type deleteComputeEnvironmentInput struct {
	ComputeEnvironment string `json:"computeEnvironment"`
}

// deleteComputeEnvironment deletes a DISABLED environment no queue uses.
func (a *API) deleteComputeEnvironment(ctx context.Context, in *deleteComputeEnvironmentInput) (*struct{}, error) {
	name := nameOf(in.ComputeEnvironment, "compute-environment")
	if err := a.authorize(ctx, "DeleteComputeEnvironment", a.scope.ComputeEnvironment(name).String()); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.envs[name]
	if !ok {
		return nil, clientError("Compute environment %s does not exist.", in.ComputeEnvironment)
	}
	if c.State != "DISABLED" {
		return nil, clientError("Cannot delete, found existing JobQueue relationship or the compute environment is not DISABLED: disable %s first.", name)
	}
	for _, q := range a.queues {
		for _, o := range q.Order {
			if o.ComputeEnvironment == c.ARN {
				return nil, clientError("Cannot delete, found existing JobQueue relationship: %s.", q.Name)
			}
		}
	}
	if err := a.store.DeleteBatchResource(ctx, metadata.BatchComputeEnvironment, name); err != nil {
		return nil, serverError("delete compute environment", err)
	}
	delete(a.envs, name)
	return &struct{}{}, nil
}

type createJobQueueInput struct {
	JobQueueName            string                    `json:"jobQueueName"`
	State                   string                    `json:"state"`
	Priority                *int                      `json:"priority"`
	ComputeEnvironmentOrder []ComputeEnvironmentOrder `json:"computeEnvironmentOrder"`
	Tags                    map[string]string         `json:"tags"`
	JobQueueType            string                    `json:"jobQueueType"`
}

type jobQueueOutput struct {
	JobQueueName string `json:"jobQueueName"`
	JobQueueArn  string `json:"jobQueueArn"`
}

// order validates a queue's environments (1 to 3, known, distinct
// orders) and returns them by order with their ARNs. Call with a.mu held.
func (a *API) order(in []ComputeEnvironmentOrder) ([]ComputeEnvironmentOrder, error) {
	if len(in) < 1 || len(in) > 3 {
		return nil, clientError("computeEnvironmentOrder must name 1 to 3 compute environments.")
	}
	out := make([]ComputeEnvironmentOrder, 0, len(in))
	seen := map[int]bool{}
	for _, o := range in {
		c, ok := a.envs[nameOf(o.ComputeEnvironment, "compute-environment")]
		if !ok {
			return nil, clientError("Compute environment %s does not exist.", o.ComputeEnvironment)
		}
		if seen[o.Order] {
			return nil, clientError("computeEnvironmentOrder has two entries with order %d.", o.Order)
		}
		seen[o.Order] = true
		out = append(out, ComputeEnvironmentOrder{Order: o.Order, ComputeEnvironment: c.ARN})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out, nil
}

func (a *API) createJobQueue(ctx context.Context, in *createJobQueueInput) (*jobQueueOutput, error) {
	q := &jobQueue{Name: in.JobQueueName, State: in.State, Status: "VALID", StatusReason: "JobQueue Healthy",
		Tags: in.Tags, JobQueueType: in.JobQueueType}
	q.ARN = a.scope.JobQueue(q.Name).String()
	if err := a.authorize(ctx, "CreateJobQueue", q.ARN); err != nil {
		return nil, err
	}
	if !resourceName.MatchString(q.Name) {
		return nil, clientError("Invalid job queue name %q: up to 128 letters, numbers, hyphens and underscores.", q.Name)
	}
	if q.State == "" {
		q.State = "ENABLED"
	}
	if q.State != "ENABLED" && q.State != "DISABLED" {
		return nil, clientError("Invalid state %q: it must be ENABLED or DISABLED.", q.State)
	}
	if in.Priority == nil || *in.Priority < 0 || *in.Priority > 1000 {
		return nil, clientError("priority is required and must be between 0 and 1000.")
	}
	q.Priority = *in.Priority
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.queues[q.Name]; ok {
		return nil, clientError("Object already exists")
	}
	order, err := a.order(in.ComputeEnvironmentOrder)
	if err != nil {
		return nil, err
	}
	q.Order = order
	q.Seq = a.cfg.Now().UnixNano()
	if err := a.putResource(ctx, metadata.BatchJobQueue, q.Name, q); err != nil {
		return nil, serverError("create job queue", err)
	}
	a.queues[q.Name] = q
	return &jobQueueOutput{q.Name, q.ARN}, nil
}

type describeJobQueuesInput struct {
	JobQueues  []string `json:"jobQueues"`
	MaxResults *int     `json:"maxResults"`
	NextToken  string   `json:"nextToken"`
}

type describeJobQueuesOutput struct {
	JobQueues []*jobQueue `json:"jobQueues"`
	NextToken string      `json:"nextToken,omitempty"`
}

func (a *API) describeJobQueues(ctx context.Context, in *describeJobQueuesInput) (*describeJobQueuesOutput, error) {
	if err := a.authorize(ctx, "DescribeJobQueues", "*"); err != nil {
		return nil, err
	}
	if len(in.JobQueues) > 100 {
		return nil, clientError("jobQueues may name at most 100 queues.")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := &describeJobQueuesOutput{JobQueues: []*jobQueue{}}
	if len(in.JobQueues) > 0 {
		for _, n := range in.JobQueues {
			if q, ok := a.queues[nameOf(n, "job-queue")]; ok {
				out.JobQueues = append(out.JobQueues, q)
			}
		}
	} else {
		for _, q := range a.queues {
			out.JobQueues = append(out.JobQueues, q)
		}
		sort.Slice(out.JobQueues, func(i, j int) bool { return out.JobQueues[i].Name < out.JobQueues[j].Name })
	}
	page, next, err := paginate(out.JobQueues, in.MaxResults, in.NextToken, 1000)
	if err != nil {
		return nil, err
	}
	out.JobQueues, out.NextToken = page, next
	return out, nil
}

type updateJobQueueInput struct {
	JobQueue                string                    `json:"jobQueue"`
	State                   string                    `json:"state"`
	Priority                *int                      `json:"priority"`
	ComputeEnvironmentOrder []ComputeEnvironmentOrder `json:"computeEnvironmentOrder"`
}

func (a *API) updateJobQueue(ctx context.Context, in *updateJobQueueInput) (*jobQueueOutput, error) {
	name := nameOf(in.JobQueue, "job-queue")
	if err := a.authorize(ctx, "UpdateJobQueue", a.scope.JobQueue(name).String()); err != nil {
		return nil, err
	}
	if in.State != "" && in.State != "ENABLED" && in.State != "DISABLED" {
		return nil, clientError("Invalid state %q: it must be ENABLED or DISABLED.", in.State)
	}
	if in.Priority != nil && (*in.Priority < 0 || *in.Priority > 1000) {
		return nil, clientError("priority must be between 0 and 1000.")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q, ok := a.queues[name]
	if !ok {
		return nil, clientError("Job queue %s does not exist.", in.JobQueue)
	}
	next := *q
	if in.State != "" {
		next.State = in.State
	}
	if in.Priority != nil {
		next.Priority = *in.Priority
	}
	if in.ComputeEnvironmentOrder != nil {
		order, err := a.order(in.ComputeEnvironmentOrder)
		if err != nil {
			return nil, err
		}
		next.Order = order
	}
	if err := a.putResource(ctx, metadata.BatchJobQueue, name, &next); err != nil {
		return nil, serverError("update job queue", err)
	}
	*q = next
	a.kick()
	return &jobQueueOutput{q.Name, q.ARN}, nil
}

type deleteJobQueueInput struct {
	JobQueue string `json:"jobQueue"`
}

// deleteJobQueue deletes a DISABLED queue; its jobs that have not
// finished fail, as on AWS.
func (a *API) deleteJobQueue(ctx context.Context, in *deleteJobQueueInput) (*struct{}, error) {
	name := nameOf(in.JobQueue, "job-queue")
	if err := a.authorize(ctx, "DeleteJobQueue", a.scope.JobQueue(name).String()); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	q, ok := a.queues[name]
	if !ok {
		return nil, clientError("Job queue %s does not exist.", in.JobQueue)
	}
	if q.State != "DISABLED" {
		return nil, clientError("Job queue %s must be DISABLED before it is deleted.", name)
	}
	for _, j := range a.active {
		if j.State.Queue == name && j.State.Parent == "" {
			a.terminate(ctx, j, "Job queue deleted")
		}
	}
	if err := a.store.DeleteBatchResource(ctx, metadata.BatchJobQueue, name); err != nil {
		return nil, serverError("delete job queue", err)
	}
	delete(a.queues, name)
	return &struct{}{}, nil
}
