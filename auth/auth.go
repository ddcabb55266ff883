// Package auth decides who a caller is and what it may do, for every API
// berth serves: the registry's /v2/ (Basic with an ECR token, or a Bearer
// token from the Docker token flow), the AWS JSON APIs (SigV4) and the
// Docker token endpoint itself.
//
// An [Authority] ties the pieces in the sub-packages together: access keys
// and users from the metadata index, their secrets opened with
// [secret.Sealer], tokens from [token.Issuer], signatures from
// [sigv4.Verify] and decisions from [policy.Evaluate]. It implements the
// small interfaces the registry and the ECR API define for access control,
// so neither imports this package.
//
// Every request is checked against the index: a deleted user or a revoked
// (deleted or Inactive) key stops working at once, even with a token that
// has not expired. Only the cryptographic checks are cached.
//
// Secrets, tokens and signatures never appear in a log line or an error
// message; access key IDs and token IDs do.
package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/berth-dev/berth/auth/policy"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/auth/sigv4"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/metadata"
)

// Store is what an Authority reads from the metadata index: access keys
// and users.
type Store interface {
	metadata.Credentials
}

// ResourcePolicies finds the resource-based policies of one service's
// resources: ECR's repository policies now, Lambda's function policies
// later. Each service provides its own (ecr.RepositoryPolicies), and the
// Authority picks it by the service of the resource's ARN.
type ResourcePolicies interface {
	// ResourcePolicy returns the policy document attached to resource, ""
	// when the resource has none or does not exist.
	ResourcePolicy(ctx context.Context, resource arn.ARN) (string, error)
}

// Config describes the registry an Authority guards.
type Config struct {
	// AccountID is the 12-digit account of users' and repositories' ARNs.
	AccountID string
	// Region is the region of resources' ARNs and of SigV4 scopes.
	Region string
	// Resources finds resource policies by service ("ecr"); a service
	// without an entry has none.
	Resources map[string]ResourcePolicies
	// Service names the registry in tokens (audience) and in challenges.
	Service string
	// Challenge is "basic" (ECR's challenge, the default) or "bearer"
	// (the Docker token flow, with the realm TokenPath on the request's
	// host).
	Challenge string
	// TokenPath is where the Docker token endpoint is served; default
	// "/token".
	TokenPath string
	// AnonymousPull lets an Allow to "*" in a resource policy grant pull
	// actions (and only those) to anonymous callers (auth.anonymous:
	// pull). Off, "*" means every authenticated principal, as on ECR.
	AnonymousPull bool
	// Open turns access control off: every request is allowed and
	// credentials are not checked (dev mode, `auth: none`).
	Open bool
	// FailureBurst and FailureWindow slow down guessing: an address that
	// sent FailureBurst bad credentials gets 429 until a failure has aged
	// out of the window. Defaults: 10 and one minute.
	FailureBurst  int
	FailureWindow time.Duration
}

// Authority authenticates callers and authorizes their requests. It is
// safe for concurrent use.
type Authority struct {
	store   Store
	sealer  *secret.Sealer
	tokens  *token.Issuer
	cfg     Config
	scope   arn.Scope
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter

	// Caches of pure functions of their keys: parsed policy documents by
	// text and verified token claims by token.
	mu       sync.Mutex
	policies map[string]*policy.Policy
	verified map[string]*token.Claims
}

// cacheLimit bounds each cache; a full cache is emptied and refilled.
const cacheLimit = 4096

// Option configures an Authority.
type Option func(*Authority)

// WithClock makes the Authority read the time from now instead of
// time.Now: when it counts failed attempts against FailureWindow and
// checks a SigV4 signing time's skew. Tokens are timed by the Issuer's
// own clock (token.WithClock); tests give both the same one.
func WithClock(now func() time.Time) Option { return func(a *Authority) { a.now = now } }

