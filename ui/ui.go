// Package ui is berth's web UI, served at /ui/ beside the APIs: the
// registry's repositories and images, their settings, repository and
// lifecycle policies (with a what-if preview at a chosen date), scan
// findings and package inventories, and an overview drawn as server-side
// SVG charts.
//
// Pages are Go html/template, rendered on the server from the metadata
// index; the CSS and the little JavaScript (copy buttons, select-all) are
// embedded in the binary and nothing is fetched from anywhere else, which
// the Content-Security-Policy enforces. Every page reads without
// JavaScript.
//
// A person signs in with an access key (or a registry password) into a
// session kept in the index (session.go). Every page and every form is
// authorized with that person's policies exactly as the ECR API would
// authorize the same ECR action on the same repository, and forms carry a
// CSRF token. With auth mode none there is no sign-in.
//
// The launcher's pages show what has landed of it: ECS clusters, task
// definitions (with a form that runs them) and tasks (with their
// containers, and a stop button), read and driven through the ECS
// runner's Go API and authorized with the same ecs: actions on the same
// ARNs as the ECS API; and the log store's groups, streams and events,
// authorized as the CloudWatch Logs API authorizes them; and Lambda
// functions (with their usage and cost, recent invocations, and a form
// that invokes them) through the Lambda API's Go methods, authorized with
// the same lambda: actions, and absent while Lambda is not configured;
// and Batch's compute environments, job queues and jobs (with their
// attempts, array children and logs, and a terminate button), the same
// way with the batch: actions.
// Task states and log lines follow live through server-sent events
// (live.go), which the little script reads; without it the pages read
// the same.
//
// One file per area: repositories.go (the list, create, delete),
// repository.go (the images table, deleting images), settings.go (tag
// mutability, scan on push, the repository policy), lifecycle.go (the
// policy editor and previews), image.go (one image), overview.go and
// chart.go (the overview), clusters.go (clusters and their tasks),
// tasks.go (one task, stopping it), taskdefs.go (task definitions,
// running them), functions.go (Lambda functions, invoking them),
// batch.go (Batch's environments, queues and jobs, terminating them),
// logs.go (log groups, streams and events), live.go (the live
// streams), render.go (templates and errors).
package ui

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/launcher/batch"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/metadata"
)

// Statistics the UI charts, as names in the index's daily statistics.
const (
	// StatisticStoredBytes is the bytes of blobs stored, sampled by Run.
	StatisticStoredBytes = "storage.bytes"
	// StatisticReclaimedBytes adds up the bytes garbage collection freed
	// each day; whoever runs the collector records it.
	StatisticReclaimedBytes = "gc.reclaimed.bytes"
)

