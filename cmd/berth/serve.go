package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/observe"
	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/postgres"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/pullthrough"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/replication"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
	"github.com/berth-dev/berth/storage/s3"
	"github.com/berth-dev/berth/ui"
)

func serveCommand() *cobra.Command {
	var cf configFlags
	var listen string
	var noAuth bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry",
		Long: `Run berth: the OCI registry on one address.

Configuration comes from defaults, then the --config YAML file, then BERTH_*
environment variables (BERTH_LISTEN, BERTH_DATA_DIR, ...), then flags.`,
		Example: `  berth serve
  berth serve --listen :8080 --data-dir /var/lib/berth
  berth serve --config berth.yml
  berth serve --no-auth   # a throwaway registry on your own machine`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load(cmd, func(cfg *config.Config) {
				if cmd.Flags().Changed("listen") {
					cfg.Listen = listen
				}
				if noAuth {
					cfg.Auth.Mode = "none"
				}
			})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return serve(ctx, cfg)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on (default :5000)")
	cmd.Flags().BoolVar(&noAuth, "no-auth", false, "serve an open registry with no authentication (auth: none; local development only)")
	return cmd
}

func newLogger(cfg config.Log) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// openStorage opens the configured blob store and says where it is.
func openStorage(ctx context.Context, cfg config.Storage) (storage.Driver, string, error) {
	if s := cfg.S3; s.Enabled() {
		d, err := s3.New(ctx, s3.Config{
			Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region, Prefix: s.Prefix,
			AccessKey: s.AccessKey, SecretKey: s.SecretKey, Secure: s.Secure,
			Redirect: s.Redirect, RedirectExpiry: s.RedirectExpiry,
			CreateBucket: s.CreateBucket, PartSize: s.PartSize,
		})
		return d, fmt.Sprintf("s3://%s/%s (endpoint %s)", s.Bucket, s.Prefix, s.Endpoint), err
	}
	d, err := filesystem.New(cfg.Filesystem.Root)
	return d, cfg.Filesystem.Root, err
}

// housekeepingStore is what the lifecycle runner and the garbage collector
// use of the index, and where the bytes collection frees are recorded
// for the web UI's overview.
type housekeepingStore interface {
	lifecycle.RunnerStore
	lifecycle.CollectorStore
	AddStatistic(ctx context.Context, name string, at time.Time, delta int64) error
}

// housekeepers returns the lifecycle runner and the garbage collector,
// counting what they do in metrics (nil: not counted) and what collection
// frees in the index's daily statistics.
func housekeepers(cfg *config.Config, store housekeepingStore, blobs storage.Driver, log *slog.Logger, metrics *observe.Metrics, opts ...lifecycle.Option) (*lifecycle.Runner, *lifecycle.Collector) {
	runner := lifecycle.NewRunner(store, log, opts...)
	collector := lifecycle.NewCollector(store, blobs, log, opts...)
	collector.Grace, collector.UploadTimeout = cfg.GC.Grace, cfg.GC.UploadTimeout
	collector.Freed = func(r lifecycle.Report) {
		if metrics != nil {
			metrics.GCFreed(r.Blobs, r.Bytes, r.Uploads)
		}
		if r.Bytes > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := store.AddStatistic(ctx, ui.StatisticReclaimedBytes, time.Now(), r.Bytes); err != nil {
				log.Warn("recording the bytes garbage collection freed", "err", err)
			}
		}
	}
	if metrics != nil {
		runner.Applied = func(_ string, r lifecycle.Result) { metrics.LifecycleAction(r.Action.Type) }
	}
	return runner, collector
}

// openStore opens the configured index for the server: PostgreSQL when
// its DSN is set, else the SQLite file, created if need be.
func openStore(ctx context.Context, cfg config.Metadata) (metadata.Store, error) {
	if cfg.Postgres.Enabled() {
		return postgres.Open(ctx, cfg.Postgres.DSN)
	}
	return sqlite.Open(ctx, cfg.SQLite.Path)
}

