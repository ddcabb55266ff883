package ecr

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata"
)

type lifecyclePolicyInput struct {
	repositoryRef
	LifecyclePolicyText *string `json:"lifecyclePolicyText,omitempty"`
}

type lifecyclePolicyOutput struct {
	RegistryID          string        `json:"registryId"`
	RepositoryName      string        `json:"repositoryName"`
	LifecyclePolicyText string        `json:"lifecyclePolicyText"`
	LastEvaluatedAt     *awsjson.Time `json:"lastEvaluatedAt,omitempty"`
}

// parseLifecyclePolicy validates policy text as ECR does.
func parseLifecyclePolicy(text *string) (*lifecycle.Policy, error) {
	if text == nil {
		return nil, validation("lifecyclePolicyText", "null", "Member must not be null")
	}
	p, err := lifecycle.Parse(*text)
	if err != nil {
		return nil, awsjson.InvalidParameterError("%s", strings.TrimPrefix(err.Error(), lifecycle.ErrorCode+": "))
	}
	return p, nil
}

func (a *API) putLifecyclePolicy(ctx context.Context, in *lifecyclePolicyInput) (*lifecyclePolicyOutput, error) {
	name, err := a.authorized(ctx, "ecr:PutLifecyclePolicy", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if _, err := parseLifecyclePolicy(in.LifecyclePolicyText); err != nil {
		return nil, err
	}
	_, err = a.store.UpdateRepository(ctx, name, func(r *metadata.Repository) error {
		r.LifecyclePolicy = *in.LifecyclePolicyText
		return nil
	})
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &lifecyclePolicyOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, LifecyclePolicyText: *in.LifecyclePolicyText}, nil
}

// lifecyclePolicy returns repository name with its policy, or ECR's
// errors for a missing repository or policy.
func (a *API) lifecyclePolicy(ctx context.Context, name string) (*lifecyclePolicyOutput, error) {
	r, err := a.store.Repository(ctx, name)
	if err != nil {
		return nil, a.storeError(err, name)
	}
	if r.LifecyclePolicy == "" {
		return nil, awsjson.Errorf("LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", name, a.cfg.AccountID)
	}
	out := &lifecyclePolicyOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, LifecyclePolicyText: r.LifecyclePolicy}
	if !r.LifecycleEvaluatedAt.IsZero() {
		out.LastEvaluatedAt = ptr(awsjson.NewTime(r.LifecycleEvaluatedAt))
	}
	return out, nil
}

func (a *API) getLifecyclePolicy(ctx context.Context, in *repositoryRef) (*lifecyclePolicyOutput, error) {
	name, err := a.authorized(ctx, "ecr:GetLifecyclePolicy", *in)
	if err != nil {
		return nil, err
	}
	return a.lifecyclePolicy(ctx, name)
}

func (a *API) deleteLifecyclePolicy(ctx context.Context, in *repositoryRef) (*lifecyclePolicyOutput, error) {
	name, err := a.authorized(ctx, "ecr:DeleteLifecyclePolicy", *in)
	if err != nil {
		return nil, err
	}
	out, err := a.lifecyclePolicy(ctx, name)
	if err != nil {
		return nil, err
	}
	_, err = a.store.UpdateRepository(ctx, name, func(r *metadata.Repository) error {
		r.LifecyclePolicy, r.LifecycleEvaluatedAt = "", time.Time{}
		return nil
	})
	return out, a.storeError(err, name)
}

// Previews run in the background, one per repository at a time, and are
// kept in memory until the next preview of the repository replaces them.

type preview struct {
	id      string // binds pagination tokens to this preview
	text    string
	status  string // IN_PROGRESS, COMPLETE or FAILED
	results []lifecycle.Result
}

type previews struct {
	mu sync.Mutex
	m  map[string]*preview
}

type startPreviewOutput struct {
	RegistryID          string `json:"registryId"`
	RepositoryName      string `json:"repositoryName"`
	LifecyclePolicyText string `json:"lifecyclePolicyText"`
	Status              string `json:"status"`
}

