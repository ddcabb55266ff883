package registry

import (
	"context"
	"net/http"
)

// Authorizer decides who may do what. The registry says which ECR actions
// each request needs (see needs); the Authorizer authenticates the caller
// and decides. Package auth implements it; a nil Authorizer is an open
// registry.
type Authorizer interface {
	// Authorize authenticates r and checks that its caller may perform
	// every one of actions on repository repo; with no actions (the /v2/
	// base, the catalog) it only requires a signed-in caller. It returns
	// the context to serve r with, or an error. An *ocierr.Error is the
	// caller's fault and is sent as it is (UNAUTHORIZED with a
	// WWW-Authenticate challenge, DENIED, TOOMANYREQUESTS with
	// Retry-After); any other error is a server failure.
	Authorize(r *http.Request, repo string, actions []string) (context.Context, error)
	// Permits reports whether the caller in ctx (as Authorize returned it)
	// may perform action on repo: for filtering the catalog and checking
	// the source of a cross-repository mount.
	Permits(ctx context.Context, repo, action string) bool
}

// ECR actions, named as IAM policies name them.
const (
	actionPull       = "ecr:BatchGetImage"
	actionDownload   = "ecr:GetDownloadUrlForLayer"
	actionCheck      = "ecr:BatchCheckLayerAvailability"
	actionList       = "ecr:ListImages"
	actionDescribe   = "ecr:DescribeRepositories"
	actionInitiate   = "ecr:InitiateLayerUpload"
	actionUpload     = "ecr:UploadLayerPart"
	actionComplete   = "ecr:CompleteLayerUpload"
	actionPutImage   = "ecr:PutImage"
	actionDeleteImg  = "ecr:BatchDeleteImage"
	actionCreateRepo = "ecr:CreateRepository"
)

// needs lists the ECR actions each route and method requires, as ECR maps
// its registry API: a pull is BatchGetImage plus GetDownloadUrlForLayer, a
// push the layer-upload actions plus PutImage. The base and the catalog
// need none: they only require a signed-in caller (the catalog is then
// filtered).
var needs = map[routeKind]map[string][]string{
	routeTags: {http.MethodGet: {actionList}},
	routeManifest: {
		http.MethodGet: {actionPull}, http.MethodHead: {actionPull},
		http.MethodPut: {actionPutImage}, http.MethodDelete: {actionDeleteImg},
	},
	routeBlob: {
		http.MethodGet: {actionDownload}, http.MethodHead: {actionCheck},
		http.MethodDelete: {actionDeleteImg},
	},
	routeUploadStart: {http.MethodPost: {actionInitiate}},
	routeUpload: {
		http.MethodGet: {actionUpload}, http.MethodPatch: {actionUpload},
		http.MethodPut: {actionComplete}, http.MethodDelete: {actionUpload},
	},
	routeReferrers: {http.MethodGet: {actionPull}},
}

// required lists the ECR actions r performs: those of its route and
// method, and every layer action of an upload that does several steps in
// one request, so that a Deny on any of them holds. A POST with ?digest=
// initiates, uploads and completes a layer; a PUT with a body uploads its
// last part and completes.
func required(r *http.Request, rt route) []string {
	switch {
	case rt.kind == routeUploadStart && r.Method == http.MethodPost && r.URL.Query().Has("digest"):
		return []string{actionInitiate, actionUpload, actionComplete}
	case rt.kind == routeUpload && r.Method == http.MethodPut && r.ContentLength != 0:
		return []string{actionUpload, actionComplete}
	}
	return needs[rt.kind][r.Method]
}

// authorize runs the Authorizer for a routed request and returns the
// request to serve.
func (reg *Registry) authorize(r *http.Request, rt route) (*http.Request, error) {
	if reg.auth == nil {
		return r, nil
	}
	ctx, err := reg.auth.Authorize(r, rt.name, required(r, rt))
	if err != nil {
		return nil, err
	}
	return r.WithContext(ctx), nil
}

// permits is Authorizer.Permits, true for an open registry.
func (reg *Registry) permits(ctx context.Context, repo, action string) bool {
	return reg.auth == nil || reg.auth.Permits(ctx, repo, action)
}

// visible reports whether the caller may see repo in the catalog: it may
// describe or pull it.
func (reg *Registry) visible(ctx context.Context, repo string) bool {
	return reg.permits(ctx, repo, actionDescribe) || reg.permits(ctx, repo, actionPull)
}

// readable reports whether the caller may read the blobs of repo, as a
// mount's source must be.
func (reg *Registry) readable(ctx context.Context, repo string) bool {
	return reg.permits(ctx, repo, actionDownload)
}
