package lambda

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// Lambda's function states and update statuses.
const (
	StatePending = "Pending"
	StateActive  = "Active"
	StateFailed  = "Failed"

	UpdateInProgress = "InProgress"
	UpdateSuccessful = "Successful"
	UpdateFailed     = "Failed"
)

// Limits of a function's configuration.
const (
	minMemory, maxMemory   = 128, 10240
	minTimeout, maxTimeout = 1, 900
	minStorage, maxStorage = 512, 10240
	maxEnvironmentBytes    = 4 << 10
	maxDescription         = 256
	defaultMemory          = 128
	defaultTimeout         = 3
	defaultStorage         = 512
	latest                 = "$LATEST"
)

// spec is one version of a function's configuration as berth keeps it
// (the $LATEST one in the function's document, published ones in their
// own): what FunctionConfiguration shows, and where its image is.
type spec struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Role        string `json:"role"`
	Description string `json:"description,omitempty"`
	// ImageURI is the image as the user named it; ResolvedImageURI the
	// same pinned to its digest; Digest that digest; Pull the name the
	// engine pulls (berth's registry on loopback, by digest).
	ImageURI         string            `json:"imageUri"`
	ResolvedImageURI string            `json:"resolvedImageUri"`
	Digest           string            `json:"digest"`
	Pull             string            `json:"pull"`
	EntryPoint       []string          `json:"entryPoint,omitempty"`
	Command          []string          `json:"command,omitempty"`
	WorkingDirectory string            `json:"workingDirectory,omitempty"`
	MemorySize       int               `json:"memorySize"`
	Timeout          int               `json:"timeout"`
	EphemeralStorage int               `json:"ephemeralStorage"`
	Environment      map[string]string `json:"environment,omitempty"`
	Architectures    []string          `json:"architectures"`
	LastModified     time.Time         `json:"lastModified"`
	RevisionID       string            `json:"revisionId"`

	State                      string `json:"state"`
	StateReason                string `json:"stateReason,omitempty"`
	StateReasonCode            string `json:"stateReasonCode,omitempty"`
	LastUpdateStatus           string `json:"lastUpdateStatus,omitempty"`
	LastUpdateStatusReason     string `json:"lastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string `json:"lastUpdateStatusReasonCode,omitempty"`
}

// functionDoc is a function's document in the index: its $LATEST
// configuration and what belongs to the function as a whole.
type functionDoc struct {
	Latest spec              `json:"latest"`
	Tags   map[string]string `json:"tags,omitempty"`
	// Reserved is its reserved concurrency; nil: none.
	Reserved *int `json:"reserved,omitempty"`
	// Published is the RevisionId of $LATEST when it was last published
	// and the version that got; PublishVersion of an unchanged $LATEST
	// returns that version. A version published with the code
	// (CreateFunction or UpdateFunctionCode with Publish) before its pull
	// ended takes its state from how the pull ends, as $LATEST does.
	Published        string `json:"published,omitempty"`
	PublishedVersion string `json:"publishedVersion,omitempty"`
	// Owner set the function's code; its registry credentials pull the
	// image, again when the engine lost it.
	Owner launcher.Caller `json:"owner"`
	// URLs are the function URLs, by qualifier ("" for the function's
	// own, else an alias).
	URLs map[string]*urlConfig `json:"urls,omitempty"`
}

// aliasDoc is an alias's document in the index.
type aliasDoc struct {
	Description string             `json:"description,omitempty"`
	Weights     map[string]float64 `json:"weights,omitempty"`
	RevisionID  string             `json:"revisionId"`
}

// Configuration is Lambda's FunctionConfiguration, as the API returns it.
type Configuration struct {
	FunctionName     string                `json:"FunctionName"`
	FunctionArn      string                `json:"FunctionArn"`
	Role             string                `json:"Role"`
	Description      string                `json:"Description"`
	Timeout          int                   `json:"Timeout"`
	MemorySize       int                   `json:"MemorySize"`
	LastModified     string                `json:"LastModified"`
	CodeSha256       string                `json:"CodeSha256"`
	CodeSize         int64                 `json:"CodeSize"`
	Version          string                `json:"Version"`
	Environment      *environmentResponse  `json:"Environment,omitempty"`
	TracingConfig    tracingConfig         `json:"TracingConfig"`
	RevisionID       string                `json:"RevisionId"`
	PackageType      string                `json:"PackageType"`
	ImageConfig      *imageConfigResponse  `json:"ImageConfigResponse,omitempty"`
	Architectures    []string              `json:"Architectures"`
	EphemeralStorage ephemeralStorage      `json:"EphemeralStorage"`
	LoggingConfig    loggingConfig         `json:"LoggingConfig"`
	SnapStart        snapStartResponse     `json:"SnapStart"`
	State            string                `json:"State"`
	StateReason      string                `json:"StateReason,omitempty"`
	StateReasonCode  string                `json:"StateReasonCode,omitempty"`
	LastUpdateStatus string                `json:"LastUpdateStatus,omitempty"`
	LastUpdateReason string                `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateCode   string                `json:"LastUpdateStatusReasonCode,omitempty"`
	Layers           []struct{}            `json:"Layers,omitempty"`
	RuntimeVersion   *runtimeVersionConfig `json:"RuntimeVersionConfig,omitempty"`
}

