package metadata_test

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/berth-dev/berth/metadata"
)

func TestUnavailable(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", fmt.Errorf("reading: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), true},
		{"terminating connection", fmt.Errorf("reading: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"shutting down", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"unique violation is a fault", &pgconn.PgError{Code: "23505"}, false},
		{"serialization failure is a fault", &pgconn.PgError{Code: "40001"}, false},
		{"no code", &pgconn.PgError{}, false},
		// What pgx returned to a request on a replica when PostgreSQL
		// restarted under it (TestReplicaPostgresRestart): its error for
		// a connection closed after a request may have been sent.
		{"closed connection", fmt.Errorf("failed to deallocate cached statement(s): %w", connError(false)), true},
		{"nothing sent", connError(true), true},
		{"repository unknown", metadata.ErrRepositoryUnknown, false},
		{"plain error", errors.New("something else"), false},
		{"nil", nil, false},
	} {
		if got := metadata.Unavailable(tt.err); got != tt.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// connError is a failure of a driver's connection that says whether the
// request is safe to retry, as pgconn's errors do (they are unexported).
type connError bool

func (e connError) Error() string     { return "conn closed" }
func (e connError) SafeToRetry() bool { return bool(e) }