// exclusive is an index shared by several replicas that can run a piece
// of work on one of them at a time (metadata/postgres).
type exclusive interface {
	Exclusively(ctx context.Context, name string, retry time.Duration, fn func(context.Context)) error
}

// leaseRetry is how often a replica seeks work another replica holds:
// the longest a dead replica's work waits for another to take it over.
const leaseRetry = 10 * time.Second

// once makes loop, work that must run once however many replicas share
// the index, run on one replica at a time when the index can arrange it;
// an index of one process (SQLite) runs it as it is.
func once(store metadata.Store, name string, loop func(context.Context)) func(context.Context) {
	ex, ok := store.(exclusive)
	if !ok {
		return loop
	}
	return func(ctx context.Context) { ex.Exclusively(ctx, name, leaseRetry, loop) }
}

// serve runs berth until ctx ends: it builds the components, puts their
// routes on one mux (the AWS APIs through the front door), runs their
// background loops beside the HTTP server, and on shutdown drains the
// requests in flight, waits for every loop to return, flushes pull times
// and only then closes the stores.
func serve(ctx context.Context, cfg *config.Config) error {
	log := newLogger(cfg.Log)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	blobs, where, err := openStorage(ctx, cfg.Storage)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg.Metadata)
	if err != nil {
		return err
	}
	defer store.Close()

	// The components, each built from what it uses, in the order they
	// need each other: nothing is used before it exists. Each service
	// with resource policies gives auth its lookup.
	resources := map[string]auth.ResourcePolicies{arn.ECR: ecr.RepositoryPolicies{Store: store}}
	authority, err := openAuthority(ctx, cfg, store, resources, os.Stdout, log)
	if err != nil {
		return err
	}
	scan, err := scanner.New(ctx, store, blobs, cfg.Scanning.OSVDir, log)
	if err != nil {
		return err
	}
	sealer, err := openSealer(cfg.Auth)
	if err != nil {
		return err
	}
	cache := pullthrough.New(store, sealer, pullthrough.Config{Log: log})
	regConfig := registryConfig(cfg, authority, scan, log)
	regConfig.Upstream, regConfig.RecheckInterval = cache, cfg.PullThrough.RecheckInterval
	// Replication reads images through a registry of its own over the
	// same stores, which serves it without authorization, in process.
	local := registry.New(store, blobs, log, registry.Config{RegistryID: cfg.AWS.AccountID, NoPullTimes: true})
	dests, err := replicationDestinations(cfg.Replication)
	if err != nil {
		return err
	}
	replicator := replication.New(store, local, dests, replication.Config{
		Self: replication.DestinationID{Region: cfg.AWS.Region, RegistryID: cfg.AWS.AccountID}, Log: log,
	})
	scanOnPush := regConfig.Pushed
	regConfig.Pushed = func(ctx context.Context, m metadata.Manifest) {
		scanOnPush(ctx, m)
		if err := replicator.Pushed(ctx, m.Repository, m.Digest); err != nil {
			log.WarnContext(ctx, "queueing a replication", "repository", m.Repository, "digest", m.Digest, "err", err)
		}
	}
	reg := registry.New(store, blobs, log, regConfig)
	metrics := observe.NewMetrics()
	runner, collector := housekeepers(cfg, store, blobs, log, metrics)
	previews := lifecycle.NewPreviewer(store, runner, log)
	api, err := ecr.New(ctx, store, reg, ecr.Config{
		AccountID:      cfg.AWS.AccountID,
		Region:         cfg.AWS.Region,
		RepositoryHost: cfg.Registry.Host,
		Access:         authority,
		Previews:       previews,
		Scanner:        scan,
		PullThrough:    cache,
		Log:            log,
	})
	if err != nil {
		return err
	}
	logStore := newLogStore(cfg, store, log)
	uiConfig := ui.Config{
		Access:         authority,
		Previews:       previews,
		Blobs:          reg,
		Scope:          arn.Scope{Region: cfg.AWS.Region, AccountID: cfg.AWS.AccountID},
		RepositoryHost: cfg.Registry.Host,
		SessionTTL:     cfg.UI.SessionLifetime,
		SecureCookies:  cfg.UI.SecureCookies,
		Log:            log,
	}
	// The launcher runs here for good on an index of its own; on one
	// that replicas share, on the replica holding its seat.
	var launch launchers
	var seat *launcherSeat
	if cfg.Launcher.Enabled {
		build, err := launcherBuilder(cfg, store, authority, logStore, metrics.Registry(), log)
		if err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
		if shared, ok := store.(seatIndex); ok {
			base := uiConfig
			pages := func(l launchers) (*ui.UI, error) { return ui.New(store, l.uiConfig(base)) }
			if seat, err = newLauncherSeat(ctx, cfg, shared, build, pages, authority.AuthenticateAWS, log); err != nil {
				return fmt.Errorf("launcher: %w", err)
			}
			uiConfig.LauncherElsewhere = true
		} else if launch, err = build(ctx); err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
	}
	uiConfig = launch.uiConfig(uiConfig) // else the launcher's pages say it is off
	webUI, err := ui.New(store, uiConfig)
	if err != nil {
		return err
	}
	logsAPI, err := logs.New(ctx, logStore, logs.Config{
		AccountID: cfg.AWS.AccountID,
		Region:    cfg.AWS.Region,
		Access:    authority,
		Log:       log,
	})
	if err != nil {
		return err
	}
	// Logs and the launcher's services have no resource policies, but
	// their resources' tags are what aws:ResourceTag/<key> conditions
	// test. The authority reads resources only once requests come.
	resources[arn.Logs] = tagsOnly{logsAPI}
	if launch.api != nil {
		maps.Copy(resources, launch.resourcePolicies())
	}
	if seat != nil {
		for _, service := range []string{arn.ECS, arn.Lambda, arn.Batch} {
			resources[service] = seat.tagger(service)
		}
	}

	// Routes: each component registers its own. The AWS APIs register on
	// the front door, which picks one by X-Amz-Target or path and checks
	// SigV4 for its signing name; a new AWS service is one line here.
	mux := http.NewServeMux()
	front := awsjson.NewFront(mux, authority.AuthenticateAWS, log)
	api.Register(front)
	launch.Register(front)
	if seat != nil {
		seat.Register(front, mux) // the launcher's calls and pages
	}
	logsAPI.Register(front)
	reg.Register(mux)
	authority.Register(mux) // the Docker token endpoint
	metrics.Register(mux)
	health{store, log}.Register(mux)
	webUI.Register(mux) // and a browser's GET /

	// Background work, each loop until the server's context ends.
	loops := []func(context.Context) error{
		previews.Run,
		// The retention sweep deletes from the shared index: one replica at a time.
		untilDone(once(store, "log-retention", func(ctx context.Context) { logStore.Run(ctx) })),
		untilDone(replicator.Run),
		// Each replica scans what was pushed through it; resuming the scans
		// any replica left unfinished and re-matching them all with new
		// data is work for one replica at a time.
		untilDone(func(ctx context.Context) { scan.Run(ctx, cfg.Scanning.Workers) }),
		untilDone(once(store, "rescan", func(ctx context.Context) { scan.Rescan(ctx, leaseRetry, cfg.Scanning.ReloadInterval) })),
		untilDone(func(ctx context.Context) { webUI.Run(ctx, 15*time.Minute) }),
	}
	if cfg.Lifecycle.Interval > 0 {
		loops = append(loops, untilDone(once(store, "lifecycle", func(ctx context.Context) { runner.Schedule(ctx, cfg.Lifecycle.Interval) })))
	}
	loops = append(loops, launch.loops()...)
	if seat != nil {
		loops = append(loops, seat.Run)
	}
	if cfg.GC.Interval > 0 {
		loops = append(loops, untilDone(once(store, "gc", func(ctx context.Context) { collector.Schedule(ctx, cfg.GC.Interval) })))
	}

	srv := &http.Server{
		Handler:           observe.Middleware(log, metrics, mux),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLS.CertFile != "" {
		scheme = "https"
	}
	log.Info("berth listening", "address", ln.Addr().String(), "scheme", scheme, "version", version)
	index := cfg.Metadata.SQLite.Path
	if cfg.Metadata.Postgres.Enabled() {
		index = "PostgreSQL" // never the DSN: it may hold a password
	}
	log.Info("berth data", "blobs", where, "index", index)

	// The HTTP server and the loops run in one group: the first to fail
	// stops the others, and Wait returns when all of them have returned.
	g, gctx := errgroup.WithContext(ctx)
	for _, loop := range loops {
		g.Go(func() error { return loop(gctx) })
	}
	g.Go(func() error { return serveHTTP(gctx, srv, ln, cfg, log) })
	err = g.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if cerr := launch.close(fctx); cerr != nil {
		log.Warn("removing Lambda execution environments", "err", cerr)
	}
	if cerr := reg.Close(fctx); cerr != nil {
		log.Warn("flushing pull times", "err", cerr)
	}
	return err
}

