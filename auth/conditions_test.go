package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/auth"
)

// denyIf is an identity policy denying pulls (ecr:BatchGetImage) when one condition
// holds.
func denyIf(operator, key, value string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"*","Condition":{"` +
		operator + `":{"` + key + `":"` + value + `"}}}]}`
}

// The condition keys users write most are supplied, so a Deny on them
// fires. Before, only aws:SourceIp, aws:PrincipalArn and
// aws:PrincipalAccount were, and each Deny below validated and then never
// applied: every request in this test was allowed.
func TestConditionKeysApply(t *testing.T) {
	f := newFixture(t)
	admin := f.user("admin", "full-access")
	adminAuth := basic(f.token(admin))
	f.push(adminAuth, "team/app", "v1")
	_, err := f.ecrClient(admin.ID, admin.Secret).CreateRepository(t.Context(), &sdkecr.CreateRepositoryInput{
		RepositoryName: aws.String("prod/app"), Tags: []ecrtypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.push(adminAuth, "prod/app", "v1")

	for _, tc := range []struct {
		name, policy string
		denied       bool
	}{
		{"TLS only, over plain HTTP", denyIf("Bool", "aws:SecureTransport", "false"), true},
		{"aws:username", denyIf("StringEquals", "aws:username", "u-aws-username"), true},
		{"aws:userid", denyIf("StringLike", "aws:userid", "u-aws-*"), true},
		{"aws:CurrentTime", denyIf("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z"), true},
		{"aws:EpochTime", denyIf("NumericGreaterThan", "aws:EpochTime", "1577836800"), true},
		{"aws:RequestedRegion, another", denyIf("StringNotEquals", "aws:RequestedRegion", "us-east-1"), false},
		{"aws:RequestedRegion, ours", denyIf("StringEquals", "aws:RequestedRegion", "us-east-1"), true},
	} {
		name := "u-" + strings.ToLower(strings.NewReplacer(" ", "-", ":", "-", ",", "").Replace(tc.name))
		who := basic(f.token(f.user(name, "full-access", tc.policy)))
		want := http.StatusOK
		if tc.denied {
			want = http.StatusForbidden
		}
		if resp, body := f.do("GET", "/v2/team/app/manifests/v1", who, nil); resp.StatusCode != want {
			t.Errorf("%s: pull = %d %s; want %d", tc.name, resp.StatusCode, body, want)
		}
	}

	// Resource tags, from the repository's tags, under both names.
	for _, key := range []string{"ecr:ResourceTag/env", "aws:ResourceTag/env"} {
		who := basic(f.token(f.user("u-"+strings.NewReplacer(":", "-", "/", "-").Replace(strings.ToLower(key)), "full-access", denyIf("StringEquals", key, "prod"))))
		f.expect(http.StatusForbidden, "GET", "/v2/prod/app/manifests/v1", who, nil)
		f.expect(http.StatusOK, "GET", "/v2/team/app/manifests/v1", who, nil)
	}

	// Over TLS the TLS-only Deny does not fire.
	tlsOnly := basic(f.token(f.user("tls-only", "full-access", denyIf("Bool", "aws:SecureTransport", "false"))))
	tlsSrv := httptest.NewTLSServer(f.srv.Config.Handler)
	t.Cleanup(tlsSrv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), "GET", tlsSrv.URL+"/v2/team/app/manifests/v1", nil)
	req.Header.Set("Authorization", tlsOnly)
	resp, err := tlsSrv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("TLS-only user over TLS: %d; want 200", resp.StatusCode)
	}
}

// A policy naming a condition key berth does not supply is refused when it
// is set, naming the key, in repository and identity policies alike.
// Before, both were accepted and the condition never held.
func TestUnsupportedConditionKeyRefused(t *testing.T) {
	f := newFixture(t)
	admin := f.user("admin", "full-access")
	f.push(basic(f.token(admin)), "team/app", "v1")

	_, err := f.ecrClient(admin.ID, admin.Secret).SetRepositoryPolicy(t.Context(), &sdkecr.SetRepositoryPolicyInput{
		RepositoryName: aws.String("team/app"),
		PolicyText: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"ecr:*",` +
			`"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}`),
	})
	assertAPIError(t, err, "InvalidParameterException")
	if err == nil || !strings.Contains(err.Error(), `"aws:SourceVpce"`) {
		t.Errorf("SetRepositoryPolicy: %v; want the key named", err)
	}

	for _, key := range []string{"aws:SourceVpce", "aws:PrincipalTag/team", "aws:MultiFactorAuthPresent", "ecr:ResourceTag/"} {
		err := auth.CreateUser(t.Context(), f.store, "x", []string{denyIf("StringEquals", key, "v")})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("identity policy on %s: err = %v; want a refusal naming the key", key, err)
		}
	}
	for _, key := range []string{"aws:SecureTransport", "AWS:SOURCEIP", "ecr:ResourceTag/team", "aws:ResourceTag/team", "aws:PrincipalArn"} {
		if err := auth.ValidatePolicies([]string{denyIf("StringEquals", key, "v")}); err != nil {
			t.Errorf("identity policy on %s: %v; want accepted", key, err)
		}
	}
}
