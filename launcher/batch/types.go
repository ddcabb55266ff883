package batch

// The shapes of the Batch API (botocore batch 2016-08-10), as the wire
// carries them: timestamps are epoch milliseconds.

// KeyValuePair is an environment variable.
type KeyValuePair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ResourceRequirement is a container's VCPU, MEMORY (MiB) or GPU need.
type ResourceRequirement struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// ContainerProperties is what a job definition runs.
type ContainerProperties struct {
	Image                  string                `json:"image,omitempty"`
	Command                []string              `json:"command,omitempty"`
	Environment            []KeyValuePair        `json:"environment,omitempty"`
	ResourceRequirements   []ResourceRequirement `json:"resourceRequirements,omitempty"`
	Vcpus                  *int                  `json:"vcpus,omitempty"`
	Memory                 *int                  `json:"memory,omitempty"`
	JobRoleArn             string                `json:"jobRoleArn,omitempty"`
	ExecutionRoleArn       string                `json:"executionRoleArn,omitempty"`
	User                   string                `json:"user,omitempty"`
	Privileged             *bool                 `json:"privileged,omitempty"`
	ReadonlyRootFilesystem *bool                 `json:"readonlyRootFilesystem,omitempty"`
	InstanceType           string                `json:"instanceType,omitempty"`
}