func (a *API) startLifecyclePolicyPreview(ctx context.Context, in *lifecyclePolicyInput) (*startPreviewOutput, error) {
	name, err := a.authorized(ctx, "ecr:StartLifecyclePolicyPreview", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	text := in.LifecyclePolicyText
	if text == nil {
		current, err := a.lifecyclePolicy(ctx, name)
		if err != nil {
			return nil, err
		}
		text = &current.LifecyclePolicyText
	} else if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	policy, err := parseLifecyclePolicy(text)
	if err != nil {
		return nil, err
	}
	p := &preview{id: newID(), text: *text, status: "IN_PROGRESS"}
	a.previews.mu.Lock()
	if old := a.previews.m[name]; old != nil && old.status == "IN_PROGRESS" {
		a.previews.mu.Unlock()
		return nil, awsjson.Errorf("LifecyclePolicyPreviewInProgressException", "The previous lifecycle policy preview request has not completed. Wait and try again.")
	}
	a.previews.m[name] = p
	a.previews.mu.Unlock()

	go func() {
		results, err := a.lifecycle.Preview(context.Background(), name, policy, time.Now())
		a.previews.mu.Lock()
		defer a.previews.mu.Unlock()
		p.status, p.results = "COMPLETE", results
		if err != nil {
			p.status = "FAILED"
			a.cfg.Log.Error("lifecycle policy preview failed", "repository", name, "err", err)
		}
	}()
	return &startPreviewOutput{a.cfg.AccountID, name, *text, "IN_PROGRESS"}, nil
}

type getPreviewInput struct {
	repositoryRef
	ImageIDs   []imageID   `json:"imageIds,omitempty"`
	NextToken  *string     `json:"nextToken,omitempty"`
	MaxResults *int        `json:"maxResults,omitempty"`
	Filter     *listFilter `json:"filter,omitempty"`
}

type ruleAction struct {
	Type               string `json:"type"`
	TargetStorageClass string `json:"targetStorageClass,omitempty"`
}

type previewResult struct {
	ImageTags           []string     `json:"imageTags,omitempty"`
	ImageDigest         string       `json:"imageDigest"`
	ImagePushedAt       awsjson.Time `json:"imagePushedAt"`
	Action              ruleAction   `json:"action"`
	AppliedRulePriority int          `json:"appliedRulePriority"`
	StorageClass        string       `json:"storageClass"`
}

type transitioningCount struct {
	TargetStorageClass string `json:"targetStorageClass"`
	ImageTotalCount    int    `json:"imageTotalCount"`
}

type previewSummary struct {
	ExpiringImageTotalCount       int                  `json:"expiringImageTotalCount"`
	TransitioningImageTotalCounts []transitioningCount `json:"transitioningImageTotalCounts,omitempty"`
}

type getPreviewOutput struct {
	RegistryID          string          `json:"registryId"`
	RepositoryName      string          `json:"repositoryName"`
	LifecyclePolicyText string          `json:"lifecyclePolicyText"`
	Status              string          `json:"status"`
	NextToken           *string         `json:"nextToken,omitempty"`
	PreviewResults      []previewResult `json:"previewResults"`
	Summary             *previewSummary `json:"summary,omitempty"`
}

func (a *API) getLifecyclePolicyPreview(ctx context.Context, in *getPreviewInput) (*getPreviewOutput, error) {
	name, err := a.authorized(ctx, "ecr:GetLifecyclePolicyPreview", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	tagged, untagged, err := in.Filter.tagStatus()
	if err != nil {
		return nil, err
	}
	n, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	a.previews.mu.Lock()
	p := a.previews.m[name]
	var snapshot preview
	if p != nil {
		snapshot = *p
	}
	a.previews.mu.Unlock()
	if p == nil {
		return nil, awsjson.Errorf("LifecyclePolicyPreviewNotFoundException", "There is no dry run for the repository with name '%s' in the registry with id '%s'", name, a.cfg.AccountID)
	}
	out := &getPreviewOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, LifecyclePolicyText: snapshot.text, Status: snapshot.status, PreviewResults: []previewResult{}}
	if snapshot.status != "COMPLETE" {
		return out, nil
	}
	var wanted []digest.Digest
	for _, id := range in.ImageIDs {
		m, failure, err := a.resolve(ctx, name, id)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			return nil, a.imageNotFound(name, id)
		}
		wanted = append(wanted, m.Digest)
	}
	var selected []lifecycle.Result
	summary := &previewSummary{}
	archiving := 0
	for _, r := range snapshot.results {
		if r.Action.Type == lifecycle.ActionExpire {
			summary.ExpiringImageTotalCount++
		} else {
			archiving++
		}
		if (len(r.Tags) > 0 && !tagged) || (len(r.Tags) == 0 && !untagged) {
			continue
		}
		if len(wanted) > 0 && !containsDigest(wanted, r.Digest) {
			continue
		}
		selected = append(selected, r)
	}
	if archiving > 0 {
		summary.TransitioningImageTotalCounts = []transitioningCount{{"ARCHIVE", archiving}}
	}
	out.Summary = summary

	binding := awsjson.Binding("GetLifecyclePolicyPreview", name, snapshot.id, tagged, untagged, wanted)
	selected, out.NextToken, err = page(a, binding, in.NextToken, selected, n)
	if err != nil {
		return nil, err
	}
	for _, r := range selected {
		out.PreviewResults = append(out.PreviewResults, previewResult{
			ImageTags: r.Tags, ImageDigest: r.Digest, ImagePushedAt: awsjson.NewTime(r.PushedAt),
			Action:              ruleAction{strings.ToUpper(r.Action.Type), strings.ToUpper(r.Action.TargetStorageClass)},
			AppliedRulePriority: r.RulePriority, StorageClass: strings.ToUpper(r.StorageClass),
		})
	}
	return out, nil
}

