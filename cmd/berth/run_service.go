package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// checkService checks the flags of an ECS service (--service): its
// desired count and the container port its listener forwards to, which
// the task definition then maps.
func checkService(l *launch) error {
	if l.count != 1 {
		return errors.New("--count is for tasks; a service has --desired")
	}
	if l.desired < 0 || l.desired > 100 {
		return fmt.Errorf("--desired %d: from 0 to 100 tasks", l.desired)
	}
	if l.loadBalanced < 0 || l.loadBalanced > 65535 {
		return fmt.Errorf("--load-balanced %d: a container port, 1-65535", l.loadBalanced)
	}
	if l.loadBalanced > 0 && !mapsPort(l.ports, l.loadBalanced) {
		// Bridge tasks take any host port, so that several run side
		// by side; an awsvpc task publishes the port at its own number.
		m := portMapping{container: l.loadBalanced}
		if l.as == "fargate" {
			m.host = l.loadBalanced
		}
		l.ports = append(l.ports, m)
	}
	return nil
}

// mapsPort reports whether ports map the container port.
func mapsPort(ports []portMapping, container int32) bool {
	for _, p := range ports {
		if p.container == container {
			return true
		}
	}
	return false
}

// runService runs the image as an ECS service (--service): it registers
// or reuses the task definition, creates the service or updates it to
// the definition and --desired, prints the service's events until it is
// steady, and prints the URL of its listener when it has one. Detached,
// it prints the service's name at once.
func runService(r *remote, l *launch) error {
	api := ecs.NewFromConfig(r.client.AWSConfig())
	in := l.taskDefinition(r.client.AWSConfig().Region)
	// A service's tasks take their arguments from the definition.
	in.ContainerDefinitions[0].Command = l.args
	def, err := ensureTaskDefinition(r.ctx(), api, in)
	if err != nil {
		return err
	}
	cluster := l.cluster
	if cluster == "" {
		cluster = "default"
	}
	existing, err := findService(r.ctx(), api, cluster, l.service)
	if err != nil {
		return err
	}
	seen := map[string]bool{} // the events printed, by id
	var svc *types.Service    // as created or updated
	if existing == nil {
		create := &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(l.service),
			TaskDefinition: aws.String(def), DesiredCount: aws.Int32(l.desired), LaunchType: types.LaunchTypeEc2}
		if l.as == "fargate" {
			create.LaunchType = types.LaunchTypeFargate
		}
		if l.loadBalanced > 0 {
			create.LoadBalancers = []types.LoadBalancer{{ContainerName: aws.String(l.name), ContainerPort: aws.Int32(l.loadBalanced)}}
		}
		created, err := api.CreateService(r.ctx(), create)
		if err != nil {
			return err
		}
		svc = created.Service
	} else {
		for _, e := range existing.Events {
			seen[aws.ToString(e.Id)] = true
		}
		update := &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(l.service),
			TaskDefinition: aws.String(def), DesiredCount: aws.Int32(l.desired)}
		updated, err := api.UpdateService(r.ctx(), update)
		if err != nil {
			return err
		}
		svc = updated.Service
	}
	if l.detach {
		return r.out.Print(&ecs.DescribeServicesOutput{Services: []types.Service{*svc}}, func() error {
			r.out.Linef("%s", aws.ToString(svc.ServiceName))
			return nil
		})
	}
	steady, err := waitSteady(r, api, cluster, l.service, seen)
	if err != nil {
		return err
	}
	return r.out.Print(&ecs.DescribeServicesOutput{Services: []types.Service{steady}}, func() error {
		if url := serviceURL(steady); url != "" {
			r.out.Linef("%s", url)
		} else {
			r.out.Linef("%s", aws.ToString(steady.ServiceName))
		}
		return nil
	})
}

// findService is the active service name of cluster, or nil.
func findService(ctx context.Context, api *ecs.Client, cluster, name string) (*types.Service, error) {
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	var missing *types.ClusterNotFoundException
	if errors.As(err, &missing) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, s := range out.Services {
		if aws.ToString(s.Status) == "ACTIVE" {
			return &s, nil
		}
	}
	return nil, nil
}

