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
		{"repository unknown", metadata.ErrRepositoryUnknown, false},
		{"plain error", errors.New("something else"), false},
		{"nil", nil, false},
	} {
		if got := metadata.Unavailable(tt.err); got != tt.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
