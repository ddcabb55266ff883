package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// functionNameInput is the FunctionName path member, with the Qualifier
// query member of the operations that take one.
type functionNameInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	Qualifier    *string `json:"-" query:"Qualifier"`
}

type createFunctionInput struct {
	settings
	FunctionName  *string           `json:"FunctionName"`
	PackageType   *string           `json:"PackageType"`
	Code          *functionCode     `json:"Code"`
	Architectures []string          `json:"Architectures"`
	Tags          map[string]string `json:"Tags"`
	Publish       bool              `json:"Publish"`
}

type functionCode struct {
	ImageURI *string `json:"ImageUri"`
	ZipFile  []byte  `json:"ZipFile"`
	S3Bucket *string `json:"S3Bucket"`
}

// createdConfiguration is a configuration answered with 201 Created.
type createdConfiguration struct{ Configuration }

func (createdConfiguration) StatusCode() int { return http.StatusCreated }

// CreateFunction: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
// The function is Pending until its image is pulled; with Publish,
// version 1 exists when it answers, in the same state.
func (a *API) createFunction(ctx context.Context, in *createFunctionInput) (*createdConfiguration, error) {
	if in.FunctionName == nil {
		return nil, validation("functionName", "null", "Member must not be null")
	}
	ref, err := a.ref(*in.FunctionName, nil)
	if err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, "CreateFunction", a.functionARN(ref.Name, "")); err != nil {
		return nil, err
	}
	if ref.Qualifier != "" {
		return nil, validation("functionName", *in.FunctionName, "Member must satisfy regular expression pattern: "+functionNamePattern)
	}
	if in.Role == nil {
		return nil, validation("role", "null", "Member must not be null")
	}
	if in.Code == nil {
		return nil, validation("code", "null", "Member must not be null")
	}
	if in.PackageType == nil || *in.PackageType != "Image" || in.Code.ImageURI == nil || *in.Code.ImageURI == "" {
		if in.PackageType != nil && *in.PackageType == "Image" {
			return nil, invalidParameter("Please provide ImageUri when the intended function PackageType is Image.")
		}
		return nil, invalidParameter("berth runs functions from container images only: set PackageType to Image and Code.ImageUri.")
	}
	s := spec{Name: ref.Name, Version: latest, MemorySize: defaultMemory, Timeout: defaultTimeout, EphemeralStorage: defaultStorage}
	if err := in.settings.apply(&s); err != nil {
		return nil, err
	}
	if s.Architectures, err = checkArchitectures(in.Architectures); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	s.ImageURI = *in.Code.ImageURI
	if s.ResolvedImageURI, s.Digest, s.Pull, err = a.image(ctx, s.ImageURI); err != nil {
		return nil, err
	}
	now := time.Now()
	s.LastModified, s.RevisionID = now, launcher.NewUUID()
	s.State, s.StateReason, s.StateReasonCode = StatePending, "The function is being created.", "Creating"
	s.LastUpdateStatus, s.LastUpdateStatusReason, s.LastUpdateStatusReasonCode = UpdateInProgress, "The function is being created.", "Creating"
	doc := functionDoc{Latest: s, Tags: in.Tags, Owner: a.caller(ctx)}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	err = a.store.CreateFunction(ctx, metadata.Function{Name: ref.Name, CreatedAt: now, Document: b})
	if errors.Is(err, metadata.ErrFunctionExists) {
		return nil, conflict("Function already exist: %s", ref.Name)
	}
	if err != nil {
		return nil, err
	}
	c, err := a.activateCode(ctx, ref.Name, s, doc.Owner, in.Publish)
	if err != nil {
		return nil, err
	}
	return &createdConfiguration{c}, nil
}

