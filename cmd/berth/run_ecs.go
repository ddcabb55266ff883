package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/output"
)

// The task definitions berth run registers.
const (
	// runTag is the tag on a task definition berth run registered, whose
	// value is a digest of what it was registered with: a run with the
	// same flags reuses it instead of adding a revision.
	runTag = "berth:run"
	// runStreamPrefix is the awslogs stream prefix of their containers.
	runStreamPrefix = "berth"
	// followInterval is how often a followed task's log and state are
	// read.
	followInterval = 500 * time.Millisecond
)

// runTask runs the image as ECS tasks (--as fargate or ecs): it registers
// or reuses the task definition, runs the tasks and, unless detached,
// prints their output until they stop and returns the exit code of the
// first one whose essential container failed.
func runTask(r *remote, l *launch) error {
	if l.service != "" {
		return runService(r, l)
	}
	api := ecs.NewFromConfig(r.client.AWSConfig())
	def, err := ensureTaskDefinition(r.ctx(), api, l.taskDefinition(r.client.AWSConfig().Region))
	if err != nil {
		return err
	}
	in := &ecs.RunTaskInput{
		TaskDefinition: aws.String(def),
		Count:          aws.Int32(l.count),
		LaunchType:     types.LaunchTypeEc2,
		StartedBy:      aws.String("berth run"),
	}
	if l.as == "fargate" {
		in.LaunchType = types.LaunchTypeFargate
	}
	if l.cluster != "" {
		in.Cluster = aws.String(l.cluster)
	}
	if len(l.args) > 0 {
		in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String(l.name), Command: l.args}}}
	}
	started, err := api.RunTask(r.ctx(), in)
	if err != nil {
		return err
	}
	if len(started.Failures) > 0 {
		f := started.Failures[0]
		return fmt.Errorf("RunTask: %s: %s", aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	if l.detach {
		return r.out.Print(started, func() error {
			for _, t := range started.Tasks {
				r.out.Linef("%s", taskID(aws.ToString(t.TaskArn)))
			}
			return nil
		})
	}
	f := &follower{r: r, ecs: api, logs: cloudwatchlogs.NewFromConfig(r.client.AWSConfig()),
		group: "/ecs/" + l.name, streamPrefix: runStreamPrefix, container: l.name,
		w: r.cmd.OutOrStdout(), tagLines: len(started.Tasks) > 1, stopOnInterrupt: true}
	if r.out.Format() != output.Table {
		f.w = r.cmd.ErrOrStderr() // stdout is for the document
	}
	for _, t := range started.Tasks {
		f.tasks = append(f.tasks, &followed{arn: aws.ToString(t.TaskArn), cluster: aws.ToString(t.ClusterArn)})
	}
	stopped, err := f.run()
	if err != nil {
		return err
	}
	if err := r.out.Print(&ecs.DescribeTasksOutput{Tasks: stopped}, func() error { return nil }); err != nil {
		return err
	}
	return taskOutcome(stopped, l.name)
}

// taskDefinition is the task definition of the launch: one essential
// container of the image, logging to /ecs/<name> through awslogs.
func (l *launch) taskDefinition(region string) *ecs.RegisterTaskDefinitionInput {
	c := types.ContainerDefinition{
		Name:      aws.String(l.name),
		Image:     aws.String(l.image.String()),
		Essential: aws.Bool(true),
		LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": "/ecs/" + l.name, "awslogs-region": region,
			"awslogs-stream-prefix": runStreamPrefix, "awslogs-create-group": "true",
		}},
	}
	if l.stopTimeout > 0 {
		c.StopTimeout = aws.Int32(l.stopTimeout)
	}
	for _, k := range sortedKeys(l.env) {
		c.Environment = append(c.Environment, types.KeyValuePair{Name: aws.String(k), Value: aws.String(l.env[k])})
	}
	for _, p := range l.ports {
		c.PortMappings = append(c.PortMappings, types.PortMapping{HostPort: aws.Int32(p.host), ContainerPort: aws.Int32(p.container), Protocol: types.TransportProtocolTcp})
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(l.name),
		ContainerDefinitions:    []types.ContainerDefinition{c},
		NetworkMode:             types.NetworkModeBridge,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityEc2},
	}
	if l.as == "fargate" {
		in.NetworkMode = types.NetworkModeAwsvpc
		in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	}
	if l.cpu != "" {
		in.Cpu = aws.String(l.cpu)
	}
	in.Memory = aws.String(l.memory)
	if l.memory == "" {
		in.Memory = aws.String("512") // EC2 tasks need memory somewhere
	}
	return in
}