type environmentResponse struct {
	Variables map[string]string `json:"Variables"`
}

type tracingConfig struct {
	Mode string `json:"Mode"`
}

type imageConfigResponse struct {
	ImageConfig imageConfig `json:"ImageConfig"`
}

type imageConfig struct {
	EntryPoint       []string `json:"EntryPoint,omitempty"`
	Command          []string `json:"Command,omitempty"`
	WorkingDirectory string   `json:"WorkingDirectory,omitempty"`
}

type ephemeralStorage struct {
	Size int `json:"Size"`
}

type loggingConfig struct {
	LogFormat string `json:"LogFormat"`
	LogGroup  string `json:"LogGroup"`
}

type snapStartResponse struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

type runtimeVersionConfig struct{}

// lastModified is Lambda's time format: 2024-05-01T10:00:00.000+0000.
func lastModified(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// configuration renders s as Lambda's FunctionConfiguration; arn is the
// function's ARN as the answer names it.
func (s spec) configuration(arn string) Configuration {
	c := Configuration{
		FunctionName:     s.Name,
		FunctionArn:      arn,
		Role:             s.Role,
		Description:      s.Description,
		Timeout:          s.Timeout,
		MemorySize:       s.MemorySize,
		LastModified:     lastModified(s.LastModified),
		CodeSha256:       strings.TrimPrefix(s.Digest, "sha256:"),
		Version:          s.Version,
		TracingConfig:    tracingConfig{Mode: "PassThrough"},
		RevisionID:       s.RevisionID,
		PackageType:      "Image",
		Architectures:    s.Architectures,
		EphemeralStorage: ephemeralStorage{Size: s.EphemeralStorage},
		LoggingConfig:    loggingConfig{LogFormat: "Text", LogGroup: LogGroup(s.Name)},
		SnapStart:        snapStartResponse{ApplyOn: "None", OptimizationStatus: "Off"},
		State:            s.State,
		StateReason:      s.StateReason,
		StateReasonCode:  s.StateReasonCode,
		LastUpdateStatus: s.LastUpdateStatus,
		LastUpdateReason: s.LastUpdateStatusReason,
		LastUpdateCode:   s.LastUpdateStatusReasonCode,
	}
	if len(s.Environment) > 0 {
		c.Environment = &environmentResponse{Variables: maps.Clone(s.Environment)}
	}
	if len(s.EntryPoint) > 0 || len(s.Command) > 0 || s.WorkingDirectory != "" {
		c.ImageConfig = &imageConfigResponse{imageConfig{EntryPoint: s.EntryPoint, Command: s.Command, WorkingDirectory: s.WorkingDirectory}}
	}
	return c
}

// settle sets the state of s, whose image was being pulled, to how the
// pull ended (pullErr nil: it succeeded): Active, or Failed with the
// engine's reason; a function that was Active already stays so, only its
// update failed.
func (s *spec) settle(pullErr error) {
	if pullErr == nil {
		s.State, s.StateReason, s.StateReasonCode = StateActive, "", ""
		s.LastUpdateStatus, s.LastUpdateStatusReason, s.LastUpdateStatusReasonCode = UpdateSuccessful, "", ""
		return
	}
	code := "ImageAccessDenied"
	if errors.Is(pullErr, launcher.ErrImageNotFound) {
		code = "ImageDeleted"
	}
	reason := pullErr.Error()
	if s.State == StatePending {
		s.State, s.StateReason, s.StateReasonCode = StateFailed, reason, code
	}
	s.LastUpdateStatus, s.LastUpdateStatusReason, s.LastUpdateStatusReasonCode = UpdateFailed, reason, code
}

// version is what the runner runs of s.
func (s spec) version(reserved *int) Version {
	return Version{
		Name: s.Name, Version: s.Version, Revision: s.RevisionID, Image: s.Pull,
		EntryPoint: s.EntryPoint, Command: s.Command, WorkingDirectory: s.WorkingDirectory,
		MemorySize: s.MemorySize, Timeout: time.Duration(s.Timeout) * time.Second,
		EphemeralStorage: s.EphemeralStorage, Environment: s.Environment, Reserved: reserved,
	}
}

// settings are the members CreateFunction and UpdateFunctionConfiguration
// share; nil leaves a member as it is (or at its default, on create).
type settings struct {
	Role             *string                `json:"Role,omitempty"`
	Description      *string                `json:"Description,omitempty"`
	Timeout          *int                   `json:"Timeout,omitempty"`
	MemorySize       *int                   `json:"MemorySize,omitempty"`
	Environment      *environmentInput      `json:"Environment,omitempty"`
	ImageConfig      *imageConfig           `json:"ImageConfig,omitempty"`
	EphemeralStorage *ephemeralStorage      `json:"EphemeralStorage,omitempty"`
	Runtime          *string                `json:"Runtime,omitempty"`
	Handler          *string                `json:"Handler,omitempty"`
	Layers           []string               `json:"Layers,omitempty"`
	VPCConfig        *struct{}              `json:"VpcConfig,omitempty"`
	TracingConfig    *tracingConfig         `json:"TracingConfig,omitempty"`
	RevisionID       *string                `json:"RevisionId,omitempty"`
	SnapStart        *struct{ ApplyOn any } `json:"SnapStart,omitempty"`
}

type environmentInput struct {
	Variables map[string]string `json:"Variables"`
}

var (
	roleARN = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	envName = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
)

// apply validates in and sets what it has on s, in Lambda's order of
// checks and with its messages.
func (in settings) apply(s *spec) error {
	if in.Role != nil {
		if !roleARN.MatchString(*in.Role) {
			return validation("role", *in.Role, `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`)
		}
		s.Role = *in.Role
	}
	if in.Description != nil {
		if len(*in.Description) > maxDescription {
			return validation("description", *in.Description, "Member must have length less than or equal to 256")
		}
		s.Description = *in.Description
	}
	if in.Timeout != nil {
		t := *in.Timeout
		if t < minTimeout {
			return validation("timeout", strconv.Itoa(t), "Member must have value greater than or equal to 1")
		}
		if t > maxTimeout {
			return validation("timeout", strconv.Itoa(t), "Member must have value less than or equal to 900")
		}
		s.Timeout = t
	}
	if in.MemorySize != nil {
		m := *in.MemorySize
		if m < minMemory {
			return validation("memorySize", strconv.Itoa(m), "Member must have value greater than or equal to 128")
		}
		if m > maxMemory {
			return validation("memorySize", strconv.Itoa(m), "Member must have value less than or equal to 10240")
		}
		s.MemorySize = m
	}
	if in.EphemeralStorage != nil {
		size := in.EphemeralStorage.Size
		if size < minStorage {
			return validation("ephemeralStorage.size", strconv.Itoa(size), "Member must have value greater than or equal to 512")
		}
		if size > maxStorage {
			return validation("ephemeralStorage.size", strconv.Itoa(size), "Member must have value less than or equal to 10240")
		}
		s.EphemeralStorage = size
	}
	if in.Environment != nil {
		if err := checkEnvironment(in.Environment.Variables); err != nil {
			return err
		}
		s.Environment = maps.Clone(in.Environment.Variables)
	}
	if in.ImageConfig != nil {
		s.EntryPoint, s.Command, s.WorkingDirectory = in.ImageConfig.EntryPoint, in.ImageConfig.Command, in.ImageConfig.WorkingDirectory
	}
	if in.Runtime != nil && *in.Runtime != "" || in.Handler != nil && *in.Handler != "" {
		return invalidParameter("Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.")
	}
	if len(in.Layers) > 0 {
		return invalidParameter("Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.")
	}
	return nil
}

// checkEnvironment refuses variables Lambda refuses: bad names, reserved
// names, more than 4 KB in all.
func checkEnvironment(vars map[string]string) error {
	var reserved []string
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		if !envName.MatchString(k) {
			return validation("environment.variables", "map", "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
		if slices.Contains(ReservedVariables, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	b, _ := json.Marshal(vars)
	if len(b) > maxEnvironmentBytes {
		return invalidParameter("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d bytes", len(b))
	}
	return nil
}

// checkArchitectures validates an Architectures member: one of x86_64 and
// arm64.
func checkArchitectures(archs []string) ([]string, error) {
	if len(archs) == 0 {
		return []string{"x86_64"}, nil
	}
	if len(archs) > 1 {
		return nil, validation("architectures", fmt.Sprint(archs), "Member must have length less than or equal to 1")
	}
	if archs[0] != "x86_64" && archs[0] != "arm64" {
		return nil, validation("architectures", fmt.Sprint(archs), "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
	}
	return archs, nil
}
