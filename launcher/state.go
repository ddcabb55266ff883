package launcher

import "time"

// Status is a container's engine state.
type Status string

// Container states, as the Docker Engine names them.
const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusRemoving   Status = "removing"
	StatusExited     Status = "exited"
	StatusDead       Status = "dead"
)

// Health is a container's health status; empty when it has no check.
type Health string

// Health states.
const (
	HealthNone      Health = ""
	HealthStarting  Health = "starting"
	HealthHealthy   Health = "healthy"
	HealthUnhealthy Health = "unhealthy"
)

// Exit is how a container ended.
type Exit struct {
	// Code is the process's exit code; 128+n after signal n (137: SIGKILL,
	// which is also what an OOM kill shows).
	Code int
	// OOMKilled says the kernel killed the container for its memory limit.
	// [Runtime.Wait] also counts an OOM notice the engine got after the
	// exit; [Runtime.Inspect] reports only what the engine's state says.
	OOMKilled bool
	// Error is the engine's message when the process could not run at all.
	Error string
	// FinishedAt is when it stopped.
	FinishedAt time.Time
}

// State is a container as [Runtime.Inspect] reports it.
type State struct {
	ID     string
	Name   string
	Image  string // the image name it was created from
	Labels map[string]string
	Status Status
	// Exit is meaningful once Status is exited or dead.
	Exit       Exit
	StartedAt  time.Time
	Health     Health
	Ports      []PortBinding
	Limits     Limits
	Network    NetworkMode
	CreatedAt  time.Time
	Restarting bool
}

// Running reports whether the container's process is alive.
func (s State) Running() bool { return s.Status == StatusRunning || s.Status == StatusPaused }

// Owner is what the berth.* labels say about the container.
func (s State) Owner() Owner { return OwnerOf(s.Labels) }

// PortBinding is a container port published on the host.
type PortBinding struct {
	ContainerPort uint16
	Protocol      string
	HostIP        string
	HostPort      uint16
}

// Container is one entry of [Runtime.List].
type Container struct {
	ID        string
	Name      string
	Image     string
	Labels    map[string]string
	Status    Status
	CreatedAt time.Time
}

// Owner is what the berth.* labels say about the container.
func (c Container) Owner() Owner { return OwnerOf(c.Labels) }

// Stream tells a container's stdout from its stderr.
type Stream uint8

// Output streams.
const (
	Stdout Stream = 1
	Stderr Stream = 2
)

func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "unknown"
}

// LogOptions choose what [LogSource.Logs] reads.
type LogOptions struct {
	// Follow keeps reading new output until the container stops.
	Follow bool
	// Since skips lines older than this; zero reads from the start.
	Since time.Time
}

// LogLine is one line of a container's output.
type LogLine struct {
	Stream Stream
	// Time is when the engine read the line.
	Time time.Time
	// Text is the line without its newline.
	Text string
	// Partial says the line was longer than the engine's buffer (16 KiB for
	// Docker): its text goes on in the next LogLine of the same stream.
	Partial bool
}

// EventKind is what happened to a container.
type EventKind string

// Event kinds.
const (
	// EventExit: the container's process ended (Docker's "die").
	EventExit EventKind = "exit"
	// EventOOM: the kernel killed a process for the memory limit. When it
	// was the main process there is also an EventExit (code 137), which
	// some engines report first.
	EventOOM EventKind = "oom"
	// EventHealth: the health status changed.
	EventHealth EventKind = "health"
)

// EventOptions choose what [EventSource.Events] reports.
type EventOptions struct {
	// Labels every reported container carries (berth.managed is implied).
	Labels map[string]string
	// Since replays the events from this time on; zero reports only new ones.
	Since time.Time
}

// Event is a container exit, OOM kill or health change.
type Event struct {
	Kind   EventKind
	ID     string
	Labels map[string]string
	Time   time.Time
	// ExitCode is set for EventExit.
	ExitCode int
	// Health is set for EventHealth.
	Health Health
}
