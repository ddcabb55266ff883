package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// cluster is an ECS cluster in its wire form.
type cluster struct {
	ClusterArn                        string            `json:"clusterArn"`
	ClusterName                       string            `json:"clusterName"`
	Status                            string            `json:"status"`
	RegisteredContainerInstancesCount int               `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int               `json:"runningTasksCount"`
	PendingTasksCount                 int               `json:"pendingTasksCount"`
	ActiveServicesCount               int               `json:"activeServicesCount"`
	Statistics                        []json.RawMessage `json:"statistics"`
	clusterConfig
}

// clusterConfig is what CreateCluster sets and the index keeps of a
// cluster beside its name, status and creation time.
type clusterConfig struct {
	Tags                            []Tag             `json:"tags,omitempty"`
	Settings                        []clusterSetting  `json:"settings,omitempty"`
	CapacityProviders               []string          `json:"capacityProviders"`
	DefaultCapacityProviderStrategy []json.RawMessage `json:"defaultCapacityProviderStrategy"`
	Configuration                   json.RawMessage   `json:"configuration,omitempty"`
	ServiceConnectDefaults          json.RawMessage   `json:"serviceConnectDefaults,omitempty"`
}

type clusterSetting struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Cluster states.
const (
	clusterActive   = "ACTIVE"
	clusterInactive = "INACTIVE"
)

// ensureDefaultCluster creates the default cluster unless it exists.
func (a *API) ensureDefaultCluster(ctx context.Context) error {
	_, err := a.store.Cluster(ctx, defaultCluster)
	if errors.Is(err, metadata.ErrClusterUnknown) {
		return a.putCluster(ctx, defaultCluster, clusterActive, clusterConfig{})
	}
	return err
}

func (a *API) putCluster(ctx context.Context, name, status string, doc clusterConfig) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return a.store.PutCluster(ctx, metadata.Cluster{Name: name, Status: status, CreatedAt: a.cfg.Now(), Document: b})
}

// activeCluster resolves a cluster member (name, ARN or empty) to the
// name of an ACTIVE cluster; ClusterNotFoundException otherwise.
func (a *API) activeCluster(ctx context.Context, s string) (string, error) {
	name, ok := a.arns.clusterName(s)
	if !ok {
		return "", clusterNotFound()
	}
	c, err := a.store.Cluster(ctx, name)
	if errors.Is(err, metadata.ErrClusterUnknown) || (err == nil && c.Status != clusterActive) {
		return "", clusterNotFound()
	}
	if err != nil {
		return "", serverError("cluster", err)
	}
	return name, nil
}

// wireCluster is c as ECS answers with it; the counts are read from the
// tasks and the tags included only when asked for.
func (a *API) wireCluster(ctx context.Context, c metadata.Cluster, withTags bool) (cluster, error) {
	out := cluster{ClusterArn: a.arns.cluster(c.Name), ClusterName: c.Name, Status: c.Status, Statistics: []json.RawMessage{}}
	if err := json.Unmarshal(c.Document, &out.clusterConfig); err != nil {
		return cluster{}, err
	}
	if !withTags {
		out.Tags = nil
	}
	if out.CapacityProviders == nil {
		out.CapacityProviders = []string{}
	}
	if out.DefaultCapacityProviderStrategy == nil {
		out.DefaultCapacityProviderStrategy = []json.RawMessage{}
	}
	if out.Settings == nil {
		out.Settings = []clusterSetting{{Name: "containerInsights", Value: "disabled"}}
	}
	if c.Status != clusterActive {
		return out, nil
	}
	tasks, err := a.store.Tasks(ctx, metadata.TaskQuery{Cluster: c.Name, Live: true})
	if err != nil {
		return cluster{}, err
	}
	for _, t := range tasks {
		switch t.LastStatus {
		case StatusRunning:
			out.RunningTasksCount++
		case StatusProvisioning, StatusPending, StatusActivating:
			out.PendingTasksCount++
		}
	}
	services, err := a.store.Services(ctx, metadata.ServiceQuery{Cluster: c.Name, Status: serviceActive})
	if err != nil {
		return cluster{}, err
	}
	out.ActiveServicesCount = len(services)
	return out, nil
}

type createClusterInput struct {
	ClusterName string `json:"clusterName"`
	clusterConfig
}

type clusterOutput struct {
	Cluster cluster `json:"cluster"`
}

// createCluster creates a cluster, or returns the ACTIVE cluster of that
// name as ECS does.
func (a *API) createCluster(ctx context.Context, in *createClusterInput) (*clusterOutput, error) {
	name := in.ClusterName
	if name == "" {
		name = defaultCluster
	}
	if !clusterNamePattern.MatchString(name) {
		return nil, invalidParameter("Cluster name can only contain alphanumeric characters, hyphens and underscores; up to 255 characters are allowed.")
	}
	if err := a.access.AuthorizeAction(ctx, "ecs:CreateCluster", a.arns.cluster(name)); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	a.clusterMu.Lock()
	defer a.clusterMu.Unlock()
	c, err := a.store.Cluster(ctx, name)
	if err == nil && c.Status == clusterActive {
		out, err := a.wireCluster(ctx, c, true)
		if err != nil {
			return nil, serverError("CreateCluster", err)
		}
		return &clusterOutput{out}, nil
	}
	if err != nil && !errors.Is(err, metadata.ErrClusterUnknown) {
		return nil, serverError("CreateCluster", err)
	}
	doc := in.clusterConfig
	if err := a.putCluster(ctx, name, clusterActive, doc); err != nil {
		return nil, serverError("CreateCluster", err)
	}
	c, err = a.store.Cluster(ctx, name)
	if err != nil {
		return nil, serverError("CreateCluster", err)
	}
	out, err := a.wireCluster(ctx, c, true)
	if err != nil {
		return nil, serverError("CreateCluster", err)
	}
	return &clusterOutput{out}, nil
}

type describeClustersInput struct {
	Clusters []string `json:"clusters"`
	Include  []string `json:"include"`
}

type failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type describeClustersOutput struct {
	Clusters []cluster `json:"clusters"`
	Failures []failure `json:"failures"`
}

// describeClusters describes clusters by name or ARN (the default
// cluster when none is given); unknown ones are failures, MISSING.
func (a *API) describeClusters(ctx context.Context, in *describeClustersInput) (*describeClustersOutput, error) {
	names := in.Clusters
	if len(names) == 0 {
		names = []string{defaultCluster}
	}
	if len(names) > 100 {
		return nil, invalidParameter("Clusters cannot have more than 100 elements.")
	}
	withTags := slices.Contains(in.Include, "TAGS")
	out := &describeClustersOutput{Clusters: []cluster{}, Failures: []failure{}}
	for _, s := range names {
		name, ok := a.arns.clusterName(s)
		arn := a.arns.cluster(name)
		if !ok {
			out.Failures = append(out.Failures, failure{Arn: s, Reason: "MISSING"})
			continue
		}
		if err := a.access.AuthorizeAction(ctx, "ecs:DescribeClusters", arn); err != nil {
			return nil, err
		}
		c, err := a.store.Cluster(ctx, name)
		if errors.Is(err, metadata.ErrClusterUnknown) {
			out.Failures = append(out.Failures, failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		if err != nil {
			return nil, serverError("DescribeClusters", err)
		}
		wc, err := a.wireCluster(ctx, c, withTags)
		if err != nil {
			return nil, serverError("DescribeClusters", err)
		}
		out.Clusters = append(out.Clusters, wc)
	}
	return out, nil
}

type listClustersInput struct {
	MaxResults *int    `json:"maxResults"`
	NextToken  *string `json:"nextToken"`
}

type listClustersOutput struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

// listClusters lists the ACTIVE clusters by name.
func (a *API) listClusters(ctx context.Context, in *listClustersInput) (*listClustersOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecs:ListClusters", "*"); err != nil {
		return nil, err
	}
	n, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	binding := awsjson.Binding("ListClusters", a.cfg.AccountID)
	var after string
	if in.NextToken != nil {
		if err := a.tokens.Decode(*in.NextToken, binding, &after); err != nil {
			return nil, err
		}
	}
	page, err := a.store.Clusters(ctx, clusterActive, after, n+1)
	if err != nil {
		return nil, serverError("ListClusters", err)
	}
	out := &listClustersOutput{ClusterArns: []string{}}
	for i, c := range page {
		if i == n {
			token, err := a.tokens.Encode(binding, page[n-1].Name)
			if err != nil {
				return nil, err
			}
			out.NextToken = &token
			break
		}
		out.ClusterArns = append(out.ClusterArns, a.arns.cluster(c.Name))
	}
	return out, nil
}

type deleteClusterInput struct {
	Cluster string `json:"cluster"`
}

// deleteCluster makes a cluster INACTIVE, unless tasks still run in it.
func (a *API) deleteCluster(ctx context.Context, in *deleteClusterInput) (*clusterOutput, error) {
	if in.Cluster == "" {
		return nil, invalidParameter("Cluster cannot be empty.")
	}
	name, ok := a.arns.clusterName(in.Cluster)
	if !ok {
		return nil, clusterNotFound()
	}
	if err := a.access.AuthorizeAction(ctx, "ecs:DeleteCluster", a.arns.cluster(name)); err != nil {
		return nil, err
	}
	a.clusterMu.Lock()
	defer a.clusterMu.Unlock()
	c, err := a.store.Cluster(ctx, name)
	if errors.Is(err, metadata.ErrClusterUnknown) || (err == nil && c.Status != clusterActive) {
		return nil, clusterNotFound()
	}
	if err != nil {
		return nil, serverError("DeleteCluster", err)
	}
	live, err := a.store.Tasks(ctx, metadata.TaskQuery{Cluster: name, Live: true, Limit: 1})
	if err != nil {
		return nil, serverError("DeleteCluster", err)
	}
	if len(live) > 0 {
		return nil, clusterContainsTasks()
	}
	services, err := a.store.Services(ctx, metadata.ServiceQuery{Cluster: name, Status: serviceActive, Limit: 1})
	if err != nil {
		return nil, serverError("DeleteCluster", err)
	}
	if len(services) > 0 {
		return nil, clusterContainsServices()
	}
	c.Status = clusterInactive
	if err := a.store.PutCluster(ctx, c); err != nil {
		return nil, serverError("DeleteCluster", err)
	}
	out, err := a.wireCluster(ctx, c, true)
	if err != nil {
		return nil, serverError("DeleteCluster", err)
	}
	return &clusterOutput{out}, nil
}
