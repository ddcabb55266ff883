package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// maxDesiredCount is ECS's quota of tasks per service.
const maxDesiredCount = 5000

type createServiceInput struct {
	Cluster                       string                     `json:"cluster"`
	ServiceName                   string                     `json:"serviceName"`
	TaskDefinition                string                     `json:"taskDefinition"`
	DesiredCount                  *int                       `json:"desiredCount"`
	LaunchType                    string                     `json:"launchType"`
	CapacityProviderStrategy      []capacityProviderStrategy `json:"capacityProviderStrategy"`
	LoadBalancers                 []ServiceLoadBalancer      `json:"loadBalancers"`
	DeploymentConfiguration       *DeploymentConfiguration   `json:"deploymentConfiguration"`
	SchedulingStrategy            string                     `json:"schedulingStrategy"`
	HealthCheckGracePeriodSeconds *int                       `json:"healthCheckGracePeriodSeconds"`
	PlatformVersion               string                     `json:"platformVersion"`
	PropagateTags                 string                     `json:"propagateTags"`
	EnableECSManagedTags          bool                       `json:"enableECSManagedTags"`
	EnableExecuteCommand          bool                       `json:"enableExecuteCommand"`
	ClientToken                   string                     `json:"clientToken"`
	Tags                          []Tag                      `json:"tags"`
	// networkConfiguration, placement, service registries and the like
	// are accepted and have no local meaning.
	NetworkConfiguration json.RawMessage `json:"networkConfiguration"`
}

type serviceOutput struct {
	Service Service `json:"service"`
}

