package ecs

import (
	"encoding/json"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
)

// Task is an ECS task in its wire form (RunTask's and DescribeTasks'
// answer), which is also what subscribers of the [Runner] see.
type Task struct {
	Attachments          []json.RawMessage `json:"attachments"`
	AvailabilityZone     string            `json:"availabilityZone,omitempty"`
	ClusterArn           string            `json:"clusterArn"`
	Connectivity         string            `json:"connectivity,omitempty"`
	ConnectivityAt       awsjson.Time      `json:"connectivityAt,omitzero"`
	Containers           []Container       `json:"containers"`
	Cpu                  string            `json:"cpu,omitempty"`
	CreatedAt            awsjson.Time      `json:"createdAt,omitzero"`
	DesiredStatus        string            `json:"desiredStatus"`
	EnableExecuteCommand bool              `json:"enableExecuteCommand"`
	ExecutionStoppedAt   awsjson.Time      `json:"executionStoppedAt,omitzero"`
	Group                string            `json:"group,omitempty"`
	HealthStatus         string            `json:"healthStatus,omitempty"`
	LastStatus           string            `json:"lastStatus"`
	LaunchType           string            `json:"launchType,omitempty"`
	Memory               string            `json:"memory,omitempty"`
	Overrides            TaskOverride      `json:"overrides"`
	PlatformVersion      string            `json:"platformVersion,omitempty"`
	PlatformFamily       string            `json:"platformFamily,omitempty"`
	PullStartedAt        awsjson.Time      `json:"pullStartedAt,omitzero"`
	PullStoppedAt        awsjson.Time      `json:"pullStoppedAt,omitzero"`
	StartedAt            awsjson.Time      `json:"startedAt,omitzero"`
	StartedBy            string            `json:"startedBy,omitempty"`
	StopCode             string            `json:"stopCode,omitempty"`
	StoppedAt            awsjson.Time      `json:"stoppedAt,omitzero"`
	StoppedReason        string            `json:"stoppedReason,omitempty"`
	StoppingAt           awsjson.Time      `json:"stoppingAt,omitzero"`
	Tags                 []Tag             `json:"tags,omitempty"`
	TaskArn              string            `json:"taskArn"`
	TaskDefinitionArn    string            `json:"taskDefinitionArn"`
	Version              int64             `json:"version"`
	EphemeralStorage     json.RawMessage   `json:"ephemeralStorage,omitempty"`
}

// Container is one container of a task.
type Container struct {
	ContainerArn      string            `json:"containerArn"`
	TaskArn           string            `json:"taskArn"`
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	ImageDigest       string            `json:"imageDigest,omitempty"`
	RuntimeID         string            `json:"runtimeId,omitempty"`
	LastStatus        string            `json:"lastStatus"`
	ExitCode          *int              `json:"exitCode,omitempty"`
	Reason            string            `json:"reason,omitempty"`
	NetworkBindings   []NetworkBinding  `json:"networkBindings"`
	NetworkInterfaces []json.RawMessage `json:"networkInterfaces"`
	HealthStatus      string            `json:"healthStatus,omitempty"`
	Cpu               string            `json:"cpu,omitempty"`
	Memory            string            `json:"memory,omitempty"`
	MemoryReservation string            `json:"memoryReservation,omitempty"`
}

// NetworkBinding is a container port published on the host.
type NetworkBinding struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

