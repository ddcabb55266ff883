package ui_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/launcher/logs"
)

// testfn is the Lambda tests' function (launcher/lambda/internal/testfn),
// built static once per test binary.
var testfn = sync.OnceValues(func() ([]byte, error) {
	return buildStatic("../launcher/lambda/internal/testfn", "-tags", "lambda.norpc", "-trimpath")
})

// functionImage is the test function's image in the fixture's registry.
const functionImage = "lambda/echo:1"

// functionRole is the role the test's functions name.
const functionRole = "arn:aws:iam::" + account + ":role/lambda-role"

// startLambda gives the fixture a Lambda API (served on a server of its
// own, with an SDK client of it) and runner on the machine's Docker
// Engine, logging to the index's log store and metered; the test
// function's image is in the fixture's registry.
func (f *fixture) startLambda(log *slog.Logger) {
	t := f.t
	engine := dockertest.Require(t)
	prog, err := testfn()
	if err != nil {
		t.Fatal(err)
	}
	host := f.srv.Listener.Addr().String()
	d := f.pushExecutable(functionImage, "bootstrap", prog)
	repo, _, _ := strings.Cut(functionImage, ":")
	dockertest.Remember(host + "/" + repo + "@" + d.String())
	f.meter = lambda.NewMeter(f.store, log)
	runner := lambda.NewRunner(engine, lambda.RunnerConfig{Region: region, Logs: lambdaLogs{logs.NewStore(f.store, logs.StoreConfig{Log: log})},
		Observe: f.meter.Observe, Log: log})
	f.lambda = lambda.New(f.store, runner, lambda.Config{
		AccountID: account, Region: region, Access: openLambda{},
		Images: launcher.Images{Registry: host, Account: account},
		Meter:  f.meter, Prices: lambda.Prices{RequestsPerMillion: 0.20, GBSecondX86: 0.0000166667, GBSecondARM: 0.0000133334},
		Log: log,
	})
	mux := http.NewServeMux()
	f.lambda.Register(awsjson.NewFront(mux, nil, log))
	api := httptest.NewServer(mux)
	t.Cleanup(func() {
		api.Close()
		f.lambda.Close()
		if err := runner.Close(context.Background()); err != nil {
			t.Errorf("closing the Lambda runner: %v", err)
		}
	})
	f.lambdaClient = lambdasdk.New(lambdasdk.Options{
		Region: region, BaseEndpoint: aws.String(api.URL), RetryMaxAttempts: 1,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
	})
}

// lambdaLogs is the log store as Lambda's sink, as berth serve wires it.
type lambdaLogs struct{ s *logs.Store }

func (l lambdaLogs) Open(ctx context.Context, group, stream string) (lambda.LogStream, error) {
	return l.s.Open(ctx, logs.Destination{Group: group, Stream: stream, CreateGroup: true})
}

// openLambda lets the test drive the Lambda API and pulls anonymously:
// the fixture's registry is open.
type openLambda struct{}

func (openLambda) AuthorizeAction(context.Context, string, string) error { return nil }
func (openLambda) Caller(context.Context) launcher.Caller                { return launcher.Caller{User: "tester"} }
func (openLambda) RegistryAuth(context.Context, launcher.Caller) (launcher.RegistryAuth, error) {
	return launcher.RegistryAuth{}, nil
}

// createFunction creates function name of the test image through the
// Lambda API, with in's settings, and waits until it is Active.
func (f *fixture) createFunction(name string, in lambdasdk.CreateFunctionInput) {
	f.t.Helper()
	f.startFunction(name, in)
	f.waitActive(name)
}

// startFunction creates function name, whose image the API then pulls.
func (f *fixture) startFunction(name string, in lambdasdk.CreateFunctionInput) {
	f.t.Helper()
	in.FunctionName, in.Role, in.PackageType = aws.String(name), aws.String(functionRole), types.PackageTypeImage
	in.Code = &types.FunctionCode{ImageUri: aws.String(f.srv.Listener.Addr().String() + "/" + functionImage)}
	if _, err := f.lambdaClient.CreateFunction(context.Background(), &in); err != nil {
		f.t.Fatal(err)
	}
}

// waitActive waits until function name is Active, bounded.
func (f *fixture) waitActive(name string) {
	f.t.Helper()
	w := lambdasdk.NewFunctionActiveV2Waiter(f.lambdaClient, func(o *lambdasdk.FunctionActiveV2WaiterOptions) { o.MinDelay = 100 * time.Millisecond })
	if err := w.Wait(context.Background(), &lambdasdk.GetFunctionInput{FunctionName: aws.String(name)}, 2*time.Minute); err != nil {
		f.t.Fatalf("function %s: not Active within 2 minutes: %v", name, err)
	}
}

