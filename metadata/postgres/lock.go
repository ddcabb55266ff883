package postgres

import (
	"context"
	"database/sql/driver"
	"hash/fnv"
	"time"
)

// Exclusively runs fn while this replica holds the PostgreSQL advisory
// lock called name, so that of all the replicas sharing the index exactly
// one runs it at a time: the work that must run once (lifecycle
// enforcement, garbage collection). The lock is a session lock on a
// connection of its own: when the replica dies its connection closes and
// the lock goes with it, and another replica, which tries again every
// retry, takes the work over. If the lock's connection fails, fn's
// context is cancelled and the lock is sought again. Exclusively returns
// when ctx ends.
func (s *Store) Exclusively(ctx context.Context, name string, retry time.Duration, fn func(ctx context.Context)) error {
	key := lockKey(name)
	for {
		// An error means the lock's connection failed (the database
		// restarted, say): seek the lock again after a pause.
		s.holding(ctx, key, retry, fn)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}

// holding takes the lock if it is free and runs fn while it holds it,
// checking the connection every retry.
func (s *Store) holding(ctx context.Context, key int64, retry time.Duration, fn func(ctx context.Context)) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil || !got {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); fn(fctx) }()
	tick := time.NewTicker(retry)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-tick.C:
			pctx, pcancel := context.WithTimeout(ctx, retry)
			err := conn.PingContext(pctx)
			pcancel()
			if err != nil {
				cancel()
				<-done
				conn.Raw(func(any) error { return driver.ErrBadConn }) // drop it from the pool
				return err
			}
		}
	}
}

// lockKey is the advisory lock key of name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("berth:" + name))
	return int64(h.Sum64())
}