// ensureTaskDefinition returns the ARN of the family's latest revision
// when berth run registered it with the same input, and else registers a
// new revision.
func ensureTaskDefinition(ctx context.Context, api *ecs.Client, in *ecs.RegisterTaskDefinitionInput) (string, error) {
	digest, err := inputDigest(in)
	if err != nil {
		return "", err
	}
	latest, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: in.Family, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	var unknown *types.ClientException
	switch {
	case err == nil:
		for _, t := range latest.Tags {
			if aws.ToString(t.Key) == runTag && aws.ToString(t.Value) == digest {
				return aws.ToString(latest.TaskDefinition.TaskDefinitionArn), nil
			}
		}
	case !errors.As(err, &unknown): // ClientException: no such family yet
		return "", err
	}
	in.Tags = []types.Tag{{Key: aws.String(runTag), Value: aws.String(digest)}}
	registered, err := api.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", err
	}
	return aws.ToString(registered.TaskDefinition.TaskDefinitionArn), nil
}

// inputDigest is the digest of a registration's input that berth run
// tags what it registers with, so that the same flags reuse it.
func inputDigest(in any) (string, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

// taskID is the id at the end of a task's ARN.
func taskID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// follower prints the awslogs output of one container of tasks until
// they stop: the stream <streamPrefix>/<container>/<task id> of group.
type follower struct {
	r                              *remote
	ecs                            *ecs.Client
	logs                           *cloudwatchlogs.Client
	group, streamPrefix, container string
	tasks                          []*followed
	w                              io.Writer
	// tagLines puts the task's id before each line, when there are
	// several.
	tagLines bool
	// stopOnInterrupt stops the tasks when the command is interrupted:
	// berth run's, not berth logs -f's.
	stopOnInterrupt bool
	// service, when set, is the service whose tasks are followed: the
	// tasks it starts later are followed too, and following ends only
	// once it is deleted and its tasks stopped.
	service *types.Service
	// serviceGone is set once the service was seen deleted.
	serviceGone bool
}

// followed is one task being followed: where its log was read to, and
// whether it stopped.
type followed struct {
	arn, cluster string
	token        *string
	stopped      *types.Task
}

// run follows the tasks until all stopped and returns them as they
// stopped. When the command is interrupted it stops them.
func (f *follower) run() ([]types.Task, error) {
	ctx := f.r.ctx()
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		// The state first, then the log: a task seen stopped has written
		// all it will by the time its log is read.
		if err := f.discover(ctx); err != nil {
			return nil, f.interrupted(err)
		}
		if err := f.states(ctx); err != nil {
			return nil, f.interrupted(err)
		}
		done := f.service == nil || f.serviceGone
		for _, t := range f.tasks {
			if err := f.read(ctx, t); err != nil {
				return nil, f.interrupted(err)
			}
			done = done && t.stopped != nil
		}
		if done {
			stopped := make([]types.Task, len(f.tasks))
			for i, t := range f.tasks {
				stopped[i] = *t.stopped
			}
			return stopped, nil
		}
		select {
		case <-ctx.Done():
			return nil, f.interrupted(ctx.Err())
		case <-tick.C:
		}
	}
}