const hostile = `<script>alert("x")</script>`

// A function's list row and page show its configuration, its image by
// digest linked to the image's page, its versions, aliases and URL; the
// invoke form runs it and shows the answer, the function's error and the
// log tail; the page then lists the invocations from their REPORT lines,
// and the list counts them and prices them. What a caller chose renders
// as text.
func TestFunctionPages(t *testing.T) {
	f := newFixture(t, options{lambda: true})
	b := f.signedIn(f.user("admin", "admin"))
	ctx := context.Background()
	f.createFunction("echo", lambdasdk.CreateFunctionInput{Description: aws.String(hostile), MemorySize: aws.Int32(256),
		Environment: &types.Environment{Variables: map[string]string{"GREETING": hostile}},
		Tags:        map[string]string{"team": hostile}, Publish: true})
	// Publish made version 1 with the function; it is Active with $LATEST.
	if _, err := f.lambdaClient.CreateAlias(ctx, &lambdasdk.CreateAliasInput{FunctionName: aws.String("echo"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	fu, err := f.lambdaClient.CreateFunctionUrlConfig(ctx, &lambdasdk.CreateFunctionUrlConfigInput{FunctionName: aws.String("echo"), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.lambdaClient.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	resolved := aws.ToString(got.Code.ResolvedImageUri)
	dgst := resolved[strings.LastIndex(resolved, "@")+1:]

	list := b.expect(http.StatusOK, "/ui/functions")
	contains(t, "the list", list.Body, `<a href="/ui/functions/echo">echo</a>`, "/lambda/echo:1", ">Active<", ">Successful<", "256 MB", "3 s", "$0.00")
	p := b.expect(http.StatusOK, "/ui/functions/echo")
	contains(t, "the function", p.Body, `id="state">Active<`, resolved,
		`href="/ui/repositories/lambda/echo/-/images/`+url.PathEscape(dgst)+`"`,
		"arn:aws:lambda:"+region+":"+account+":function:echo", "256 MB", "512 MB", "x86_64", functionRole,
		"Versions", `<th scope="row">1</th>`, ">live<", aws.ToString(fu.FunctionUrl), "Invoke", `name="payload"`,
		"<option>$LATEST</option>", "<option>live</option>", `href="/ui/logs/group?name=%2Faws%2Flambda%2Fecho"`,
		"No invocations logged yet.", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "GREETING=", "team=")
	lacks(t, "the function", p.Body, hostile)
	wellFormed(t, "/ui/functions", list)
	wellFormed(t, "/ui/functions/echo", p)

	// The form runs it, here with a payload whose text is hostile too.
	invoke := "/ui/functions/echo/invoke"
	p = b.post(invoke, url.Values{"payload": {`{"action":"` + strings.ReplaceAll(hostile, `"`, `\"`) + `"}`}, "qualifier": {"$LATEST"}})
	if p.Status != http.StatusOK {
		t.Fatalf("invoking = %d\n%s", p.Status, p.Body)
	}
	contains(t, "the result", p.Body, "Succeeded", "version $LATEST", `id="response"`, "&#34;action&#34;: ", "action=&#34;&lt;script&gt;alert(",
		`id="log-tail"`, "START RequestId: ", "REPORT RequestId: ", "Billed Duration: ", "handling ", "billed ")
	lacks(t, "the result", p.Body, hostile, `id="function-error"`)
	// Through the alias, the function's error.
	p = b.post(invoke, url.Values{"payload": {`{"action":"fail"}`}, "qualifier": {"live"}})
	contains(t, "the failure", p.Body, `id="function-error">errorString<`, "asked to fail", "version 1", `<option selected>live</option>`)

	// What is not JSON, or comes without the form's token, runs nothing.
	p = b.post(invoke, url.Values{"payload": {`{"action":`}})
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "The payload is not JSON.") || !strings.Contains(p.Body, `{&#34;action&#34;:</textarea>`) {
		t.Errorf("invoking with a payload that is not JSON = %d; want 400 saying so, the payload kept\n%s", p.Status, p.Body)
	}
	if p := b.post(invoke, url.Values{"payload": {"{}"}, "csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("invoking without the CSRF token = %d; want 403", p.Status)
	}
	p = b.post(invoke, url.Values{"payload": {`{"kept":true}`}, "qualifier": {"9"}})
	if p.Status != http.StatusNotFound || !strings.Contains(p.Body, "Function not found: arn:aws:lambda:"+region+":"+account+":function:echo:9") ||
		!strings.Contains(p.Body, `{&#34;kept&#34;:true}</textarea>`) {
		t.Errorf("invoking a version that does not exist = %d; want 404 saying so beside the form\n%s", p.Status, p.Body)
	}

	// The two invocations, from the REPORT lines in the log store (which
	// the runner's log writer appends a moment later).
	deadline := time.Now().Add(time.Minute)
	for {
		p = b.expect(http.StatusOK, "/ui/functions/echo")
		if strings.Count(p.Body, "<th scope=\"row\"><code>") == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(p.Body, `<th scope="row"><code>`); n != 2 {
		t.Errorf("%d recent invocations; want 2\n%s", n, p.Body)
	}
	contains(t, "the recent invocations", p.Body, "answered</span>",
		`href="/ui/logs/stream?group=%2Faws%2Flambda%2Fecho&amp;stream=`, `<strong id="invocations">2</strong> requests`, "<strong>1</strong> error")
	if !regexp.MustCompile(`<strong id="cost">\$0\.0*[1-9][0-9]*</strong>`).MatchString(p.Body) {
		t.Errorf("the page prices the invocations at nothing:\n%s", p.Body)
	}
	list = b.expect(http.StatusOK, "/ui/functions")
	contains(t, "the list", list.Body, `<td class="num">2</td>`, `<td class="num">1</td>`)

	// A function that does not exist, named anyhow.
	b.expect(http.StatusNotFound, "/ui/functions/nothing")
	p = b.expect(http.StatusNotFound, "/ui/functions/"+url.PathEscape(hostile))
	lacks(t, "a hostile name", p.Body, hostile)
}

// A person who may read functions but not invoke them sees no invoke
// form and is refused in IAM's words when posting anyway; one who may not
// list them cannot; one who may invoke only an alias may invoke that.
func TestFunctionPermissions(t *testing.T) {
	f := newFixture(t, options{lambda: true})
	f.createFunction("guarded", lambdasdk.CreateFunctionInput{})
	reader := f.signedIn(f.user("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:Get*","lambda:List*"],"Resource":"*"}]}`))
	p := reader.expect(http.StatusOK, "/ui/functions/guarded")
	lacks(t, "the reader's page", p.Body, "Invoke", `name="payload"`, "Recent invocations")
	if forms := strings.Count(p.Body, `<form method="post"`); forms != 1 { // signing out
		t.Errorf("%d forms; want only the sign-out form", forms)
	}
	contains(t, "the reader's list", reader.expect(http.StatusOK, "/ui/functions").Body, `href="/ui/functions/guarded"`)
	p = reader.post("/ui/functions/guarded/invoke", url.Values{"payload": {"{}"}})
	want := "User: arn:aws:iam::" + account + ":user/reader is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:" + region + ":" + account + ":function:guarded"
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, want) {
		t.Errorf("the reader invoking = %d; want 403 saying %q\n%s", p.Status, want, p.Body)
	}
	u, err := f.lambda.Usage(context.Background(), "guarded", time.Now().Add(-time.Hour), time.Now())
	if err != nil || u.Invocations != 0 {
		t.Errorf("the reader's refused post invoked the function: %+v, %v", u, err)
	}

	// Listing without describing: the name, no link, no usage.
	lister := f.signedIn(f.user("lister", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:ListFunctions","Resource":"*"}]}`))
	p = lister.expect(http.StatusOK, "/ui/functions")
	contains(t, "the lister's list", p.Body, `<th scope="row">guarded</th>`, `title="lambda:GetFunction">hidden<`)
	lacks(t, "the lister's list", p.Body, `href="/ui/functions/guarded"`)
	lister.expect(http.StatusForbidden, "/ui/functions/guarded")

	nobody := f.signedIn(f.user("nobody", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}`))
	nobody.expect(http.StatusForbidden, "/ui/functions")
	nobody.expect(http.StatusForbidden, "/ui/functions/guarded")
}

// Without Lambda its pages are absent: not in the navigation, and not
// found.
func TestFunctionsAbsentWithoutLambda(t *testing.T) {
	f := newFixture(t, options{})
	b := f.signedIn(f.user("admin", "admin"))
	lacks(t, "the navigation", b.expect(http.StatusOK, "/ui/").Body, `href="/ui/functions"`)
	b.expect(http.StatusNotFound, "/ui/functions")
	b.expect(http.StatusNotFound, "/ui/functions/echo")
}

// The invoke form queues an Event invocation, which runs in the
// background and is counted; the configuration form changes memory,
// timeout and environment as UpdateFunctionConfiguration does, says what
// Lambda refuses beside the form, and is absent for a person who may
// not update the function, who is refused 403 when posting anyway.
func TestFunctionAsyncAndConfiguration(t *testing.T) {
	f := newFixture(t, options{lambda: true})
	b := f.signedIn(f.user("admin", "admin"))
	f.createFunction("evented", lambdasdk.CreateFunctionInput{})

	p := b.post("/ui/functions/evented/invoke", url.Values{"payload": {`{"action":"echo"}`}, "qualifier": {"$LATEST"}, "type": {"Event"}})
	if p.Status != http.StatusAccepted {
		t.Fatalf("queueing = %d\n%s", p.Status, p.Body)
	}
	contains(t, "the queued invocation", p.Body, `id="queued"`, "Queued as request", `href="/ui/logs/group?name=%2Faws%2Flambda%2Fevented"`, `id="type-event" checked`)
	lacks(t, "the queued invocation", p.Body, `id="result"`)
	for deadline := time.Now().Add(time.Minute); ; {
		u, err := f.lambda.Usage(context.Background(), "evented", time.Now().Add(-time.Hour), time.Now())
		if err == nil && u.Invocations == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queued invocation did not run within a minute: %+v, %v", u, err)
		}
		f.meter.Flush(context.Background())
		time.Sleep(100 * time.Millisecond)
	}

	p = b.expect(http.StatusOK, "/ui/functions/evented")
	contains(t, "the configuration form", p.Body, `id="configure-title"`, `name="memory" inputmode="numeric" value="128"`, `name="timeout" inputmode="numeric" value="3"`)
	conf := "/ui/functions/evented/configuration"
	p = b.post(conf, url.Values{"memory": {"512"}, "timeout": {"30"}, "environment": {"MODE=fast\nGREETING=" + hostile + "\n"}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/functions/evented?done=configured" {
		t.Fatalf("configuring = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	got, err := f.lambdaClient.GetFunctionConfiguration(context.Background(), &lambdasdk.GetFunctionConfigurationInput{FunctionName: aws.String("evented")})
	if err != nil || aws.ToInt32(got.MemorySize) != 512 || aws.ToInt32(got.Timeout) != 30 || got.Environment.Variables["GREETING"] != hostile || got.Environment.Variables["MODE"] != "fast" {
		t.Errorf("the configuration saved = %+v, %v", got, err)
	}
	p = b.expect(http.StatusOK, "/ui/functions/evented?done=configured")
	contains(t, "the configured function", p.Body, "Configuration saved.", "512 MB", "30 s", "GREETING=&lt;script&gt;")
	lacks(t, "the configured function", p.Body, hostile)

	// Lambda's refusals, and what is not a number, beside the form with
	// what was sent.
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"memory": {"64"}, "timeout": {"30"}}, "greater than or equal to 128"},
		{url.Values{"memory": {"lots"}, "timeout": {"30"}}, "Memory is a whole number"},
		{url.Values{"memory": {"512"}, "timeout": {"30"}, "environment": {"no equals sign"}}, "Line 1 of the environment"},
	} {
		p := b.post(conf, c.form)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, c.want) || !strings.Contains(p.Body, `value="`+c.form.Get("memory")+`"`) {
			t.Errorf("configuring with %v = %d; want 400 saying %q with the form kept\n%s", c.form, p.Status, c.want, p.Body)
		}
	}
	if p := b.post(conf, url.Values{"memory": {"256"}, "timeout": {"30"}, "csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("configuring without the CSRF token = %d; want 403", p.Status)
	}

	reader := f.signedIn(f.user("reader", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:Get*","lambda:List*","lambda:InvokeFunction"],"Resource":"*"}]}`))
	lacks(t, "the reader's page", reader.expect(http.StatusOK, "/ui/functions/evented").Body, `id="configure-title"`, "/configuration")
	p = reader.post(conf, url.Values{"memory": {"256"}, "timeout": {"30"}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "lambda:UpdateFunctionConfiguration") {
		t.Errorf("the reader configuring = %d; want 403\n%s", p.Status, p.Body)
	}
}
