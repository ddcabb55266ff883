package docker_test

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
)

// A running container's memory peak is what its process touched; an
// unknown container is ErrNotFound.
func TestMemoryPeak(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	id := start(t, rt, launcher.Spec{Cmd: []string{"sleep"}, Owner: owner(t, "app"), Network: launcher.NetworkNone,
		Limits: launcher.Limits{Memory: 64 << 20}})
	// From this machine's cgroups, and from the engine as when it runs
	// elsewhere.
	for name, rt := range map[string]*docker.Runtime{"cgroup": rt, "engine": docker.ThroughEngine(rt)} {
		peak, err := rt.MemoryPeak(t.Context(), id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// A Go program that sleeps holds some hundreds of KiB, never the limit.
		if peak == 0 || peak >= 64<<20 {
			t.Errorf("%s: MemoryPeak = %d; want above 0 and below the 64 MiB limit", name, peak)
		}
		if _, err := rt.MemoryPeak(t.Context(), "no-such-container"); !errors.Is(err, launcher.ErrNotFound) {
			t.Errorf("%s: MemoryPeak(unknown) = %v; want ErrNotFound", name, err)
		}
	}
}

// BenchmarkMemoryPeak: one stats sample of a running container.
func BenchmarkMemoryPeak(b *testing.B) {
	rt, err := engine()
	if err != nil {
		b.Skip(err)
	}
	ref, err := testImage()
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	id, err := rt.Create(ctx, launcher.Spec{Image: ref, Cmd: []string{"sleep"}, Network: launcher.NetworkNone, Owner: launcher.Owner{Service: "test", Task: "bench-stats"}})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Remove(ctx, id)
	if err := rt.Start(ctx, id); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := rt.MemoryPeak(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}
