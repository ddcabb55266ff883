package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/berth-dev/berth/internal/output"
)

// The Batch resources berth run makes when none is named.
const (
	// defaultQueue is the job queue (and its compute environment) berth
	// run creates when --queue is not given.
	defaultQueue = "berth"
	// defaultQueueVCPUs is the default compute environment's maxvCpus:
	// how many vCPUs its jobs may use at once on the Docker host.
	defaultQueueVCPUs = 4
	// batchLogGroup is where Batch keeps its jobs' output.
	batchLogGroup = "/aws/batch/job"
)

// jobIDPattern is a Batch job id, a UUID, or an array child's: UUID:N.
var jobIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:[0-9]+)?$`)

// isJobRef reports whether s names a Batch job (an id or an ARN).
func isJobRef(s string) bool {
	return jobIDPattern.MatchString(s) || strings.HasPrefix(s, "arn:aws:batch:") && strings.Contains(s, ":job/")
}

// jobRefID is the job id of a job's id or ARN.
func jobRefID(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

// checkJob checks the flags of a Batch job: the vCPUs and MiB it asks
// for, an array's size, retries and timeout within Batch's bounds.
func checkJob(l *launch) error {
	if l.payload != "" || l.url {
		return errors.New("--payload and --url are for --as lambda, not --as batch")
	}
	if len(l.ports) > 0 || l.count != 1 || l.stopTimeout != 0 {
		return errors.New("-p, --count and --stop-timeout are for ECS tasks, not --as batch")
	}
	if l.arraySize == 1 || l.arraySize < 0 || l.arraySize > 10000 {
		return fmt.Errorf("--array-size %d: an array job has 2 to 10000 children", l.arraySize)
	}
	if l.retries < 0 || l.retries > 9 {
		return fmt.Errorf("--retries %d: 0 to 9, as Batch attempts a job up to 10 times", l.retries)
	}
	if l.timeout != 0 && l.timeout < time.Minute {
		return fmt.Errorf("--timeout %s: Batch's attempt timeout is at least 60s", l.timeout)
	}
	if l.cpu == "" {
		l.cpu = "1"
	}
	if l.memory == "" {
		l.memory = "512"
	}
	if _, err := mib(l.memory); err != nil {
		return err
	}
	return nil
}

// mib reads --memory as MiB: 512 or 1GB.
func mib(s string) (string, error) {
	digits, unit := strings.CutSuffix(strings.ToUpper(s), "GB")
	n, err := strconv.Atoi(digits)
	switch {
	case err != nil || n < 1 || unit && n > 8192:
		return "", fmt.Errorf("--memory %q: MiB (512) or GB (1GB)", s)
	case unit:
		return strconv.Itoa(n * 1024), nil
	case n < 4:
		return "", fmt.Errorf("--memory %q: at least 4 MiB", s)
	}
	return strconv.Itoa(n), nil
}

// runJob runs the image as an AWS Batch job (--as batch): it finds or
// makes the queue, registers or reuses the job definition, submits the
// job and, unless detached, prints its state changes (stderr) and its
// output (stdout) until it ends, returning its outcome.
func runJob(r *remote, l *launch) error {
	api := batch.NewFromConfig(r.client.AWSConfig())
	queue := l.queue
	if queue == "" {
		queue = defaultQueue
		if err := ensureQueue(r.ctx(), api, queue); err != nil {
			return err
		}
	}
	def, err := ensureJobDefinition(r.ctx(), api, l.jobDefinition())
	if err != nil {
		return err
	}
	in := &batch.SubmitJobInput{JobName: aws.String(l.name), JobQueue: aws.String(queue), JobDefinition: aws.String(def)}
	if l.arraySize > 0 {
		in.ArrayProperties = &types.ArrayProperties{Size: aws.Int32(l.arraySize)}
	}
	for _, id := range l.dependsOn {
		in.DependsOn = append(in.DependsOn, types.JobDependency{JobId: aws.String(jobRefID(id))})
	}
	if l.retries > 0 {
		in.RetryStrategy = &types.RetryStrategy{Attempts: aws.Int32(l.retries + 1)}
	}
	if l.timeout > 0 {
		in.Timeout = &types.JobTimeout{AttemptDurationSeconds: aws.Int32(int32(l.timeout / time.Second))}
	}
	if len(l.args) > 0 {
		in.ContainerOverrides = &types.ContainerOverrides{Command: l.args}
	}
	submitted, err := api.SubmitJob(r.ctx(), in)
	if err != nil {
		return err
	}
	id := aws.ToString(submitted.JobId)
	if l.detach {
		return r.out.Print(submitted, func() error {
			r.out.Linef("%s", id)
			return nil
		})
	}
	f := &jobFollower{r: r, batch: api, logs: cloudwatchlogs.NewFromConfig(r.client.AWSConfig()),
		w: r.cmd.OutOrStdout(), states: r.cmd.ErrOrStderr(), stopOnInterrupt: true}
	if r.out.Format() != output.Table {
		f.w = r.cmd.ErrOrStderr() // stdout is for the document
	}
	job, children, err := f.run(id)
	if err != nil {
		return err
	}
	if err := r.out.Print(&batch.DescribeJobsOutput{Jobs: []types.JobDetail{job}}, func() error { return nil }); err != nil {
		return err
	}
	return jobOutcome(job, children)
}

// ensureQueue makes queue and a compute environment of the same name
// for it, unless the queue exists.
func ensureQueue(ctx context.Context, api *batch.Client, queue string) error {
	queues, err := api.DescribeJobQueues(ctx, &batch.DescribeJobQueuesInput{JobQueues: []string{queue}})
	if err != nil {
		return err
	}
	if len(queues.JobQueues) > 0 {
		return nil
	}
	envs, err := api.DescribeComputeEnvironments(ctx, &batch.DescribeComputeEnvironmentsInput{ComputeEnvironments: []string{queue}})
	if err != nil {
		return err
	}
	if len(envs.ComputeEnvironments) == 0 {
		_, err := api.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
			ComputeEnvironmentName: aws.String(queue), Type: types.CETypeManaged,
			ComputeResources: &types.ComputeResource{Type: types.CRTypeFargate, MaxvCpus: aws.Int32(defaultQueueVCPUs), Subnets: []string{}},
		})
		if err != nil {
			return fmt.Errorf("creating the compute environment %s: %w", queue, err)
		}
	}
	_, err = api.CreateJobQueue(ctx, &batch.CreateJobQueueInput{
		JobQueueName: aws.String(queue), Priority: aws.Int32(1),
		ComputeEnvironmentOrder: []types.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String(queue)}},
	})
	if err != nil {
		return fmt.Errorf("creating the job queue %s: %w", queue, err)
	}
	return nil
}

// jobDefinition is the job definition of the launch: a container of the
// image with its environment, vCPUs and memory.
func (l *launch) jobDefinition() *batch.RegisterJobDefinitionInput {
	memory, _ := mib(l.memory) // checked by checkJob
	c := &types.ContainerProperties{
		Image: aws.String(l.image.String()),
		ResourceRequirements: []types.ResourceRequirement{
			{Type: types.ResourceTypeVcpu, Value: aws.String(l.cpu)},
			{Type: types.ResourceTypeMemory, Value: aws.String(memory)},
		},
	}
	for _, k := range sortedKeys(l.env) {
		c.Environment = append(c.Environment, types.KeyValuePair{Name: aws.String(k), Value: aws.String(l.env[k])})
	}
	return &batch.RegisterJobDefinitionInput{JobDefinitionName: aws.String(l.name), Type: types.JobDefinitionTypeContainer, ContainerProperties: c}
}

// ensureJobDefinition returns the ARN of the newest active revision of
// the definition when berth run registered it with the same input, and
// else registers a new revision.
func ensureJobDefinition(ctx context.Context, api *batch.Client, in *batch.RegisterJobDefinitionInput) (string, error) {
	digest, err := inputDigest(in)
	if err != nil {
		return "", err
	}
	var defs []types.JobDefinition
	desc := &batch.DescribeJobDefinitionsInput{JobDefinitionName: in.JobDefinitionName, Status: aws.String("ACTIVE")}
	for p := batch.NewDescribeJobDefinitionsPaginator(api, desc); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		defs = append(defs, page.JobDefinitions...)
	}
	if len(defs) > 0 {
		newest := slices.MaxFunc(defs, func(a, b types.JobDefinition) int { return int(aws.ToInt32(a.Revision) - aws.ToInt32(b.Revision)) })
		if newest.Tags[runTag] == digest {
			return aws.ToString(newest.JobDefinitionArn), nil
		}
	}
	in.Tags = map[string]string{runTag: digest}
	registered, err := api.RegisterJobDefinition(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(registered.JobDefinitionArn), nil
}

// jobFollower prints a job's state changes and its output (each of an
// array's children's, after its index) until it ends.
type jobFollower struct {
	r     *remote
	batch *batch.Client
	logs  *cloudwatchlogs.Client
	// w takes the output; states the state changes, when not nil.
	w, states io.Writer
	// stopOnInterrupt terminates the job when the command is
	// interrupted: berth run's, not berth logs -f's.
	stopOnInterrupt bool
	id              string
	// seen are the statuses printed, by job id; read the streams read,
	// by name.
	seen map[string]types.JobStatus
	read map[string]*stream
}

// stream is one log stream being read: the token of where it was read
// to, and the prefix of its lines.
type stream struct {
	name, prefix string
	token        *string
}

// run follows the job id until it ends and returns it and, for an
// array, its children as they ended.
func (f *jobFollower) run(id string) (types.JobDetail, []types.JobDetail, error) {
	f.reset(id)
	ctx := f.r.ctx()
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		// The states first, then the logs: a job seen ended has written
		// all it will by the time its log is read.
		job, children, err := f.describe(ctx, id)
		if err != nil {
			return job, nil, f.interrupted(err)
		}
		for _, s := range f.streams(job, children) {
			if err := f.readStream(ctx, s); err != nil {
				return job, nil, f.interrupted(err)
			}
		}
		if ended(job.Status) {
			return job, children, nil
		}
		select {
		case <-ctx.Done():
			return job, nil, f.interrupted(ctx.Err())
		case <-tick.C:
		}
	}
}

// reset makes the follower follow the job id from its start.
func (f *jobFollower) reset(id string) {
	f.id, f.seen, f.read = id, map[string]types.JobStatus{}, map[string]*stream{}
}

// ended reports whether a job in status s has ended.
func ended(s types.JobStatus) bool {
	return s == types.JobStatusSucceeded || s == types.JobStatusFailed
}

// describe reads the job and an array's children, printing each new
// status.
func (f *jobFollower) describe(ctx context.Context, id string) (types.JobDetail, []types.JobDetail, error) {
	out, err := f.batch.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: []string{id}})
	if err != nil {
		return types.JobDetail{}, nil, err
	}
	if len(out.Jobs) == 0 {
		return types.JobDetail{}, nil, fmt.Errorf("job %s: no such job", id)
	}
	job := out.Jobs[0]
	var children []types.JobDetail
	if a := job.ArrayProperties; a != nil && aws.ToInt32(a.Size) > 0 {
		var ids []string
		for i := range aws.ToInt32(a.Size) {
			ids = append(ids, fmt.Sprintf("%s:%d", id, i))
		}
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), 100)]
			ids = ids[len(chunk):]
			out, err := f.batch.DescribeJobs(ctx, &batch.DescribeJobsInput{Jobs: chunk})
			if err != nil {
				return job, nil, err
			}
			children = append(children, out.Jobs...)
		}
	}
	for _, j := range append([]types.JobDetail{job}, children...) {
		jid := aws.ToString(j.JobId)
		if f.seen[jid] == j.Status {
			continue
		}
		f.seen[jid] = j.Status
		if f.states == nil {
			continue
		}
		line := fmt.Sprintf("job %s %s: %s", aws.ToString(j.JobName), jid, j.Status)
		if j.Status == types.JobStatusFailed && j.StatusReason != nil {
			line += " (" + aws.ToString(j.StatusReason) + ")"
		}
		fmt.Fprintln(f.states, line)
	}
	return job, children, nil
}

// streams are the log streams of the job's attempts, or of its
// children's: each attempt's own, then the running one's.
func (f *jobFollower) streams(job types.JobDetail, children []types.JobDetail) []*stream {
	jobs := []types.JobDetail{job}
	if len(children) > 0 {
		jobs = children
	}
	var out []*stream
	for _, j := range jobs {
		prefix := ""
		if j.ArrayProperties != nil && j.ArrayProperties.Index != nil {
			prefix = fmt.Sprintf("[%d] ", *j.ArrayProperties.Index)
		}
		var of []string
		for _, a := range j.Attempts {
			if a.Container != nil && a.Container.LogStreamName != nil {
				of = append(of, *a.Container.LogStreamName)
			}
		}
		if j.Container != nil && j.Container.LogStreamName != nil {
			of = append(of, *j.Container.LogStreamName)
		}
		for _, name := range of {
			s, ok := f.read[name]
			if !ok {
				s = &stream{name: name, prefix: prefix}
				f.read[name] = s
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// readStream prints what is new in one of the job's log streams.
func (f *jobFollower) readStream(ctx context.Context, s *stream) error {
	return readLog(ctx, f.logs, batchLogGroup, s.name, &s.token, func(line string) {
		fmt.Fprintln(f.w, s.prefix+line)
	})
}

// interrupted terminates the job when following ended because the
// command was interrupted (Ctrl-C); other failures leave it be.
func (f *jobFollower) interrupted(err error) error {
	if !errors.Is(err, context.Canceled) || !f.stopOnInterrupt {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(f.r.ctx()), 30*time.Second)
	defer cancel()
	if _, err := f.batch.TerminateJob(ctx, &batch.TerminateJobInput{JobId: aws.String(f.id), Reason: aws.String("berth run was interrupted")}); err != nil {
		return fmt.Errorf("interrupted, and terminating job %s failed: %w", f.id, f.r.client.Explain(err))
	}
	return fmt.Errorf("interrupted; terminated job %s", f.id)
}

// jobOutcome is berth run's outcome for a job that ended: nil when it
// succeeded, the exit code of its (first failed child's) container as an
// exitStatus, and an error saying why when it failed without one.
func jobOutcome(job types.JobDetail, children []types.JobDetail) error {
	if job.Status == types.JobStatusSucceeded {
		return nil
	}
	failed := job
	for _, c := range children {
		if c.Status == types.JobStatusFailed {
			failed = c
			break
		}
	}
	if c := failed.Container; c != nil && aws.ToInt32(c.ExitCode) != 0 {
		return exitStatus(*c.ExitCode)
	}
	return fmt.Errorf("job %s failed: %s", aws.ToString(failed.JobId), aws.ToString(failed.StatusReason))
}
