package postgres_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/postgres"
)

// A dry run changes nothing; replicas opening an empty database at once
// apply each migration exactly once; opening again applies none and loses
// nothing.
func TestMigrate(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.Shared(t).NewDatabase(t)

	planned, err := postgres.Migrate(ctx, dsn, true)
	if err != nil || len(planned) == 0 || planned[0].Version != 1 {
		t.Fatalf("Migrate(dry run) on an empty database = %v, %v; want every migration from 1", planned, err)
	}
	db := openSQL(t, dsn)
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'manifests'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("after a dry run: %d manifests tables, %v; want none", tables, err)
	}

	var wg sync.WaitGroup
	stores := make([]metadata.Store, 3)
	errs := make([]error, 3)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Open: %v", i, err)
		}
		defer stores[i].Close()
	}
	var applied, distinct int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != len(planned) || distinct != len(planned) {
		t.Errorf("schema_migrations holds %d rows (%d versions) after three concurrent opens; want %d", applied, distinct, len(planned))
	}

	layer := metadata.Blob{Digest: digest.FromString("x"), Size: 1, Location: "l"}
	if _, err := stores[0].PutBlob(ctx, "app", layer); err != nil {
		t.Fatal(err)
	}
	if again, err := postgres.Migrate(ctx, dsn, false); err != nil || len(again) != 0 {
		t.Errorf("Migrate on an up-to-date database = %v, %v; want nothing applied", again, err)
	}
	if _, err := stores[2].Blob(ctx, "app", layer.Digest); err != nil {
		t.Errorf("Blob after migrating again: %v", err)
	}
}

// A database migrated by a newer berth is refused, not written to.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.Shared(t).NewDatabase(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := openSQL(t, dsn).ExecContext(ctx, `INSERT INTO schema_migrations(version) VALUES (100000)`); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(ctx, dsn); err == nil {
		s.Close()
		t.Fatal("Open succeeded on a schema newer than this berth's")
	}
}

func TestOpenFailsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	srv := pgtest.Shared(t)
	for _, dsn := range []string{srv.DSN("no_such_database"), "postgres://berth@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "not a dsn ::"} {
		if s, err := postgres.Open(ctx, dsn); err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", dsn)
		}
	}
}

func openSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
