package ecs

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/metadata"
)

type tagResourceInput struct {
	ResourceArn string `json:"resourceArn"`
	Tags        []Tag  `json:"tags"`
}

type untagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

type listTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn"`
}

type listTagsForResourceOutput struct {
	Tags []Tag `json:"tags"`
}

func (a *API) tagResource(ctx context.Context, in *tagResourceInput) (*struct{}, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, invalidParameter("Tags cannot be empty.")
	}
	return nil, a.changeTags(ctx, "ecs:TagResource", in.ResourceArn, in.Tags, nil)
}

func (a *API) untagResource(ctx context.Context, in *untagResourceInput) (*struct{}, error) {
	if len(in.TagKeys) == 0 {
		return nil, invalidParameter("TagKeys cannot be empty.")
	}
	return nil, a.changeTags(ctx, "ecs:UntagResource", in.ResourceArn, nil, in.TagKeys)
}

func (a *API) listTagsForResource(ctx context.Context, in *listTagsForResourceInput) (*listTagsForResourceOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecs:ListTagsForResource", in.ResourceArn); err != nil {
		return nil, err
	}
	tags, err := a.resourceTags(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []Tag{}
	}
	return &listTagsForResourceOutput{Tags: tags}, nil
}

// ResourceTags returns the tags of the cluster, task definition, task or
// service resource names, which policies test as aws:ResourceTag/<key>
// and ecs:ResourceTag/<key>; none when it does not exist.
func (a *API) ResourceTags(ctx context.Context, resource arn.ARN) (map[string]string, error) {
	tags, err := a.resourceTags(ctx, resource.String())
	if awserr.IsClient(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m, nil
}

// resourceTags reads the tags of a cluster, task definition, task or
// service.
func (a *API) resourceTags(ctx context.Context, arn string) ([]Tag, error) {
	kind, rest, ok := a.arns.resource(arn)
	if !ok {
		return nil, invalidParameter("The ARN %q is not an ECS resource of this account and region.", arn)
	}
	switch kind {
	case "cluster":
		c, err := a.store.Cluster(ctx, rest)
		if errors.Is(err, metadata.ErrClusterUnknown) || (err == nil && c.Status != clusterActive) {
			return nil, clusterNotFound()
		}
		if err != nil {
			return nil, serverError("tags", err)
		}
		var doc clusterConfig
		if err := json.Unmarshal(c.Document, &doc); err != nil {
			return nil, serverError("tags", err)
		}
		return doc.Tags, nil
	case "task-definition":
		stored, ok, err := a.taskDefinition(ctx, arn)
		if err != nil {
			return nil, serverError("tags", err)
		}
		if !ok {
			return nil, resourceNotFound()
		}
		return tagList(stored.Tags), nil
	case "task":
		_, id, ok := a.arns.taskRef(arn)
		if !ok {
			return nil, resourceNotFound()
		}
		t, err := a.runner.Task(ctx, id)
		if errors.Is(err, metadata.ErrTaskUnknown) || (err == nil && t.TaskArn != arn) {
			return nil, resourceNotFound()
		}
		if err != nil {
			return nil, serverError("tags", err)
		}
		return t.Tags, nil
	case "service":
		cluster, name, ok := a.arns.serviceRef(arn)
		if !ok || cluster == "" {
			return nil, resourceNotFound()
		}
		rec, err := a.serviceRecord(ctx, cluster, name)
		if errors.Is(err, metadata.ErrServiceUnknown) || (err == nil && rec.Service.Status == serviceInactive) {
			return nil, resourceNotFound()
		}
		if err != nil {
			return nil, serverError("tags", err)
		}
		return rec.Service.Tags, nil
	}
	return nil, invalidParameter("Tagging is not supported for ECS resources of type %q here.", kind)
}

// changeTags adds tags to, or removes the keys remove from, a cluster,
// task definition, task or service.
func (a *API) changeTags(ctx context.Context, action, arn string, tags []Tag, remove []string) error {
	if err := a.access.AuthorizeAction(ctx, action, arn); err != nil {
		return err
	}
	have, err := a.resourceTags(ctx, arn)
	if err != nil {
		return err
	}
	merged := mergeTags(have, tags, remove)
	if err := checkTags(merged); err != nil {
		return err
	}
	kind, rest, _ := a.arns.resource(arn)
	switch kind {
	case "cluster":
		a.clusterMu.Lock()
		defer a.clusterMu.Unlock()
		c, err := a.store.Cluster(ctx, rest)
		if err != nil {
			return serverError("tags", err)
		}
		var doc clusterConfig
		if err := json.Unmarshal(c.Document, &doc); err != nil {
			return serverError("tags", err)
		}
		doc.Tags = mergeTags(doc.Tags, tags, remove)
		if c.Document, err = json.Marshal(doc); err != nil {
			return serverError("tags", err)
		}
		return serverError("tags", a.store.PutCluster(ctx, c))
	case "task-definition":
		family, revision, _ := a.arns.taskDefinitionRef(arn)
		if revision == 0 {
			return invalidParameter("Tag a task definition by its full ARN, with its revision.")
		}
		err := a.store.SetTaskDefinitionTags(ctx, family, revision, tagMap(merged))
		if errors.Is(err, metadata.ErrTaskDefinitionUnknown) {
			return resourceNotFound()
		}
		return serverError("tags", err)
	case "service":
		cluster, name, _ := a.arns.serviceRef(arn)
		_, err := a.changeService(ctx, cluster, name, func(rec *serviceRecord) error {
			rec.Service.Tags = mergeTags(rec.Service.Tags, tags, remove)
			return nil
		})
		return serverError("tags", err)
	default: // task
		_, id, _ := a.arns.taskRef(arn)
		return serverError("tags", a.runner.TagTask(ctx, id, tags, remove))
	}
}
