package auth

import (
	"sync"
	"time"
)

// limiter slows down credential guessing per client address: after burst
// failures within window, the address is refused until its oldest failure
// ages out. Other addresses are unaffected, and successes never count.
type limiter struct {
	burst  int
	window time.Duration
	now    func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time // per address, oldest first, at most burst
}

// maxTracked bounds the addresses a limiter remembers.
const maxTracked = 1 << 16

func newLimiter(burst int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{burst: burst, window: window, now: now, failures: map[string][]time.Time{}}
}

// blocked returns how long addr must wait before its credentials are
// checked again; zero if it may try now.
func (l *limiter) blocked(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.recent(addr)
	if len(times) < l.burst {
		return 0
	}
	return times[0].Add(l.window).Sub(l.now())
}

// fail records a failed attempt from addr.
func (l *limiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.recent(addr)
	if times == nil && len(l.failures) >= maxTracked {
		l.sweep()
	}
	times = append(times, l.now())
	if len(times) > l.burst {
		times = times[len(times)-l.burst:]
	}
	l.failures[addr] = times
}

// recent returns addr's failures still inside the window, dropping older
// ones. l.mu is held.
func (l *limiter) recent(addr string) []time.Time {
	times := l.failures[addr]
	cutoff := l.now().Add(-l.window)
	i := 0
	for i < len(times) && !times[i].After(cutoff) {
		i++
	}
	if i == len(times) {
		delete(l.failures, addr)
		return nil
	}
	return times[i:]
}

// sweep forgets addresses whose failures are all old; if every address is
// recent (a flood from many addresses), it forgets them all rather than
// grow without bound. l.mu is held.
func (l *limiter) sweep() {
	for addr := range l.failures {
		l.recent(addr)
	}
	if len(l.failures) >= maxTracked {
		clear(l.failures)
	}
}
