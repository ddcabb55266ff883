package ecs

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"github.com/berth-dev/berth/internal/awsjson"
)

// TaskDefinition is an ECS task definition in its wire form, which is
// also what the index keeps of it: RegisterTaskDefinition's input
// members, and the members ECS adds (ARN, revision, status, times,
// compatibilities). Members berth does not act on (volumes, placement
// constraints, roles) are kept and returned as given.
type TaskDefinition struct {
	TaskDefinitionArn       string                `json:"taskDefinitionArn,omitempty"`
	ContainerDefinitions    []ContainerDefinition `json:"containerDefinitions"`
	Family                  string                `json:"family"`
	TaskRoleArn             string                `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                `json:"executionRoleArn,omitempty"`
	NetworkMode             string                `json:"networkMode,omitempty"`
	Revision                int                   `json:"revision,omitempty"`
	Volumes                 []json.RawMessage     `json:"volumes"`
	Status                  string                `json:"status,omitempty"`
	PlacementConstraints    []json.RawMessage     `json:"placementConstraints"`
	Compatibilities         []string              `json:"compatibilities,omitempty"`
	RuntimePlatform         json.RawMessage       `json:"runtimePlatform,omitempty"`
	RequiresCompatibilities []string              `json:"requiresCompatibilities,omitempty"`
	Cpu                     string                `json:"cpu,omitempty"`
	Memory                  string                `json:"memory,omitempty"`
	PidMode                 string                `json:"pidMode,omitempty"`
	IpcMode                 string                `json:"ipcMode,omitempty"`
	EphemeralStorage        json.RawMessage       `json:"ephemeralStorage,omitempty"`
	RegisteredAt            awsjson.Time          `json:"registeredAt,omitzero"`
	DeregisteredAt          awsjson.Time          `json:"deregisteredAt,omitzero"`
	RegisteredBy            string                `json:"registeredBy,omitempty"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name                   string                `json:"name,omitempty"`
	Image                  string                `json:"image,omitempty"`
	Cpu                    int                   `json:"cpu"`
	Memory                 *int                  `json:"memory,omitempty"`
	MemoryReservation      *int                  `json:"memoryReservation,omitempty"`
	Links                  []string              `json:"links,omitempty"`
	PortMappings           []PortMapping         `json:"portMappings"`
	Essential              *bool                 `json:"essential,omitempty"`
	EntryPoint             []string              `json:"entryPoint,omitempty"`
	Command                []string              `json:"command,omitempty"`
	Environment            []KeyValuePair        `json:"environment"`
	MountPoints            []json.RawMessage     `json:"mountPoints"`
	VolumesFrom            []json.RawMessage     `json:"volumesFrom"`
	DependsOn              []ContainerDependency `json:"dependsOn,omitempty"`
	StartTimeout           *int                  `json:"startTimeout,omitempty"`
	StopTimeout            *int                  `json:"stopTimeout,omitempty"`
	Hostname               string                `json:"hostname,omitempty"`
	User                   string                `json:"user,omitempty"`
	WorkingDirectory       string                `json:"workingDirectory,omitempty"`
	ReadonlyRootFilesystem *bool                 `json:"readonlyRootFilesystem,omitempty"`
	DockerLabels           map[string]string     `json:"dockerLabels,omitempty"`
	LogConfiguration       *LogConfiguration     `json:"logConfiguration,omitempty"`
	HealthCheck            *HealthCheck          `json:"healthCheck,omitempty"`
	SystemControls         []json.RawMessage     `json:"systemControls"`
}

// PortMapping is a container port, published on 127.0.0.1.
type PortMapping struct {
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol,omitempty"`
	Name          string `json:"name,omitempty"`
	AppProtocol   string `json:"appProtocol,omitempty"`
}

// KeyValuePair is one environment variable.
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ContainerDependency says a container starts only once another one has
// started (START), ended (COMPLETE), ended with 0 (SUCCESS) or passed its
// health check (HEALTHY).
type ContainerDependency struct {
	ContainerName string `json:"containerName"`
	Condition     string `json:"condition"`
}

// Dependency conditions.
const (
	dependsStart    = "START"
	dependsComplete = "COMPLETE"
	dependsSuccess  = "SUCCESS"
	dependsHealthy  = "HEALTHY"
)

// LogConfiguration is a container's log driver. berth captures awslogs
// itself and gives the engine nothing of it.
type LogConfiguration struct {
	LogDriver     string            `json:"logDriver"`
	Options       map[string]string `json:"options,omitempty"`
	SecretOptions []json.RawMessage `json:"secretOptions,omitempty"`
}

