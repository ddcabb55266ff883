package auth_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth-dev/berth/metadata"
)

// BenchmarkListing10k measures the listings that evaluate a policy per
// repository, over 10,000 repositories (every 50th with a repository
// policy) for a signed-in user who may see one of them, so each request
// evaluates all 10,000: GET /v2/_catalog and DescribeRepositories (the
// real SDK). It reports p50 and p99 latency; docs/benchmarks-auth.md has
// the figures.
//
//	go test -run '^$' -bench Listing10k -benchtime 20x ./auth/
func BenchmarkListing10k(b *testing.B) {
	f := newFixture(b)
	ctx := b.Context()
	now := time.Now()
	for i := range 10000 {
		name := fmt.Sprintf("team%02d/app%05d", i%100, i)
		if err := f.store.CreateRepository(ctx, metadata.Repository{Name: name, CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		if i%50 == 0 {
			policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::` + account + `:user/intruder"},"Action":"ecr:*"}]}`
			if err := f.store.SetRepositoryPolicy(ctx, name, policy); err != nil {
				b.Fatal(err)
			}
		}
	}
	k := f.user("one", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:us-east-1:`+account+`:repository/team07/app00007"},`+
		`{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}`)
	login := basic(f.token(k))
	client := f.ecrClient(k.ID, k.Secret)

	measure := func(b *testing.B, do func()) {
		lat := make([]time.Duration, 0, b.N)
		for b.Loop() {
			start := time.Now()
			do()
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.Run("catalog", func(b *testing.B) {
		measure(b, func() {
			_, body := f.expect(http.StatusOK, "GET", "/v2/_catalog", login, nil)
			if !strings.Contains(body, "team07/app00007") {
				b.Fatalf("catalog = %s", body)
			}
		})
	})
	b.Run("DescribeRepositories", func(b *testing.B) {
		measure(b, func() {
			out, err := client.DescribeRepositories(ctx, &sdkecr.DescribeRepositoriesInput{MaxResults: aws.Int32(100)})
			if err != nil || len(out.Repositories) != 1 {
				b.Fatalf("DescribeRepositories = %v, %v", out, err)
			}
		})
	})
}