// ContainerOverrides change a job definition's container for one job.
type ContainerOverrides struct {
	Command              []string              `json:"command,omitempty"`
	Environment          []KeyValuePair        `json:"environment,omitempty"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
	Vcpus                *int                  `json:"vcpus,omitempty"`
	Memory               *int                  `json:"memory,omitempty"`
	InstanceType         string                `json:"instanceType,omitempty"`
}

// EvaluateOnExit is one retry condition: its patterns (a trailing * matches
// any rest) must all match for its action (RETRY or EXIT) to apply.
type EvaluateOnExit struct {
	OnStatusReason string `json:"onStatusReason,omitempty"`
	OnReason       string `json:"onReason,omitempty"`
	OnExitCode     string `json:"onExitCode,omitempty"`
	Action         string `json:"action"`
}

// RetryStrategy is how many times a job may move to RUNNABLE (1–10) and on
// which exits.
type RetryStrategy struct {
	Attempts       int              `json:"attempts,omitempty"`
	EvaluateOnExit []EvaluateOnExit `json:"evaluateOnExit,omitempty"`
}

// JobTimeout bounds each attempt, measured from its start.
type JobTimeout struct {
	AttemptDurationSeconds int `json:"attemptDurationSeconds,omitempty"`
}

// JobDependency is a job this one waits for: all of it, or with N_TO_N
// the child of the same index, or with SEQUENTIAL (no job id) the
// array's previous child.
type JobDependency struct {
	JobID string `json:"jobId,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ArrayProperties is an array job's size, on submission.
type ArrayProperties struct {
	Size int `json:"size,omitempty"`
}

// ArrayPropertiesDetail is what DescribeJobs shows of an array: the
// parent's size and its children by status, or a child's index.
type ArrayPropertiesDetail struct {
	StatusSummary map[string]int `json:"statusSummary,omitempty"`
	Size          int            `json:"size,omitempty"`
	Index         *int           `json:"index,omitempty"`
}

// ContainerDetail is a job's container as DescribeJobs shows it.
type ContainerDetail struct {
	Image                string                `json:"image,omitempty"`
	Vcpus                *int                  `json:"vcpus,omitempty"`
	Memory               *int                  `json:"memory,omitempty"`
	Command              []string              `json:"command"`
	JobRoleArn           string                `json:"jobRoleArn,omitempty"`
	ExecutionRoleArn     string                `json:"executionRoleArn,omitempty"`
	User                 string                `json:"user,omitempty"`
	Environment          []KeyValuePair        `json:"environment"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
	ExitCode             *int                  `json:"exitCode,omitempty"`
	Reason               string                `json:"reason,omitempty"`
	ContainerInstanceArn string                `json:"containerInstanceArn,omitempty"`
	TaskArn              string                `json:"taskArn,omitempty"`
	LogStreamName        string                `json:"logStreamName,omitempty"`
	MountPoints          []any                 `json:"mountPoints"`
	Volumes              []any                 `json:"volumes"`
	Ulimits              []any                 `json:"ulimits"`
	NetworkInterfaces    []any                 `json:"networkInterfaces"`
	Secrets              []any                 `json:"secrets"`
}

// AttemptContainerDetail is an attempt's container.
type AttemptContainerDetail struct {
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
	TaskArn              string `json:"taskArn,omitempty"`
	ExitCode             *int   `json:"exitCode,omitempty"`
	Reason               string `json:"reason,omitempty"`
	LogStreamName        string `json:"logStreamName,omitempty"`
	NetworkInterfaces    []any  `json:"networkInterfaces"`
}

// AttemptDetail is one finished attempt of a job.
type AttemptDetail struct {
	Container    AttemptContainerDetail `json:"container"`
	StartedAt    int64                  `json:"startedAt,omitempty"`
	StoppedAt    int64                  `json:"stoppedAt,omitempty"`
	StatusReason string                 `json:"statusReason,omitempty"`
}

// JobDetail is a job as DescribeJobs shows it.
type JobDetail struct {
	JobArn               string                 `json:"jobArn"`
	JobName              string                 `json:"jobName"`
	JobID                string                 `json:"jobId"`
	JobQueue             string                 `json:"jobQueue"`
	Status               string                 `json:"status"`
	Attempts             []AttemptDetail        `json:"attempts"`
	StatusReason         string                 `json:"statusReason,omitempty"`
	CreatedAt            int64                  `json:"createdAt"`
	RetryStrategy        *RetryStrategy         `json:"retryStrategy,omitempty"`
	StartedAt            int64                  `json:"startedAt,omitempty"`
	StoppedAt            int64                  `json:"stoppedAt,omitempty"`
	DependsOn            []JobDependency        `json:"dependsOn"`
	JobDefinition        string                 `json:"jobDefinition"`
	Parameters           map[string]string      `json:"parameters"`
	Container            *ContainerDetail       `json:"container,omitempty"`
	Timeout              *JobTimeout            `json:"timeout,omitempty"`
	Tags                 map[string]string      `json:"tags,omitempty"`
	PropagateTags        bool                   `json:"propagateTags"`
	PlatformCapabilities []string               `json:"platformCapabilities"`
	ArrayProperties      *ArrayPropertiesDetail `json:"arrayProperties,omitempty"`
	IsCancelled          bool                   `json:"isCancelled,omitempty"`
	IsTerminated         bool                   `json:"isTerminated,omitempty"`
}

// JobSummary is a job as ListJobs shows it.
type JobSummary struct {
	JobArn          string                  `json:"jobArn"`
	JobID           string                  `json:"jobId"`
	JobName         string                  `json:"jobName"`
	CreatedAt       int64                   `json:"createdAt"`
	Status          string                  `json:"status"`
	StatusReason    string                  `json:"statusReason,omitempty"`
	StartedAt       int64                   `json:"startedAt,omitempty"`
	StoppedAt       int64                   `json:"stoppedAt,omitempty"`
	Container       *ContainerSummary       `json:"container,omitempty"`
	ArrayProperties *ArrayPropertiesSummary `json:"arrayProperties,omitempty"`
	JobDefinition   string                  `json:"jobDefinition"`
}

// ContainerSummary is a listed job's container exit.
type ContainerSummary struct {
	ExitCode *int   `json:"exitCode,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// ArrayPropertiesSummary is a listed array's size or child's index.
type ArrayPropertiesSummary struct {
	Size  int  `json:"size,omitempty"`
	Index *int `json:"index,omitempty"`
}

// Job states.
const (
	StatusSubmitted = "SUBMITTED"
	StatusPending   = "PENDING"
	StatusRunnable  = "RUNNABLE"
	StatusStarting  = "STARTING"
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
)

// statuses are the job states in their order.
var statuses = []string{StatusSubmitted, StatusPending, StatusRunnable, StatusStarting, StatusRunning, StatusSucceeded, StatusFailed}

// done reports whether status is final.
func done(status string) bool { return status == StatusSucceeded || status == StatusFailed }

// Status reasons, as AWS words them.
const (
	reasonContainerExited = "Essential container in task exited"
	reasonTimeout         = "Job attempt duration exceeded timeout"
	reasonDependency      = "Dependent Job failed"
)