func containsDigest(list []digest.Digest, d string) bool {
	for _, x := range list {
		if x.String() == d {
			return true
		}
	}
	return false
}

type updateImageStorageClassInput struct {
	repositoryRef
	ImageID            *imageID `json:"imageId,omitempty"`
	TargetStorageClass *string  `json:"targetStorageClass,omitempty"`
}

type updateImageStorageClassOutput struct {
	RegistryID     string  `json:"registryId"`
	RepositoryName string  `json:"repositoryName"`
	ImageID        imageID `json:"imageId"`
	ImageStatus    string  `json:"imageStatus"`
}

// updateImageStorageClass archives an image or restores it. berth keeps
// archived blobs where they are, so a restore is immediate (ACTIVE, where
// ECR reports ACTIVATING for a while).
func (a *API) updateImageStorageClass(ctx context.Context, in *updateImageStorageClassInput) (*updateImageStorageClassOutput, error) {
	name, err := a.authorized(ctx, "ecr:UpdateImageStorageClass", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	class := ""
	switch t := in.TargetStorageClass; {
	case t == nil:
		return nil, validation("targetStorageClass", "null", "Member must not be null")
	case *t == "ARCHIVE":
		class = metadata.StorageClassArchive
	case *t != "STANDARD":
		return nil, validation("targetStorageClass", *t, "Member must satisfy enum value set: [STANDARD, ARCHIVE]")
	}
	m, err := a.image(ctx, name, in.ImageID)
	if err != nil {
		return nil, err
	}
	if class == metadata.StorageClassArchive {
		if parents, err := a.store.ManifestParents(ctx, name, m.Digest); err != nil {
			return nil, a.storeError(err, name)
		} else if len(parents) > 0 {
			return nil, awsjson.Errorf("ImageStorageClassUpdateNotSupportedException", "The image %s is referenced by a manifest list and cannot be archived on its own", m.Digest)
		}
	}
	if m.StorageClass != class {
		err := a.store.SetStorageClass(ctx, name, m.Digest, class, time.Now())
		if errors.Is(err, metadata.ErrManifestUnknown) {
			return nil, a.imageNotFound(name, *in.ImageID)
		}
		if err != nil {
			return nil, a.storeError(err, name)
		}
	}
	status := "ACTIVE"
	if class == metadata.StorageClassArchive {
		status = "ARCHIVED"
	}
	id := imageID{ImageDigest: ptr(m.Digest.String()), ImageTag: in.ImageID.ImageTag}
	return &updateImageStorageClassOutput{a.cfg.AccountID, name, id, status}, nil
}
