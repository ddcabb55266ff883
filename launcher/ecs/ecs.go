// Package ecs serves the Amazon ECS API (AWS JSON 1.1, target prefix
// AmazonEC2ContainerServiceV20141113, SigV4 signing name ecs) and runs
// its tasks on the local container engine, so that the aws CLI and the
// AWS SDKs run what they pushed to berth's registry with
// --endpoint-url.
//
// Operations live one family per file: clusters.go, taskdefs.go (task
// definitions; their validation in taskdef.go), tasks.go (RunTask,
// StopTask, DescribeTasks, ListTasks) and tags.go. Each authorizes its
// ecs:<Operation> action on the resource's ARN through [Access] before
// it reads or writes anything, and answers with ECS's error names
// (errors.go).
//
// Tasks are run by the [Runner] (runner.go), which a service scheduler
// drives directly: each task has one supervisor goroutine
// (supervise.go) that launches its containers (spec.go) in the task's
// network mode (in awsvpc, the containers join a sidecar that holds the
// namespace, publishes the ports on 127.0.0.1 and serves the task
// metadata endpoint, taskmeta.go; tasks without port mappings take one
// started beforehand, pool.go), follows their exits and health from the
// engine's events (loop.go) and writes every change through to the
// metadata index; awslogs output goes to the log store (logs.go). After
// a restart the runner reattaches to what still runs.
//
// Services (services.go, their wire form in service.go) are kept by the
// scheduler (scheduler.go, [API.Run]): one reconciler per service starts,
// drains and stops tasks through the Runner, rolls deployments, and puts
// a launcher/lb listener on 127.0.0.1 in front of a service with
// loadBalancers.
package ecs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// TargetPrefix is the X-Amz-Target prefix of every ECS operation.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113"

// SigningName is ECS's SigV4 service name.
const SigningName = "ecs"

// defaultCluster is the cluster calls without one use; it always exists.
const defaultCluster = "default"

// Access is what the API needs from the access-control layer.
type Access interface {
	// AuthorizeAction returns an error in AWS form (AccessDeniedException)
	// unless the caller in ctx may perform action ("ecs:RunTask") on the
	// resource resourceARN names ("*" for actions on no resource).
	AuthorizeAction(ctx context.Context, action, resourceARN string) error
	// Caller is who the caller in ctx is, as tasks record who launched
	// them.
	Caller(ctx context.Context) Caller
}

// Store is what the API reads and writes of the metadata index; tasks
// are written by the Runner only.
type Store interface {
	metadata.Clusters
	metadata.TaskDefinitions
	metadata.Services
	Task(ctx context.Context, id string) (metadata.Task, error)
	Tasks(ctx context.Context, q metadata.TaskQuery) ([]metadata.Task, error)
	// Settings keep the pagination key.
	metadata.Settings
}

// Config configures the API.
type Config struct {
	// AccountID and Region are those of the ARNs.
	AccountID, Region string
	// TokenSecret keys the pagination tokens (at least 32 bytes); empty: a
	// random key kept in the index.
	TokenSecret []byte
	// Access authorizes each operation.
	Access Access
	// Services tunes the service scheduler and its load balancers.
	Services ServiceConfig
	// Now is the clock; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// API is the ECS API; register it on the AWS front door.
type API struct {
	svc    *awsjson.Service
	store  Store
	runner *Runner
	access Access
	tokens *awsjson.TokenCodec
	arns   arns
	cfg    Config

	// clusterMu serialises read-modify-write changes of clusters (tags,
	// deletion), which the index replaces whole.
	clusterMu sync.Mutex
	// serviceMu serialises read-modify-write changes of services, the
	// API's and the scheduler's.
	serviceMu sync.Mutex
	sched     *scheduler
}

// New returns the API over the index, running tasks with runner, and
// makes sure the default cluster exists.
func New(ctx context.Context, store Store, runner *Runner, cfg Config) (*API, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tokens, err := awsjson.OpenTokenCodec(ctx, store, settingTokenSecret, cfg.TokenSecret)
	if err != nil {
		return nil, err
	}
	a := &API{store: store, runner: runner, access: cfg.Access, tokens: tokens,
		arns: newARNs(cfg.AccountID, cfg.Region), cfg: cfg}
	a.sched = newScheduler(a, cfg.Services)
	if err := a.ensureDefaultCluster(ctx); err != nil {
		return nil, err
	}
	a.svc = awsjson.NewService(TargetPrefix, SigningName, awsjson.WithLogger(cfg.Log))
	awsjson.Handle(a.svc, "CreateCluster", a.createCluster)
	awsjson.Handle(a.svc, "DescribeClusters", a.describeClusters)
	awsjson.Handle(a.svc, "ListClusters", a.listClusters)
	awsjson.Handle(a.svc, "DeleteCluster", a.deleteCluster)
	awsjson.Handle(a.svc, "RegisterTaskDefinition", a.registerTaskDefinition)
	awsjson.Handle(a.svc, "DescribeTaskDefinition", a.describeTaskDefinition)
	awsjson.Handle(a.svc, "ListTaskDefinitions", a.listTaskDefinitions)
	awsjson.Handle(a.svc, "DeregisterTaskDefinition", a.deregisterTaskDefinition)
	awsjson.Handle(a.svc, "RunTask", a.runTask)
	awsjson.Handle(a.svc, "StopTask", a.stopTask)
	awsjson.Handle(a.svc, "DescribeTasks", a.describeTasks)
	awsjson.Handle(a.svc, "ListTasks", a.listTasks)
	awsjson.Handle(a.svc, "CreateService", a.createService)
	awsjson.Handle(a.svc, "UpdateService", a.updateService)
	awsjson.Handle(a.svc, "DescribeServices", a.describeServices)
	awsjson.Handle(a.svc, "ListServices", a.listServices)
	awsjson.Handle(a.svc, "DeleteService", a.deleteService)
	awsjson.Handle(a.svc, "TagResource", a.tagResource)
	awsjson.Handle(a.svc, "UntagResource", a.untagResource)
	awsjson.Handle(a.svc, "ListTagsForResource", a.listTagsForResource)
	return a, nil
}

// settingTokenSecret keeps the pagination token key in the index.
const settingTokenSecret = "ecs.paginationTokenKey"

// Register puts the API on the AWS front door, which serves it to
// requests whose X-Amz-Target starts with [TargetPrefix], signed for
// [SigningName].
func (a *API) Register(front *awsjson.Front) { front.JSON(a.svc) }

// maxResults reads a maxResults member: def when absent, else 1 to limit.
func maxResults(n *int, limit, def int) (int, error) {
	if n == nil {
		return def, nil
	}
	if *n < 1 || *n > limit {
		return 0, invalidParameter("maxResults must be between 1 and %d.", limit)
	}
	return *n, nil
}

// serverError wraps a failure of the index or the engine for the log;
// the client sees a ServerException.
func serverError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return err
	}
	return &opError{op: op, err: err}
}

type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }
