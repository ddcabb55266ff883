package vulndb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "Debian"), 0o755); err != nil { // an ecosystem with no data
		t.Fatal(err)
	}
	db, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatalf("Load(empty dir): %v", err)
	}
	if db.Len() != 0 || db.Malformed() != 0 || !db.UpdatedAt().IsZero() {
		t.Errorf("empty DB: Len %d, Malformed %d, UpdatedAt %v", db.Len(), db.Malformed(), db.UpdatedAt())
	}
	if got := db.Match(fixturePackages); len(got) != 0 {
		t.Errorf("empty DB matched %v", got)
	}
}

// TestLoadMissingDir: a missing directory is an empty database, so a
// registry starts before any data is imported.
func TestLoadMissingDir(t *testing.T) {
	db, err := Load(context.Background(), filepath.Join(t.TempDir(), "nope"))
	if err != nil {
		t.Fatalf("Load(missing dir): %v", err)
	}
	if db.Len() != 0 || len(db.Match(fixturePackages)) != 0 {
		t.Errorf("missing dir: Len %d", db.Len())
	}
}

// TestLoadNotADir: a path that exists but is no directory is an error.
func TestLoadNotADir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	writeFile(t, path, "x")
	if _, err := Load(context.Background(), path); err == nil {
		t.Fatal("Load(file) succeeded")
	}
}

func TestLoadCorruptZip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Debian", "all.zip"), "this is not a zip")
	if _, err := Load(context.Background(), dir); err == nil {
		t.Fatal("Load with a corrupt all.zip succeeded")
	}
}

// TestLoadDuplicates: the same id in two files keeps the newest copy
// (osv.dev repeats a record in every ecosystem it affects), and a newer
// withdrawal hides an older copy.
func TestLoadDuplicates(t *testing.T) {
	dir := t.TempDir()
	writeZip(t, filepath.Join(dir, "Go", "all.zip"), []record{
		{"GHSA-1.json", `{"id": "GHSA-1", "modified": "2024-01-02T00:00:00Z", "summary": "new", "affected": [{"package": {"ecosystem": "Go", "name": "m"}, "versions": ["1.0.0"]}]}`},
		{"GHSA-2.json", `{"id": "GHSA-2", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Go", "name": "m"}, "versions": ["1.0.0"]}]}`},
	})
	writeZip(t, filepath.Join(dir, "npm", "all.zip"), []record{
		{"GHSA-1.json", `{"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z", "summary": "old", "affected": [{"package": {"ecosystem": "Go", "name": "m"}, "versions": ["1.0.0"]}]}`},
		{"GHSA-2.json", `{"id": "GHSA-2", "modified": "2024-02-01T00:00:00Z", "withdrawn": "2024-02-01T00:00:00Z"}`},
	})
	db, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 1 {
		t.Errorf("Len = %d, want 1", db.Len())
	}
	got := db.Match([]Package{{Ecosystem: "Go", Name: "m", Version: "v1.0.0", DisplayName: "m", DisplayVersion: "v1.0.0"}})
	if len(got) != 1 || got[0].Description != "new" {
		t.Errorf("Match = %+v, want only GHSA-1 with the newer summary", got)
	}
	if want := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC); !db.UpdatedAt().Equal(want) {
		t.Errorf("UpdatedAt = %v, want %v", db.UpdatedAt(), want)
	}
}

// TestLoadSkips: hidden directories (Import's staging), files beside the
// ecosystem directories, and non-JSON zip entries are not read.
func TestLoadSkips(t *testing.T) {
	dir := t.TempDir()
	one := `{"id": "A-1", "affected": [{"package": {"ecosystem": "Go", "name": "m"}, "versions": ["1.0.0"]}]}`
	writeFile(t, filepath.Join(dir, ".import-123", "Go", "A-2.json"), `{"id": "A-2"}`)
	writeFile(t, filepath.Join(dir, "README.json"), `{"id": "A-3"}`)
	writeZip(t, filepath.Join(dir, "Go", "all.zip"), []record{{"A-1.json", one}, {"README.md", "not json"}})
	db, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 1 || db.Malformed() != 0 {
		t.Errorf("Len %d, Malformed %d; want 1, 0", db.Len(), db.Malformed())
	}
}

func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Load(ctx, writeFixture(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Load(canceled) = %v, want context.Canceled", err)
	}
}

func TestNormalizePyPI(t *testing.T) {
	for in, want := range map[string]string{
		"Zope.Interface":  "zope-interface",
		"zope__interface": "zope-interface",
		"requests":        "requests",
		"A-_.b":           "a-b",
	} {
		if got := normalizePyPI(in); got != want {
			t.Errorf("normalizePyPI(%q) = %q, want %q", in, got, want)
		}
	}
}
