package launcher

import (
	"fmt"
	"path"
	"strings"
	"time"
)

// Spec describes a container to create. Only Image is required; the zero
// value of every other field means the image's or the engine's default.
type Spec struct {
	// Name is the engine-wide container name; empty lets the engine pick.
	Name string
	// Image is the image to run, as [Images.Resolve] returns it.
	Image string
	// Entrypoint and Cmd override the image's ENTRYPOINT and CMD when set.
	Entrypoint []string
	Cmd        []string
	// Env is the process environment on top of the image's.
	Env map[string]string
	// WorkingDir overrides the image's working directory.
	WorkingDir string
	// User runs the process as this user (name, uid or uid:gid).
	User string
	// Owner says what the container belongs to; Create writes it as berth.*
	// labels (with berth.managed=true), from which [Runtime.List] finds it.
	Owner Owner
	// Labels are extra labels; names with the berth. prefix are refused
	// ([ErrInvalidSpec]) so that no user label can forge ownership.
	Labels map[string]string
	// Limits caps CPU and memory.
	Limits Limits
	// Ports are published on 127.0.0.1 only. A container that joins
	// another one's network namespace cannot publish: publish on the one
	// that holds the namespace (the task sidecar).
	Ports []PortMapping
	// Health is the container's health check; nil keeps the image's.
	Health *HealthCheck
	// Network is the network the container is on; the zero value is the
	// engine's default bridge.
	Network NetworkMode
	// ReadOnlyRootfs mounts the image's filesystem read-only (Lambda).
	ReadOnlyRootfs bool
	// Tmpfs mounts a tmpfs at each key, with the value's mount options
	// ("size=512m"); Lambda's writable /tmp.
	Tmpfs map[string]string
	// Binds mount host paths into the container.
	Binds []Bind
}

// Limits are a container's CPU and memory limits; zero means unlimited.
type Limits struct {
	// CPUShares is the relative CPU weight (ECS container cpu, Batch VCPU·1024).
	CPUShares int64
	// NanoCPUs is a hard CPU limit in billionths of a CPU (ECS task cpu/1024·1e9).
	NanoCPUs int64
	// Memory is the hard memory limit in bytes; the container gets no swap
	// beyond it, as on Fargate, so going over it is an OOM kill.
	Memory int64
	// MemoryReservation is the soft limit in bytes (ECS memoryReservation).
	MemoryReservation int64
}

// PortMapping publishes a container port on 127.0.0.1.
type PortMapping struct {
	// ContainerPort is the port inside the container (1–65535).
	ContainerPort uint16
	// HostPort is the port on 127.0.0.1; 0 lets the engine pick a free one,
	// which [State.Ports] then reports.
	HostPort uint16
	// Protocol is "tcp" (the default) or "udp".
	Protocol string
}

// HealthCheck is a container health check in Docker's (and ECS's) form.
type HealthCheck struct {
	// Test is ["CMD", exe, args...] or ["CMD-SHELL", command].
	Test []string
	// Interval, Timeout and StartPeriod are the engine's defaults when zero.
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	// Retries is the number of failures in a row that make the container
	// unhealthy; zero is the engine's default.
	Retries int
}

// NetworkMode is the network a container is attached to: the default
// bridge (the zero value), [NetworkHost], [NetworkNone], a network by name,
// or another container's namespace ([JoinContainer]).
type NetworkMode string

// Network modes.
const (
	NetworkDefault NetworkMode = ""
	NetworkHost    NetworkMode = "host"
	NetworkNone    NetworkMode = "none"
)

// JoinContainer is the network mode that shares the network namespace of
// container id (ECS awsvpc: a task's containers join its sidecar and reach
// each other on localhost).
func JoinContainer(id string) NetworkMode { return NetworkMode("container:" + id) }

// Joined returns the container whose namespace m joins, if it does.
func (m NetworkMode) Joined() (string, bool) {
	return strings.CutPrefix(string(m), "container:")
}

// Bind mounts the host path Source at Target in the container.
type Bind struct {
	Source   string
	Target   string
	ReadOnly bool
}

// Validate reports what berth refuses in s, wrapped in [ErrInvalidSpec];
// a Runtime calls it before it asks the engine.
func (s Spec) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if s.Image == "" {
		add("no image")
	}
	for k := range s.Labels {
		if strings.HasPrefix(k, LabelPrefix) {
			add("label %q: the %s prefix is berth's own", k, LabelPrefix)
		}
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add("environment variable %q: a name may not be empty or hold '=' or NUL", k)
		}
	}
	if l := s.Limits; l.CPUShares < 0 || l.NanoCPUs < 0 || l.Memory < 0 || l.MemoryReservation < 0 {
		add("negative limit")
	} else if l.Memory > 0 && l.MemoryReservation > l.Memory {
		add("memory reservation %d is above the memory limit %d", l.MemoryReservation, l.Memory)
	}
	joined, isJoin := s.Network.Joined()
	if isJoin && joined == "" {
		add("network mode %q names no container", s.Network)
	}
	for _, p := range s.Ports {
		if p.ContainerPort == 0 {
			add("port mapping with container port 0")
		}
		if p.Protocol != "" && p.Protocol != "tcp" && p.Protocol != "udp" {
			add("port %d: protocol %q is neither tcp nor udp", p.ContainerPort, p.Protocol)
		}
	}
	if len(s.Ports) > 0 && (isJoin || s.Network == NetworkHost || s.Network == NetworkNone) {
		add("network mode %q cannot publish ports", s.Network)
	}
	if h := s.Health; h != nil {
		if len(h.Test) == 0 || (h.Test[0] != "CMD" && h.Test[0] != "CMD-SHELL" && h.Test[0] != "NONE") {
			add("health check %q: the test must start with CMD, CMD-SHELL or NONE", h.Test)
		}
		if h.Interval < 0 || h.Timeout < 0 || h.StartPeriod < 0 || h.Retries < 0 {
			add("health check with a negative setting")
		}
	}
	for _, b := range s.Binds {
		if !path.IsAbs(b.Source) || !path.IsAbs(b.Target) {
			add("bind %q:%q: both paths must be absolute", b.Source, b.Target)
		}
		if strings.Contains(b.Source, ":") || strings.Contains(b.Target, ":") {
			add("bind %q:%q: a path may not hold ':'", b.Source, b.Target)
		}
	}
	for p := range s.Tmpfs {
		if !path.IsAbs(p) {
			add("tmpfs %q: the path must be absolute", p)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidSpec, strings.Join(problems, "; "))
}
