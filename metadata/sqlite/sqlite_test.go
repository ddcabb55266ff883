package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/metadatatest"
	"github.com/berth-dev/berth/metadata/sqlite"
)

func TestConformance(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) metadatatest.Opener {
		path := filepath.Join(t.TempDir(), "berth.db")
		return func(ctx context.Context) (metadata.Store, error) {
			return sqlite.Open(ctx, path)
		}
	})
}

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

// query reads one integer from the database file behind the store's back.
func query(t *testing.T, path, q string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Opening a database again applies no migration twice and loses nothing.
func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	s := open(t, path)
	if _, err := s.PutBlob(t.Context(), "app", metadata.Blob{Digest: digest.FromString("x"), Size: 1, Location: "l"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	version := query(t, path, "PRAGMA user_version")
	if version < 1 {
		t.Fatalf("user_version = %d after the first Open; want the schema version", version)
	}
	for range 3 {
		s := open(t, path)
		if _, err := s.Blob(t.Context(), "app", digest.FromString("x")); err != nil {
			t.Errorf("Blob after reopening: %v", err)
		}
		s.Close()
		if got := query(t, path, "PRAGMA user_version"); got != version {
			t.Errorf("user_version = %d after reopening; want %d", got, version)
		}
	}
}

// DeleteManifest leaves no row behind: its tags and references go with it
// (foreign keys with ON DELETE CASCADE, which SQLite enforces only when
// asked to on every connection).
func TestDeleteManifestCascades(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	s := open(t, path)
	defer s.Close()
	layer := digest.FromString("layer")
	if _, err := s.PutBlob(t.Context(), "app", metadata.Blob{Digest: layer, Size: 5, Location: "l"}); err != nil {
		t.Fatal(err)
	}
	m := metadata.Manifest{
		Repository: "app", Digest: digest.FromString("manifest"), MediaType: "application/vnd.oci.image.manifest.v1+json",
		Content: []byte("manifest"), References: []metadata.Reference{{Digest: layer, Kind: metadata.RefBlob}},
	}
	if err := s.PutManifest(t.Context(), m, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if n := query(t, path, "SELECT count(*) FROM manifest_references"); n != 1 {
		t.Fatalf("%d reference rows after PutManifest; want 1", n)
	}
	if err := s.DeleteManifest(t.Context(), "app", m.Digest); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"manifests": 0, "tags": 0, "manifest_references": 0, "repository_blobs": 1} {
		if n := query(t, path, "SELECT count(*) FROM "+table); n != want {
			t.Errorf("%d rows in %s after DeleteManifest; want %d", n, table, want)
		}
	}
}

func TestOpenFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not-a-database")
	if err := os.WriteFile(notDB, []byte("this is not an SQLite database, just some text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing", "dir", "berth.db"), notDB} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", path)
		}
	}
}

// The times the store records come from its clock: what lifecycle rules
// and garbage collection then compare with theirs.
func TestClock(t *testing.T) {
	ctx := t.Context()
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "berth.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	created := clock.Now()
	if err := s.CreateRepository(ctx, metadata.Repository{Name: "app"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, metadata.User{Name: "alice"}); err != nil {
		t.Fatal(err)
	}
	layer := metadata.Blob{Digest: digest.FromString("layer"), Size: 5, Location: "l"}
	if _, err := s.PutBlob(ctx, "app", layer); err != nil {
		t.Fatal(err)
	}
	pushed := clock.Advance(time.Hour)
	body := []byte(`{"schemaVersion":2}`)
	m := metadata.Manifest{Repository: "app", Digest: digest.FromBytes(body), Content: body,
		MediaType: "application/vnd.oci.image.manifest.v1+json", References: []metadata.Reference{{Digest: layer.Digest}}}
	if err := s.PutManifest(ctx, m, []string{"v1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUpload(ctx, metadata.Upload{ID: "u", Repository: "app", Algorithm: digest.SHA256, StartedAt: created, UpdatedAt: created}); err != nil {
		t.Fatal(err)
	}
	written := clock.Advance(time.Hour)
	if err := s.UpdateUpload(ctx, metadata.Upload{ID: "u", Repository: "app", Size: 3, Algorithm: digest.SHA256}, 0); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour) // the wall clock has moved on; nothing is stamped with it

	if r, err := s.Repository(ctx, "app"); err != nil || !r.CreatedAt.Equal(created) {
		t.Errorf("repository created at %v, %v; want %v", r.CreatedAt, err, created)
	}
	if u, err := s.User(ctx, "alice"); err != nil || !u.CreatedAt.Equal(created) {
		t.Errorf("user created at %v, %v; want %v", u.CreatedAt, err, created)
	}
	if got, err := s.Manifest(ctx, "app", "v1"); err != nil || !got.PushedAt.Equal(pushed) {
		t.Errorf("manifest pushed at %v, %v; want %v", got.PushedAt, err, pushed)
	}
	if u, err := s.Upload(ctx, "u"); err != nil || !u.UpdatedAt.Equal(written) {
		t.Errorf("upload written at %v, %v; want %v", u.UpdatedAt, err, written)
	}
	if stale, err := s.StaleUploads(ctx, written, 10); err != nil || len(stale) != 0 {
		t.Errorf("StaleUploads(before %v) = %v, %v; want none", written, stale, err)
	}
	if stale, err := s.StaleUploads(ctx, written.Add(time.Nanosecond), 10); err != nil || len(stale) != 1 {
		t.Errorf("StaleUploads(before %v) = %v, %v; want the upload", written.Add(time.Nanosecond), stale, err)
	}
	// The blob is garbage once its manifest goes; created at created, it is
	// old enough for a cutoff after that instant only.
	if err := s.DeleteManifest(ctx, "app", m.Digest); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cutoff time.Time
		want   int
	}{{created, 0}, {created.Add(time.Nanosecond), 1}} {
		if g, err := s.GarbageBlobs(ctx, tc.cutoff, "", 10); err != nil || len(g) != tc.want {
			t.Errorf("GarbageBlobs(created before %v) = %v, %v; want %d", tc.cutoff, g, err, tc.want)
		}
	}
}