// registryConfig is the registry's configuration: access control by the
// authority (unless it is open) and a scan queued on every push the
// scanner's configuration wants scanned.
func registryConfig(cfg *config.Config, authority *auth.Authority, scan *scanner.Scanner, log *slog.Logger) registry.Config {
	c := registry.Config{
		PullFlushInterval: cfg.Registry.PullFlushInterval,
		CatalogPageSize:   cfg.Registry.CatalogPageSize,
		CreateOnPush:      cfg.Registry.CreateOnPush,
		RegistryID:        cfg.AWS.AccountID,
		Pushed: func(ctx context.Context, m metadata.Manifest) {
			if err := scan.OnPush(ctx, m.Repository, m.Digest); err != nil {
				log.WarnContext(ctx, "queueing a scan on push", "repository", m.Repository, "digest", m.Digest, "err", err)
			}
		},
	}
	if !authority.Open() {
		c.Authorizer = authority
	}
	return c
}

// replicationDestinations are the configured replication destinations,
// each password read from its file when one is given.
func replicationDestinations(cfg config.Replication) ([]replication.Destination, error) {
	var out []replication.Destination
	for _, d := range cfg.Destinations {
		password := d.Password
		if d.PasswordFile != "" {
			b, err := os.ReadFile(d.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("replication destination %s/%s: %w", d.Region, d.RegistryID, err)
			}
			password = strings.TrimRight(string(b), "\r\n")
		}
		out = append(out, replication.Destination{
			DestinationID: replication.DestinationID{Region: d.Region, RegistryID: d.RegistryID},
			Endpoint:      d.Endpoint, Username: d.Username, Password: password,
		})
	}
	return out, nil
}

// newLogStore is the launcher's log store over the index, bounded as
// configured (logs.maxStreamBytes 0 is no cap; the store's 0 is its
// default).
func newLogStore(cfg *config.Config, index logs.Index, log *slog.Logger) *logs.Store {
	maxStreamBytes := cfg.Logs.MaxStreamBytes
	if maxStreamBytes == 0 {
		maxStreamBytes = -1
	}
	return logs.NewStore(index, logs.StoreConfig{MaxStreamBytes: maxStreamBytes, SweepInterval: cfg.Logs.SweepInterval, Log: log})
}

// untilDone adapts a loop that returns when its context ends.
func untilDone(loop func(context.Context)) func(context.Context) error {
	return func(ctx context.Context) error {
		loop(ctx)
		return nil
	}
}

// serveHTTP serves ln until ctx ends, then drains the requests in flight
// for at most cfg.ShutdownTimeout. Requests run on their own contexts, not
// ctx, so ending ctx does not cut them off.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, cfg *config.Config, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS.CertFile != "" {
			errc <- srv.ServeTLS(ln, cfg.TLS.CertFile, cfg.TLS.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc // Serve has returned http.ErrServerClosed
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: requests still running after %s", cfg.ShutdownTimeout)
	}
	return err
}
