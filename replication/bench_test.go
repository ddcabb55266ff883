package replication_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// BenchmarkReplicationLag measures the time from a 64 MiB image's push
// (4 layers of 16 MiB) being acknowledged by one berth to its replication
// to another being COMPLETE, both on loopback, the replicator woken by
// the push as in berth serve.
func BenchmarkReplicationLag(b *testing.B) {
	f := newFixture(b)
	go f.rep.Run(b.Context())
	i := 0
	var lags []time.Duration
	b.SetBytes(64 << 20)
	for b.Loop() {
		b.StopTimer()
		img, err := random.Image(16<<20, 4)
		if err != nil {
			b.Fatal(err)
		}
		i++
		repo := fmt.Sprintf("lag%d", i)
		b.StartTimer()
		if err := remote.Write(f.a.ref(b, repo+":v1"), img); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		d, _ := img.Digest()
		for {
			rs, err := f.a.store.ReplicationStatuses(b.Context(), repo, digest.Digest(d.String()))
			if err != nil {
				b.Fatal(err)
			}
			done := false
			for _, r := range rs {
				if r.Destination == "eu-west-1/222222222222" && r.Status == metadata.ReplicationComplete {
					done = true
				}
			}
			if done {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		lags = append(lags, time.Since(start))
	}
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Milliseconds()), "median-lag-ms")
}
