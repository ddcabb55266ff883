package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/batch"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/launcher/sidecar"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/ui"
)

// launcherStore is what the launcher keeps in the index.
type launcherStore interface {
	ecs.Store
	ecs.TaskStore
	lambda.Store
	lambda.UsageStore
	batch.Store
}

// launchers is the launcher as serve wires it: the ECS, Lambda and Batch APIs,
// and their runners, whose loops run beside the server (all nil when the
// launcher is off).
type launchers struct {
	api          *ecs.API
	runner       *ecs.Runner
	lambdaAPI    *lambda.API
	lambdaRunner *lambda.Runner
	meter        *lambda.Meter
	batchAPI     *batch.API
}

// Register puts the ECS, Lambda and Batch APIs on the AWS front door.
func (l launchers) Register(front *awsjson.Front) {
	if l.api != nil {
		l.api.Register(front)
		l.lambdaAPI.Register(front)
		l.batchAPI.Register(front)
	}
}

// loops are the runners' background work.
func (l launchers) loops() []func(context.Context) error {
	if l.runner == nil {
		return nil
	}
	return []func(context.Context) error{l.runner.Run, l.api.Run, untilDone(l.lambdaRunner.Run), l.lambdaAPI.Run,
		untilDone(func(ctx context.Context) { l.meter.Run(ctx, 10*time.Second) }), l.batchAPI.Run}
}

// uiConfig is c with the launcher's pages.
func (l launchers) uiConfig(c ui.Config) ui.Config {
	if l.runner != nil {
		c.Tasks, c.TaskDefinitions, c.Services = l.runner, l.api, l.api
		c.Functions, c.Batch = l.lambdaAPI, l.batchAPI
	}
	return c
}

// resourcePolicies are the launcher's services as auth looks up their
// resources: they have no resource policies, but their resources' tags
// are what aws:ResourceTag/<key> conditions test.
func (l launchers) resourcePolicies() map[string]auth.ResourcePolicies {
	return map[string]auth.ResourcePolicies{arn.ECS: tagsOnly{l.api}, arn.Lambda: tagsOnly{l.lambdaAPI}, arn.Batch: tagsOnly{l.batchAPI}}
}

// close ends the Lambda API's pulls and removes the functions'
// environments, whose Runtime API servers go with berth (ECS tasks keep
// running).
func (l launchers) close(ctx context.Context) error {
	if l.lambdaAPI == nil {
		return nil
	}
	l.lambdaAPI.Close()
	return l.lambdaRunner.Close(ctx)
}

