package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// A database made by an older berth (schema version 2, before identities)
// is brought up to date on Open and keeps its data.
func TestMigrateFromVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(ON)")
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range schema[:2] {
		if _, err := old.ExecContext(t.Context(), m); err != nil {
			t.Fatalf("schema %d: %v", i+1, err)
		}
	}
	layer := digest.FromString("layer")
	if _, err := old.ExecContext(t.Context(), fmt.Sprintf(`
		INSERT INTO repositories(id, name, created_at) VALUES (1, 'app', 1);
		INSERT INTO blobs(digest, size, location, created_at) VALUES ('%s', 5, 'l', 1);
		INSERT INTO repository_blobs(repository_id, digest, created_at) VALUES (1, '%s', 1);
		PRAGMA user_version = 2;`, layer, layer)); err != nil {
		t.Fatal(err)
	}
	old.Close()

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
