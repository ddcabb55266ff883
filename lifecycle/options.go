package lifecycle

import "time"

// Option configures a Runner, a Collector or a Previewer.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock makes a Runner, Collector or Previewer read the time from now
// instead of time.Now: the instant rules are evaluated at, the garbage
// collector's grace period and upload timeout, a preview's lease. The
// index records push, pull and mark times by its own clock, so tests give
// both the same one.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}
