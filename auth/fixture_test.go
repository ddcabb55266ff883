package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

const (
	account = "123456789012"
	region  = "us-east-1"
)

// fixture is a whole access-controlled registry in one process: the OCI
// API, the token endpoint and the ECR API on a real HTTP server, over a
// real SQLite index and filesystem blob store.
type fixture struct {
	t      testing.TB
	store  *sqlite.Store
	sealer *secret.Sealer
	keys   *token.KeySet
	auth   *auth.Authority
	api    *ecr.API
	srv    *httptest.Server
	logs   *syncBuffer
	// clock times tokens and failed attempts. It starts at the real time,
	// which the AWS SDK signs requests with, and moves only when a test
	// moves it.
	clock *clocktest.Clock
}

func newFixture(t testing.TB, mutate ...func(*auth.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), dir+"/berth.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := filesystem.New(dir + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.LoadOrCreateMasterKey(dir + "/master.key")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadOrCreate(dir + "/signing-keys")
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Now())
	issuer, err := token.New(keys, "berth-test", token.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := auth.Config{AccountID: account, Region: region, Service: "berth-test",
		Resources: map[string]auth.ResourcePolicies{arn.ECR: ecr.RepositoryPolicies{Store: store}}}
	for _, m := range mutate {
		m(&cfg)
	}
	a := auth.New(store, sealer, issuer, cfg, log, auth.WithClock(clock.Now))
	reg := registry.New(store, blobs, log, registry.Config{Authorizer: a, CreateOnPush: true})
	t.Cleanup(func() { reg.Close(context.Background()) })
	api, err := ecr.New(t.Context(), store, reg, ecr.Config{AccountID: account, Region: region, Access: a, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	reg.Register(mux)
	a.Register(mux)
	api.Register(awsjson.NewFront(mux, a.AuthenticateAWS, log))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{t: t, store: store, sealer: sealer, keys: keys, auth: a, api: api, srv: srv, logs: logs, clock: clock}
}

// user creates a user with policies and returns its new access key.
func (f *fixture) user(name string, policies ...string) secret.AccessKey {
	f.t.Helper()
	if err := auth.CreateUser(f.t.Context(), f.store, name, policies); err != nil {
		f.t.Fatal(err)
	}
	k, err := auth.CreateAccessKey(f.t.Context(), f.store, f.sealer, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// ecrClient is the real AWS SDK's ECR client signing with k.
func (f *fixture) ecrClient(id, secretKey string) *sdkecr.Client {
	return sdkecr.New(sdkecr.Options{
		Region:       region,
		BaseEndpoint: aws.String(f.srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secretKey}, nil
		}),
		HTTPClient: f.srv.Client(),
	})
}

// token logs k in as `aws ecr get-login-password` does and returns the
// password.
func (f *fixture) token(k secret.AccessKey) string {
	f.t.Helper()
	out, err := f.ecrClient(k.ID, k.Secret).GetAuthorizationToken(f.t.Context(), &sdkecr.GetAuthorizationTokenInput{})
	if err != nil {
		f.t.Fatalf("GetAuthorizationToken: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		f.t.Fatal(err)
	}
	user, password, _ := strings.Cut(string(raw), ":")
	if user != "AWS" || strings.Contains(password, ":") {
		f.t.Fatalf("authorizationToken decodes to user %q and a password with ':' %v", user, strings.Contains(password, ":"))
	}
	return password
}

// keyBasic is Basic credentials of an access key id and secret.
func keyBasic(k secret.AccessKey) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(k.ID+":"+k.Secret))
}

// basic is the Authorization header docker sends after docker login.
func basic(password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:"+password))
}

// do sends one request with an Authorization header (none if empty) and
// returns the response with its body read.
func (f *fixture) do(method, path, authorization string, body []byte) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if strings.Contains(path, "/manifests/") {
		req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// expect sends a request and fails the test unless it gets status want.
func (f *fixture) expect(want int, method, path, authorization string, body []byte) (*http.Response, string) {
	f.t.Helper()
	resp, b := f.do(method, path, authorization, body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s = %d %s; want %d", method, path, resp.StatusCode, b, want)
	}
	return resp, b
}

// push uploads a one-layer image to repo:tag and returns the layer's
// digest.
func (f *fixture) push(authorization, repo, tag string) digest.Digest {
	f.t.Helper()
	layer := []byte("layer of " + repo + ":" + tag)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	for _, b := range [][]byte{layer, config} {
		f.expect(http.StatusCreated, "POST", fmt.Sprintf("/v2/%s/blobs/uploads/?digest=%s", repo, digest.FromBytes(b)), authorization, b)
	}
	manifest := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		digest.FromBytes(config), len(config), digest.FromBytes(layer), len(layer))
	f.expect(http.StatusCreated, "PUT", "/v2/"+repo+"/manifests/"+tag, authorization, manifest)
	return digest.FromBytes(layer)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

func readAll(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

// jsonField returns the string member name of a JSON object.
func jsonField(t testing.TB, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	s, _ := m[name].(string)
	if s == "" {
		t.Fatalf("%s has no %q", body, name)
	}
	return s
}