// createService creates a service: its scheduler starts desiredCount
// tasks of the task definition and keeps them running, behind a
// listener on 127.0.0.1 when it has loadBalancers.
func (a *API) createService(ctx context.Context, in *createServiceInput) (*serviceOutput, error) {
	if in.ServiceName == "" {
		return nil, invalidParameter("ServiceName cannot be empty.")
	}
	if !clusterNamePattern.MatchString(in.ServiceName) {
		return nil, invalidParameter("Service name %q is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.", in.ServiceName)
	}
	if in.TaskDefinition == "" {
		return nil, invalidParameter("TaskDefinition cannot be empty.")
	}
	switch in.SchedulingStrategy {
	case "", "REPLICA":
	case "DAEMON":
		return nil, invalidParameter("Scheduling strategy DAEMON is not supported by berth: use REPLICA.")
	default:
		return nil, invalidParameter("Invalid schedulingStrategy %q.", in.SchedulingStrategy)
	}
	desired := 0
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	if err := checkDesiredCount(desired); err != nil {
		return nil, err
	}
	var dc DeploymentConfiguration
	if in.DeploymentConfiguration != nil {
		dc = *in.DeploymentConfiguration
	}
	if err := checkDeploymentConfiguration(dc); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	launchType, err := requestedLaunchType(in.LaunchType, in.CapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	cluster, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	arn := a.arns.service(cluster, in.ServiceName)
	if err := a.access.AuthorizeAction(ctx, "ecs:CreateService", arn); err != nil {
		return nil, err
	}
	td, err := a.serviceDefinition(ctx, in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	def, launchType, err := effectiveDefinition(td, launchType, TaskOverride{})
	if err != nil {
		return nil, err
	}
	lbs, err := checkLoadBalancers(&def, in.LoadBalancers)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	caller := a.access.Caller(ctx)
	svc := Service{
		ServiceArn: arn, ServiceName: in.ServiceName, ClusterArn: a.arns.cluster(cluster),
		LoadBalancers: lbs, ServiceRegistries: []json.RawMessage{}, Status: serviceActive,
		DesiredCount: desired, LaunchType: launchType, TaskDefinition: td.TaskDefinitionArn,
		DeploymentConfiguration: dc, Events: []ServiceEvent{}, CreatedAt: awsjson.NewTime(now),
		PlacementConstraints: []json.RawMessage{}, PlacementStrategy: []json.RawMessage{},
		NetworkConfiguration: in.NetworkConfiguration, HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
		SchedulingStrategy: "REPLICA", DeploymentController: json.RawMessage(`{"type":"ECS"}`),
		CreatedBy: caller.ARN, EnableECSManagedTags: in.EnableECSManagedTags, PropagateTags: "NONE",
		EnableExecuteCommand: in.EnableExecuteCommand, Tags: in.Tags,
	}
	if in.PropagateTags != "" {
		svc.PropagateTags = in.PropagateTags
	}
	if launchType == launchFargate {
		svc.PlatformVersion, svc.PlatformFamily = "LATEST", "Linux"
	}
	svc.Deployments = []Deployment{newDeployment(td.TaskDefinitionArn, desired, launchType, now)}
	rec := serviceRecord{Service: svc, Cluster: cluster, Caller: caller}

	a.serviceMu.Lock()
	old, err := a.store.Service(ctx, cluster, in.ServiceName)
	if err == nil && old.Status != serviceInactive {
		a.serviceMu.Unlock()
		return nil, invalidParameter("Creation of service was not idempotent.")
	}
	if err != nil && !errors.Is(err, metadata.ErrServiceUnknown) {
		a.serviceMu.Unlock()
		return nil, serverError("CreateService", err)
	}
	err = a.putService(ctx, &rec)
	a.serviceMu.Unlock()
	if err != nil {
		return nil, serverError("CreateService", err)
	}
	// The scheduler takes it up: its listener is bound before the answer,
	// which shows its address.
	if rec, err = a.sched.add(ctx, cluster, in.ServiceName); err != nil {
		return nil, serverError("CreateService", err)
	}
	return &serviceOutput{a.wireService(rec, true)}, nil
}

// newDeployment is a service's new PRIMARY deployment of taskDefinition.
func newDeployment(taskDefinition string, desired int, launchType string, now time.Time) Deployment {
	return Deployment{ID: deploymentID(), Status: deploymentPrimary, TaskDefinition: taskDefinition, DesiredCount: desired,
		CreatedAt: awsjson.NewTime(now), UpdatedAt: awsjson.NewTime(now), LaunchType: launchType,
		RolloutState: rolloutInProgress, RolloutStateReason: "ECS deployment in progress."}
}

// checkDesiredCount refuses a negative or absurd desiredCount.
func checkDesiredCount(n int) error {
	if n < 0 || n > maxDesiredCount {
		return invalidParameter("desiredCount must be between 0 and %d.", maxDesiredCount)
	}
	return nil
}

// checkDeploymentConfiguration refuses bounds ECS refuses, and bounds
// under which a rolling update could never progress.
func checkDeploymentConfiguration(dc DeploymentConfiguration) error {
	minHealthy, maxPercent := dc.percents()
	if minHealthy < 0 || minHealthy > 100 {
		return invalidParameter("minimumHealthyPercent must be between 0 and 100.")
	}
	if maxPercent < 100 || maxPercent > 1000 {
		return invalidParameter("maximumPercent must be between 100 and 1000.")
	}
	if maxPercent <= minHealthy {
		return invalidParameter("maximumPercent must be greater than minimumHealthyPercent, or a deployment cannot replace any task.")
	}
	return nil
}

// checkLoadBalancers checks a service's loadBalancers against its task
// definition: berth gives a service one listener, forwarding to one
// container port that the definition maps.
func checkLoadBalancers(def *TaskDefinition, lbs []ServiceLoadBalancer) ([]ServiceLoadBalancer, error) {
	if len(lbs) == 0 {
		return []ServiceLoadBalancer{}, nil
	}
	if len(lbs) > 1 {
		return nil, invalidParameter("berth gives a service one load balancer: loadBalancers may have one element.")
	}
	lb := lbs[0]
	if lb.ContainerName == "" {
		return nil, invalidParameter("loadBalancers: containerName cannot be empty.")
	}
	c, ok := def.container(lb.ContainerName)
	if !ok {
		return nil, invalidParameter("The container %s does not exist in the task definition.", lb.ContainerName)
	}
	if !slices.ContainsFunc(c.PortMappings, func(p PortMapping) bool { return p.ContainerPort == lb.ContainerPort }) {
		return nil, invalidParameter("The container %s did not have a container port %d defined.", lb.ContainerName, lb.ContainerPort)
	}
	lb.LoadBalancerName = ""
	return []ServiceLoadBalancer{lb}, nil
}

// serviceDefinition reads the task definition a service names.
func (a *API) serviceDefinition(ctx context.Context, ref string) (TaskDefinition, error) {
	stored, ok, err := a.taskDefinition(ctx, ref)
	if err != nil {
		return TaskDefinition{}, serverError("taskDefinition", err)
	}
	if !ok {
		return TaskDefinition{}, invalidParameter("TaskDefinition not found.")
	}
	if stored.Status != "ACTIVE" {
		return TaskDefinition{}, invalidParameter("TaskDefinition is inactive")
	}
	td, err := a.wireTaskDefinition(stored)
	if err != nil {
		return TaskDefinition{}, serverError("taskDefinition", err)
	}
	return td, nil
}

// putService writes rec to the index. a.serviceMu is held.
func (a *API) putService(ctx context.Context, rec *serviceRecord) error {
	doc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return a.store.PutService(context.WithoutCancel(ctx), metadata.Service{Cluster: rec.Cluster, Name: rec.Service.ServiceName,
		Status: rec.Service.Status, CreatedAt: rec.Service.CreatedAt.Time, Document: doc})
}

// serviceRecord reads a service's record; ErrServiceUnknown wrapped
// when there is none.
func (a *API) serviceRecord(ctx context.Context, cluster, name string) (serviceRecord, error) {
	var rec serviceRecord
	s, err := a.store.Service(ctx, cluster, name)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(s.Document, &rec); err != nil {
		return rec, err
	}
	rec.Service.Status = s.Status
	return rec, nil
}

// changeService applies change to the record of a service and writes it
// back, one change of any service at a time (the API's and the
// scheduler's).
func (a *API) changeService(ctx context.Context, cluster, name string, change func(*serviceRecord) error) (serviceRecord, error) {
	a.serviceMu.Lock()
	defer a.serviceMu.Unlock()
	rec, err := a.serviceRecord(ctx, cluster, name)
	if err != nil {
		return rec, err
	}
	before, _ := json.Marshal(rec)
	if err := change(&rec); err != nil {
		return rec, err
	}
	if after, _ := json.Marshal(rec); string(after) == string(before) {
		return rec, nil
	}
	return rec, a.putService(ctx, &rec)
}

// wireService is rec as ECS answers with it.
func (a *API) wireService(rec serviceRecord, withTags bool) Service {
	s := rec.Service
	s.Events = slices.Clone(s.Events)
	s.Deployments = slices.Clone(s.Deployments)
	s.LoadBalancers = slices.Clone(s.LoadBalancers)
	if !withTags {
		s.Tags = nil
	}
	return s
}

// activeService resolves a cluster and service member to a service that
// is not yet deleted: ServiceNotFoundException when there is none,
// ServiceNotActiveException when it is being deleted or was.
func (a *API) activeService(ctx context.Context, clusterRef, ref, action string) (string, string, error) {
	if ref == "" {
		return "", "", invalidParameter("Service cannot be empty.")
	}
	cluster, err := a.activeCluster(ctx, clusterRef)
	if err != nil {
		return "", "", err
	}
	svcCluster, name, ok := a.arns.serviceRef(ref)
	if !ok || (svcCluster != "" && svcCluster != cluster) {
		return "", "", serviceNotFound()
	}
	if err := a.access.AuthorizeAction(ctx, action, a.arns.service(cluster, name)); err != nil {
		return "", "", err
	}
	s, err := a.store.Service(ctx, cluster, name)
	if errors.Is(err, metadata.ErrServiceUnknown) {
		return "", "", serviceNotFound()
	}
	if err != nil {
		return "", "", serverError(action, err)
	}
	if s.Status != serviceActive {
		return "", "", serviceNotActive()
	}
	return cluster, name, nil
}

type updateServiceInput struct {
	Cluster                       string                   `json:"cluster"`
	Service                       string                   `json:"service"`
	DesiredCount                  *int                     `json:"desiredCount"`
	TaskDefinition                string                   `json:"taskDefinition"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration"`
	ForceNewDeployment            bool                     `json:"forceNewDeployment"`
	HealthCheckGracePeriodSeconds *int                     `json:"healthCheckGracePeriodSeconds"`
	LoadBalancers                 []ServiceLoadBalancer    `json:"loadBalancers"`
	NetworkConfiguration          json.RawMessage          `json:"networkConfiguration"`
	EnableExecuteCommand          *bool                    `json:"enableExecuteCommand"`
}

// updateService changes a service's desired count, and rolls it to a new
// task definition (or the same one again, with forceNewDeployment): a new
// PRIMARY deployment, which the scheduler brings up while it stops the
// tasks of the others within the deployment configuration's bounds.
func (a *API) updateService(ctx context.Context, in *updateServiceInput) (*serviceOutput, error) {
	if in.DesiredCount != nil {
		if err := checkDesiredCount(*in.DesiredCount); err != nil {
			return nil, err
		}
	}
	if in.DeploymentConfiguration != nil {
		if err := checkDeploymentConfiguration(*in.DeploymentConfiguration); err != nil {
			return nil, err
		}
	}
	cluster, name, err := a.activeService(ctx, in.Cluster, in.Service, "ecs:UpdateService")
	if err != nil {
		return nil, err
	}
	var td *TaskDefinition
	if in.TaskDefinition != "" {
		d, err := a.serviceDefinition(ctx, in.TaskDefinition)
		if err != nil {
			return nil, err
		}
		td = &d
	}
	now := a.cfg.Now()
	caller := a.access.Caller(ctx)
	rec, err := a.changeService(ctx, cluster, name, func(rec *serviceRecord) error {
		s := &rec.Service
		if s.Status != serviceActive {
			return serviceNotActive()
		}
		lbs := s.LoadBalancers
		if in.LoadBalancers != nil && !slices.EqualFunc(in.LoadBalancers, lbs, func(x, y ServiceLoadBalancer) bool {
			return x.ContainerName == y.ContainerName && x.ContainerPort == y.ContainerPort
		}) {
			return invalidParameter("berth cannot change a service's loadBalancers: delete the service and create it again.")
		}
		newDef := td != nil && td.TaskDefinitionArn != s.TaskDefinition
		if td != nil {
			def, _, err := effectiveDefinition(*td, s.LaunchType, TaskOverride{})
			if err != nil {
				return err
			}
			if len(lbs) > 0 {
				if _, err := checkLoadBalancers(&def, lbs); err != nil {
					return err
				}
			}
		}
		if in.DesiredCount != nil {
			s.DesiredCount = *in.DesiredCount
		}
		if in.DeploymentConfiguration != nil {
			s.DeploymentConfiguration = *in.DeploymentConfiguration
		}
		if in.HealthCheckGracePeriodSeconds != nil {
			s.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
		}
		if in.NetworkConfiguration != nil {
			s.NetworkConfiguration = in.NetworkConfiguration
		}
		if in.EnableExecuteCommand != nil {
			s.EnableExecuteCommand = *in.EnableExecuteCommand
		}
		rec.Caller = caller
		if newDef || in.ForceNewDeployment {
			if td != nil {
				s.TaskDefinition = td.TaskDefinitionArn
			}
			for i := range s.Deployments {
				s.Deployments[i].Status = deploymentActive
				s.Deployments[i].UpdatedAt = awsjson.NewTime(now)
			}
			s.Deployments = append([]Deployment{newDeployment(s.TaskDefinition, s.DesiredCount, s.LaunchType, now)}, s.Deployments...)
		}
		rec.primaryFollows(now)
		return nil
	})
	if err != nil {
		return nil, serverError("UpdateService", err)
	}
	a.sched.kick(cluster, name)
	return &serviceOutput{a.wireService(rec, true)}, nil
}

type describeServicesInput struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
	Include  []string `json:"include"`
}

type describeServicesOutput struct {
	Services []Service `json:"services"`
	Failures []failure `json:"failures"`
}

// describeServices describes up to 10 services; those that do not exist
// are failures, MISSING. Deleted services are described INACTIVE.
func (a *API) describeServices(ctx context.Context, in *describeServicesInput) (*describeServicesOutput, error) {
	if len(in.Services) == 0 {
		return nil, invalidParameter("Services cannot be empty.")
	}
	if len(in.Services) > 10 {
		return nil, invalidParameter("Services cannot have more than 10 elements.")
	}
	cluster, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := &describeServicesOutput{Services: []Service{}, Failures: []failure{}}
	for _, ref := range in.Services {
		svcCluster, name, ok := a.arns.serviceRef(ref)
		if !ok || (svcCluster != "" && svcCluster != cluster) {
			out.Failures = append(out.Failures, failure{Arn: ref, Reason: "MISSING"})
			continue
		}
		arn := a.arns.service(cluster, name)
		if err := a.access.AuthorizeAction(ctx, "ecs:DescribeServices", arn); err != nil {
			return nil, err
		}
		rec, err := a.serviceRecord(ctx, cluster, name)
		if errors.Is(err, metadata.ErrServiceUnknown) {
			out.Failures = append(out.Failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, serverError("DescribeServices", err)
		}
		out.Services = append(out.Services, a.wireService(rec, withTags))
	}
	return out, nil
}

type listServicesInput struct {
	Cluster            string  `json:"cluster"`
	LaunchType         string  `json:"launchType"`
	SchedulingStrategy string  `json:"schedulingStrategy"`
	MaxResults         *int    `json:"maxResults"`
	NextToken          *string `json:"nextToken"`
}

type listServicesOutput struct {
	ServiceArns []string `json:"serviceArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

// listServices lists a cluster's services that are not deleted, 10 to a
// page unless maxResults says otherwise (up to 100).
func (a *API) listServices(ctx context.Context, in *listServicesInput) (*listServicesOutput, error) {
	cluster, err := a.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecs:ListServices", a.arns.cluster(cluster)); err != nil {
		return nil, err
	}
	n, err := maxResults(in.MaxResults, 100, 10)
	if err != nil {
		return nil, err
	}
	if err := checkLaunchTypeFilter(in.LaunchType); err != nil {
		return nil, err
	}
	switch in.SchedulingStrategy {
	case "", "REPLICA", "DAEMON":
	default:
		return nil, invalidParameter("Invalid schedulingStrategy %q.", in.SchedulingStrategy)
	}
	binding := awsjson.Binding("ListServices", cluster, in.LaunchType, in.SchedulingStrategy)
	q := metadata.ServiceQuery{Cluster: cluster, AfterCluster: cluster, Limit: 100}
	if in.NextToken != nil {
		if err := a.tokens.Decode(*in.NextToken, binding, &q.AfterName); err != nil {
			return nil, err
		}
	}
	out := &listServicesOutput{ServiceArns: []string{}}
	for {
		page, err := a.store.Services(ctx, q)
		if err != nil {
			return nil, serverError("ListServices", err)
		}
		for _, s := range page {
			if len(out.ServiceArns) == n {
				token, err := a.tokens.Encode(binding, q.AfterName)
				if err != nil {
					return nil, err
				}
				out.NextToken = &token
				return out, nil
			}
			q.AfterName = s.Name
			if s.Status == serviceInactive || (in.SchedulingStrategy == "DAEMON") || (in.LaunchType != "" && !a.serviceLaunchedAs(s, in.LaunchType)) {
				continue
			}
			out.ServiceArns = append(out.ServiceArns, a.arns.service(cluster, s.Name))
		}
		if len(page) < q.Limit {
			return out, nil
		}
	}
}

// serviceLaunchedAs reports whether a stored service has launch type lt.
func (a *API) serviceLaunchedAs(s metadata.Service, lt string) bool {
	var rec serviceRecord
	return json.Unmarshal(s.Document, &rec) == nil && rec.Service.LaunchType == lt
}

type deleteServiceInput struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Force   bool   `json:"force"`
}

// deleteService deletes a service scaled to 0, or any with force: it
// turns DRAINING while the scheduler stops its tasks, then INACTIVE.
func (a *API) deleteService(ctx context.Context, in *deleteServiceInput) (*serviceOutput, error) {
	cluster, name, err := a.activeService(ctx, in.Cluster, in.Service, "ecs:DeleteService")
	if err != nil {
		return nil, err
	}
	rec, err := a.drainService(ctx, cluster, name, in.Force)
	if err != nil {
		return nil, err
	}
	return &serviceOutput{a.wireService(rec, true)}, nil
}

// drainService deletes a service scaled to 0, or any with force: it
// turns DRAINING, and the scheduler stops its tasks.
func (a *API) drainService(ctx context.Context, cluster, name string, force bool) (serviceRecord, error) {
	now := a.cfg.Now()
	rec, err := a.changeService(ctx, cluster, name, func(rec *serviceRecord) error {
		s := &rec.Service
		if s.Status != serviceActive {
			return serviceNotActive()
		}
		if s.DesiredCount > 0 && !force {
			return invalidParameter("The service cannot be stopped while it is scaled above 0.")
		}
		s.Status, s.DesiredCount = serviceDraining, 0
		for i := range s.Deployments {
			s.Deployments[i].DesiredCount, s.Deployments[i].UpdatedAt = 0, awsjson.NewTime(now)
		}
		return nil
	})
	if err != nil {
		return rec, serverError("DeleteService", err)
	}
	a.sched.kick(cluster, name)
	return rec, nil
}

// serviceNotFound is what calls naming a service that does not exist get.
func serviceNotFound() error {
	return awserr.Errorf(typeServiceNotFound, "Service not found.")
}

// serviceNotActive is what calls that change a deleted service get.
func serviceNotActive() error {
	return awserr.Errorf(typeServiceNotActive, "Service was not ACTIVE.")
}