// Store is what the UI reads and writes of the metadata index.
type Store interface {
	metadata.Sessions
	metadata.Browsing
	// Statistic and SetStatistic read and sample the overview's daily
	// figures.
	Statistic(ctx context.Context, name string, from, to time.Time) ([]metadata.DailyValue, error)
	SetStatistic(ctx context.Context, name string, at time.Time, value int64) error
	// Repository, CreateRepository, UpdateRepository and DeleteRepository
	// read and change repositories and their settings.
	Repository(ctx context.Context, name string) (metadata.Repository, error)
	CreateRepository(ctx context.Context, r metadata.Repository) error
	UpdateRepository(ctx context.Context, name string, change func(*metadata.Repository) error) (metadata.Repository, error)
	DeleteRepository(ctx context.Context, name string, force bool) (metadata.Repository, error)
	// RepositoryPolicy and SetRepositoryPolicy edit repository policies.
	RepositoryPolicy(ctx context.Context, repo string) (string, error)
	SetRepositoryPolicy(ctx context.Context, repo, text string) error
	// Image, Manifest, ManifestParents, Referrers and DeleteManifest
	// show and delete images.
	Image(ctx context.Context, repo string, dgst digest.Digest) (metadata.Image, error)
	Manifest(ctx context.Context, repo, reference string) (metadata.Manifest, error)
	ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error)
	Referrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) ([]metadata.Descriptor, error)
	DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error
	// Scan reads an image's findings and inventory.
	Scan(ctx context.Context, repo string, dgst digest.Digest) (metadata.Scan, error)
	// LifecyclePreview and PreviewResults read lifecycle previews.
	LifecyclePreview(ctx context.Context, repo string) (metadata.LifecyclePreview, error)
	PreviewResults(ctx context.Context, repo, id string, f metadata.ImageFilter, after, n int) ([]metadata.PreviewResult, error)
	// Cluster and Clusters read ECS clusters, TaskDefinitions lists task
	// definition revisions.
	Cluster(ctx context.Context, name string) (metadata.Cluster, error)
	Clusters(ctx context.Context, status, after string, n int) ([]metadata.Cluster, error)
	TaskDefinitions(ctx context.Context, q metadata.TaskDefinitionQuery) ([]metadata.TaskDefinition, error)
	// Tasks looks tasks up by the index's columns (cluster, statuses,
	// creation), which order and count them without reading the
	// runner's documents; a page's tasks are then read through Tasks.
	Tasks(ctx context.Context, q metadata.TaskQuery) ([]metadata.Task, error)
	// LogGroup, LogGroups, LogStreams, ReadLogEvents and FilterLogEvents
	// read the launcher's log store.
	LogGroup(ctx context.Context, name string) (metadata.LogGroup, error)
	LogGroups(ctx context.Context, q metadata.LogGroupQuery) ([]metadata.LogGroup, error)
	LogStreams(ctx context.Context, q metadata.LogStreamQuery) ([]metadata.LogStream, error)
	ReadLogEvents(ctx context.Context, q metadata.LogRead) ([]metadata.LogEvent, error)
	FilterLogEvents(ctx context.Context, q metadata.LogFilter) ([]metadata.LogEvent, bool, error)
}

// Access is what the UI needs of access control; auth.Authority
// implements it.
type Access interface {
	// Open reports whether access control is off (auth mode none): no
	// sign-in, everything allowed.
	Open() bool
	// SignIn checks what a person typed: an access key ID and secret, or
	// user "AWS" and a registry password. It returns the principal and
	// when the credentials expire (zero: never). auth.ErrSignIn,
	// token.ErrExpired, or *auth.RetryLaterError while the address must
	// wait.
	SignIn(ctx context.Context, sourceIP, user, password string) (*auth.Principal, time.Time, error)
	// Resume returns the principal of a session, read again from the
	// index; auth.ErrSignIn once its key or user is gone.
	Resume(ctx context.Context, sourceIP, user, keyID string) (*auth.Principal, error)
	// Allowed decides whether p may perform an IAM action on the
	// resource resourceARN names ("" for no particular resource), as the
	// API decides it.
	Allowed(ctx context.Context, p *auth.Principal, action, resourceARN string) (bool, error)
	// CheckRepositoryPolicy says what is wrong with a repository policy.
	CheckRepositoryPolicy(text string) error
}

// Previews starts lifecycle policy previews; lifecycle.Previewer
// implements it and runs them.
type Previews interface {
	// StartAt records a preview of policy for repo evaluated at instant
	// at (zero: when it runs). metadata.ErrPreviewInProgress while the
	// previous one runs.
	StartAt(ctx context.Context, repo, policy string, at time.Time) (metadata.LifecyclePreview, error)
}

// Blobs reads small blobs whole; registry.Registry implements it.
type Blobs interface {
	// ReadBlob returns blob dgst of repo if it is at most limit bytes.
	ReadBlob(ctx context.Context, repo string, dgst digest.Digest, limit int64) ([]byte, error)
}

