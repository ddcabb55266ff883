package ecr

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awserr"
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
		return nil, awserr.Errorf(awserr.InvalidParameterException, "%s", strings.TrimPrefix(err.Error(), lifecycle.ErrorCode+": "))
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
		return nil, lifecyclePolicyNotFound(name, a.cfg.AccountID)
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

// Previews are kept in the index and run by lifecycle.Previewer on
// whichever replica claims them; the API starts them and reads them.

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
	if _, err := parseLifecyclePolicy(text); err != nil {
		return nil, err
	}
	if a.cfg.Previews == nil {
		return nil, errors.New("StartLifecyclePolicyPreview: no lifecycle previewer configured")
	}
	p, err := a.cfg.Previews.Start(ctx, name, *text)
	if errors.Is(err, metadata.ErrPreviewInProgress) {
		return nil, lifecyclePreviewInProgress()
	}
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &startPreviewOutput{a.cfg.AccountID, name, p.Policy, p.Status}, nil
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
	p, err := a.store.LifecyclePreview(ctx, name)
	if errors.Is(err, metadata.ErrPreviewUnknown) {
		return nil, lifecyclePreviewNotFound(name, a.cfg.AccountID)
	}
	if err != nil {
		return nil, a.storeError(err, name)
	}
	out := &getPreviewOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, LifecyclePolicyText: p.Policy, Status: p.Status, PreviewResults: []previewResult{}}
	if p.Status != metadata.PreviewComplete {
		return out, nil
	}
	var wanted []digest.Digest
	for _, id := range in.ImageIDs {
		m, failure, err := a.resolve(ctx, name, id)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			return nil, imageNotFound(id, name, a.cfg.AccountID)
		}
		wanted = append(wanted, m.Digest)
	}
	out.Summary = &previewSummary{ExpiringImageTotalCount: p.Expiring}
	if p.Transitioning > 0 {
		out.Summary.TransitioningImageTotalCounts = []transitioningCount{{"ARCHIVE", p.Transitioning}}
	}

	binding := awsjson.Binding("GetLifecyclePolicyPreview", name, p.ID, tagged, untagged, wanted)
	filter := metadata.ImageFilter{Tagged: tagged, Untagged: untagged, Standard: true, Archived: true, Digests: wanted}
	results, next, err := cursorPage(a, binding, in.NextToken, n, func(after, n int) ([]metadata.PreviewResult, error) {
		results, err := a.store.PreviewResults(ctx, name, p.ID, filter, after, n)
		return results, a.storeError(err, name)
	}, func(r metadata.PreviewResult) int { return r.Position })
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	for _, r := range results {
		out.PreviewResults = append(out.PreviewResults, previewResult{
			ImageTags: r.Tags, ImageDigest: r.Digest.String(), ImagePushedAt: awsjson.NewTime(r.PushedAt),
			Action:              ruleAction{strings.ToUpper(r.Action), strings.ToUpper(r.TargetStorageClass)},
			AppliedRulePriority: r.RulePriority, StorageClass: strings.ToUpper(r.StorageClass),
		})
	}
	return out, nil
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
			return nil, storageClassUpdateNotSupported(m.Digest)
		}
	}
	if m.StorageClass != class {
		err := a.store.SetStorageClass(ctx, name, m.Digest, class, a.cfg.Now())
		if errors.Is(err, metadata.ErrManifestUnknown) {
			return nil, imageNotFound(*in.ImageID, name, a.cfg.AccountID)
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
