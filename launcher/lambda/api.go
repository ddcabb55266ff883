package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// SigningName is Lambda's SigV4 signing name.
const SigningName = "lambda"

// Store is what the API keeps in the metadata index, and where it finds
// the images functions name.
type Store interface {
	metadata.Functions
	metadata.FunctionVersions
	metadata.FunctionAliases
	metadata.LambdaEvents
	// Manifest resolves a function's image in berth's registry:
	// metadata.ErrManifestUnknown when it has no such image.
	Manifest(ctx context.Context, repo, reference string) (metadata.Manifest, error)
}

// Access is the API's access control and the registry credentials of the
// images it pulls.
type Access interface {
	// AuthorizeAction returns an AccessDeniedException unless the caller
	// in ctx may perform action ("lambda:InvokeFunction") on the resource
	// resourceARN names ("" for no particular resource).
	AuthorizeAction(ctx context.Context, action, resourceARN string) error
	// Caller is who the caller in ctx is: a function records who set its
	// code, whose registry credentials pull its image.
	Caller(ctx context.Context) launcher.Caller
	// RegistryAuth returns what the engine presents to berth's registry to
	// pull an image for c (a short-lived token), so that repository
	// policies apply to functions as to pulls; the zero value when access
	// control is off.
	RegistryAuth(ctx context.Context, c launcher.Caller) (launcher.RegistryAuth, error)
}

// Config configures the API.
type Config struct {
	// AccountID and Region are those of function ARNs.
	AccountID string
	Region    string
	// Images rewrites a function's ImageUri to the name the engine pulls,
	// berth's registry on loopback; images of other registries are
	// refused, as Lambda takes images from ECR only.
	Images launcher.Images
	// Access authorizes each operation and gives pulls their credentials.
	Access Access
	// AccountConcurrency is the account's concurrency limit, which
	// reserved concurrency is measured against (1,000); the runner
	// enforces it.
	AccountConcurrency int
	// RetryDelay is how long a failed Event invocation waits for its first
	// retry; the second waits twice as long (1 and 2 minutes, as Lambda).
	RetryDelay time.Duration
	// Metrics, when set, forgets a deleted function's series.
	Metrics *Metrics
	// URLHost is the loopback address function URLs listen on
	// (127.0.0.1), each on a port of its own.
	URLHost string
	// Authenticate checks the SigV4 signature of a request to a function
	// URL with AuthType AWS_IAM (signed for lambda) and returns its
	// context with the caller; nil refuses every such request.
	Authenticate awsjson.Authenticator
	// Meter, when set, answers Usage, at Prices.
	Meter  *Meter
	Prices Prices
	Log    *slog.Logger
}

