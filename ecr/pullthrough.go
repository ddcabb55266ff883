package ecr

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/pullthrough"
)

// PullThrough is what the API needs of the pull-through cache (package
// pullthrough's Cache) beyond storing the rules.
type PullThrough interface {
	// Validate checks that rule's upstream answers and takes its
	// credentials.
	Validate(ctx context.Context, rule pullthrough.Rule) error
	// CheckCredential checks that the credential arn names is set and
	// opens.
	CheckCredential(ctx context.Context, arn string) error
}

// checkUpstream refuses an upstream URL berth cannot pull from and a
// credentialArn that is malformed or names no credential berth holds.
func (a *API) checkUpstream(ctx context.Context, url string, credentialArn *string) error {
	if url != "" {
		if _, err := pullthrough.ParseUpstreamURL(url); err != nil {
			return unsupportedUpstreamRegistry(url, err)
		}
	}
	if credentialArn == nil {
		return nil
	}
	if _, err := pullthrough.ParseCredentialArn(*credentialArn); err != nil {
		return validation("credentialArn", *credentialArn, "Member must satisfy regular expression pattern: ^arn:aws:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\\-pullthroughcache\\/[a-zA-Z0-9\\/_+=.@-]+$")
	}
	if a.cfg.PullThrough == nil {
		return nil
	}
	err := a.cfg.PullThrough.CheckCredential(ctx, *credentialArn)
	switch {
	case errors.Is(err, pullthrough.ErrNoCredential):
		return secretNotFound(*credentialArn)
	case errors.Is(err, secret.ErrOpen):
		return unableToDecryptSecret(*credentialArn)
	}
	return wrap("credential", err)
}

func (r pullThroughCacheRule) rule() pullthrough.Rule {
	return pullthrough.Rule{Prefix: r.EcrRepositoryPrefix, UpstreamURL: r.UpstreamRegistryURL, Upstream: r.UpstreamRegistry, CredentialArn: r.CredentialArn}
}

type updatePullThroughCacheRuleOutput struct {
	EcrRepositoryPrefix string       `json:"ecrRepositoryPrefix"`
	RegistryID          string       `json:"registryId"`
	CredentialArn       string       `json:"credentialArn,omitempty"`
	UpdatedAt           awsjson.Time `json:"updatedAt"`
}

// updatePullThroughCacheRule changes a rule's credentials.
func (a *API) updatePullThroughCacheRule(ctx context.Context, in *pullThroughCacheRuleInput) (*updatePullThroughCacheRuleOutput, error) {
	rules, i, err := a.cacheRule(ctx, in, "ecr:UpdatePullThroughCacheRule")
	if err != nil {
		return nil, err
	}
	if err := a.checkUpstream(ctx, "", in.CredentialArn); err != nil {
		return nil, err
	}
	rules[i].CredentialArn = ""
	if in.CredentialArn != nil {
		rules[i].CredentialArn = *in.CredentialArn
	}
	rules[i].UpdatedAt = awsjson.NewTime(a.cfg.Now())
	if err := a.saveSetting(ctx, settingPullThrough, rules); err != nil {
		return nil, err
	}
	r := rules[i]
	return &updatePullThroughCacheRuleOutput{r.EcrRepositoryPrefix, a.cfg.AccountID, r.CredentialArn, r.UpdatedAt}, nil
}

type validatePullThroughCacheRuleOutput struct {
	EcrRepositoryPrefix string `json:"ecrRepositoryPrefix"`
	RegistryID          string `json:"registryId"`
	UpstreamRegistryURL string `json:"upstreamRegistryUrl"`
	CredentialArn       string `json:"credentialArn,omitempty"`
	IsValid             bool   `json:"isValid"`
	Failure             string `json:"failure,omitempty"`
}

// validatePullThroughCacheRule reaches a rule's upstream with its
// credentials and says whether that worked, and if not why.
func (a *API) validatePullThroughCacheRule(ctx context.Context, in *pullThroughCacheRuleInput) (*validatePullThroughCacheRuleOutput, error) {
	rules, i, err := a.cacheRule(ctx, in, "ecr:ValidatePullThroughCacheRule")
	if err != nil {
		return nil, err
	}
	r := rules[i]
	out := &validatePullThroughCacheRuleOutput{r.EcrRepositoryPrefix, a.cfg.AccountID, r.UpstreamRegistryURL, r.CredentialArn, true, ""}
	if a.cfg.PullThrough == nil {
		out.IsValid, out.Failure = false, "this berth has no pull-through cache configured"
		return out, nil
	}
	if err := a.cfg.PullThrough.Validate(ctx, r.rule()); err != nil {
		out.IsValid, out.Failure = false, err.Error()
	}
	return out, nil
}
