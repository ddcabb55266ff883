package ecr_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// BenchmarkListings measures the ECR listings over a large index through
// the real SDK and HTTP: the first DescribeImages page and a full
// ListImages pagination (default page size, 100) of a repository of
// 10,000 tagged images, and a full DescribeRepositories pagination over
// 5,000 repositories. Seeding writes the index directly; the listings
// read only the index, never the blob store.
//
//	go test -run '^$' -bench Listings -benchtime 20x ./ecr/
func BenchmarkListings(b *testing.B) {
	const images, repositories = 10000, 5000
	client, store, _ := newAPI(b)
	ctx := b.Context()
	layer := metadata.Blob{Digest: digest.FromString("layer"), Size: 1 << 20, Location: "x"}
	if _, err := store.PutBlob(ctx, "big", layer); err != nil {
		b.Fatal(err)
	}
	for i := range images {
		body := fmt.Appendf(nil, `{"schemaVersion":2,"n":%d}`, i)
		m := metadata.Manifest{
			Repository: "big", Digest: digest.FromBytes(body), Content: body,
			MediaType:  "application/vnd.oci.image.manifest.v1+json",
			References: []metadata.Reference{{Digest: layer.Digest, Kind: metadata.RefBlob}},
		}
		if err := store.PutManifest(ctx, m, []string{fmt.Sprintf("v%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range repositories {
		if err := store.CreateRepository(ctx, metadata.Repository{Name: fmt.Sprintf("repo-%04d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	name := aws.String("big")

	b.Run("DescribeImages-first-page", func(b *testing.B) {
		for b.Loop() {
			out, err := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name})
			if err != nil || len(out.ImageDetails) != 100 {
				b.Fatalf("%d images, %v", len(out.ImageDetails), err)
			}
		}
		reportMS(b)
	})
	b.Run("ListImages-all-pages", func(b *testing.B) {
		for b.Loop() {
			n := 0
			p := sdkecr.NewListImagesPaginator(client, &sdkecr.ListImagesInput{RepositoryName: name})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n += len(page.ImageIds)
			}
			if n != images {
				b.Fatalf("listed %d images; want %d", n, images)
			}
		}
		reportMS(b)
	})
	b.Run("DescribeRepositories-all-pages", func(b *testing.B) {
		for b.Loop() {
			n := 0
			p := sdkecr.NewDescribeRepositoriesPaginator(client, &sdkecr.DescribeRepositoriesInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				n += len(page.Repositories)
			}
			if n != repositories+1 {
				b.Fatalf("listed %d repositories; want %d", n, repositories+1)
			}
		}
		reportMS(b)
	})
}

// reportMS adds the mean time per operation in milliseconds.
func reportMS(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "ms/op")
}
