// Package batch serves the AWS Batch API (REST-JSON, POST /v1/<operation>,
// SigV4 signing name batch) and runs its jobs on the local container
// engine, so that pipelines written against Batch run unchanged with
// --endpoint-url.
//
// Compute environments (environments.go) cap the vCPUs their jobs may use
// on the Docker host (maxvCpus); job queues feed them by priority; job
// definitions (jobdefs.go) are revisions of container properties. The
// API's scheduler (scheduler.go, run by [API.Run]) owns every job in
// memory (job.go) and writes each change through to the metadata index
// before anyone sees it. Its tick
// moves jobs from SUBMITTED and PENDING (dependencies) to RUNNABLE, then
// starts RUNNABLE jobs, highest-priority queue first and FIFO within a
// queue, while their compute environment has vCPUs left. An attempt
// (attempt.go) pulls the image with its submitter's registry
// credentials, runs one container in the host's network with the
// AWS_BATCH_* variables, copies its output to /aws/batch/job and records
// its exit; retries follow retryStrategy and evaluateOnExit, timeouts
// stop the container and are not retried. Array children are made one at
// a time as capacity frees up, so a 10,000-child array costs no more per
// tick than a single job. After a restart the scheduler reloads the jobs,
// reattaches to containers still running and reads the exit code of
// those that ended meanwhile.
package batch
