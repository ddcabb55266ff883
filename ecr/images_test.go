package ecr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/metadata"
)

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociIndex    = "application/vnd.oci.image.index.v1+json"
	ociConfig   = "application/vnd.oci.image.config.v1+json"
)

// pushed is an image pushed through /v2/.
type pushed struct {
	manifest []byte
	digest   digest.Digest
	size     int64 // config + layer
}

// imageManifest returns an OCI manifest of config and layer blobs.
func imageManifest(config, layer []byte) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}]}`,
		ociManifest, ociConfig, digest.FromBytes(config), len(config), digest.FromBytes(layer), len(layer))
}

// pushImage pushes a one-layer image whose layer is made from seed to
// repo:tag (no tag when tag is empty) through the registry.
func pushImage(t *testing.T, base, repo, tag, seed string) pushed {
	t.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`)
	layer := bytes.Repeat([]byte(seed), 100)
	for _, b := range [][]byte{config, layer} {
		send(t, "POST", base+"/v2/"+repo+"/blobs/uploads/?digest="+digest.FromBytes(b).String(), "", b, http.StatusCreated)
	}
	m := imageManifest(config, layer)
	ref := tag
	if ref == "" {
		ref = digest.FromBytes(m).String()
	}
	send(t, "PUT", base+"/v2/"+repo+"/manifests/"+ref, ociManifest, m, http.StatusCreated)
	return pushed{m, digest.FromBytes(m), int64(len(config) + len(layer))}
}

func send(t *testing.T, method, url, contentType string, body []byte, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s; want %d", method, url, resp.Status, want)
	}
}

func TestListAndDescribeImages(t *testing.T) {
	client, _, srv := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	one := pushImage(t, srv.URL, "app", "v1", "one")
	send(t, "PUT", srv.URL+"/v2/app/manifests/latest", ociManifest, one.manifest, http.StatusCreated)
	two := pushImage(t, srv.URL, "app", "v2", "two")
	untagged := pushImage(t, srv.URL, "app", "", "three")

	// ListImages: one entry per tag, one per untagged image.
	list := func(status types.TagStatus, max int32) []string {
		var out []string
		p := sdkecr.NewListImagesPaginator(client, &sdkecr.ListImagesInput{RepositoryName: name, MaxResults: aws.Int32(max), Filter: &types.ListImagesFilter{TagStatus: status}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range page.ImageIds {
				out = append(out, aws.ToString(id.ImageDigest)+"@"+aws.ToString(id.ImageTag))
			}
		}
		slices.Sort(out)
		return out
	}
	all := []string{one.digest.String() + "@latest", one.digest.String() + "@v1", two.digest.String() + "@v2", untagged.digest.String() + "@"}
	slices.Sort(all)
	for _, max := range []int32{1, 2, 100} {
		if got := list(types.TagStatusAny, max); !slices.Equal(got, all) {
			t.Errorf("ListImages(ANY, %d) = %v; want %v", max, got, all)
		}
	}
	if got := list(types.TagStatusUntagged, 10); !slices.Equal(got, []string{untagged.digest.String() + "@"}) {
		t.Errorf("ListImages(UNTAGGED) = %v", got)
	}
	if got := list(types.TagStatusTagged, 10); len(got) != 3 {
		t.Errorf("ListImages(TAGGED) = %v", got)
	}

	// DescribeImages: every field.
	out, err := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("latest")}}})
	if err != nil {
		t.Fatal(err)
	}
	d := out.ImageDetails[0]
	if aws.ToString(d.ImageDigest) != one.digest.String() || !slices.Equal(d.ImageTags, []string{"latest", "v1"}) ||
		aws.ToInt64(d.ImageSizeInBytes) != one.size || aws.ToTime(d.ImagePushedAt).Before(before) ||
		aws.ToString(d.ImageManifestMediaType) != ociManifest || aws.ToString(d.ArtifactMediaType) != ociConfig ||
		aws.ToString(d.RegistryId) != account || aws.ToString(d.RepositoryName) != "app" || d.ImageStatus != types.ImageStatusActive {
		t.Errorf("DescribeImages = %+v", d)
	}
	var seen int
	p := sdkecr.NewDescribeImagesPaginator(client, &sdkecr.DescribeImagesInput{RepositoryName: name, MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(page.ImageDetails)
	}
	if seen != 3 {
		t.Errorf("DescribeImages pages gave %d images; want 3", seen)
	}
	untaggedOnly, err := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name, Filter: &types.DescribeImagesFilter{TagStatus: types.TagStatusUntagged}})
	if err != nil || len(untaggedOnly.ImageDetails) != 1 || aws.ToString(untaggedOnly.ImageDetails[0].ImageDigest) != untagged.digest.String() {
		t.Errorf("DescribeImages(UNTAGGED) = %+v, %v", untaggedOnly, err)
	}
	// Paged through a filter: the index answers each page, so a page is
	// full whatever the filter skips.
	var tagged []string
	p = sdkecr.NewDescribeImagesPaginator(client, &sdkecr.DescribeImagesInput{RepositoryName: name, MaxResults: aws.Int32(1),
		Filter: &types.DescribeImagesFilter{TagStatus: types.TagStatusTagged}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.ImageDetails) != 1 {
			t.Errorf("a DescribeImages(TAGGED) page of 1 has %d images", len(page.ImageDetails))
		}
		for _, d := range page.ImageDetails {
			tagged = append(tagged, aws.ToString(d.ImageDigest))
		}
	}
	slices.Sort(tagged)
	wantTagged := []string{one.digest.String(), two.digest.String()}
	slices.Sort(wantTagged)
	if !slices.Equal(tagged, wantTagged) {
		t.Errorf("DescribeImages(TAGGED) pages = %v; want %v", tagged, wantTagged)
	}
	// Image ids: each image once, in the order first named.
	byIDs, err := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{
		{ImageDigest: aws.String(untagged.digest.String())}, {ImageTag: aws.String("v1")}, {ImageTag: aws.String("latest")}, {ImageTag: aws.String("v2")}}})
	var order []string
	if err == nil {
		for _, d := range byIDs.ImageDetails {
			order = append(order, aws.ToString(d.ImageDigest))
		}
	}
	if want := []string{untagged.digest.String(), one.digest.String(), two.digest.String()}; err != nil || !slices.Equal(order, want) {
		t.Errorf("DescribeImages(imageIds) = %v, %v; want %v", order, err, want)
	}
	_, err = client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v9")}}})
	assertMessage(t, err, "ImageNotFoundException", "The image with imageId {imageDigest:'null', imageTag:'v9'} does not exist within the repository with name 'app' in the registry with id '123456789012'")
	_, err = client.ListImages(ctx, &sdkecr.ListImagesInput{RepositoryName: aws.String("nope")})
	assertCode(t, err, "RepositoryNotFoundException")

	// A pull through /v2/ shows up as lastRecordedPullTime once recorded;
	// the registry batches it, so it is not asserted here.
}

