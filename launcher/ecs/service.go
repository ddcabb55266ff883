package ecs

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
)

// Service is an ECS service in its wire form (CreateService's and
// DescribeServices' answer).
type Service struct {
	ServiceArn                    string                  `json:"serviceArn"`
	ServiceName                   string                  `json:"serviceName"`
	ClusterArn                    string                  `json:"clusterArn"`
	LoadBalancers                 []ServiceLoadBalancer   `json:"loadBalancers"`
	ServiceRegistries             []json.RawMessage       `json:"serviceRegistries"`
	Status                        string                  `json:"status"`
	DesiredCount                  int                     `json:"desiredCount"`
	RunningCount                  int                     `json:"runningCount"`
	PendingCount                  int                     `json:"pendingCount"`
	LaunchType                    string                  `json:"launchType,omitempty"`
	PlatformVersion               string                  `json:"platformVersion,omitempty"`
	PlatformFamily                string                  `json:"platformFamily,omitempty"`
	TaskDefinition                string                  `json:"taskDefinition"`
	DeploymentConfiguration       DeploymentConfiguration `json:"deploymentConfiguration"`
	Deployments                   []Deployment            `json:"deployments"`
	Events                        []ServiceEvent          `json:"events"`
	CreatedAt                     awsjson.Time            `json:"createdAt"`
	PlacementConstraints          []json.RawMessage       `json:"placementConstraints"`
	PlacementStrategy             []json.RawMessage       `json:"placementStrategy"`
	NetworkConfiguration          json.RawMessage         `json:"networkConfiguration,omitempty"`
	HealthCheckGracePeriodSeconds *int                    `json:"healthCheckGracePeriodSeconds,omitempty"`
	SchedulingStrategy            string                  `json:"schedulingStrategy"`
	DeploymentController          json.RawMessage         `json:"deploymentController"`
	CreatedBy                     string                  `json:"createdBy,omitempty"`
	EnableECSManagedTags          bool                    `json:"enableECSManagedTags"`
	PropagateTags                 string                  `json:"propagateTags"`
	EnableExecuteCommand          bool                    `json:"enableExecuteCommand"`
	Tags                          []Tag                   `json:"tags,omitempty"`
}

// ServiceLoadBalancer is one of a service's loadBalancers: the container
// and port its listener forwards to. berth's listener for the service
// listens on 127.0.0.1; LoadBalancerName holds its address
// ("127.0.0.1:PORT"), which is where clients send requests.
type ServiceLoadBalancer struct {
	TargetGroupArn   string `json:"targetGroupArn,omitempty"`
	LoadBalancerName string `json:"loadBalancerName,omitempty"`
	ContainerName    string `json:"containerName"`
	ContainerPort    int    `json:"containerPort"`
}

// DeploymentConfiguration bounds a rolling update: the percentages of
// desiredCount that must stay healthy and that may run at once.
type DeploymentConfiguration struct {
	DeploymentCircuitBreaker *circuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
	MaximumPercent           *int            `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int            `json:"minimumHealthyPercent,omitempty"`
}

type circuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// Deployment is one task definition the service runs or is leaving: the
// PRIMARY one it rolls to, ACTIVE ones it rolls away from.
type Deployment struct {
	ID                 string       `json:"id"`
	Status             string       `json:"status"`
	TaskDefinition     string       `json:"taskDefinition"`
	DesiredCount       int          `json:"desiredCount"`
	PendingCount       int          `json:"pendingCount"`
	RunningCount       int          `json:"runningCount"`
	FailedTasks        int          `json:"failedTasks"`
	CreatedAt          awsjson.Time `json:"createdAt"`
	UpdatedAt          awsjson.Time `json:"updatedAt"`
	LaunchType         string       `json:"launchType,omitempty"`
	RolloutState       string       `json:"rolloutState"`
	RolloutStateReason string       `json:"rolloutStateReason"`
}

// ServiceEvent is one line of a service's history, newest first in
// DescribeServices.
type ServiceEvent struct {
	ID        string       `json:"id"`
	CreatedAt awsjson.Time `json:"createdAt"`
	Message   string       `json:"message"`
}

// Service states and deployment states and rollout states.
const (
	serviceActive   = "ACTIVE"
	serviceDraining = "DRAINING"
	serviceInactive = "INACTIVE"

	deploymentPrimary = "PRIMARY"
	deploymentActive  = "ACTIVE"

	rolloutInProgress = "IN_PROGRESS"
	rolloutCompleted  = "COMPLETED"
)

// maxServiceEvents is how many events a service keeps, as ECS shows.
const maxServiceEvents = 100

// serviceRecord is what the index keeps of a service: its wire form and
// what the scheduler needs beside it.
type serviceRecord struct {
	Service Service `json:"service"`
	Cluster string  `json:"cluster"`
	// Caller created or last updated the service; its registry
	// credentials pull the images of the tasks the scheduler starts.
	Caller Caller `json:"caller"`
	// ListenerPort is the port of the service's listener on 127.0.0.1
	// (loadBalancers only), taken again after a restart.
	ListenerPort int `json:"listenerPort,omitempty"`
}

// primary is the deployment the service rolls to.
func (s *serviceRecord) primary() *Deployment { return &s.Service.Deployments[0] }

// event records msg ("(service web) has reached a steady state.") at now,
// keeping the newest maxServiceEvents.
func (s *serviceRecord) event(now time.Time, msg string) {
	ev := ServiceEvent{ID: launcher.NewUUID(), CreatedAt: awsjson.NewTime(now), Message: "(service " + s.Service.ServiceName + ") " + msg}
	s.Service.Events = append([]ServiceEvent{ev}, s.Service.Events...)
	if len(s.Service.Events) > maxServiceEvents {
		s.Service.Events = s.Service.Events[:maxServiceEvents]
	}
}

// primaryFollows gives the PRIMARY deployment the service's desired
// count; a completed rollout is in progress again when that changes it.
func (s *serviceRecord) primaryFollows(now time.Time) {
	p := s.primary()
	if p.DesiredCount != s.Service.DesiredCount {
		p.DesiredCount, p.UpdatedAt = s.Service.DesiredCount, awsjson.NewTime(now)
		if p.RolloutState == rolloutCompleted {
			p.RolloutState, p.RolloutStateReason = rolloutInProgress, "ECS deployment in progress."
		}
	}
}

// percents returns the deployment configuration's bounds, defaults
// applied (100 and 200, as ECS's for a REPLICA service).
func (c DeploymentConfiguration) percents() (minHealthy, maxPercent int) {
	minHealthy, maxPercent = 100, 200
	if c.MinimumHealthyPercent != nil {
		minHealthy = *c.MinimumHealthyPercent
	}
	if c.MaximumPercent != nil {
		maxPercent = *c.MaximumPercent
	}
	return minHealthy, maxPercent
}

// deploymentID is a new deployment's id, as ECS makes them:
// ecs-svc/ and 19 digits.
func deploymentID() string {
	id := launcher.NewID()
	n := uint64(0)
	for i := 0; i < 16 && i < len(id); i++ {
		n = n<<4 | uint64(hexDigit(id[i]))
	}
	s := strconv.FormatUint(n%1e19, 10)
	for len(s) < 19 {
		s = "0" + s
	}
	return "ecs-svc/" + s
}

func hexDigit(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 0
}
