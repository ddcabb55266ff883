package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/auth/sigv4"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/ocierr"
)

// ExpiredMessage is what docker prints after "denied: " for an expired
// token, as it does for ECR.
const ExpiredMessage = "Your authorization token has expired. Reauthenticate and try again."

// Registry requests are refused in the registry's own terms, as
// *ocierr.Errors: UNAUTHORIZED (401, with a challenge), DENIED (403) or
// TOOMANYREQUESTS (429, with Retry-After). Their messages are safe to show
// the client.

func (a *Authority) unauthorized(r *http.Request, scope, msg string) *ocierr.Error {
	e := ocierr.New(ocierr.Unauthorized, msg, nil)
	e.Header = http.Header{"Www-Authenticate": {a.challenge(r, scope)}}
	return e
}

func tooManyFailures(wait time.Duration) *ocierr.Error {
	e := ocierr.New(ocierr.TooManyRequests, "too many failed authentication attempts from this address; retry later", nil)
	e.Header = http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(wait.Seconds())))}}
	return e
}

// authenticateHTTP identifies the caller of a registry or token-endpoint
// request from its Authorization header: Basic "AWS:<token>" (ECR's
// docker login), Basic "<access key id>:<secret>", or Bearer <token>. A
// request without the header is anonymous. Bad credentials count against
// the caller's address.
func (a *Authority) authenticateHTTP(r *http.Request, scope string) (*Principal, error) {
	ip := sourceIP(r)
	header := r.Header.Get("Authorization")
	if header == "" {
		return &Principal{SourceIP: ip, SecureTransport: r.TLS != nil}, nil
	}
	if wait := a.limiter.blocked(ip); wait > 0 {
		return nil, tooManyFailures(wait)
	}
	p, err := a.credentials(r.Context(), header, ip)
	switch {
	case err == nil:
		p.SecureTransport = r.TLS != nil
		return p, nil
	case errors.Is(err, token.ErrExpired):
		return nil, ocierr.New(ocierr.Denied, ExpiredMessage, nil)
	case errors.Is(err, token.ErrInvalid), errors.Is(err, errUnknownKey), errors.Is(err, errBadCredentials):
		a.limiter.fail(ip)
		a.log.InfoContext(r.Context(), "auth: rejected credentials", "client", ip, "reason", err)
		return nil, a.unauthorized(r, scope, "invalid credentials; log in again (aws ecr get-login-password | docker login --username AWS --password-stdin)")
	default:
		return nil, err
	}
}

var errBadCredentials = errors.New("auth: malformed credentials or wrong secret")

// credentials checks one Authorization header value.
func (a *Authority) credentials(ctx context.Context, header, ip string) (*Principal, error) {
	if scheme, tok, ok := strings.Cut(header, " "); ok && strings.EqualFold(scheme, "Bearer") {
		return a.fromToken(ctx, strings.TrimSpace(tok), ip)
	}
	user, password, ok := token.ParseBasic(header)
	if !ok {
		return nil, errBadCredentials
	}
	if user == "AWS" {
		return a.fromToken(ctx, password, ip)
	}
	return a.keySecret(ctx, user, password, ip)
}

// keySecret returns the principal of access key id if given is its
// secret.
func (a *Authority) keySecret(ctx context.Context, id, given, ip string) (*Principal, error) {
	if !secret.ValidAccessKeyID(id) {
		return nil, errBadCredentials
	}
	want, err := a.Secret(ctx, id)
	if err != nil {
		if errors.Is(err, sigv4.ErrUnknownAccessKey) {
			return nil, errUnknownKey
		}
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(given), []byte(want)) != 1 {
		return nil, errBadCredentials
	}
	return a.principal(ctx, id, ip)
}