// HealthCheck is a container's health check, in seconds.
type HealthCheck struct {
	Command     []string `json:"command"`
	Interval    *int     `json:"interval,omitempty"`
	Timeout     *int     `json:"timeout,omitempty"`
	Retries     *int     `json:"retries,omitempty"`
	StartPeriod *int     `json:"startPeriod,omitempty"`
}

// Launch types and network modes.
const (
	launchEC2     = "EC2"
	launchFargate = "FARGATE"

	networkBridge = "bridge"
	networkHost   = "host"
	networkAwsvpc = "awsvpc"
	networkNone   = "none"
)

// essential reports whether c is essential (the default).
func (c ContainerDefinition) essential() bool { return c.Essential == nil || *c.Essential }

// effectiveNetworkMode is the mode the task runs in: bridge unless said.
func (td *TaskDefinition) effectiveNetworkMode() string {
	if td.NetworkMode == "" {
		return networkBridge
	}
	return td.NetworkMode
}

// container returns the container definition named name.
func (td *TaskDefinition) container(name string) (*ContainerDefinition, bool) {
	for i := range td.ContainerDefinitions {
		if td.ContainerDefinitions[i].Name == name {
			return &td.ContainerDefinitions[i], true
		}
	}
	return nil, false
}

// fargateSizes are Fargate's valid task sizes: memory (MiB) from min to
// max in steps of step, for each cpu (units of 1/1024 vCPU).
var fargateSizes = map[int]struct{ min, max, step int }{
	256:   {512, 2048, 0}, // 512, 1024, 2048: listed, not stepped
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// fargateSize reports whether cpu and memory are one of Fargate's pairs.
func fargateSize(cpu, memory int) bool {
	s, ok := fargateSizes[cpu]
	if !ok {
		return false
	}
	if s.step == 0 {
		return memory == 512 || memory == 1024 || memory == 2048
	}
	return memory >= s.min && memory <= s.max && (memory-s.min)%s.step == 0
}

// parseCPU reads a task cpu setting: units ("256") or vCPUs ("1 vCPU",
// ".25 vcpu"), normalised to units.
func parseCPU(s string) (int, bool) {
	v := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if n, found := strings.CutSuffix(v, "vcpu"); found {
		return scaled(n, 1024)
	}
	return scaled(v, 1)
}

// parseMemory reads a task memory setting: MiB ("512") or GB ("1GB",
// "0.5 GB"), normalised to MiB.
func parseMemory(s string) (int, bool) {
	v := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if n, found := strings.CutSuffix(v, "gb"); found {
		return scaled(n, 1024)
	}
	if n, found := strings.CutSuffix(v, "mb"); found {
		return scaled(n, 1)
	}
	return scaled(v, 1)
}

// scaled reads a positive decimal number times unit as a whole number.
func scaled(s string, unit float64) (int, bool) {
	if s == "" || strings.ContainsAny(s, "eE+-") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f*unit > math.MaxInt32 {
		return 0, false
	}
	v := f * unit
	if v != math.Trunc(v) {
		return 0, false
	}
	return int(v), true
}

var (
	containerNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	envNamePattern       = regexp.MustCompile(`^[^=\x00]+$`)
)

// logDrivers are the log drivers ECS accepts. berth acts on awslogs
// (captured into its log store); the others are kept as given and the
// engine's default driver is used.
var logDrivers = []string{"json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"}

// normalise validates a task definition as RegisterTaskDefinition gets it
// and fills in what ECS fills in (essential, health check defaults,
// protocols, normalised cpu and memory, compatibilities). It returns
// ECS's ClientException for what ECS refuses.
func (td *TaskDefinition) normalise() error {
	if !familyPattern.MatchString(td.Family) {
		return clientError("Family contains invalid characters or is too long; up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.")
	}
	if len(td.ContainerDefinitions) == 0 {
		return clientError("Container list cannot be empty.")
	}
	if len(td.ContainerDefinitions) > 10 {
		return clientError("Too many containers: a task definition may have at most 10 containers.")
	}
	switch td.NetworkMode {
	case "", networkBridge, networkHost, networkAwsvpc, networkNone:
	default:
		return clientError("Invalid networkMode %q: it must be one of bridge, host, awsvpc, none.", td.NetworkMode)
	}
	for _, c := range td.RequiresCompatibilities {
		if !slices.Contains([]string{launchEC2, launchFargate, "EXTERNAL", "MANAGED_INSTANCES"}, c) {
			return clientError("Invalid requiresCompatibilities value %q.", c)
		}
	}
	var cpu, memory int
	if td.Cpu != "" {
		n, ok := parseCPU(td.Cpu)
		if !ok || n < 128 || n > 196608 {
			return clientError("Invalid 'cpu' setting for task.")
		}
		cpu, td.Cpu = n, strconv.Itoa(n)
	}
	if td.Memory != "" {
		n, ok := parseMemory(td.Memory)
		if !ok || n < 128 {
			return clientError("Invalid 'memory' setting for task.")
		}
		memory, td.Memory = n, strconv.Itoa(n)
	}
	fargate := slices.Contains(td.RequiresCompatibilities, launchFargate)
	if fargate {
		if err := td.fargateProblems(cpu, memory); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	essentials := 0
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		if err := c.normalise(td, memory, fargate); err != nil {
			return err
		}
		if names[c.Name] {
			return clientError("Duplicate container name '%s': container names must be unique within a task definition.", c.Name)
		}
		names[c.Name] = true
		if c.essential() {
			essentials++
		}
	}
	if essentials == 0 {
		return clientError("At least one essential container is required.")
	}
	if err := td.checkDependencies(); err != nil {
		return err
	}
	td.Compatibilities = []string{launchEC2}
	if td.fargateProblems(cpu, memory) == nil {
		td.Compatibilities = append(td.Compatibilities, launchFargate)
	}
	if td.Volumes == nil {
		td.Volumes = []json.RawMessage{}
	}
	if td.PlacementConstraints == nil {
		td.PlacementConstraints = []json.RawMessage{}
	}
	return nil
}

// fargateProblems says why the definition cannot run on Fargate, in
// ECS's words; nil if it can.
func (td *TaskDefinition) fargateProblems(cpu, memory int) error {
	switch {
	case td.NetworkMode != networkAwsvpc:
		return clientError("Fargate only supports network mode 'awsvpc'.")
	case cpu == 0:
		return clientError("Fargate requires that 'cpu' be defined at the task level.")
	case memory == 0:
		return clientError("Fargate requires that 'memory' be defined at the task level.")
	case !fargateSize(cpu, memory):
		return clientError("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", cpu, memory)
	}
	return nil
}

// normalise validates one container of td (whose task memory is
// taskMemory MiB, 0 if unset).
func (c *ContainerDefinition) normalise(td *TaskDefinition, taskMemory int, fargate bool) error {
	if c.Name == "" {
		return clientError("Container.name should not be null or empty.")
	}
	if !containerNamePattern.MatchString(c.Name) {
		return clientError("Container.name contains invalid characters; up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.")
	}
	if c.Image == "" {
		return clientError("Container.image should not be null or empty.")
	}
	if _, err := reference.ParseNormalizedNamed(c.Image); err != nil {
		return clientError("Invalid image name '%s' for container '%s': %v.", c.Image, c.Name, err)
	}
	bad := func(format string, args ...any) error {
		return clientError("Invalid setting for container '%s'. %s", c.Name, fmt.Sprintf(format, args...))
	}
	if c.Cpu < 0 || c.Cpu > 196608 {
		return bad("'cpu' must be between 0 and 196608.")
	}
	if c.Memory != nil && *c.Memory < 6 {
		return bad("'memory' must be at least 6 MiB.")
	}
	if c.MemoryReservation != nil && *c.MemoryReservation < 6 {
		return bad("'memoryReservation' must be at least 6 MiB.")
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
		return bad("'memory' must be greater than or equal to 'memoryReservation'.")
	}
	if taskMemory == 0 && c.Memory == nil && c.MemoryReservation == nil {
		return bad("At least one of 'memory' or 'memoryReservation' must be specified.")
	}
	if taskMemory > 0 && c.Memory != nil && *c.Memory > taskMemory {
		return bad("'memory' (%d MiB) is more than the task's memory (%d MiB).", *c.Memory, taskMemory)
	}
	if c.Essential == nil {
		c.Essential = ptr(true)
	}
	if c.PortMappings == nil {
		c.PortMappings = []PortMapping{}
	}
	seen := map[string]bool{}
	for i := range c.PortMappings {
		p := &c.PortMappings[i]
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return bad("Invalid containerPort %d: it must be between 1 and 65535.", p.ContainerPort)
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			return bad("Invalid hostPort %d: it must be between 0 and 65535.", p.HostPort)
		}
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return bad("Invalid protocol %q: it must be tcp or udp.", p.Protocol)
		}
		key := strconv.Itoa(p.ContainerPort) + "/" + p.Protocol
		if seen[key] {
			return bad("Port %s is mapped twice.", key)
		}
		seen[key] = true
		switch td.NetworkMode {
		case networkAwsvpc, networkHost:
			// The host port is the container port in these modes.
			if p.HostPort != 0 && p.HostPort != p.ContainerPort {
				return clientError("When networkMode=%s, the host ports and container ports in port mappings must match.", td.NetworkMode)
			}
			p.HostPort = p.ContainerPort
		case networkNone:
			return clientError("Port mappings are not supported when networkMode=none.")
		}
	}
	if c.Environment == nil {
		c.Environment = []KeyValuePair{}
	}
	for _, e := range c.Environment {
		if !envNamePattern.MatchString(e.Name) || strings.ContainsRune(e.Value, 0) {
			return bad("Invalid environment variable name %q.", e.Name)
		}
	}
	if c.MountPoints == nil {
		c.MountPoints = []json.RawMessage{}
	}
	if c.VolumesFrom == nil {
		c.VolumesFrom = []json.RawMessage{}
	}
	if c.SystemControls == nil {
		c.SystemControls = []json.RawMessage{}
	}
	if c.StopTimeout != nil && (*c.StopTimeout < 0 || (fargate && *c.StopTimeout > 120)) {
		return bad("'stopTimeout' must be between 0 and 120 seconds.")
	}
	if c.StartTimeout != nil && *c.StartTimeout < 0 {
		return bad("'startTimeout' must not be negative.")
	}
	if l := c.LogConfiguration; l != nil {
		if !slices.Contains(logDrivers, l.LogDriver) {
			return clientError("Log driver %s is not supported.", l.LogDriver)
		}
		if l.LogDriver == "awslogs" {
			if l.Options["awslogs-group"] == "" {
				return clientError("Log driver awslogs requires options: awslogs-group, awslogs-region.")
			}
			if fargate && l.Options["awslogs-stream-prefix"] == "" {
				return clientError("Log driver awslogs requires the option awslogs-stream-prefix on Fargate.")
			}
		}
	}
	if h := c.HealthCheck; h != nil {
		if len(h.Command) == 0 || (h.Command[0] != "CMD" && h.Command[0] != "CMD-SHELL") || len(h.Command) < 2 {
			return bad("The health check command must start with CMD or CMD-SHELL and name a command.")
		}
		for _, s := range []struct {
			name     string
			v        **int
			def      int
			min, max int
		}{
			{"interval", &h.Interval, 30, 5, 300},
			{"timeout", &h.Timeout, 5, 2, 120},
			{"retries", &h.Retries, 3, 1, 10},
			{"startPeriod", &h.StartPeriod, -1, 0, 300},
		} {
			if *s.v == nil {
				if s.def >= 0 {
					*s.v = ptr(s.def)
				}
				continue
			}
			if **s.v < s.min || **s.v > s.max {
				return bad("The health check %s must be between %d and %d.", s.name, s.min, s.max)
			}
		}
	}
	if len(c.Links) > 0 && td.effectiveNetworkMode() != networkBridge {
		return clientError("Links are not supported when networkMode=%s.", td.effectiveNetworkMode())
	}
	return nil
}

