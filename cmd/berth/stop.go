package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"
)

func stopCommand() *cobra.Command {
	var rf remoteFlags
	var cluster, reason string
	cmd := &cobra.Command{
		Use:   "stop TASK...",
		Short: "Stop running tasks",
		Long: `Stop tasks (StopTask): each essential container gets SIGTERM, then
SIGKILL after its stop timeout, as on ECS. TASK is a task's id or ARN.
(Services and Batch jobs will be stopped here as berth offers them.)`,
		Example: `  berth stop 0f1e2d3c4b5a69788796a5b4c3d2e1f0
  berth stop $(berth ps -o json | jq -r '.tasks[].taskArn')`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: rf.completeRunning(false),
		RunE: rf.run(func(r *remote, args []string) error {
			api := ecs.NewFromConfig(r.client.AWSConfig())
			out := &ecs.DescribeTasksOutput{}
			for _, ref := range args {
				task, err := findTask(r.ctx(), api, ref, cluster)
				if err != nil {
					return err
				}
				stopped, err := api.StopTask(r.ctx(), &ecs.StopTaskInput{Cluster: task.ClusterArn, Task: task.TaskArn, Reason: aws.String(reason)})
				if err != nil {
					return err
				}
				out.Tasks = append(out.Tasks, *stopped.Task)
			}
			return r.out.Print(out, func() error {
				for _, t := range out.Tasks {
					r.out.Linef("stopping %s", taskID(aws.ToString(t.TaskArn)))
				}
				return nil
			})
		}),
	}
	rf.register(cmd, true)
	cmd.Flags().StringVar(&cluster, "cluster", "", "the tasks' cluster (default: every cluster is searched)")
	cmd.Flags().StringVar(&reason, "reason", "stopped with berth stop", "why, in the task's stoppedReason")
	return cmd
}
