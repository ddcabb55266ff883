package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/registry"
)

// docker login as ECR: an anonymous /v2/ is challenged with Basic, and the
// password from GetAuthorizationToken is accepted on every request.
func TestLoginLikeECR(t *testing.T) {
	f := newFixture(t)
	admin := f.user("admin", "full-access")

	resp, body := f.expect(http.StatusUnauthorized, "GET", "/v2/", "", nil)
	want := `Basic realm="` + f.srv.URL + `/",service="berth-test"`
	if got := resp.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %q; want %q", got, want)
	}
	if !strings.Contains(body, `"UNAUTHORIZED"`) {
		t.Errorf("401 body = %s; want an UNAUTHORIZED error", body)
	}

	out, err := f.ecrClient(admin.ID, admin.Secret).GetAuthorizationToken(t.Context(), &sdkecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	data := out.AuthorizationData[0]
	if got := time.Until(aws.ToTime(data.ExpiresAt)); got < 11*time.Hour+59*time.Minute || got > 12*time.Hour+time.Minute {
		t.Errorf("token expires in %s; want 12h", got)
	}
	if aws.ToString(data.ProxyEndpoint) != f.srv.URL {
		t.Errorf("proxyEndpoint = %q; want %q", aws.ToString(data.ProxyEndpoint), f.srv.URL)
	}

	pw := f.token(admin)
	f.expect(http.StatusOK, "GET", "/v2/", basic(pw), nil)
	layer := f.push(basic(pw), "team/app", "v1")
	f.expect(http.StatusOK, "GET", "/v2/team/app/blobs/"+layer.String(), basic(pw), nil)
	// curl -H "Authorization: Basic $TOKEN" with the raw authorizationToken.
	f.expect(http.StatusOK, "GET", "/v2/team/app/manifests/v1", "Basic "+aws.ToString(data.AuthorizationToken), nil)
	// docker login -u AKIA... -p secret works too.
	f.expect(http.StatusOK, "GET", "/v2/team/app/tags/list", "Basic "+base64.StdEncoding.EncodeToString([]byte(admin.ID+":"+admin.Secret)), nil)
}

