// Package docker is berth's [launcher.Runtime] on a Docker Engine, through
// the engine's HTTP API with github.com/moby/moby/client. It is the only
// package in berth that imports the Docker client: changes of that 0.x API
// stay here, and everything above it sees launcher's types.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/berth-dev/berth/launcher"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Runtime runs containers on one Docker Engine. It implements
// [launcher.Runtime], [launcher.LogSource], [launcher.EventSource] and
// [launcher.ImageStore]; it is safe for concurrent use.
type Runtime struct {
	c   *client.Client
	log *slog.Logger
	// cgroupRoot is where the engine's container cgroups can be read on
	// this machine; "" when the engine is elsewhere.
	cgroupRoot string
}

var (
	_ launcher.Runtime     = (*Runtime)(nil)
	_ launcher.LogSource   = (*Runtime)(nil)
	_ launcher.EventSource = (*Runtime)(nil)
	_ launcher.ImageStore  = (*Runtime)(nil)
)

// Option configures New.
type Option func(*options)

type options struct {
	host string
	log  *slog.Logger
}

// WithHost talks to the engine at host ("unix:///var/run/docker.sock",
// "tcp://127.0.0.1:2375") instead of DOCKER_HOST or the default socket.
func WithHost(host string) Option { return func(o *options) { o.host = host } }

// WithLogger logs through l.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New returns a Runtime for the engine that DOCKER_HOST (and the other
// DOCKER_* variables) name, or the default socket. It does not connect:
// [Runtime.Ping] does. The API version is negotiated on first use, so any
// engine from API 1.40 (Docker 19.03) on works.
func New(opts ...Option) (*Runtime, error) {
	o := options{log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	copts := []client.Opt{client.FromEnv}
	if o.host != "" {
		copts = append(copts, client.WithHost(o.host))
	}
	c, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	rt := &Runtime{c: c, log: o.log}
	if strings.HasPrefix(c.DaemonHost(), "unix://") {
		// An engine on a local socket runs its containers in this
		// machine's cgroups (MemoryPeak reads them, and falls back on the
		// engine when they are not there, as inside a container).
		rt.cgroupRoot = "/sys/fs/cgroup"
	}
	return rt, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.c.Close() }

// Ping checks that the engine answers; [launcher.ErrUnavailable] when not.
func (r *Runtime) Ping(ctx context.Context) error {
	_, err := r.c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	return engineErr(err, nil)
}

// engineError is an engine failure with the engine's message, matching
// the launcher sentinel kind under errors.Is.
type engineError struct {
	kind error
	err  error
}

func (e *engineError) Error() string { return message(e.err) }
func (e *engineError) Unwrap() error { return e.err }
func (e *engineError) Is(target error) bool {
	return target == e.kind
}

// message is the engine's own words, without the client's preamble.
func message(err error) string {
	return strings.TrimPrefix(err.Error(), "Error response from daemon: ")
}

// engineErr classifies err: an unreachable engine, and then by the HTTP
// status the engine answered with; notFound is the sentinel a 404 means
// for the call (nil: leave it unclassified).
func engineErr(err error, notFound error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case client.IsErrConnectionFailed(err):
		return &engineError{kind: launcher.ErrUnavailable, err: err}
	case cerrdefs.IsNotFound(err) && notFound != nil:
		return &engineError{kind: notFound, err: err}
	case cerrdefs.IsConflict(err):
		return &engineError{kind: launcher.ErrConflict, err: err}
	}
	return &engineError{err: err}
}

// drain reads an engine progress stream (load, pull) to its end and
// returns the first error it reports.
func drain(ctx context.Context, body io.Reader) error {
	dec := newMessageDecoder(body)
	for {
		msg, err := dec()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
	}
}