// Authorize authenticates r and checks that its caller may perform every
// one of actions on repository repo. With no actions (the /v2/ base and
// the catalog) it only requires a signed-in caller. It returns the
// request's context carrying the Principal, or an *ocierr.Error.
func (a *Authority) Authorize(r *http.Request, repo string, actions []string) (context.Context, error) {
	if a.cfg.Open {
		return r.Context(), nil
	}
	scope := dockerScope(repo, actions)
	p, err := a.authenticateHTTP(r, scope)
	if err != nil {
		return nil, err
	}
	ctx := WithPrincipal(r.Context(), p)
	if len(actions) == 0 && p.Anonymous() {
		return nil, a.unauthorized(r, scope, "authentication required")
	}
	resource := a.repositoryARN(repo)
	for _, action := range actions {
		ok, err := a.Allowed(ctx, p, action, resource)
		if err != nil {
			return nil, err
		}
		if ok {
			continue
		}
		if p.Anonymous() {
			return nil, a.unauthorized(r, scope, "authentication required")
		}
		return nil, ocierr.New(ocierr.Denied, notAuthorized(p, action, resource), nil)
	}
	return ctx, nil
}

// repositoryARN is the ARN of repository repo; "" (no particular
// resource) for "".
func (a *Authority) repositoryARN(repo string) string {
	if repo == "" {
		return ""
	}
	return a.scope.Repository(repo).String()
}

// repositoryName is the repository resource names, "" if it names none.
func repositoryName(resource arn.ARN) string {
	if !resource.Is(arn.ECR, "repository") {
		return ""
	}
	return resource.ID()
}

// notAuthorized is IAM's message for a refused action.
func notAuthorized(p *Principal, action, resourceARN string) string {
	resource := resourceARN
	if resource == "" {
		resource = "*"
	}
	who := p.ARN
	if p.Anonymous() {
		who = "anonymous"
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", who, action, resource)
}

// Permits reports whether the caller in ctx (from Authorize) may perform
// action on repo. The registry asks it to filter the catalog and to check
// the source of a cross-repository mount. A failure to decide is a no.
func (a *Authority) Permits(ctx context.Context, repo, action string) bool {
	ok, err := a.Allowed(ctx, PrincipalFrom(ctx), action, a.repositoryARN(repo))
	if err != nil {
		a.log.WarnContext(ctx, "auth: cannot decide", "repository", repo, "action", action, "err", err)
	}
	return ok && err == nil
}

// The Docker token flow's actions and the ECR actions each grants.
var dockerActions = map[string][]string{
	"pull": {
		"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability",
		"ecr:ListImages", "ecr:DescribeImages", "ecr:DescribeRepositories",
	},
	"push": {
		"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
		"ecr:PutImage", "ecr:BatchCheckLayerAvailability",
	},
	"delete": {"ecr:BatchDeleteImage"},
}

// dockerScope is the Docker scope a request for actions on repo needs,
// for the Bearer challenge: "repository:team/app:pull,push".
func dockerScope(repo string, actions []string) string {
	if repo == "" {
		return ""
	}
	var need []string
	for _, name := range []string{"pull", "push", "delete"} {
		for _, action := range actions {
			if dockerGrants(name, action) {
				need = append(need, name)
				break
			}
		}
	}
	return token.Access{Type: "repository", Name: repo, Actions: need}.String()
}

func dockerGrants(dockerAction, ecrAction string) bool {
	for _, a := range dockerActions[dockerAction] {
		if a == ecrAction {
			return true
		}
	}
	return false
}

// scopeGrants reports whether a scoped token's grants cover action on
// repo. registry:catalog:* covers listing every repository.
func scopeGrants(scope []token.Access, repo, action string) bool {
	for _, acc := range scope {
		if acc.Type == "registry" && acc.Name == "catalog" && action == "ecr:DescribeRepositories" {
			return true
		}
		if acc.Type != "repository" || acc.Name != repo {
			continue
		}
		for _, granted := range acc.Actions {
			if granted == "*" || dockerGrants(granted, action) {
				return true
			}
		}
	}
	return false
}

// tokenResponse is the Docker token endpoint's answer.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// BearerTTL is the lifetime of a Docker token-flow token.
const BearerTTL = 5 * time.Minute

// maxScopes bounds the scopes one token request may ask for.
const maxScopes = 32

// Register serves the Docker token endpoint (GET on Config.TokenPath) on
// mux.
func (a *Authority) Register(mux *http.ServeMux) {
	mux.Handle("GET "+a.cfg.TokenPath, a.tokenHandler())
}

// tokenHandler serves the Docker token flow (GET /token?scope=...): it
// authenticates the caller as Authorize does and grants, of each requested
// scope, the actions the caller's policies allow. An anonymous caller gets
// what repository policies grant to "*". Errors are in the registry's
// JSON error format.
func (a *Authority) tokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		resp, err := a.issueBearer(r)
		if err == nil {
			json.NewEncoder(w).Encode(resp)
			return
		}
		var e *ocierr.Error
		if !errors.As(err, &e) {
			a.log.ErrorContext(r.Context(), "token endpoint failed", "err", err)
			e = ocierr.New(ocierr.Unknown, "", nil)
		}
		ocierr.Write(w, r.Method, e)
	})
}

