package token

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// DefaultTTL is the lifetime of a token issued with ttl 0: 12 hours, as
	// ECR's GetAuthorizationToken.
	DefaultTTL = 12 * time.Hour
	// MaxTTL is the longest lifetime [Issuer.Issue] accepts. Keep rotated
	// keys at least MaxTTL + leeway before pruning them.
	MaxTTL = 12 * time.Hour
	// DefaultLeeway is the clock skew [Issuer.Verify] tolerates on the
	// token's times.
	DefaultLeeway = 30 * time.Second

	// maxTokenLen bounds the input Verify parses. Tokens this package issues
	// are well under 1 KiB even with a scope of a few repositories.
	maxTokenLen = 16 << 10
)

var (
	// ErrExpired means the token was issued by this registry and is
	// authentic, but its lifetime has ended. The registry answers docker with
	// "denied: Your authorization token has expired. Reauthenticate and try
	// again."
	ErrExpired = errors.New("token: authorization token has expired")
	// ErrInvalid means the token is not one this registry accepts: malformed,
	// wrongly signed, signed by an unknown or pruned key, for another
	// audience, or not yet valid. Errors matching it never match ErrExpired.
	ErrInvalid = errors.New("token: invalid authorization token")
)

// Issuer issues and verifies tokens for one audience (the registry's host
// or service name) with the keys of a [KeySet]. It is safe for concurrent
// use.
type Issuer struct {
	keys     *KeySet
	audience string
	now      func() time.Time
	leeway   time.Duration
}

// Option configures an [Issuer].
type Option func(*Issuer)

// WithClock makes the Issuer read the time from now instead of time.Now;
// for tests.
func WithClock(now func() time.Time) Option { return func(i *Issuer) { i.now = now } }

// WithLeeway sets the clock skew Verify tolerates on expiry, not-before and
// issued-at; the default is [DefaultLeeway]. A negative leeway is treated
// as zero.
func WithLeeway(d time.Duration) Option { return func(i *Issuer) { i.leeway = max(d, 0) } }

// New returns an Issuer that signs with keys and issues and accepts tokens
// for audience only.
func New(keys *KeySet, audience string, opts ...Option) (*Issuer, error) {
	if keys == nil {
		return nil, errors.New("token: nil KeySet")
	}
	if audience == "" {
		return nil, errors.New("token: empty audience")
	}
	i := &Issuer{keys: keys, audience: audience, now: time.Now, leeway: DefaultLeeway}
	for _, o := range opts {
		o(i)
	}
	return i, nil
}

// wireClaims is the JWT payload.
type wireClaims struct {
	jwt.RegisteredClaims
	AccessKeyID string   `json:"akid,omitempty"`
	Scoped      bool     `json:"scoped,omitempty"`
	Access      []Access `json:"access,omitempty"`
}

// Issue signs a token for subject with the active key. A ttl of 0 means
// [DefaultTTL]; a negative ttl or one above [MaxTTL] is an error. access is
// the Docker-style scope: nil issues an unscoped (ECR) token, any other
// value, even empty, a scoped token granting exactly access. It returns the token, a compact JWS
// made only of [A-Za-z0-9_.-], and the claims it carries.
func (i *Issuer) Issue(ctx context.Context, subject, accessKeyID string, ttl time.Duration, access []Access) (token string, claims Claims, err error) {
	if err := ctx.Err(); err != nil {
		return "", Claims{}, err
	}
	if subject == "" {
		return "", Claims{}, errors.New("token: empty subject")
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return "", Claims{}, fmt.Errorf("token: ttl %s outside (0, %s]", ttl, MaxTTL)
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", Claims{}, fmt.Errorf("token: generate id: %w", err)
	}
	now := i.now().Truncate(time.Second) // JWT times are whole seconds
	claims = Claims{
		Subject:     subject,
		AccessKeyID: accessKeyID,
		Audience:    i.audience,
		IssuedAt:    now,
		ExpiresAt:   now.Add(ttl),
		ID:          base64.RawURLEncoding.EncodeToString(jti[:]),
		Scoped:      access != nil,
		Scope:       slices.Clone(access),
	}
	wc := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   claims.Subject,
			Audience:  jwt.ClaimStrings{claims.Audience},
			IssuedAt:  jwt.NewNumericDate(claims.IssuedAt),
			NotBefore: jwt.NewNumericDate(claims.IssuedAt),
			ExpiresAt: jwt.NewNumericDate(claims.ExpiresAt),
			ID:        claims.ID,
		},
		AccessKeyID: claims.AccessKeyID,
		Scoped:      claims.Scoped,
		Access:      claims.Scope,
	}
	key := i.keys.active()
	t := jwt.NewWithClaims(jwt.SigningMethodES256, wc)
	t.Header["kid"] = key.id
	token, err = t.SignedString(key.priv)
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: sign: %w", err)
	}
	return token, claims, nil
}

