package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
		Long: `List what berth's launcher runs, in one table: ECS tasks of every
cluster (ListClusters, ListTasks, DescribeTasks) and Lambda functions
(ListFunctions). Tasks that stopped are listed too with --all, for as long
as ECS keeps them. With -o json the document is {"tasks": [...],
"functions": [...]}, each in its API's shape. (Services and Batch jobs
will be listed here as berth offers them.)`,
		Example: `  berth ps
  berth ps --all
  berth ps -o json | jq -r '.tasks[].taskArn'`,
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
			// Tasks as ECS writes them, functions as Lambda does.
			doc := struct {
				Tasks     []ecstypes.Task
				Functions any
			}{append([]ecstypes.Task{}, tasks...), lambdaShape(append([]lambdatypes.FunctionConfiguration{}, functions...))}
			return r.out.Print(doc, func() error {
				images := map[string]string{}
				for _, f := range functions {
					got, err := lambda.NewFromConfig(r.client.AWSConfig()).GetFunction(r.ctx(), &lambda.GetFunctionInput{FunctionName: f.FunctionName})
					if err == nil && got.Code != nil {
						images[aws.ToString(f.FunctionName)] = aws.ToString(got.Code.ImageUri)
					}
				}
				return psTable(r.out, tasks, functions, images)
			})
		}),
	}
	rf.register(cmd, true)
	cmd.Flags().BoolVarP(&all, "all", "a", false, "list stopped tasks too")
	return cmd
}

// listTasks lists the tasks of every cluster: those meant to run, and
// with all those stopped.
func listTasks(ctx context.Context, api *ecs.Client, all bool) ([]ecstypes.Task, error) {
	var clusters []string
	for p := ecs.NewListClustersPaginator(api, &ecs.ListClustersInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		clusters = append(clusters, page.ClusterArns...)
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

// psTable prints tasks and functions in one table.
// images are the functions' image URIs by name.
func psTable(out *output.Printer, tasks []ecstypes.Task, functions []lambdatypes.FunctionConfiguration, images map[string]string) error {
	t := output.NewTable("KIND", "NAME", "IMAGE", "STATUS", "CREATED")
	for _, task := range tasks {
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
	for _, f := range functions {
		status := string(f.State)
		if f.LastUpdateStatus != "" && f.LastUpdateStatus != lambdatypes.LastUpdateStatusSuccessful {
			status += ", update " + string(f.LastUpdateStatus)
		}
		var modified *time.Time
		if at, err := time.Parse("2006-01-02T15:04:05.000-0700", aws.ToString(f.LastModified)); err == nil {
			modified = &at
		}
		t.Row("lambda", aws.ToString(f.FunctionName), images[aws.ToString(f.FunctionName)], status, age(modified))
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

// completeRunning completes TASK arguments with the ids of the tasks
// meant to run, and with functions also FUNCTION with the functions'
// names (only the first argument then).
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
		var names []string
		for _, t := range tasks {
			names = append(names, taskID(aws.ToString(t.TaskArn)))
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
