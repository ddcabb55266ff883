package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	btharn "github.com/berth-dev/berth/internal/arn"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	gcrname "github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/lambda"
)

const (
	account = "000000000000"
	role    = "arn:aws:iam::000000000000:role/lambda-role"
)

// apiFixture is the Lambda API over the test registry's index, with a
// runner on the real engine, and an SDK client of it.
type apiFixture struct {
	client *sdk.Client
	api    *lambda.API
	runner *lambda.Runner
	reg    *registryFixture
	url    string
	logs   *memorySink
}

// allowAll lets every caller do everything and pulls anonymously.
type allowAll struct{}

func (allowAll) AuthorizeAction(context.Context, string, string) error { return nil }
func (allowAll) Caller(context.Context) launcher.Caller                { return launcher.Caller{User: "tester"} }
func (allowAll) RegistryAuth(context.Context, launcher.Caller) (launcher.RegistryAuth, error) {
	return launcher.RegistryAuth{}, nil
}

func newAPI(t *testing.T, cfg lambda.RunnerConfig, opts ...func(*lambda.Config)) *apiFixture {
	t.Helper()
	f := testImage(t)
	logs := &memorySink{}
	if cfg.Logs == nil {
		cfg.Logs = logs
	}
	r := newRunner(t, cfg)
	apiCfg := lambda.Config{
		AccountID: account, Region: "us-east-1", Access: allowAll{},
		Images: launcher.Images{Registry: f.Host, Account: account},
	}
	for _, o := range opts {
		o(&apiCfg)
	}
	api := lambda.New(f.store, r, apiCfg)
	t.Cleanup(api.Close)
	url := serveAPI(t, api)
	client := sdk.New(sdk.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		RetryMaxAttempts: 1, // a throttle is the answer under test, not something to retry
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
	})
	return &apiFixture{client: client, api: api, runner: r, reg: f, url: url, logs: logs}
}

// serveAPI serves api on the front door (unauthenticated) until the test
// ends, and returns its URL.
func serveAPI(t testing.TB, api *lambda.API) string {
	mux := http.NewServeMux()
	api.Register(awsjson.NewFront(mux, nil, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// functionName is a name for the test's function.
func functionName(t *testing.T, suffix string) string {
	return strings.NewReplacer("/", "-", "#", "-").Replace(t.Name()) + suffix
}

// create creates a function of the test image in mode and waits until it
// is Active.
func (a *apiFixture) create(t *testing.T, name string, mode ...string) *sdk.GetFunctionOutput {
	t.Helper()
	in := &sdk.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), PackageType: types.PackageTypeImage,
		Code: &types.FunctionCode{ImageUri: aws.String(a.reg.TagRef())},
	}
	if len(mode) > 0 {
		in.ImageConfig = &types.ImageConfig{Command: mode}
	}
	if _, err := a.client.CreateFunction(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	return a.waitActive(t, name)
}

// createHeld creates function name of an image whose pull waits until
// release is called: the function stays Pending until then. With
// publish, CreateFunction publishes version 1. It returns the answer.
func (a *apiFixture) createHeld(t *testing.T, name string, publish bool) (created *sdk.CreateFunctionOutput, release func()) {
	t.Helper()
	image, release := a.reg.hold(t, heldRepository(name))
	created, err := a.client.CreateFunction(t.Context(), &sdk.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), PackageType: types.PackageTypeImage,
		Code: &types.FunctionCode{ImageUri: aws.String(image)}, Publish: publish,
	})
	if err != nil {
		t.Fatal(err)
	}
	return created, release
}

// heldRepository is the repository of function name's held image.
func heldRepository(name string) string { return "lambda/held/" + strings.ToLower(name) }

