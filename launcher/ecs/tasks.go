package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

type runTaskInput struct {
	Cluster                  string                     `json:"cluster"`
	TaskDefinition           string                     `json:"taskDefinition"`
	Count                    *int                       `json:"count"`
	LaunchType               string                     `json:"launchType"`
	CapacityProviderStrategy []capacityProviderStrategy `json:"capacityProviderStrategy"`
	Overrides                *TaskOverride              `json:"overrides"`
	StartedBy                string                     `json:"startedBy"`
	Group                    string                     `json:"group"`
	ClientToken              string                     `json:"clientToken"`
	Tags                     []Tag                      `json:"tags"`
	// networkConfiguration, platformVersion, placement and the like are
	// accepted and have no local meaning.
	NetworkConfiguration json.RawMessage `json:"networkConfiguration"`
}

type capacityProviderStrategy struct {
	CapacityProvider string `json:"capacityProvider"`
}

// requestedLaunchType is the launch type a RunTask or CreateService asks
// for, by name or by capacity provider ("" when neither says).
func requestedLaunchType(launchType string, cps []capacityProviderStrategy) (string, error) {
	if len(cps) == 0 {
		return launchType, nil
	}
	if launchType != "" {
		return "", invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	switch cps[0].CapacityProvider {
	case "FARGATE", "FARGATE_SPOT":
		return launchFargate, nil
	}
	return launchEC2, nil
}

// checkLaunchTypeFilter refuses a launchType filter of a list call that
// names no launch type.
func checkLaunchTypeFilter(lt string) error {
	switch lt {
	case "", launchEC2, launchFargate, "EXTERNAL", "MANAGED_INSTANCES":
		return nil
	}
	return invalidParameter("Invalid launchType %q.", lt)
}

type tasksOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []failure `json:"failures"`
}

// runTask starts tasks of a task definition; they go on as DescribeTasks
// shows. A task whose image cannot be pulled is started and stops with
// TaskFailedToStart, as on ECS.
func (a *API) runTask(ctx context.Context, in *runTaskInput) (*tasksOutput, error) {
	if in.TaskDefinition == "" {
		return nil, invalidParameter("TaskDefinition cannot be empty.")
	}
	count := 1
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParameter("count must be between 1 and 10.")
	}
	if len(in.StartedBy) > 128 {
		return nil, invalidParameter("startedBy may be at most 128 characters.")
	}
	if len(in.Group) > 255 {
		return nil, invalidParameter("group may be at most 255 characters.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	launchType, err := requestedLaunchType(in.LaunchType, in.CapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	cluster, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	stored, ok, err := a.taskDefinition(ctx, in.TaskDefinition)
	if err != nil {
		return nil, serverError("RunTask", err)
	}
	if !ok {
		return nil, invalidParameter("TaskDefinition not found.")
	}
	if err := a.access.AuthorizeAction(ctx, "ecs:RunTask", a.arns.taskDefinition(stored.Family, stored.Revision)); err != nil {
		return nil, err
	}
	if stored.Status != "ACTIVE" {
		return nil, invalidParameter("TaskDefinition is inactive")
	}
	td, err := a.wireTaskDefinition(stored)
	if err != nil {
		return nil, serverError("RunTask", err)
	}
	run := RunInput{Cluster: cluster, Definition: td, Count: count, LaunchType: launchType,
		Group: in.Group, StartedBy: in.StartedBy, Caller: a.access.Caller(ctx), ClientToken: in.ClientToken, Tags: in.Tags}
	if in.Overrides != nil {
		run.Overrides = *in.Overrides
	}
	tasks, err := a.runner.RunTasks(ctx, run)
	if err != nil {
		return nil, serverError("RunTask", err)
	}
	return &tasksOutput{Tasks: tasks, Failures: []failure{}}, nil
}

type stopTaskInput struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
	Reason  string `json:"reason"`
}

type taskOutput struct {
	Task Task `json:"task"`
}

// stopTask stops a task: SIGTERM to its containers, SIGKILL after their
// stopTimeout. The answer shows it with desiredStatus STOPPED.
func (a *API) stopTask(ctx context.Context, in *stopTaskInput) (*taskOutput, error) {
	if in.Task == "" {
		return nil, invalidParameter("Task cannot be empty.")
	}
	if len(in.Reason) > 255 {
		return nil, invalidParameter("reason may be at most 255 characters.")
	}
	cluster, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	taskCluster, id, ok := a.arns.taskRef(in.Task)
	if !ok || (taskCluster != "" && taskCluster != cluster) {
		return nil, invalidParameter("The referenced task was not found.")
	}
	if err := a.access.AuthorizeAction(ctx, "ecs:StopTask", a.arns.task(cluster, id)); err != nil {
		return nil, err
	}
	reason := in.Reason
	if reason == "" {
		reason = "Task stopped by user"
	}
	t, err := a.runner.StopTask(ctx, cluster, id, StopUserInitiated, reason)
	if err != nil {
		return nil, serverError("StopTask", err)
	}
	return &taskOutput{t}, nil
}

type describeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

// describeTasks describes up to 100 tasks by id or ARN; those the index
// does not have (any more) are failures, MISSING.
func (a *API) describeTasks(ctx context.Context, in *describeTasksInput) (*tasksOutput, error) {
	if len(in.Tasks) == 0 {
		return nil, invalidParameter("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParameter("Tasks cannot have more than 100 elements.")
	}
	cluster, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := &tasksOutput{Tasks: []Task{}, Failures: []failure{}}
	for _, ref := range in.Tasks {
		missing := failure{Arn: ref, Reason: "MISSING"}
		taskCluster, id, ok := a.arns.taskRef(ref)
		if !ok || (taskCluster != "" && taskCluster != cluster) {
			out.Failures = append(out.Failures, missing)
			continue
		}
		arn := a.arns.task(cluster, id)
		if err := a.access.AuthorizeAction(ctx, "ecs:DescribeTasks", arn); err != nil {
			return nil, err
		}
		t, err := a.runner.Task(ctx, id)
		if errors.Is(err, metadata.ErrTaskUnknown) || (err == nil && t.ClusterArn != a.arns.cluster(cluster)) {
			missing.Arn = arn
			out.Failures = append(out.Failures, missing)
			continue
		}
		if err != nil {
			return nil, serverError("DescribeTasks", err)
		}
		if !withTags {
			t.Tags = nil
		}
		out.Tasks = append(out.Tasks, t)
	}
	return out, nil
}

type listTasksInput struct {
	Cluster           string  `json:"cluster"`
	ContainerInstance string  `json:"containerInstance"`
	Family            string  `json:"family"`
	StartedBy         string  `json:"startedBy"`
	ServiceName       string  `json:"serviceName"`
	DesiredStatus     string  `json:"desiredStatus"`
	LaunchType        string  `json:"launchType"`
	MaxResults        *int    `json:"maxResults"`
	NextToken         *string `json:"nextToken"`
}

type listTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken *string  `json:"nextToken,omitempty"`
}

// listTasks lists a cluster's tasks by id: those desired RUNNING unless
// desiredStatus says otherwise (stopped tasks stay listed for about an
// hour).
func (a *API) listTasks(ctx context.Context, in *listTasksInput) (*listTasksOutput, error) {
	cluster, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecs:ListTasks", a.arns.cluster(cluster)); err != nil {
		return nil, err
	}
	n, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	desired := in.DesiredStatus
	switch desired {
	case "":
		desired = StatusRunning
	case StatusRunning, StatusPending, StatusStopped:
	default:
		return nil, invalidParameter("Invalid desiredStatus %q: it must be RUNNING, PENDING or STOPPED.", in.DesiredStatus)
	}
	if err := checkLaunchTypeFilter(in.LaunchType); err != nil {
		return nil, err
	}
	q := metadata.TaskQuery{Cluster: cluster, Family: in.Family, StartedBy: in.StartedBy, DesiredStatus: desired,
		StoppedSince: a.cfg.Now().Add(-a.runner.cfg.StoppedRetention), Limit: n + 1}
	if in.ServiceName != "" {
		q.Group = ServiceGroup(in.ServiceName)
	}
	binding := awsjson.Binding("ListTasks", cluster, in.Family, in.StartedBy, in.ServiceName, desired, in.LaunchType)
	if in.NextToken != nil {
		if err := a.tokens.Decode(*in.NextToken, binding, &q.After); err != nil {
			return nil, err
		}
	}
	out := &listTasksOutput{TaskArns: []string{}}
	for len(out.TaskArns) < n {
		page, err := a.store.Tasks(ctx, q)
		if err != nil {
			return nil, serverError("ListTasks", err)
		}
		for _, mt := range page {
			if len(out.TaskArns) == n {
				token, err := a.tokens.Encode(binding, q.After)
				if err != nil {
					return nil, err
				}
				out.NextToken = &token
				return out, nil
			}
			q.After = mt.ID
			if in.LaunchType != "" && !a.launchedAs(mt, in.LaunchType) {
				continue
			}
			out.TaskArns = append(out.TaskArns, a.arns.task(cluster, mt.ID))
		}
		if len(page) < q.Limit {
			break
		}
	}
	return out, nil
}

// launchedAs reports whether a stored task has launch type lt.
func (a *API) launchedAs(mt metadata.Task, lt string) bool {
	var rec struct {
		Task struct {
			LaunchType string `json:"launchType"`
		} `json:"task"`
	}
	return json.Unmarshal(mt.Document, &rec) == nil && rec.Task.LaunchType == lt
}
