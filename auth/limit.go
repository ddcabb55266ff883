package auth

import (
	"net/netip"
	"sync"
	"time"
)

// limiter slows down credential guessing per client address: after burst
// failures within window, the address is refused until its oldest failure
// ages out. Other addresses are unaffected, and successes never count. An
// IPv6 client is counted by its /64, the block one host is usually given,
// so that it cannot step through its own addresses.
type limiter struct {
	burst  int
	window time.Duration
	now    func() time.Time
	// max bounds the addresses remembered (maxTracked).
	max int

	mu       sync.Mutex
	failures map[string][]time.Time // per address, oldest first, at most burst
}

// maxTracked bounds the addresses a limiter remembers.
const maxTracked = 1 << 16

func newLimiter(burst int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{burst: burst, window: window, now: now, max: maxTracked, failures: map[string][]time.Time{}}
}

// limitKey is what the limiter counts addr under: an IPv6 address's /64,
// any other address as it is.
func limitKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is6() || ip.Is4In6() {
		return addr
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// blocked returns how long addr must wait before its credentials are
// checked again; zero if it may try now.
func (l *limiter) blocked(addr string) time.Duration {
	addr = limitKey(addr)
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
	addr = limitKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	times := l.recent(addr)
	if times == nil && len(l.failures) >= l.max {
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

// sweep forgets addresses whose failures are all old. If every address is
// recent (a flood from many addresses), it forgets only the one with the
// fewest failures, the stalest of those, so that a flood of single
// failures never resets the count of an address that is being refused.
// l.mu is held.
func (l *limiter) sweep() {
	for addr := range l.failures {
		l.recent(addr)
	}
	if len(l.failures) < l.max {
		return
	}
	var victim string
	var fewest int
	var at time.Time
	for addr, times := range l.failures {
		n, last := len(times), times[len(times)-1]
		if victim == "" || n < fewest || (n == fewest && last.Before(at)) {
			victim, fewest, at = addr, n, last
		}
	}
	delete(l.failures, victim)
}