// discover adds the tasks the followed service started since it last
// looked, and learns whether the service was deleted.
func (f *follower) discover(ctx context.Context) error {
	if f.service == nil || f.serviceGone {
		return nil
	}
	described, err := f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: f.service.ClusterArn, Services: []string{aws.ToString(f.service.ServiceArn)}})
	if err != nil {
		return err
	}
	if len(described.Services) == 0 || aws.ToString(described.Services[0].Status) != "ACTIVE" {
		f.serviceGone = true
		return nil
	}
	arns, err := serviceTasks(ctx, f.ecs, *f.service)
	if err != nil {
		return err
	}
	for _, arn := range arns {
		if !slices.ContainsFunc(f.tasks, func(t *followed) bool { return t.arn == arn }) {
			f.tasks = append(f.tasks, &followed{arn: arn, cluster: aws.ToString(f.service.ClusterArn)})
		}
	}
	return nil
}

// states learns which tasks stopped.
func (f *follower) states(ctx context.Context) error {
	byCluster := map[string][]string{}
	for _, t := range f.tasks {
		if t.stopped == nil {
			byCluster[t.cluster] = append(byCluster[t.cluster], t.arn)
		}
	}
	for cluster, arns := range byCluster {
		out, err := f.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
		if err != nil {
			return err
		}
		for _, task := range out.Tasks {
			if aws.ToString(task.LastStatus) != "STOPPED" {
				continue
			}
			for _, t := range f.tasks {
				if t.arn == aws.ToString(task.TaskArn) {
					t.stopped = &task
				}
			}
		}
	}
	return nil
}

// read prints what is new in the task's log stream.
func (f *follower) read(ctx context.Context, t *followed) error {
	id := taskID(t.arn)
	return readLog(ctx, f.logs, f.group, f.streamPrefix+"/"+f.container+"/"+id, &t.token, func(line string) {
		if f.tagLines {
			line = id[:min(len(id), 12)] + " | " + line
		}
		fmt.Fprintln(f.w, line)
	})
}

// readLog passes each line that is new in a log stream since *token to
// print, and moves *token on. A stream does not exist until its
// container first writes: that is nothing new.
func readLog(ctx context.Context, logs *cloudwatchlogs.Client, group, stream string, token **string, print func(string)) error {
	for {
		out, err := logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName:  aws.String(group),
			LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true),
			NextToken:     *token,
		})
		var absent *logtypes.ResourceNotFoundException
		if errors.As(err, &absent) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range out.Events {
			print(strings.TrimRight(aws.ToString(e.Message), "\n"))
		}
		same := aws.ToString(out.NextForwardToken) == aws.ToString(*token)
		*token = out.NextForwardToken
		if same || len(out.Events) == 0 {
			return nil
		}
	}
}

// interrupted stops the tasks when following ended because the command
// was interrupted (Ctrl-C), as docker run stops its container; other
// failures leave them running.
func (f *follower) interrupted(err error) error {
	if !errors.Is(err, context.Canceled) || !f.stopOnInterrupt {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(f.r.ctx()), 30*time.Second)
	defer cancel()
	var ids []string
	for _, t := range f.tasks {
		if t.stopped != nil {
			continue
		}
		if _, err := f.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(t.cluster), Task: aws.String(t.arn), Reason: aws.String("berth run was interrupted")}); err != nil {
			return fmt.Errorf("interrupted, and stopping task %s failed: %w", taskID(t.arn), f.r.client.Explain(err))
		}
		ids = append(ids, taskID(t.arn))
	}
	return fmt.Errorf("interrupted; stopped task %s", strings.Join(ids, ", "))
}

// taskOutcome is berth run's outcome for tasks that stopped: nil when
// every essential container exited 0, the first other exit code as an
// exitStatus, and an error saying why when a task stopped without one
// (its image could not be pulled, say).
func taskOutcome(tasks []types.Task, container string) error {
	for _, t := range tasks {
		var code *int32
		for _, c := range t.Containers {
			if aws.ToString(c.Name) == container {
				code = c.ExitCode
			}
		}
		switch {
		case code == nil:
			return fmt.Errorf("task %s stopped (%s): %s", taskID(aws.ToString(t.TaskArn)), t.StopCode, aws.ToString(t.StoppedReason))
		case *code != 0:
			return exitStatus(*code)
		}
	}
	return nil
}