// TaskOverride is RunTask's overrides member.
type TaskOverride struct {
	ContainerOverrides            []ContainerOverride `json:"containerOverrides"`
	Cpu                           string              `json:"cpu,omitempty"`
	Memory                        string              `json:"memory,omitempty"`
	TaskRoleArn                   string              `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn              string              `json:"executionRoleArn,omitempty"`
	InferenceAcceleratorOverrides []json.RawMessage   `json:"inferenceAcceleratorOverrides"`
}

// ContainerOverride changes one container of a task definition for one
// task.
type ContainerOverride struct {
	Name              string         `json:"name"`
	Command           []string       `json:"command,omitempty"`
	Environment       []KeyValuePair `json:"environment,omitempty"`
	Cpu               *int           `json:"cpu,omitempty"`
	Memory            *int           `json:"memory,omitempty"`
	MemoryReservation *int           `json:"memoryReservation,omitempty"`
}

// Tag is an ECS resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Task states (lastStatus), in the order a task goes through them, and
// the desired states.
const (
	StatusProvisioning   = "PROVISIONING"
	StatusPending        = "PENDING"
	StatusActivating     = "ACTIVATING"
	StatusRunning        = "RUNNING"
	StatusDeactivating   = "DEACTIVATING"
	StatusStopping       = "STOPPING"
	StatusDeprovisioning = "DEPROVISIONING"
	StatusStopped        = "STOPPED"
)

// StopCode says why a task stopped.
type StopCode string

// Stop codes.
const (
	StopTaskFailedToStart         StopCode = "TaskFailedToStart"
	StopEssentialContainerExited  StopCode = "EssentialContainerExited"
	StopUserInitiated             StopCode = "UserInitiated"
	StopServiceSchedulerInitiated StopCode = "ServiceSchedulerInitiated"
)

// Health states of tasks and containers.
const (
	healthUnknown   = "UNKNOWN"
	healthHealthy   = "HEALTHY"
	healthUnhealthy = "UNHEALTHY"
)

// ID is the task's id, the last part of its ARN.
func (t Task) ID() string {
	for i := len(t.TaskArn) - 1; i >= 0; i-- {
		if t.TaskArn[i] == '/' {
			return t.TaskArn[i+1:]
		}
	}
	return t.TaskArn
}

// Stopped reports whether the task has reached STOPPED.
func (t Task) Stopped() bool { return t.LastStatus == StatusStopped }

// clone returns a deep copy of t, for handing a snapshot to another
// goroutine.
func (t *Task) clone() Task {
	c := *t
	c.Containers = make([]Container, len(t.Containers))
	for i, ct := range t.Containers {
		ct.NetworkBindings = append([]NetworkBinding{}, ct.NetworkBindings...)
		if ct.ExitCode != nil {
			ct.ExitCode = ptr(*ct.ExitCode)
		}
		c.Containers[i] = ct
	}
	c.Tags = append([]Tag(nil), t.Tags...)
	c.Overrides.ContainerOverrides = append([]ContainerOverride{}, t.Overrides.ContainerOverrides...)
	return c
}

// taskRecord is what the index keeps of a task: its wire form, and what
// the runner needs to supervise it again after a restart.
type taskRecord struct {
	Task Task `json:"task"`
	// Cluster is the cluster's name.
	Cluster string `json:"cluster"`
	// Definition is the task definition with the task's overrides applied.
	Definition TaskDefinition `json:"definition"`
	// Caller launched the task; its registry credentials pull the images.
	Caller Caller `json:"caller"`
	// ClientToken is RunTask's idempotency token.
	ClientToken string `json:"clientToken,omitempty"`
	// Sidecar is the engine id of the task's namespace holder (awsvpc),
	// and MetadataDir the directory of the metadata files it serves.
	Sidecar     string `json:"sidecar,omitempty"`
	MetadataDir string `json:"metadataDir,omitempty"`
	// Containers is the runner's state of each container, in the order
	// of Task.Containers and Definition.ContainerDefinitions.
	Containers []containerState `json:"containers"`
}

// containerState is what the runner knows of one container.
type containerState struct {
	// ID is the engine's container id, once created.
	ID string `json:"id,omitempty"`
	// MetadataKey names its file in the task metadata endpoint.
	MetadataKey string `json:"metadataKey,omitempty"`
	// ImageID is the engine's id of the image it runs.
	ImageID   string    `json:"imageId,omitempty"`
	StartedAt time.Time `json:"startedAt,omitzero"`
	// Started and Exited track its run; Healthy is set once its health
	// check passed (for HEALTHY dependencies).
	Started bool `json:"started,omitempty"`
	Exited  bool `json:"exited,omitempty"`
	Healthy bool `json:"healthy,omitempty"`
	// OOM is set once the engine reported an OOM kill in it.
	OOM bool `json:"oom,omitempty"`
}

// Caller is who launched a task; Lambda's functions record theirs alike.
type Caller = launcher.Caller
