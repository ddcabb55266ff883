package pgtest

import (
	"database/sql"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// A database of the shared server takes writes and is gone after its
// test; a server of a test's own survives a restart with its data.
func TestServer(t *testing.T) {
	var dsn string
	t.Run("shared", func(t *testing.T) {
		dsn = Shared(t).NewDatabase(t)
		db := open(t, dsn)
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (n int); INSERT INTO t VALUES (1)"); err != nil {
			t.Fatal(err)
		}
	})
	if db := open(t, dsn); db.PingContext(t.Context()) == nil {
		t.Errorf("database %s still there after its test", dsn)
	}

	s := Start(t)
	db := open(t, s.DSN("postgres"))
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s.Restart(t)
	var n int
	if err := open(t, s.DSN("postgres")).QueryRowContext(t.Context(), "SELECT n FROM kept").Scan(&n); err != nil || n != 7 {
		t.Errorf("after a restart: %d, %v; want 7", n, err)
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
