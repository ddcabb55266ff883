package ecr_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/ecr"
)

func TestCreateAndDescribeRepository(t *testing.T) {
	client, _, srv := newAPI(t)
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	out, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{
		RepositoryName:     aws.String("team/app"),
		ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{
			{FilterType: types.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("dev-*")},
		},
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true},
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeKms, KmsKey: aws.String("arn:aws:kms:eu-west-1:123456789012:key/k")},
		Tags:                       []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Repository
	host := strings.TrimPrefix(srv.URL, "http://")
	if aws.ToString(r.RepositoryArn) != "arn:aws:ecr:eu-west-1:123456789012:repository/team/app" ||
		aws.ToString(r.RegistryId) != account || aws.ToString(r.RepositoryName) != "team/app" ||
		aws.ToString(r.RepositoryUri) != host+"/team/app" ||
		r.ImageTagMutability != types.ImageTagMutabilityImmutableWithExclusion ||
		len(r.ImageTagMutabilityExclusionFilters) != 1 || aws.ToString(r.ImageTagMutabilityExclusionFilters[0].Filter) != "dev-*" ||
		!r.ImageScanningConfiguration.ScanOnPush ||
		r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeKms || aws.ToString(r.EncryptionConfiguration.KmsKey) == "" ||
		aws.ToTime(r.CreatedAt).Before(before) {
		t.Errorf("CreateRepository = %+v", r)
	}

	// Defaults: MUTABLE, AES256, no scan on push.
	out, err = client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Repository; r.ImageTagMutability != types.ImageTagMutabilityMutable || r.EncryptionConfiguration.EncryptionType != types.EncryptionTypeAes256 || r.ImageScanningConfiguration.ScanOnPush {
		t.Errorf("defaults = %+v", r)
	}

	_, err = client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("plain")})
	assertMessage(t, err, "RepositoryAlreadyExistsException", "The repository with name 'plain' already exists in the registry with id '123456789012'")
	for name, in := range map[string]*sdkecr.CreateRepositoryInput{
		"bad mutability":            {RepositoryName: aws.String("x1"), ImageTagMutability: "SOMETIMES"},
		"exclusion without filters": {RepositoryName: aws.String("x2"), ImageTagMutability: types.ImageTagMutabilityMutableWithExclusion},
		"filters without exclusion": {RepositoryName: aws.String("x3"), ImageTagMutability: types.ImageTagMutabilityImmutable, ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{{FilterType: "WILDCARD", Filter: aws.String("a")}}},
		"bad filter":                {RepositoryName: aws.String("x4"), ImageTagMutability: types.ImageTagMutabilityImmutableWithExclusion, ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{{FilterType: "WILDCARD", Filter: aws.String("a/b")}}},
		"bad encryption":            {RepositoryName: aws.String("x5"), EncryptionConfiguration: &types.EncryptionConfiguration{EncryptionType: "ROT13"}},
		"bad name":                  {RepositoryName: aws.String("Team")},
	} {
		_, err := client.CreateRepository(ctx, in)
		var want = "InvalidParameterException"
		if name == "bad mutability" || name == "bad filter" || name == "bad encryption" || name == "bad name" {
			want = "ValidationException"
		}
		if !hasCode(err, want) {
			t.Errorf("%s: %v; want %s", name, err, want)
		}
	}

	got, err := client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"plain", "team/app"}})
	if err != nil || len(got.Repositories) != 2 || aws.ToString(got.Repositories[1].RepositoryName) != "team/app" {
		t.Fatalf("DescribeRepositories(names) = %+v, %v", got, err)
	}
	_, err = client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"plain", "nope"}})
	assertMessage(t, err, "RepositoryNotFoundException", "The repository with name 'nope' does not exist in the registry with id '123456789012'")
}

func TestDescribeRepositoriesPages(t *testing.T) {
	client, _, _ := newAPI(t)
	ctx := t.Context()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("repo-%d", i)
		want = append(want, name)
		if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	pages := 0
	p := sdkecr.NewDescribeRepositoriesPaginator(client, &sdkecr.DescribeRepositoriesInput{MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range page.Repositories {
			got = append(got, aws.ToString(r.RepositoryName))
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || pages != 3 {
		t.Errorf("pages %d gave %v; want 3 pages of %v", pages, got, want)
	}

	first, err := client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{MaxResults: aws.Int32(3)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	_, err = client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{NextToken: aws.String(*first.NextToken + "x")})
	assertCode(t, err, "InvalidParameterException")
	_, err = client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{NextToken: first.NextToken, RepositoryNames: []string{"repo-1"}})
	assertCode(t, err, "InvalidParameterException")
	_, err = client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1001)})
	assertCode(t, err, "ValidationException")
	// A token of one operation does not work for another.
	_, err = client.ListImages(ctx, &sdkecr.ListImagesInput{RepositoryName: aws.String("repo-1"), NextToken: first.NextToken})
	assertCode(t, err, "InvalidParameterException")
}

