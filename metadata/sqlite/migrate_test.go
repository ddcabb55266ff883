package sqlite

import (
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// olderDatabase makes a database file as a berth of schema version
// version left it, holding rows (SQL statements), and returns its path.
func olderDatabase(t *testing.T, version int, rows string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "berth.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(ON)")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for i, m := range schema[:version] {
		if _, err := old.ExecContext(t.Context(), m); err != nil {
			t.Fatalf("schema %d: %v", i+1, err)
		}
	}
	if _, err := old.ExecContext(t.Context(), rows+fmt.Sprintf(";\nPRAGMA user_version = %d;", version)); err != nil {
		t.Fatal(err)
	}
	return path
}

// A database made by an older berth (schema version 2, before identities)
// is brought up to date on Open and keeps its data.
func TestMigrateFromVersion2(t *testing.T) {
	layer := digest.FromString("layer")
	path := olderDatabase(t, 2, fmt.Sprintf(`
		INSERT INTO repositories(id, name, created_at) VALUES (1, 'app', 1);
		INSERT INTO blobs(digest, size, location, created_at) VALUES ('%s', 5, 'l', 1);
		INSERT INTO repository_blobs(repository_id, digest, created_at) VALUES (1, '%s', 1);`, layer, layer))

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	var version int
	if err := s.read.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&version); err != nil || version != len(schema) {
		t.Fatalf("user_version = %d, %v; want %d", version, err, len(schema))
	}
	if _, err := s.Blob(t.Context(), "app", layer); err != nil {
		t.Errorf("Blob after migrating: %v", err)
	}
	if err := s.CreateUser(t.Context(), metadata.User{Name: "admin"}); err != nil {
		t.Fatalf("CreateUser after migrating: %v", err)
	}
	if err := s.CreateAccessKey(t.Context(), metadata.AccessKey{ID: "AKIAAAAAAAAAAAAAAAAA", User: "admin", SealedSecret: []byte("s")}); err != nil {
		t.Fatalf("CreateAccessKey after migrating: %v", err)
	}
	// Access keys go with their user: the foreign key is enforced.
	if err := s.DeleteUser(t.Context(), "admin"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.read.QueryRowContext(t.Context(), "SELECT count(*) FROM access_keys").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d access_keys rows, %v, after deleting their user; want 0", n, err)
	}
}

// Complete scans recorded before scans kept severity counts (schema
// version 10) get them from their findings on Open; others get none.
func TestMigrateScanSeverityCounts(t *testing.T) {
	a, b, c := digest.FromString("a"), digest.FromString("b"), digest.FromString("c")
	path := olderDatabase(t, 10, fmt.Sprintf(`
		INSERT INTO repositories(id, name, created_at) VALUES (1, 'app', 1);
		INSERT INTO manifests(repository_id, digest, media_type, size, content, pushed_at) VALUES
			(1, '%[1]s', 'm', 1, 'a', 1), (1, '%[2]s', 'm', 1, 'b', 1), (1, '%[3]s', 'm', 1, 'c', 1);
		INSERT INTO scans(repository_id, digest, status, findings) VALUES
			(1, '%[1]s', 'COMPLETE', '[{"name":"CVE-1","severity":"HIGH"},{"name":"CVE-2","severity":"LOW"},{"name":"CVE-3","severity":"HIGH"}]'),
			(1, '%[2]s', 'COMPLETE', '[]'),
			(1, '%[3]s', 'FAILED', '');`, a, b, c))

	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for _, tt := range []struct {
		dgst digest.Digest
		want map[string]int
	}{
		{a, map[string]int{"HIGH": 2, "LOW": 1}},
		{b, map[string]int{}},
		{c, nil},
	} {
		sc, err := s.Scan(t.Context(), "app", tt.dgst)
		if err != nil || !maps.Equal(sc.SeverityCounts, tt.want) || (tt.want == nil) != (sc.SeverityCounts == nil) {
			t.Errorf("Scan(%s) after migrating: counts %v, %v; want %v", sc.Status, sc.SeverityCounts, err, tt.want)
		}
	}
}

// Repositories of a database older than the web UI get their bytes on
// Open, which the triggers then keep.
func TestMigrateRepositoryBytes(t *testing.T) {
	a, b := digest.FromString("a"), digest.FromString("b")
	path := olderDatabase(t, len(schema)-1, fmt.Sprintf(`
		INSERT INTO repositories(id, name, created_at) VALUES (1, 'app', 1), (2, 'other', 1), (3, 'empty', 1);
		INSERT INTO blobs(digest, size, location, created_at) VALUES ('%[1]s', 5, 'a', 1), ('%[2]s', 7, 'b', 1);
		INSERT INTO repository_blobs(repository_id, digest, created_at) VALUES (1, '%[1]s', 1), (1, '%[2]s', 1), (2, '%[2]s', 1);`, a, b))
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	sizes := func() map[string]int64 {
		rs, err := s.RepositorySummaries(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, r := range rs {
			out[r.Name] = r.Size
		}
		return out
	}
	if got := sizes(); !maps.Equal(got, map[string]int64{"app": 12, "other": 7, "empty": 0}) {
		t.Errorf("sizes after migrating = %v", got)
	}
	if err := s.UnlinkBlob(t.Context(), "app", b); err != nil {
		t.Fatal(err)
	}
	if got := sizes(); !maps.Equal(got, map[string]int64{"app": 5, "other": 7, "empty": 0}) {
		t.Errorf("sizes after unlinking = %v", got)
	}
}
