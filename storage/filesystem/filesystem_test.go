package filesystem_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
	"github.com/berth-dev/berth/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Driver {
		return newDriver(t, t.TempDir())
	})
}

func newDriver(t *testing.T, root string) *filesystem.Driver {
	t.Helper()
	d, err := filesystem.New(root)
	if err != nil {
		t.Fatalf("New(%q): %v", root, err)
	}
	return d
}

func TestNewRefusesAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := filesystem.New(file); err == nil {
		t.Fatal("New on a regular file succeeded")
	}
}

// Commit renames the upload into place: the blob is the very file the
// upload was written to, so no byte is written twice.
func TestCommitDoesNotCopy(t *testing.T) {
	root := t.TempDir()
	d := newDriver(t, root)
	u := storagetest.MustAppend(t, d, storage.Upload{ID: storagetest.NewUploadID(t)}, "bytes")
	before, err := os.Stat(filepath.Join(root, "uploads", u.ID))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := d.Commit(t.Context(), u)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	after, err := os.Stat(filepath.Join(root, filepath.FromSlash(loc)))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the committed blob is a copy of the upload, not the upload itself")
	}
}

// Upload ids come back from clients in URLs; locations come from the index.
// Neither may reach outside the root.
func TestPathTraversalIsRefused(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	d := newDriver(t, root)
	victim := filepath.Join(base, "victim")
	if err := os.WriteFile(victim, []byte("not a blob"), 0o600); err != nil {
		t.Fatal(err)
	}
	committed := storagetest.MustCommit(t, d, "committed")
	inProgress := storagetest.NewUploadID(t)
	storagetest.MustAppend(t, d, storage.Upload{ID: inProgress}, "in progress")

	ids := []string{
		"", ".", "..", "../x", "../../victim", "a/b", "../blobs", victim, "/etc/passwd",
		"../" + committed, "x/../../../victim",
	}
	for _, id := range ids {
		t.Run("upload "+id, func(t *testing.T) {
			u := storage.Upload{ID: id}
			if _, err := d.Append(t.Context(), u, strings.NewReader("evil")); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Append: err = %v; want ErrNotFound", err)
			}
			if _, err := d.Commit(t.Context(), u); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("Commit: err = %v; want ErrNotFound", err)
			}
			if err := d.Abort(t.Context(), u); err != nil {
				t.Errorf("Abort: %v", err)
			}
		})
	}

	locations := []string{
		"", ".", "..", "../victim", "../../victim", victim, "/etc/passwd", "blobs/../../victim",
		"blobs", "blobs/", "uploads", "uploads/" + inProgress,
	}
	for _, loc := range locations {
		t.Run("location "+loc, func(t *testing.T) {
			if f, err := d.Open(t.Context(), loc); !errors.Is(err, storage.ErrNotFound) {
				if err == nil {
					f.Close()
				}
				t.Errorf("Open: err = %v; want ErrNotFound", err)
			}
			if err := d.Delete(t.Context(), loc); err != nil {
				t.Errorf("Delete: %v", err)
			}
		})
	}

	if got, err := os.ReadFile(victim); err != nil || string(got) != "not a blob" {
		t.Errorf("file outside the root: %q, %v; want it untouched", got, err)
	}
	// Nothing was written or removed but what the test made.
	for _, dir := range []string{"uploads", "blobs"} {
		if fi, err := os.Stat(filepath.Join(root, dir)); err != nil || !fi.IsDir() {
			t.Errorf("%s directory: %v; want it kept", dir, err)
		}
	}
	var files []string
	filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(base, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	want := []string{"root/" + committed, "root/uploads/" + inProgress, "victim"}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Errorf("files under the temp dir: %q; want %q", files, want)
	}
}