func (a *Authority) issueBearer(r *http.Request) (*tokenResponse, error) {
	if a.cfg.Open {
		r.Header.Del("Authorization")
	}
	p, err := a.authenticateHTTP(r, "")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	scopes := r.URL.Query()["scope"]
	if len(scopes) > maxScopes {
		return nil, ocierr.New(ocierr.BadRequest, fmt.Sprintf("at most %d scopes per token", maxScopes), nil)
	}
	granted := []token.Access{}
	for _, s := range scopes {
		for _, acc := range parseScope(s) {
			acc.Actions, err = a.grantable(ctx, p, acc)
			if err != nil {
				return nil, err
			}
			if len(acc.Actions) > 0 {
				granted = append(granted, acc)
			}
		}
	}
	subject := p.User
	if p.Anonymous() {
		subject = anonymousSubject
	}
	tok, claims, err := a.tokens.Issue(ctx, subject, p.AccessKeyID, BearerTTL, granted)
	if err != nil {
		return nil, err
	}
	return &tokenResponse{
		Token: tok, AccessToken: tok,
		ExpiresIn: int(BearerTTL.Seconds()),
		IssuedAt:  claims.IssuedAt.UTC().Format(time.RFC3339),
	}, nil
}

// grantable returns the requested actions of acc that p may perform.
func (a *Authority) grantable(ctx context.Context, p *Principal, acc token.Access) ([]string, error) {
	var out []string
	if acc.Type == "registry" && acc.Name == "catalog" {
		if !p.Anonymous() || a.cfg.Open {
			out = append(out, "*")
		}
		return out, nil
	}
	want := acc.Actions
	if len(want) == 1 && want[0] == "*" {
		want = []string{"pull", "push", "delete"}
	}
	for _, name := range want {
		action, known := grantingAction[name]
		if !known {
			continue
		}
		allowed, err := a.Allowed(ctx, p, action, a.repositoryARN(acc.Name))
		if err != nil {
			return nil, err
		}
		if allowed {
			out = append(out, name)
		}
	}
	return out, nil
}

// grantingAction is the ECR action a caller must be allowed for the token
// endpoint to grant a Docker action. Each request made with the token is
// still checked against the caller's policies, action by action.
var grantingAction = map[string]string{
	"pull": "ecr:BatchGetImage", "push": "ecr:PutImage", "delete": "ecr:BatchDeleteImage",
}

// parseScope parses one scope parameter, "type:name:actions", where the
// name may contain ':' (a registry host with a port). Several
// space-separated scopes may share one parameter. Malformed scopes are
// ignored, as the Docker token specification allows.
func parseScope(s string) []token.Access {
	var out []token.Access
	for _, one := range strings.Fields(s) {
		first := strings.Index(one, ":")
		last := strings.LastIndex(one, ":")
		if first < 0 || first == last {
			continue
		}
		typ, name, actions := one[:first], one[first+1:last], one[last+1:]
		if (typ != "repository" && typ != "registry") || name == "" || len(name) > 256 {
			continue
		}
		out = append(out, token.Access{Type: typ, Name: name, Actions: strings.Split(actions, ",")})
	}
	return out
}