func TestRepositorySettingsAndTags(t *testing.T) {
	client, _, _ := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	created, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name, Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := created.Repository.RepositoryArn

	m, err := client.PutImageTagMutability(ctx, &sdkecr.PutImageTagMutabilityInput{
		RepositoryName: name, ImageTagMutability: types.ImageTagMutabilityMutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []types.ImageTagMutabilityExclusionFilter{{FilterType: "WILDCARD", Filter: aws.String("release-*")}},
	})
	if err != nil || m.ImageTagMutability != types.ImageTagMutabilityMutableWithExclusion || len(m.ImageTagMutabilityExclusionFilters) != 1 {
		t.Fatalf("PutImageTagMutability = %+v, %v", m, err)
	}
	s, err := client.PutImageScanningConfiguration(ctx, &sdkecr.PutImageScanningConfigurationInput{RepositoryName: name, ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil || !s.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("PutImageScanningConfiguration = %+v, %v", s, err)
	}
	d, err := client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"app"}})
	if err != nil || d.Repositories[0].ImageTagMutability != types.ImageTagMutabilityMutableWithExclusion || !d.Repositories[0].ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("after the changes: %+v, %v", d, err)
	}

	if _, err := client.TagResource(ctx, &sdkecr.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("a"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UntagResource(ctx, &sdkecr.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := client.ListTagsForResource(ctx, &sdkecr.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "a" || aws.ToString(tags.Tags[0].Value) != "3" {
		t.Fatalf("ListTagsForResource = %+v, %v", tags, err)
	}
	var many []types.Tag
	for i := range 50 {
		many = append(many, types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
	}
	_, err = client.TagResource(ctx, &sdkecr.TagResourceInput{ResourceArn: arn, Tags: many})
	assertCode(t, err, "TooManyTagsException")
	_, err = client.ListTagsForResource(ctx, &sdkecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:eu-west-1:123456789012:repository/nope")})
	assertCode(t, err, "RepositoryNotFoundException")
	_, err = client.ListTagsForResource(ctx, &sdkecr.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:s3:::bucket")})
	assertCode(t, err, "InvalidParameterException")

	reg, err := client.DescribeRegistry(ctx, &sdkecr.DescribeRegistryInput{})
	if err != nil || aws.ToString(reg.RegistryId) != account {
		t.Errorf("DescribeRegistry = %+v, %v", reg, err)
	}
}

func TestDeleteRepository(t *testing.T) {
	client, _, srv := newAPI(t)
	ctx := t.Context()
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	pushImage(t, srv.URL, "app", "v1", "one")
	_, err := client.DeleteRepository(ctx, &sdkecr.DeleteRepositoryInput{RepositoryName: aws.String("app")})
	assertMessage(t, err, "RepositoryNotEmptyException", "The repository with name 'app' in registry with id '123456789012' cannot be deleted because it still contains images")
	out, err := client.DeleteRepository(ctx, &sdkecr.DeleteRepositoryInput{RepositoryName: aws.String("app"), Force: true})
	if err != nil || aws.ToString(out.Repository.RepositoryName) != "app" {
		t.Fatalf("DeleteRepository(force) = %+v, %v", out, err)
	}
	_, err = client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"app"}})
	assertCode(t, err, "RepositoryNotFoundException")
	_, err = client.DeleteRepository(ctx, &sdkecr.DeleteRepositoryInput{RepositoryName: aws.String("app")})
	assertCode(t, err, "RepositoryNotFoundException")
}

// A nextToken outlives the process that made it: the key is in the index,
// so a restarted (or another) server over the same index accepts it.
func TestNextTokenSurvivesRestart(t *testing.T) {
	client, store, _ := newAPI(t)
	ctx := t.Context()
	for _, name := range []string{"aa", "bb", "cc"} {
		if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	restarted, err := ecr.New(ctx, store, nil, ecr.Config{AccountID: account, Access: allowAll{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, restarted, nil)
	other := sdkecr.New(sdkecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: client.Options().Credentials})
	next, err := other.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{NextToken: first.NextToken})
	if err != nil || len(next.Repositories) != 1 || aws.ToString(next.Repositories[0].RepositoryName) != "cc" {
		t.Errorf("second page from the restarted server = %+v, %v", next, err)
	}
}
