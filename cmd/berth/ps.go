package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	batchtypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/output"
)

func psCommand() *cobra.Command {
	var rf remoteFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the tasks and functions berth runs",
		Long: `List what berth's launcher runs, in one table: ECS tasks and services of
every cluster (ListClusters, ListTasks, DescribeTasks, ListServices,
DescribeServices), Lambda functions (ListFunctions) and the AWS Batch
jobs of every queue that have not ended (DescribeJobQueues, ListJobs).
Tasks that stopped and jobs that ended are listed too with --all, for as
long as ECS and Batch keep them. A service's status is its running and
desired counts and the URL of its listener. With -o json the document is
{"tasks": [...], "functions": [...], "services": [...], "jobs": [...]},
each in its API's shape.`,
		Example: `  berth ps
  berth ps --all
  berth ps -o json | jq -r '.tasks[].taskArn'
  berth ps -o json | jq -r '.services[] | .serviceName + " " + .loadBalancers[0].loadBalancerName'`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: rf.run(func(r *remote, _ []string) error {
			tasks, err := listTasks(r.ctx(), ecs.NewFromConfig(r.client.AWSConfig()), all)
			if err != nil {
				return err
			}
			functions, err := listFunctions(r.ctx(), lambda.NewFromConfig(r.client.AWSConfig()))
			if err != nil {
				return err
			}
			services, err := listServices(r.ctx(), ecs.NewFromConfig(r.client.AWSConfig()))
			if err != nil {
				return err
			}
			jobs, err := listJobs(r.ctx(), batch.NewFromConfig(r.client.AWSConfig()), all)
			if err != nil {
				return err
			}
			// Tasks and services as ECS writes them, functions as Lambda
			// does, jobs as Batch's ListJobs.
			doc := struct {
				Tasks     []ecstypes.Task
				Functions any
				Services  []ecstypes.Service
				Jobs      []batchtypes.JobSummary
			}{append([]ecstypes.Task{}, tasks...), lambdaShape(append([]lambdatypes.FunctionConfiguration{}, functions...)),
				append([]ecstypes.Service{}, services...), append([]batchtypes.JobSummary{}, jobs...)}
			return r.out.Print(doc, func() error {
				images := map[string]string{}
				for _, f := range functions {
					got, err := lambda.NewFromConfig(r.client.AWSConfig()).GetFunction(r.ctx(), &lambda.GetFunctionInput{FunctionName: f.FunctionName})
					if err == nil && got.Code != nil {
						images[aws.ToString(f.FunctionName)] = aws.ToString(got.Code.ImageUri)
					}
				}
				return psTable(r.out, psRows{tasks, functions, images, services, jobs})
			})
		}),
	}
	rf.register(cmd, true)
	cmd.Flags().BoolVarP(&all, "all", "a", false, "list stopped tasks and ended jobs too")
	return cmd
}

// listTasks lists the tasks of every cluster: those meant to run, and
// with all those stopped.
func listTasks(ctx context.Context, api *ecs.Client, all bool) ([]ecstypes.Task, error) {
	clusters, err := listClusters(ctx, api)
	if err != nil {
		return nil, err
	}
	statuses := []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning}
	if all {
		statuses = append(statuses, ecstypes.DesiredStatusStopped)
	}
	var tasks []ecstypes.Task
	for _, cluster := range clusters {
		var arns []string
		for _, status := range statuses {
			for p := ecs.NewListTasksPaginator(api, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: status}); p.HasMorePages(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					return nil, err
				}
				arns = append(arns, page.TaskArns...)
			}
		}
		for len(arns) > 0 {
			batch := arns[:min(len(arns), 100)]
			arns = arns[len(batch):]
			out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: batch})
			if err != nil {
				return nil, err
			}
			tasks = append(tasks, out.Tasks...)
		}
	}
	return tasks, nil
}

// listJobs lists the jobs of every queue that have not ended, and with
// all those that ended too, for as long as Batch keeps them.
func listJobs(ctx context.Context, api *batch.Client, all bool) ([]batchtypes.JobSummary, error) {
	statuses := []batchtypes.JobStatus{batchtypes.JobStatusSubmitted, batchtypes.JobStatusPending,
		batchtypes.JobStatusRunnable, batchtypes.JobStatusStarting, batchtypes.JobStatusRunning}
	if all {
		statuses = append(statuses, batchtypes.JobStatusSucceeded, batchtypes.JobStatusFailed)
	}
	var jobs []batchtypes.JobSummary
	for q := batch.NewDescribeJobQueuesPaginator(api, &batch.DescribeJobQueuesInput{}); q.HasMorePages(); {
		queues, err := q.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, queue := range queues.JobQueues {
			for _, status := range statuses {
				in := &batch.ListJobsInput{JobQueue: queue.JobQueueName, JobStatus: status}
				for p := batch.NewListJobsPaginator(api, in); p.HasMorePages(); {
					page, err := p.NextPage(ctx)
					if err != nil {
						return nil, err
					}
					jobs = append(jobs, page.JobSummaryList...)
				}
			}
		}
	}
	return jobs, nil
}