// New returns an Authority. sealer opens access key secrets; tokens issues
// and verifies registry tokens.
func New(store Store, sealer *secret.Sealer, tokens *token.Issuer, cfg Config, log *slog.Logger, opts ...Option) *Authority {
	if cfg.TokenPath == "" {
		cfg.TokenPath = "/token"
	}
	if cfg.Challenge == "" {
		cfg.Challenge = "basic"
	}
	if cfg.FailureBurst <= 0 {
		cfg.FailureBurst = 10
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	a := &Authority{
		store: store, sealer: sealer, tokens: tokens, cfg: cfg, log: log, now: time.Now,
		scope:    arn.Scope{Region: cfg.Region, AccountID: cfg.AccountID},
		policies: map[string]*policy.Policy{},
		verified: map[string]*token.Claims{},
	}
	for _, o := range opts {
		o(a)
	}
	a.limiter = newLimiter(cfg.FailureBurst, cfg.FailureWindow, a.now)
	return a
}

// Principal is an authenticated caller, or an anonymous one.
type Principal struct {
	// User is the user's name; "" for an anonymous caller.
	User string
	// ARN is the user's ARN, as policies' Principal elements name it.
	ARN string
	// AccessKeyID is the key that signed the request or obtained the token.
	AccessKeyID string
	// SourceIP is the caller's address (aws:SourceIp in conditions).
	SourceIP string
	// SecureTransport: the request reached berth over TLS
	// (aws:SecureTransport in conditions).
	SecureTransport bool

	policies []*policy.Policy
	// broken: one of the user's identity policies no longer parses; every
	// request is denied (fail closed) until it is fixed.
	broken bool
	// listing holds the resource policies of this request, for a request
	// that evaluates many resources (a listing).
	listing policyMemo
	// scoped principals hold a Docker token-flow token and may do only
	// what scope grants (and their policies still allow).
	scoped bool
	scope  []token.Access
}

// Anonymous reports whether the caller sent no credentials.
func (p *Principal) Anonymous() bool { return p == nil || p.User == "" }

// ctxKey keys the Principal in a request context.
type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// PrincipalFrom returns the Principal in ctx; an anonymous one if none.
func PrincipalFrom(ctx context.Context) *Principal {
	if p, ok := ctx.Value(ctxKey{}).(*Principal); ok {
		return p
	}
	return &Principal{}
}

// principal loads the user of access key id and checks that the key is
// active: the index is the truth on every request, so deleting a user or
// revoking a key takes effect at once.
func (a *Authority) principal(ctx context.Context, keyID, sourceIP string) (*Principal, error) {
	k, err := a.store.AccessKey(ctx, keyID)
	if errors.Is(err, metadata.ErrAccessKeyUnknown) {
		return nil, errUnknownKey
	}
	if err != nil {
		return nil, err
	}
	if k.Status != metadata.AccessKeyActive {
		return nil, errUnknownKey
	}
	u, err := a.store.User(ctx, k.User)
	if errors.Is(err, metadata.ErrUserUnknown) {
		return nil, errUnknownKey
	}
	if err != nil {
		return nil, err
	}
	p := &Principal{User: u.Name, ARN: u.ARN, AccessKeyID: k.ID, SourceIP: sourceIP}
	if p.ARN == "" {
		p.ARN = a.scope.User(u.Name).String()
	}
	for _, text := range u.Policies {
		pol, err := a.identityPolicy(text)
		if err != nil {
			// A policy that no longer parses may have held a Deny: skipping
			// it would widen access, so the user is refused until it is fixed.
			a.log.ErrorContext(ctx, "auth: refusing a user whose identity policy does not parse", "user", u.Name, "err", err)
			p.broken = true
			continue
		}
		p.policies = append(p.policies, pol)
	}
	return p, nil
}

// errUnknownKey: the key does not exist, is inactive, or its user is gone.
var errUnknownKey = errors.New("auth: unknown or inactive access key")

// Secret implements sigv4.Credentials: the secret of an active key.
func (a *Authority) Secret(ctx context.Context, keyID string) (string, error) {
	k, err := a.store.AccessKey(ctx, keyID)
	if errors.Is(err, metadata.ErrAccessKeyUnknown) || (err == nil && k.Status != metadata.AccessKeyActive) {
		return "", sigv4.ErrUnknownAccessKey
	}
	if err != nil {
		return "", err
	}
	ak, err := a.sealer.OpenAccessKey(k.ID, k.SealedSecret)
	if err != nil {
		return "", fmt.Errorf("auth: access key %s: %w", k.ID, err)
	}
	return ak.Secret, nil
}

// verifyToken verifies a registry token, caching the signature check.
// The expiry is checked on every call.
func (a *Authority) verifyToken(ctx context.Context, tok string) (*token.Claims, error) {
	a.mu.Lock()
	c, ok := a.verified[tok]
	a.mu.Unlock()
	if ok {
		if !a.tokens.Expired(c) {
			return c, nil
		}
		a.mu.Lock()
		delete(a.verified, tok)
		a.mu.Unlock()
	}
	c, err := a.tokens.Verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if len(a.verified) >= cacheLimit {
		clear(a.verified)
	}
	a.verified[tok] = c
	a.mu.Unlock()
	return c, nil
}

// fromToken returns the principal a token was issued to, checked against
// the index now.
func (a *Authority) fromToken(ctx context.Context, tok, sourceIP string) (*Principal, error) {
	c, err := a.verifyToken(ctx, tok)
	if err != nil {
		return nil, err
	}
	var p *Principal
	if c.AccessKeyID == "" {
		// Only the token endpoint issues keyless tokens: to anonymous callers.
		if !c.Scoped || c.Subject != anonymousSubject {
			return nil, token.ErrInvalid
		}
		p = &Principal{SourceIP: sourceIP}
	} else {
		p, err = a.principal(ctx, c.AccessKeyID, sourceIP)
		if err != nil {
			return nil, err
		}
		if p.User != c.Subject {
			return nil, token.ErrInvalid
		}
	}
	p.scoped, p.scope = c.Scoped, c.Scope
	return p, nil
}

// anonymousSubject is the subject of tokens issued to anonymous callers.
const anonymousSubject = "anonymous"

// identityPolicy resolves one entry of a user's policy list: a managed
// policy ARN (or its short name) or an inline JSON document.
func (a *Authority) identityPolicy(text string) (*policy.Policy, error) {
	if p, ok := ManagedPolicy(text); ok {
		return p, nil
	}
	return a.parse(text, policy.Identity)
}

// usesResourceTags reports whether any of policies tests a resource tag.
func usesResourceTags(policies ...*policy.Policy) bool {
	for _, p := range policies {
		if p != nil && p.UsesConditionKey(isResourceTagKey) {
			return true
		}
	}
	return false
}

// resourcePolicy returns the policy attached to resource, nil if none,
// from the lookup of the resource's service; through p's memo when p's
// request evaluates many resources.
func (a *Authority) resourcePolicy(ctx context.Context, p *Principal, resource arn.ARN) (*policy.Policy, error) {
	policies, ok := a.cfg.Resources[resource.Service]
	if !ok {
		return nil, nil
	}
	text, err := p.listing.lookup(ctx, policies, resource)
	if err != nil {
		// Fail closed: a policy that cannot be read may hold a Deny.
		return nil, fmt.Errorf("auth: reading the policy of %s: %w", resource, err)
	}
	if text == "" {
		return nil, nil
	}
	pol, err := a.parse(text, policy.Resource)
	if err != nil {
		return nil, fmt.Errorf("auth: the policy of %s does not parse: %w", resource, err)
	}
	return pol, nil
}

// parse parses a policy document through the cache.
func (a *Authority) parse(text string, kind policy.Kind) (*policy.Policy, error) {
	key := kind.String() + "\x00" + text
	a.mu.Lock()
	p, ok := a.policies[key]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse(text, parseOptions(kind))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if len(a.policies) >= cacheLimit {
		clear(a.policies)
	}
	a.policies[key] = p
	a.mu.Unlock()
	return p, nil
}

// Allowed decides whether p may perform action (an IAM action name such as
// "ecr:BatchGetImage") on the resource resourceARN names ("" or "*" for
// actions on no particular resource, such as ecr:GetAuthorizationToken).
// It evaluates p's identity policies with the resource's own policy, found
// through the Resources lookup of the ARN's service. A resourceARN that
// does not parse is an error: callers build ARNs with package arn.
func (a *Authority) Allowed(ctx context.Context, p *Principal, action, resourceARN string) (bool, error) {
	if a.cfg.Open {
		return true, nil
	}
	if p == nil {
		p = &Principal{}
	}
	target, err := parseResource(resourceARN)
	if err != nil {
		return false, fmt.Errorf("auth: resource of %s: %w", action, err)
	}
	if p.scoped && !scopeGrants(p.scope, repositoryName(target), action) {
		return false, nil
	}
	if p.broken {
		return false, nil
	}
	resource, err := a.resourcePolicy(ctx, p, target)
	if err != nil {
		return false, err
	}
	conditions, err := a.requestContext(ctx, p, target, usesResourceTags(resource) || usesResourceTags(p.policies...))
	if err != nil {
		return false, err
	}
	req := policy.Request{Principal: p.ARN, Account: a.cfg.AccountID, Action: action, Resource: cmp.Or(resourceARN, "*"), Context: conditions}
	if p.Anonymous() {
		req.Account = ""
		req.AnonymousGrant = a.cfg.AnonymousPull && dockerGrants("pull", action)
	}
	return policy.Evaluate(p.policies, resource, req).Allowed(), nil
}

// parseResource parses the ARN of the resource an action is on; the zero
// ARN for "" or "*", no particular resource.
func parseResource(resourceARN string) (arn.ARN, error) {
	if resourceARN == "" || resourceARN == "*" {
		return arn.ARN{}, nil
	}
	return arn.Parse(resourceARN)
}

// SourceIP returns the address of r's client without the port, as
// policies' aws:SourceIp sees it and the failure limiter counts it.
func SourceIP(r *http.Request) string { return sourceIP(r) }

// sourceIP returns the address of r's client, without the port.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return addr.Unmap().String()
	}
	return host
}

// Open reports whether access control is off (dev mode).
func (a *Authority) Open() bool { return a.cfg.Open }

// challenge is the WWW-Authenticate value of a 401: ECR's Basic challenge,
// or a Bearer challenge pointing at the token endpoint.
func (a *Authority) challenge(r *http.Request, scope string) string {
	if a.cfg.Challenge == "bearer" {
		c := fmt.Sprintf("Bearer realm=%q,service=%q", baseURL(r)+a.cfg.TokenPath, a.cfg.Service)
		if scope != "" {
			c += fmt.Sprintf(",scope=%q", scope)
		}
		return c
	}
	return fmt.Sprintf("Basic realm=%q,service=%q", baseURL(r)+"/", a.cfg.Service)
}

// baseURL is the scheme and host the client used to reach r.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