// Tasks runs and reads ECS tasks; ecs.Runner implements it.
type Tasks interface {
	// Tasks returns the tasks f selects, stopped ones included until they
	// are purged.
	Tasks(ctx context.Context, f ecs.TaskFilter) ([]ecs.Task, error)
	// Task returns task id; metadata.ErrTaskUnknown wrapped if none.
	Task(ctx context.Context, id string) (ecs.Task, error)
	// RunTasks starts tasks as RunTask does once authorized; ECS's errors
	// for what it refuses.
	RunTasks(ctx context.Context, in ecs.RunInput) ([]ecs.Task, error)
	// StopTask stops a task as StopTask does once authorized.
	StopTask(ctx context.Context, cluster, id string, code ecs.StopCode, reason string) (ecs.Task, error)
	// Subscribe returns every change of every task until ctx ends.
	Subscribe(ctx context.Context) <-chan ecs.Task
	// Available is nil while the container engine answers, else the
	// error saying it does not.
	Available(ctx context.Context) error
}

// Services reads and changes ECS services; ecs.API implements it. Its
// methods authorize nothing: the pages do, first.
type Services interface {
	// Services returns up to n of cluster's services that are not
	// deleted, by name, after the one named after.
	Services(ctx context.Context, cluster, after string, n int) ([]ecs.Service, error)
	// Service describes one; metadata.ErrServiceUnknown wrapped if none.
	Service(ctx context.Context, cluster, name string) (ecs.Service, error)
	// ScaleService sets its desired count as UpdateService does.
	ScaleService(ctx context.Context, caller ecs.Caller, cluster, name string, desired int) (ecs.Service, error)
	// DeleteService deletes it as DeleteService does.
	DeleteService(ctx context.Context, cluster, name string, force bool) (ecs.Service, error)
}

// TaskDefinitions reads registered ECS task definitions; ecs.API
// implements it.
type TaskDefinitions interface {
	// TaskDefinition returns the revision ref (family:revision) names;
	// ECS's ClientException if there is none.
	TaskDefinition(ctx context.Context, ref string) (ecs.TaskDefinition, error)
}

// Functions reads and invokes Lambda functions; lambda.API implements
// it. Its methods authorize nothing: the pages do, first.
type Functions interface {
	// Functions returns up to n functions by name after the one named
	// after ("" for the first page).
	Functions(ctx context.Context, after string, n int) ([]lambda.Function, error)
	// Function returns function name; Lambda's ResourceNotFoundException
	// if there is none.
	Function(ctx context.Context, name string) (lambda.Function, error)
	// Versions and Aliases list its published versions and aliases.
	Versions(ctx context.Context, name string) ([]lambda.Configuration, error)
	Aliases(ctx context.Context, name string) ([]lambda.AliasConfiguration, error)
	// Usage is what it did over the days from from to to, and what that
	// would cost on AWS.
	Usage(ctx context.Context, name string, from, to time.Time) (lambda.Usage, error)
	// Invoke runs it synchronously with payload and the log tail; Lambda's
	// errors for what it refuses, the function's own in the result.
	Invoke(ctx context.Context, name, qualifier string, payload []byte) (lambda.Invocation, error)
	// InvokeAsync queues it as an Event invocation and returns the
	// request id; Invoke's errors.
	InvokeAsync(ctx context.Context, name, qualifier string, payload []byte) (string, error)
	// UpdateConfiguration changes its memory, timeout and environment as
	// UpdateFunctionConfiguration does; Lambda's errors for what it
	// refuses.
	UpdateConfiguration(ctx context.Context, name string, s lambda.Settings) (lambda.Configuration, error)
}

// Batch reads AWS Batch's compute environments, queues and jobs and
// terminates jobs; batch.API implements it. Its methods authorize
// nothing: the pages do, first.
type Batch interface {
	// ComputeEnvironments and JobQueues return every one, by name.
	ComputeEnvironments(ctx context.Context) ([]batch.ComputeEnvironment, error)
	JobQueues(ctx context.Context) ([]batch.JobQueue, error)
	// Jobs returns a page of the jobs q selects and how many it selects;
	// Batch's ClientException for a queue or array job that does not
	// exist.
	Jobs(ctx context.Context, q batch.JobQuery) ([]batch.JobSummary, int, error)
	// Job describes job id and names its queue; batch.ErrJobUnknown if
	// there is none.
	Job(ctx context.Context, id string) (batch.JobDetail, string, error)
	// TerminateJob fails it as TerminateJob does; batch.ErrJobUnknown if
	// there is none.
	TerminateJob(ctx context.Context, id, reason string) error
}

