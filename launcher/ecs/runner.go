package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// Engine is what the runner needs of the container engine: the runtime,
// its containers' output and its exit and health events (so that nothing
// polls).
type Engine interface {
	launcher.Runtime
	launcher.LogSource
	launcher.EventSource
}

// TaskStore is where the runner keeps tasks: every change of a task is
// written through before anyone is told of it.
type TaskStore interface {
	metadata.Tasks
}

// Credentials issue what the engine presents to berth's registry when it
// pulls a task's images: a short-lived registry token of the user who
// launched the task, so that repository policies apply to launches.
type Credentials interface {
	// RegistryAuth returns the credentials of c; the zero value (an
	// anonymous pull) when access control is off.
	RegistryAuth(ctx context.Context, c Caller) (launcher.RegistryAuth, error)
}

// SidecarImage is the image of the task sidecar (sidecar.Image), loaded
// into the engine on first use.
type SidecarImage interface {
	Ensure(ctx context.Context) (string, error)
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// AccountID and Region are those of the ARNs.
	AccountID, Region string
	// Images rewrites image names to the registry's loopback address.
	Images launcher.Images
	// StateDir holds each running task's metadata files, which its
	// sidecar serves (the engine must see the same path).
	StateDir string
	// StoppedRetention is how long stopped tasks stay visible; default an
	// hour, as on ECS.
	StoppedRetention time.Duration
	// Logs receives the output of awslogs containers; nil drops it.
	Logs LogSink
	// SidecarPool is how many started sidecars are kept ready for awsvpc
	// tasks without port mappings, which then start as fast as bridge
	// tasks; 0 keeps none.
	SidecarPool int
	// Now is the clock; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Runner runs ECS tasks on a container engine and keeps their state in
// the index. It is the programmatic side of RunTask, StopTask and
// DescribeTasks, which a service scheduler drives directly: RunTasks,
// StopTask, Subscribe and Tasks. Its Run method is the event loop that
// tracks exits and health, and reattaches to the tasks that ran before a
// restart. It is safe for concurrent use.
type Runner struct {
	engine  Engine
	store   TaskStore
	creds   Credentials
	sidecar SidecarImage
	cfg     RunnerConfig
	arns    arns
	log     *slog.Logger

	// base is the context of every task's supervision; Run's end cancels
	// it, which leaves containers running for the next start to
	// reattach.
	base      context.Context
	cancel    context.CancelFunc
	created   time.Time
	engineUp  atomic.Bool
	recovered chan struct{} // closed once Run has reattached to earlier tasks

	tagMu sync.Mutex // serialises tag changes of stopped tasks

	pool *sidecarPool // nil without one

	mu       sync.Mutex
	live     map[string]*taskRun // tasks not yet STOPPED, by id
	sidecars map[string]string   // the task of each pooled sidecar taken, by container id
	tokens   map[string]clientToken
	subs     map[*subscriber]struct{}
	wg       sync.WaitGroup // the supervisors
}

// clientToken remembers which tasks a RunTask clientToken started.
type clientToken struct {
	ids []string
	at  time.Time
}

// clientTokenLifetime is how long a RunTask clientToken is remembered.
const clientTokenLifetime = time.Hour

// NewRunner returns a Runner on engine, keeping tasks in store.
func NewRunner(engine Engine, store TaskStore, creds Credentials, sidecar SidecarImage, cfg RunnerConfig) *Runner {
	if cfg.StoppedRetention <= 0 {
		cfg.StoppedRetention = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	base, cancel := context.WithCancel(context.Background())
	r := &Runner{
		engine: engine, store: store, creds: creds, sidecar: sidecar, cfg: cfg,
		arns: newARNs(cfg.AccountID, cfg.Region), log: cfg.Log,
		base: base, cancel: cancel, created: cfg.Now(), recovered: make(chan struct{}),
		live: map[string]*taskRun{}, sidecars: map[string]string{}, tokens: map[string]clientToken{}, subs: map[*subscriber]struct{}{},
	}
	if cfg.SidecarPool > 0 {
		r.pool = &sidecarPool{r: r, size: cfg.SidecarPool}
	}
	return r
}

// RunInput says what tasks RunTasks starts.
type RunInput struct {
	// Cluster is the cluster's name.
	Cluster string
	// Definition is a registered task definition revision.
	Definition TaskDefinition
	// Count is how many tasks to start, 1 to 10.
	Count int
	// LaunchType is EC2 or FARGATE; "" picks FARGATE for a definition
	// that requires only Fargate, else EC2.
	LaunchType string
	// Overrides change the definition for these tasks.
	Overrides TaskOverride
	// Group and StartedBy label the tasks; a service's tasks have the
	// group ServiceGroup(name).
	Group, StartedBy string
	// Caller launches the tasks: the images are pulled with its registry
	// credentials.
	Caller Caller
	// ClientToken makes the call idempotent: a second call with the same
	// token within an hour returns the first call's tasks.
	ClientToken string
	Tags        []Tag
}

// ServiceGroup is the task group of a service's tasks.
func ServiceGroup(service string) string { return "service:" + service }

// RunTasks starts in.Count tasks and returns them as they are now
// (PROVISIONING); they go on to RUNNING, or to STOPPED with a stop code
// and reason, as subscribers see. Invalid input gets ECS's error.
func (r *Runner) RunTasks(ctx context.Context, in RunInput) ([]Task, error) {
	if in.Count < 1 || in.Count > 10 {
		return nil, invalidParameter("count must be between 1 and 10.")
	}
	if in.ClientToken != "" {
		if tasks, ok, err := r.byClientToken(ctx, in.ClientToken); ok || err != nil {
			return tasks, err
		}
	}
	def, launchType, err := effectiveDefinition(in.Definition, in.LaunchType, in.Overrides)
	if err != nil {
		return nil, err
	}
	if err := r.available(ctx); err != nil {
		return nil, err
	}
	now := r.cfg.Now()
	var runs []*taskRun
	for range in.Count {
		rec := r.newRecord(in, def, launchType, now)
		if err := r.put(ctx, &rec); err != nil {
			return nil, fmt.Errorf("run task: %w", err)
		}
		runs = append(runs, newTaskRun(r, rec))
	}
	tasks := make([]Task, len(runs))
	r.mu.Lock()
	for i, t := range runs {
		tasks[i] = t.rec.Task.clone()
		r.startLocked(t, false)
	}
	if in.ClientToken != "" {
		ids := make([]string, len(runs))
		for i, t := range runs {
			ids[i] = t.id()
		}
		maps.DeleteFunc(r.tokens, func(_ string, c clientToken) bool { return now.Sub(c.at) > clientTokenLifetime })
		r.tokens[in.ClientToken] = clientToken{ids: ids, at: now}
	}
	r.mu.Unlock()
	for _, t := range tasks {
		r.notify(t)
	}
	return tasks, nil
}

// byClientToken returns the tasks an earlier RunTasks with token started.
func (r *Runner) byClientToken(ctx context.Context, token string) ([]Task, bool, error) {
	r.mu.Lock()
	c, ok := r.tokens[token]
	r.mu.Unlock()
	if !ok || r.cfg.Now().Sub(c.at) > clientTokenLifetime {
		return nil, false, nil
	}
	var tasks []Task
	for _, id := range c.ids {
		t, err := r.Task(ctx, id)
		if err != nil {
			return nil, true, err
		}
		tasks = append(tasks, t)
	}
	return tasks, true, nil
}

// pinger is an engine that can say whether it answers (docker.Runtime).
type pinger interface {
	Ping(ctx context.Context) error
}

// Available reports whether the container engine answers: nil, or the
// error ECS calls that need the engine answer with while it does not (a
// ServerException saying so). A page that shows tasks asks it to say
// plainly that none can start or stop.
func (r *Runner) Available(ctx context.Context) error { return r.available(ctx) }

// available reports an unreachable engine as ECS calls answer it.
func (r *Runner) available(ctx context.Context) error {
	if r.engineUp.Load() {
		return nil
	}
	p, ok := r.engine.(pinger)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Ping(ctx); err != nil {
		return engineUnavailable(err)
	}
	return nil
}

// newRecord makes the record of a new task of def.
func (r *Runner) newRecord(in RunInput, def TaskDefinition, launchType string, now time.Time) taskRecord {
	id := launcher.NewID()
	taskARN := r.arns.task(in.Cluster, id)
	t := Task{
		Attachments:       []json.RawMessage{},
		AvailabilityZone:  r.cfg.Region + "a",
		ClusterArn:        r.arns.cluster(in.Cluster),
		Cpu:               def.Cpu,
		Memory:            def.Memory,
		CreatedAt:         awsjson.NewTime(now),
		DesiredStatus:     StatusRunning,
		Group:             in.Group,
		HealthStatus:      healthUnknown,
		LastStatus:        StatusProvisioning,
		LaunchType:        launchType,
		Overrides:         in.Overrides,
		StartedBy:         in.StartedBy,
		Tags:              in.Tags,
		TaskArn:           taskARN,
		TaskDefinitionArn: in.Definition.TaskDefinitionArn,
		Version:           1,
	}
	if t.Group == "" {
		t.Group = "family:" + def.Family
	}
	if t.Overrides.ContainerOverrides == nil {
		t.Overrides.ContainerOverrides = []ContainerOverride{}
	}
	if t.Overrides.InferenceAcceleratorOverrides == nil {
		t.Overrides.InferenceAcceleratorOverrides = []json.RawMessage{}
	}
	if launchType == launchFargate {
		t.PlatformVersion, t.PlatformFamily = "1.4.0", "Linux"
		t.EphemeralStorage = json.RawMessage(`{"sizeInGiB":20}`)
	}
	rec := taskRecord{Cluster: in.Cluster, Definition: def, Caller: in.Caller, ClientToken: in.ClientToken}
	for i, c := range def.ContainerDefinitions {
		wc := Container{
			ContainerArn:      r.arns.container(in.Cluster, id, launcher.NewUUID()),
			TaskArn:           taskARN,
			Name:              c.Name,
			Image:             c.Image,
			LastStatus:        StatusPending,
			NetworkBindings:   []NetworkBinding{},
			NetworkInterfaces: []json.RawMessage{},
			Cpu:               strconv.Itoa(c.Cpu),
		}
		if c.Memory != nil {
			wc.Memory = strconv.Itoa(*c.Memory)
		}
		if c.MemoryReservation != nil {
			wc.MemoryReservation = strconv.Itoa(*c.MemoryReservation)
		}
		if c.HealthCheck != nil {
			wc.HealthStatus = healthUnknown
		}
		t.Containers = append(t.Containers, wc)
		rec.Containers = append(rec.Containers, containerState{MetadataKey: fmt.Sprintf("%s-%d", id[:12], i)})
	}
	rec.Task = t
	return rec
}

// effectiveDefinition applies a launch type and overrides to a
// registered definition, refusing what ECS's RunTask refuses.
func effectiveDefinition(td TaskDefinition, launchType string, o TaskOverride) (TaskDefinition, string, error) {
	switch launchType {
	case "":
		launchType = launchEC2
		if len(td.RequiresCompatibilities) == 1 && td.RequiresCompatibilities[0] == launchFargate {
			launchType = launchFargate
		}
	case launchEC2, launchFargate:
	case "EXTERNAL", "MANAGED_INSTANCES":
		return td, "", invalidParameter("Launch type %s is not supported by berth: use EC2 or FARGATE.", launchType)
	default:
		return td, "", invalidParameter("Invalid launch type %q.", launchType)
	}
	if !slices.Contains(td.Compatibilities, launchType) {
		return td, "", invalidParameter("Task definition does not support launch_type %s.", launchType)
	}
	def := td
	def.ContainerDefinitions = slices.Clone(td.ContainerDefinitions)
	if o.Cpu != "" {
		def.Cpu = o.Cpu
	}
	if o.Memory != "" {
		def.Memory = o.Memory
	}
	for _, co := range o.ContainerOverrides {
		c, ok := def.container(co.Name)
		if !ok {
			return td, "", invalidParameter("Override for container named %s is not a container in the TaskDefinition.", co.Name)
		}
		if co.Command != nil {
			c.Command = co.Command
		}
		if len(co.Environment) > 0 {
			env := slices.Clone(c.Environment)
			for _, e := range co.Environment {
				if i := slices.IndexFunc(env, func(kv KeyValuePair) bool { return kv.Name == e.Name }); i >= 0 {
					env[i] = e
				} else {
					env = append(env, e)
				}
			}
			c.Environment = env
		}
		if co.Cpu != nil {
			c.Cpu = *co.Cpu
		}
		if co.Memory != nil {
			c.Memory = co.Memory
		}
		if co.MemoryReservation != nil {
			c.MemoryReservation = co.MemoryReservation
		}
	}
	if o.Cpu != "" || o.Memory != "" || len(o.ContainerOverrides) > 0 {
		// The overridden definition must still be one ECS accepts.
		check := def
		check.RequiresCompatibilities = nil
		if launchType == launchFargate {
			check.RequiresCompatibilities = []string{launchFargate}
		}
		for i := range check.ContainerDefinitions {
			check.ContainerDefinitions[i].Environment = slices.Clone(check.ContainerDefinitions[i].Environment)
		}
		if err := check.normalise(); err != nil {
			return td, "", err
		}
		def.Cpu, def.Memory, def.ContainerDefinitions = check.Cpu, check.Memory, check.ContainerDefinitions
	}
	return def, launchType, nil
}

// StopTask stops task id of cluster with code and reason: its containers
// get SIGTERM and, after their stopTimeout, SIGKILL. It returns the task
// with desiredStatus STOPPED; a task already stopped is returned as it
// is. ECS's InvalidParameterException when there is no such task.
func (r *Runner) StopTask(ctx context.Context, cluster, id string, code StopCode, reason string) (Task, error) {
	r.mu.Lock()
	t := r.live[id]
	r.mu.Unlock()
	if t == nil || t.cluster != cluster {
		task, err := r.Task(ctx, id)
		if err != nil || task.ClusterArn != r.arns.cluster(cluster) {
			if err == nil || errors.Is(err, metadata.ErrTaskUnknown) {
				return Task{}, invalidParameter("The referenced task was not found.")
			}
			return Task{}, err
		}
		return task, nil
	}
	req := stopRequest{code: code, reason: reason, reply: make(chan Task, 1)}
	t.inbox.put(message{stop: &req})
	t.interruptLaunch()
	select {
	case task := <-req.reply:
		return task, nil
	case <-ctx.Done():
		return Task{}, ctx.Err()
	case <-t.done:
		return r.Task(ctx, id)
	}
}

// Task returns task id as the index has it; ErrTaskUnknown wrapped when
// there is none.
func (r *Runner) Task(ctx context.Context, id string) (Task, error) {
	rec, err := r.record(ctx, id)
	if err != nil {
		return Task{}, err
	}
	return rec.Task, nil
}

// record reads a task's record from the index.
func (r *Runner) record(ctx context.Context, id string) (taskRecord, error) {
	var rec taskRecord
	mt, err := r.store.Task(ctx, id)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(mt.Document, &rec); err != nil {
		return rec, fmt.Errorf("task %s: %w", id, err)
	}
	return rec, nil
}

// TaskOf is the task an index row holds, as the runner wrote it: a
// page of tasks the index listed reads whole without a read per task.
func TaskOf(mt metadata.Task) (Task, error) {
	var rec taskRecord
	if err := json.Unmarshal(mt.Document, &rec); err != nil {
		return Task{}, fmt.Errorf("task %s: %w", mt.ID, err)
	}
	return rec.Task, nil
}

// TaskFilter selects tasks for [Runner.Tasks]; "" matches anything.
type TaskFilter struct {
	Cluster, Family, Group, StartedBy, DesiredStatus string
	// Live leaves out stopped tasks.
	Live bool
}

// Tasks returns every task f selects, stopped tasks included until they
// are purged (an hour after they stop) unless f.Live.
func (r *Runner) Tasks(ctx context.Context, f TaskFilter) ([]Task, error) {
	q := metadata.TaskQuery{Cluster: f.Cluster, Family: f.Family, Group: f.Group, StartedBy: f.StartedBy,
		DesiredStatus: f.DesiredStatus, Live: f.Live, Limit: 500}
	var out []Task
	for {
		page, err := r.store.Tasks(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, mt := range page {
			t, err := TaskOf(mt)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			q.After = mt.ID
		}
		if len(page) < q.Limit {
			return out, nil
		}
	}
}

// TagTask changes the tags of task id: tags are added or replaced, and
// the keys in remove removed.
func (r *Runner) TagTask(ctx context.Context, id string, tags []Tag, remove []string) error {
	r.mu.Lock()
	t := r.live[id]
	r.mu.Unlock()
	if t != nil {
		req := tagRequest{tags: tags, remove: remove, reply: make(chan error, 1)}
		t.inbox.put(message{tag: &req})
		select {
		case err := <-req.reply:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-t.done:
		}
	}
	// A stopped task has no supervisor: change its record here, one
	// change at a time.
	r.tagMu.Lock()
	defer r.tagMu.Unlock()
	rec, err := r.record(ctx, id)
	if err != nil {
		return err
	}
	rec.Task.Tags = mergeTags(rec.Task.Tags, tags, remove)
	return r.put(ctx, &rec)
}

// mergeTags adds tags to have (replacing values) and removes the keys in
// remove.
func mergeTags(have, tags []Tag, remove []string) []Tag {
	out := slices.Clone(have)
	for _, tag := range tags {
		if i := slices.IndexFunc(out, func(t Tag) bool { return t.Key == tag.Key }); i >= 0 {
			out[i].Value = tag.Value
		} else {
			out = append(out, tag)
		}
	}
	return slices.DeleteFunc(out, func(t Tag) bool { return slices.Contains(remove, t.Key) })
}

// put writes rec to the index.
func (r *Runner) put(ctx context.Context, rec *taskRecord) error {
	doc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	t := &rec.Task
	family, revision := "", 0
	if f, rev, ok := r.arns.taskDefinitionRef(t.TaskDefinitionArn); ok {
		family, revision = f, rev
	}
	return r.store.PutTask(context.WithoutCancel(ctx), metadata.Task{
		ID: t.ID(), Cluster: rec.Cluster, Family: family, Revision: revision,
		Group: t.Group, StartedBy: t.StartedBy, LastStatus: t.LastStatus, DesiredStatus: t.DesiredStatus,
		CreatedAt: t.CreatedAt.Time, StoppedAt: t.StoppedAt.Time, Document: doc,
	})
}

// startLocked starts supervising t (resumed: after a restart). r.mu is held.
func (r *Runner) startLocked(t *taskRun, resumed bool) {
	t.done = make(chan struct{})
	r.live[t.id()] = t
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(t.done)
		t.run(r.base, resumed)
	}()
}

// forget stops tracking a task that has stopped.
func (r *Runner) forget(t *taskRun) {
	r.mu.Lock()
	if r.live[t.id()] == t {
		delete(r.live, t.id())
		delete(r.sidecars, t.rec.Sidecar)
	}
	r.mu.Unlock()
}

// Subscribe returns every change of every task, from now until ctx ends
// (then the channel is closed), in the order each task went through
// them. Changes queue for a slow reader; none is dropped.
func (r *Runner) Subscribe(ctx context.Context) <-chan Task {
	s := &subscriber{q: newQueue[Task](), out: make(chan Task)}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	go func() {
		defer close(s.out)
		defer func() {
			r.mu.Lock()
			delete(r.subs, s)
			r.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.q.ready:
			}
			for _, t := range s.q.take() {
				select {
				case s.out <- t:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return s.out
}

type subscriber struct {
	q   *queue[Task]
	out chan Task
}

// notify tells every subscriber of a task's change.
func (r *Runner) notify(t Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.subs {
		s.q.put(t.clone())
	}
}

// taskDir is the directory of a task's metadata files.
func (r *Runner) taskDir(id string) string { return filepath.Join(r.cfg.StateDir, "tasks", id) }

// removeDir deletes a task's metadata directory.
func (r *Runner) removeDir(id, dir string) {
	if err := os.RemoveAll(dir); err != nil {
		r.log.Warn("ecs: removing a task's metadata directory", "task", id, "err", err)
	}
}