// API is the Lambda API (REST-JSON, signing name lambda) over functions
// kept in the metadata index and run by a [Runner]. Register it on the
// AWS front door.
type API struct {
	svc    *awsjson.RESTService
	store  Store
	runner *Runner
	access Access
	cfg    Config
	scope  arn.Scope
	urls   urlServers

	// work is the background work (pulls) Close waits for; ctx ends it.
	work   sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns the API over store, running functions with runner.
func New(store Store, runner *Runner, cfg Config) *API {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountConcurrency <= 0 {
		cfg.AccountConcurrency = 1000
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Minute
	}
	if cfg.URLHost == "" {
		cfg.URLHost = "127.0.0.1"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &API{store: store, runner: runner, access: cfg.Access, cfg: cfg, ctx: ctx, cancel: cancel,
		scope: arn.Scope{Region: cfg.Region, AccountID: cfg.AccountID}}
	a.svc = awsjson.NewRESTService(SigningName, awsjson.WithLogger(cfg.Log),
		awsjson.WithServerFault(typeServiceException), awsjson.WithErrorBody(errorBody),
		awsjson.WithMaxBodyBytes(MaxPayload), awsjson.WithBodyTooLarge(requestTooLarge(MaxPayload).(*awserr.Error)))
	const fn = "/2015-03-31/functions/{FunctionName}"
	awsjson.HandleREST(a.svc, "POST /2015-03-31/functions", "CreateFunction", a.createFunction)
	awsjson.HandleREST(a.svc, "GET /2015-03-31/functions/{$}", "ListFunctions", a.listFunctions)
	// The AWS SDK for Go v2 asks without the model's trailing slash.
	awsjson.HandleREST(a.svc, "GET /2015-03-31/functions", "ListFunctions", a.listFunctions)
	awsjson.HandleREST(a.svc, "GET "+fn, "GetFunction", a.getFunction)
	awsjson.HandleREST(a.svc, "DELETE "+fn, "DeleteFunction", a.deleteFunction)
	awsjson.HandleREST(a.svc, "GET "+fn+"/configuration", "GetFunctionConfiguration", a.getFunctionConfiguration)
	awsjson.HandleREST(a.svc, "PUT "+fn+"/configuration", "UpdateFunctionConfiguration", a.updateFunctionConfiguration)
	awsjson.HandleREST(a.svc, "PUT "+fn+"/code", "UpdateFunctionCode", a.updateFunctionCode)
	awsjson.HandleRESTFunc(a.svc, "POST "+fn+"/invocations", "Invoke", a.invoke)
	awsjson.HandleREST(a.svc, "POST "+fn+"/versions", "PublishVersion", a.publishVersion)
	awsjson.HandleREST(a.svc, "GET "+fn+"/versions", "ListVersionsByFunction", a.listVersionsByFunction)
	awsjson.HandleREST(a.svc, "POST "+fn+"/aliases", "CreateAlias", a.createAlias)
	awsjson.HandleREST(a.svc, "GET "+fn+"/aliases", "ListAliases", a.listAliases)
	awsjson.HandleREST(a.svc, "GET "+fn+"/aliases/{Name}", "GetAlias", a.getAlias)
	awsjson.HandleREST(a.svc, "PUT "+fn+"/aliases/{Name}", "UpdateAlias", a.updateAlias)
	awsjson.HandleREST(a.svc, "DELETE "+fn+"/aliases/{Name}", "DeleteAlias", a.deleteAlias)
	awsjson.HandleREST(a.svc, "PUT /2017-10-31/functions/{FunctionName}/concurrency", "PutFunctionConcurrency", a.putFunctionConcurrency)
	awsjson.HandleREST(a.svc, "DELETE /2017-10-31/functions/{FunctionName}/concurrency", "DeleteFunctionConcurrency", a.deleteFunctionConcurrency)
	awsjson.HandleREST(a.svc, "GET /2019-09-30/functions/{FunctionName}/concurrency", "GetFunctionConcurrency", a.getFunctionConcurrency)
	awsjson.HandleREST(a.svc, "POST /2017-03-31/tags/{ARN}", "TagResource", a.tagResource)
	awsjson.HandleRESTFunc(a.svc, "DELETE /2017-03-31/tags/{ARN}", "UntagResource", a.untagResource)
	awsjson.HandleREST(a.svc, "GET /2017-03-31/tags/{ARN}", "ListTags", a.listTags)
	const url = "/2021-10-31/functions/{FunctionName}/url"
	awsjson.HandleREST(a.svc, "POST "+url, "CreateFunctionUrlConfig", a.createFunctionURLConfig)
	awsjson.HandleREST(a.svc, "GET "+url, "GetFunctionUrlConfig", a.getFunctionURLConfig)
	awsjson.HandleREST(a.svc, "PUT "+url, "UpdateFunctionUrlConfig", a.updateFunctionURLConfig)
	awsjson.HandleREST(a.svc, "DELETE "+url, "DeleteFunctionUrlConfig", a.deleteFunctionURLConfig)
	awsjson.HandleREST(a.svc, "GET "+url+"s", "ListFunctionUrlConfigs", a.listFunctionURLConfigs)
	return a
}

// Usage is what function name did from the day of from to the day of to
// and what it would have cost on AWS: the berth-specific summary the CLI
// and the UI show beside AWS's own shapes. A function deleted since is
// priced as x86_64.
func (a *API) Usage(ctx context.Context, name string, from, to time.Time) (Usage, error) {
	if a.cfg.Meter == nil {
		return Usage{Function: name}, nil
	}
	arch := "x86_64"
	if l, err := a.load(ctx, name); err == nil && len(l.doc.Latest.Architectures) > 0 {
		arch = l.doc.Latest.Architectures[0]
	}
	return a.cfg.Meter.Usage(ctx, name, arch, from, to, a.cfg.Prices)
}

// Run takes up what an earlier run left, until ctx ends: it serves the
// function URLs kept in the index, each on its port again when that is
// free (else on a new one, recorded), pulls again the images of
// functions whose pull it did not finish (Pending, or an update in
// progress), and delivers the asynchronous invocations not done yet.
func (a *API) Run(ctx context.Context) error {
	if err := a.takeUp(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while reading: not a failure
		}
		return err
	}
	<-ctx.Done()
	a.urls.close("*", "*")
	return nil
}

// takeUp is what Run takes up from an earlier run.
func (a *API) takeUp(ctx context.Context) error {
	after := ""
	for {
		page, err := a.store.Functions(ctx, after, 100)
		if err != nil {
			return err
		}
		for _, f := range page {
			after = f.Name
			var doc functionDoc
			if err := json.Unmarshal(f.Document, &doc); err != nil {
				return err
			}
			for q, c := range doc.URLs {
				a.reopenURL(ctx, f.Name, q, c.Port)
			}
			if s := doc.Latest; s.State == StatePending || s.LastUpdateStatus == UpdateInProgress {
				a.activate(f.Name, s.RevisionID, s.Pull, doc.Owner)
			}
		}
		if len(page) < 100 {
			break
		}
	}
	return a.resumeEvents(ctx)
}

// Register puts the API on the AWS front door.
func (a *API) Register(front *awsjson.Front) { front.REST(a.svc) }

// Close stops the API's background work (image pulls, asynchronous
// invocations) and function URLs, and waits for the work to end.
func (a *API) Close() {
	a.cancel()
	a.urls.close("*", "*")
	a.work.Wait()
}

// functionARN is the ARN of function name, qualified unless qualifier is "".
func (a *API) functionARN(name, qualifier string) string {
	return a.scope.Function(name, qualifier).String()
}

// ref parses a FunctionName member and checks that an ARN in it names
// this berth's region and account; qualifier, when set, is the Qualifier
// member, which must agree with one in the name.
func (a *API) ref(name string, qualifier *string) (functionRef, error) {
	r, err := parseFunctionName(name)
	if err != nil {
		return r, err
	}
	if (r.Region != "" && r.Region != a.cfg.Region) || (r.Account != "" && a.cfg.AccountID != "" && r.Account != a.cfg.AccountID) {
		return r, functionNotFound(a.functionARN(r.Name, r.Qualifier))
	}
	if qualifier != nil && *qualifier != "" {
		if r.Qualifier != "" && r.Qualifier != *qualifier {
			return r, invalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
		}
		r.Qualifier = *qualifier
	}
	return r, nil
}

// loaded is a function as read from the index.
type loaded struct {
	doc      functionDoc
	revision int64
}

// load reads function name; ResourceNotFoundException if there is none.
func (a *API) load(ctx context.Context, name string) (loaded, error) {
	f, err := a.store.Function(ctx, name)
	if errors.Is(err, metadata.ErrFunctionUnknown) {
		return loaded{}, functionNotFound(a.functionARN(name, ""))
	}
	if err != nil {
		return loaded{}, err
	}
	var l loaded
	if err := json.Unmarshal(f.Document, &l.doc); err != nil {
		return loaded{}, fmt.Errorf("function %s: %w", name, err)
	}
	l.revision = f.Revision
	return l, nil
}

// update reads function name, lets change modify its document and writes
// it back, again from the top when another write came in between.
// change's error is returned as it is.
func (a *API) update(ctx context.Context, name string, change func(*functionDoc) error) (functionDoc, error) {
	for {
		l, err := a.load(ctx, name)
		if err != nil {
			return functionDoc{}, err
		}
		if err := change(&l.doc); err != nil {
			return functionDoc{}, err
		}
		b, err := json.Marshal(l.doc)
		if err != nil {
			return functionDoc{}, err
		}
		_, err = a.store.UpdateFunction(ctx, metadata.Function{Name: name, Document: b}, l.revision)
		switch {
		case errors.Is(err, metadata.ErrFunctionChanged):
			continue
		case errors.Is(err, metadata.ErrFunctionUnknown):
			return functionDoc{}, functionNotFound(a.functionARN(name, ""))
		}
		return l.doc, err
	}
}

// resolved is the version of a function an operation or invocation names.
type resolved struct {
	fn loaded
	// spec is the version's configuration; executed its version
	// ("$LATEST" or a number).
	spec spec
	// arn is the function's ARN as the caller qualified it.
	arn string
}

// resolve finds the version r names: $LATEST without a qualifier, a
// published version by number, or the version an alias routes this call
// to (by its weights).
func (a *API) resolve(ctx context.Context, r functionRef) (resolved, error) {
	l, err := a.load(ctx, r.Name)
	if err != nil {
		return resolved{}, err
	}
	res := resolved{fn: l, arn: a.functionARN(r.Name, r.Qualifier)}
	q := r.Qualifier
	if q != "" && q != latest && !isVersion(q) {
		al, err := a.store.FunctionAlias(ctx, r.Name, q)
		if errors.Is(err, metadata.ErrFunctionAliasUnknown) {
			return resolved{}, functionNotFound(res.arn)
		}
		if err != nil {
			return resolved{}, err
		}
		var doc aliasDoc
		if err := json.Unmarshal(al.Document, &doc); err != nil {
			return resolved{}, err
		}
		q = route(al.Version, doc.Weights)
	}
	switch {
	case q == "" || q == latest:
		res.spec = l.doc.Latest
	default:
		res.spec, err = a.version(ctx, r.Name, q)
		if errors.Is(err, metadata.ErrFunctionVersionUnknown) {
			return resolved{}, functionNotFound(res.arn)
		}
		if err != nil {
			return resolved{}, err
		}
	}
	return res, nil
}

// image checks that uri names an image in berth's registry that exists,
// and returns the spec members that locate it.
func (a *API) image(ctx context.Context, uri string) (resolvedURI, digest, pull string, err error) {
	invalid := invalidParameter("Source image %s is not valid. Provide a valid source image.", uri)
	name, err := a.cfg.Images.Resolve(uri)
	if err != nil {
		return "", "", "", invalid
	}
	if !strings.HasPrefix(name, a.cfg.Images.Registry+"/") {
		// Lambda runs images from ECR only; berth, from its own registry.
		return "", "", "", invalid
	}
	named, err := reference.ParseNamed(name)
	if err != nil {
		return "", "", "", invalid
	}
	repo := reference.Path(named)
	var want string
	switch r := named.(type) {
	case reference.Digested:
		want = r.Digest().String()
	case reference.Tagged:
		want = r.Tag()
	}
	m, err := a.store.Manifest(ctx, repo, want)
	if errors.Is(err, metadata.ErrManifestUnknown) || errors.Is(err, metadata.ErrRepositoryUnknown) {
		return "", "", "", invalidParameter("Source image %s does not exist. Provide a valid source image.", uri)
	}
	if err != nil {
		return "", "", "", err
	}
	digest = m.Digest.String()
	// The user's name of the image, pinned to the digest.
	base := uri
	if i := strings.LastIndex(base, "@"); i >= 0 {
		base = base[:i]
	} else if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
		base = base[:i]
	}
	return base + "@" + digest, digest, a.cfg.Images.Registry + "/" + repo + "@" + digest, nil
}

