// Package registry serves the OCI Distribution Spec v1.1 API
// (https://github.com/opencontainers/distribution-spec/blob/main/spec.md):
// blobs, uploads, manifests, tags, referrers and the catalog. Blob bytes go
// through a storage.Driver; every fact (which blobs a repository holds,
// manifests, tags, upload sessions) goes through the metadata index.
//
// One file per resource: blob.go, upload.go, manifest.go, tag.go,
// referrer.go. Handlers return errors; writeError in errors.go turns them
// into the spec's error responses.
package registry

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// Store is what the registry needs of the metadata index: which blobs
// each repository holds, manifests and tags, upload sessions, and a
// repository's settings (immutable tags, whether a push may create it).
type Store interface {
	metadata.Blobs
	metadata.Manifests
	metadata.Uploads
	// Repository returns repository name; metadata.ErrRepositoryUnknown if
	// there is none.
	Repository(ctx context.Context, name string) (metadata.Repository, error)
}

// Registry is the OCI Distribution API as an http.Handler.
type Registry struct {
	store  Store
	blobs  storage.Driver
	log    *slog.Logger
	pulls  *pullRecorder
	cache  *cache // nil without Config.Upstream
	auth   Authorizer
	config Config
	// handlers is routes(), built once.
	handlers map[routeKind]map[string]handler
}

// Config tunes the registry. The zero value is usable.
type Config struct {
	// PullFlushInterval is how often recorded pull times are written to
	// the index in one batch. Default 5s.
	PullFlushInterval time.Duration
	// CatalogPageSize is the number of repositories _catalog returns when
	// the client does not ask for a number. Default 1000.
	CatalogPageSize int
	// Authorizer decides every request; nil serves everyone everything.
	Authorizer Authorizer
	// CreateOnPush lets a push create a repository that does not exist.
	// Without it (as in ECR) such a push gets NAME_UNKNOWN.
	CreateOnPush bool
	// RegistryID is the 12-digit registry id in ECR-worded errors.
	RegistryID string
	// Pushed, when set, is told of every manifest stored (by /v2/ or by
	// the ECR API's PutImage), after it is stored; it must return quickly
	// (the scanner queues a scan on push).
	Pushed func(ctx context.Context, m metadata.Manifest)
	// NoPullTimes leaves pull times alone: for a registry berth reads
	// itself through (replication), whose reads are no one's pulls.
	NoPullTimes bool
	// Upstream, when set, makes the repositories its pull-through cache
	// rules cover caches of their upstreams (package pullthrough).
	Upstream Upstream
	// RecheckInterval is how often a cached tag is compared with its
	// upstream (a HEAD request). Default 24h, as ECR.
	RecheckInterval time.Duration
	// ImportDelay is how long a manifest fetched from an upstream waits
	// before the rest of its image is fetched in the background, so the
	// client pulling it leads (and streams) each blob's read. Default 2s.
	ImportDelay time.Duration
	// Now is the clock that stamps upload sessions and pull times; nil
	// means time.Now. Garbage collection purges sessions and lifecycle
	// rules age images by these stamps, so tests give all three one clock.
	Now func() time.Time
}

// New returns a Registry over store and blobs. Close it to flush pull
// times.
func New(store Store, blobs storage.Driver, log *slog.Logger, cfg Config) *Registry {
	if cfg.PullFlushInterval <= 0 {
		cfg.PullFlushInterval = 5 * time.Second
	}
	if cfg.CatalogPageSize <= 0 {
		cfg.CatalogPageSize = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.ImportDelay == 0 {
		cfg.ImportDelay = 2 * time.Second
	}
	reg := &Registry{
		store:  store,
		blobs:  blobs,
		log:    log,
		config: cfg,
		auth:   cfg.Authorizer,
		pulls:  newPullRecorder(store, log, cfg.PullFlushInterval),
	}
	if cfg.Upstream != nil {
		reg.cache = newCache(cfg.Upstream, cfg.RecheckInterval)
	}
	reg.handlers = reg.routes()
	return reg
}

// Close writes pull times still pending.
func (reg *Registry) Close(ctx context.Context) error {
	return reg.pulls.Close(ctx)
}

// Register serves the registry's API, /v2/ and everything under it, on
// mux.
func (reg *Registry) Register(mux *http.ServeMux) {
	mux.Handle("/v2/", reg)
	mux.Handle("/v2", reg)
}

// RouteName names the API route of r ("blob", "manifest", ... or "none")
// for metrics: one mux pattern covers all of /v2/, so the registry's own
// route table names the routes, from a fixed set.
func (reg *Registry) RouteName(r *http.Request) string {
	return parseRoute(r.URL.Path).kind.String()
}

// handler is a registry handler: it writes a success response itself and
// returns errors for writeError.
type handler func(w http.ResponseWriter, r *http.Request, rt route) error

// ServeHTTP implements http.Handler.
func (reg *Registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	rt := parseRoute(r.URL.Path)
	if err := reg.serve(w, r, rt); err != nil {
		reg.writeError(w, r, err)
	}
}

// routes maps each route and method to its handler.
func (reg *Registry) routes() map[routeKind]map[string]handler {
	return map[routeKind]map[string]handler{
		routeBase:    {http.MethodGet: reg.base, http.MethodHead: reg.base},
		routeCatalog: {http.MethodGet: reg.catalog},
		routeTags:    {http.MethodGet: reg.tags},
		routeManifest: {
			http.MethodGet: reg.getManifest, http.MethodHead: reg.getManifest,
			http.MethodPut: reg.putManifest, http.MethodDelete: reg.deleteManifest,
		},
		routeBlob: {
			http.MethodGet: reg.getBlob, http.MethodHead: reg.getBlob, http.MethodDelete: reg.deleteBlob,
		},
		routeUploadStart: {http.MethodPost: reg.startUpload},
		routeUpload: {
			http.MethodGet: reg.uploadStatus, http.MethodPatch: reg.patchUpload,
			http.MethodPut: reg.finishUpload, http.MethodDelete: reg.cancelUpload,
		},
		routeReferrers: {http.MethodGet: reg.referrers},
	}
}

func (reg *Registry) serve(w http.ResponseWriter, r *http.Request, rt route) error {
	methods, known := reg.handlers[rt.kind]
	if !known {
		return ocierr.New(ocierr.NotFound, "", nil)
	}
	h, ok := methods[r.Method]
	if !ok {
		return ocierr.New(ocierr.Unsupported, r.Method+" is not supported here", nil)
	}
	if rt.kind != routeBase && rt.kind != routeCatalog && !validName(rt.name) {
		return ocierr.New(ocierr.NameInvalid, "invalid repository name: "+rt.name, nil)
	}
	r, err := reg.authorize(r, rt)
	if err != nil {
		return err
	}
	return h(w, r, rt)
}

// base answers GET /v2/: the API is here.
func (reg *Registry) base(w http.ResponseWriter, r *http.Request, _ route) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte("{}"))
	}
	return nil
}
