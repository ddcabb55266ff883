package token

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berth-dev/berth/internal/clocktest"
)

const testAudience = "registry.example.test"

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newKeySet(t testing.TB) *KeySet {
	t.Helper()
	ks, err := LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func newIssuer(t testing.TB, ks *KeySet, c *clocktest.Clock) *Issuer {
	t.Helper()
	iss, err := New(ks, testAudience, WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func issue(t testing.TB, iss *Issuer, ttl time.Duration, access []Access) (string, Claims) {
	t.Helper()
	tok, claims, err := iss.Issue(context.Background(), "alice", "AKIAEXAMPLE", ttl, access)
	if err != nil {
		t.Fatal(err)
	}
	return tok, claims
}

// sign makes a token with arbitrary claims, method, key and kid, bypassing
// Issue's checks.
func sign(t testing.TB, m jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validWire(now time.Time) wireClaims {
	return wireClaims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   "alice",
		Audience:  jwt.ClaimStrings{testAudience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		ID:        "id-1",
	}}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	c := clocktest.New(t0.Add(500 * time.Millisecond))
	iss := newIssuer(t, newKeySet(t), c)
	access := []Access{{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}}}
	tok, issued := issue(t, iss, 0, access)

	if got, want := issued.ExpiresAt.Sub(issued.IssuedAt), DefaultTTL; got != want {
		t.Errorf("ttl = %s, want %s", got, want)
	}
	if !issued.IssuedAt.Equal(t0) {
		t.Errorf("IssuedAt = %s, want %s (whole seconds)", issued.IssuedAt, t0)
	}
	got, err := iss.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "alice" || got.AccessKeyID != "AKIAEXAMPLE" || got.Audience != testAudience || got.ID != issued.ID ||
		!got.IssuedAt.Equal(issued.IssuedAt) || !got.ExpiresAt.Equal(issued.ExpiresAt) ||
		len(got.Scope) != 1 || got.Scope[0].String() != "repository:team/app:pull,push" {
		t.Errorf("Verify = %+v, want %+v", got, issued)
	}

	// The access claim has the Docker token spec's shape.
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if !strings.Contains(string(payload), `"access":[{"type":"repository","name":"team/app","actions":["pull","push"]}]`) {
		t.Errorf("payload %s lacks the Docker access claim", payload)
	}

	_, second := issue(t, iss, 0, nil)
	if second.ID == issued.ID {
		t.Error("two tokens share a jti")
	}
}

func TestIssueRejects(t *testing.T) {
	iss := newIssuer(t, newKeySet(t), clocktest.New(t0))
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		subject string
		ttl     time.Duration
	}{
		{"empty subject", "", time.Hour},
		{"negative ttl", "alice", -time.Second},
		{"ttl above max", "alice", MaxTTL + time.Second},
	} {
		if _, _, err := iss.Issue(ctx, tc.subject, "", tc.ttl, nil); err == nil {
			t.Errorf("%s: Issue succeeded", tc.name)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := iss.Issue(cancelled, "alice", "", 0, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Issue with cancelled ctx = %v", err)
	}
	if _, err := New(nil, testAudience); err == nil {
		t.Error("New(nil KeySet) succeeded")
	}
	if _, err := New(newKeySet(t), ""); err == nil {
		t.Error("New with empty audience succeeded")
	}
}

func TestVerifyTimes(t *testing.T) {
	c := clocktest.New(t0)
	iss := newIssuer(t, newKeySet(t), c)
	tok, _ := issue(t, iss, time.Hour, nil)
	ctx := context.Background()
	claims, err := iss.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		at   time.Time
		want error // nil, ErrExpired or ErrInvalid
	}{
		{"at issue", t0, nil},
		{"just before expiry", t0.Add(time.Hour - time.Second), nil},
		{"expired within leeway", t0.Add(time.Hour + DefaultLeeway - time.Second), nil},
		{"expired past leeway", t0.Add(time.Hour + DefaultLeeway), ErrExpired},
		{"long expired", t0.Add(48 * time.Hour), ErrExpired},
		{"issued slightly in the future (skew)", t0.Add(-DefaultLeeway), nil},
		{"not yet valid", t0.Add(-DefaultLeeway - time.Second), ErrInvalid},
	} {
		c.Set(tc.at)
		_, err := iss.Verify(ctx, tok)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
		if errors.Is(err, ErrExpired) && errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error matches both ErrExpired and ErrInvalid", tc.name)
		}
		// Expired says of cached claims what Verify says of the token.
		if got := iss.Expired(claims); got != errors.Is(err, ErrExpired) {
			t.Errorf("%s: Expired = %v; Verify said %v", tc.name, got, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	c := clocktest.New(t0)
	ks := newKeySet(t)
	iss := newIssuer(t, ks, c)
	tok, _ := issue(t, iss, time.Hour, nil)
	parts := strings.Split(tok, ".")
	active := ks.active()

	other := newKeySet(t)
	otherIss := newIssuer(t, other, c)
	otherTok, _ := issue(t, otherIss, time.Hour, nil)

	pubDER, err := x509.MarshalPKIXPublicKey(&active.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	wire := validWire(t0)

	tamperedPayload := func() string {
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		p2 := strings.Replace(string(p), `"sub":"alice"`, `"sub":"admin"`, 1)
		if p2 == string(p) {
			t.Fatal("payload has no sub to tamper with")
		}
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(p2)) + "." + parts[2]
	}()
	tamperedSig := func() string {
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		sig[10] ^= 1
		return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	}()
	noExp := wire
	noExp.ExpiresAt = nil
	expiredOtherAud := wire
	expiredOtherAud.Audience = jwt.ClaimStrings{"elsewhere"}
	expiredOtherAud.ExpiresAt = jwt.NewNumericDate(t0.Add(-time.Hour))

	wrongAud, err := New(ks, "other.example.test", WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	wrongAudTok, _ := issue(t, wrongAud, time.Hour, nil)

	for name, s := range map[string]string{
		"empty":                      "",
		"garbage":                    "not-a-token",
		"two segments":               parts[0] + "." + parts[1],
		"oversized":                  strings.Repeat("a", maxTokenLen+1),
		"newline in signature":       tok[:len(tok)-4] + "\n" + tok[len(tok)-4:],
		"trailing colon":             tok + ":",
		"wrong audience":             wrongAudTok,
		"tampered payload":           tamperedPayload,
		"tampered signature":         tamperedSig,
		"unknown kid":                sign(t, jwt.SigningMethodES256, active.priv, "no-such-kid", wire),
		"no kid":                     sign(t, jwt.SigningMethodES256, active.priv, "", wire),
		"alg none":                   sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, active.id, wire),
		"HS256 with public key DER":  sign(t, jwt.SigningMethodHS256, pubDER, active.id, wire),
		"HS384 with public key DER":  sign(t, jwt.SigningMethodHS384, pubDER, active.id, wire),
		"other KeySet":               otherTok,
		"other KeySet, our kid":      sign(t, jwt.SigningMethodES256, other.active().priv, active.id, wire),
		"missing exp":                sign(t, jwt.SigningMethodES256, active.priv, active.id, noExp),
		"expired and wrong audience": sign(t, jwt.SigningMethodES256, active.priv, active.id, expiredOtherAud),
	} {
		_, err := iss.Verify(context.Background(), s)
		if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrExpired) {
			t.Errorf("%s: Verify = %v, want ErrInvalid only", name, err)
		}
		if err != nil && s != "" && len(s) > 20 && strings.Contains(err.Error(), s[len(s)-20:]) {
			t.Errorf("%s: error quotes the token", name)
		}
	}
	// The hand-signed valid claims do verify: the cases above fail for
	// their one defect, not for the helper.
	if _, err := iss.Verify(context.Background(), sign(t, jwt.SigningMethodES256, active.priv, active.id, wire)); err != nil {
		t.Errorf("hand-signed valid token: %v", err)
	}
}

var tokenCharset = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func TestTokenCharsetAndECRForm(t *testing.T) {
	iss := newIssuer(t, newKeySet(t), clocktest.New(t0))
	for _, subject := range []string{"alice", "arn:aws:iam::123456789012:user/a:b", "ü:\x00\"{}"} {
		for range 20 {
			tok, _, err := iss.Issue(context.Background(), subject, "AKIA:X", time.Hour,
				[]Access{{Type: "repository", Name: "a:b/c", Actions: []string{"pull:push"}}})
			if err != nil {
				t.Fatal(err)
			}
			if !tokenCharset.MatchString(tok) {
				t.Fatalf("token %q has a character outside [A-Za-z0-9_.-]", tok)
			}
			// What `aws ecr get-login-password` does: decode, split on ':'
			// into exactly two values.
			ecr := ECRAuthorizationToken(tok)
			raw, err := base64.StdEncoding.DecodeString(ecr)
			if err != nil {
				t.Fatal(err)
			}
			if f := strings.Split(string(raw), ":"); len(f) != 2 || f[0] != "AWS" || f[1] != tok {
				t.Fatalf("get-login-password split = %d fields", len(f))
			}
			// What docker and curl send back.
			user, pass, ok := ParseBasic("Basic " + ecr)
			if !ok || user != "AWS" || pass != tok {
				t.Fatalf("ParseBasic(ECR token) = %q, ok=%v", user, ok)
			}
			if _, err := iss.Verify(context.Background(), pass); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestConcurrentIssueVerifyRotate(t *testing.T) {
	ks := newKeySet(t)
	iss := newIssuer(t, ks, clocktest.New(time.Now()))
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				tok, _, err := iss.Issue(ctx, "alice", "", time.Hour, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := iss.Verify(ctx, tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 10 {
			if _, err := ks.Rotate(); err != nil {
				t.Error(err)
			}
			if _, err := ks.Prune(time.Hour); err != nil {
				t.Error(err)
			}
			_ = ks.IDs()
		}
	})
	wg.Wait()
	if n := len(ks.IDs()); n != 11 {
		t.Errorf("%d keys after 10 rotations and no due prune, want 11", n)
	}
}
