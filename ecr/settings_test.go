package ecr_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// Registry-wide configuration is validated, stored and returned.
func TestRegistrySettings(t *testing.T) {
	client, _, _ := newAPI(t)
	ctx := t.Context()

	// Registry policy.
	_, err := client.GetRegistryPolicy(ctx, &sdkecr.GetRegistryPolicyInput{})
	assertMessage(t, err, "RegistryPolicyNotFoundException", "Registry policy does not exist in the registry with id '123456789012'")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"ecr:ReplicateImage","Resource":"*"}]}`
	if _, err := client.PutRegistryPolicy(ctx, &sdkecr.PutRegistryPolicyInput{PolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetRegistryPolicy(ctx, &sdkecr.GetRegistryPolicyInput{})
	if err != nil || aws.ToString(got.PolicyText) != policy || aws.ToString(got.RegistryId) != account {
		t.Fatalf("GetRegistryPolicy = %+v, %v", got, err)
	}
	_, err = client.PutRegistryPolicy(ctx, &sdkecr.PutRegistryPolicyInput{PolicyText: aws.String(`{"no":"statement"}`)})
	assertCode(t, err, "InvalidParameterException")
	if _, err := client.DeleteRegistryPolicy(ctx, &sdkecr.DeleteRegistryPolicyInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = client.DeleteRegistryPolicy(ctx, &sdkecr.DeleteRegistryPolicyInput{})
	assertCode(t, err, "RegistryPolicyNotFoundException")

	// Replication, returned by DescribeRegistry.
	cfg := &types.ReplicationConfiguration{Rules: []types.ReplicationRule{{
		Destinations:      []types.ReplicationDestination{{Region: aws.String("eu-central-1"), RegistryId: aws.String("210987654321")}},
		RepositoryFilters: []types.RepositoryFilter{{Filter: aws.String("prod"), FilterType: types.RepositoryFilterTypePrefixMatch}},
	}}}
	if _, err := client.PutReplicationConfiguration(ctx, &sdkecr.PutReplicationConfigurationInput{ReplicationConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	reg, err := client.DescribeRegistry(ctx, &sdkecr.DescribeRegistryInput{})
	if err != nil || len(reg.ReplicationConfiguration.Rules) != 1 || aws.ToString(reg.ReplicationConfiguration.Rules[0].Destinations[0].Region) != "eu-central-1" ||
		aws.ToString(reg.ReplicationConfiguration.Rules[0].RepositoryFilters[0].Filter) != "prod" {
		t.Fatalf("DescribeRegistry = %+v, %v", reg, err)
	}
	bad := &types.ReplicationConfiguration{Rules: []types.ReplicationRule{{Destinations: []types.ReplicationDestination{{Region: aws.String("eu-central-1"), RegistryId: aws.String("12")}}}}}
	_, err = client.PutReplicationConfiguration(ctx, &sdkecr.PutReplicationConfigurationInput{ReplicationConfiguration: bad})
	assertCode(t, err, "ValidationException")

	// Pull-through cache rules.
	rule, err := client.CreatePullThroughCacheRule(ctx, &sdkecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("quay"), UpstreamRegistryUrl: aws.String("quay.io"), UpstreamRegistry: types.UpstreamRegistryQuay,
	})
	if err != nil || aws.ToString(rule.EcrRepositoryPrefix) != "quay" || rule.CreatedAt == nil {
		t.Fatalf("CreatePullThroughCacheRule = %+v, %v", rule, err)
	}
	_, err = client.CreatePullThroughCacheRule(ctx, &sdkecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay"), UpstreamRegistryUrl: aws.String("quay.io")})
	assertCode(t, err, "PullThroughCacheRuleAlreadyExistsException")
	_, err = client.CreatePullThroughCacheRule(ctx, &sdkecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("Bad Prefix"), UpstreamRegistryUrl: aws.String("quay.io")})
	assertCode(t, err, "ValidationException")
	rules, err := client.DescribePullThroughCacheRules(ctx, &sdkecr.DescribePullThroughCacheRulesInput{})
	if err != nil || len(rules.PullThroughCacheRules) != 1 || aws.ToString(rules.PullThroughCacheRules[0].UpstreamRegistryUrl) != "quay.io" {
		t.Fatalf("DescribePullThroughCacheRules = %+v, %v", rules, err)
	}
	_, err = client.DescribePullThroughCacheRules(ctx, &sdkecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"nope"}})
	assertCode(t, err, "PullThroughCacheRuleNotFoundException")
	if _, err := client.DeletePullThroughCacheRule(ctx, &sdkecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay")}); err != nil {
		t.Fatal(err)
	}
	_, err = client.DeletePullThroughCacheRule(ctx, &sdkecr.DeletePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("quay")})
	assertCode(t, err, "PullThroughCacheRuleNotFoundException")

	// Account settings, with ECR's defaults.
	s, err := client.GetAccountSetting(ctx, &sdkecr.GetAccountSettingInput{Name: aws.String("BLOB_MOUNTING")})
	if err != nil || aws.ToString(s.Value) != "ENABLED" {
		t.Fatalf("GetAccountSetting = %+v, %v", s, err)
	}
	if _, err := client.PutAccountSetting(ctx, &sdkecr.PutAccountSettingInput{Name: aws.String("BLOB_MOUNTING"), Value: aws.String("DISABLED")}); err != nil {
		t.Fatal(err)
	}
	if s, _ := client.GetAccountSetting(ctx, &sdkecr.GetAccountSettingInput{Name: aws.String("BLOB_MOUNTING")}); aws.ToString(s.Value) != "DISABLED" {
		t.Errorf("after PutAccountSetting: %+v", s)
	}
	_, err = client.PutAccountSetting(ctx, &sdkecr.PutAccountSettingInput{Name: aws.String("BLOB_MOUNTING"), Value: aws.String("MAYBE")})
	assertCode(t, err, "InvalidParameterException")
	_, err = client.GetAccountSetting(ctx, &sdkecr.GetAccountSettingInput{Name: aws.String("NO_SUCH_SETTING")})
	assertCode(t, err, "ValidationException")
}

func TestPullThroughCacheRuleErrors(t *testing.T) {
	client, _, _ := newAPI(t)
	ctx := t.Context()
	_, err := client.CreatePullThroughCacheRule(ctx, &sdkecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("up"), UpstreamRegistryUrl: aws.String("ftp://example.com/path")})
	assertCode(t, err, "UnsupportedUpstreamRegistryException")
	_, err = client.CreatePullThroughCacheRule(ctx, &sdkecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("up"), UpstreamRegistryUrl: aws.String("example.com"),
		CredentialArn: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:not-the-prefix/x")})
	assertCode(t, err, "ValidationException")
	_, err = client.UpdatePullThroughCacheRule(ctx, &sdkecr.UpdatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("nope"),
		CredentialArn: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/x")})
	assertCode(t, err, "PullThroughCacheRuleNotFoundException")
	_, err = client.ValidatePullThroughCacheRule(ctx, &sdkecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("nope")})
	assertCode(t, err, "PullThroughCacheRuleNotFoundException")
}