func (a *apiFixture) waitActive(t *testing.T, name string) *sdk.GetFunctionOutput {
	t.Helper()
	out, err := sdk.NewFunctionActiveV2Waiter(a.client, func(o *sdk.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).WaitForOutput(t.Context(), &sdk.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// apiError asserts that err is the API error code with status.
func apiError(t *testing.T, err error, code string, status int) *smithy.GenericAPIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("error = %v; want %s", err, code)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Errorf("%s: status %d; want %d", code, re.HTTPStatusCode(), status)
	}
	return &smithy.GenericAPIError{Code: ae.ErrorCode(), Message: ae.ErrorMessage()}
}

// A function is created Pending, becomes Active once its image is
// pulled, shows its image pinned to the digest, changes with updates and
// is gone when deleted.
func TestAPIFunctionLifecycle(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	ecrURI := account + ".dkr.ecr.us-east-1.amazonaws.com/" + a.reg.Repository + ":" + a.reg.Tag
	created, err := a.client.CreateFunction(t.Context(), &sdk.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(role), PackageType: types.PackageTypeImage,
		Code:        &types.FunctionCode{ImageUri: aws.String(ecrURI)},
		Environment: &types.Environment{Variables: map[string]string{"GREETING": "hi"}},
		Tags:        map[string]string{"team": "platform"},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:lambda:us-east-1:" + account + ":function:" + name
	if created.State != types.StatePending || aws.ToString(created.FunctionArn) != arn || aws.ToInt32(created.MemorySize) != 128 ||
		aws.ToInt32(created.Timeout) != 3 || created.PackageType != types.PackageTypeImage || aws.ToString(created.Version) != "$LATEST" ||
		aws.ToString(created.CodeSha256) != strings.TrimPrefix(a.reg.Digest, "sha256:") || aws.ToString(created.RevisionId) == "" {
		t.Errorf("created = %+v", created)
	}
	got := a.waitActive(t, name)
	c := got.Configuration
	if c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusSuccessful || c.Environment.Variables["GREETING"] != "hi" ||
		aws.ToString(c.LoggingConfig.LogGroup) != "/aws/lambda/"+name || c.Architectures[0] != types.ArchitectureX8664 ||
		aws.ToInt32(c.EphemeralStorage.Size) != 512 {
		t.Errorf("configuration = %+v", c)
	}
	wantResolved := account + ".dkr.ecr.us-east-1.amazonaws.com/" + a.reg.Repository + "@" + a.reg.Digest
	if aws.ToString(got.Code.ImageUri) != ecrURI || aws.ToString(got.Code.ResolvedImageUri) != wantResolved || aws.ToString(got.Code.RepositoryType) != "ECR" {
		t.Errorf("code = %+v; want %s pinned as %s", got.Code, ecrURI, wantResolved)
	}
	if got.Tags["team"] != "platform" {
		t.Errorf("tags = %v", got.Tags)
	}

	// A configuration update is at once visible to the next invocation.
	updated, err := a.client.UpdateFunctionConfiguration(t.Context(), &sdk.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), MemorySize: aws.Int32(256), Timeout: aws.Int32(10),
		Environment: &types.Environment{Variables: map[string]string{"GREETING": "hello"}},
		ImageConfig: &types.ImageConfig{Command: []string{"echo"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(updated.MemorySize) != 256 || aws.ToString(updated.RevisionId) == aws.ToString(c.RevisionId) {
		t.Errorf("updated = %+v", updated)
	}
	out, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"action":"env"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]string
	json.Unmarshal(out.Payload, &env)
	if env["GREETING"] != "hello" || env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] != "256" || env["_HANDLER"] != "echo" {
		t.Errorf("environment after the update: %s", out.Payload)
	}
	// A stale RevisionId is refused.
	_, err = a.client.UpdateFunctionConfiguration(t.Context(), &sdk.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Description: aws.String("x"), RevisionId: c.RevisionId})
	apiError(t, err, "PreconditionFailedException", 412)

	// New code: InProgress until the image is pulled, then Successful.
	tag := a.reg.push(t, a.reg.Repository, "v2")
	code, err := a.client.UpdateFunctionCode(t.Context(), &sdk.UpdateFunctionCodeInput{FunctionName: aws.String(name), ImageUri: aws.String(tag)})
	if err != nil {
		t.Fatal(err)
	}
	if code.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("LastUpdateStatus after UpdateFunctionCode = %s; want InProgress", code.LastUpdateStatus)
	}
	if _, err := sdk.NewFunctionUpdatedV2Waiter(a.client, func(o *sdk.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).WaitForOutput(t.Context(), &sdk.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatal(err)
	}

	list, err := a.client.ListFunctions(t.Context(), &sdk.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, fn := range list.Functions {
		found = found || aws.ToString(fn.FunctionName) == name
	}
	if !found {
		t.Errorf("ListFunctions has no %s", name)
	}

	// Tags.
	if _, err := a.client.TagResource(t.Context(), &sdk.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.UntagResource(t.Context(), &sdk.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := a.client.ListTags(t.Context(), &sdk.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["env"] != "dev" {
		t.Errorf("ListTags = %v, %v", tags, err)
	}
	// What policies' aws:ResourceTag conditions see, for the function and
	// a version of it.
	parsed, _ := btharn.Parse(arn + ":1")
	if got, err := a.api.ResourceTags(t.Context(), parsed); err != nil || len(got) != 1 || got["env"] != "dev" {
		t.Errorf("ResourceTags(%s) = %v, %v", parsed, got, err)
	}

	if _, err := a.client.DeleteFunction(t.Context(), &sdk.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = a.client.GetFunction(t.Context(), &sdk.GetFunctionInput{FunctionName: aws.String(name)})
	if e := apiError(t, err, "ResourceNotFoundException", 404); e.Message != "Function not found: "+arn {
		t.Errorf("message = %q", e.Message)
	}
	waitNoContainers(t, name, 0)
}

// Invoke as Lambda answers it: the result, a function error as a 200 with
// X-Amz-Function-Error, the log tail, DryRun and Event.
func TestAPIInvoke(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	a.create(t, name)
	out, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"n":1}`)})
	if err != nil || out.StatusCode != 200 || string(out.Payload) != `{"n":1}` || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("invoke = %+v, %v", out, err)
	}
	// The invocation's request id is the call's.
	id, _ := middleware.GetRequestIDMetadata(out.ResultMetadata)
	waitLines(t, a.logs, name, func(lines []string) bool { return contains(lines, "START RequestId: "+id+" Version: $LATEST") })
	out, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"action":"fail"}`), LogType: types.LogTypeTail})
	if err != nil || out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" ||
		string(out.Payload) != `{"errorMessage":"asked to fail","errorType":"errorString"}` {
		t.Fatalf("failing invoke = %+v (%s), %v", out, out.Payload, err)
	}
	tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil || !strings.Contains(string(tail), "START RequestId: ") || !strings.Contains(string(tail), `action="fail"`) ||
		!strings.Contains(string(tail), "END RequestId: ") || !strings.Contains(string(tail), "REPORT RequestId: ") {
		t.Errorf("log tail = %q, %v", tail, err)
	}
	out, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Errorf("dry run = %+v, %v", out, err)
	}
	b := newBarrier(t, 1)
	out, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`{"action":"get","url":"` + b.URL + `"}`)})
	if err != nil || out.StatusCode != 202 {
		t.Errorf("event = %+v, %v", out, err)
	}
	waitFor(t, "the event's invocation", func() bool { return b.waiting() == 0 })

	// No payload is {}; one that is not JSON is refused.
	if out, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name)}); err != nil || string(out.Payload) != `{}` {
		t.Errorf("empty payload: %+v, %v", out, err)
	}
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`not json`)})
	apiError(t, err, "InvalidRequestContentException", 400)
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`"` + strings.Repeat("x", lambda.MaxPayload) + `"`)})
	if e := apiError(t, err, "RequestTooLargeException", 413); e.Message != "Request must be smaller than 6291456 bytes for the InvokeFunction operation" {
		t.Errorf("message = %q", e.Message)
	}
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent,
		Payload: []byte(`"` + strings.Repeat("x", lambda.MaxAsyncPayload) + `"`)})
	apiError(t, err, "RequestTooLargeException", 413)
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String("nope")})
	apiError(t, err, "ResourceNotFoundException", 404)
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Qualifier: aws.String("7")})
	apiError(t, err, "ResourceNotFoundException", 404)
}

