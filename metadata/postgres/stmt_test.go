package postgres

import "testing"

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`WHERE a = ? AND b = ?`, `WHERE a = $1 AND b = $2`},
		{`VALUES (?1, ?2, ?1)`, `VALUES ($1, $2, $1)`},
		{`WHERE a = '?' AND b = ?`, `WHERE a = '?' AND b = $1`},
		{`WHERE a > ? ORDER BY a LIMIT ?`, `WHERE a > $1 ORDER BY a LIMIT NULLIF(GREATEST($2::bigint, -1), -1)`},
		{`LIMIT ? OFFSET ?`, `LIMIT NULLIF(GREATEST($1::bigint, -1), -1) OFFSET $2`},
	} {
		if got := new(db).rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
