package ecr

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/metadata"
)

// RepositoryPolicies is ECR's part of access control: the repository
// policy of the repository an ECR ARN names, which auth evaluates beside
// the caller's identity policies. Give it to auth.Config's Resources for
// service "ecr".
type RepositoryPolicies struct{ Store metadata.RepositoryPolicies }

// ResourcePolicy returns the policy of the repository resource names; ""
// when it has none, does not exist, or resource is not a repository.
func (p RepositoryPolicies) ResourcePolicy(ctx context.Context, resource arn.ARN) (string, error) {
	if !resource.Is(arn.ECR, "repository") {
		return "", nil
	}
	text, err := p.Store.RepositoryPolicy(ctx, resource.ID())
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return "", nil
	}
	return text, err
}

// AllResourcePolicies returns the policy of every repository that has
// one, by repository name (the ARN's resource id), in one read, when like
// is a repository's ARN (berth has one account and region): auth
// loads them so when a request evaluates many repositories (a listing).
// It needs a Store that can list them (the metadata index can).
func (p RepositoryPolicies) AllResourcePolicies(ctx context.Context, like arn.ARN) (map[string]string, error) {
	all, ok := p.Store.(interface {
		AllRepositoryPolicies(ctx context.Context) (map[string]string, error)
	})
	if !ok || !like.Is(arn.ECR, "repository") {
		return nil, errors.ErrUnsupported
	}
	return all.AllRepositoryPolicies(ctx)
}

// ResourceTags returns the tags of the repository resource names, which
// policies test as ecr:ResourceTag/<key> and aws:ResourceTag/<key>; none
// when it has none, does not exist, or resource is not a repository. It
// needs a Store that also reads repositories (the metadata index does).
func (p RepositoryPolicies) ResourceTags(ctx context.Context, resource arn.ARN) (map[string]string, error) {
	repos, ok := p.Store.(interface {
		Repository(ctx context.Context, name string) (metadata.Repository, error)
	})
	if !ok || !resource.Is(arn.ECR, "repository") {
		return nil, nil
	}
	r, err := repos.Repository(ctx, resource.ID())
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(r.Tags))
	for _, t := range r.Tags {
		tags[t.Key] = t.Value
	}
	return tags, nil
}

type setRepositoryPolicyInput struct {
	repositoryRef
	PolicyText *string `json:"policyText,omitempty"`
	Force      bool    `json:"force,omitempty"`
}

type repositoryPolicyOutput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	PolicyText     string `json:"policyText,omitempty"`
}

func (a *API) setRepositoryPolicy(ctx context.Context, in *setRepositoryPolicyInput) (*repositoryPolicyOutput, error) {
	name, err := a.repository(in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if in.PolicyText == nil {
		return nil, validation("policyText", "null", "Member must not be null")
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:SetRepositoryPolicy", a.repositoryARN(name)); err != nil {
		return nil, err
	}
	if err := a.access.CheckRepositoryPolicy(*in.PolicyText); err != nil {
		return nil, invalidParameter("PolicyText", "Invalid repository policy provided: "+err.Error())
	}
	err = a.store.SetRepositoryPolicy(ctx, name, *in.PolicyText)
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return nil, repositoryNotFound(name, a.cfg.AccountID)
	}
	if err != nil {
		return nil, wrap("SetRepositoryPolicy", err)
	}
	return &repositoryPolicyOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, PolicyText: *in.PolicyText}, nil
}

func (a *API) getRepositoryPolicy(ctx context.Context, in *repositoryRef) (*repositoryPolicyOutput, error) {
	name, err := a.repository(*in)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:GetRepositoryPolicy", a.repositoryARN(name)); err != nil {
		return nil, err
	}
	text, err := a.existingPolicy(ctx, name)
	if err != nil {
		return nil, err
	}
	return &repositoryPolicyOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, PolicyText: text}, nil
}

func (a *API) deleteRepositoryPolicy(ctx context.Context, in *repositoryRef) (*repositoryPolicyOutput, error) {
	name, err := a.repository(*in)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:DeleteRepositoryPolicy", a.repositoryARN(name)); err != nil {
		return nil, err
	}
	text, err := a.existingPolicy(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := a.store.SetRepositoryPolicy(ctx, name, ""); err != nil {
		return nil, wrap("DeleteRepositoryPolicy", err)
	}
	return &repositoryPolicyOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, PolicyText: text}, nil
}

// existingPolicy returns the policy of repository name, or ECR's errors for
// a missing repository or policy.
func (a *API) existingPolicy(ctx context.Context, name string) (string, error) {
	text, err := a.store.RepositoryPolicy(ctx, name)
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return "", repositoryNotFound(name, a.cfg.AccountID)
	}
	if err != nil {
		return "", wrap("RepositoryPolicy", err)
	}
	if text == "" {
		return "", repositoryPolicyNotFound(name, a.cfg.AccountID)
	}
	return text, nil
}
