package auth_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/secret"
)

// BenchmarkManifestHEAD measures what access control costs a manifest
// HEAD, the request docker sends most, over real loopback HTTP against the
// SQLite index: with access control off, with an ECR token as Basic
// credentials (docker after `docker login`), with a Docker token-flow
// Bearer token, and with an access key and secret as Basic credentials.
// It reports the p50 and p99 latency besides the mean.
//
//	go test -run '^$' -bench ManifestHEAD -count 5 ./auth/
func BenchmarkManifestHEAD(b *testing.B) {
	cases := []struct {
		name  string
		open  bool
		login func(f *fixture, k secret.AccessKey) string
	}{
		{"open", true, func(*fixture, secret.AccessKey) string { return "" }},
		{"ecr-token", false, func(f *fixture, k secret.AccessKey) string { return basic(f.token(k)) }},
		{"bearer", false, func(f *fixture, k secret.AccessKey) string {
			_, body := f.expect(http.StatusOK, "GET", "/token?scope=repository:team/app:pull", keyBasic(k), nil)
			return "Bearer " + jsonField(f.t, body, "token")
		}},
		{"access-key", false, func(_ *fixture, k secret.AccessKey) string { return keyBasic(k) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			f := newFixture(b, func(cfg *auth.Config) { cfg.Open = c.open })
			k := f.user("admin", "full-access")
			f.push(basic(f.token(k)), "team/app", "v1")
			authorization := c.login(f, k)
			req, _ := http.NewRequest(http.MethodHead, f.srv.URL+"/v2/team/app/manifests/v1", nil)
			req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
			if authorization != "" {
				req.Header.Set("Authorization", authorization)
			}
			client := f.srv.Client()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("HEAD: %s", resp.Status)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
