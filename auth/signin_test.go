package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/metadata"
)

// A person signs in to the web UI with a key and its secret or with a
// registry password; everything else is refused alike, counted against
// the address, and kept out of the log.
func TestSignIn(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.FailureBurst = 100 })
	ctx := t.Context()
	admin := f.user("admin", "full-access")
	other := f.user("other", "read-only")

	p, until, err := f.auth.SignIn(ctx, "192.0.2.1", admin.ID, admin.Secret)
	if err != nil || p.User != "admin" || p.AccessKeyID != admin.ID || !until.IsZero() {
		t.Fatalf("SignIn with a key = %+v, %v, %v; want admin with no expiry", p, until, err)
	}
	if ok, err := f.auth.Allowed(ctx, p, "ecr:DeleteRepository", "arn:aws:ecr:"+region+":"+account+":repository/team/app"); !ok || err != nil {
		t.Errorf("the signed-in administrator may not delete: %v, %v", ok, err)
	}
	pw := f.token(admin)
	p, until, err = f.auth.SignIn(ctx, "192.0.2.1", "AWS", pw)
	if err != nil || p.User != "admin" || p.AccessKeyID != admin.ID || time.Until(until) < 11*time.Hour || time.Until(until) > 13*time.Hour {
		t.Fatalf("SignIn with a password = %+v, %v, %v; want admin until about 12h from now", p, until, err)
	}

	past := time.Now().Add(-13 * time.Hour)
	oldIssuer, _ := token.New(f.keys, "berth-test", token.WithClock(func() time.Time { return past }))
	expired, _, err := oldIssuer.Issue(ctx, "admin", admin.ID, 12*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.auth.SignIn(ctx, "192.0.2.1", "AWS", expired); !errors.Is(err, token.ErrExpired) {
		t.Errorf("SignIn with an expired password: %v; want token.ErrExpired", err)
	}
	issuer, _ := token.New(f.keys, "berth-test")
	scoped, _, _ := issuer.Issue(ctx, "admin", admin.ID, 0, []token.Access{{Type: "repository", Name: "team/app", Actions: []string{"pull"}}})
	anonymous, _, _ := issuer.Issue(ctx, "anonymous", "", 0, []token.Access{})
	for name, creds := range map[string][2]string{
		"wrong secret":           {admin.ID, other.Secret},
		"another key's secret":   {other.ID, admin.Secret},
		"unknown key":            {"AKIAAAAAAAAAAAAAAAAA", admin.Secret},
		"not a key":              {"admin", admin.Secret},
		"garbage password":       {"AWS", "not-a-token"},
		"scoped token":           {"AWS", scoped},
		"anonymous token":        {"AWS", anonymous},
		"password as key":        {admin.ID, pw},
		"empty":                  {"", ""},
		"password, wrong user":   {"aws", pw},
		"secret with extra byte": {admin.ID, admin.Secret + "x"},
	} {
		if p, _, err := f.auth.SignIn(ctx, "192.0.2.1", creds[0], creds[1]); !errors.Is(err, auth.ErrSignIn) {
			t.Errorf("SignIn with %s = %+v, %v; want ErrSignIn", name, p, err)
		}
	}
	for _, s := range []string{admin.Secret, other.Secret, pw, scoped} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("the log holds a secret or token: %s", f.logs)
		}
	}

	// Once the key is inactive, neither a new sign-in nor a session's
	// next request gets through.
	if p, err := f.auth.Resume(ctx, "192.0.2.1", "admin", admin.ID); err != nil || p.User != "admin" {
		t.Errorf("Resume = %+v, %v", p, err)
	}
	if _, err := f.auth.Resume(ctx, "192.0.2.1", "other", admin.ID); !errors.Is(err, auth.ErrSignIn) {
		t.Errorf("Resume as another user: %v; want ErrSignIn", err)
	}
	if err := f.store.SetAccessKeyStatus(ctx, admin.ID, metadata.AccessKeyInactive); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Resume(ctx, "192.0.2.1", "admin", admin.ID); !errors.Is(err, auth.ErrSignIn) {
		t.Errorf("Resume with an inactive key: %v; want ErrSignIn", err)
	}
	if _, _, err := f.auth.SignIn(ctx, "192.0.2.1", admin.ID, admin.Secret); !errors.Is(err, auth.ErrSignIn) {
		t.Errorf("SignIn with an inactive key: %v; want ErrSignIn", err)
	}
	if err := f.store.DeleteUser(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth.Resume(ctx, "192.0.2.1", "other", other.ID); !errors.Is(err, auth.ErrSignIn) {
		t.Errorf("Resume of a deleted user: %v; want ErrSignIn", err)
	}
}

// Guessing at the sign-in form is slowed like guessing at the registry.
func TestSignInFailuresAreSlowed(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.FailureBurst = 3 })
	admin := f.user("admin", "full-access")
	for range 3 {
		if _, _, err := f.auth.SignIn(t.Context(), "192.0.2.7", admin.ID, "wrong"); !errors.Is(err, auth.ErrSignIn) {
			t.Fatalf("a wrong secret: %v", err)
		}
	}
	_, _, err := f.auth.SignIn(t.Context(), "192.0.2.7", admin.ID, admin.Secret)
	var later *auth.RetryLaterError
	if !errors.As(err, &later) || later.Wait <= 0 || later.Wait > time.Minute {
		t.Errorf("the right secret after 3 failures: %v; want a RetryLaterError within the minute", err)
	}
	if _, _, err := f.auth.SignIn(t.Context(), "192.0.2.8", admin.ID, admin.Secret); err != nil {
		t.Errorf("another address: %v", err)
	}
}
