package registry

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/berth-dev/berth/internal/ocierr"
)

// sqlStateError is an error that reports a SQLSTATE, as PostgreSQL's do.
type sqlStateError string

func (e sqlStateError) Error() string    { return "sql error " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

func TestAsErrorUnavailable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want *ocierr.Code
	}{
		{fmt.Errorf("reading: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), ocierr.Unavailable},
		{fmt.Errorf("reading: %w", sqlStateError("57P01")), ocierr.Unavailable}, // terminating connection
		{sqlStateError("08006"), ocierr.Unavailable},                            // connection failure
		{sqlStateError("23505"), ocierr.Unknown},                                // a unique violation is a bug, not an outage
		{sqlStateError(""), ocierr.Unknown},
		{errors.New("something else"), ocierr.Unknown},
	} {
		if got := asError(tt.err).Code; got != tt.want {
			t.Errorf("asError(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