// A function whose image is still being pulled is Pending, and cannot be
// invoked until it is Active.
func TestAPIPending(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	_, release := a.createHeld(t, name, false)
	_, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name)})
	if e := apiError(t, err, "ResourceConflictException", 409); !strings.HasSuffix(e.Message, "The function is currently in the following state: Pending") {
		t.Errorf("message = %q", e.Message)
	}
	_, err = a.client.UpdateFunctionConfiguration(t.Context(), &sdk.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), MemorySize: aws.Int32(256)})
	apiError(t, err, "ResourceConflictException", 409)
	_, err = a.client.PublishVersion(t.Context(), &sdk.PublishVersionInput{FunctionName: aws.String(name)})
	apiError(t, err, "ResourceConflictException", 409)
	release()
	a.waitActive(t, name)
	if out, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`1`)}); err != nil || string(out.Payload) != `1` {
		t.Errorf("invoke once Active = %+v, %v", out, err)
	}
}

// A pull berth did not finish before it stopped is done again when it
// starts.
func TestAPIResumesPulls(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	_, release := a.createHeld(t, name, true)
	a.api.Close() // berth stops mid-pull: the function stays Pending
	release()
	for _, q := range []string{"$LATEST", "1"} {
		got, err := a.client.GetFunctionConfiguration(t.Context(), &sdk.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String(q)})
		if err != nil || got.State != types.StatePending {
			t.Fatalf("%s after the stop: %+v, %v; want Pending", q, got, err)
		}
	}
	again := lambda.New(a.reg.store, a.runner, lambda.Config{AccountID: account, Region: "us-east-1", Access: allowAll{},
		Images: launcher.Images{Registry: a.reg.Host, Account: account}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- again.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; again.Close() })
	a.waitActive(t, name)
	// The version published with the code is settled before $LATEST.
	if got, err := a.client.GetFunctionConfiguration(t.Context(), &sdk.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String("1")}); err != nil || got.State != types.StateActive {
		t.Errorf("version 1 once $LATEST is Active: %+v, %v; want Active", got, err)
	}
}

