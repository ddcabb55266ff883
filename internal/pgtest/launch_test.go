package pgtest

import (
	"context"
	"database/sql"
	"testing"
)

// Launch applies its settings at start (a preload library needs a
// restart) and CreateDatabase gives a database that takes connections.
func TestLaunch(t *testing.T) {
	requirePostgres(t)
	s, err := Launch(map[string]string{"shared_preload_libraries": "pg_stat_statements"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if s.Pid() <= 0 {
		t.Errorf("Pid() = %d", s.Pid())
	}
	ctx := context.Background()
	dsn, err := s.CreateDatabase(ctx, "launched")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.QueryRowContext(ctx, "SHOW shared_preload_libraries").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "pg_stat_statements" {
		t.Errorf("shared_preload_libraries = %q after Launch, want pg_stat_statements", got)
	}
	if _, err := db.ExecContext(ctx, "CREATE EXTENSION pg_stat_statements"); err != nil {
		t.Errorf("CREATE EXTENSION pg_stat_statements: %v", err)
	}
}
