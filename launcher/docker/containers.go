package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/launcher"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// loopback is where every port is published: nothing berth runs is
// reachable from other machines, and nothing needs the bridge's address.
var loopback = netip.MustParseAddr("127.0.0.1")

// Create implements [launcher.Runtime].
func (r *Runtime) Create(ctx context.Context, spec launcher.Spec) (string, error) {
	if err := spec.Validate(); err != nil {
		return "", err
	}
	cfg, host, err := toEngine(spec)
	if err != nil {
		return "", err
	}
	res, err := r.c.ContainerCreate(ctx, client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: host})
	if err != nil {
		// A 404 is the image, or the container whose namespace it joins.
		notFound := launcher.ErrNotFound
		if strings.Contains(strings.ToLower(err.Error()), "no such image") {
			notFound = launcher.ErrImageNotFound
		}
		if cerrdefs.IsInvalidArgument(err) {
			return "", fmt.Errorf("create %s: %w", spec.Image, &engineError{kind: launcher.ErrInvalidSpec, err: err})
		}
		return "", fmt.Errorf("create %s: %w", spec.Image, engineErr(err, notFound))
	}
	r.log.Debug("container created", "container", res.ID, "image", spec.Image, "name", spec.Name)
	return res.ID, nil
}

// toEngine maps a launcher spec onto the engine's create request.
func toEngine(spec launcher.Spec) (*container.Config, *container.HostConfig, error) {
	labels := spec.Owner.Labels()
	maps.Copy(labels, spec.Labels)
	labels[launcher.LabelManaged] = "true"
	cfg := &container.Config{
		Image:      spec.Image,
		Entrypoint: spec.Entrypoint,
		Cmd:        spec.Cmd,
		WorkingDir: spec.WorkingDir,
		User:       spec.User,
		Labels:     labels,
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		cfg.Env = append(cfg.Env, k+"="+spec.Env[k])
	}
	if h := spec.Health; h != nil {
		cfg.Healthcheck = &container.HealthConfig{
			Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries,
		}
	}
	host := &container.HostConfig{
		NetworkMode:    container.NetworkMode(spec.Network),
		ReadonlyRootfs: spec.ReadOnlyRootfs,
		Tmpfs:          spec.Tmpfs,
		Resources: container.Resources{
			CPUShares:         spec.Limits.CPUShares,
			NanoCPUs:          spec.Limits.NanoCPUs,
			Memory:            spec.Limits.Memory,
			MemoryReservation: spec.Limits.MemoryReservation,
		},
	}
	if spec.Limits.Memory > 0 {
		// No swap on top, as on Fargate: over the limit is an OOM kill.
		host.Resources.MemorySwap = spec.Limits.Memory
	}
	for _, b := range spec.Binds {
		bind := b.Source + ":" + b.Target
		if b.ReadOnly {
			bind += ":ro"
		}
		host.Binds = append(host.Binds, bind)
	}
	if len(spec.Ports) > 0 {
		cfg.ExposedPorts = network.PortSet{}
		host.PortBindings = network.PortMap{}
	}
	for _, p := range spec.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		port, err := network.ParsePort(fmt.Sprintf("%d/%s", p.ContainerPort, proto))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", launcher.ErrInvalidSpec, err)
		}
		hostPort := ""
		if p.HostPort != 0 {
			hostPort = strconv.Itoa(int(p.HostPort))
		}
		cfg.ExposedPorts[port] = struct{}{}
		host.PortBindings[port] = append(host.PortBindings[port], network.PortBinding{HostIP: loopback, HostPort: hostPort})
	}
	return cfg, host, nil
}

// Start implements [launcher.Runtime].
func (r *Runtime) Start(ctx context.Context, id string) error {
	if _, err := r.c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", short(id), engineErr(err, launcher.ErrNotFound))
	}
	return nil
}

// Wait implements [launcher.Runtime].
func (r *Runtime) Wait(ctx context.Context, id string) (launcher.Exit, error) {
	res := r.c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-res.Result:
	case err := <-res.Error:
		return launcher.Exit{}, fmt.Errorf("wait %s: %w", short(id), engineErr(err, launcher.ErrNotFound))
	}
	// The wait answer has the code but not the OOM kill nor the time.
	st, err := r.Inspect(ctx, id)
	if err != nil {
		return launcher.Exit{}, err
	}
	if st.Exit.Code == 137 && !st.Exit.OOMKilled && st.Limits.Memory > 0 {
		// The kernel's OOM notice can reach the engine after the exit, and
		// then the engine's state never says OOMKilled (Docker 20.10 on
		// cgroup v1 does this); its "oom" event is still logged.
		st.Exit.OOMKilled, err = r.oomSeen(ctx, id, st.StartedAt)
		if err != nil {
			return launcher.Exit{}, err
		}
	}
	return st.Exit, nil
}