// activate pulls the image of function name's $LATEST in the background
// and makes it Active (or Failed, with the engine's reason), with the
// version published with it, if any. It pulls as owner, who created or
// updated the code.
func (a *API) activate(name, revision, pull string, owner launcher.Caller) {
	a.work.Go(func() {
		ctx, cancel := context.WithTimeout(a.ctx, 30*time.Minute)
		defer cancel()
		err := a.pull(ctx, pull, owner)
		if a.ctx.Err() != nil {
			return // berth stops: the function stays as it was
		}
		serr := a.settle(context.WithoutCancel(ctx), name, revision, err)
		switch {
		case errors.Is(serr, errSuperseded):
		case serr != nil:
			a.cfg.Log.Warn("lambda: recording a function's state", "function", name, "err", serr)
		case err != nil:
			a.cfg.Log.Warn("lambda: pulling a function's image", "function", name, "image", pull, "err", err)
		}
	})
}

// settle records how the pull of function name's $LATEST at revision
// ended (pullErr nil: it succeeded), on the version published with that
// revision first, then on $LATEST: whoever waits for $LATEST to be Active
// finds the version settled too. errSuperseded if $LATEST changed since.
func (a *API) settle(ctx context.Context, name, revision string, pullErr error) error {
	l, err := a.load(ctx, name)
	if err != nil {
		return err
	}
	if l.doc.Latest.RevisionID != revision {
		return errSuperseded
	}
	if l.doc.Published == revision && l.doc.PublishedVersion != "" {
		if err := a.settleVersion(ctx, name, versionNumber(l.doc.PublishedVersion), pullErr); err != nil {
			return err
		}
	}
	_, err = a.update(ctx, name, func(doc *functionDoc) error {
		if doc.Latest.RevisionID != revision {
			return errSuperseded
		}
		doc.Latest.settle(pullErr)
		return nil
	})
	return err
}

