package ui

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/metadata"
)

// Cookies. The session cookie holds a random secret whose SHA-256 is the
// session's ID in the index, so the index alone opens no session. The
// CSRF cookie holds the secret that forms' tokens are derived from before
// sign-in (the sign-in form) and when there is no sign-in (auth mode
// none). Both are HttpOnly and SameSite=Strict, and Secure under TLS.
const (
	sessionCookie = "berth_session"
	csrfCookie    = "berth_csrf"
	// csrfField is the name of every form's token field.
	csrfField = "csrf"
	// maxFormBytes bounds a form post: a lifecycle policy is at most
	// 30,720 characters, a repository policy 10,240.
	maxFormBytes = 256 << 10
)

// request is a request to a page, with who is asking.
type request struct {
	*http.Request
	// principal is the signed-in person, or the open registry's
	// anonymous caller in auth mode none.
	principal *auth.Principal
	// session is the person's session; nil in auth mode none.
	session *metadata.Session
	// csrf is the token this request's forms carry.
	csrf string
	ui   *UI
}

// page wraps a handler of a signed-in page: without a live session it
// sends the browser to sign in; a form post must carry the session's
// CSRF token. Errors the handler returns are rendered as pages.
func (u *UI) page(h func(http.ResponseWriter, *request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		rq, err := u.authenticate(w, r)
		if err != nil {
			u.renderError(w, &request{Request: r, ui: u}, err)
			return
		}
		if rq == nil { // sent to sign in
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				u.renderError(w, rq, badRequest("The form could not be read: %v", err))
				return
			}
			if !hmac.Equal([]byte(r.PostForm.Get(csrfField)), []byte(rq.csrf)) {
				u.renderError(w, rq, errCSRF)
				return
			}
		}
		if err := h(w, rq); err != nil {
			u.renderError(w, rq, err)
		}
	})
}

// authenticate returns the request with its principal, or nil after
// redirecting the browser to sign in.
func (u *UI) authenticate(w http.ResponseWriter, r *http.Request) (*request, error) {
	rq := &request{Request: r, ui: u}
	if u.cfg.Access.Open() {
		rq.principal = &auth.Principal{SourceIP: auth.SourceIP(r)}
		rq.csrf = u.csrfToken(w, r)
		return rq, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		u.toSignIn(w, r, "")
		return nil, nil
	}
	s, err := u.store.Session(r.Context(), sessionID(c.Value), u.now())
	if errors.Is(err, metadata.ErrSessionUnknown) {
		u.toSignIn(w, r, "expired")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := u.cfg.Access.Resume(r.Context(), auth.SourceIP(r), s.User, s.AccessKeyID)
	if errors.Is(err, auth.ErrSignIn) {
		if err := u.store.DeleteSession(r.Context(), s.ID); err != nil {
			u.log.WarnContext(r.Context(), "ui: deleting a revoked session", "user", s.User, "err", err)
		}
		u.toSignIn(w, r, "revoked")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rq.principal, rq.session, rq.csrf = p, &s, csrfFrom(c.Value)
	return rq, nil
}

// toSignIn redirects to the sign-in page, which comes back to the page
// asked for (after a form post, to the overview: the form is gone).
func (u *UI) toSignIn(w http.ResponseWriter, r *http.Request, why string) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		next = Prefix
	}
	q := url.Values{"next": {next}}
	if why != "" {
		q.Set("why", why)
	}
	http.Redirect(w, r, "/ui/signin?"+q.Encode(), http.StatusSeeOther)
}

// signInPage shows the sign-in form (in auth mode none, the overview).
func (u *UI) signInPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if u.cfg.Access.Open() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	notice := map[string]string{
		"expired":    "Your session has ended. Sign in again.",
		"revoked":    "Your access key is no longer active. Sign in with another.",
		"signed-out": "You are signed out.",
	}[r.URL.Query().Get("why")]
	u.renderSignIn(w, r, http.StatusOK, signInForm{Next: safeNext(r.URL.Query().Get("next")), Notice: notice})
}

// signInForm is the sign-in page's data.
type signInForm struct {
	Next, AccessKeyID string
	Notice, Error     string
}

func (u *UI) renderSignIn(w http.ResponseWriter, r *http.Request, status int, f signInForm) {
	rq := &request{Request: r, ui: u, csrf: u.csrfToken(w, r)}
	u.render(w, rq, status, "signin", "Sign in", f)
}

