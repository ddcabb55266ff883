package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ecrAt is the ECR API of srv through the Go SDK, signed with k.
func ecrAt(srv *server, k accessKey) *ecr.Client {
	return ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + srv.Addr),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, nil
		}),
	})
}

// countingProxy forwards to target on loopback and counts the blob GETs
// and manifest GETs it passes, by path.
type countingProxy struct {
	URL       string
	blobGets  sync.Map // path → *atomic.Int64
	manifests atomic.Int64
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &countingProxy{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			n, _ := p.blobGets.LoadOrStore(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:], new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
		}
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") {
			p.manifests.Add(1)
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

func (p *countingProxy) gets(d v1.Hash) int64 {
	if n, ok := p.blobGets.Load(d.String()); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

func blobDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	out := []v1.Hash{m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

func pushTo(t *testing.T, addr, ref string, k accessKey, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(addr + "/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: k.ID, Password: k.Secret})); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// TestPullThroughCache fronts a berth with auth (the upstream, behind a
// proxy that counts its reads) with a second berth's pull-through cache
// rule, and pulls through it with crane: byte for byte, the repository
// created, 8 concurrent pulls of an uncached image reading each upstream
// blob once, cached tags served with the upstream stopped, and the ECR
// API's answers to bad rules.
func TestPullThroughCache(t *testing.T) {
	crane := requireTool(t, "crane")
	up := startBerth(t)
	upKey := up.adminKey(t)
	proxy := newCountingProxy(t, up.Addr)
	cache := startBerth(t, "BERTH_PULL_THROUGH_RECHECK_INTERVAL=1s")
	cacheKey := cache.adminKey(t)
	api := ecrAt(cache, cacheKey)
	ctx := t.Context()

	img, _ := random.Image(512<<10, 3)
	pushTo(t, up.Addr, "team/app:v1", upKey, img)
	big, _ := random.Image(2<<20, 4)
	pushTo(t, up.Addr, "team/big:v1", upKey, big)

	// The credentials, sealed by the cache's master key, set with the CLI
	// on the cache's machine while it runs.
	setUpstreamCredential(t, cache, "upstream", upKey.ID, upKey.Secret)
	arn := "arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache/upstream"
	if _, err := api.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("hub"), UpstreamRegistryUrl: aws.String(proxy.URL), CredentialArn: aws.String(arn),
	}); err != nil {
		t.Fatal(err)
	}
	v, err := api.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("hub")})
	if err != nil || !v.IsValid {
		t.Fatalf("ValidatePullThroughCacheRule = %+v, %v; want valid", v, err)
	}
	if strings.Contains(fmt.Sprintf("%+v", v), upKey.Secret) {
		t.Error("ValidatePullThroughCacheRule returned the upstream password")
	}

	// Bad input gets ECR's errors.
	_, err = api.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("bad"), UpstreamRegistryUrl: aws.String("ftp://example.com/x")})
	var unsupported *ecrtypes.UnsupportedUpstreamRegistryException
	if !errorsAs(err, &unsupported) {
		t.Errorf("invalid upstream URL: %v; want UnsupportedUpstreamRegistryException", err)
	}
	_, err = api.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("bad"), UpstreamRegistryUrl: aws.String(proxy.URL),
		CredentialArn: aws.String(strings.Replace(arn, "/upstream", "/never-set", 1))})
	var noSecret *ecrtypes.SecretNotFoundException
	if !errorsAs(err, &noSecret) {
		t.Errorf("unset credentials: %v; want SecretNotFoundException", err)
	}
	_, err = api.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("nope")})
	var noRule *ecrtypes.PullThroughCacheRuleNotFoundException
	if !errorsAs(err, &noRule) {
		t.Errorf("unknown rule: %v; want PullThroughCacheRuleNotFoundException", err)
	}
	// Wrong upstream credentials: the rule is stored, and validating it says why it fails.
	setUpstreamCredential(t, cache, "wrong", upKey.ID, "not-the-secret")
	if _, err := api.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("wrong"), UpstreamRegistryUrl: aws.String(proxy.URL),
		CredentialArn: aws.String(strings.Replace(arn, "/upstream", "/wrong", 1))}); err != nil {
		t.Fatal(err)
	}
	v, err = api.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("wrong")})
	if err != nil || v.IsValid || !strings.Contains(aws.ToString(v.Failure), "401") {
		t.Errorf("wrong credentials: %+v, %v; want invalid with the upstream's 401", v, err)
	}

	// crane through the cache, byte for byte: the digest, and a pull that
	// crane verifies blob by blob.
	login(t, cache.Addr, cacheKey)
	want, _ := img.Digest()
	ref := cache.Addr + "/hub/team/app:v1"
	if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", ref)); got != want.String() {
		t.Fatalf("crane digest through the cache = %s, want %s", got, want)
	}
	run(t, clientTimeout, crane, "pull", "--insecure", "--format=oci", ref, filepath.Join(t.TempDir(), "app"))
	repos, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"hub/team/app"}})
	if err != nil || len(repos.Repositories) != 1 {
		t.Errorf("DescribeRepositories after the pull: %+v, %v", repos, err)
	}

	// 8 concurrent crane pulls of an uncached image: each blob read
	// upstream once.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			out, err := execute(clientTimeout, nil, crane, "pull", "--insecure", "--format=oci", cache.Addr+"/hub/team/big:v1", filepath.Join(t.TempDir(), fmt.Sprint("big", i)))
			if err != nil {
				t.Errorf("concurrent pull %d: %v\n%s", i, err, out)
			}
		})
	}
	wg.Wait()
	waitFor(t, 20*time.Second, "hub/team/big cached", func() bool {
		_, err := api.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("hub/team/big"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}}})
		return err == nil
	})
	for _, d := range blobDigests(t, big) {
		if n := proxy.gets(d); n != 1 {
			t.Errorf("blob %s read %d times upstream by 8 concurrent pulls; want 1", d, n)
		}
	}

	// The upstream stopped: cached tags (re-checked, since the interval
	// is 1s) and digests still pull; an uncached tag fails naming the upstream.
	up.Stop(t)
	time.Sleep(1100 * time.Millisecond)
	if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", ref)); got != want.String() {
		t.Errorf("upstream down: crane digest = %s, want the cached %s", got, want)
	}
	run(t, clientTimeout, crane, "pull", "--insecure", "--format=oci", cache.Addr+"/hub/team/app@"+want.String(), filepath.Join(t.TempDir(), "bydigest"))
	_, err = execute(clientTimeout, nil, crane, "manifest", "--insecure", cache.Addr+"/hub/team/app:v2")
	if err == nil || !strings.Contains(err.Error(), "unable to get the image from the upstream") {
		t.Errorf("uncached tag with the upstream down: %v; want an error naming the upstream", err)
	}
	if !strings.Contains(cache.log.String(), "upstream unreachable; serving the cached tag") {
		t.Error("no warning logged for the unreachable upstream")
	}
	if strings.Contains(cache.log.String(), upKey.Secret) {
		t.Error("the upstream password is in the cache's log")
	}
}

// setUpstreamCredential seals user and password as the upstream
// credential name with the CLI on cache's machine, the only way in.
func setUpstreamCredential(t *testing.T, cache *server, name, user, password string) {
	t.Helper()
	set := exec.Command(berthBin, "pull-through", "credential", "set", name, "--username", user, "--password-stdin", "--data-dir", cache.DataDir)
	set.Stdin = strings.NewReader(password + "\n")
	if out, err := set.CombinedOutput(); err != nil {
		t.Fatalf("berth pull-through credential set %s: %v\n%s", name, err, out)
	}
}

func errorsAs(err error, target any) bool { return err != nil && errors.As(err, target) }
