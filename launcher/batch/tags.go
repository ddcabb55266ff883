package batch

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/metadata"
)

// tagsOf returns the tags of the resource ARN names and a function that
// stores a new set. Call with a.mu held.
func (a *API) tagsOf(ctx context.Context, resource string) (map[string]string, func(map[string]string) error, error) {
	p, err := arn.Parse(resource)
	if err != nil || p.Service != arn.Batch {
		return nil, nil, clientError("Invalid resource ARN %q.", resource)
	}
	switch p.Type() {
	case "compute-environment":
		if c, ok := a.envs[p.ID()]; ok {
			return c.Tags, func(t map[string]string) error {
				c.Tags = t
				return a.putResource(ctx, metadata.BatchComputeEnvironment, c.Name, c)
			}, nil
		}
	case "job-queue":
		if q, ok := a.queues[p.ID()]; ok {
			return q.Tags, func(t map[string]string) error {
				q.Tags = t
				return a.putResource(ctx, metadata.BatchJobQueue, q.Name, q)
			}, nil
		}
	case "job-definition":
		if ds, err := a.definitionAnyStatus(p.ID()); err == nil && len(ds) == 1 {
			d := ds[0]
			return d.Tags, func(t map[string]string) error {
				d.Tags = t
				doc, err := json.Marshal(d)
				if err != nil {
					return err
				}
				return a.store.PutBatchJobDefinition(ctx, metadata.BatchJobDefinition{Name: d.Name, Revision: d.Revision, Document: doc})
			}, nil
		}
	case "job":
		if j, ok := a.jobs[p.ID()]; ok {
			return j.Tags, func(t map[string]string) error {
				j.Tags = t
				return a.save(ctx, j)
			}, nil
		}
	}
	return nil, nil, clientError("Resource %s does not exist.", resource)
}

// ResourceTags returns the tags of the compute environment, job queue,
// job definition or job resource names, which policies test as
// aws:ResourceTag/<key> and batch:ResourceTag/<key>; none when it does
// not exist.
func (a *API) ResourceTags(ctx context.Context, resource arn.ARN) (map[string]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tags, _, err := a.tagsOf(ctx, resource.String())
	if awserr.IsClient(err) {
		return nil, nil
	}
	return maps.Clone(tags), err
}

func (a *API) tagResource(w http.ResponseWriter, r *http.Request) error {
	resource := r.PathValue("resourceArn")
	if err := a.authorize(r.Context(), "TagResource", resource); err != nil {
		return err
	}
	var in struct {
		Tags map[string]string `json:"tags"`
	}
	if err := decodeBody(r.Body, &in); err != nil {
		return err
	}
	if len(in.Tags) == 0 || len(in.Tags) > 50 {
		return clientError("tags must hold 1 to 50 tags.")
	}
	for k := range in.Tags {
		if k == "" || len(k) > 128 || strings.HasPrefix(k, "aws:") {
			return clientError("Invalid tag key %q.", k)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	tags, put, err := a.tagsOf(r.Context(), resource)
	if err != nil {
		return err
	}
	next := maps.Clone(tags)
	if next == nil {
		next = map[string]string{}
	}
	maps.Copy(next, in.Tags)
	if err := put(next); err != nil {
		return serverError("tag resource", err)
	}
	return writeJSON(w, struct{}{})
}

func (a *API) untagResource(w http.ResponseWriter, r *http.Request) error {
	resource := r.PathValue("resourceArn")
	if err := a.authorize(r.Context(), "UntagResource", resource); err != nil {
		return err
	}
	keys := r.URL.Query()["tagKeys"]
	if len(keys) == 0 {
		return clientError("tagKeys is required.")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	tags, put, err := a.tagsOf(r.Context(), resource)
	if err != nil {
		return err
	}
	next := maps.Clone(tags)
	for _, k := range keys {
		delete(next, k)
	}
	if err := put(next); err != nil {
		return serverError("untag resource", err)
	}
	return writeJSON(w, struct{}{})
}

func (a *API) listTagsForResource(w http.ResponseWriter, r *http.Request) error {
	resource := r.PathValue("resourceArn")
	if err := a.authorize(r.Context(), "ListTagsForResource", resource); err != nil {
		return err
	}
	a.mu.Lock()
	tags, _, err := a.tagsOf(r.Context(), resource)
	a.mu.Unlock()
	if err != nil {
		return err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return writeJSON(w, struct {
		Tags map[string]string `json:"tags"`
	}{tags})
}
