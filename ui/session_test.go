package ui_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/ui"
)

// A person signs in with an access key into a session whose cookie is
// HttpOnly and SameSite=Strict, sees the pages, signs out, and the
// cookie opens nothing any more.
func TestSignInAndOut(t *testing.T) {
	f := newFixture(t, options{})
	admin := f.user("admin", "full-access")
	b := f.browser()

	p := b.get("/ui/repositories?q=x")
	if p.Status != http.StatusSeeOther || p.Location != "/ui/signin?next=%2Fui%2Frepositories%3Fq%3Dx" {
		t.Fatalf("a page before signing in = %d %q; want a redirect to sign in and back", p.Status, p.Location)
	}
	p = b.expect(http.StatusOK, "/ui/signin?next=%2Fui%2Frepositories%3Fq%3Dx")
	contains(t, "the sign-in page", p.Body, `name="access_key_id"`, `name="secret_access_key"`, `name="password"`,
		`<label for="access_key_id">`, `value="/ui/repositories?q=x"`)
	if c := setCookie(p, "berth_csrf"); c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ui/" {
		t.Errorf("CSRF cookie = %+v; want HttpOnly, SameSite=Strict, Path /ui/", c)
	}

	p = b.post("/ui/signin", url.Values{"access_key_id": {admin.ID}, "secret_access_key": {"wrong"}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "not valid") || strings.Contains(p.Body, "wrong") {
		t.Errorf("a wrong secret = %d; want 401 saying so without echoing the secret\n%s", p.Status, p.Body)
	}
	contains(t, "the refused sign-in", p.Body, `value="`+admin.ID+`"`)

	p = b.post("/ui/signin", url.Values{"access_key_id": {admin.ID}, "secret_access_key": {admin.Secret}, "next": {"/ui/repositories?q=x"}})
	if p.Status != http.StatusSeeOther || p.Location != "/ui/repositories?q=x" {
		t.Fatalf("signing in = %d %q; want a redirect to the page asked for", p.Status, p.Location)
	}
	c := setCookie(p, "berth_session")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/ui/" || c.Secure || c.MaxAge < 11*3600 || c.MaxAge > 12*3600 {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Strict, Path /ui/, not Secure over HTTP, 12 hours", c)
	}
	// The index holds the cookie's hash, not the cookie.
	if _, err := f.store.Session(context.Background(), c.Value, time.Now()); !errors.Is(err, metadata.ErrSessionUnknown) {
		t.Errorf("the cookie's value is a session ID in the index: %v", err)
	}
	p = b.expect(http.StatusOK, "/ui/repositories?q=x")
	contains(t, "a signed-in page", p.Body, "Signed in as <strong>admin</strong>", `action="/ui/signout"`)
	if p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", p.Header.Get("Cache-Control"))
	}

	// Any other replica (the same index) serves the session.
	other := anotherReplica(t, f)
	req, _ := http.NewRequest("GET", other.URL+"/ui/", nil)
	req.AddCookie(&http.Cookie{Name: "berth_session", Value: c.Value})
	if resp, err := other.Client().Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the session on another replica: %v, %v; want 200", resp, err)
	}

	p = b.post("/ui/signout", nil)
	if p.Status != http.StatusSeeOther || p.Location != "/ui/signin?why=signed-out" {
		t.Fatalf("signing out = %d %q", p.Status, p.Location)
	}
	if gone := setCookie(p, "berth_session"); gone == nil || gone.MaxAge >= 0 {
		t.Errorf("signing out left the cookie: %+v", gone)
	}
	contains(t, "the page after signing out", b.get("/ui/signin?why=signed-out").Body, "You are signed out.")
	// The old cookie, replayed, opens nothing.
	replay := f.browser()
	replay.c.Jar.SetCookies(mustURL(f.srv.URL+"/ui/"), []*http.Cookie{{Name: "berth_session", Value: c.Value}})
	if p := replay.get("/ui/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/ui/signin") {
		t.Errorf("the signed-out cookie = %d %q; want a redirect to sign in", p.Status, p.Location)
	}
}

