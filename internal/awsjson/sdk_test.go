package awsjson

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/awserr"
)

// Shapes as the ecr package will declare them (member names from the model).
type createRepositoryInput struct {
	RepositoryName     *string `json:"repositoryName,omitempty"`
	ImageTagMutability *string `json:"imageTagMutability,omitempty"`
}

type repository struct {
	RepositoryArn      *string `json:"repositoryArn,omitempty"`
	RegistryID         *string `json:"registryId,omitempty"`
	RepositoryName     *string `json:"repositoryName,omitempty"`
	RepositoryURI      *string `json:"repositoryUri,omitempty"`
	CreatedAt          Time    `json:"createdAt,omitzero"`
	ImageTagMutability *string `json:"imageTagMutability,omitempty"`
	ImageScanning      *struct {
		ScanOnPush bool `json:"scanOnPush"`
	} `json:"imageScanningConfiguration,omitempty"`
}

type createRepositoryOutput struct {
	Repository *repository `json:"repository,omitempty"`
}

type describeRepositoriesInput struct {
	RepositoryNames []string `json:"repositoryNames,omitempty"`
}

// TestAWSSDKClient drives the service with the real aws-sdk-go-v2 ECR client:
// SigV4-signed requests in, typed outputs and typed errors out.
func TestAWSSDKClient(t *testing.T) {
	created := time.UnixMilli(1795864494203).UTC()
	var sawBody string
	svc := NewService(testPrefix, "ecr", WithLogger(discardLogger()))
	Handle(svc, "CreateRepository", func(ctx context.Context, in *createRepositoryInput) (*createRepositoryOutput, error) {
		name := aws.ToString(in.RepositoryName)
		return &createRepositoryOutput{Repository: &repository{
			RepositoryArn:      aws.String("arn:aws:ecr:us-east-1:123456789012:repository/" + name),
			RegistryID:         aws.String("123456789012"),
			RepositoryName:     in.RepositoryName,
			RepositoryURI:      aws.String("localhost:5000/" + name),
			CreatedAt:          NewTime(created),
			ImageTagMutability: in.ImageTagMutability,
		}}, nil
	})
	Handle(svc, "DescribeRepositories", func(ctx context.Context, in *describeRepositoriesInput) (*struct{}, error) {
		return nil, awserr.Errorf("RepositoryNotFoundException", "The repository with name '%s' does not exist in the registry with id '123456789012'", in.RepositoryNames[0])
	})
	Handle(svc, "DescribeRegistry", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		return nil, errors.New("disk on fire")
	})
	srv := httptest.NewServer(frontFor(svc, func(r *http.Request, body []byte) (context.Context, error) {
		sawBody = string(body)
		if r.Header.Get("Authorization") == "" {
			return nil, awserr.Errorf(awserr.MissingAuthenticationTokenException, "Missing Authentication Token")
		}
		return r.Context(), nil
	}))
	defer srv.Close()

	client := ecr.New(ecr.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secretEXAMPLE", Source: "test"}, nil
		}),
	})
	ctx := context.Background()

	out, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:     aws.String("my-app"),
		ImageTagMutability: types.ImageTagMutabilityImmutable,
	})
	if err != nil {
		t.Fatalf("CreateRepository: %v", err)
	}
	if sawBody != `{"imageTagMutability":"IMMUTABLE","repositoryName":"my-app"}` {
		t.Errorf("authenticator saw body %s", sawBody)
	}
	r := out.Repository
	if aws.ToString(r.RepositoryName) != "my-app" || r.ImageTagMutability != types.ImageTagMutabilityImmutable ||
		aws.ToString(r.RepositoryUri) != "localhost:5000/my-app" || r.ImageScanningConfiguration != nil {
		t.Errorf("repository = %+v", r)
	}
	if r.CreatedAt == nil || !r.CreatedAt.Equal(created) {
		t.Errorf("CreatedAt = %v, want %v", r.CreatedAt, created)
	}

	_, err = client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}})
	var notFound *types.RepositoryNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("DescribeRepositories error = %v, want *types.RepositoryNotFoundException", err)
	}
	if want := "The repository with name 'nope' does not exist in the registry with id '123456789012'"; notFound.ErrorMessage() != want {
		t.Errorf("message = %q, want %q", notFound.ErrorMessage(), want)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != 400 || len(respErr.ServiceRequestID()) != 36 {
		t.Errorf("response error = %v; want status 400 and our request id", err)
	}

	_, err = client.DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	var server *types.ServerException
	if !errors.As(err, &server) || server.ErrorFault() != smithy.FaultServer {
		t.Fatalf("DescribeRegistry error = %v, want *types.ServerException", err)
	}
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != 500 {
		t.Errorf("DescribeRegistry status: %v", err)
	}

	// An operation the service does not implement comes back as a generic
	// API error carrying our code.
	_, err = client.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("my-app")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != awserr.UnknownOperationException {
		t.Errorf("ListImages error = %v, want %s", err, awserr.UnknownOperationException)
	}
}

// TestAWSSDKRetriesUnavailable checks that the real SDK takes an index
// outage as a retryable server fault: with retries on, two failed attempts
// are hidden behind the third's success; with them off, the caller gets
// the model's ServerException with status 503.
func TestAWSSDKRetriesUnavailable(t *testing.T) {
	var attempts atomic.Int32
	svc := NewService(testPrefix, "ecr", WithLogger(discardLogger()))
	Handle(svc, "DescribeRegistry", func(ctx context.Context, in *struct{}) (*struct{}, error) {
		if attempts.Add(1) <= 2 {
			return nil, fmt.Errorf("reading settings: %w", indexDown)
		}
		return nil, nil
	})
	srv := httptest.NewServer(frontFor(svc, nil))
	defer srv.Close()
	client := func(maxAttempts int) *ecr.Client {
		return ecr.New(ecr.Options{
			Region:       "us-east-1",
			BaseEndpoint: aws.String(srv.URL),
			Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			}),
			Credentials: aws.AnonymousCredentials{},
		})
	}
	ctx := context.Background()

	if _, err := client(3).DescribeRegistry(ctx, &ecr.DescribeRegistryInput{}); err != nil {
		t.Fatalf("DescribeRegistry with retries: %v", err)
	}
	if n := attempts.Load(); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}

	attempts.Store(0)
	_, err := client(1).DescribeRegistry(ctx, &ecr.DescribeRegistryInput{})
	var server *types.ServerException
	var respErr *awshttp.ResponseError
	if !errors.As(err, &server) || !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusServiceUnavailable {
		t.Fatalf("DescribeRegistry without retries: %v, want ServerException with 503", err)
	}
	if server.ErrorMessage() != awserr.UnavailableMessage {
		t.Errorf("message = %q", server.ErrorMessage())
	}
}
