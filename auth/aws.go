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
)

// AWSError is an authorization failure of an AWS JSON API call, in AWS's
// terms: a bare __type name and a message. The awsjson error writer sends
// it as {"__type": ..., "message": ...}.
type AWSError struct {
	Type    string
	Message string
	Status  int
	header  http.Header
}

func (e *AWSError) Error() string { return e.Type + ": " + e.Message }

// AWSType is the __type name.
func (e *AWSError) AWSType() string { return e.Type }

// AWSMessage is the message sent to the client.
func (e *AWSError) AWSMessage() string { return e.Message }

// HTTPStatus is 400, or 429 for throttling.
func (e *AWSError) HTTPStatus() int { return e.Status }

// Header holds Retry-After when throttling.
func (e *AWSError) Header() http.Header { return e.header }

// AuthenticateAWS returns the authenticator of an AWS JSON API whose
// signing name is service ("ecr"): it verifies the SigV4 signature of each
// request over its exact body and puts the signer's Principal into the
// context. Requests with bad signatures count against the caller's
// address like bad registry credentials.
func (a *Authority) AuthenticateAWS(service string) func(r *http.Request, body []byte) (context.Context, error) {
	opts := sigv4.Options{Service: service}
	return func(r *http.Request, body []byte) (context.Context, error) {
		ctx := r.Context()
		ip := sourceIP(r)
		if a.cfg.Open {
			return WithPrincipal(ctx, &Principal{User: "dev", SourceIP: ip}), nil
		}
		if wait := a.limiter.blocked(ip); wait > 0 {
			h := http.Header{}
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			return nil, &AWSError{Type: "ThrottlingException", Message: "Rate exceeded: too many failed authentication attempts from this address.", Status: http.StatusTooManyRequests, header: h}
		}
		id, err := sigv4.Verify(ctx, r, sigv4.HashPayload(body), a, opts)
		var sigErr *sigv4.Error
		if errors.As(err, &sigErr) {
			if sigErr.AWSType() != sigv4.TypeMissingAuthenticationToken {
				a.limiter.fail(ip)
			}
			a.log.InfoContext(ctx, "auth: rejected signature", "client", ip, "reason", sigErr.AWSType())
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		p, err := a.principal(ctx, id.AccessKeyID, ip)
		if errors.Is(err, errUnknownKey) {
			// Deleted between the signature check and now.
			return nil, &AWSError{Type: sigv4.TypeUnrecognizedClient, Message: "The security token included in the request is invalid.", Status: http.StatusBadRequest}
		}
		if err != nil {
			return nil, err
		}
		return WithPrincipal(ctx, p), nil
	}
}

// AuthorizeAction returns an AccessDeniedException unless the caller in
// ctx may perform action on repository repo ("" for registry-wide
// actions).
func (a *Authority) AuthorizeAction(ctx context.Context, action, repo string) error {
	p := PrincipalFrom(ctx)
	ok, err := a.Allowed(ctx, p, action, repo)
	if err != nil {
		return err
	}
	if !ok {
		return &AWSError{Type: "AccessDeniedException", Message: a.notAuthorized(p, action, repo), Status: http.StatusBadRequest}
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
		return "", time.Time{}, &AWSError{Type: sigv4.TypeMissingAuthenticationToken, Message: "Missing Authentication Token", Status: http.StatusBadRequest}
	}
	tok, claims, err := a.tokens.Issue(ctx, p.User, p.AccessKeyID, token.DefaultTTL, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	return token.ECRAuthorizationToken(tok), claims.ExpiresAt, nil
}

// CheckRepositoryPolicy validates a repository policy document.
func (a *Authority) CheckRepositoryPolicy(text string) error {
	_, err := policy.ParseRepositoryPolicy(text)
	return err
}
