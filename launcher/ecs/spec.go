package ecs

import (
	"context"
	"maps"
	"strconv"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/sidecar"
)

// containerSpec maps container i of the task onto the engine: ECS's
// fields as the reference's table maps them, the ECS environment, and
// the network of the task's mode.
func (t *taskRun) containerSpec(i int, image string) launcher.Spec {
	def := &t.rec.Definition
	c := def.ContainerDefinitions[i]
	spec := launcher.Spec{
		Name:       engineName(def, c.Name, t.id()),
		Image:      image,
		Entrypoint: c.EntryPoint,
		Cmd:        c.Command,
		Env:        t.environment(i),
		WorkingDir: c.WorkingDirectory,
		User:       c.User,
		Owner:      launcher.Owner{Service: launcher.ServiceECS, Task: t.id(), Container: c.Name},
		Labels:     t.labels(i),
		Limits:     t.limits(i),
	}
	if c.ReadonlyRootFilesystem != nil {
		spec.ReadOnlyRootfs = *c.ReadonlyRootFilesystem
	}
	if h := c.HealthCheck; h != nil {
		spec.Health = &launcher.HealthCheck{Test: h.Command, Interval: seconds(h.Interval), Timeout: seconds(h.Timeout),
			StartPeriod: seconds(h.StartPeriod)}
		if h.Retries != nil {
			spec.Health.Retries = *h.Retries
		}
	}
	switch def.effectiveNetworkMode() {
	case networkAwsvpc:
		spec.Network = launcher.JoinContainer(t.rec.Sidecar)
	case networkHost:
		spec.Network = launcher.NetworkHost
	case networkNone:
		spec.Network = launcher.NetworkNone
	default:
		for _, p := range c.PortMappings {
			spec.Ports = append(spec.Ports, launcher.PortMapping{ContainerPort: uint16(p.ContainerPort), HostPort: uint16(p.HostPort), Protocol: p.Protocol})
		}
	}
	return spec
}

func seconds(s *int) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s) * time.Second
}

// environment is container i's environment: the ECS variables a real
// container has on top of the definition's (which may set the region
// variables, never the others).
func (t *taskRun) environment(i int) map[string]string {
	def := &t.rec.Definition
	env := map[string]string{"AWS_REGION": t.r.cfg.Region, "AWS_DEFAULT_REGION": t.r.cfg.Region}
	for _, kv := range def.ContainerDefinitions[i].Environment {
		env[kv.Name] = kv.Value
	}
	env["AWS_EXECUTION_ENV"] = "AWS_ECS_EC2"
	if t.rec.Task.LaunchType == launchFargate {
		env["AWS_EXECUTION_ENV"] = "AWS_ECS_FARGATE"
	}
	if def.NetworkMode == networkAwsvpc {
		env["ECS_CONTAINER_METADATA_URI_V4"] = sidecar.MetadataURI(t.rec.Containers[i].MetadataKey)
	}
	return env
}

// labels are the definition's docker labels and those the ECS agent
// puts on a task's containers.
func (t *taskRun) labels(i int) map[string]string {
	def := &t.rec.Definition
	l := maps.Clone(def.ContainerDefinitions[i].DockerLabels)
	if l == nil {
		l = map[string]string{}
	}
	l["com.amazonaws.ecs.cluster"] = t.rec.Task.ClusterArn
	l["com.amazonaws.ecs.container-name"] = def.ContainerDefinitions[i].Name
	l["com.amazonaws.ecs.task-arn"] = t.rec.Task.TaskArn
	l["com.amazonaws.ecs.task-definition-family"] = def.Family
	l["com.amazonaws.ecs.task-definition-version"] = strconv.Itoa(def.Revision)
	return l
}

const mib = 1 << 20

// limits are container i's: its own cpu shares and memory, within the
// task's cpu and memory when the task has them (as Fargate's always
// do). The engine has no limit shared by several containers, so each
// container gets the task's whole size.
func (t *taskRun) limits(i int) launcher.Limits {
	def := &t.rec.Definition
	c := def.ContainerDefinitions[i]
	var l launcher.Limits
	if c.Cpu > 0 {
		l.CPUShares = int64(max(c.Cpu, 2)) // the engine's minimum
	}
	if c.Memory != nil {
		l.Memory = int64(*c.Memory) * mib
	}
	if c.MemoryReservation != nil {
		l.MemoryReservation = int64(*c.MemoryReservation) * mib
	}
	if cpu, ok := parseCPU(def.Cpu); ok {
		l.NanoCPUs = int64(cpu) * 1e9 / 1024
	}
	if mem, ok := parseMemory(def.Memory); ok {
		if task := int64(mem) * mib; l.Memory == 0 || l.Memory > task {
			l.Memory = task
		}
	}
	if l.Memory > 0 && l.MemoryReservation > l.Memory {
		l.MemoryReservation = l.Memory
	}
	return l
}

// bindings records the ports container i published, once it runs: the
// engine's free port for a hostPort of 0 (bridge), the container port
// itself (host). In awsvpc the sidecar publishes them.
func (t *taskRun) bindings(ctx context.Context, i int) {
	def := &t.rec.Definition
	c := def.ContainerDefinitions[i]
	if len(c.PortMappings) == 0 {
		return
	}
	wc := &t.rec.Task.Containers[i]
	switch def.effectiveNetworkMode() {
	case networkHost:
		for _, p := range c.PortMappings {
			wc.NetworkBindings = append(wc.NetworkBindings, NetworkBinding{BindIP: "0.0.0.0", ContainerPort: p.ContainerPort, HostPort: p.ContainerPort, Protocol: p.Protocol})
		}
	case networkBridge:
		st, err := t.r.engine.Inspect(ctx, t.rec.Containers[i].ID)
		if err != nil {
			t.r.log.Warn("ecs: reading a container's ports", "task", t.id(), "container", c.Name, "err", err)
			return
		}
		for _, b := range st.Ports {
			wc.NetworkBindings = append(wc.NetworkBindings, NetworkBinding{BindIP: b.HostIP, ContainerPort: int(b.ContainerPort), HostPort: int(b.HostPort), Protocol: b.Protocol})
		}
	}
}
