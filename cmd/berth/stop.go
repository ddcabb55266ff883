package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/spf13/cobra"
)

func stopCommand() *cobra.Command {
	var rf remoteFlags
	var cluster, reason string
	cmd := &cobra.Command{
		Use:   "stop TASK|SERVICE|JOB...",
		Short: "Stop running tasks, services and jobs",
		Long: `Stop tasks, services and AWS Batch jobs.

TASK is a task's id or ARN: StopTask, so each essential container gets
SIGTERM, then SIGKILL after its stop timeout, as on ECS. JOB is a job's
id or ARN: TerminateJob, which fails it (and an array's children) with
--reason. Anything else names a service: it is scaled to 0 and deleted
(UpdateService, then DeleteService with force), and its listener closes.`,
		Example: `  berth stop 0f1e2d3c4b5a69788796a5b4c3d2e1f0
  berth stop web
  berth stop 6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f
  berth stop $(berth ps -o json | jq -r '.tasks[].taskArn')`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: rf.completeRunning(false),
		RunE: rf.run(func(r *remote, args []string) error {
			api := ecs.NewFromConfig(r.client.AWSConfig())
			// Each in its API's shape: tasks as StopTask answers, services
			// as DeleteService, jobs by id as TerminateJob takes them.
			out := struct {
				Tasks    []types.Task
				Services []types.Service
				Jobs     []string
			}{}
			var lines []string
			for _, ref := range args {
				if isJobRef(ref) {
					id := jobRefID(ref)
					_, err := batch.NewFromConfig(r.client.AWSConfig()).TerminateJob(r.ctx(), &batch.TerminateJobInput{JobId: aws.String(id), Reason: aws.String(reason)})
					if err != nil {
						return err
					}
					out.Jobs = append(out.Jobs, id)
					lines = append(lines, "terminating job "+id)
					continue
				}
				if !isTaskRef(ref) {
					deleted, err := deleteService(r.ctx(), api, cluster, ref)
					if err != nil {
						return err
					}
					out.Services = append(out.Services, deleted)
					lines = append(lines, "deleting service "+aws.ToString(deleted.ServiceName))
					continue
				}
				task, err := findTask(r.ctx(), api, ref, cluster)
				if err != nil {
					return err
				}
				stopped, err := api.StopTask(r.ctx(), &ecs.StopTaskInput{Cluster: task.ClusterArn, Task: task.TaskArn, Reason: aws.String(reason)})
				if err != nil {
					return err
				}
				out.Tasks = append(out.Tasks, *stopped.Task)
				lines = append(lines, "stopping "+taskID(aws.ToString(stopped.Task.TaskArn)))
			}
			return r.out.Print(out, func() error {
				for _, l := range lines {
					r.out.Linef("%s", l)
				}
				return nil
			})
		}),
	}
	rf.register(cmd, true)
	cmd.Flags().StringVar(&cluster, "cluster", "", "the tasks' or services' cluster (default: every cluster is searched)")
	cmd.Flags().StringVar(&reason, "reason", "stopped with berth stop", "why, in the task's stoppedReason or the job's statusReason")
	return cmd
}
