package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// SigningName is Batch's SigV4 service name.
const SigningName = "batch"

// LogGroup is where every job's output goes, as on AWS.
const LogGroup = "/aws/batch/job"

// Store is what Batch keeps in the metadata index.
type Store interface {
	metadata.BatchResources
	metadata.BatchJobDefinitions
	metadata.BatchJobs
}

// Engine is what jobs need of the container engine: the runtime and its
// containers' output.
type Engine interface {
	launcher.Runtime
	launcher.LogSource
}

// Access is the API's access control and the registry credentials of the
// images jobs pull.
type Access interface {
	// AuthorizeAction returns an AccessDeniedException unless the caller
	// in ctx may perform action ("batch:SubmitJob") on the resource
	// resourceARN names ("*" for none in particular).
	AuthorizeAction(ctx context.Context, action, resourceARN string) error
	// Caller is who the caller in ctx is; a job records who submitted it.
	Caller(ctx context.Context) launcher.Caller
	// RegistryAuth returns what the engine presents to berth's registry
	// to pull an image for c; the zero value when access control is off.
	RegistryAuth(ctx context.Context, c launcher.Caller) (launcher.RegistryAuth, error)
}

// LogSink is the log store: each attempt's output becomes a stream of
// [LogGroup].
type LogSink interface {
	// OpenStream returns the writer of stream in group, creating both as
	// needed, and the time of the newest event the stream already holds
	// (zero if none), after which a reattached container resumes.
	OpenStream(ctx context.Context, group, stream string) (w LogWriter, last time.Time, err error)
}

// LogWriter appends a stream's events.
type LogWriter interface {
	Write(at time.Time, message string)
	Close() error
}

