package ecr_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

const account = "123456789012"

// allowAll is an Access that allows everything and issues a fixed token;
// the auth package tests the real one through this API.
type allowAll struct{}

func (allowAll) AuthorizeAction(context.Context, string, string) error { return nil }

func (allowAll) AuthorizationToken(context.Context) (string, time.Time, error) {
	return "QVdTOnRva2Vu", time.Unix(1700000000, 0), nil
}

func (allowAll) CheckRepositoryPolicy(text string) error {
	if !strings.Contains(text, "Statement") {
		return errors.New("policy has no Statement")
	}
	return nil
}

// newAPI serves the ECR API and the registry's /v2/ over one real SQLite
// index and filesystem blob store, and returns an SDK client for it.
func newAPI(t testing.TB) (*sdkecr.Client, metadata.Store, *httptest.Server) {
	t.Helper()
	return newAPIAt(t, time.Now)
}

// newAPIAt is newAPI with every part reading the time from now.
func newAPIAt(t testing.TB, now func() time.Time) (*sdkecr.Client, metadata.Store, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), dir+"/berth.db", sqlite.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := filesystem.New(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(store, blobs, nil, registry.Config{RegistryID: account, Now: now})
	t.Cleanup(func() { reg.Close(context.Background()) })
	api, err := ecr.New(t.Context(), store, reg, ecr.Config{AccountID: account, Region: "eu-west-1", Access: allowAll{},
		Previews: runPreviews(t, store, now), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, api, reg)
	return clientOf(srv.URL), store, srv
}

// serve serves api and, unless reg is nil, the registry's /v2/ on one
// address, as berth does (without authentication), until the test ends.
func serve(t testing.TB, api *ecr.API, reg *registry.Registry) *httptest.Server {
	mux := http.NewServeMux()
	if reg != nil {
		reg.Register(mux)
	}
	api.Register(awsjson.NewFront(mux, nil, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// runPreviews runs a lifecycle previewer over store, on clock now, until
// the test ends.
func runPreviews(t testing.TB, store *sqlite.Store, now func() time.Time) *lifecycle.Previewer {
	previews := lifecycle.NewPreviewer(store, lifecycle.NewRunner(store, nil), nil, lifecycle.WithClock(now))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		previews.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return previews
}

// clientOf is an SDK client of the API at url.
func clientOf(url string) *sdkecr.Client {
	return sdkecr.New(sdkecr.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
	})
}

func TestGetAuthorizationToken(t *testing.T) {
	client, _, srv := newAPI(t)
	out, err := client.GetAuthorizationToken(t.Context(), &sdkecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	d := out.AuthorizationData[0]
	if aws.ToString(d.AuthorizationToken) != "QVdTOnRva2Vu" || !aws.ToTime(d.ExpiresAt).Equal(time.Unix(1700000000, 0)) || aws.ToString(d.ProxyEndpoint) != srv.URL {
		t.Errorf("authorizationData = %+v", d)
	}
	_, err = client.GetAuthorizationToken(t.Context(), &sdkecr.GetAuthorizationTokenInput{RegistryIds: []string{"12"}})
	assertCode(t, err, "ValidationException")
}

func TestRepositoryPolicy(t *testing.T) {
	client, store, _ := newAPI(t)
	ctx := t.Context()
	name := aws.String("team/app")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}`

	_, err := client.SetRepositoryPolicy(ctx, &sdkecr.SetRepositoryPolicyInput{RepositoryName: name, PolicyText: aws.String(policy)})
	assertMessage(t, err, "RepositoryNotFoundException", "The repository with name 'team/app' does not exist in the registry with id '123456789012'")

	if _, err := store.PutBlob(ctx, "team/app", metadata.Blob{Digest: digest.FromString("x"), Size: 1, Location: "x"}); err != nil {
		t.Fatal(err)
	}
	_, err = client.GetRepositoryPolicy(ctx, &sdkecr.GetRepositoryPolicyInput{RepositoryName: name})
	assertMessage(t, err, "RepositoryPolicyNotFoundException", "Repository policy does not exist for the repository with name 'team/app' in the registry with id '123456789012'")
	_, err = client.DeleteRepositoryPolicy(ctx, &sdkecr.DeleteRepositoryPolicyInput{RepositoryName: name})
	assertCode(t, err, "RepositoryPolicyNotFoundException")

	_, err = client.SetRepositoryPolicy(ctx, &sdkecr.SetRepositoryPolicyInput{RepositoryName: name, PolicyText: aws.String(`{"Version":"2012-10-17"}`)})
	assertCode(t, err, "InvalidParameterException")

	set, err := client.SetRepositoryPolicy(ctx, &sdkecr.SetRepositoryPolicyInput{RepositoryName: name, PolicyText: aws.String(policy)})
	if err != nil || aws.ToString(set.PolicyText) != policy || aws.ToString(set.RegistryId) != account {
		t.Fatalf("SetRepositoryPolicy = %+v, %v", set, err)
	}
	got, err := client.GetRepositoryPolicy(ctx, &sdkecr.GetRepositoryPolicyInput{RepositoryName: name, RegistryId: aws.String(account)})
	if err != nil || aws.ToString(got.PolicyText) != policy {
		t.Fatalf("GetRepositoryPolicy = %+v, %v", got, err)
	}
	del, err := client.DeleteRepositoryPolicy(ctx, &sdkecr.DeleteRepositoryPolicyInput{RepositoryName: name})
	if err != nil || aws.ToString(del.PolicyText) != policy {
		t.Fatalf("DeleteRepositoryPolicy = %+v, %v", del, err)
	}
	_, err = client.GetRepositoryPolicy(ctx, &sdkecr.GetRepositoryPolicyInput{RepositoryName: name})
	assertCode(t, err, "RepositoryPolicyNotFoundException")

	// Names and registry ids are checked as ECR checks them.
	for _, bad := range []string{"a", "Team/App", "team//app", "-app", strings.Repeat("a", 257)} {
		_, err := client.GetRepositoryPolicy(ctx, &sdkecr.GetRepositoryPolicyInput{RepositoryName: aws.String(bad)})
		assertCode(t, err, "ValidationException")
	}
	_, err = client.GetRepositoryPolicy(ctx, &sdkecr.GetRepositoryPolicyInput{RepositoryName: name, RegistryId: aws.String("999999999999")})
	assertMessage(t, err, "RepositoryNotFoundException", "The repository with name 'team/app' does not exist in the registry with id '999999999999'")
}

// An operation berth does not serve yet is an UnknownOperationException,
// never a fake success.
func TestUnknownOperation(t *testing.T) {
	client, _, _ := newAPI(t)
	_, err := client.ListReplicationBackfills(t.Context(), &sdkecr.ListReplicationBackfillsInput{})
	assertCode(t, err, awserr.UnknownOperationException)

	_, _, srv := newAPI(t)
	resp, err := http.Post(srv.URL+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST / without X-Amz-Target: %s; want 400", resp.Status)
	}
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("err = %v; want %s", err, code)
	}
}

func assertMessage(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Errorf("err = %v; want %s: %s", err, code, msg)
	}
}
