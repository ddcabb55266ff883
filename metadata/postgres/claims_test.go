package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/postgres"
)

// While one replica holds a claim another passes the work by, without
// waiting; once the holder is done the claim is free again.
func TestTryExclusively(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	var stores [2]*postgres.Store
	for i := range stores {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	var _ metadata.Claimer = stores[0]
	ran, err := stores[0].TryExclusively(t.Context(), "scan:app", time.Second, func(ctx context.Context) {
		other, err := stores[1].TryExclusively(ctx, "scan:app", time.Second, func(context.Context) {})
		if err != nil || other {
			t.Errorf("the other replica's try while the claim is held = %v, %v; want false", other, err)
		}
		if free, err := stores[1].TryExclusively(ctx, "scan:other", time.Second, func(context.Context) {}); err != nil || !free {
			t.Errorf("a claim of another name = %v, %v; want true", free, err)
		}
	})
	if err != nil || !ran {
		t.Fatalf("TryExclusively = %v, %v; want true", ran, err)
	}
	if again, err := stores[1].TryExclusively(t.Context(), "scan:app", time.Second, func(context.Context) {}); err != nil || !again {
		t.Errorf("after the holder is done = %v, %v; want true", again, err)
	}
}

// What a claim adds to each piece of work it guards (a scan, a
// replication, a tag's re-check): taking and freeing a free claim.
func BenchmarkTryExclusively(b *testing.B) {
	s, err := postgres.Open(b.Context(), pgtest.Shared(b).NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fn := func(context.Context) {}
	for b.Loop() {
		if ran, err := s.TryExclusively(b.Context(), "scan:app", 10*time.Second, fn); err != nil || !ran {
			b.Fatal(ran, err)
		}
	}
}
