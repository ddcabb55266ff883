package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/internal/awserr"
)

// signedBy returns the context an ECS call signed with k has once
// authenticated.
func (f *fixture) signedBy(k secret.AccessKey) context.Context {
	f.t.Helper()
	const body = "{}"
	req := httptest.NewRequest("POST", "http://berth.test/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	err := v4.NewSigner().SignHTTP(f.t.Context(), aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret},
		req, hashHex(body), "ecs", region, time.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, err := f.auth.AuthenticateAWS("ecs")(req, []byte(body))
	if err != nil {
		f.t.Fatalf("AuthenticateAWS: %v", err)
	}
	return ctx
}

// TestRegistryToken: the token of a launch pulls what its user may pull,
// and nothing once the user's key is revoked.
func TestRegistryToken(t *testing.T) {
	f := newFixture(t)
	admin := f.user("admin", "full-access", "ecs-full-access")
	f.push(keyBasic(admin), "team/app", "1")
	launcher := f.user("launcher", "ecs-full-access")

	tok, err := f.auth.RegistryToken(t.Context(), "admin", admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusOK, "GET", "/v2/team/app/manifests/1", basic(tok), nil)
	// A user who may launch but not pull gets a token that pulls nothing.
	tok, err = f.auth.RegistryToken(t.Context(), "launcher", launcher.ID)
	if err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusForbidden, "GET", "/v2/team/app/manifests/1", basic(tok), nil)

	tok, _ = f.auth.RegistryToken(t.Context(), "admin", admin.ID)
	if err := f.store.SetAccessKeyStatus(t.Context(), admin.ID, "Inactive"); err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusUnauthorized, "GET", "/v2/team/app/manifests/1", basic(tok), nil)
	if _, err := f.auth.RegistryToken(t.Context(), "", ""); err == nil {
		t.Error("a token for nobody")
	}
}

// TestAuthorizeECSActions: ECS actions are decided by identity policies
// on the resource's ARN; AmazonECS_FullAccess grants them all.
func TestAuthorizeECSActions(t *testing.T) {
	f := newFixture(t)
	ecsUser := f.user("ops", "ecs-full-access")
	ecrUser := f.user("dev", "full-access")
	scoped := f.user("scoped", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:RunTask",
		"Resource":"arn:aws:ecs:us-east-1:123456789012:task-definition/web:*"}]}`)
	const web = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	const db = "arn:aws:ecs:us-east-1:123456789012:task-definition/db:1"
	for _, tc := range []struct {
		k       secret.AccessKey
		action  string
		arn     string
		allowed bool
	}{
		{ecsUser, "ecs:RunTask", web, true},
		{ecsUser, "ecs:ListClusters", "*", true},
		{ecrUser, "ecs:RunTask", web, false},
		{scoped, "ecs:RunTask", web, true},
		{scoped, "ecs:RunTask", db, false},
		{scoped, "ecs:StopTask", web, false},
	} {
		err := f.auth.AuthorizeAction(f.signedBy(tc.k), tc.action, tc.arn)
		var ae *awserr.Error
		if tc.allowed && err != nil || !tc.allowed && (!errors.As(err, &ae) || ae.Type != "AccessDeniedException" || !strings.Contains(ae.Message, tc.arn)) {
			t.Errorf("%s %s on %s: %v; want allowed %v", tc.k.ID, tc.action, tc.arn, err, tc.allowed)
		}
	}
	if err := f.auth.AuthorizeAction(t.Context(), "ecs:ListClusters", "*"); err == nil {
		t.Error("an anonymous caller was allowed")
	}
}

// TestManagedPoliciesAcrossServices: the first start's administrator may
// act in every service berth serves; the CloudWatch Logs policies grant
// what AWS's do and nothing of ECR or ECS.
func TestManagedPoliciesAcrossServices(t *testing.T) {
	f := newFixture(t)
	k, created, err := auth.Bootstrap(t.Context(), f.store, f.sealer, t.TempDir()+"/admin-credentials")
	if err != nil || !created {
		t.Fatalf("Bootstrap = %v, %v", created, err)
	}
	reader := f.user("reader", "logs-read-only")
	writer := f.user("writer", "logs-full-access")
	functions := f.user("functions", "lambda-full-access")
	const group = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web:log-stream:"
	const fnGroup = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:log-stream:"
	const fn = "arn:aws:lambda:us-east-1:123456789012:function:f"
	const repo = "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
	const task = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	for _, tc := range []struct {
		k       secret.AccessKey
		action  string
		arn     string
		allowed bool
	}{
		{k, "ecr:DeleteRepository", repo, true},
		{k, "ecs:RunTask", task, true},
		{k, "logs:FilterLogEvents", group, true},
		{k, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:f", true},
		{reader, "logs:FilterLogEvents", group, true},
		{reader, "logs:GetLogEvents", group, true},
		{reader, "logs:DescribeLogGroups", "*", true},
		{reader, "logs:DeleteLogGroup", group, false},
		{reader, "logs:PutLogEvents", group, false},
		{writer, "logs:DeleteLogGroup", group, true},
		{writer, "ecr:DescribeRepositories", repo, false},
		{writer, "ecs:RunTask", task, false},
		{functions, "lambda:CreateFunction", fn, true},
		{functions, "lambda:InvokeFunction", fn + ":live", true},
		{functions, "logs:FilterLogEvents", fnGroup, true},
		{functions, "logs:DescribeLogGroups", "*", true},
		{functions, "logs:FilterLogEvents", group, false},
		{functions, "logs:DeleteLogGroup", fnGroup, false},
		{functions, "ecs:RunTask", task, false},
		{writer, "lambda:InvokeFunction", fn, false},
	} {
		err := f.auth.AuthorizeAction(f.signedBy(tc.k), tc.action, tc.arn)
		if tc.allowed != (err == nil) {
			t.Errorf("%s %s on %s: %v; want allowed %v", tc.k.ID, tc.action, tc.arn, err, tc.allowed)
		}
	}
}