// Config configures the UI.
type Config struct {
	// Access authenticates and authorizes people.
	Access Access
	// Previews starts lifecycle policy previews.
	Previews Previews
	// Blobs reads image configs for the layer history.
	Blobs Blobs
	// Tasks and TaskDefinitions are the launcher's ECS side; nil when the
	// launcher is off, which its pages then say.
	Tasks           Tasks
	TaskDefinitions TaskDefinitions
	// Services is the launcher's ECS services; nil leaves them out of the
	// cluster pages.
	Services Services
	// Functions is the launcher's Lambda side; nil when it is off, which
	// leaves out the functions' pages.
	Functions Functions
	// Batch is the launcher's Batch side; nil when it is off, which
	// leaves out the Batch pages.
	Batch Batch
	// LauncherElsewhere keeps Lambda and Batch in the navigation of a UI
	// without them: another replica serves the launcher's pages.
	LauncherElsewhere bool
	// Scope is the region and account of the repositories' ARNs.
	Scope arn.Scope
	// RepositoryHost is the host (and port) in the docker pull commands
	// shown; empty: the host the browser reached.
	RepositoryHost string
	// SessionTTL is how long a sign-in lasts (a registry password's own
	// expiry ends it sooner). Default 12 hours.
	SessionTTL time.Duration
	// SecureCookies marks the cookies Secure even when a request arrives
	// without TLS (behind a proxy that terminates it); they always are on
	// a TLS connection.
	SecureCookies bool
	// Clock tells the time; nil is time.Now.
	Clock func() time.Time
	Log   *slog.Logger
}

// UI is the web UI as an http.Handler for /ui/.
type UI struct {
	store  Store
	cfg    Config
	log    *slog.Logger
	now    func() time.Time
	views  *views
	mux    *http.ServeMux
	static http.Handler

	// closing ends with Run, and with it every live stream, so that a
	// server shutting down waits for none of them.
	closing context.Context
	close   context.CancelFunc
}

// Prefix is the path the UI is served under.
const Prefix = "/ui/"

//go:embed templates static
var files embed.FS

// New returns the UI over the index.
func New(store Store, cfg Config) (*UI, error) {
	if cfg.Access == nil || cfg.Previews == nil || cfg.Blobs == nil {
		return nil, errors.New("ui: Access, Previews and Blobs are required")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	v, err := loadViews()
	if err != nil {
		return nil, err
	}
	if (cfg.Tasks == nil) != (cfg.TaskDefinitions == nil) {
		return nil, errors.New("ui: Tasks and TaskDefinitions come together")
	}
	u := &UI{store: store, cfg: cfg, log: cfg.Log, now: cfg.Clock, views: v, static: staticHandler()}
	u.closing, u.close = context.WithCancel(context.Background())
	u.mux = u.routes()
	return u, nil
}

// routes maps the UI's paths. A repository's name has slashes, so its
// pages follow "/-/" after the name (a name's component is never "-"):
// /ui/repositories/team/app/-/lifecycle.
func (u *UI) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /ui/static/", u.static)
	mux.HandleFunc("GET /ui/signin", u.signInPage)
	mux.HandleFunc("POST /ui/signin", u.signIn)
	mux.Handle("POST /ui/signout", u.page(u.signOut))
	mux.Handle("GET /ui/{$}", u.page(u.overview))
	mux.Handle("GET /ui/repositories", u.page(u.repositories))
	mux.Handle("POST /ui/repositories", u.page(u.createRepository))
	mux.Handle("/ui/repositories/", u.page(u.repositoryRoute))
	u.launcherRoutes(mux)
	mux.Handle("/ui/", u.page(func(http.ResponseWriter, *request) error { return errNotFound }))
	return mux
}

