package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// The shared SQL store's queries go through this engine's statement
// cache: a pull's reads and a push's transaction are prepared once, and
// running them again prepares nothing new.
func TestSharedQueriesUseTheStatementCache(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cached := func(d *db) int {
		n := 0
		d.stmts.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	push := func(content string) {
		t.Helper()
		b := metadata.Blob{Digest: digest.FromString(content), Size: int64(len(content)), Location: content}
		if _, err := s.PutBlob(ctx, "app", b); err != nil {
			t.Fatalf("PutBlob: %v", err)
		}
		if _, err := s.Blob(ctx, "app", b.Digest); err != nil {
			t.Fatalf("Blob: %v", err)
		}
	}
	push("one") // prepares the transaction's statements after it commits
	reads, writes := cached(s.read), cached(s.write)
	if reads == 0 || writes == 0 {
		t.Fatalf("after a push and a read, %d read and %d write statements are cached; want some of each", reads, writes)
	}
	push("two")
	if r, w := cached(s.read), cached(s.write); r != reads || w != writes {
		t.Errorf("the same push and read again cached %d read and %d write statements more; want none", r-reads, w-writes)
	}
}
