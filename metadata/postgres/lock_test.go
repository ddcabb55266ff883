package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata/postgres"
)

// Of three replicas seeking the same work, one runs it at a time; when
// the one running it stops (as a replica that dies closes its
// connections), another takes it over.
func TestExclusively(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	var running, most, runs atomic.Int32
	started := make(chan int, 10)
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, 3)
	for i := range cancels {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancels[i] = cancel
		wg.Go(func() {
			defer s.Close()
			s.Exclusively(ctx, "gc", 50*time.Millisecond, func(ctx context.Context) {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				runs.Add(1)
				started <- i
				<-ctx.Done()
				running.Add(-1)
			})
		})
	}
	t.Cleanup(func() {
		for _, c := range cancels {
			c()
		}
		wg.Wait()
	})
	first := <-started
	time.Sleep(300 * time.Millisecond) // several retries of the others
	if n := runs.Load(); n != 1 {
		t.Fatalf("%d runs while the first holder runs; want 1", n)
	}
	cancels[first]()
	select {
	case next := <-started:
		if next == first {
			t.Errorf("replica %d took the work again after it stopped", next)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no other replica took the work over")
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d replicas ran the work at once; want 1", m)
	}
}
