package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"
)

// distribution is a CNCF Distribution registry (Debian's docker-registry)
// on loopback with htpasswd auth.
type distribution struct {
	Addr, User, Password string
	cmd                  *exec.Cmd
}

func startDistribution(t *testing.T) *distribution {
	t.Helper()
	bin := requireTool(t, "docker-registry")
	dir := t.TempDir()
	d := &distribution{User: "puller", Password: fmt.Sprintf("pw-%d", os.Getpid())}
	hash, err := bcrypt.GenerateFromPassword([]byte(d.Password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "htpasswd"), d.User+":"+string(hash)+"\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.Addr = ln.Addr().String()
	ln.Close()
	write(t, filepath.Join(dir, "config.yml"), fmt.Sprintf(`version: 0.1
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: test
    path: %s
`, filepath.Join(dir, "data"), d.Addr, filepath.Join(dir, "htpasswd")))
	d.cmd = exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop)
	waitFor(t, clientTimeout, "docker-registry listening", func() bool {
		c, err := net.Dial("tcp", d.Addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return d
}

func (d *distribution) stop() {
	if d.cmd.Process != nil && d.cmd.ProcessState == nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
	}
}

// twoPlatformIndex is an image index of two random images, linux/amd64
// and linux/arm64.
func twoPlatformIndex(t *testing.T) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	imgs := map[string]v1.Image{}
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256<<10, 2)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Architecture, cfg.OS = arch, "linux"
		img, _ = mutate.ConfigFile(img, cfg)
		imgs["linux/"+arch] = img
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return idx, imgs
}

// TestPullThroughDistribution pulls a two-platform index through a cache
// rule whose upstream is Debian's docker-registry with htpasswd auth.
func TestPullThroughDistribution(t *testing.T) {
	crane := requireTool(t, "crane")
	requireDocker(t)
	up := startDistribution(t)
	proxy := newCountingProxy(t, up.Addr)
	cache := startBerth(t, "BERTH_PULL_THROUGH_RECHECK_INTERVAL=1s")
	cacheKey := cache.adminKey(t)
	api := ecrAt(cache, cacheKey)
	ctx := t.Context()

	idx, imgs := twoPlatformIndex(t)
	ref, _ := name.ParseReference(up.Addr + "/team/multi:v1")
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(&authn.Basic{Username: up.User, Password: up.Password})); err != nil {
		t.Fatalf("push the index to docker-registry: %v", err)
	}

	setUpstreamCredential(t, cache, "dist", up.User, up.Password)
	arn := "arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache/dist"
	if _, err := api.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{
		EcrRepositoryPrefix: aws.String("dist"), UpstreamRegistryUrl: aws.String(proxy.URL), CredentialArn: aws.String(arn),
	}); err != nil {
		t.Fatal(err)
	}
	rules, err := api.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
	if err != nil || strings.Contains(fmt.Sprintf("%+v", rules), up.Password) {
		t.Errorf("DescribePullThroughCacheRules: %v, or it returned the upstream password", err)
	}

	// 8 concurrent crane pulls of the uncached index, alternating the two
	// platforms: each upstream blob read once.
	login(t, cache.Addr, cacheKey)
	cached := cache.Addr + "/dist/team/multi:v1"
	var wg sync.WaitGroup
	for i := range 8 {
		platform := []string{"linux/amd64", "linux/arm64"}[i%2]
		wg.Go(func() {
			out, err := execute(clientTimeout, nil, crane, "pull", "--insecure", "--format=oci", "--platform", platform, cached, filepath.Join(t.TempDir(), fmt.Sprint("p", i)))
			if err != nil {
				t.Errorf("concurrent pull %d (%s): %v\n%s", i, platform, err, out)
			}
		})
	}
	wg.Wait()
	for platform, img := range imgs {
		for _, d := range blobDigests(t, img) {
			if n := proxy.gets(d); n != 1 {
				t.Errorf("%s blob %s read %d times upstream by 8 concurrent pulls; want 1", platform, d, n)
			}
		}
		want, _ := img.Digest()
		if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", "--platform", platform, cached)); got != want.String() {
			t.Errorf("crane digest --platform %s through the cache = %s, want %s", platform, got, want)
		}
	}
	wantIdx, _ := idx.Digest()
	if repos, err := api.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"dist/team/multi"}}); err != nil || len(repos.Repositories) != 1 {
		t.Errorf("DescribeRepositories of the cached repository: %+v, %v", repos, err)
	}
	if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", cached)); got != wantIdx.String() {
		t.Errorf("index digest through the cache = %s, want %s", got, wantIdx)
	}

	// The real docker CLI through the cache: the machine's platform.
	tag := cached
	t.Cleanup(func() { removeImage(t, tag) })
	run(t, dockerTimeout, "docker", "pull", "--platform", "linux/amd64", tag)
	if id := strings.TrimSpace(run(t, dockerTimeout, "docker", "image", "inspect", "--format", "{{index .RepoDigests 0}}", tag)); !strings.HasSuffix(id, wantIdx.String()) {
		t.Errorf("docker pull through the cache: repo digest %s, want %s", id, wantIdx)
	}

	// Wrong upstream credentials: ValidatePullThroughCacheRule says the
	// rule fails and why. (Through the SDK: awscli 2.9.19, Debian's, has no
	// validate-pull-through-cache-rule.)
	setUpstreamCredential(t, cache, "wrong", up.User, "not-the-password")
	if _, err := api.CreatePullThroughCacheRule(ctx, &ecr.CreatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("wrong"), UpstreamRegistryUrl: aws.String(proxy.URL),
		CredentialArn: aws.String(strings.Replace(arn, "/dist", "/wrong", 1))}); err != nil {
		t.Fatal(err)
	}
	v, err := api.ValidatePullThroughCacheRule(ctx, &ecr.ValidatePullThroughCacheRuleInput{EcrRepositoryPrefix: aws.String("wrong")})
	if err != nil || v.IsValid || !strings.Contains(aws.ToString(v.Failure), "401") || strings.Contains(fmt.Sprintf("%+v", v), "not-the-password") {
		t.Errorf("ValidatePullThroughCacheRule with wrong credentials: %+v, %v; want invalid with the upstream's 401, and no password", v, err)
	}

	// The upstream stopped: the cached tag serves, an uncached one fails
	// with an error naming the upstream.
	// Each pull past the re-check interval (1 s) since the last compares
	// the tag with the upstream; one made just before the stop puts the
	// next off, so pull until one has compared it or 10 s have passed.
	up.stop()
	for deadline := time.Now().Add(10 * time.Second); ; {
		time.Sleep(1100 * time.Millisecond) // past the re-check interval
		if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", cached)); got != wantIdx.String() {
			t.Errorf("upstream down: digest = %s, want the cached %s", got, wantIdx)
		}
		if strings.Contains(cache.log.String(), "upstream unreachable; serving the cached tag") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("no warning in berth's log that the upstream is down:\n%s", cache.log.String())
			break
		}
	}
	_, err = execute(clientTimeout, nil, crane, "manifest", "--insecure", cache.Addr+"/dist/team/multi:v2")
	if err == nil || !strings.Contains(err.Error(), "unable to get the image from the upstream") {
		t.Errorf("uncached tag with the upstream down: %v; want an error naming the upstream", err)
	}
	if strings.Contains(cache.log.String(), up.Password) {
		t.Error("the upstream password is in the cache's log")
	}
}