// launcherBuilder returns what builds the launcher on the Docker Engine
// the configuration names, pulling from this berth's registry on
// 127.0.0.1 at the port it listens on; it does not need the engine to
// answer (until it does, calls that need it say so). Each call builds a
// new one,
// with its own runners and nothing started (a replica that takes over
// the launcher builds it again, as a restart does), sharing one engine
// client and one set of Lambda metrics.
func launcherBuilder(cfg *config.Config, store launcherStore, authority *auth.Authority, logStore *logs.Store, metrics prometheus.Registerer, log *slog.Logger) (func(context.Context) (launchers, error), error) {
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil || port == "" || port == "0" {
		return nil, fmt.Errorf("the engine pulls from 127.0.0.1 at the port berth listens on: listen on a fixed port (listen %q)", cfg.Listen)
	}
	opts := []docker.Option{docker.WithLogger(log)}
	if cfg.Launcher.DockerHost != "" {
		opts = append(opts, docker.WithHost(cfg.Launcher.DockerHost))
	}
	engine, err := docker.New(opts...)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the sidecar image is made of berth's executable: %w", err)
	}
	access := launchAccess{authority}
	// The engine reaches the registry on loopback, where it allows plain
	// HTTP.
	images := launcher.Images{Registry: "127.0.0.1:" + port, Aliases: []string{cfg.Registry.Host}, Account: cfg.AWS.AccountID}
	// The metrics are registered once; in flight is the newest runner's.
	var current atomic.Pointer[lambda.Runner]
	lambdaMetrics, err := lambda.NewMetrics(metrics, func() map[string]int {
		if r := current.Load(); r != nil {
			return r.InFlight()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (launchers, error) {
		runner := ecs.NewRunner(engine, store, access, sidecar.NewImage(engine, exe), ecs.RunnerConfig{
			AccountID:   cfg.AWS.AccountID,
			Region:      cfg.AWS.Region,
			Images:      images,
			StateDir:    cfg.Launcher.StateDir,
			SidecarPool: cfg.Launcher.SidecarPool,
			Logs:        ecsLogs{logStore},
			Log:         log,
		})
		api, err := ecs.New(ctx, store, runner, ecs.Config{
			AccountID: cfg.AWS.AccountID,
			Region:    cfg.AWS.Region,
			Access:    access,
			Services:  ecs.ServiceConfig{DeregistrationDelay: cfg.Launcher.DeregistrationDelay},
			Log:       log,
		})
		if err != nil {
			return launchers{}, err
		}
		l := cfg.Launcher.Lambda
		meter := lambda.NewMeter(store, log)
		lambdaRunner := lambda.NewRunner(engine, lambda.RunnerConfig{
			Region:             cfg.AWS.Region,
			Instance:           instance(cfg.DataDir),
			AccountConcurrency: l.AccountConcurrency,
			IdleTimeout:        l.IdleTimeout,
			Logs:               lambdaLogs{logStore},
			Observe: func(o lambda.Observation) {
				lambdaMetrics.Observe(o)
				meter.Observe(o)
			},
			Log: log,
		})
		current.Store(lambdaRunner)
		lambdaAPI := lambda.New(store, lambdaRunner, lambda.Config{
			AccountID:          cfg.AWS.AccountID,
			Region:             cfg.AWS.Region,
			Images:             images,
			Access:             access,
			AccountConcurrency: l.AccountConcurrency,
			RetryDelay:         l.RetryDelay,
			URLHost:            l.URLHost,
			Authenticate:       authority.AuthenticateAWS(lambda.SigningName),
			Metrics:            lambdaMetrics,
			Meter:              meter,
			Prices:             lambda.Prices{RequestsPerMillion: l.Prices.RequestsPerMillion, GBSecondX86: l.Prices.GBSecondX86, GBSecondARM: l.Prices.GBSecondARM},
			Log:                log,
		})
		batchAPI := batch.New(store, engine, batch.Config{
			AccountID: cfg.AWS.AccountID,
			Region:    cfg.AWS.Region,
			Instance:  instance(cfg.DataDir),
			Images:    images,
			Access:    access,
			Logs:      batchLogs{logStore},
			StopGrace: cfg.Launcher.Batch.StopGrace,
			Retention: cfg.Launcher.Batch.Retention,
			HostCPUs:  runtime.NumCPU(),
			Log:       log,
		})
		return launchers{api: api, runner: runner, lambdaAPI: lambdaAPI, lambdaRunner: lambdaRunner, meter: meter, batchAPI: batchAPI}, nil
	}, nil
}

// instance names this berth on the engine by its data directory, so that
// berths sharing an engine clean up only their own leftovers.
func instance(dataDir string) string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	sum := sha256.Sum256([]byte(dataDir))
	return hex.EncodeToString(sum[:6])
}

// launchAccess is the access control of ECS calls and the registry
// credentials of launches, from the authority.
type launchAccess struct{ a *auth.Authority }

func (l launchAccess) AuthorizeAction(ctx context.Context, action, resourceARN string) error {
	return l.a.AuthorizeAction(ctx, action, resourceARN)
}

func (l launchAccess) Caller(ctx context.Context) launcher.Caller {
	p := auth.PrincipalFrom(ctx)
	return launcher.Caller{User: p.User, ARN: p.ARN, AccessKeyID: p.AccessKeyID}
}

func (l launchAccess) RegistryAuth(ctx context.Context, c launcher.Caller) (launcher.RegistryAuth, error) {
	tok, err := l.a.RegistryToken(ctx, c.User, c.AccessKeyID)
	if err != nil || tok == "" {
		return launcher.RegistryAuth{}, err
	}
	return launcher.RegistryAuth{Username: "AWS", Password: tok}, nil
}

// lambdaLogs is the log store as Lambda's sink: /aws/lambda/<function>,
// created on first use.
type lambdaLogs struct{ s *logs.Store }

func (l lambdaLogs) Open(ctx context.Context, group, stream string) (lambda.LogStream, error) {
	return l.s.Open(ctx, logs.Destination{Group: group, Stream: stream, CreateGroup: true})
}

// ecsLogs is the log store as ECS's sink for awslogs containers.
type ecsLogs struct{ s *logs.Store }

func (l ecsLogs) OpenStream(ctx context.Context, group, stream string, createGroup bool) (ecs.LogWriter, time.Time, error) {
	last, err := l.s.LastEventTime(ctx, group, stream)
	if err != nil {
		return nil, time.Time{}, err
	}
	w, err := l.s.Open(ctx, logs.Destination{Group: group, Stream: stream, CreateGroup: createGroup})
	if err != nil {
		return nil, time.Time{}, err
	}
	return w, last, nil
}

// batchLogs is the log store as Batch's sink: /aws/batch/job, created
// on first use.
type batchLogs struct{ s *logs.Store }

func (l batchLogs) OpenStream(ctx context.Context, group, stream string) (batch.LogWriter, time.Time, error) {
	return ecsLogs(l).OpenStream(ctx, group, stream, true)
}

var _ launcherStore = (metadata.Store)(nil)
