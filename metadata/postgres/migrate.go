package postgres

import (
	"context"
	"database/sql"
	"fmt"
)

// migrationLock is the advisory lock key under which migrations run, so
// that replicas starting at once apply each version exactly once.
const migrationLock = 0x6265727468_01 // "berth", 1

// Migration is one schema version and its SQL.
type Migration struct {
	Version int
	SQL     string
}

// Migrate brings the schema of the database at dsn up to date and returns
// the migrations it applied; with dryRun it applies none and returns those
// it would apply.
func Migrate(ctx context.Context, dsn string, dryRun bool) ([]Migration, error) {
	d, err := open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ms, err := migrate(ctx, d.DB, dryRun)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// migrate applies (or with dryRun lists) the migrations the database has
// not had, each in its own transaction, holding the advisory lock on one
// connection throughout.
func migrate(ctx context.Context, d *sql.DB, dryRun bool) ([]Migration, error) {
	conn, err := d.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return nil, err
	}
	var version int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return nil, err
	}
	if version > len(migrations) {
		return nil, fmt.Errorf("the database's schema is version %d, newer than this berth's %d: upgrade berth", version, len(migrations))
	}
	var applied []Migration
	for v := version + 1; v <= len(migrations); v++ {
		m := Migration{Version: v, SQL: migrations[v-1]}
		applied = append(applied, m)
		if dryRun {
			continue
		}
		t, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		if _, err := t.ExecContext(ctx, m.SQL); err != nil {
			t.Rollback()
			return nil, fmt.Errorf("migrating schema to version %d: %w", v, err)
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO schema_migrations(version) VALUES ($1)`, v); err != nil {
			t.Rollback()
			return nil, err
		}
		if err := t.Commit(); err != nil {
			return nil, fmt.Errorf("migrating schema to version %d: %w", v, err)
		}
	}
	return applied, nil
}
