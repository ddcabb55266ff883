package ecs

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/berth-dev/berth/launcher/sidecar"
)

// The task metadata endpoint (v4), as ECS serves it: the task's JSON at
// ${ECS_CONTAINER_METADATA_URI_V4}/task, each container's at the URI
// itself. The runner writes them into the task's directory, which the
// sidecar serves inside the task's namespace.

type taskMetadata struct {
	Cluster          string              `json:"Cluster"`
	TaskARN          string              `json:"TaskARN"`
	Family           string              `json:"Family"`
	Revision         string              `json:"Revision"`
	DesiredStatus    string              `json:"DesiredStatus"`
	KnownStatus      string              `json:"KnownStatus"`
	Limits           *limitsMetadata     `json:"Limits,omitempty"`
	PullStartedAt    string              `json:"PullStartedAt,omitempty"`
	PullStoppedAt    string              `json:"PullStoppedAt,omitempty"`
	AvailabilityZone string              `json:"AvailabilityZone"`
	LaunchType       string              `json:"LaunchType"`
	Containers       []containerMetadata `json:"Containers"`
}

type limitsMetadata struct {
	CPU    float64 `json:"CPU"`
	Memory int     `json:"Memory,omitempty"`
}

type containerMetadata struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID,omitempty"`
	Labels        map[string]string `json:"Labels"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	Limits        limitsMetadata    `json:"Limits"`
	CreatedAt     string            `json:"CreatedAt,omitempty"`
	StartedAt     string            `json:"StartedAt,omitempty"`
	Type          string            `json:"Type"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Networks      []networkMetadata `json:"Networks"`
	Ports         []portMetadata    `json:"Ports,omitempty"`
	ContainerARN  string            `json:"ContainerARN"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
}

type networkMetadata struct {
	NetworkMode   string   `json:"NetworkMode"`
	IPv4Addresses []string `json:"IPv4Addresses"`
}

type portMetadata struct {
	ContainerPort int    `json:"ContainerPort"`
	Protocol      string `json:"Protocol"`
	HostPort      int    `json:"HostPort"`
	HostIP        string `json:"HostIp"`
}

func metadataTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// taskMetadata is the task's metadata document.
func (t *taskRun) taskMetadata() taskMetadata {
	def, task := &t.rec.Definition, &t.rec.Task
	m := taskMetadata{
		Cluster: task.ClusterArn, TaskARN: task.TaskArn, Family: def.Family, Revision: strconv.Itoa(def.Revision),
		DesiredStatus: task.DesiredStatus, KnownStatus: task.LastStatus,
		PullStartedAt: metadataTime(task.PullStartedAt.Time), PullStoppedAt: metadataTime(task.PullStoppedAt.Time),
		AvailabilityZone: task.AvailabilityZone, LaunchType: task.LaunchType,
		Containers: []containerMetadata{},
	}
	cpu, cpuOK := parseCPU(def.Cpu)
	mem, _ := parseMemory(def.Memory)
	if cpuOK || mem > 0 {
		m.Limits = &limitsMetadata{CPU: float64(cpu) / 1024, Memory: mem}
	}
	for i := range def.ContainerDefinitions {
		m.Containers = append(m.Containers, t.containerMetadata(i))
	}
	return m
}

// containerMetadata is container i's metadata document.
func (t *taskRun) containerMetadata(i int) containerMetadata {
	def, task := &t.rec.Definition, &t.rec.Task
	c, wc, cs := def.ContainerDefinitions[i], task.Containers[i], t.rec.Containers[i]
	l := t.limits(i)
	m := containerMetadata{
		DockerID: cs.ID, Name: c.Name, DockerName: engineName(def, c.Name, t.id()), Image: c.Image, ImageID: cs.ImageID,
		Labels: t.labels(i), DesiredStatus: task.DesiredStatus, KnownStatus: wc.LastStatus,
		Limits: limitsMetadata{CPU: float64(c.Cpu), Memory: int(l.Memory / mib)}, StartedAt: metadataTime(cs.StartedAt),
		Type: "NORMAL", ExitCode: wc.ExitCode, ContainerARN: wc.ContainerArn,
		Networks: []networkMetadata{{NetworkMode: networkAwsvpc, IPv4Addresses: []string{"127.0.0.1"}}},
	}
	if task.LastStatus != StatusProvisioning {
		m.CreatedAt = metadataTime(task.PullStoppedAt.Time)
	}
	for _, b := range wc.NetworkBindings {
		m.Ports = append(m.Ports, portMetadata{ContainerPort: b.ContainerPort, Protocol: b.Protocol, HostPort: b.HostPort, HostIP: b.BindIP})
	}
	if lc := c.LogConfiguration; lc != nil {
		m.LogDriver, m.LogOptions = lc.LogDriver, lc.Options
		if lc.LogDriver == "awslogs" {
			m.LogOptions = map[string]string{"awslogs-stream": t.logStream(i)}
			for k, v := range lc.Options {
				m.LogOptions[k] = v
			}
		}
	}
	return m
}

// publishMetadata rewrites the task's metadata files.
func (t *taskRun) publishMetadata() { t.publishMetadataIn(t.rec.MetadataDir) }

func (t *taskRun) publishMetadataIn(dir string) {
	fail := func(err error) {
		t.r.log.Warn("ecs: writing a task's metadata endpoint", "task", t.id(), "err", err)
	}
	doc, err := json.Marshal(t.taskMetadata())
	if err == nil {
		err = sidecar.PublishTask(dir, doc)
	}
	if err != nil {
		fail(err)
		return
	}
	for i, cs := range t.rec.Containers {
		doc, err := json.Marshal(t.containerMetadata(i))
		if err == nil {
			err = sidecar.PublishContainer(dir, cs.MetadataKey, doc)
		}
		if err != nil {
			fail(err)
			return
		}
	}
}
