package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/auth/token"
)

// ErrSignIn: credentials typed into the web UI are not valid (an unknown
// or inactive access key, a wrong secret, a token that is not a user's
// registry password), or the key of a session was revoked or its user
// deleted since.
var ErrSignIn = errors.New("auth: the access key, secret or token is not valid")

// RetryLaterError is SignIn's refusal of an address that sent too many
// bad credentials lately: it may try again after Wait.
type RetryLaterError struct{ Wait time.Duration }

func (e *RetryLaterError) Error() string {
	return fmt.Sprintf("auth: too many failed sign-ins from this address; retry in %s", e.Wait.Round(time.Second))
}

// SignIn authenticates a person signing in to the web UI from address
// sourceIP: with an access key ID and its secret, or with user "AWS" and a
// registry password (the output of aws ecr get-login-password). It
// returns the principal and, for a password, when the password expires
// (zero for a key). Errors: ErrSignIn, token.ErrExpired, or a
// *RetryLaterError while the address has to wait. Bad credentials count
// against the address as they do on the registry.
func (a *Authority) SignIn(ctx context.Context, sourceIP, user, password string) (*Principal, time.Time, error) {
	if wait := a.limiter.blocked(sourceIP); wait > 0 {
		return nil, time.Time{}, &RetryLaterError{Wait: wait}
	}
	var p *Principal
	var until time.Time
	var err error
	if user == "AWS" {
		p, until, err = a.signInWithToken(ctx, sourceIP, password)
	} else {
		p, err = a.keySecret(ctx, user, password, sourceIP)
	}
	switch {
	case err == nil:
		return p, until, nil
	case errors.Is(err, token.ErrExpired):
		return nil, time.Time{}, err
	case errors.Is(err, token.ErrInvalid), errors.Is(err, errUnknownKey), errors.Is(err, errBadCredentials):
		a.limiter.fail(sourceIP)
		a.log.InfoContext(ctx, "auth: rejected a web sign-in", "client", sourceIP, "reason", err)
		return nil, time.Time{}, ErrSignIn
	}
	return nil, time.Time{}, err
}

// signInWithToken accepts only a user's unscoped registry password: a
// session re-reads its principal by access key on every request, which
// would drop a token's scope.
func (a *Authority) signInWithToken(ctx context.Context, sourceIP, tok string) (*Principal, time.Time, error) {
	c, err := a.verifyToken(ctx, tok)
	if err != nil {
		return nil, time.Time{}, err
	}
	if c.Scoped || c.AccessKeyID == "" {
		return nil, time.Time{}, errBadCredentials
	}
	p, err := a.fromToken(ctx, tok, sourceIP)
	return p, c.ExpiresAt, err
}

// Resume returns the principal of a web UI session that user signed in
// to with access key keyID, read from the index now as on every request:
// ErrSignIn once the key is revoked or deleted or its user is gone.
func (a *Authority) Resume(ctx context.Context, sourceIP, user, keyID string) (*Principal, error) {
	p, err := a.principal(ctx, keyID, sourceIP)
	if errors.Is(err, errUnknownKey) || err == nil && p.User != user {
		return nil, ErrSignIn
	}
	return p, err
}
