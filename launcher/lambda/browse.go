package lambda

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/berth-dev/berth/launcher"
)

// The Go API below is what berth's web UI reads and drives functions
// through. Unlike the HTTP API it authorizes nothing: its caller has
// already decided, with the same lambda: actions on the same ARNs.

// Function is a function as berth keeps it: its $LATEST configuration,
// where its image is, and what belongs to the function as a whole.
type Function struct {
	Configuration
	// ImageURI is the image as the user named it, ResolvedImageURI the
	// same pinned to its digest.
	ImageURI, ResolvedImageURI string
	// Repository and Digest locate the image in berth's registry.
	Repository, Digest string
	Tags               map[string]string
	// Reserved is its reserved concurrency; nil: none.
	Reserved *int
	// URLs are its function URLs: its own first, then its aliases', by
	// alias name.
	URLs []FunctionURLConfig
}

// function renders what the index holds of function name.
func (a *API) function(name string, doc functionDoc) Function {
	s := doc.Latest
	f := Function{Configuration: s.configuration(a.functionARN(name, "")),
		ImageURI: s.ImageURI, ResolvedImageURI: s.ResolvedImageURI, Digest: s.Digest,
		Tags: doc.Tags, Reserved: doc.Reserved}
	// Pull is <registry>/<repository>@<digest>.
	if _, path, ok := strings.Cut(s.Pull, "/"); ok {
		f.Repository, _, _ = strings.Cut(path, "@")
	}
	for _, q := range slices.Sorted(maps.Keys(doc.URLs)) {
		c := doc.URLs[q]
		f.URLs = append(f.URLs, a.describeURL(name, q, c, !c.Modified.Equal(c.Created)))
	}
	return f
}

// Functions returns up to n functions in name order, after the one named
// after ("" for the first page).
func (a *API) Functions(ctx context.Context, after string, n int) ([]Function, error) {
	fns, err := a.store.Functions(ctx, after, n)
	if err != nil {
		return nil, err
	}
	out := make([]Function, 0, len(fns))
	for _, f := range fns {
		var doc functionDoc
		if err := json.Unmarshal(f.Document, &doc); err != nil {
			return nil, err
		}
		out = append(out, a.function(f.Name, doc))
	}
	return out, nil
}

// Function returns function name; a ResourceNotFoundException if there
// is none.
func (a *API) Function(ctx context.Context, name string) (Function, error) {
	l, err := a.load(ctx, name)
	if err != nil {
		return Function{}, err
	}
	return a.function(name, l.doc), nil
}

// Versions returns the published versions of function name, oldest
// first.
func (a *API) Versions(ctx context.Context, name string) ([]Configuration, error) {
	return a.versions(ctx, name)
}

// Aliases returns the aliases of function name, by name.
func (a *API) Aliases(ctx context.Context, name string) ([]AliasConfiguration, error) {
	var out []AliasConfiguration
	after := ""
	for {
		page, err := a.store.FunctionAliases(ctx, name, after, 100)
		if err != nil {
			return nil, err
		}
		for _, al := range page {
			c, err := a.aliasConfiguration(al)
			if err != nil {
				return nil, err
			}
			out = append(out, *c)
			after = al.Name
		}
		if len(page) < 100 {
			return out, nil
		}
	}
}

// Invocation is how an invocation through [API.Invoke] went.
type Invocation struct {
	Result
	// ExecutedVersion is the version that ran ("$LATEST" or a number).
	ExecutedVersion string
}

// Invoke runs function name (at qualifier: "", "$LATEST", a version or
// an alias) synchronously with payload, as Invoke with RequestResponse
// and LogType Tail does: the function's error is in the result, not the
// error. The errors are Lambda's: ResourceNotFoundException,
// InvalidRequestContentException for a payload that is not JSON,
// ResourceConflictException while the function is not Active,
// TooManyRequestsException over a concurrency limit.
func (a *API) Invoke(ctx context.Context, name, qualifier string, payload []byte) (Invocation, error) {
	res, payload, err := a.invocable(ctx, name, qualifier, payload)
	if err != nil {
		return Invocation{}, err
	}
	result, err := a.runner.Invoke(ctx, a.runnable(res), Request{Payload: payload, FunctionARN: res.arn, Tail: true})
	if err != nil {
		return Invocation{}, invokeError(err)
	}
	return Invocation{Result: result, ExecutedVersion: res.spec.Version}, nil
}

// invocable resolves what an invocation runs and checks its payload ({}
// when empty), with Invoke's errors.
func (a *API) invocable(ctx context.Context, name, qualifier string, payload []byte) (resolved, []byte, error) {
	if len(payload) == 0 {
		payload = []byte("{}")
	} else if !json.Valid(payload) {
		return resolved{}, nil, invalidContent()
	}
	if len(payload) > MaxPayload {
		return resolved{}, nil, requestTooLarge(MaxPayload)
	}
	res, err := a.resolve(ctx, functionRef{Name: name, Qualifier: qualifier})
	if err != nil {
		return resolved{}, nil, err
	}
	if s := res.spec.State; s != StateActive {
		return resolved{}, nil, notReady(s)
	}
	return res, payload, nil
}

// InvokeAsync queues an invocation of function name (at qualifier) with
// payload, as Invoke with InvocationType Event does, and returns its
// request id: it runs in the background, retried as Lambda retries
// events, its output in the function's log group. Invoke's errors.
func (a *API) InvokeAsync(ctx context.Context, name, qualifier string, payload []byte) (string, error) {
	res, payload, err := a.invocable(ctx, name, qualifier, payload)
	if err != nil {
		return "", err
	}
	req := Request{RequestID: launcher.NewUUID(), Payload: payload, FunctionARN: res.arn}
	if err := a.enqueue(ctx, a.runnable(res), req); err != nil {
		return "", err
	}
	return req.RequestID, nil
}

// Settings are the parts of a function's configuration the web UI
// changes.
type Settings struct {
	// MemorySize is in MB (128 to 10240), Timeout in seconds (1 to 900).
	MemorySize, Timeout int
	Environment         map[string]string
	// RevisionID, when set, must be the function's, as
	// UpdateFunctionConfiguration's RevisionId.
	RevisionID string
}

// UpdateConfiguration changes function name's $LATEST as
// UpdateFunctionConfiguration does with s; its errors
// (InvalidParameterValueException, ResourceConflictException while an
// update runs, PreconditionFailedException for an old revision,
// ResourceNotFoundException).
func (a *API) UpdateConfiguration(ctx context.Context, name string, s Settings) (Configuration, error) {
	in := settings{MemorySize: &s.MemorySize, Timeout: &s.Timeout, Environment: &environmentInput{Variables: s.Environment}}
	if s.RevisionID != "" {
		in.RevisionID = &s.RevisionID
	}
	c, err := a.configure(ctx, name, in)
	if err != nil {
		return Configuration{}, err
	}
	return *c, nil
}