// CreateFunction with Publish makes version 1 at once, in $LATEST's state:
// while the image is pulled it is Pending, can be read, listed and named
// by an alias, but not invoked; the pull's end makes it Active.
// UpdateFunctionCode with Publish makes the next version at once, its
// update InProgress as $LATEST's.
func TestAPIPublishPending(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	arn := "arn:aws:lambda:us-east-1:" + account + ":function:" + name
	created, release := a.createHeld(t, name, true)
	if aws.ToString(created.Version) != "1" || aws.ToString(created.FunctionArn) != arn+":1" || created.State != types.StatePending ||
		created.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("CreateFunction with Publish = %+v; want version 1, Pending", created)
	}
	config := func(qualifier string) *sdk.GetFunctionConfigurationOutput {
		t.Helper()
		c, err := a.client.GetFunctionConfiguration(t.Context(), &sdk.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String(qualifier)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := config("1"); c.State != types.StatePending || c.StateReasonCode != types.StateReasonCodeCreating || aws.ToString(c.Version) != "1" {
		t.Errorf("version 1 while pulled = %+v; want Pending, Creating", c)
	}
	versions, err := a.client.ListVersionsByFunction(t.Context(), &sdk.ListVersionsByFunctionInput{FunctionName: aws.String(name)})
	if err != nil || len(versions.Versions) != 2 || aws.ToString(versions.Versions[1].Version) != "1" || versions.Versions[1].State != types.StatePending {
		t.Errorf("ListVersionsByFunction while pulled = %+v, %v; want $LATEST and 1, Pending", versions, err)
	}
	if _, err := a.client.CreateAlias(t.Context(), &sdk.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatalf("CreateAlias to a Pending version: %v", err)
	}
	for _, q := range []string{"1", "live"} {
		_, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Qualifier: aws.String(q)})
		if e := apiError(t, err, "ResourceConflictException", 409); e.Message != "The operation cannot be performed at this time. The function is currently in the following state: Pending" {
			t.Errorf("invoke %s while pulled: message = %q", q, e.Message)
		}
	}
	release()
	a.waitActive(t, name)
	if c := config("1"); c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusSuccessful || c.StateReason != nil {
		t.Errorf("version 1 once $LATEST is Active = %+v", c)
	}
	out, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Qualifier: aws.String("live"), Payload: []byte(`1`)})
	if err != nil || string(out.Payload) != `1` || aws.ToString(out.ExecutedVersion) != "1" {
		t.Errorf("invoke live once Active = %+v, %v", out, err)
	}

	// New code, published: version 2 at once, its update InProgress.
	image, release := a.reg.hold(t, heldRepository(name+"-v2"))
	code, err := a.client.UpdateFunctionCode(t.Context(), &sdk.UpdateFunctionCodeInput{FunctionName: aws.String(name), ImageUri: aws.String(image), Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(code.Version) != "2" || aws.ToString(code.FunctionArn) != arn+":2" || code.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("UpdateFunctionCode with Publish = %+v; want version 2, InProgress", code)
	}
	if c := config("2"); c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("version 2 while pulled = %+v; want Active, InProgress", c)
	}
	release()
	if _, err := sdk.NewFunctionUpdatedV2Waiter(a.client, func(o *sdk.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).WaitForOutput(t.Context(), &sdk.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if c := config("2"); c.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(c.CodeSha256) != strings.TrimPrefix(a.reg.Digest, "sha256:") {
		t.Errorf("version 2 once pulled = %+v; want Successful", c)
	}
	if c := config("1"); c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Errorf("version 1 after version 2 = %+v; want it as it was", c)
	}
}

// A pull that fails leaves the version published with the code Failed,
// with $LATEST's reason.
func TestAPIPublishFailedPull(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	_, release := a.createHeld(t, name, true)
	// The image goes from the registry before the engine gets it.
	ref, err := gcrname.ParseReference(a.reg.Host + "/" + heldRepository(name) + "@" + a.reg.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(ref); err != nil {
		t.Fatal(err)
	}
	release()
	var latest *sdk.GetFunctionConfigurationOutput
	waitFor(t, "the pull to end", func() bool {
		latest, err = a.client.GetFunctionConfiguration(t.Context(), &sdk.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		return err == nil && latest.State != types.StatePending
	})
	if latest.State != types.StateFailed || latest.StateReasonCode != types.StateReasonCodeImageDeleted || aws.ToString(latest.StateReason) == "" {
		t.Fatalf("$LATEST after the failed pull = %+v; want Failed, ImageDeleted", latest)
	}
	v1, err := a.client.GetFunctionConfiguration(t.Context(), &sdk.GetFunctionConfigurationInput{FunctionName: aws.String(name), Qualifier: aws.String("1")})
	if err != nil || v1.State != types.StateFailed || v1.StateReasonCode != latest.StateReasonCode || aws.ToString(v1.StateReason) != aws.ToString(latest.StateReason) ||
		v1.LastUpdateStatus != types.LastUpdateStatusFailed || v1.LastUpdateStatusReasonCode != latest.LastUpdateStatusReasonCode {
		t.Errorf("version 1 after the failed pull = %+v, %v; want $LATEST's state %+v", v1, err, latest)
	}
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Qualifier: aws.String("1")})
	if e := apiError(t, err, "ResourceConflictException", 409); !strings.HasSuffix(e.Message, "the following state: Failed") {
		t.Errorf("invoke of a Failed version: message = %q", e.Message)
	}
}

