package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/spf13/cobra"
)

func logsCommand() *cobra.Command {
	var rf remoteFlags
	var follow bool
	var cluster string
	cmd := &cobra.Command{
		Use:   "logs [-f] TASK|SERVICE|FUNCTION|JOB",
		Short: "Print the output of a task, a service, a function or a Batch job",
		Long: `Print what a task or a function wrote, from berth's log store (the
CloudWatch Logs API). TASK is a task's id or ARN: its essential container's
awslogs stream is read (GetLogEvents). SERVICE is an ECS service's name:
its running tasks' streams are read, each line after its task's id.
FUNCTION is a Lambda function's
name: its log group /aws/lambda/FUNCTION is read (FilterLogEvents). JOB
is an AWS Batch job's id or ARN: the streams of its attempts in
/aws/batch/job are read, an array's children's each after its index.

With -f the output is followed as it comes: a task's until it stops, a
service's tasks' (those it starts later too) until the service is deleted,
a job's until it ends, a function's until you interrupt it (Ctrl-C).`,
		Example: `  berth logs 0f1e2d3c4b5a69788796a5b4c3d2e1f0
  berth logs -f 0f1e2d3c4b5a69788796a5b4c3d2e1f0
  berth logs -f my-function
  berth logs web
  berth logs -f 6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: rf.completeRunning(true),
		RunE: interruptible(rf.run(func(r *remote, args []string) error {
			if isJobRef(args[0]) {
				return jobLogs(r, jobRefID(args[0]), follow)
			}
			if isTaskRef(args[0]) {
				return taskLogs(r, args[0], cluster, follow)
			}
			if s, err := serviceNamed(r.ctx(), ecs.NewFromConfig(r.client.AWSConfig()), cluster, args[0]); err != nil {
				return err
			} else if s != nil {
				return serviceLogs(r, *s, follow)
			}
			return functionLogs(r, args[0], follow)
		})),
	}
	rf.register(cmd, false)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "follow the output as it comes")
	cmd.Flags().StringVar(&cluster, "cluster", "", "the task's or service's cluster (default: every cluster is searched)")
	return cmd
}

// taskIDPattern is an ECS task id: 32 hex digits.
var taskIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// isTaskRef reports whether s names a task (an id or an ARN) rather than
// a function.
func isTaskRef(s string) bool {
	return taskIDPattern.MatchString(s) || strings.HasPrefix(s, "arn:aws:ecs:")
}

// findTask finds the task ref (an id or ARN) in cluster, or when cluster
// is empty, in the cluster its ARN names or else in every cluster.
func findTask(ctx context.Context, api *ecs.Client, ref, cluster string) (ecstypes.Task, error) {
	clusters := []string{cluster}
	if cluster == "" {
		if parts := strings.Split(ref, "/"); strings.HasPrefix(ref, "arn:") && len(parts) == 3 {
			clusters = []string{parts[1]}
		} else {
			var err error
			if clusters, err = listClusters(ctx, api); err != nil {
				return ecstypes.Task{}, err
			}
		}
	}
	for _, c := range clusters {
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(c), Tasks: []string{ref}})
		var missing *ecstypes.ClusterNotFoundException
		if errors.As(err, &missing) {
			continue
		}
		if err != nil {
			return ecstypes.Task{}, err
		}
		if len(out.Tasks) > 0 {
			return out.Tasks[0], nil
		}
	}
	return ecstypes.Task{}, fmt.Errorf("task %s: no such task", ref)
}

// taskLogs prints the awslogs stream of the task's first essential
// container that logs with awslogs, following it with follow.
func taskLogs(r *remote, ref, cluster string, follow bool) error {
	api := ecs.NewFromConfig(r.client.AWSConfig())
	task, err := findTask(r.ctx(), api, ref, cluster)
	if err != nil {
		return err
	}
	tasks := []*followed{{arn: aws.ToString(task.TaskArn), cluster: aws.ToString(task.ClusterArn)}}
	return logTasks(r, api, aws.ToString(task.TaskDefinitionArn), "task "+taskID(aws.ToString(task.TaskArn)), tasks, nil, follow)
}

// serviceLogs prints the output of the service's running tasks, each
// line after its task's id. With follow it follows them, and the tasks
// the service starts later, until the service is deleted and its tasks
// stopped.
func serviceLogs(r *remote, s ecstypes.Service, follow bool) error {
	api := ecs.NewFromConfig(r.client.AWSConfig())
	arns, err := serviceTasks(r.ctx(), api, s)
	if err != nil {
		return err
	}
	if len(arns) == 0 && !follow {
		return fmt.Errorf("service %s runs no task", aws.ToString(s.ServiceName))
	}
	var tasks []*followed
	for _, arn := range arns {
		tasks = append(tasks, &followed{arn: arn, cluster: aws.ToString(s.ClusterArn)})
	}
	return logTasks(r, api, aws.ToString(s.TaskDefinition), "service "+aws.ToString(s.ServiceName), tasks, &s, follow)
}

// serviceTasks lists the ARNs of the service's running tasks.
func serviceTasks(ctx context.Context, api *ecs.Client, s ecstypes.Service) ([]string, error) {
	var arns []string
	in := &ecs.ListTasksInput{Cluster: s.ClusterArn, ServiceName: s.ServiceName}
	for p := ecs.NewListTasksPaginator(api, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		arns = append(arns, page.TaskArns...)
	}
	return arns, nil
}

// logTasks prints the output of tasks of the task definition def: the
// awslogs stream of its first essential container that logs with
// awslogs. what names them in an error; service, when set, is the
// service they belong to.
func logTasks(r *remote, api *ecs.Client, def, what string, tasks []*followed, service *ecstypes.Service, follow bool) error {
	described, err := api.DescribeTaskDefinition(r.ctx(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(def)})
	if err != nil {
		return err
	}
	var logged *ecstypes.ContainerDefinition
	for i, c := range described.TaskDefinition.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs && (logged == nil || aws.ToBool(c.Essential)) {
			logged = &described.TaskDefinition.ContainerDefinitions[i]
			if aws.ToBool(c.Essential) {
				break
			}
		}
	}
	if logged == nil {
		return fmt.Errorf("%s: no container of it logs with awslogs, so berth keeps no output of it", what)
	}
	opts := logged.LogConfiguration.Options
	f := &follower{r: r, ecs: api, logs: cloudwatchlogs.NewFromConfig(r.client.AWSConfig()),
		group: opts["awslogs-group"], streamPrefix: opts["awslogs-stream-prefix"], container: aws.ToString(logged.Name),
		w: r.cmd.OutOrStdout(), tasks: tasks, tagLines: len(tasks) > 1 || service != nil, service: service}
	if !follow {
		for _, t := range f.tasks {
			if err := f.read(r.ctx(), t); err != nil {
				return err
			}
		}
		return nil
	}
	_, err = f.run()
	if errors.Is(err, context.Canceled) {
		return nil // Ctrl-C ends following; the tasks run on
	}
	return err
}

// jobLogs prints the job's output, following it until it ends with
// follow.
func jobLogs(r *remote, id string, follow bool) error {
	f := &jobFollower{r: r, batch: batch.NewFromConfig(r.client.AWSConfig()),
		logs: cloudwatchlogs.NewFromConfig(r.client.AWSConfig()), w: r.cmd.OutOrStdout()}
	if follow {
		_, _, err := f.run(id)
		if errors.Is(err, context.Canceled) {
			return nil // Ctrl-C ends following; the job runs on
		}
		return err
	}
	f.reset(id)
	job, children, err := f.describe(r.ctx(), id)
	if err != nil {
		return err
	}
	for _, s := range f.streams(job, children) {
		if err := f.readStream(r.ctx(), s); err != nil {
			return err
		}
	}
	return nil
}

// functionLogs prints the function's log group, following it with
// follow until the command is interrupted.
func functionLogs(r *remote, name string, follow bool) error {
	if _, err := lambda.NewFromConfig(r.client.AWSConfig()).GetFunction(r.ctx(), &lambda.GetFunctionInput{FunctionName: aws.String(name)}); err != nil {
		return err
	}
	api := cloudwatchlogs.NewFromConfig(r.client.AWSConfig())
	group := "/aws/lambda/" + name
	var since int64
	seen := map[string]bool{} // the ids of the events at since
	for {
		in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), StartTime: aws.Int64(since)}
		for p := cloudwatchlogs.NewFilterLogEventsPaginator(api, in); p.HasMorePages(); {
			page, err := p.NextPage(r.ctx())
			if err != nil {
				if follow && errors.Is(err, context.Canceled) {
					return nil
				}
				return err
			}
			for _, e := range page.Events {
				at, id := aws.ToInt64(e.Timestamp), aws.ToString(e.EventId)
				if at < since || at == since && seen[id] {
					continue
				}
				if at > since {
					since, seen = at, map[string]bool{}
				}
				seen[id] = true
				fmt.Fprintln(r.cmd.OutOrStdout(), strings.TrimRight(aws.ToString(e.Message), "\n"))
			}
		}
		if !follow {
			return nil
		}
		select {
		case <-r.ctx().Done():
			return nil
		case <-time.After(followInterval):
		}
	}
}
