package pullthrough_test

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkPull pulls a 64 MiB image (4 layers of 16 MiB, fetched in
// parallel as crane does) from a berth upstream with auth, on loopback:
// direct from the upstream, cold through a pull-through cache (a new
// cache each time: every byte comes from the upstream while it is
// stored), and warm from the cache. The ratio of cold to direct is the
// cache's cost; warm is any stored image's pull.
func BenchmarkPull(b *testing.B) {
	const layers, layerSize = 4, 16 << 20
	f := newFixture(b)
	img, err := random.Image(layerSize, layers)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(ref(b, f.upstream, "bench/app:v1"), img, upAuth); err != nil {
		b.Fatal(err)
	}
	size := int64(layers * layerSize)

	b.Run("direct", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			pull(b, f.upstream, "bench/app:v1", upAuth)
		}
	})
	b.Run("cold-through-cache", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			b.StopTimer()
			c := newFixtureWith(b, 0) // the default delay: the client leads
			c.retarget(b, f)
			b.StartTimer()
			pull(b, c.cache, "hub/bench/app:v1")
		}
	})
	b.Run("warm-from-cache", func(b *testing.B) {
		c := newFixture(b)
		c.retarget(b, f)
		pull(b, c.cache, "hub/bench/app:v1")
		c.waitCached(b, "hub/bench/app", "v1")
		b.SetBytes(size)
		b.ResetTimer()
		for b.Loop() {
			pull(b, c.cache, "hub/bench/app:v1")
		}
	})
}
