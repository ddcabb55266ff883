package metadata

import (
	"errors"
	"net"
)

// Unavailable reports whether err is a failure to reach the index rather
// than an answer from it: a network error (a PostgreSQL index that is
// down or restarting refuses or drops the connection), or a SQL server's
// connection exception (SQLSTATE class 08) or operator intervention
// (class 57: shutting down, terminating connections), as PostgreSQL's
// errors report them through SQLState; or a failure of the driver's
// connection, which pgx's errors mark with a SafeToRetry method (true
// when nothing reached the server, false when a request may have: a
// pooled connection that a restart closed under a query answers "conn
// closed", not safe to retry, and the index is unreachable all the same).
// The request may succeed when retried, so the protocols' error writers
// answer 503 for it. Any other error a backend returns, such as a
// constraint violation, is a fault.
func Unavailable(err error) bool {
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var conn interface{ SafeToRetry() bool }
	if errors.As(err, &conn) {
		return true
	}
	var sqlErr interface{ SQLState() string }
	if errors.As(err, &sqlErr) {
		class := sqlErr.SQLState()[:min(2, len(sqlErr.SQLState()))]
		return class == "08" || class == "57"
	}
	return false
}