// Verify checks token and returns its claims. It accepts only ES256
// signatures by a key of the Issuer's KeySet (found by the "kid" header,
// including rotated keys not yet pruned), the Issuer's audience, and times
// within the leeway: issued and not-before no later than now, expiry
// later than now.
//
// It returns an error matching [ErrExpired] for an authentic token whose
// lifetime has ended, one matching [ErrInvalid] for every other rejected
// token, and ctx.Err() if ctx is done.
func (i *Issuer) Verify(ctx context.Context, token string) (*Claims, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if token == "" || len(token) > maxTokenLen {
		return nil, invalid("empty or oversized token")
	}
	// Only the base64url alphabet and dots: base64 decoders skip CR and LF,
	// which would let many strings carry the same signature.
	for _, c := range []byte(token) {
		if !isTokenChar(c) {
			return nil, invalid("character outside [A-Za-z0-9_.-]")
		}
	}
	var wc wireClaims
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithoutClaimsValidation(), // done below, so that expiry is reported only when nothing else is wrong
	)
	_, err := p.ParseWithClaims(token, &wc, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodES256 {
			return nil, errors.New("algorithm is not ES256")
		}
		kid, _ := t.Header["kid"].(string)
		pub, ok := i.keys.publicKey(kid)
		if !ok {
			return nil, errors.New("unknown key id")
		}
		return pub, nil
	})
	if err != nil {
		return nil, invalid(err.Error())
	}

	// The signature is ours; now the claims.
	if !slices.Contains(wc.Audience, i.audience) {
		return nil, invalid("wrong audience")
	}
	if wc.Subject == "" || wc.ID == "" || wc.IssuedAt == nil || wc.ExpiresAt == nil {
		return nil, invalid("missing sub, jti, iat or exp")
	}
	now := i.now()
	if wc.IssuedAt.After(now.Add(i.leeway)) {
		return nil, invalid("issued in the future")
	}
	if wc.NotBefore != nil && wc.NotBefore.After(now.Add(i.leeway)) {
		return nil, invalid("not valid yet")
	}
	if !now.Before(wc.ExpiresAt.Add(i.leeway)) {
		return nil, fmt.Errorf("%w (expired at %s)", ErrExpired, wc.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return &Claims{
		Subject:     wc.Subject,
		AccessKeyID: wc.AccessKeyID,
		Audience:    i.audience,
		IssuedAt:    wc.IssuedAt.Time,
		ExpiresAt:   wc.ExpiresAt.Time,
		ID:          wc.ID,
		Scoped:      wc.Scoped || wc.Access != nil,
		Scope:       wc.Access,
	}, nil
}

// Expired reports whether claims that Verify returned earlier have since
// expired, by the Issuer's clock and leeway: whether Verify would now
// refuse their token with ErrExpired. A caller that caches verified
// claims asks it on every use.
func (i *Issuer) Expired(c *Claims) bool {
	return !i.now().Before(c.ExpiresAt.Add(i.leeway))
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// invalid wraps ErrInvalid with a reason. Reasons never quote the token.
func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalid, reason) }
