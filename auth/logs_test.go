package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher/logs"
)

// The CloudWatch Logs API, signed for the logs service, is authorized by
// identity policies on log group ARNs: a policy on one group's
// "log-group:NAME:*" grants that group's operations and nothing else,
// ECR's policies grant none, and a request signed for another service is
// refused before any policy is read.
func TestLogsActionsAuthorized(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	api, err := logs.New(ctx, logs.NewStore(f.store, logs.StoreConfig{}), logs.Config{AccountID: account, Region: region, Access: f.auth})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(awsjson.NewFront(mux, f.auth.AuthenticateAWS, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := func(id, secretKey, service string) *cwl.Client {
		return cwl.New(cwl.Options{
			Region: region, BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: id, SecretAccessKey: secretKey}, nil
			}),
		}, func(o *cwl.Options) {
			if service != "" {
				cwl.WithSigV4SigningName(service)(o)
			}
		})
	}
	logger := f.user("logger", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`)
	app := f.user("app-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents","logs:GetLogEvents"],"Resource":"arn:aws:logs:us-east-1:123456789012:log-group:app:*"}]}`)
	ecrAdmin := f.user("ecr-admin", "full-access")

	all := client(logger.ID, logger.Secret, "")
	for _, g := range []string{"app", "other"} {
		if _, err := all.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatalf("CreateLogGroup(%s) with logs:*: %v", g, err)
		}
	}
	a := client(app.ID, app.Secret, "")
	if _, err := a.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Errorf("app-only CreateLogStream in app: %v", err)
	}
	if _, err := a.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Errorf("app-only GetLogEvents in app: %v", err)
	}
	_, err = a.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("other"), LogStreamName: aws.String("s")})
	assertAPIError(t, err, "AccessDeniedException")
	_, err = a.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("app")})
	assertAPIError(t, err, "AccessDeniedException")
	_, err = client(ecrAdmin.ID, ecrAdmin.Secret, "").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	assertAPIError(t, err, "AccessDeniedException")
	_, err = client(logger.ID, logger.Secret, "ecr").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	assertAPIError(t, err, "InvalidSignatureException")
	_, err = client(logger.ID, "wrong secret", "").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	assertAPIError(t, err, "InvalidSignatureException")
}
