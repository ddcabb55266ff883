package auth

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-dev/berth/auth/policy"
	"github.com/berth-dev/berth/auth/sigv4"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/internal/awserr"
)

// AuthenticateAWS returns the authenticator of the AWS API whose SigV4
// signing name is service ("ecr", "logs", "lambda"): it verifies the
// signature of each request over its exact body, refusing one made for
// another service, and puts the signer's Principal into the context. The
// front door (awsjson.Front) asks for one per service. Requests with bad
// signatures count against the caller's address like bad registry
// credentials.
func (a *Authority) AuthenticateAWS(service string) func(r *http.Request, body []byte) (context.Context, error) {
	// The scope must name this server's region and service, and the body
	// must be signed: every SDK signs a control plane's payload.
	opts := sigv4.Options{Service: service, Region: a.cfg.Region, Now: a.now}
	return func(r *http.Request, body []byte) (context.Context, error) {
		ctx := r.Context()
		ip := sourceIP(r)
		if a.cfg.Open {
			return WithPrincipal(ctx, &Principal{User: "dev", SourceIP: ip}), nil
		}
		if wait := a.limiter.blocked(ip); wait > 0 {
			return nil, awserr.New(awserr.ThrottlingException, http.StatusTooManyRequests,
				"Rate exceeded: too many failed authentication attempts from this address.").
				WithHeader("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		}
		id, err := sigv4.Verify(ctx, r, sigv4.HashPayload(body), a, opts)
		var sigErr *awserr.Error
		if errors.As(err, &sigErr) {
			if sigErr.Type != awserr.MissingAuthenticationTokenException {
				a.limiter.fail(ip)
			}
			a.log.InfoContext(ctx, "auth: rejected signature", "client", ip, "reason", sigErr.Type)
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		p, err := a.principal(ctx, id.AccessKeyID, ip)
		if errors.Is(err, errUnknownKey) {
			// Deleted between the signature check and now.
			return nil, awserr.Errorf(awserr.UnrecognizedClientException, "The security token included in the request is invalid.")
		}
		if err != nil {
			return nil, err
		}
		p.SecureTransport = r.TLS != nil
		return WithPrincipal(ctx, p), nil
	}
}

// AuthorizeAction returns an AccessDeniedException unless the caller in
// ctx may perform action on the resource resourceARN names ("" for actions
// on no particular resource). Every AWS API's operations ask it.
func (a *Authority) AuthorizeAction(ctx context.Context, action, resourceARN string) error {
	p := PrincipalFrom(ctx)
	ok, err := a.Allowed(ctx, p, action, resourceARN)
	if err != nil {
		return err
	}
	if !ok {
		return awserr.Errorf(awserr.AccessDeniedException, "%s", notAuthorized(p, action, resourceARN))
	}
	return nil
}

// AuthorizationToken issues the caller in ctx a registry password, a JWT
// valid for 12 hours that docker sends as Basic "AWS:<token>" and that
// stops working when the caller's key is revoked or user deleted. It
// returns it as ECR's authorizationToken: base64("AWS:" + token).
func (a *Authority) AuthorizationToken(ctx context.Context) (string, time.Time, error) {
	p := PrincipalFrom(ctx)
	if p.Anonymous() {
		return "", time.Time{}, awserr.Errorf(awserr.MissingAuthenticationTokenException, "Missing Authentication Token")
	}
	tok, claims, err := a.tokens.Issue(ctx, p.User, p.AccessKeyID, token.DefaultTTL, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	return token.ECRAuthorizationToken(tok), claims.ExpiresAt, nil
}

// CheckRepositoryPolicy validates a repository policy document.
func (a *Authority) CheckRepositoryPolicy(text string) error {
	opts := parseOptions(policy.Resource)
	opts.MaxLength = policy.RepositoryPolicyMaxLength
	_, err := policy.Parse(text, opts)
	return err
}
