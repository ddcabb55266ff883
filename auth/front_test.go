package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
)

// caller is what the fake services answer: who the front door let in.
type caller struct {
	User string `json:"user"`
}

func whoCalls(ctx context.Context, _ *struct{}) (*caller, error) {
	return &caller{User: auth.PrincipalFrom(ctx).User}, nil
}

// TestFrontDoorSigningNames registers a second AWS JSON service (shaped
// like CloudWatch Logs) and a REST-JSON service (shaped like Lambda)
// beside ECR on one front door, with the real Authority, and signs with
// the real SDK signer: each service is reached with its own signing name,
// and a signature made for another service is refused.
func TestFrontDoorSigningNames(t *testing.T) {
	f := newFixture(t)
	k := f.user("admin", "full-access")
	ctx := t.Context()

	logs := awsjson.NewService("Logs_20140328", arn.Logs)
	awsjson.Handle(logs, "DescribeLogGroups", whoCalls)
	lambda := awsjson.NewRESTService(arn.Lambda)
	awsjson.HandleREST(lambda, "GET /2015-03-31/functions/", "ListFunctions", whoCalls)
	mux := http.NewServeMux()
	front := awsjson.NewFront(mux, f.auth.AuthenticateAWS, nil)
	f.api.Register(front)
	front.JSON(logs)
	front.REST(lambda)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	send := func(method, path, target, signingName string) (int, http.Header, string) {
		t.Helper()
		body := "{}"
		if method == "GET" {
			body = ""
		}
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if target != "" {
			req.Header.Set("Content-Type", awsjson.ContentType)
			req.Header.Set("X-Amz-Target", target)
		}
		if signingName != "" {
			creds := aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}
			if err := v4.NewSigner().SignHTTP(ctx, creds, req, hashHex(body), signingName, region, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header, readAll(resp.Body)
	}
	errorType := func(h http.Header, body string) string {
		var e struct {
			Type string `json:"__type"`
		}
		json.Unmarshal([]byte(body), &e)
		if h.Get("X-Amzn-ErrorType") != "" && h.Get("X-Amzn-ErrorType") != e.Type {
			t.Errorf("X-Amzn-ErrorType %q disagrees with __type %q", h.Get("X-Amzn-ErrorType"), e.Type)
		}
		return e.Type
	}

	// Each service, signed for itself, is reached and knows its caller.
	for _, tt := range []struct{ method, path, target, signingName string }{
		{"POST", "/", "Logs_20140328.DescribeLogGroups", arn.Logs},
		{"GET", "/2015-03-31/functions/", "", arn.Lambda},
	} {
		code, _, body := send(tt.method, tt.path, tt.target, tt.signingName)
		if code != 200 || body != `{"user":"admin"}` {
			t.Errorf("%s %s %s signed for %s: %d %s; want 200 from the service, called by admin", tt.method, tt.path, tt.target, tt.signingName, code, body)
		}
	}
	// ECR beside them, through the real SDK client (which signs for "ecr").
	client := sdkecr.New(sdkecr.Options{
		Region: region, BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, nil
		}),
	})
	if _, err := client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{}); err != nil {
		t.Errorf("ECR beside the other services: %v", err)
	}

	// A signature made for another service is refused by each of them.
	for _, tt := range []struct{ method, path, target, signingName, want string }{
		{"POST", "/", "Logs_20140328.DescribeLogGroups", arn.ECR, "InvalidSignatureException"},
		{"POST", "/", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories", arn.Logs, "InvalidSignatureException"},
		{"GET", "/2015-03-31/functions/", "", arn.Logs, "InvalidSignatureException"},
		{"GET", "/2015-03-31/functions/", "", "", "MissingAuthenticationTokenException"},
	} {
		code, h, body := send(tt.method, tt.path, tt.target, tt.signingName)
		if code != 400 || errorType(h, body) != tt.want {
			t.Errorf("%s %s %s signed for %q: %d %s; want 400 %s", tt.method, tt.path, tt.target, tt.signingName, code, body, tt.want)
		}
		if tt.signingName != "" && !strings.Contains(body, "Credential should be scoped to correct service") {
			t.Errorf("refusal does not say why: %s", body)
		}
	}
}
