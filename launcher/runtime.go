package launcher

import (
	"context"
	"io"
	"iter"
	"time"
)

// Runtime runs containers on a container engine. Container ids are the
// engine's; every method that takes one returns [ErrNotFound] when the
// engine has no such container. Errors carry the engine's own message,
// since that is what ECS, Lambda and Batch show as a stop reason.
type Runtime interface {
	// Pull fetches image (a name [Images.Resolve] produced) with auth, the
	// credentials the engine presents to the registry (the zero value pulls
	// anonymously). It returns once the image is present, or a *[PullError]
	// (errors.Is [ErrImageNotFound] when the registry has no such image)
	// with the engine's message; it never waits for a registry that
	// answered.
	Pull(ctx context.Context, image string, auth RegistryAuth) error
	// Create makes a container from spec without starting it and returns
	// its id. It fails with [ErrInvalidSpec] for a spec berth refuses,
	// [ErrImageNotFound] when the image is not present (pull it first) and
	// [ErrConflict] when spec.Name is taken.
	Create(ctx context.Context, spec Spec) (string, error)
	// Start starts a created container. A process that cannot be started
	// (missing entrypoint, bad working directory) fails here with the
	// engine's message.
	Start(ctx context.Context, id string) error
	// Wait blocks until the started container id is not running and
	// reports how it ended. Call it after Start: a created container that
	// was never started counts as not running.
	Wait(ctx context.Context, id string) (Exit, error)
	// Stop sends the container's stop signal (SIGTERM unless the image
	// says otherwise) and, after grace, SIGKILL. Stopping a container
	// that is not running is not an error.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Inspect reports the container's state as the engine sees it now.
	Inspect(ctx context.Context, id string) (State, error)
	// Remove deletes the container, killing it if it still runs, and its
	// anonymous volumes.
	Remove(ctx context.Context, id string) error
	// List returns the berth-managed containers (running or not) whose
	// labels include every pair of labels; it is how berth finds its
	// containers again after a restart.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
}

// LogSource is a [Runtime] that can read a container's output.
type LogSource interface {
	// Logs yields the container's output one line at a time, stdout and
	// stderr told apart, each line with the engine's timestamp. With
	// opts.Follow it keeps yielding until the container stops or ctx ends.
	// An error ends the sequence; [ErrNotFound] when id is unknown.
	Logs(ctx context.Context, id string, opts LogOptions) iter.Seq2[LogLine, error]
}

// EventSource is a [Runtime] that reports container exits and health
// changes as they happen, so that berth need not poll.
type EventSource interface {
	// Events yields the exit, OOM and health events of berth-managed
	// containers whose labels include every pair of opts.Labels, from
	// opts.Since (zero: from now) until ctx ends or the stream breaks
	// (the error is yielded last). A consumer that resubscribes after an
	// error passes the time of the last event it saw as Since.
	Events(ctx context.Context, opts EventOptions) iter.Seq2[Event, error]
}

// ImageStore is a [Runtime] that can take an image from berth directly
// rather than from a registry: the task sidecar's image is built from
// berth's own executable and loaded this way, since nothing can be pulled.
type ImageStore interface {
	// LoadImage loads an image archive (the layout `docker save` writes)
	// and returns once the engine has stored it, or with the engine's
	// message when it refused the archive.
	LoadImage(ctx context.Context, archive io.Reader) error
	// ImageID returns the id of the image named ref, or [ErrImageNotFound].
	ImageID(ctx context.Context, ref string) (string, error)
	// RemoveImage deletes the image ref (a name or id) and its untagged
	// parents; [ErrImageNotFound] when there is none, [ErrConflict] when a
	// container still uses it.
	RemoveImage(ctx context.Context, ref string) error
}

// StatsSource is a [Runtime] that can tell how much memory a container
// has used (Lambda's "Max Memory Used").
type StatsSource interface {
	// MemoryPeak returns the most memory in bytes the container has used
	// since it started, as its cgroup counts it; an engine that keeps no
	// peak (cgroup v2 before memory.peak) reports the current use.
	// [ErrNotFound] when id is unknown.
	MemoryPeak(ctx context.Context, id string) (uint64, error)
}