// Bad input gets Lambda's error, never a 500.
func TestAPIBadInput(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	a.create(t, name)
	base := func() *sdk.CreateFunctionInput {
		return &sdk.CreateFunctionInput{FunctionName: aws.String(name + "-new"), Role: aws.String(role), PackageType: types.PackageTypeImage,
			Code: &types.FunctionCode{ImageUri: aws.String(a.reg.TagRef())}}
	}
	for _, tc := range []struct {
		name   string
		change func(*sdk.CreateFunctionInput)
		code   string
		msg    string
	}{
		{"memory 100", func(in *sdk.CreateFunctionInput) { in.MemorySize = aws.Int32(100) }, "ValidationException",
			"1 validation error detected: Value '100' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"memory 20000", func(in *sdk.CreateFunctionInput) { in.MemorySize = aws.Int32(20000) }, "ValidationException", ""},
		{"timeout 0", func(in *sdk.CreateFunctionInput) { in.Timeout = aws.Int32(0) }, "ValidationException",
			"1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"timeout 901", func(in *sdk.CreateFunctionInput) { in.Timeout = aws.Int32(901) }, "ValidationException", ""},
		{"storage 100", func(in *sdk.CreateFunctionInput) { in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(100)} }, "ValidationException", ""},
		{"missing image", func(in *sdk.CreateFunctionInput) { in.Code.ImageUri = aws.String(a.reg.Host + "/lambda/missing:1") }, "InvalidParameterValueException",
			"Source image " + a.reg.Host + "/lambda/missing:1 does not exist. Provide a valid source image."},
		{"missing tag", func(in *sdk.CreateFunctionInput) {
			in.Code.ImageUri = aws.String(a.reg.Host + "/" + a.reg.Repository + ":missing")
		}, "InvalidParameterValueException", ""},
		{"another registry", func(in *sdk.CreateFunctionInput) { in.Code.ImageUri = aws.String("docker.io/library/alpine:3") }, "InvalidParameterValueException", ""},
		{"another account", func(in *sdk.CreateFunctionInput) {
			in.Code.ImageUri = aws.String("111111111111.dkr.ecr.us-east-1.amazonaws.com/" + a.reg.Repository + ":" + a.reg.Tag)
		}, "InvalidParameterValueException", ""},
		{"zip", func(in *sdk.CreateFunctionInput) {
			in.PackageType = types.PackageTypeZip
			in.Code = &types.FunctionCode{ZipFile: []byte("PK")}
		}, "InvalidParameterValueException", ""},
		{"reserved variable", func(in *sdk.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "x"}}
		}, "InvalidParameterValueException", ""},
		{"bad role", func(in *sdk.CreateFunctionInput) { in.Role = aws.String("admin") }, "ValidationException", ""},
		{"bad name", func(in *sdk.CreateFunctionInput) { in.FunctionName = aws.String("has space") }, "ValidationException", ""},
		{"exists", func(in *sdk.CreateFunctionInput) { in.FunctionName = aws.String(name) }, "ResourceConflictException", "Function already exist: " + name},
		{"bad architecture", func(in *sdk.CreateFunctionInput) { in.Architectures = []types.Architecture{"sparc"} }, "ValidationException", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			tc.change(in)
			_, err := a.client.CreateFunction(t.Context(), in)
			status := 400
			if tc.code == "ResourceConflictException" {
				status = 409
			}
			if e := apiError(t, err, tc.code, status); tc.msg != "" && e.Message != tc.msg {
				t.Errorf("message = %q; want %q", e.Message, tc.msg)
			}
		})
	}
	_, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), InvocationType: "Sometimes"})
	apiError(t, err, "ValidationException", 400)
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), ClientContext: aws.String("%%%")})
	apiError(t, err, "InvalidParameterValueException", 400)
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:" + account + ":function:" + name)})
	apiError(t, err, "ResourceNotFoundException", 404)
	_, err = a.client.DeleteFunction(t.Context(), &sdk.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("$LATEST")})
	apiError(t, err, "InvalidParameterValueException", 400)
}