// activateCode starts the pull of function name's new code, s (its
// $LATEST, set by owner), and returns the configuration the call that set
// the code answers: $LATEST's, or with publish that of the version
// published from it, which exists at once, in $LATEST's state, as in
// Lambda.
func (a *API) activateCode(ctx context.Context, name string, s spec, owner launcher.Caller, publish bool) (Configuration, error) {
	c := s.configuration(a.functionARN(name, ""))
	var err error
	if publish {
		// Not cut short by the caller leaving: the version and its record
		// in the function's document, which the pull's end reads, go
		// together.
		var v spec
		if v, err = a.publish(context.WithoutCancel(ctx), name, s.Description); err == nil {
			c = v.configuration(a.functionARN(name, v.Version))
		}
	}
	// After the publish, so that the pull's end finds the version.
	a.activate(name, s.RevisionID, s.Pull, owner)
	return c, err
}

type getFunctionOutput struct {
	Configuration Configuration       `json:"Configuration"`
	Code          codeLocation        `json:"Code"`
	Tags          map[string]string   `json:"Tags,omitempty"`
	Concurrency   *concurrencySetting `json:"Concurrency,omitempty"`
}

type codeLocation struct {
	RepositoryType   string `json:"RepositoryType"`
	ImageURI         string `json:"ImageUri"`
	ResolvedImageURI string `json:"ResolvedImageUri"`
}

type concurrencySetting struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