// Every token that is not a live one of ours is refused, and an expired
// one with docker's words.
func TestTokenAttacks(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.FailureBurst = 100 })
	admin := f.user("admin", "full-access")
	live := f.token(admin)

	past := time.Now().Add(-13 * time.Hour)
	oldIssuer, err := token.New(f.keys, "berth-test", token.WithClock(func() time.Time { return past }))
	if err != nil {
		t.Fatal(err)
	}
	expired, _, err := oldIssuer.Issue(t.Context(), "admin", admin.ID, 12*time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := f.expect(http.StatusForbidden, "GET", "/v2/", basic(expired), nil)
	if !strings.Contains(body, `"DENIED"`) || !strings.Contains(body, auth.ExpiredMessage) {
		t.Errorf("expired token: %d %s; want DENIED %q", resp.StatusCode, body, auth.ExpiredMessage)
	}

	strangers, err := token.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	strangerIssuer, _ := token.New(strangers, "berth-test")
	foreign, _, err := strangerIssuer.Issue(t.Context(), "admin", admin.ID, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	otherAudience, _ := token.New(f.keys, "another-registry")
	elsewhere, _, _ := otherAudience.Issue(t.Context(), "admin", admin.ID, 0, nil)

	parts := strings.Split(live, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tamperedPayload := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"sub":"admin"`, `"sub":"root"`, 1)))
	algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

	for name, tok := range map[string]string{
		"tampered payload":       parts[0] + "." + tamperedPayload + "." + parts[2],
		"alg none":               algNone,
		"signed by unknown key":  foreign,
		"for another registry":   elsewhere,
		"truncated signature":    live[:len(live)-4],
		"garbage":                "not-a-token",
		"ecr token as user name": live + ":x",
	} {
		resp, body := f.do("GET", "/v2/", basic(tok), nil)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(body, "UNAUTHORIZED") {
			t.Errorf("%s: got %d %s %q; want 401 with a challenge and UNAUTHORIZED", name, resp.StatusCode, resp.Header, body)
		}
		if resp, _ := f.do("GET", "/v2/", "Bearer "+tok, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s as Bearer: %d; want 401", name, resp.StatusCode)
		}
	}
}

// Revoking a key or deleting a user stops its live tokens at once.
func TestRevocationIsImmediate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.user("alice", "full-access")
	tok := f.token(alice)
	f.expect(http.StatusOK, "GET", "/v2/", basic(tok), nil)

	if err := f.store.SetAccessKeyStatus(ctx, alice.ID, metadata.AccessKeyInactive); err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusUnauthorized, "GET", "/v2/", basic(tok), nil)
	if err := f.store.SetAccessKeyStatus(ctx, alice.ID, metadata.AccessKeyActive); err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusOK, "GET", "/v2/", basic(tok), nil)
	if err := f.store.DeleteAccessKey(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusUnauthorized, "GET", "/v2/", basic(tok), nil)
	_, err := f.ecrClient(alice.ID, alice.Secret).GetAuthorizationToken(ctx, &sdkecr.GetAuthorizationTokenInput{})
	assertAPIError(t, err, "UnrecognizedClientException")

	bob := f.user("bob", "full-access")
	tok = f.token(bob)
	if err := f.store.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusUnauthorized, "GET", "/v2/", basic(tok), nil)
}

// A pull-only user pulls but cannot push or delete; a user of repository
// A can neither read B directly nor through a mount; an explicit Deny
// beats full access.
func TestPolicies(t *testing.T) {
	f := newFixture(t)
	admin := basic(f.token(f.user("admin", "full-access")))
	reader := basic(f.token(f.user("reader", "read-only")))
	onlyA := basic(f.token(f.user("only-a", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/a"},`+
		`{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`)))
	denied := basic(f.token(f.user("denied", "full-access",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:PutImage","Resource":"arn:aws:ecr:*:*:repository/prod/*"}]}`)))

	secretLayer := f.push(admin, "b", "v1")
	f.push(admin, "a", "v1")

	// Pull-only.
	f.expect(http.StatusOK, "GET", "/v2/b/manifests/v1", reader, nil)
	f.expect(http.StatusOK, "GET", "/v2/b/blobs/"+secretLayer.String(), reader, nil)
	_, body := f.expect(http.StatusForbidden, "POST", "/v2/b/blobs/uploads/", reader, nil)
	if !strings.Contains(body, "DENIED") || !strings.Contains(body, "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:123456789012:repository/b") {
		t.Errorf("pull-only push: %s", body)
	}
	f.expect(http.StatusForbidden, "PUT", "/v2/b/manifests/v2", reader, []byte("{}"))
	f.expect(http.StatusForbidden, "DELETE", "/v2/b/manifests/v1", reader, nil)

	// Repository A only.
	f.expect(http.StatusOK, "GET", "/v2/a/manifests/v1", onlyA, nil)
	f.expect(http.StatusForbidden, "GET", "/v2/b/manifests/v1", onlyA, nil)
	f.expect(http.StatusForbidden, "GET", "/v2/b/blobs/"+secretLayer.String(), onlyA, nil)
	for _, query := range []string{"?mount=" + secretLayer.String() + "&from=b", "?mount=" + secretLayer.String()} {
		resp, _ := f.expect(http.StatusAccepted, "POST", "/v2/a/blobs/uploads/"+query, onlyA, nil)
		if !strings.Contains(resp.Header.Get("Location"), "/blobs/uploads/") {
			t.Errorf("mount from an unreadable repository: Location %q; want a new upload", resp.Header.Get("Location"))
		}
		f.expect(http.StatusNotFound, "HEAD", "/v2/a/blobs/"+secretLayer.String(), onlyA, nil)
	}
	// The admin may mount, so the refusal above was the policy's doing.
	f.expect(http.StatusCreated, "POST", "/v2/a/blobs/uploads/?mount="+secretLayer.String()+"&from=b", admin, nil)

	// The catalog shows each caller what it may see.
	for who, want := range map[string]string{admin: `{"repositories":["a","b"]}`, onlyA: `{"repositories":["a"]}`, reader: `{"repositories":["a","b"]}`} {
		if _, body := f.expect(http.StatusOK, "GET", "/v2/_catalog", who, nil); strings.TrimSpace(body) != want {
			t.Errorf("catalog = %s; want %s", body, want)
		}
	}
	f.expect(http.StatusUnauthorized, "GET", "/v2/_catalog", "", nil)

	// Explicit Deny wins over full access.
	f.push(denied, "dev/app", "v1")
	_, body = f.expect(http.StatusForbidden, "PUT", "/v2/prod/app/manifests/v1", denied, []byte("{}"))
	if !strings.Contains(body, "ecr:PutImage") {
		t.Errorf("denied push: %s", body)
	}
}

// With auth.anonymous: pull, a repository policy with Principal "*" lets
// anonymous callers pull that repository and nothing else, even when it
// allows "*" every action.
func TestAnonymousPullByRepositoryPolicy(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.AnonymousPull = true })
	k := f.user("admin", "full-access")
	admin := basic(f.token(k))
	layer := f.push(admin, "public/app", "v1")
	f.push(admin, "private/app", "v1")

	f.expect(http.StatusUnauthorized, "GET", "/v2/public/app/manifests/v1", "", nil)
	_, err := f.ecrClient(k.ID, k.Secret).SetRepositoryPolicy(t.Context(), &sdkecr.SetRepositoryPolicyInput{
		RepositoryName: aws.String("public/app"),
		PolicyText:     aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusOK, "GET", "/v2/public/app/manifests/v1", "", nil)
	f.expect(http.StatusUnauthorized, "PUT", "/v2/public/app/manifests/v2", "", []byte("{}"))
	f.expect(http.StatusUnauthorized, "DELETE", "/v2/public/app/manifests/v1", "", nil)
	f.expect(http.StatusOK, "GET", "/v2/public/app/blobs/"+layer.String(), "", nil)
	f.expect(http.StatusUnauthorized, "POST", "/v2/public/app/blobs/uploads/", "", nil)
	f.expect(http.StatusUnauthorized, "GET", "/v2/private/app/manifests/v1", "", nil)

	// The Docker token flow grants the anonymous caller pull only.
	_, body := f.expect(http.StatusOK, "GET", "/token?service=berth-test&scope=repository:public/app:pull,push", "", nil)
	bearer := "Bearer " + jsonField(t, body, "token")
	f.expect(http.StatusOK, "GET", "/v2/public/app/manifests/v1", bearer, nil)
	f.expect(http.StatusUnauthorized, "POST", "/v2/public/app/blobs/uploads/", bearer, nil)
}

// The Docker token flow: a Bearer token grants what was asked and allowed,
// and no more, whatever the user's policies would allow.
func TestTokenFlow(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.Challenge = "bearer" })
	admin := f.user("admin", "full-access")
	reader := f.user("reader", "read-only")
	f.push(basic(f.token(admin)), "team/app", "v1")

	resp, _ := f.expect(http.StatusUnauthorized, "GET", "/v2/team/app/manifests/v1", "", nil)
	want := `Bearer realm="` + f.srv.URL + `/token",service="berth-test",scope="repository:team/app:pull"`
	if got := resp.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("challenge = %q; want %q", got, want)
	}

	login := "Basic " + base64.StdEncoding.EncodeToString([]byte(admin.ID+":"+admin.Secret))
	_, body := f.expect(http.StatusOK, "GET", "/token?service=berth-test&scope=repository:team/app:pull", login, nil)
	pullOnly := "Bearer " + jsonField(t, body, "token")
	f.expect(http.StatusOK, "GET", "/v2/team/app/manifests/v1", pullOnly, nil)
	f.expect(http.StatusForbidden, "POST", "/v2/team/app/blobs/uploads/", pullOnly, nil)
	f.expect(http.StatusForbidden, "GET", "/v2/other/manifests/v1", pullOnly, nil)

	_, body = f.expect(http.StatusOK, "GET", "/token?scope=repository:team/app:pull,push", basic(f.token(reader)), nil)
	readerToken := "Bearer " + jsonField(t, body, "token")
	f.expect(http.StatusOK, "GET", "/v2/team/app/manifests/v1", readerToken, nil)
	f.expect(http.StatusForbidden, "POST", "/v2/team/app/blobs/uploads/", readerToken, nil)

	f.expect(http.StatusUnauthorized, "GET", "/token?scope=repository:team/app:pull", "Basic "+base64.StdEncoding.EncodeToString([]byte(admin.ID+":wrong")), nil)
}

// SigV4 through the real SDK: a wrong secret, an unknown key, a request
// replayed after the skew window and a tampered body are refused with
// AWS's error types.
func TestSigV4Attacks(t *testing.T) {
	f := newFixture(t)
	k := f.user("admin", "full-access")
	ctx := t.Context()

	_, err := f.ecrClient(k.ID, "wrong-secret").GetAuthorizationToken(ctx, &sdkecr.GetAuthorizationTokenInput{})
	assertAPIError(t, err, "InvalidSignatureException")
	_, err = f.ecrClient("AKIAAAAAAAAAAAAAAAAA", k.Secret).GetAuthorizationToken(ctx, &sdkecr.GetAuthorizationTokenInput{})
	assertAPIError(t, err, "UnrecognizedClientException")

	send := func(signedAt time.Time, body, sent string) (int, string) {
		req := httptest.NewRequest("POST", f.srv.URL+"/", strings.NewReader(body))
		req.RequestURI = ""
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken")
		sum := hashHex(body)
		err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, req, sum, "ecr", region, signedAt)
		if err != nil {
			t.Fatal(err)
		}
		req.Body = readCloser(sent)
		req.ContentLength = int64(len(sent))
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, readAll(resp.Body)
	}
	if code, body := send(time.Now(), "{}", "{}"); code != 200 {
		t.Fatalf("a fresh signed request: %d %s", code, body)
	}
	if code, body := send(f.clock.Now().Add(-16*time.Minute), "{}", "{}"); code != 400 || !strings.Contains(body, "InvalidSignatureException") {
		t.Errorf("replayed after 16 minutes: %d %s; want InvalidSignatureException", code, body)
	}
	if code, body := send(time.Now(), "{}", `{"registryIds":["000000000000"]}`); code != 400 || !strings.Contains(body, "InvalidSignatureException") {
		t.Errorf("tampered body: %d %s; want InvalidSignatureException", code, body)
	}
	if code, body := send(time.Now(), "{}", "{}"); code != 200 {
		t.Errorf("signed request after the failures: %d %s", code, body)
	}

	// A user without ecr:GetAuthorizationToken is denied in AWS's words.
	nobody := f.user("nobody", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}`)
	_, err = f.ecrClient(nobody.ID, nobody.Secret).GetAuthorizationToken(ctx, &sdkecr.GetAuthorizationTokenInput{})
	assertAPIError(t, err, "AccessDeniedException")
}

// Repeated failures from one address get 429 with Retry-After; another
// address is not affected, and the first recovers after the window.
func TestFailuresAreSlowed(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.FailureBurst = 3; c.FailureWindow = time.Minute })
	k := f.user("admin", "full-access")
	good := basic(f.token(k))
	reg := registry.New(f.store, nil, nil, registry.Config{Authorizer: f.auth})

	send := func(addr, authorization string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/v2/", nil)
		r.RemoteAddr = addr + ":40000"
		r.Header.Set("Authorization", authorization)
		w := httptest.NewRecorder()
		reg.ServeHTTP(w, r)
		return w
	}
	for range 3 {
		if w := send("192.0.2.1", basic("wrong")); w.Code != http.StatusUnauthorized {
			t.Fatalf("bad password: %d", w.Code)
		}
	}
	w := send("192.0.2.1", good)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" || !strings.Contains(w.Body.String(), "TOOMANYREQUESTS") {
		t.Errorf("after 3 failures: %d %q %s; want 429 with Retry-After 60", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := send("192.0.2.2", good); w.Code != http.StatusOK {
		t.Errorf("another address: %d; want 200", w.Code)
	}
	if w := send("192.0.2.2", basic("wrong")); w.Code != http.StatusUnauthorized {
		t.Errorf("another address, bad password: %d; want 401", w.Code)
	}
	f.clock.Advance(time.Minute - time.Second)
	if w := send("192.0.2.1", good); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("a second before the window ends: %d, Retry-After %q; want 429, 1", w.Code, w.Header().Get("Retry-After"))
	}
	f.clock.Advance(time.Second)
	if w := send("192.0.2.1", good); w.Code != http.StatusOK {
		t.Errorf("once the first failure is a window old: %d; want 200", w.Code)
	}
}

// A token works until it expires, though its verified claims are cached,
// and then gets docker's words for an expired token.
func TestTokenExpiresWhileCached(t *testing.T) {
	f := newFixture(t)
	tok := f.token(f.user("admin", "full-access"))
	f.expect(http.StatusOK, "GET", "/v2/", basic(tok), nil) // verified, and cached
	f.clock.Advance(token.DefaultTTL + token.DefaultLeeway - time.Second)
	f.expect(http.StatusOK, "GET", "/v2/", basic(tok), nil)
	f.clock.Advance(time.Second)
	if resp, body := f.do("GET", "/v2/", basic(tok), nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, auth.ExpiredMessage) {
		t.Errorf("after its lifetime: %d %s; want 403 %q", resp.StatusCode, body, auth.ExpiredMessage)
	}
}

// No secret, token or signature reaches the log, whatever happens.
func TestLogsHoldNoSecrets(t *testing.T) {
	f := newFixture(t)
	k := f.user("admin", "full-access")
	tok := f.token(k)
	f.push(basic(tok), "team/app", "v1")
	f.do("GET", "/v2/", basic(tok+"x"), nil)
	f.do("GET", "/v2/", basic("AWS"+tok[:20]), nil)
	f.do("GET", "/v2/", "Basic "+base64.StdEncoding.EncodeToString([]byte(k.ID+":"+k.Secret+"x")), nil)
	f.do("GET", "/token?scope=repository:team/app:pull", "Basic "+base64.StdEncoding.EncodeToString([]byte(k.ID+":"+k.Secret)), nil)
	_, _ = f.ecrClient(k.ID, k.Secret+"x").GetAuthorizationToken(t.Context(), &sdkecr.GetAuthorizationTokenInput{})

	logs := f.logs.String()
	if !strings.Contains(logs, "rejected") {
		t.Fatalf("the failures were not logged at all:\n%s", logs)
	}
	for name, s := range map[string]string{"secret": k.Secret, "token": tok, "token signature": tok[strings.LastIndex(tok, ".")+1:], "token payload": strings.Split(tok, ".")[1]} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds the %s:\n%s", name, logs)
		}
	}
}

func assertAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("err = %v; want %s", err, code)
	}
}

// Any Authorization header gets a registry answer, never a server error:
// 200 for none of the seeds' valid credentials, 401, 403 or 429.
func FuzzAuthorizationHeader(f *testing.F) {
	fx := newFixture(f)
	k := fx.user("admin", "full-access")
	tok := fx.token(k)
	for _, s := range []string{basic(tok), "Bearer " + tok, keyBasic(k), "Basic", "Bearer", "Basic Og==", "Negotiate abc", basic(tok + "."), "Basic " + tok} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/v2/team/app/tags/list", nil)
		r.Header.Set("Authorization", header)
		_, err := fx.auth.Authorize(r, "team/app", []string{"ecr:ListImages"})
		if err == nil {
			return
		}
		var d *ocierr.Error
		if !errors.As(err, &d) {
			t.Fatalf("Authorization %q: %v is not an OCI refusal", header, err)
		}
		switch d.HTTPStatus() {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		default:
			t.Fatalf("Authorization %q: status %d", header, d.HTTPStatus())
		}
	})
}

// ECR API operations are authorized action by action: a read-only user
// describes but does not create or delete, and a user of repository A
// lists only A.
func TestECRActionsAuthorized(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	admin := f.user("admin", "full-access")
	reader := f.user("reader", "read-only")
	onlyA := f.user("only-a", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/aa"}]}`)
	for _, name := range []string{"aa", "bb"} {
		if _, err := f.ecrClient(admin.ID, admin.Secret).CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	r := f.ecrClient(reader.ID, reader.Secret)
	if _, err := r.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"aa"}}); err != nil {
		t.Errorf("reader DescribeRepositories: %v", err)
	}
	_, err := r.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("cc")})
	assertAPIError(t, err, "AccessDeniedException")
	_, err = r.DeleteRepository(ctx, &sdkecr.DeleteRepositoryInput{RepositoryName: aws.String("aa"), Force: true})
	assertAPIError(t, err, "AccessDeniedException")

	out, err := f.ecrClient(onlyA.ID, onlyA.Secret).DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{})
	if err != nil || len(out.Repositories) != 1 || aws.ToString(out.Repositories[0].RepositoryName) != "aa" {
		t.Errorf("only-a DescribeRepositories = %+v, %v; want just a", out, err)
	}
	_, err = f.ecrClient(onlyA.ID, onlyA.Secret).ListImages(ctx, &sdkecr.ListImagesInput{RepositoryName: aws.String("bb")})
	assertAPIError(t, err, "AccessDeniedException")
}

// An upload that does several layer actions in one request needs every
// one of them: a monolithic POST ?digest= initiates, uploads and
// completes; a PUT with a body uploads a part and completes. Before, the
// first was checked only for InitiateLayerUpload and the second only for
// CompleteLayerUpload, so a Deny on the other actions did not hold.
func TestUploadNeedsEveryLayerAction(t *testing.T) {
	f := newFixture(t)
	deny := func(action string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"` + action + `","Resource":"*"}]}`
	}
	noPart := basic(f.token(f.user("no-part", "full-access", deny("ecr:UploadLayerPart"))))
	noComplete := basic(f.token(f.user("no-complete", "full-access", deny("ecr:CompleteLayerUpload"))))
	admin := basic(f.token(f.user("admin", "full-access")))
	f.push(admin, "team/app", "v1")

	blob := []byte("one layer")
	monolithic := "/v2/team/app/blobs/uploads/?digest=" + digest.FromBytes(blob).String()
	for name, who := range map[string]string{"UploadLayerPart denied": noPart, "CompleteLayerUpload denied": noComplete} {
		if resp, body := f.do("POST", monolithic, who, blob); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "DENIED") {
			t.Errorf("%s: monolithic upload = %d %s; want 403 DENIED", name, resp.StatusCode, body)
		}
	}

	// A session opened (InitiateLayerUpload is allowed), then closed by a
	// PUT that carries the bytes.
	resp, _ := f.expect(http.StatusAccepted, "POST", "/v2/team/app/blobs/uploads/", noPart, nil)
	put := resp.Header.Get("Location")
	sep := "?"
	if strings.Contains(put, "?") {
		sep = "&"
	}
	put += sep + "digest=" + digest.FromBytes(blob).String()
	if resp, body := f.do("PUT", put, noPart, blob); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "ecr:UploadLayerPart") {
		t.Errorf("PUT with a body, UploadLayerPart denied = %d %s; want 403 naming ecr:UploadLayerPart", resp.StatusCode, body)
	}
	f.expect(http.StatusNotFound, "HEAD", "/v2/team/app/blobs/"+digest.FromBytes(blob).String(), admin, nil)
	f.expect(http.StatusCreated, "POST", monolithic, admin, blob)
}

// With registry.createOnPush, a push creates a repository only for a
// caller allowed ecr:CreateRepository on it; pushes into repositories
// that exist need no such grant. Before, a push-pull user, or one with an
// explicit Deny on ecr:CreateRepository, created repositories by pushing.
func TestCreateOnPushNeedsCreateRepository(t *testing.T) {
	f := newFixture(t)
	admin := basic(f.token(f.user("admin", "full-access")))
	pushPull := basic(f.token(f.user("ci", "push-pull")))
	denied := basic(f.token(f.user("denied", "full-access",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:CreateRepository","Resource":"*"}]}`)))

	for name, who := range map[string]string{"push-pull": pushPull, "Deny on CreateRepository": denied} {
		resp, body := f.do("POST", "/v2/new/"+strings.ToLower(strings.ReplaceAll(name, " ", "-"))+"/blobs/uploads/", who, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "ecr:CreateRepository") {
			t.Errorf("%s: a push into a new repository = %d %s; want 403 naming ecr:CreateRepository", name, resp.StatusCode, body)
		}
	}
	if _, body := f.expect(http.StatusOK, "GET", "/v2/_catalog", admin, nil); strings.Contains(body, "new/") {
		t.Errorf("catalog = %s; want no repository created", body)
	}
	f.push(admin, "team/app", "v1")
	f.push(pushPull, "team/app", "v2")
	f.push(denied, "team/app", "v3")
}

// SigV4's scope and signed parts: a signature for another region, one
// that leaves X-Amz-Target (the operation) out, and one that leaves the
// body out (UNSIGNED-PAYLOAD) are refused in AWS's words. Before, all
// three were accepted: the operation of a captured request could be
// swapped, and its body replaced.
func TestSigV4ScopeAndSignedParts(t *testing.T) {
	f := newFixture(t)
	k := f.user("admin", "full-access")
	ctx := t.Context()

	other := sdkecr.New(sdkecr.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(f.srv.URL), HTTPClient: f.srv.Client(),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, nil
		}),
	})
	_, err := other.GetAuthorizationToken(ctx, &sdkecr.GetAuthorizationTokenInput{})
	assertAPIError(t, err, "InvalidSignatureException")

	send := func(payloadHash string, targetSigned bool) (int, string) {
		req := httptest.NewRequest("POST", f.srv.URL+"/", strings.NewReader("{}"))
		req.RequestURI = ""
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		target := "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
		if targetSigned {
			req.Header.Set("X-Amz-Target", target)
		}
		if payloadHash == "UNSIGNED-PAYLOAD" {
			req.Header.Set("X-Amz-Content-Sha256", payloadHash)
		}
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, req, payloadHash, "ecr", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", target)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, readAll(resp.Body)
	}
	if code, body := send(hashHex("{}"), true); code != 200 {
		t.Fatalf("a well signed request: %d %s", code, body)
	}
	if code, body := send(hashHex("{}"), false); code != 400 || !strings.Contains(body, "IncompleteSignatureException") || !strings.Contains(body, "'X-Amz-Target' must be a 'SignedHeader'") {
		t.Errorf("X-Amz-Target not signed: %d %s; want IncompleteSignatureException", code, body)
	}
	if code, body := send("UNSIGNED-PAYLOAD", true); code != 400 || !strings.Contains(body, "InvalidSignatureException") {
		t.Errorf("UNSIGNED-PAYLOAD: %d %s; want InvalidSignatureException", code, body)
	}
}

// Who a repository policy's principals are, as on ECR: "*" is every
// signed-in principal and no anonymous caller (unless auth.anonymous:
// pull); an account principal delegates to the account's identity
// policies and grants nothing by itself. Before, "*" let anonymous callers
// pull by default, and an account principal gave every user of the
// account what the statement allowed, whatever their identity policies.
func TestRepositoryPolicyPrincipals(t *testing.T) {
	f := newFixture(t)
	k := f.user("admin", "full-access")
	admin := basic(f.token(k))
	f.push(admin, "star/app", "v1")
	f.push(admin, "account/app", "v1")
	// nobody may only log in; everything else must come from a repository policy.
	nobody := basic(f.token(f.user("nobody", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`)))
	set := func(repo, principal string) {
		t.Helper()
		_, err := f.ecrClient(k.ID, k.Secret).SetRepositoryPolicy(t.Context(), &sdkecr.SetRepositoryPolicyInput{
			RepositoryName: aws.String(repo),
			PolicyText:     aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	set("star/app", `"*"`)
	set("account/app", `{"AWS":"arn:aws:iam::`+account+`:root"}`)

	f.expect(http.StatusUnauthorized, "GET", "/v2/star/app/manifests/v1", "", nil)
	_, body := f.expect(http.StatusOK, "GET", "/token?service=berth-test&scope=repository:star/app:pull", "", nil)
	f.expect(http.StatusUnauthorized, "GET", "/v2/star/app/manifests/v1", "Bearer "+jsonField(t, body, "token"), nil)
	f.expect(http.StatusOK, "GET", "/v2/star/app/manifests/v1", nobody, nil)

	f.expect(http.StatusForbidden, "GET", "/v2/account/app/manifests/v1", nobody, nil)
	f.expect(http.StatusUnauthorized, "GET", "/v2/account/app/manifests/v1", "", nil)
	reader := basic(f.token(f.user("reader", "read-only")))
	f.expect(http.StatusOK, "GET", "/v2/account/app/manifests/v1", reader, nil)
}

// A listing past the threshold reads every repository policy at once and
// evaluates in memory; the answers are the same as one by one: a
// repository whose policy denies the caller is hidden, one whose policy
// grants the caller is shown though its identity policies do not.
func TestLargeListingHonoursRepositoryPolicies(t *testing.T) {
	f := newFixture(t)
	k := f.user("admin", "full-access")
	ecrc := f.ecrClient(k.ID, k.Secret)
	viewer := f.user("viewer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:DescribeRepositories","ecr:BatchGetImage"],"Resource":"arn:aws:ecr:us-east-1:`+account+`:repository/r*"},`+
		`{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`)
	var want []string
	for i := range 30 {
		name := fmt.Sprintf("r%02d", i)
		if i == 25 {
			name = "granted"
		}
		if _, err := ecrc.CreateRepository(t.Context(), &sdkecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		principal := `{"AWS":"arn:aws:iam::` + account + `:user/viewer"}`
		switch i {
		case 20:
			_, err := ecrc.SetRepositoryPolicy(t.Context(), &sdkecr.SetRepositoryPolicyInput{RepositoryName: aws.String(name),
				PolicyText: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":` + principal + `,"Action":"ecr:*"}]}`)})
			if err != nil {
				t.Fatal(err)
			}
			continue
		case 25:
			_, err := ecrc.SetRepositoryPolicy(t.Context(), &sdkecr.SetRepositoryPolicyInput{RepositoryName: aws.String(name),
				PolicyText: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"ecr:DescribeRepositories"}]}`)})
			if err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, name)
	}
	slices.Sort(want)
	_, body := f.expect(http.StatusOK, "GET", "/v2/_catalog", basic(f.token(viewer)), nil)
	if got := `{"repositories":["` + strings.Join(want, `","`) + `"]}`; strings.TrimSpace(body) != got {
		t.Errorf("catalog = %s; want %s", body, got)
	}
	out, err := f.ecrClient(viewer.ID, viewer.Secret).DescribeRepositories(t.Context(), &sdkecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out.Repositories {
		got = append(got, aws.ToString(r.RepositoryName))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("DescribeRepositories = %v; want %v", got, want)
	}
}