// Versions are frozen copies of $LATEST, numbered; aliases name them and
// route invocations to them.
func TestAPIVersionsAndAliases(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	a.create(t, name)
	v1, err := a.client.PublishVersion(t.Context(), &sdk.PublishVersionInput{FunctionName: aws.String(name), Description: aws.String("first")})
	if err != nil || aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != "arn:aws:lambda:us-east-1:"+account+":function:"+name+":1" ||
		aws.ToString(v1.Description) != "first" || v1.State != types.StateActive {
		t.Fatalf("PublishVersion = %+v, %v", v1, err)
	}
	again, err := a.client.PublishVersion(t.Context(), &sdk.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil || aws.ToString(again.Version) != "1" {
		t.Errorf("PublishVersion of an unchanged $LATEST = %v, %v; want version 1 again", aws.ToString(again.Version), err)
	}
	if _, err := a.client.UpdateFunctionConfiguration(t.Context(), &sdk.UpdateFunctionConfigurationInput{FunctionName: aws.String(name),
		Environment: &types.Environment{Variables: map[string]string{"GREETING": "v2"}}}); err != nil {
		t.Fatal(err)
	}
	v2, err := a.client.PublishVersion(t.Context(), &sdk.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil || aws.ToString(v2.Version) != "2" {
		t.Fatalf("PublishVersion after a change = %v, %v", aws.ToString(v2.Version), err)
	}
	versions, err := a.client.ListVersionsByFunction(t.Context(), &sdk.ListVersionsByFunctionInput{FunctionName: aws.String(name)})
	if err != nil || len(versions.Versions) != 3 || aws.ToString(versions.Versions[0].Version) != "$LATEST" || aws.ToString(versions.Versions[2].Version) != "2" {
		t.Errorf("ListVersionsByFunction = %+v, %v", versions, err)
	}

	alias, err := a.client.CreateAlias(t.Context(), &sdk.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil || aws.ToString(alias.AliasArn) != "arn:aws:lambda:us-east-1:"+account+":function:"+name+":live" {
		t.Fatalf("CreateAlias = %+v, %v", alias, err)
	}
	greeting := func(qualifier string) (string, string) {
		t.Helper()
		in := &sdk.InvokeInput{FunctionName: aws.String(name), Qualifier: aws.String(qualifier), Payload: []byte(`{"action":"env"}`)}
		if fn, q, ok := strings.Cut(qualifier, ":"); ok { // the qualifier in the name
			in.FunctionName, in.Qualifier = aws.String(fn+":"+q), nil
		}
		out, err := a.client.Invoke(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]string
		json.Unmarshal(out.Payload, &env)
		return env["GREETING"] + "@" + env["AWS_LAMBDA_FUNCTION_VERSION"], aws.ToString(out.ExecutedVersion)
	}
	if got, executed := greeting("live"); got != "@1" || executed != "1" {
		t.Errorf("live = %s (executed %s); want version 1 without GREETING", got, executed)
	}
	if got, executed := greeting("2"); got != "v2@2" || executed != "2" {
		t.Errorf("version 2 = %s (executed %s)", got, executed)
	}
	if got, executed := greeting(name + ":live"); got != "@1" || executed != "1" {
		t.Errorf("%s:live = %s (executed %s); want version 1", name, got, executed)
	}
	if _, err := a.client.UpdateAlias(t.Context(), &sdk.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := greeting("live"); got != "v2@2" {
		t.Errorf("live after the update = %s", got)
	}
	_, err = a.client.DeleteFunction(t.Context(), &sdk.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("2")})
	if e := apiError(t, err, "ResourceConflictException", 409); e.Message != "Unable to delete version because the following aliases reference it: [live]" {
		t.Errorf("message = %q", e.Message)
	}
	_, err = a.client.CreateAlias(t.Context(), &sdk.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	apiError(t, err, "ResourceConflictException", 409)
	_, err = a.client.CreateAlias(t.Context(), &sdk.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("bad"), FunctionVersion: aws.String("9")})
	apiError(t, err, "ResourceNotFoundException", 404)
	aliases, err := a.client.ListAliases(t.Context(), &sdk.ListAliasesInput{FunctionName: aws.String(name)})
	if err != nil || len(aliases.Aliases) != 1 || aws.ToString(aliases.Aliases[0].FunctionVersion) != "2" {
		t.Errorf("ListAliases = %+v, %v", aliases, err)
	}
	if _, err := a.client.DeleteAlias(t.Context(), &sdk.DeleteAliasInput{FunctionName: aws.String(name), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	_, err = a.client.GetAlias(t.Context(), &sdk.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")})
	apiError(t, err, "ResourceNotFoundException", 404)
	if _, err := a.client.DeleteFunction(t.Context(), &sdk.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	_, err = a.client.GetFunction(t.Context(), &sdk.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("2")})
	apiError(t, err, "ResourceNotFoundException", 404)
}

// Reserved concurrency caps a function's invocations in flight: beyond it
// Lambda answers 429 TooManyRequestsException.
func TestAPIReservedConcurrency(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	a.create(t, name)
	put, err := a.client.PutFunctionConcurrency(t.Context(), &sdk.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(2)})
	if err != nil || aws.ToInt32(put.ReservedConcurrentExecutions) != 2 {
		t.Fatalf("PutFunctionConcurrency = %+v, %v", put, err)
	}
	got, err := a.client.GetFunctionConcurrency(t.Context(), &sdk.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
	if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 2 {
		t.Errorf("GetFunctionConcurrency = %+v, %v", got, err)
	}
	b := newBarrier(t, 3)
	done := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := a.client.Invoke(context.Background(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"action":"get","url":"` + b.URL + `"}`)})
			done <- err
		}()
	}
	waitFor(t, "two invocations in flight", func() bool { return b.waiting() == 1 })
	_, err = a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`1`)})
	if e := apiError(t, err, "TooManyRequestsException", 429); e.Message != "Rate Exceeded." {
		t.Errorf("message = %q", e.Message)
	}
	b.release()
	for range 2 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	_, err = a.client.PutFunctionConcurrency(t.Context(), &sdk.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(950)})
	apiError(t, err, "InvalidParameterValueException", 400)
	if _, err := a.client.DeleteFunctionConcurrency(t.Context(), &sdk.DeleteFunctionConcurrencyInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if got, err := a.client.GetFunctionConcurrency(t.Context(), &sdk.GetFunctionConcurrencyInput{FunctionName: aws.String(name)}); err != nil || got.ReservedConcurrentExecutions != nil {
		t.Errorf("GetFunctionConcurrency after delete = %+v, %v", got, err)
	}
}

// An Event invocation whose function fails is retried twice with the same
// request id; one that succeeds runs once.
func TestAPIAsyncRetries(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{}, func(c *lambda.Config) { c.RetryDelay = 50 * time.Millisecond })
	name := functionName(t, "")
	a.create(t, name)
	// The success first: a retry of it, were there one, would begin before
	// the failures' last retries (50 ms after it, against 150 ms after
	// them), so it would show by the time they are done.
	for _, payload := range []string{`{"action":"env"}`, `{"action":"fail"}`, `{"action":"exit"}`} {
		out, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: []byte(payload)})
		if err != nil || out.StatusCode != 202 || len(out.Payload) != 0 {
			t.Fatalf("event %s = %+v, %v", payload, out, err)
		}
	}
	counts := func(lines []string) (once, thrice int) {
		n := map[string]int{}
		for _, l := range lines {
			if id, ok := strings.CutPrefix(l, "START RequestId: "); ok {
				n[strings.Fields(id)[0]]++
			}
		}
		for _, c := range n {
			switch c {
			case 1:
				once++
			case 3:
				thrice++
			}
		}
		return once, thrice
	}
	all := waitLines(t, a.logs, name, func(lines []string) bool { _, thrice := counts(lines); return thrice == 2 })
	var lines []string
	for _, l := range all {
		lines = append(lines, l...)
	}
	if once, thrice := counts(lines); once != 1 || thrice != 2 {
		t.Errorf("%d events ran once and %d three times; want the success once and both failures three times", once, thrice)
	}
}

// An Event invocation not done when berth stops is kept in the index and
// runs when berth starts again, with the retries it has left: a failing
// event that ran once before the restart runs twice after it, then is
// gone from the index.
func TestAPIAsyncSurvivesRestart(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{}, func(c *lambda.Config) { c.RetryDelay = time.Hour })
	name := functionName(t, "")
	a.create(t, name)
	if _, err := a.client.Invoke(t.Context(), &sdk.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"action":"fail"}`)}); err != nil {
		t.Fatal(err)
	}
	starts := func(lines []string) (n int) {
		for _, l := range lines {
			if strings.HasPrefix(l, "START RequestId: ") {
				n++
			}
		}
		return n
	}
	flat := func(streams map[string][]string) (lines []string) {
		for _, l := range streams {
			lines = append(lines, l...)
		}
		return lines
	}
	// The events of this test's function (the index is the test binary's).
	queued := func() (docs []string) {
		all, err := a.reg.store.LambdaEvents(t.Context(), "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all {
			if strings.Contains(string(e.Document), ":function:"+name+`"`) {
				docs = append(docs, string(e.Document))
			}
		}
		return docs
	}
	waitFor(t, "the event's first failure recorded in the index", func() bool {
		docs := queued()
		return len(docs) == 1 && strings.Contains(docs[0], `"failures":1`)
	})
	a.api.Close() // its first retry an hour away

	again := lambda.New(a.reg.store, a.runner, lambda.Config{AccountID: account, Region: "us-east-1", Access: allowAll{},
		Images: launcher.Images{Registry: a.reg.Host, Account: account}, RetryDelay: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- again.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; again.Close() })
	waitFor(t, "the event's retries done and the event gone from the index", func() bool { return len(queued()) == 0 })
	if n := starts(flat(a.logs.lines(lambda.LogGroup(name)))); n != 3 {
		t.Errorf("the event ran %d times; want once before the restart and its two retries after", n)
	}
}

// A function URL turns HTTP requests into payload 2.0 events and the
// function's answers into responses: status, headers, cookies, the body;
// CORS preflights are answered without the function; AWS_IAM wants a
// signature; a URL keeps its port over a restart.
func TestAPIFunctionURL(t *testing.T) {
	t.Parallel()
	signed := func(r *http.Request, _ []byte) (context.Context, error) {
		if r.Header.Get("Authorization") != "signed" {
			return nil, errors.New("not signed")
		}
		return r.Context(), nil
	}
	a := newAPI(t, lambda.RunnerConfig{}, func(c *lambda.Config) { c.Authenticate = signed })
	name := functionName(t, "")
	a.create(t, name, "url")
	created, err := a.client.CreateFunctionUrlConfig(t.Context(), &sdk.CreateFunctionUrlConfigInput{
		FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthTypeNone,
		Cors: &types.Cors{AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"POST"}, AllowHeaders: []string{"content-type"}, MaxAge: aws.Int32(60)},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.FunctionUrl)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:"+account+":function:"+name {
		t.Fatalf("created = %+v", created)
	}
	_, err = a.client.CreateFunctionUrlConfig(t.Context(), &sdk.CreateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthTypeNone})
	apiError(t, err, "ResourceConflictException", 409)

	req, _ := http.NewRequest("POST", url+"orders/7?status=418&x=1", strings.NewReader(`{"item":"tea"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://app.example")
	req.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var seen map[string]any
	json.NewDecoder(resp.Body).Decode(&seen)
	resp.Body.Close()
	if resp.StatusCode != 418 || resp.Header.Get("X-Fn") != "testfn" || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		len(resp.Cookies()) != 2 || resp.Cookies()[0].Name != "session" || resp.Cookies()[1].Value != "1" {
		t.Errorf("response = %d %v", resp.StatusCode, resp.Header)
	}
	want := map[string]any{"method": "POST", "path": "/orders/7", "query": "status=418&x=1", "cookies": []any{"theme=dark"},
		"body": `{"item":"tea"}`, "type": "application/json", "version": "2.0"}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("the function saw %v; want %v", seen, want)
	}
	// A binary body reaches it in base64.
	resp, err = http.Post(url, "application/octet-stream", strings.NewReader("\x00\x01"))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&seen)
	resp.Body.Close()
	if resp.StatusCode != 200 || seen["body"] != "base64:AAE=" {
		t.Errorf("binary body: %d %v", resp.StatusCode, seen)
	}
	// A preflight is CORS's, not the function's.
	req, _ = http.NewRequest("OPTIONS", url, nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Methods") != "POST" || resp.Header.Get("Access-Control-Max-Age") != "60" {
		t.Errorf("preflight = %d %v", resp.StatusCode, resp.Header)
	}

	// AWS_IAM: unsigned requests are refused.
	if _, err := a.client.UpdateFunctionUrlConfig(t.Context(), &sdk.UpdateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthTypeAwsIam}); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(url); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request to an AWS_IAM URL: %v, %v; want 403", resp.StatusCode, err)
	}
	req, _ = http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "signed")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("signed request to an AWS_IAM URL: %v, %v; want 200", resp.StatusCode, err)
	}
	got, err := a.client.GetFunctionUrlConfig(t.Context(), &sdk.GetFunctionUrlConfigInput{FunctionName: aws.String(name)})
	if err != nil || got.AuthType != types.FunctionUrlAuthTypeAwsIam || aws.ToString(got.FunctionUrl) != url || aws.ToString(got.LastModifiedTime) == "" {
		t.Errorf("GetFunctionUrlConfig = %+v, %v", got, err)
	}

	// Another API over the same index (a restart) serves it on its port.
	a.api.Close()
	again := lambda.New(a.reg.store, a.runner, lambda.Config{AccountID: account, Region: "us-east-1", Access: allowAll{},
		Images: launcher.Images{Registry: a.reg.Host, Account: account}, Authenticate: signed})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- again.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; again.Close() })
	waitFor(t, "the URL served again", func() bool {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "signed")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	// Deleted, the URL is gone from the index, and its listener refuses.
	if _, err := a.client.DeleteFunctionUrlConfig(t.Context(), &sdk.DeleteFunctionUrlConfigInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(url); err == nil && resp.StatusCode != http.StatusForbidden {
		t.Errorf("a deleted URL answers %d; want 403 or no answer", resp.StatusCode)
	}
	_, err = a.client.GetFunctionUrlConfig(t.Context(), &sdk.GetFunctionUrlConfigInput{FunctionName: aws.String(name)})
	apiError(t, err, "ResourceNotFoundException", 404)
}