// GetFunction: https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html
func (a *API) getFunction(ctx context.Context, in *functionNameInput) (*getFunctionOutput, error) {
	res, err := a.named(ctx, "GetFunction", in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	out := &getFunctionOutput{
		Configuration: res.spec.configuration(res.arn),
		Code:          codeLocation{RepositoryType: "ECR", ImageURI: res.spec.ImageURI, ResolvedImageURI: res.spec.ResolvedImageURI},
		Tags:          res.fn.doc.Tags,
	}
	if r := res.fn.doc.Reserved; r != nil {
		out.Concurrency = &concurrencySetting{ReservedConcurrentExecutions: r}
	}
	return out, nil
}

// named parses and authorizes an operation on a function (and version or
// alias), and resolves it.
func (a *API) named(ctx context.Context, action, name string, qualifier *string) (resolved, error) {
	ref, err := a.ref(name, qualifier)
	if err != nil {
		return resolved{}, err
	}
	if err := a.authorize(ctx, action, a.functionARN(ref.Name, ref.Qualifier)); err != nil {
		return resolved{}, err
	}
	return a.resolve(ctx, ref)
}

// GetFunctionConfiguration: https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html
func (a *API) getFunctionConfiguration(ctx context.Context, in *functionNameInput) (*Configuration, error) {
	res, err := a.named(ctx, "GetFunctionConfiguration", in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	c := res.spec.configuration(res.arn)
	return &c, nil
}

type updateConfigurationInput struct {
	settings
	FunctionName string `json:"-" uri:"FunctionName"`
}

// UpdateFunctionConfiguration: https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html
func (a *API) updateFunctionConfiguration(ctx context.Context, in *updateConfigurationInput) (*Configuration, error) {
	ref, err := a.unqualified(ctx, "UpdateFunctionConfiguration", in.FunctionName)
	if err != nil {
		return nil, err
	}
	return a.configure(ctx, ref.Name, in.settings)
}

// configure changes the settings of function name, authorized already.
func (a *API) configure(ctx context.Context, name string, in settings) (*Configuration, error) {
	ref := functionRef{Name: name}
	doc, err := a.update(ctx, ref.Name, func(doc *functionDoc) error {
		s := &doc.Latest
		if err := updatable(*s, a.functionARN(ref.Name, ""), in.RevisionID); err != nil {
			return err
		}
		if err := in.apply(s); err != nil {
			return err
		}
		s.LastModified, s.RevisionID = time.Now(), launcher.NewUUID()
		s.LastUpdateStatus, s.LastUpdateStatusReason, s.LastUpdateStatusReasonCode = UpdateSuccessful, "", ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	c := doc.Latest.configuration(a.functionARN(ref.Name, ""))
	return &c, nil
}

// unqualified parses and authorizes an operation on a function as a
// whole: a qualifier in the name is refused.
func (a *API) unqualified(ctx context.Context, action, name string) (functionRef, error) {
	ref, err := a.ref(name, nil)
	if err != nil {
		return ref, err
	}
	if err := a.authorize(ctx, action, a.functionARN(ref.Name, "")); err != nil {
		return ref, err
	}
	if ref.Qualifier != "" {
		return ref, invalidParameter("Unsupported function name format: a qualifier is not allowed here: %s", name)
	}
	return ref, nil
}

// updatable refuses an update of s while another is in progress or when
// revision (if given) is not its RevisionId.
func updatable(s spec, arn string, revision *string) error {
	if s.State == StatePending || s.LastUpdateStatus == UpdateInProgress {
		return updateInProgress(arn)
	}
	if revision != nil && *revision != "" && *revision != s.RevisionID {
		return preconditionFailed()
	}
	return nil
}

type updateCodeInput struct {
	FunctionName  string   `json:"-" uri:"FunctionName"`
	ImageURI      *string  `json:"ImageUri"`
	ZipFile       []byte   `json:"ZipFile"`
	S3Bucket      *string  `json:"S3Bucket"`
	Publish       bool     `json:"Publish"`
	DryRun        bool     `json:"DryRun"`
	RevisionID    *string  `json:"RevisionId"`
	Architectures []string `json:"Architectures"`
}

// UpdateFunctionCode: https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html
// The new image is pulled in the background (LastUpdateStatus InProgress,
// then Successful); a version published with it (Publish) is too.
func (a *API) updateFunctionCode(ctx context.Context, in *updateCodeInput) (*Configuration, error) {
	ref, err := a.unqualified(ctx, "UpdateFunctionCode", in.FunctionName)
	if err != nil {
		return nil, err
	}
	if in.ImageURI == nil || *in.ImageURI == "" {
		return nil, invalidParameter("Please provide ImageUri when updating a function with packageType Image.")
	}
	archs, err := checkArchitectures(in.Architectures)
	if err != nil {
		return nil, err
	}
	resolvedURI, digest, pull, err := a.image(ctx, *in.ImageURI)
	if err != nil {
		return nil, err
	}
	if in.DryRun {
		l, err := a.load(ctx, ref.Name)
		if err != nil {
			return nil, err
		}
		c := l.doc.Latest.configuration(a.functionARN(ref.Name, ""))
		return &c, nil
	}
	doc, err := a.update(ctx, ref.Name, func(doc *functionDoc) error {
		s := &doc.Latest
		if err := updatable(*s, a.functionARN(ref.Name, ""), in.RevisionID); err != nil {
			return err
		}
		s.ImageURI, s.ResolvedImageURI, s.Digest, s.Pull = *in.ImageURI, resolvedURI, digest, pull
		if len(in.Architectures) > 0 {
			s.Architectures = archs
		}
		s.LastModified, s.RevisionID = time.Now(), launcher.NewUUID()
		s.LastUpdateStatus, s.LastUpdateStatusReason, s.LastUpdateStatusReasonCode = UpdateInProgress, "The function is being created.", "Creating"
		doc.Owner = a.caller(ctx)
		return nil
	})
	if err != nil {
		return nil, err
	}
	c, err := a.activateCode(ctx, ref.Name, doc.Latest, doc.Owner, in.Publish)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteFunction: https://docs.aws.amazon.com/lambda/latest/api/API_DeleteFunction.html
// With a version as Qualifier it deletes that version only.
func (a *API) deleteFunction(ctx context.Context, in *functionNameInput) (*noContent, error) {
	ref, err := a.ref(in.FunctionName, in.Qualifier)
	if err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, "DeleteFunction", a.functionARN(ref.Name, ref.Qualifier)); err != nil {
		return nil, err
	}
	switch {
	case ref.Qualifier == latest:
		return nil, invalidParameter("$LATEST version cannot be deleted without deleting the function.")
	case ref.Qualifier != "" && !isVersion(ref.Qualifier):
		return nil, invalidParameter("Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.")
	case ref.Qualifier != "":
		return &noContent{}, a.deleteVersion(ctx, ref)
	}
	err = a.store.DeleteFunction(ctx, ref.Name)
	if errors.Is(err, metadata.ErrFunctionUnknown) {
		return nil, functionNotFound(a.functionARN(ref.Name, ""))
	}
	if err != nil {
		return nil, err
	}
	a.runner.Retire(ref.Name)
	a.urls.close(ref.Name, "*")
	if a.cfg.Metrics != nil {
		a.cfg.Metrics.Forget(ref.Name)
	}
	return &noContent{}, nil
}

type listFunctionsInput struct {
	Marker          *string `json:"-" query:"Marker"`
	MaxItems        *int    `json:"-" query:"MaxItems"`
	FunctionVersion *string `json:"-" query:"FunctionVersion"`
	MasterRegion    *string `json:"-" query:"MasterRegion"`
}

type listFunctionsOutput struct {
	Functions  []Configuration `json:"Functions"`
	NextMarker *string         `json:"NextMarker,omitempty"`
}

// ListFunctions: https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
// The marker is the last function's name; with FunctionVersion ALL each
// function comes with its published versions.
func (a *API) listFunctions(ctx context.Context, in *listFunctionsInput) (*listFunctionsOutput, error) {
	if err := a.authorize(ctx, "ListFunctions", ""); err != nil {
		return nil, err
	}
	n, err := maxItems(in.MaxItems, 50)
	if err != nil {
		return nil, err
	}
	all := in.FunctionVersion != nil && *in.FunctionVersion == "ALL"
	if in.FunctionVersion != nil && !all {
		return nil, validation("functionVersion", *in.FunctionVersion, "Member must satisfy enum value set: [ALL]")
	}
	after := ""
	if in.Marker != nil {
		after = *in.Marker
	}
	fns, err := a.store.Functions(ctx, after, n+1)
	if err != nil {
		return nil, err
	}
	out := &listFunctionsOutput{Functions: []Configuration{}}
	if len(fns) > n {
		fns = fns[:n]
		next := fns[n-1].Name
		out.NextMarker = &next
	}
	for _, f := range fns {
		var doc functionDoc
		if err := json.Unmarshal(f.Document, &doc); err != nil {
			return nil, err
		}
		if !all {
			out.Functions = append(out.Functions, doc.Latest.configuration(a.functionARN(f.Name, "")))
			continue
		}
		out.Functions = append(out.Functions, doc.Latest.configuration(a.functionARN(f.Name, latest)))
		versions, err := a.versions(ctx, f.Name)
		if err != nil {
			return nil, err
		}
		out.Functions = append(out.Functions, versions...)
	}
	return out, nil
}

// maxItems reads a MaxItems member (1 to 10,000; def when absent).
func maxItems(v *int, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > 10000 {
		return 0, validation("maxItems", strconv.Itoa(*v), "Member must have value between 1 and 10000")
	}
	return *v, nil
}

// checkTags refuses tags Lambda refuses: at most 50, keys of 1 to 128
// characters not starting with "aws:", values of at most 256.
func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return invalidParameter("Number of tags exceeds resource tag limit.")
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		switch {
		case len(k) == 0 || len(k) > 128:
			return invalidParameter("Tag key must be between 1 and 128 characters: %q", k)
		case len(k) >= 4 && k[:4] == "aws:":
			return invalidParameter("Tag keys starting with aws: are reserved: %q", k)
		case len(tags[k]) > 256:
			return invalidParameter("Tag value of %q is longer than 256 characters.", k)
		}
	}
	return nil
}

// mergeTags returns tags with add set.
func mergeTags(tags, add map[string]string) map[string]string {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, add)
	return out
}