// checkDependencies validates dependsOn: dependencies name containers of
// the task, with a known condition that the dependency can meet, and
// never form a cycle.
func (td *TaskDefinition) checkDependencies() error {
	for _, c := range td.ContainerDefinitions {
		for _, d := range c.DependsOn {
			dep, ok := td.container(d.ContainerName)
			if !ok || d.ContainerName == c.Name {
				return clientError("Container '%s' depends on '%s', which is not another container of the task definition.", c.Name, d.ContainerName)
			}
			switch d.Condition {
			case dependsStart:
			case dependsComplete, dependsSuccess:
				if dep.essential() {
					return clientError("Container '%s' depends on essential container '%s' with condition %s: this condition can't be set on an essential container.", c.Name, d.ContainerName, d.Condition)
				}
			case dependsHealthy:
				if dep.HealthCheck == nil {
					return clientError("Container '%s' depends on '%s' with condition HEALTHY, but '%s' has no health check.", c.Name, d.ContainerName, d.ContainerName)
				}
			default:
				return clientError("Invalid dependsOn condition %q for container '%s': it must be START, COMPLETE, SUCCESS or HEALTHY.", d.Condition, c.Name)
			}
		}
	}
	// Depth-first search for a cycle.
	state := map[string]int{} // 1: on the path, 2: done
	var visit func(name string) bool
	visit = func(name string) bool {
		switch state[name] {
		case 1:
			return true
		case 2:
			return false
		}
		state[name] = 1
		c, _ := td.container(name)
		for _, d := range c.DependsOn {
			if visit(d.ContainerName) {
				return true
			}
		}
		state[name] = 2
		return false
	}
	for _, c := range td.ContainerDefinitions {
		if visit(c.Name) {
			return clientError("The container dependencies of the task definition form a cycle.")
		}
	}
	return nil
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
