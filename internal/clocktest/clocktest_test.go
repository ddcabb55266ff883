package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/clocktest"
)

func TestClockMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := clocktest.New(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now() = %v; want %v", got, start)
	}
	if got := c.Advance(time.Hour); !got.Equal(start.Add(time.Hour)) || !c.Now().Equal(got) {
		t.Errorf("Advance(1h) = %v, then Now() = %v; want %v", got, c.Now(), start.Add(time.Hour))
	}
	c.Set(start)
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("after Set, Now() = %v; want %v", got, start)
	}

	// Concurrent readers and writers (run with -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(2)
		go func() { defer wg.Done(); c.Advance(time.Second) }()
		go func() { defer wg.Done(); c.Now() }()
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(start.Add(4 * time.Second)) {
		t.Errorf("after 4 concurrent Advance(1s), Now() = %v; want %v", got, start.Add(4*time.Second))
	}
}