// oomLate is how long after an exit an OOM event may still come: on a
// loaded machine it was seen more than a second late (ECS's runner waits
// as long).
const oomLate = 5 * time.Second

// oomSeen reports whether the engine logged an OOM event for container
// id since it started, waiting oomLate for a late one.
func (r *Runtime) oomSeen(ctx context.Context, id string, since time.Time) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := r.c.Events(ctx, client.EventsListOptions{
		Since:   unixNano(since),
		Until:   unixNano(time.Now().Add(oomLate)),
		Filters: client.Filters{}.Add("type", "container").Add("container", id).Add("event", "oom"),
	})
	for {
		select {
		case <-res.Messages:
			return true, nil
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				return false, nil // the stream ended at Until
			}
			return false, fmt.Errorf("wait %s: %w", short(id), engineErr(err, nil))
		}
	}
}

// Stop implements [launcher.Runtime].
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int((grace + time.Second - 1) / time.Second) // the engine counts whole seconds
	if _, err := r.c.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		return fmt.Errorf("stop %s: %w", short(id), engineErr(err, launcher.ErrNotFound))
	}
	return nil
}

// Remove implements [launcher.Runtime].
func (r *Runtime) Remove(ctx context.Context, id string) error {
	if _, err := r.c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		return fmt.Errorf("remove %s: %w", short(id), engineErr(err, launcher.ErrNotFound))
	}
	return nil
}

// Inspect implements [launcher.Runtime].
func (r *Runtime) Inspect(ctx context.Context, id string) (launcher.State, error) {
	res, err := r.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return launcher.State{}, fmt.Errorf("inspect %s: %w", short(id), engineErr(err, launcher.ErrNotFound))
	}
	c := res.Container
	st := launcher.State{
		ID:        c.ID,
		Name:      strings.TrimPrefix(c.Name, "/"),
		CreatedAt: parseTime(c.Created),
	}
	if c.Config != nil {
		st.Image = c.Config.Image
		st.Labels = c.Config.Labels
	}
	if s := c.State; s != nil {
		st.Status = launcher.Status(s.Status)
		st.Restarting = s.Restarting
		st.StartedAt = parseTime(s.StartedAt)
		if s.Health != nil {
			st.Health = launcher.Health(s.Health.Status)
		}
		if !s.Running && !s.Restarting {
			st.Exit = launcher.Exit{Code: s.ExitCode, OOMKilled: s.OOMKilled, Error: s.Error, FinishedAt: parseTime(s.FinishedAt)}
		}
	}
	if h := c.HostConfig; h != nil {
		st.Network = launcher.NetworkMode(h.NetworkMode)
		if st.Network == "default" {
			st.Network = launcher.NetworkDefault
		}
		st.Limits = launcher.Limits{
			CPUShares: h.CPUShares, NanoCPUs: h.NanoCPUs, Memory: h.Memory, MemoryReservation: h.MemoryReservation,
		}
	}
	if n := c.NetworkSettings; n != nil {
		for port, bindings := range n.Ports {
			for _, b := range bindings {
				hp, _ := strconv.ParseUint(b.HostPort, 10, 16)
				ip := ""
				if b.HostIP.IsValid() {
					ip = b.HostIP.String()
				}
				st.Ports = append(st.Ports, launcher.PortBinding{
					ContainerPort: port.Num(), Protocol: string(port.Proto()), HostIP: ip, HostPort: uint16(hp),
				})
			}
		}
		slices.SortFunc(st.Ports, func(a, b launcher.PortBinding) int {
			if c := int(a.ContainerPort) - int(b.ContainerPort); c != 0 {
				return c
			}
			return strings.Compare(a.Protocol, b.Protocol)
		})
	}
	return st, nil
}

// List implements [launcher.Runtime].
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]launcher.Container, error) {
	res, err := r.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: labelFilters(labels)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", engineErr(err, nil))
	}
	out := make([]launcher.Container, 0, len(res.Items))
	for _, c := range res.Items {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, launcher.Container{
			ID: c.ID, Name: name, Image: c.Image, Labels: c.Labels,
			Status: launcher.Status(c.State), CreatedAt: time.Unix(c.Created, 0),
		})
	}
	return out, nil
}

// labelFilters selects berth's containers with every pair of labels.
func labelFilters(labels map[string]string) client.Filters {
	f := client.Filters{}.Add("label", launcher.LabelManaged+"=true")
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	return f
}

// parseTime reads an engine time stamp; the engine's zero time (and any
// unreadable one) is the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

// short is a container id as logs and errors show it.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
