package ecr

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/pullthrough"
	"github.com/berth-dev/berth/replication"
)

// Registry-wide configuration that berth stores and returns, validated as
// ECR validates it: the registry policy, replication, pull-through cache
// rules (which package pullthrough acts on) and account settings. Each is one JSON value in
// the index's settings.

const (
	settingRegistryPolicy = "ecr.registryPolicy"
	settingReplication    = replication.ConfigSetting
	settingPullThrough    = pullthrough.RulesSetting
	settingAccountPrefix  = "ecr.account."
)

// loadSetting decodes setting key into v; false if it was never set.
func (a *API) loadSetting(ctx context.Context, key string, v any) (bool, error) {
	text, err := a.store.Setting(ctx, key)
	if err != nil || text == "" {
		return false, wrap("setting "+key, err)
	}
	return true, wrap("setting "+key, json.Unmarshal([]byte(text), v))
}

// saveSetting stores v as setting key; nil removes it.
func (a *API) saveSetting(ctx context.Context, key string, v any) error {
	text := ""
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		text = string(b)
	}
	return wrap("setting "+key, a.store.PutSetting(ctx, key, text))
}

// Registry policy.

type registryPolicyInput struct {
	PolicyText *string `json:"policyText,omitempty"`
}

type registryPolicyOutput struct {
	RegistryID string `json:"registryId"`
	PolicyText string `json:"policyText"`
}

func (a *API) putRegistryPolicy(ctx context.Context, in *registryPolicyInput) (*registryPolicyOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecr:PutRegistryPolicy", ""); err != nil {
		return nil, err
	}
	if in.PolicyText == nil {
		return nil, validation("policyText", "null", "Member must not be null")
	}
	if err := a.access.CheckRepositoryPolicy(*in.PolicyText); err != nil {
		return nil, invalidParameter("PolicyText", "Invalid registry policy provided: "+err.Error())
	}
	if err := a.saveSetting(ctx, settingRegistryPolicy, *in.PolicyText); err != nil {
		return nil, err
	}
	return &registryPolicyOutput{a.cfg.AccountID, *in.PolicyText}, nil
}

func (a *API) registryPolicy(ctx context.Context, action string) (string, error) {
	if err := a.access.AuthorizeAction(ctx, action, ""); err != nil {
		return "", err
	}
	var text string
	if ok, err := a.loadSetting(ctx, settingRegistryPolicy, &text); err != nil || !ok {
		if err == nil {
			err = registryPolicyNotFound(a.cfg.AccountID)
		}
		return "", err
	}
	return text, nil
}

func (a *API) getRegistryPolicy(ctx context.Context, _ *struct{}) (*registryPolicyOutput, error) {
	text, err := a.registryPolicy(ctx, "ecr:GetRegistryPolicy")
	if err != nil {
		return nil, err
	}
	return &registryPolicyOutput{a.cfg.AccountID, text}, nil
}

func (a *API) deleteRegistryPolicy(ctx context.Context, _ *struct{}) (*registryPolicyOutput, error) {
	text, err := a.registryPolicy(ctx, "ecr:DeleteRegistryPolicy")
	if err != nil {
		return nil, err
	}
	if err := a.saveSetting(ctx, settingRegistryPolicy, nil); err != nil {
		return nil, err
	}
	return &registryPolicyOutput{a.cfg.AccountID, text}, nil
}

// Replication.

// The replication configuration's shapes are package replication's, which
// acts on it.
type (
	replicationConfiguration = replication.Configuration
	replicationRule          = replication.Rule
)

