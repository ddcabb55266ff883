package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/launcher/sidecar"
	"github.com/berth-dev/berth/metadata"
)

// launcherStore is what the launcher keeps in the index.
type launcherStore interface {
	ecs.Store
	ecs.TaskStore
}

// ecsLauncher is the launcher as serve wires it: the ECS API, and the
// task runner whose Run is one of serve's loops (both nil when the
// launcher is off).
type ecsLauncher struct {
	api    *ecs.API
	runner *ecs.Runner
}

// Register puts the ECS API on the AWS front door.
func (l ecsLauncher) Register(front *awsjson.Front) {
	if l.api != nil {
		l.api.Register(front)
	}
}

// openLauncher returns the ECS API and its task runner on the Docker
// Engine the configuration names, pulling from this berth's registry on
// 127.0.0.1 at the port it listens on. It does not need the engine to
// answer: until it does, ECS calls that need it say so.
func openLauncher(ctx context.Context, cfg *config.Config, store launcherStore, authority *auth.Authority, logStore *logs.Store, log *slog.Logger) (ecsLauncher, error) {
	if !cfg.Launcher.Enabled {
		return ecsLauncher{}, nil
	}
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil || port == "" || port == "0" {
		return ecsLauncher{}, fmt.Errorf("the engine pulls from 127.0.0.1 at the port berth listens on: listen on a fixed port (listen %q)", cfg.Listen)
	}
	opts := []docker.Option{docker.WithLogger(log)}
	if cfg.Launcher.DockerHost != "" {
		opts = append(opts, docker.WithHost(cfg.Launcher.DockerHost))
	}
	engine, err := docker.New(opts...)
	if err != nil {
		return ecsLauncher{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return ecsLauncher{}, fmt.Errorf("the sidecar image is made of berth's executable: %w", err)
	}
	access := launchAccess{authority}
	runner := ecs.NewRunner(engine, store, access, sidecar.NewImage(engine, exe), ecs.RunnerConfig{
		AccountID: cfg.AWS.AccountID,
		Region:    cfg.AWS.Region,
		// The engine reaches the registry on loopback, where it allows
		// plain HTTP.
		Images:      launcher.Images{Registry: "127.0.0.1:" + port, Aliases: []string{cfg.Registry.Host}, Account: cfg.AWS.AccountID},
		StateDir:    cfg.Launcher.StateDir,
		SidecarPool: cfg.Launcher.SidecarPool,
		Logs:        ecsLogs{logStore},
		Log:         log,
	})
	api, err := ecs.New(ctx, store, runner, ecs.Config{
		AccountID: cfg.AWS.AccountID,
		Region:    cfg.AWS.Region,
		Access:    access,
		Log:       log,
	})
	if err != nil {
		return ecsLauncher{}, err
	}
	return ecsLauncher{api: api, runner: runner}, nil
}

// launchAccess is the access control of ECS calls and the registry
// credentials of launches, from the authority.
type launchAccess struct{ a *auth.Authority }

func (l launchAccess) AuthorizeAction(ctx context.Context, action, resourceARN string) error {
	return l.a.AuthorizeAction(ctx, action, resourceARN)
}

func (l launchAccess) Caller(ctx context.Context) ecs.Caller {
	p := auth.PrincipalFrom(ctx)
	return ecs.Caller{User: p.User, ARN: p.ARN, AccessKeyID: p.AccessKeyID}
}

func (l launchAccess) RegistryAuth(ctx context.Context, c ecs.Caller) (launcher.RegistryAuth, error) {
	tok, err := l.a.RegistryToken(ctx, c.User, c.AccessKeyID)
	if err != nil || tok == "" {
		return launcher.RegistryAuth{}, err
	}
	return launcher.RegistryAuth{Username: "AWS", Password: tok}, nil
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

var _ launcherStore = (metadata.Store)(nil)