// settleVersion records how the pull of version number of function name
// ended; a version deleted meanwhile is no error.
func (a *API) settleVersion(ctx context.Context, name string, number int, pullErr error) error {
	v, err := a.store.FunctionVersion(ctx, name, number)
	if errors.Is(err, metadata.ErrFunctionVersionUnknown) {
		return nil
	}
	if err != nil {
		return err
	}
	var s spec
	if err := json.Unmarshal(v.Document, &s); err != nil {
		return err
	}
	s.settle(pullErr)
	if v.Document, err = json.Marshal(s); err != nil {
		return err
	}
	err = a.store.UpdateFunctionVersion(ctx, v)
	if errors.Is(err, metadata.ErrFunctionVersionUnknown) {
		return nil
	}
	return err
}

// errSuperseded: the function changed since the pull began; the newer
// change has its own pull.
var errSuperseded = errors.New("lambda: superseded by a newer update")

// authorize asks Access whether the caller may perform action on the
// function ARN.
func (a *API) authorize(ctx context.Context, action, resource string) error {
	if a.access == nil {
		return nil
	}
	return a.access.AuthorizeAction(ctx, "lambda:"+action, resource)
}

// pull has the engine pull image with owner's registry credentials.
func (a *API) pull(ctx context.Context, image string, owner launcher.Caller) error {
	var auth launcher.RegistryAuth
	if a.access != nil {
		var err error
		if auth, err = a.access.RegistryAuth(ctx, owner); err != nil {
			return err
		}
	}
	return a.runner.Pull(ctx, image, auth)
}

// caller is who the caller in ctx is.
func (a *API) caller(ctx context.Context) launcher.Caller {
	if a.access == nil {
		return launcher.Caller{}
	}
	return a.access.Caller(ctx)
}

// created and noContent give operations Lambda's status codes.
type noContent struct{}

func (noContent) StatusCode() int { return http.StatusNoContent }