// listClusters lists the ARNs of every cluster.
func listClusters(ctx context.Context, api *ecs.Client) ([]string, error) {
	var clusters []string
	for p := ecs.NewListClustersPaginator(api, &ecs.ListClustersInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		clusters = append(clusters, page.ClusterArns...)
	}
	return clusters, nil
}

// listFunctions lists every function.
func listFunctions(ctx context.Context, api *lambda.Client) ([]lambdatypes.FunctionConfiguration, error) {
	var functions []lambdatypes.FunctionConfiguration
	for p := lambda.NewListFunctionsPaginator(api, &lambda.ListFunctionsInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		functions = append(functions, page.Functions...)
	}
	return functions, nil
}

// psRows are what berth ps lists. images are the functions' image URIs
// by name.
type psRows struct {
	tasks     []ecstypes.Task
	functions []lambdatypes.FunctionConfiguration
	images    map[string]string
	services  []ecstypes.Service
	jobs      []batchtypes.JobSummary
}

// psTable prints tasks, functions, services and jobs in one table.
func psTable(out *output.Printer, rows psRows) error {
	t := output.NewTable("KIND", "NAME", "IMAGE", "STATUS", "CREATED")
	for _, task := range rows.tasks {
		var image string
		if len(task.Containers) > 0 {
			image = aws.ToString(task.Containers[0].Image)
		}
		status := aws.ToString(task.LastStatus)
		style := output.Green
		if status == "STOPPED" {
			style = output.Dim
			if len(task.Containers) > 0 && task.Containers[0].ExitCode != nil {
				status += fmt.Sprintf(" (exit %d)", *task.Containers[0].ExitCode)
			}
		}
		kind := "ecs"
		if task.LaunchType == ecstypes.LaunchTypeFargate {
			kind = "fargate"
		}
		t.Row(kind, taskID(aws.ToString(task.TaskArn)), image, output.Styled(style, status), age(task.CreatedAt))
	}
	for _, f := range rows.functions {
		status := string(f.State)
		if f.LastUpdateStatus != "" && f.LastUpdateStatus != lambdatypes.LastUpdateStatusSuccessful {
			status += ", update " + string(f.LastUpdateStatus)
		}
		var modified *time.Time
		if at, err := time.Parse("2006-01-02T15:04:05.000-0700", aws.ToString(f.LastModified)); err == nil {
			modified = &at
		}
		t.Row("lambda", aws.ToString(f.FunctionName), rows.images[aws.ToString(f.FunctionName)], status, age(modified))
	}
	for _, s := range rows.services {
		status := fmt.Sprintf("%d/%d running", s.RunningCount, s.DesiredCount)
		if url := serviceURL(s); url != "" {
			status += " " + url
		}
		// A service's image is its task definition's: FAMILY:REVISION.
		t.Row("service", aws.ToString(s.ServiceName), taskID(aws.ToString(s.TaskDefinition)), output.Styled(output.Green, status), age(s.CreatedAt))
	}
	for _, j := range rows.jobs {
		status, style := string(j.Status), output.Green
		switch {
		case j.Status == batchtypes.JobStatusFailed && j.Container != nil && j.Container.ExitCode != nil:
			status += fmt.Sprintf(" (exit %d)", *j.Container.ExitCode)
			fallthrough
		case ended(j.Status):
			style = output.Dim
		}
		var created *time.Time
		if j.CreatedAt != nil {
			at := time.UnixMilli(*j.CreatedAt)
			created = &at
		}
		// A job's image is its definition's: NAME:REVISION.
		t.Row("batch", aws.ToString(j.JobId), taskID(aws.ToString(j.JobDefinition)), output.Styled(style, status), age(created))
	}
	if t.Len() == 0 {
		out.Linef("nothing runs (berth run IMAGE starts a task)")
		return nil
	}
	return out.Table(t)
}

// age says how long ago at was, as docker ps does.
func age(at *time.Time) string {
	if at == nil {
		return ""
	}
	d := time.Since(*at)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// completeRunning completes TASK, SERVICE and JOB arguments with the
// ids of the tasks meant to run, the services' names and the ids of the
// jobs that have not ended, and with functions also FUNCTION with the
// functions' names (only the first argument then).
func (f *remoteFlags) completeRunning(functions bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if functions && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		c, err := f.newClient(ctx, cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		tasks, err := listTasks(ctx, ecs.NewFromConfig(c.AWSConfig()), false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		services, err := listServices(ctx, ecs.NewFromConfig(c.AWSConfig()))
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		jobs, err := listJobs(ctx, batch.NewFromConfig(c.AWSConfig()), false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []string
		for _, t := range tasks {
			names = append(names, taskID(aws.ToString(t.TaskArn)))
		}
		for _, s := range services {
			names = append(names, aws.ToString(s.ServiceName))
		}
		for _, j := range jobs {
			names = append(names, aws.ToString(j.JobId))
		}
		if functions {
			fns, err := listFunctions(ctx, lambda.NewFromConfig(c.AWSConfig()))
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			for _, fn := range fns {
				names = append(names, aws.ToString(fn.FunctionName))
			}
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