func TestBatchGetImage(t *testing.T) {
	client, _, srv := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	one := pushImage(t, srv.URL, "app", "v1", "one")
	two := pushImage(t, srv.URL, "app", "v2", "two")

	out, err := client.BatchGetImage(ctx, &sdkecr.BatchGetImageInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{
		{ImageTag: aws.String("v1")},
		{ImageDigest: aws.String(two.digest.String())},
		{ImageTag: aws.String("v9")},
		{ImageTag: aws.String("v1"), ImageDigest: aws.String(two.digest.String())},
		{},
		{ImageDigest: aws.String("sha256:zz")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 || aws.ToString(out.Images[0].ImageManifest) != string(one.manifest) ||
		aws.ToString(out.Images[0].ImageId.ImageDigest) != one.digest.String() || aws.ToString(out.Images[0].ImageManifestMediaType) != ociManifest {
		t.Errorf("images = %+v", out.Images)
	}
	var codes []string
	for _, f := range out.Failures {
		codes = append(codes, string(f.FailureCode))
	}
	if want := []string{"ImageNotFound", "ImageTagDoesNotMatchDigest", "MissingDigestAndTag", "InvalidImageDigest"}; !slices.Equal(codes, want) {
		t.Errorf("failure codes = %v; want %v", codes, want)
	}

	out, err = client.BatchGetImage(ctx, &sdkecr.BatchGetImageInput{RepositoryName: name, ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}},
		AcceptedMediaTypes: []string{"application/vnd.docker.distribution.manifest.v2+json"}})
	if err != nil || len(out.Images) != 0 || len(out.Failures) != 1 {
		t.Errorf("BatchGetImage with unaccepted media type = %+v, %v", out, err)
	}
	_, err = client.BatchGetImage(ctx, &sdkecr.BatchGetImageInput{RepositoryName: aws.String("nope"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	assertCode(t, err, "RepositoryNotFoundException")
}

func TestPutImage(t *testing.T) {
	client, _, srv := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	one := pushImage(t, srv.URL, "app", "v1", "one")

	// Retag: the same manifest under a new tag.
	out, err := client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(string(one.manifest)), ImageTag: aws.String("stable")})
	if err != nil || aws.ToString(out.Image.ImageId.ImageDigest) != one.digest.String() || aws.ToString(out.Image.ImageId.ImageTag) != "stable" {
		t.Fatalf("PutImage(retag) = %+v, %v", out, err)
	}
	send(t, "HEAD", srv.URL+"/v2/app/manifests/stable", "", nil, http.StatusOK)
	_, err = client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(string(one.manifest)), ImageTag: aws.String("stable")})
	assertMessage(t, err, "ImageAlreadyExistsException", fmt.Sprintf("Image with digest '%s' and tag 'stable' already exists in the repository with name 'app' in registry with id '123456789012'", one.digest))

	_, err = client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(string(one.manifest)), ImageDigest: aws.String(digest.FromString("other").String())})
	assertCode(t, err, "ImageDigestDoesNotMatchException")
	missing := imageManifest([]byte("no config"), []byte("no layer"))
	_, err = client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(string(missing)), ImageTag: aws.String("broken")})
	assertCode(t, err, "LayersNotFoundException")
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":10}]}`, ociIndex, ociManifest, digest.FromString("absent"))
	_, err = client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(index), ImageTag: aws.String("multi")})
	assertCode(t, err, "ReferencedImagesNotFoundException")
	_, err = client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String("{not json"), ImageTag: aws.String("bad")})
	assertCode(t, err, "InvalidParameterException")
	_, err = client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: aws.String("nope"), ImageManifest: aws.String(string(one.manifest))})
	assertCode(t, err, "RepositoryNotFoundException")

	// Immutable: the tag cannot move, on the API as on /v2/.
	if _, err := client.PutImageTagMutability(ctx, &sdkecr.PutImageTagMutabilityInput{RepositoryName: name, ImageTagMutability: types.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	two := pushImage(t, srv.URL, "app", "", "two")
	_, err = client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(string(two.manifest)), ImageTag: aws.String("v1")})
	assertMessage(t, err, "ImageTagAlreadyExistsException", "The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the repository is immutable.")
}

