package vulndb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImportRoundTrip imports the fixture as a directory and matches the
// same findings from the copy.
func TestImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := writeFixture(t)
	dir := filepath.Join(t.TempDir(), "osv") // created by Import
	n, err := Import(ctx, src, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != fixtureRecords {
		t.Errorf("Import = %d records, want %d", n, fixtureRecords)
	}
	want, err := Load(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Match(fixturePackages)) != fmt.Sprint(want.Match(fixturePackages)) || got.Len() != want.Len() {
		t.Errorf("imported DB differs from its source")
	}
	assertFiles(t, dir, []string{"Alpine/all.zip", "Debian/DSA-5600-1.json", "Debian/all.zip", "Go/all.zip"})
}

// TestImportSingleZip covers the two names a lone zip may have, and that
// importing one ecosystem leaves the others alone.
func TestImportSingleZip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	downloads := t.TempDir()
	writeZip(t, filepath.Join(downloads, "Go", "all.zip"), goRecords)
	writeZip(t, filepath.Join(downloads, "Alpine.zip"), alpineRecords)

	if n, err := Import(ctx, filepath.Join(downloads, "Go", "all.zip"), dir); err != nil || n != 8 {
		t.Fatalf("Import(Go/all.zip) = %d, %v; want 8 records", n, err)
	}
	if n, err := Import(ctx, filepath.Join(downloads, "Alpine.zip"), dir); err != nil || n != 2 {
		t.Fatalf("Import(Alpine.zip) = %d, %v; want 2 records", n, err)
	}
	assertFiles(t, dir, []string{"Alpine/all.zip", "Go/all.zip"})
	db, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 10 {
		t.Errorf("Len = %d, want 10", db.Len())
	}
}

// TestImportRejects: a bad source fails before anything in dir changes.
func TestImportRejects(t *testing.T) {
	ctx := context.Background()
	downloads := t.TempDir()
	writeFile(t, filepath.Join(downloads, "Debian.zip"), "truncated download")
	writeZip(t, filepath.Join(downloads, "Go.zip"), []record{{"GO-BAD-1.json", `{"id": `}})
	writeFile(t, filepath.Join(downloads, "notes.txt"), "hello")

	dir := t.TempDir()
	writeZip(t, filepath.Join(dir, "Debian", "all.zip"), debianRecords)
	before, err := os.ReadFile(filepath.Join(dir, "Debian", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		src     string
		wantErr error // nil: any error
	}{
		{filepath.Join(downloads, "Debian.zip"), nil},
		{filepath.Join(downloads, "Go.zip"), ErrNoRecords},
		{filepath.Join(downloads, "notes.txt"), nil},
		{filepath.Join(downloads, "missing.zip"), os.ErrNotExist},
		{t.TempDir(), ErrNoRecords}, // a directory with no ecosystems
	}
	for _, tt := range tests {
		n, err := Import(ctx, tt.src, dir)
		if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
			t.Errorf("Import(%s) = %d, %v; want error %v", filepath.Base(tt.src), n, err, tt.wantErr)
		}
	}
	after, err := os.ReadFile(filepath.Join(dir, "Debian", "all.zip"))
	if err != nil || string(after) != string(before) {
		t.Errorf("Debian/all.zip changed by a failed import (err %v)", err)
	}
	assertFiles(t, dir, []string{"Debian/all.zip"}) // no staging left behind
}

// assertFiles checks the exact set of files under dir; a staging directory
// left behind would show up too.
func assertFiles(t *testing.T, dir string, want []string) {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || (d.IsDir() && !strings.HasPrefix(d.Name(), ".import-")) {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		got = append(got, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("files under %s = %v, want %v", dir, got, want)
	}
}
