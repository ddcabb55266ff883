package auth

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/clocktest"
)

// An IPv6 client is counted by its /64: stepping through its own
// addresses does not reset its count. Before, each address had its own.
func TestLimiterCountsIPv6By64(t *testing.T) {
	clock := clocktest.New(time.Now())
	l := newLimiter(3, time.Minute, clock.Now)
	for i := range 3 {
		l.fail(fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if l.blocked("2001:db8:1:2:ffff::9") == 0 {
		t.Error("another address of the same /64 is not blocked")
	}
	if l.blocked("2001:db8:1:3::1") != 0 {
		t.Error("the next /64 is blocked")
	}
	if l.blocked("192.0.2.1") != 0 || l.blocked("::ffff:192.0.2.1") != 0 {
		t.Error("an IPv4 address is blocked")
	}
}

// A flood of failures from many addresses does not reset the count of an
// address that is being refused: the sweep drops expired entries, then
// only the stalest. Before, once 65,536 addresses were seen every counter
// was reset.
func TestLimiterSweepKeepsLiveEntries(t *testing.T) {
	clock := clocktest.New(time.Now())
	l := newLimiter(3, time.Minute, clock.Now)
	l.max = 100
	for range 3 {
		l.fail("192.0.2.1")
	}
	for i := range 50 {
		l.fail(fmt.Sprintf("198.51.100.%d", i))
	}
	clock.Advance(2 * time.Minute) // those 50 expire; 192.0.2.1 fails again
	for range 3 {
		l.fail("192.0.2.1")
	}
	for i := range 500 {
		clock.Advance(time.Millisecond)
		l.fail(fmt.Sprintf("203.0.113.%d/%d", i/250, i%250))
	}
	if l.blocked("192.0.2.1") == 0 {
		t.Error("the flood reset a blocked address")
	}
	if n := len(l.failures); n > l.max {
		t.Errorf("%d addresses remembered; want at most %d", n, l.max)
	}
}
