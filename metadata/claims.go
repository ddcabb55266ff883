package metadata

import (
	"context"
	"time"
)

// Claimer is an index shared by several processes (PostgreSQL's) that
// can give a piece of work to one of them at a time: the many small
// pieces any replica may do, but only one may do at once (one image's
// scan, one replication). An index of one process (SQLite) is not one:
// there the process keeps its own work apart. It is an optional ability,
// found by type assertion; Claim uses it when it is there.
type Claimer interface {
	// TryExclusively runs fn if no process sharing the index holds the
	// claim called name, holding it until fn returns, and reports
	// whether fn ran; it does not wait for the claim. A process that
	// dies loses its claims with its connection. fn's context ends if
	// the claim may have been lost (the index's connection failed), which
	// is checked every check.
	TryExclusively(ctx context.Context, name string, check time.Duration, fn func(context.Context)) (bool, error)
}

// claimCheck is how often a claim's connection is checked while its work
// runs.
const claimCheck = 10 * time.Second

// Claim runs fn under the claim called name when index is shared by
// several processes (a Claimer), and reports whether it ran: false when
// another process holds the claim. Any other index runs fn at once.
func Claim(ctx context.Context, index any, name string, fn func(context.Context)) (bool, error) {
	if c, ok := index.(Claimer); ok {
		return c.TryExclusively(ctx, name, claimCheck, fn)
	}
	fn(ctx)
	return true, nil
}
