// Package clocktest is a clock for tests: it stands still until the test
// moves it. Components that decide by time (push order and age for
// lifecycle rules, the garbage collector's grace period, token expiry, the
// failed-login limiter) take a clock, func() time.Time, through their
// constructors; a test hands them the same Clock's Now and moves it, so
// what happens is decided by the test and not by how fast the machine is.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a time source that moves only when told to. It is safe for
// concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads start until it is moved.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. Pass the method value, c.Now, where a
// func() time.Time is wanted.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set moves the clock to t, forward or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