func TestBatchDeleteImage(t *testing.T) {
	client, store, srv := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	one := pushImage(t, srv.URL, "app", "v1", "one")
	send(t, "PUT", srv.URL+"/v2/app/manifests/latest", ociManifest, one.manifest, http.StatusCreated)
	child := pushImage(t, srv.URL, "app", "child", "two")
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":%d}]}`, ociIndex, ociManifest, child.digest, len(child.manifest))
	send(t, "PUT", srv.URL+"/v2/app/manifests/multi", ociIndex, []byte(index), http.StatusCreated)

	del := func(ids ...types.ImageIdentifier) *sdkecr.BatchDeleteImageOutput {
		t.Helper()
		out, err := client.BatchDeleteImage(ctx, &sdkecr.BatchDeleteImageInput{RepositoryName: name, ImageIds: ids})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// By tag with another tag left: only the tag goes.
	out := del(types.ImageIdentifier{ImageTag: aws.String("latest")})
	if len(out.ImageIds) != 1 || len(out.Failures) != 0 {
		t.Errorf("delete latest = %+v", out)
	}
	send(t, "HEAD", srv.URL+"/v2/app/manifests/"+one.digest.String(), "", nil, http.StatusOK)
	// The last tag takes the image with it.
	del(types.ImageIdentifier{ImageTag: aws.String("v1")})
	send(t, "HEAD", srv.URL+"/v2/app/manifests/"+one.digest.String(), "", nil, http.StatusNotFound)

	// An image an index references is not deleted by digest.
	out = del(types.ImageIdentifier{ImageDigest: aws.String(child.digest.String())}, types.ImageIdentifier{ImageTag: aws.String("gone")})
	if len(out.Failures) != 2 || out.Failures[0].FailureCode != types.ImageFailureCodeImageReferencedByManifestList || out.Failures[1].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Errorf("failures = %+v", out.Failures)
	}
	// Deleting the index first frees it.
	del(types.ImageIdentifier{ImageTag: aws.String("multi")})
	out = del(types.ImageIdentifier{ImageDigest: aws.String(child.digest.String())})
	if len(out.ImageIds) != 1 || aws.ToString(out.ImageIds[0].ImageTag) != "child" {
		t.Errorf("delete child by digest = %+v", out)
	}
	if images, _ := store.Images(ctx, "app", metadata.AnyImage(), "", 10); len(images) != 0 {
		t.Errorf("images left: %v", images)
	}
}

func hasCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// ListImageReferrers lists an image's signatures and SBOMs, filtered by
// artifact type and paged.
func TestListImageReferrers(t *testing.T) {
	client, _, srv := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	img := pushImage(t, srv.URL, "app", "v1", "a")
	empty := []byte("{}")
	send(t, "POST", srv.URL+"/v2/app/blobs/uploads/?digest="+digest.FromBytes(empty).String(), "", empty, http.StatusCreated)
	for _, typ := range []string{"application/vnd.example.sbom", "application/vnd.example.signature", "application/vnd.example.signature"} {
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":%q,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":2},"layers":[],"subject":{"mediaType":%q,"digest":%q,"size":%d},"annotations":{"n":%q}}`,
			ociManifest, typ, digest.FromBytes(empty), ociManifest, img.digest, len(img.manifest), typ+fmt.Sprint(time.Now().UnixNano()))
		send(t, "PUT", srv.URL+"/v2/app/manifests/"+digest.FromString(m).String(), ociManifest, []byte(m), http.StatusCreated)
	}
	subject := &types.SubjectIdentifier{ImageDigest: aws.String(img.digest.String())}
	all, err := client.ListImageReferrers(ctx, &sdkecr.ListImageReferrersInput{RepositoryName: name, SubjectId: subject})
	if err != nil || len(all.Referrers) != 3 {
		t.Fatalf("ListImageReferrers = %+v, %v", all, err)
	}
	var sigs int
	in := &sdkecr.ListImageReferrersInput{RepositoryName: name, SubjectId: subject, MaxResults: aws.Int32(1),
		Filter: &types.ListImageReferrersFilter{ArtifactTypes: []string{"application/vnd.example.signature"}}}
	for pages := 0; pages == 0 || in.NextToken != nil; pages++ {
		page, err := client.ListImageReferrers(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		in.NextToken = page.NextToken
		for _, r := range page.Referrers {
			if aws.ToString(r.ArtifactType) != "application/vnd.example.signature" || r.ArtifactStatus != types.ArtifactStatusActive {
				t.Errorf("referrer %+v", r)
			}
			sigs++
		}
	}
	if sigs != 2 {
		t.Errorf("signatures listed: %d; want 2", sigs)
	}
}

// brokenManifests is the index with manifest reads failing, as a lost
// disk or database connection would make them fail.
type brokenManifests struct {
	ecr.Store
	err error
}

func (b brokenManifests) Manifest(context.Context, string, string) (metadata.Manifest, error) {
	return metadata.Manifest{}, b.err
}

// An image id the index cannot look up is the server's failure, not the
// client's: every operation that resolves image ids answers
// ServerException (500) and logs why, where it answered a 400 or a
// per-image ImageInaccessible failure before.
func TestResolveStoreError(t *testing.T) {
	_, store, srv := newAPI(t)
	ctx := t.Context()
	if err := store.CreateRepository(ctx, metadata.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	img := pushImage(t, srv.URL, "app", "v1", "one")
	var logs bytes.Buffer
	broken := brokenManifests{store, errors.New("the index is unreachable")}
	api, err := ecr.New(ctx, broken, nil, ecr.Config{AccountID: account, Access: allowAll{}, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	brokenSrv := serve(t, api, nil)
	client := clientOf(brokenSrv.URL)
	name := aws.String("app")
	byTag := []types.ImageIdentifier{{ImageTag: aws.String("v1")}}
	byDigest := &types.ImageIdentifier{ImageDigest: aws.String(img.digest.String())}
	for op, call := range map[string]func() error{
		"BatchGetImage": func() error {
			_, err := client.BatchGetImage(ctx, &sdkecr.BatchGetImageInput{RepositoryName: name, ImageIds: byTag})
			return err
		},
		"BatchDeleteImage": func() error {
			_, err := client.BatchDeleteImage(ctx, &sdkecr.BatchDeleteImageInput{RepositoryName: name, ImageIds: byTag})
			return err
		},
		"DescribeImages": func() error {
			_, err := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name, ImageIds: byTag})
			return err
		},
		"DescribeImageScanFindings": func() error {
			_, err := client.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: name, ImageId: byDigest})
			return err
		},
		"UpdateImageStorageClass": func() error {
			_, err := client.UpdateImageStorageClass(ctx, &sdkecr.UpdateImageStorageClassInput{RepositoryName: name, ImageId: byDigest, TargetStorageClass: types.TargetStorageClassArchive})
			return err
		},
	} {
		logs.Reset()
		err := call()
		var server *types.ServerException
		if !errors.As(err, &server) {
			t.Errorf("%s with the index failing: %v; want ServerException", op, err)
		}
		if !strings.Contains(logs.String(), "the index is unreachable") {
			t.Errorf("%s: the store error was not logged:\n%s", op, logs.String())
		}
	}
	// Nothing was deleted on the way.
	if _, err := store.Manifest(ctx, "app", "v1"); err != nil {
		t.Errorf("the image after the failed calls: %v", err)
	}
}