// signIn checks the credentials typed, records a session and sets its
// cookie.
func (u *UI) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if u.cfg.Access.Open() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	rq := &request{Request: r, ui: u}
	if err := r.ParseForm(); err != nil {
		u.renderError(w, rq, badRequest("The form could not be read: %v", err))
		return
	}
	if c, err := r.Cookie(csrfCookie); err != nil || !hmac.Equal([]byte(r.PostForm.Get(csrfField)), []byte(csrfFrom(c.Value))) {
		u.renderError(w, rq, errCSRF)
		return
	}
	f := signInForm{Next: safeNext(r.PostForm.Get("next")), AccessKeyID: strings.TrimSpace(r.PostForm.Get("access_key_id"))}
	user, password := f.AccessKeyID, r.PostForm.Get("secret_access_key")
	if tok := strings.TrimSpace(r.PostForm.Get("password")); tok != "" {
		user, password = "AWS", tok
	}
	p, until, err := u.cfg.Access.SignIn(r.Context(), auth.SourceIP(r), user, password)
	var later *auth.RetryLaterError
	switch {
	case errors.Is(err, auth.ErrSignIn):
		f.Error = "The access key ID, secret access key or password is not valid."
		u.renderSignIn(w, r, http.StatusUnauthorized, f)
		return
	case errors.Is(err, token.ErrExpired):
		f.Error = "That password has expired. Run aws ecr get-login-password again."
		u.renderSignIn(w, r, http.StatusUnauthorized, f)
		return
	case errors.As(err, &later):
		wait := strconv.Itoa(int(math.Ceil(later.Wait.Seconds())))
		w.Header().Set("Retry-After", wait)
		f.Error = "Too many failed sign-ins from your address. Wait " + wait + " seconds and try again."
		u.renderSignIn(w, r, http.StatusTooManyRequests, f)
		return
	case err != nil:
		u.renderError(w, rq, err)
		return
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	value := base64.RawURLEncoding.EncodeToString(secret)
	now := u.now()
	expires := now.Add(u.cfg.SessionTTL)
	if !until.IsZero() && until.Before(expires) {
		expires = until
	}
	s := metadata.Session{ID: sessionID(value), User: p.User, AccessKeyID: p.AccessKeyID, CreatedAt: now, ExpiresAt: expires}
	if err := u.store.CreateSession(r.Context(), s); err != nil {
		u.renderError(w, rq, err)
		return
	}
	u.log.InfoContext(r.Context(), "ui: signed in", "user", p.User, "access_key_id", p.AccessKeyID, "client", auth.SourceIP(r))
	u.setCookie(w, r, sessionCookie, value, expires.Sub(now))
	http.Redirect(w, r, f.Next, http.StatusSeeOther)
}

// signOut ends the session.
func (u *UI) signOut(w http.ResponseWriter, rq *request) error {
	if rq.session != nil {
		if err := u.store.DeleteSession(rq.Context(), rq.session.ID); err != nil {
			return err
		}
		u.log.InfoContext(rq.Context(), "ui: signed out", "user", rq.session.User)
	}
	u.setCookie(w, rq.Request, sessionCookie, "", -1)
	http.Redirect(w, rq.Request, "/ui/signin?why=signed-out", http.StatusSeeOther)
	return nil
}

// safeNext is where to go after signing in: a page of the UI, never
// another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

// sessionID is the ID of the session whose cookie holds value.
func sessionID(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// csrfFrom derives the forms' token from a cookie's secret, so that only
// a page read with the cookie can carry it.
func csrfFrom(value string) string {
	m := hmac.New(sha256.New, []byte(value))
	m.Write([]byte("berth ui form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken returns the token for forms shown without a session, setting
// the CSRF cookie it comes from when the browser has none.
func (u *UI) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return csrfFrom(c.Value)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	value := base64.RawURLEncoding.EncodeToString(secret)
	u.setCookie(w, r, csrfCookie, value, 0)
	return csrfFrom(value)
}

// setCookie sets (or, with a negative maxAge, clears) a cookie of the
// UI; a zero maxAge lasts as long as the browser.
func (u *UI) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name: name, Value: value, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || u.cfg.SecureCookies,
	}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
	case maxAge > 0:
		c.MaxAge = int(maxAge.Seconds())
		c.Expires = u.now().Add(maxAge)
	}
	http.SetCookie(w, c)
}

// may reports whether the person may perform an ECR action on repository
// repo ("" for registry-wide actions).
func (rq *request) may(action, repo string) bool {
	return rq.allowed(action, rq.ui.resource(repo))
}

// allowed reports whether the person may perform action on the resource
// resourceARN names ("" or "*" for none in particular), as the API that
// owns the action decides it; a failure to decide is a no, logged.
func (rq *request) allowed(action, resourceARN string) bool {
	ok, err := rq.ui.cfg.Access.Allowed(rq.Context(), rq.principal, action, resourceARN)
	if err != nil {
		rq.ui.log.WarnContext(rq.Context(), "ui: cannot decide", "action", action, "resource", resourceARN, "err", err)
	}
	return ok && err == nil
}

// resource is the ARN of repository repo; "" (no particular resource)
// for "".
func (u *UI) resource(repo string) string {
	if repo == "" {
		return ""
	}
	return u.cfg.Scope.Repository(repo).String()
}

// require is may as an error: a forbidden page in IAM's words.
func (rq *request) require(action, repo string) error {
	return rq.requireOn(action, rq.ui.resource(repo))
}

// requireOn is allowed as an error: a forbidden page in IAM's words.
func (rq *request) requireOn(action, resourceARN string) error {
	if rq.allowed(action, resourceARN) {
		return nil
	}
	who := rq.principal.ARN
	if who == "" {
		who = "anonymous"
	}
	return &pageError{status: http.StatusForbidden, title: "Not allowed",
		message: "User: " + who + " is not authorized to perform: " + action + " on resource: " + cmp.Or(resourceARN, "*")}
}