// repositoryPages are the pages and forms under a repository's "/-/",
// by method and the path after it.
func (u *UI) repositoryPages() map[string]func(http.ResponseWriter, *request, string) error {
	return map[string]func(http.ResponseWriter, *request, string) error{
		"GET ":                     u.images,
		"POST delete-images":       u.deleteImages,
		"GET delete":               u.confirmDeleteRepository,
		"POST delete":              u.deleteRepository,
		"GET settings":             u.settings,
		"POST settings/mutability": u.putMutability,
		"POST settings/scanning":   u.putScanning,
		"GET policy":               u.policy,
		"POST policy":              u.setPolicy,
		"POST policy/delete":       u.deletePolicy,
		"GET lifecycle":            u.lifecycle,
		"POST lifecycle":           u.putLifecycle,
		"POST lifecycle/delete":    u.deleteLifecycle,
		"POST lifecycle/preview":   u.startPreview,
		"GET lifecycle/preview":    u.preview,
	}
}

// repositoryRoute serves /ui/repositories/<name>[/-/<page>], and an
// image at /ui/repositories/<name>/-/images/<digest>.
func (u *UI) repositoryRoute(w http.ResponseWriter, rq *request) error {
	rest := strings.TrimPrefix(rq.URL.Path, "/ui/repositories/")
	name, sub, _ := strings.Cut(rest, "/-/")
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		return errNotFound
	}
	method := rq.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if d, ok := strings.CutPrefix(sub, "images/"); ok && method == http.MethodGet {
		return u.image(w, rq, name, d)
	}
	h, ok := u.repositoryPages()[method+" "+sub]
	if !ok {
		return errNotFound
	}
	return h(w, rq, name)
}

// Register serves the UI on mux at Prefix, and sends a browser's GET / there
// (the AWS APIs post to /).
func (u *UI) Register(mux *http.ServeMux) {
	mux.Handle(Prefix, u)
	mux.Handle("GET /{$}", http.RedirectHandler(Prefix, http.StatusFound))
}

// ServeHTTP implements http.Handler: every response carries the security
// headers, and cross-origin form posts are refused before any handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	if err := crossOrigin.Check(r); err != nil {
		u.log.InfoContext(r.Context(), "ui: refused a cross-origin request", "path", r.URL.Path, "err", err)
		u.renderError(w, &request{Request: r}, errCrossSite)
		return
	}
	u.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy lets pages load only berth's own CSS, script and
// icon, post only to berth, and the script connect only to berth (the
// live streams of task states and log lines): no inline script or style,
// nothing from elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// crossOrigin refuses state-changing requests a browser says came from
// another site; the CSRF token is checked as well.
var crossOrigin = http.NewCrossOriginProtection()

// Run keeps the UI's housekeeping until ctx ends: now and every interval
// it records today's stored bytes for the overview and deletes expired
// sessions. Every replica may run it; the figures are the same. When it
// returns, the live streams end too.
func (u *UI) Run(ctx context.Context, interval time.Duration) {
	defer u.close()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		u.housekeep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (u *UI) housekeep(ctx context.Context) {
	now := u.now()
	if n, err := u.store.StoredBytes(ctx); err != nil {
		u.log.WarnContext(ctx, "ui: reading the bytes stored", "err", err)
	} else if err := u.store.SetStatistic(ctx, StatisticStoredBytes, now, n); err != nil {
		u.log.WarnContext(ctx, "ui: recording the bytes stored", "err", err)
	}
	if n, err := u.store.DeleteExpiredSessions(ctx, now); err != nil {
		u.log.WarnContext(ctx, "ui: deleting expired sessions", "err", err)
	} else if n > 0 {
		u.log.InfoContext(ctx, "ui: deleted expired sessions", "sessions", n)
	}
}