// waitSteady prints the service's events not seen yet (on stderr) until
// it runs its desired count on one deployment whose rollout completed,
// with its listener's address when it has a load balancer.
func waitSteady(r *remote, api *ecs.Client, cluster, name string, seen map[string]bool) (types.Service, error) {
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		s, err := findService(r.ctx(), api, cluster, name)
		if err != nil {
			return types.Service{}, err
		}
		if s == nil {
			return types.Service{}, fmt.Errorf("service %s: deleted while it started", name)
		}
		for i := len(s.Events) - 1; i >= 0; i-- {
			if e := s.Events[i]; !seen[aws.ToString(e.Id)] {
				fmt.Fprintln(r.cmd.ErrOrStderr(), aws.ToString(e.Message))
				seen[aws.ToString(e.Id)] = true
			}
		}
		lbReady := len(s.LoadBalancers) == 0 || aws.ToString(s.LoadBalancers[0].LoadBalancerName) != ""
		// ECS completes a deployment's rollout once its tasks run and,
		// behind a load balancer, its targets are healthy.
		completed := len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted
		if s.RunningCount == s.DesiredCount && s.PendingCount == 0 && completed && lbReady {
			return *s, nil
		}
		select {
		case <-r.ctx().Done():
			return types.Service{}, fmt.Errorf("interrupted; service %s runs on (berth stop %s removes it)", name, name)
		case <-tick.C:
		}
	}
}

// serviceURL is the URL of the service's listener, or "".
func serviceURL(s types.Service) string {
	if len(s.LoadBalancers) == 0 || aws.ToString(s.LoadBalancers[0].LoadBalancerName) == "" {
		return ""
	}
	return "http://" + aws.ToString(s.LoadBalancers[0].LoadBalancerName)
}

// listServices lists the active services of every cluster.
func listServices(ctx context.Context, api *ecs.Client) ([]types.Service, error) {
	clusters, err := listClusters(ctx, api)
	if err != nil {
		return nil, err
	}
	var services []types.Service
	for _, cluster := range clusters {
		var arns []string
		for p := ecs.NewListServicesPaginator(api, &ecs.ListServicesInput{Cluster: aws.String(cluster)}); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			arns = append(arns, page.ServiceArns...)
		}
		for len(arns) > 0 {
			chunk := arns[:min(len(arns), 10)]
			arns = arns[len(chunk):]
			out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: chunk})
			if err != nil {
				return nil, err
			}
			services = append(services, out.Services...)
		}
	}
	return services, nil
}

// serviceNamed is the active service name (or ARN) of cluster, or when
// cluster is empty of any cluster; nil when there is none.
func serviceNamed(ctx context.Context, api *ecs.Client, cluster, name string) (*types.Service, error) {
	if cluster != "" {
		return findService(ctx, api, cluster, name)
	}
	services, err := listServices(ctx, api)
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		if aws.ToString(s.ServiceName) == name || aws.ToString(s.ServiceArn) == name {
			return &s, nil
		}
	}
	return nil, nil
}

// deleteService scales the service to 0 and deletes it (force), as
// the console's delete does.
func deleteService(ctx context.Context, api *ecs.Client, cluster, name string) (types.Service, error) {
	s, err := serviceNamed(ctx, api, cluster, name)
	if err != nil {
		return types.Service{}, err
	}
	if s == nil {
		return types.Service{}, fmt.Errorf("%s: no such task, service or job", name)
	}
	ref := &ecs.UpdateServiceInput{Cluster: s.ClusterArn, Service: s.ServiceName, DesiredCount: aws.Int32(0)}
	if _, err := api.UpdateService(ctx, ref); err != nil {
		return types.Service{}, err
	}
	out, err := api.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: s.ClusterArn, Service: s.ServiceName, Force: aws.Bool(true)})
	if err != nil {
		return types.Service{}, err
	}
	return *out.Service, nil
}
