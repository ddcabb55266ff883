// Package sqlitetest fills SQLite indexes for benchmarks. At the sizes
// they need (tens of thousands of images, a million blobs) the API would
// take minutes; raw SQL in one transaction takes seconds.
package sqlitetest

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/berth-dev/berth/metadata/sqlite"
)

// Seed creates berth's schema in a new index at path and runs statements
// in one transaction, with foreign keys off so that rows go in any order.
func Seed(tb testing.TB, path string, statements ...string) {
	tb.Helper()
	store, err := sqlite.Open(tb.Context(), path) // creates the schema
	if err != nil {
		tb.Fatal(err)
	}
	store.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(OFF)&_pragma=journal_mode(WAL)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	script := "BEGIN;\n" + strings.Join(statements, ";\n") + ";\nCOMMIT;"
	if _, err := db.ExecContext(tb.Context(), script); err != nil {
		tb.Fatalf("seeding the index: %v", err)
	}
}
