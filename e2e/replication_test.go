package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// replicationStatus is the status DescribeImageReplicationStatus gives
// image dgst of repo for the only destination, with its failure code.
func replicationStatus(t *testing.T, api *ecr.Client, repo string, dgst v1.Hash) (string, string) {
	t.Helper()
	out, err := api.DescribeImageReplicationStatus(t.Context(), &ecr.DescribeImageReplicationStatusInput{
		RepositoryName: aws.String(repo), ImageId: &ecrtypes.ImageIdentifier{ImageDigest: aws.String(dgst.String())},
	})
	if err != nil {
		t.Fatalf("DescribeImageReplicationStatus: %v", err)
	}
	if len(out.ReplicationStatuses) != 1 {
		return "", fmt.Sprintf("%d statuses", len(out.ReplicationStatuses))
	}
	s := out.ReplicationStatuses[0]
	return string(s.Status), aws.ToString(s.FailureCode)
}

// TestReplicationBetweenBerths runs two berths with auth on loopback, the
// first replicating prod/ repositories to the second (named in its config
// file): an image, a multi-platform index and a referrer arrive on the
// second with their digests (crane checks); with the second stopped, a
// push stays IN_PROGRESS, survives a restart of the first, and arrives
// once the second is back.
func TestReplicationBetweenBerths(t *testing.T) {
	crane := requireTool(t, "crane")
	// The destination is a berth of region eu-west-1, as the rule names
	// it: its ECR API accepts only signatures scoped to its own region.
	bEnv := []string{"BERTH_AWS_REGION=eu-west-1"}
	b := startBerth(t, bEnv...)
	bKey := b.adminKey(t)
	cfgPath := filepath.Join(t.TempDir(), "berth.yml")
	write(t, cfgPath, fmt.Sprintf(`replication:
  destinations:
    - region: eu-west-1
      registryId: "222222222222"
      endpoint: http://%s
      username: %s
      password: %s
`, b.Addr, bKey.ID, bKey.Secret))
	a := startBerth(t, "BERTH_CONFIG="+cfgPath)
	aKey := a.adminKey(t)
	api := ecrAt(a, aKey)
	ctx := t.Context()
	if _, err := api.PutReplicationConfiguration(ctx, &ecr.PutReplicationConfigurationInput{ReplicationConfiguration: &ecrtypes.ReplicationConfiguration{
		Rules: []ecrtypes.ReplicationRule{{
			Destinations:      []ecrtypes.ReplicationDestination{{Region: aws.String("eu-west-1"), RegistryId: aws.String("222222222222")}},
			RepositoryFilters: []ecrtypes.RepositoryFilter{{Filter: aws.String("prod/"), FilterType: ecrtypes.RepositoryFilterTypePrefixMatch}},
		}},
	}}); err != nil {
		t.Fatal(err)
	}

	img, _ := random.Image(256<<10, 2)
	pushTo(t, a.Addr, "prod/app:v1", aKey, img)
	idx, _ := random.Index(64<<10, 1, 2)
	idxRef, _ := name.ParseReference(a.Addr + "/prod/multi:v1")
	if err := remote.WriteIndex(idxRef, idx, remote.WithAuth(&authn.Basic{Username: aKey.ID, Password: aKey.Secret})); err != nil {
		t.Fatal(err)
	}
	imgDigest, _ := img.Digest()
	size, _ := img.Size()
	mt, _ := img.MediaType()
	sbom := mutate.Subject(mutate.ConfigMediaType(empty.Image, "application/vnd.example.sbom"), v1.Descriptor{Digest: imgDigest, Size: size, MediaType: mt}).(v1.Image)
	sbomDigest, _ := sbom.Digest()
	pushTo(t, a.Addr, "prod/app@"+sbomDigest.String(), aKey, sbom)
	idxDigest, _ := idx.Digest()

	for repo, d := range map[string]v1.Hash{"prod/app": imgDigest, "prod/multi": idxDigest} {
		waitFor(t, 30*time.Second, repo+" replicated", func() bool {
			s, _ := replicationStatus(t, api, repo, d)
			return s == "COMPLETE"
		})
	}
	waitFor(t, 30*time.Second, "the referrer replicated", func() bool {
		s, _ := replicationStatus(t, api, "prod/app", sbomDigest)
		return s == "COMPLETE"
	})
	// The destination's region is not the SDK's default: crane logs in
	// with the access key itself, as replication does.
	loginBasic(t, b.Addr, bKey.ID, bKey.Secret)
	for ref, want := range map[string]v1.Hash{"prod/app:v1": imgDigest, "prod/multi:v1": idxDigest, "prod/app@" + sbomDigest.String(): sbomDigest} {
		if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", b.Addr+"/"+ref)); got != want.String() {
			t.Errorf("crane digest %s on the destination = %s, want %s", ref, got, want)
		}
	}
	run(t, clientTimeout, crane, "pull", "--insecure", "--format=oci", b.Addr+"/prod/multi:v1", filepath.Join(t.TempDir(), "multi"))
	if refs := run(t, clientTimeout, crane, "manifest", "--insecure", b.Addr+"/prod/app@"+sbomDigest.String()); !strings.Contains(refs, imgDigest.String()) {
		t.Errorf("the referrer on the destination lost its subject: %s", refs)
	}

	// The destination stopped: the push is acknowledged and stays
	// IN_PROGRESS, through a restart of the source, until it is back.
	bAddr, bDir := b.Addr, b.DataDir
	b.Stop(t)
	later, _ := random.Image(128<<10, 1)
	pushTo(t, a.Addr, "prod/app:v2", aKey, later)
	laterDigest, _ := later.Digest()
	waitFor(t, 10*time.Second, "a failed attempt", func() bool {
		s, failure := replicationStatus(t, api, "prod/app", laterDigest)
		return s == "IN_PROGRESS" && failure == ""
	})
	a.Stop(t)
	if _, err := launch(t, bAddr, bDir, bEnv); err != nil {
		t.Fatal(err)
	}
	a = startBerthIn(t, a.DataDir, "BERTH_CONFIG="+cfgPath)
	api = ecrAt(a, aKey)
	waitFor(t, 60*time.Second, "prod/app:v2 replicated after the restart", func() bool {
		s, _ := replicationStatus(t, api, "prod/app", laterDigest)
		return s == "COMPLETE"
	})
	if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", bAddr+"/prod/app:v2")); got != laterDigest.String() {
		t.Errorf("after the restart: crane digest = %s, want %s", got, laterDigest)
	}
}
