package postgres

import (
	"context"
	"time"
)

// TryExclusively implements metadata.Claimer with the advisory lock
// called name, held as Exclusively holds it, but taken only if it is
// free: of the replicas offered the same piece of work, the first does
// it and the others pass it by.
func (s *Store) TryExclusively(ctx context.Context, name string, check time.Duration, fn func(context.Context)) (bool, error) {
	ran := false
	err := s.holding(ctx, lockKey(name), check, func(ctx context.Context) {
		ran = true
		fn(ctx)
	})
	return ran, err // holding returns after fn has
}