// Config configures Batch.
type Config struct {
	// AccountID and Region are those of the ARNs.
	AccountID, Region string
	// Instance names this berth on the engine (a label on every
	// container), so that berths sharing an engine leave one another's
	// jobs alone.
	Instance string
	// Images rewrites job images to the registry's loopback address.
	Images launcher.Images
	// Access authorizes each operation and gives pulls their credentials.
	Access Access
	// Logs receives the jobs' output; nil drops it.
	Logs LogSink
	// MinAttemptDuration is the shortest timeout.attemptDurationSeconds
	// accepted: 60 s, as on AWS (tests lower it).
	MinAttemptDuration time.Duration
	// StopGrace is how long a terminated or timed-out container has
	// between SIGTERM and SIGKILL (30 s, as ECS).
	StopGrace time.Duration
	// Retention is how long finished jobs stay visible (24 h).
	Retention time.Duration
	// HostCPUs is the capacity of an UNMANAGED compute environment (the
	// host's CPUs).
	HostCPUs int
	// HostMemoryMiB caps the memory of all running jobs together (the
	// host's memory); 0 reads it from /proc/meminfo, and where that
	// cannot be read memory is not capped.
	HostMemoryMiB int64
	// Now is the clock; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// API is the Batch API and its scheduler. Register it on the AWS front
// door and run Run beside the server.
type API struct {
	svc    *awsjson.RESTService
	store  Store
	engine Engine
	access Access
	cfg    Config
	scope  arn.Scope
	log    *slog.Logger

	wake chan struct{} // a tick is wanted
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // attempts
	// ready is closed once Run has reloaded the index and reattached.
	ready chan struct{}

	pullMu sync.Mutex
	pulled map[string]time.Time // image and user → when last pulled

	// mu guards everything below: the scheduler's state, which is the
	// index's contents in memory.
	mu     sync.Mutex
	envs   map[string]*computeEnvironment
	queues map[string]*jobQueue
	defs   map[string][]*jobDefinition // by name, by revision
	jobs   map[string]*job             // every job, children included once made
	active map[string]*job             // jobs not yet SUCCEEDED or FAILED
	// usedMemoryMiB is the memory of the jobs holding vCPUs.
	usedMemoryMiB int64
}

// New returns the Batch API over store, running jobs on engine.
func New(store Store, engine Engine, cfg Config) *API {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.MinAttemptDuration <= 0 {
		cfg.MinAttemptDuration = 60 * time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 30 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.HostCPUs <= 0 {
		cfg.HostCPUs = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HostMemoryMiB <= 0 {
		m, err := hostMemoryMiB("/proc/meminfo")
		if err != nil {
			cfg.Log.Warn("batch: the host's memory is unknown, so jobs are capped by vCPUs only", "err", err)
		}
		cfg.HostMemoryMiB = m
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &API{store: store, engine: engine, access: cfg.Access, cfg: cfg, log: cfg.Log,
		scope: arn.Scope{Region: cfg.Region, AccountID: cfg.AccountID},
		wake:  make(chan struct{}, 1), ctx: ctx, stop: cancel, ready: make(chan struct{}),
		pulled: map[string]time.Time{},
		envs:   map[string]*computeEnvironment{}, queues: map[string]*jobQueue{},
		defs: map[string][]*jobDefinition{}, jobs: map[string]*job{}, active: map[string]*job{}}
	a.svc = awsjson.NewRESTService(SigningName, awsjson.WithLogger(cfg.Log), awsjson.WithServerFault(typeServer))
	handle(a, "CreateComputeEnvironment", a.createComputeEnvironment)
	handle(a, "DescribeComputeEnvironments", a.describeComputeEnvironments)
	handle(a, "UpdateComputeEnvironment", a.updateComputeEnvironment)
	handle(a, "DeleteComputeEnvironment", a.deleteComputeEnvironment)
	handle(a, "CreateJobQueue", a.createJobQueue)
	handle(a, "DescribeJobQueues", a.describeJobQueues)
	handle(a, "UpdateJobQueue", a.updateJobQueue)
	handle(a, "DeleteJobQueue", a.deleteJobQueue)
	handle(a, "RegisterJobDefinition", a.registerJobDefinition)
	handle(a, "DescribeJobDefinitions", a.describeJobDefinitions)
	handle(a, "DeregisterJobDefinition", a.deregisterJobDefinition)
	handle(a, "SubmitJob", a.submitJob)
	handle(a, "DescribeJobs", a.describeJobs)
	handle(a, "ListJobs", a.listJobs)
	handle(a, "CancelJob", a.cancelJob)
	handle(a, "TerminateJob", a.terminateJob)
	awsjson.HandleRESTFunc(a.svc, "POST /v1/tags/{resourceArn...}", "TagResource", a.tagResource)
	awsjson.HandleRESTFunc(a.svc, "GET /v1/tags/{resourceArn...}", "ListTagsForResource", a.listTagsForResource)
	awsjson.HandleRESTFunc(a.svc, "DELETE /v1/tags/{resourceArn...}", "UntagResource", a.untagResource)
	return a
}

// Register puts the API on the AWS front door, which serves it to
// requests signed for [SigningName].
func (a *API) Register(front *awsjson.Front) { front.REST(a.svc) }

// Ready is closed once Run has reloaded the jobs and reattached to their
// containers.
func (a *API) Ready() <-chan struct{} { return a.ready }

// handle registers fn as operation at POST /v1/<operation in lower
// case>. It decodes the body itself so that a malformed one gets Batch's
// ClientException (the front door's decoder says SerializationException,
// which Batch's model lacks).
func handle[In, Out any](a *API, operation string, fn func(ctx context.Context, in *In) (*Out, error)) {
	path := "POST /v1/" + lower(operation)
	awsjson.HandleRESTFunc(a.svc, path, operation, func(w http.ResponseWriter, r *http.Request) error {
		in := new(In)
		if err := decodeBody(r.Body, in); err != nil {
			return err
		}
		out, err := fn(r.Context(), in)
		if err != nil {
			return err
		}
		return writeJSON(w, out)
	})
}

// decodeBody reads one JSON object into in; an empty body is {}.
func decodeBody(body io.Reader, in any) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(in); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return clientError("Unexpected JSON %s for member %s.", typ.Value, typ.Field)
		}
		return clientError("The request body is not a valid JSON document for this operation.")
	}
	if dec.More() {
		return clientError("Unexpected content after the JSON document.")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, out any) error {
	if out == nil {
		out = struct{}{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// authorize checks batch:<action> on resource.
func (a *API) authorize(ctx context.Context, action, resource string) error {
	if a.access == nil {
		return nil
	}
	return a.access.AuthorizeAction(ctx, "batch:"+action, resource)
}

// caller is who the request in ctx comes from.
func (a *API) caller(ctx context.Context) launcher.Caller {
	if a.access == nil {
		return launcher.Caller{}
	}
	return a.access.Caller(ctx)
}

// ms is t in epoch milliseconds, 0 for the zero time.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// serverError wraps a failure of the index for the log; the client sees a
// ServerException.
func serverError(op string, err error) error {
	var ae *awserr.Error
	if err == nil || errors.As(err, &ae) {
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

// hostMemoryMiB is the machine's memory from meminfo (Linux's
// /proc/meminfo); elsewhere, or when it holds no MemTotal line, an error
// says so.
func hostMemoryMiB(meminfo string) (int64, error) {
	b, err := os.ReadFile(meminfo)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil || kb <= 0 {
				return 0, fmt.Errorf("%s: unreadable MemTotal line %q", meminfo, line)
			}
			return kb >> 10, nil
		}
	}
	return 0, fmt.Errorf("%s has no MemTotal line", meminfo)
}