var (
	regionRegexp = regexp.MustCompile(`^[0-9a-z-]{2,25}$`)
	prefixRegexp = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$`)
)

// validateReplication checks c as ECR does.
func validateReplication(c *replicationConfiguration) error {
	if c == nil || c.Rules == nil {
		return validation("replicationConfiguration.rules", "null", "Member must not be null")
	}
	if len(c.Rules) > 10 {
		return validation("replicationConfiguration.rules", "list", "Member must have length less than or equal to 10")
	}
	for _, r := range c.Rules {
		if len(r.Destinations) < 1 || len(r.Destinations) > 100 {
			return validation("replicationConfiguration.rules.member.destinations", "list", "Member must have length between 1 and 100")
		}
		for _, d := range r.Destinations {
			if !regionRegexp.MatchString(d.Region) {
				return validation("replicationConfiguration.rules.member.destinations.member.region", d.Region, "Member must satisfy regular expression pattern: [0-9a-z-]{2,25}")
			}
			if !registryIDRegexp.MatchString(d.RegistryID) {
				return validation("replicationConfiguration.rules.member.destinations.member.registryId", d.RegistryID, "Member must satisfy regular expression pattern: [0-9]{12}")
			}
		}
		if len(r.RepositoryFilters) > 100 {
			return validation("replicationConfiguration.rules.member.repositoryFilters", "list", "Member must have length less than or equal to 100")
		}
		for _, f := range r.RepositoryFilters {
			if f.FilterType != "PREFIX_MATCH" {
				return validation("replicationConfiguration.rules.member.repositoryFilters.member.filterType", f.FilterType, "Member must satisfy enum value set: [PREFIX_MATCH]")
			}
			if len(f.Filter) < 2 || len(f.Filter) > 256 || !prefixRegexp.MatchString(f.Filter) {
				return validation("replicationConfiguration.rules.member.repositoryFilters.member.filter", f.Filter, "Member must satisfy regular expression pattern: ^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$")
			}
		}
	}
	return nil
}

type putReplicationConfigurationInput struct {
	ReplicationConfiguration *replicationConfiguration `json:"replicationConfiguration,omitempty"`
}

type putReplicationConfigurationOutput struct {
	ReplicationConfiguration replicationConfiguration `json:"replicationConfiguration"`
}

func (a *API) putReplicationConfiguration(ctx context.Context, in *putReplicationConfigurationInput) (*putReplicationConfigurationOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecr:PutReplicationConfiguration", ""); err != nil {
		return nil, err
	}
	if err := validateReplication(in.ReplicationConfiguration); err != nil {
		return nil, err
	}
	if err := a.saveSetting(ctx, settingReplication, in.ReplicationConfiguration); err != nil {
		return nil, err
	}
	return &putReplicationConfigurationOutput{*in.ReplicationConfiguration}, nil
}

type describeRegistryOutput struct {
	RegistryID               string                   `json:"registryId"`
	ReplicationConfiguration replicationConfiguration `json:"replicationConfiguration"`
}

func (a *API) describeRegistry(ctx context.Context, _ *struct{}) (*describeRegistryOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecr:DescribeRegistry", ""); err != nil {
		return nil, err
	}
	out := &describeRegistryOutput{RegistryID: a.cfg.AccountID, ReplicationConfiguration: replicationConfiguration{Rules: []replicationRule{}}}
	if _, err := a.loadSetting(ctx, settingReplication, &out.ReplicationConfiguration); err != nil {
		return nil, err
	}
	return out, nil
}

// Pull-through cache rules.

type pullThroughCacheRule struct {
	EcrRepositoryPrefix string       `json:"ecrRepositoryPrefix"`
	UpstreamRegistryURL string       `json:"upstreamRegistryUrl"`
	UpstreamRegistry    string       `json:"upstreamRegistry,omitempty"`
	CredentialArn       string       `json:"credentialArn,omitempty"`
	RegistryID          string       `json:"registryId"`
	CreatedAt           awsjson.Time `json:"createdAt"`
	UpdatedAt           awsjson.Time `json:"updatedAt"`
}

type pullThroughCacheRuleInput struct {
	RegistryID            *string  `json:"registryId,omitempty"`
	EcrRepositoryPrefix   *string  `json:"ecrRepositoryPrefix,omitempty"`
	EcrRepositoryPrefixes []string `json:"ecrRepositoryPrefixes,omitempty"`
	UpstreamRegistryURL   *string  `json:"upstreamRegistryUrl,omitempty"`
	UpstreamRegistry      *string  `json:"upstreamRegistry,omitempty"`
	CredentialArn         *string  `json:"credentialArn,omitempty"`
	NextToken             *string  `json:"nextToken,omitempty"`
	MaxResults            *int     `json:"maxResults,omitempty"`
}

var (
	cachePrefixRegexp  = regexp.MustCompile(`^(?:(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*/?|ROOT)$`)
	upstreamRegistries = []string{"ecr", "ecr-public", "quay", "k8s", "docker-hub", "github-container-registry", "azure-container-registry", "gitlab-container-registry", "chainguard"}
)

func (a *API) cachePrefix(in *pullThroughCacheRuleInput) (string, error) {
	if err := a.registryID(in.RegistryID); err != nil {
		return "", err
	}
	if in.EcrRepositoryPrefix == nil {
		return "", validation("ecrRepositoryPrefix", "null", "Member must not be null")
	}
	p := *in.EcrRepositoryPrefix
	if len(p) < 2 || len(p) > 30 || !cachePrefixRegexp.MatchString(p) {
		return "", validation("ecrRepositoryPrefix", p, "Member must satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
	}
	return p, nil
}

func (a *API) cacheRules(ctx context.Context) ([]pullThroughCacheRule, error) {
	var rules []pullThroughCacheRule
	_, err := a.loadSetting(ctx, settingPullThrough, &rules)
	return rules, err
}

func (a *API) createPullThroughCacheRule(ctx context.Context, in *pullThroughCacheRuleInput) (*pullThroughCacheRule, error) {
	prefix, err := a.cachePrefix(in)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:CreatePullThroughCacheRule", ""); err != nil {
		return nil, err
	}
	if in.UpstreamRegistryURL == nil || *in.UpstreamRegistryURL == "" {
		return nil, validation("upstreamRegistryUrl", "null", "Member must not be null")
	}
	if in.UpstreamRegistry != nil && !slices.Contains(upstreamRegistries, *in.UpstreamRegistry) {
		return nil, validation("upstreamRegistry", *in.UpstreamRegistry, "Member must satisfy enum value set: ["+strings.Join(upstreamRegistries, ", ")+"]")
	}
	if err := a.checkUpstream(ctx, *in.UpstreamRegistryURL, in.CredentialArn); err != nil {
		return nil, err
	}
	rules, err := a.cacheRules(ctx)
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(rules, func(r pullThroughCacheRule) bool { return r.EcrRepositoryPrefix == prefix }) {
		return nil, pullThroughCacheRuleAlreadyExists(a.cfg.AccountID)
	}
	now := awsjson.NewTime(a.cfg.Now())
	rule := pullThroughCacheRule{EcrRepositoryPrefix: prefix, UpstreamRegistryURL: *in.UpstreamRegistryURL, RegistryID: a.cfg.AccountID, CreatedAt: now, UpdatedAt: now}
	if in.UpstreamRegistry != nil {
		rule.UpstreamRegistry = *in.UpstreamRegistry
	}
	if in.CredentialArn != nil {
		rule.CredentialArn = *in.CredentialArn
	}
	if err := a.saveSetting(ctx, settingPullThrough, append(rules, rule)); err != nil {
		return nil, err
	}
	return &rule, nil
}

type describePullThroughCacheRulesOutput struct {
	PullThroughCacheRules []pullThroughCacheRule `json:"pullThroughCacheRules"`
	NextToken             *string                `json:"nextToken,omitempty"`
}

func (a *API) describePullThroughCacheRules(ctx context.Context, in *pullThroughCacheRuleInput) (*describePullThroughCacheRulesOutput, error) {
	if err := a.registryID(in.RegistryID); err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:DescribePullThroughCacheRules", ""); err != nil {
		return nil, err
	}
	rules, err := a.cacheRules(ctx)
	if err != nil {
		return nil, err
	}
	out := &describePullThroughCacheRulesOutput{PullThroughCacheRules: []pullThroughCacheRule{}}
	for _, want := range in.EcrRepositoryPrefixes {
		i := slices.IndexFunc(rules, func(r pullThroughCacheRule) bool { return r.EcrRepositoryPrefix == want })
		if i < 0 {
			return nil, a.cacheRuleNotFound()
		}
		out.PullThroughCacheRules = append(out.PullThroughCacheRules, rules[i])
	}
	if len(in.EcrRepositoryPrefixes) == 0 {
		out.PullThroughCacheRules = append(out.PullThroughCacheRules, rules...)
	}
	return out, nil
}

func (a *API) cacheRuleNotFound() error {
	return pullThroughCacheRuleNotFound(a.cfg.AccountID)
}

func (a *API) deletePullThroughCacheRule(ctx context.Context, in *pullThroughCacheRuleInput) (*pullThroughCacheRule, error) {
	rules, i, err := a.cacheRule(ctx, in, "ecr:DeletePullThroughCacheRule")
	if err != nil {
		return nil, err
	}
	rule := rules[i]
	if err := a.saveSetting(ctx, settingPullThrough, slices.Delete(rules, i, i+1)); err != nil {
		return nil, err
	}
	return &rule, nil
}

// cacheRule checks in's prefix, authorizes action and finds the rule with
// that prefix: all the rules, and its index among them.
func (a *API) cacheRule(ctx context.Context, in *pullThroughCacheRuleInput, action string) ([]pullThroughCacheRule, int, error) {
	prefix, err := a.cachePrefix(in)
	if err != nil {
		return nil, 0, err
	}
	if err := a.access.AuthorizeAction(ctx, action, ""); err != nil {
		return nil, 0, err
	}
	rules, err := a.cacheRules(ctx)
	if err != nil {
		return nil, 0, err
	}
	i := slices.IndexFunc(rules, func(r pullThroughCacheRule) bool { return r.EcrRepositoryPrefix == prefix })
	if i < 0 {
		return nil, 0, a.cacheRuleNotFound()
	}
	return rules, i, nil
}

// Account settings.

// accountSettings are the names PutAccountSetting accepts, their values
// and, first, the default.
var accountSettings = map[string][]string{
	"BASIC_SCAN_TYPE_VERSION": {"AWS_NATIVE", "CLAIR"},
	"REGISTRY_POLICY_SCOPE":   {"V2", "V1"},
	"BLOB_MOUNTING":           {"ENABLED", "DISABLED"},
}

type accountSetting struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

func accountSettingName(name *string) (string, error) {
	if name == nil {
		return "", validation("name", "null", "Member must not be null")
	}
	if _, ok := accountSettings[*name]; !ok {
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range accountSettings {
				if !yield(n) {
					return
				}
			}
		})
		return "", validation("name", *name, "Member must satisfy enum value set: ["+strings.Join(names, ", ")+"]")
	}
	return *name, nil
}

func (a *API) getAccountSetting(ctx context.Context, in *accountSetting) (*accountSetting, error) {
	name, err := accountSettingName(in.Name)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:GetAccountSetting", ""); err != nil {
		return nil, err
	}
	value := accountSettings[name][0]
	if _, err := a.loadSetting(ctx, settingAccountPrefix+name, &value); err != nil {
		return nil, err
	}
	return &accountSetting{&name, &value}, nil
}

func (a *API) putAccountSetting(ctx context.Context, in *accountSetting) (*accountSetting, error) {
	name, err := accountSettingName(in.Name)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:PutAccountSetting", ""); err != nil {
		return nil, err
	}
	if in.Value == nil || !slices.Contains(accountSettings[name], *in.Value) {
		v := "null"
		if in.Value != nil {
			v = *in.Value
		}
		return nil, invalidParameter("value", fmt.Sprintf("Value %s is not valid for %s; valid values are %s", v, name, strings.Join(accountSettings[name], ", ")))
	}
	if err := a.saveSetting(ctx, settingAccountPrefix+name, *in.Value); err != nil {
		return nil, err
	}
	return &accountSetting{&name, in.Value}, nil
}
