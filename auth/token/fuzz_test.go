package token

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berth-dev/berth/internal/clocktest"
)

// FuzzVerify checks that Verify never panics, never accepts a string it
// was not given as a valid token, and reports ErrExpired only for the one
// authentic expired token in the corpus.
func FuzzVerify(f *testing.F) {
	ks := newKeySet(f)
	c := clocktest.New(t0)
	iss := newIssuer(f, ks, c)
	expired, _ := issue(f, iss, time.Hour, []Access{{Type: "repository", Name: "team/app", Actions: []string{"pull"}}})
	otherAud, err := New(ks, "other", WithClock(c.Now))
	if err != nil {
		f.Fatal(err)
	}
	wrongAud, _ := issue(f, otherAud, time.Hour, nil)
	foreign, _ := issue(f, newIssuer(f, newKeySet(f), c), time.Hour, nil)
	none := sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ks.active().id, validWire(t0))
	c.Set(t0.Add(2 * time.Hour)) // every corpus token is now expired or invalid

	for _, s := range []string{expired, wrongAud, foreign, none, "", ".", "..", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..",
		strings.Replace(expired, ".", "..", 1), expired + "=", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"x"}`)) + ".e30.AA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		claims, err := iss.Verify(context.Background(), s)
		if err == nil {
			t.Fatalf("Verify accepted %q: %+v", s, claims)
		}
		expiredErr, invalidErr := errors.Is(err, ErrExpired), errors.Is(err, ErrInvalid)
		if expiredErr == invalidErr {
			t.Fatalf("Verify(%q) = %v, want exactly one of ErrExpired, ErrInvalid", s, err)
		}
		if expiredErr && s != expired {
			t.Fatalf("Verify(%q) = ErrExpired for a string that is not the authentic expired token", s)
		}
	})
}

// FuzzParseBasic checks that ParseBasic never panics and that what it
// accepts round-trips.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{"Basic " + ECRAuthorizationToken("eyJh.eyJi.c2ln"), "Basic QVdT", "basic   QVdTOnRvaw", "Bearer x", "Basic", "", "Basic ====", "Basic \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		user, pass, ok := ParseBasic(header)
		if !ok {
			if user != "" || pass != "" {
				t.Fatalf("ParseBasic(%q) = %q, %q with ok=false", header, user, pass)
			}
			return
		}
		if strings.Contains(user, ":") {
			t.Fatalf("user %q contains ':'", user)
		}
		u2, p2, ok2 := ParseBasic("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		if !ok2 || u2 != user || p2 != pass {
			t.Fatalf("round trip of %q: %q, %q, %v", header, u2, p2, ok2)
		}
	})
}