// anotherReplica serves another UI over the same index.
func anotherReplica(t *testing.T, f *fixture) *httptest.Server {
	u, err := ui.New(f.store, ui.Config{Access: f.auth, Previews: f.previews, Blobs: f.reg, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	return srv
}

func setCookie(p page, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// A registry password from aws ecr get-login-password signs in too, for
// no longer than the password lasts.
func TestSignInWithRegistryPassword(t *testing.T) {
	f := newFixture(t, options{})
	admin := f.user("admin", "full-access")
	ctx := auth.WithPrincipal(context.Background(), mustPrincipal(t, f, admin.ID))
	encoded, expires, err := f.auth.AuthorizationToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(encoded)
	password := strings.TrimPrefix(string(raw), "AWS:")

	b := f.browser()
	b.expect(http.StatusOK, "/ui/signin")
	p := b.post("/ui/signin", url.Values{"password": {password}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("signing in with a password = %d\n%s", p.Status, p.Body)
	}
	c := setCookie(p, "berth_session")
	if c == nil || time.Duration(c.MaxAge)*time.Second > time.Until(expires)+time.Minute {
		t.Errorf("session cookie %+v outlives the password (%v)", c, expires)
	}
	contains(t, "the overview", b.expect(http.StatusOK, "/ui/").Body, "Signed in as <strong>admin</strong>")

	b = f.browser()
	b.expect(http.StatusOK, "/ui/signin")
	if p := b.post("/ui/signin", url.Values{"password": {password + "x"}}); p.Status != http.StatusUnauthorized {
		t.Errorf("a damaged password = %d; want 401", p.Status)
	}
}

func mustPrincipal(t *testing.T, f *fixture, keyID string) *auth.Principal {
	t.Helper()
	k, err := f.store.AccessKey(context.Background(), keyID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.auth.Resume(context.Background(), "127.0.0.1", k.User, keyID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A session ends when it expires, and at once when its key is revoked.
func TestSessionEnds(t *testing.T) {
	f := newFixture(t, options{})
	admin := f.user("admin", "full-access")
	b := f.signedIn(admin)
	f.offset.Store(int64(12*time.Hour + time.Minute))
	p := b.get("/ui/repositories")
	if p.Status != http.StatusSeeOther || p.Location != "/ui/signin?next=%2Fui%2Frepositories&why=expired" {
		t.Errorf("after 12 hours = %d %q; want a redirect to sign in again", p.Status, p.Location)
	}
	contains(t, "the sign-in page", b.get(p.Location).Body, "Your session has ended.")
	f.offset.Store(0)

	b = f.signedIn(admin)
	if err := f.store.SetAccessKeyStatus(context.Background(), admin.ID, metadata.AccessKeyInactive); err != nil {
		t.Fatal(err)
	}
	p = b.get("/ui/")
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "why=revoked") {
		t.Errorf("after the key was deactivated = %d %q; want a redirect to sign in", p.Status, p.Location)
	}
	if p := b.get("/ui/"); p.Status != http.StatusSeeOther || strings.Contains(p.Location, "revoked") {
		t.Errorf("the revoked session again = %d %q; want it gone", p.Status, p.Location)
	}
	// A post without a session goes to sign in, changing nothing.
	if p := b.post("/ui/repositories", url.Values{"name": {"made-anyway"}, "mutability": {"MUTABLE"}}); p.Status != http.StatusSeeOther {
		t.Errorf("a post without a session = %d", p.Status)
	}
	if _, err := f.store.Repository(context.Background(), "made-anyway"); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("a post without a session created the repository: %v", err)
	}
}

// Guessing at the sign-in form is slowed as guessing at the registry is.
func TestSignInThrottled(t *testing.T) {
	f := newFixture(t, options{burst: 2})
	admin := f.user("admin", "full-access")
	b := f.browser()
	b.expect(http.StatusOK, "/ui/signin")
	for range 2 {
		if p := b.post("/ui/signin", url.Values{"access_key_id": {admin.ID}, "secret_access_key": {"guess"}}); p.Status != http.StatusUnauthorized {
			t.Fatalf("a guess = %d", p.Status)
		}
	}
	p := b.post("/ui/signin", url.Values{"access_key_id": {admin.ID}, "secret_access_key": {admin.Secret}})
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many failed sign-ins") {
		t.Errorf("the right secret after two guesses = %d, Retry-After %q\n%s", p.Status, p.Header.Get("Retry-After"), p.Body)
	}
	if setCookie(p, "berth_session") != nil {
		t.Error("a throttled sign-in set a session cookie")
	}
}

// Under TLS the cookies are Secure, and behind a proxy that terminates
// TLS when configured so.
func TestCookiesSecure(t *testing.T) {
	for name, opts := range map[string]options{"TLS": {tls: true}, "a TLS proxy": {secureCookies: true}} {
		f := newFixture(t, opts)
		admin := f.user("admin", "full-access")
		b := f.browser()
		if c := setCookie(b.expect(http.StatusOK, "/ui/signin"), "berth_csrf"); c == nil || !c.Secure {
			t.Errorf("%s: CSRF cookie = %+v; want Secure", name, c)
		}
		p := b.post("/ui/signin", url.Values{"access_key_id": {admin.ID}, "secret_access_key": {admin.Secret}})
		if c := setCookie(p, "berth_session"); c == nil || !c.Secure {
			t.Errorf("%s: session cookie = %+v; want Secure", name, c)
		}
	}
}

// Sign-in after-pages are berth's own: an address elsewhere becomes the
// overview.
func TestSignInStaysOnBerth(t *testing.T) {
	f := newFixture(t, options{})
	admin := f.user("admin", "full-access")
	for _, next := range []string{"https://evil.example/", "//evil.example/ui/", "/ui/\\evil", "javascript:alert(1)", ""} {
		b := f.browser()
		b.expect(http.StatusOK, "/ui/signin?next="+url.QueryEscape(next))
		p := b.post("/ui/signin", url.Values{"access_key_id": {admin.ID}, "secret_access_key": {admin.Secret}, "next": {next}})
		if p.Status != http.StatusSeeOther || p.Location != "/ui/" {
			t.Errorf("next %q: signed in to %d %q; want /ui/", next, p.Status, p.Location)
		}
	}
}

// Every form post needs the token of the page it came from: none, a
// wrong one or another browser's is refused and changes nothing, and a
// browser that says the form came from another site is refused first.
func TestCSRF(t *testing.T) {
	f := newFixture(t, options{})
	admin := f.user("admin", "full-access")
	f.repository("team/app")
	d := f.image("team/app", debianSteps, "v1")
	b := f.signedIn(admin)
	other := f.signedIn(admin)
	posts := []struct {
		path string
		form url.Values
	}{
		{"/ui/repositories", url.Values{"name": {"team/new"}, "mutability": {"MUTABLE"}}},
		{"/ui/repositories/team/app/-/delete-images", url.Values{"digest": {d.String()}, "confirm": {"yes"}}},
		{"/ui/repositories/team/app/-/settings/mutability", url.Values{"mutability": {"IMMUTABLE"}}},
		{"/ui/repositories/team/app/-/settings/scanning", url.Values{"scan_on_push": {"on"}}},
		{"/ui/repositories/team/app/-/policy", url.Values{"policy": {publicPull}}},
		{"/ui/repositories/team/app/-/policy/delete", url.Values{}},
		{"/ui/repositories/team/app/-/lifecycle", url.Values{"policy": {expireUntagged}}},
		{"/ui/repositories/team/app/-/lifecycle/delete", url.Values{}},
		{"/ui/repositories/team/app/-/lifecycle/preview", url.Values{"policy": {expireUntagged}}},
		{"/ui/repositories/team/app/-/delete", url.Values{"force": {"on"}}},
		{"/ui/signout", url.Values{}},
	}
	for _, tt := range posts {
		for name, token := range map[string][]string{"no token": nil, "a wrong token": {"x" + b.csrf}, "another session's token": {other.csrf}} {
			form := url.Values{}
			for k, v := range tt.form {
				form[k] = v
			}
			if token != nil {
				form["csrf"] = token
			}
			p := b.do(http.MethodPost, tt.path, form)
			if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Form refused") {
				t.Errorf("POST %s with %s = %d; want 403\n%s", tt.path, name, p.Status, p.Body)
			}
		}
		b.header.Set("Sec-Fetch-Site", "cross-site")
		if p := b.post(tt.path, tt.form); p.Status != http.StatusForbidden {
			t.Errorf("POST %s from another site = %d; want 403", tt.path, p.Status)
		}
		b.header.Del("Sec-Fetch-Site")
	}
	r, err := f.store.Repository(context.Background(), "team/app")
	if err != nil || r.TagMutability != "" || r.ScanOnPush || r.LifecyclePolicy != "" {
		t.Errorf("refused posts changed the repository: %+v, %v", r, err)
	}
	if _, err := f.store.Image(context.Background(), "team/app", d); err != nil {
		t.Errorf("refused posts deleted the image: %v", err)
	}
	if _, err := f.store.Repository(context.Background(), "team/new"); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("a refused post created a repository: %v", err)
	}
	contains(t, "the session after refused sign-outs", b.expect(http.StatusOK, "/ui/").Body, "Signed in as")

	// The sign-in form needs its token too.
	s := f.browser()
	if p := s.do(http.MethodPost, "/ui/signin", url.Values{"access_key_id": {admin.ID}, "secret_access_key": {admin.Secret}}); p.Status != http.StatusForbidden {
		t.Errorf("signing in without the form's token = %d; want 403", p.Status)
	}
}

// With auth mode none there is no sign-in; forms still carry tokens.
func TestOpenMode(t *testing.T) {
	f := newFixture(t, options{open: true})
	f.repository("team/app")
	b := f.browser()
	p := b.expect(http.StatusOK, "/ui/")
	contains(t, "the open overview", p.Body, "Authentication is off")
	lacks(t, "the open overview", p.Body, "Sign out")
	if p := b.get("/ui/signin"); p.Status != http.StatusSeeOther || p.Location != "/ui/" {
		t.Errorf("the sign-in page with auth none = %d %q; want the overview", p.Status, p.Location)
	}
	b.expect(http.StatusOK, "/ui/repositories")
	if p := b.do(http.MethodPost, "/ui/repositories", url.Values{"name": {"team/other"}, "mutability": {"MUTABLE"}}); p.Status != http.StatusForbidden {
		t.Errorf("a post without a token = %d; want 403", p.Status)
	}
	if p := b.post("/ui/repositories", url.Values{"name": {"team/other"}, "mutability": {"MUTABLE"}}); p.Status != http.StatusSeeOther {
		t.Errorf("a post with the token = %d; want 303\n%s", p.Status, p.Body)
	}
	if _, err := f.store.Repository(context.Background(), "team/other"); err != nil {
		t.Errorf("the repository was not created: %v", err)
	}
}
