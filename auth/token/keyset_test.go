package token

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berth-dev/berth/internal/clocktest"
)

func TestKeySetPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	ks, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ks.IDs()); n != 1 {
		t.Fatalf("new KeySet has %d keys, want 1", n)
	}
	c := clocktest.New(time.Now())
	oldTok, _ := issue(t, newIssuer(t, ks, c), time.Hour, nil)
	if _, err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	newTok, _ := issue(t, newIssuer(t, ks, c), time.Hour, nil)
	// Unrelated files in the directory are ignored.
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("keys"), 0o600); err != nil {
		t.Fatal(err)
	}

	reopened, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reopened.IDs(), ks.IDs(); !slices.Equal(got, want) {
		t.Fatalf("reopened IDs = %v, want %v", got, want)
	}
	iss := newIssuer(t, reopened, c)
	for _, tok := range []string{oldTok, newTok} {
		if _, err := iss.Verify(context.Background(), tok); err != nil {
			t.Errorf("token from before reopening: %v", err)
		}
	}
	// The reopened set signs with the newest key.
	tok, _ := issue(t, iss, time.Hour, nil)
	if kid := headerKID(t, tok); kid != ks.IDs()[0] {
		t.Errorf("reopened set signs with %s, want active key %s", kid, ks.IDs()[0])
	}

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("key directory mode = %04o, want 0700", perm)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, e := range entries {
		if e.Name() == "README" {
			continue
		}
		keys++
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %04o, want 0600", e.Name(), perm)
		}
	}
	if keys != 2 {
		t.Errorf("%d files in key directory, want 2 key files", keys)
	}
}

func TestRotateAndPrune(t *testing.T) {
	ks := newKeySet(t)
	c := clocktest.New(time.Now())
	iss := newIssuer(t, ks, c)
	ctx := context.Background()
	oldTok, _ := issue(t, iss, time.Hour, nil)
	oldKID := ks.IDs()[0]

	newKID, err := ks.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if newKID == oldKID || ks.IDs()[0] != newKID {
		t.Fatalf("after Rotate IDs = %v, want %s first", ks.IDs(), newKID)
	}
	newTok, _ := issue(t, iss, time.Hour, nil)
	if kid := headerKID(t, newTok); kid != newKID {
		t.Errorf("new token kid = %s, want %s", kid, newKID)
	}
	if _, err := iss.Verify(ctx, oldTok); err != nil {
		t.Errorf("old-key token after Rotate: %v", err)
	}

	// The old key stopped signing just now: a prune for the token lifetime
	// keeps it.
	if removed, err := ks.Prune(MaxTTL + DefaultLeeway); err != nil || len(removed) != 0 {
		t.Fatalf("Prune(MaxTTL) = %v, %v; want nothing removed", removed, err)
	}
	if _, err := iss.Verify(ctx, oldTok); err != nil {
		t.Errorf("old-key token after early Prune: %v", err)
	}

	removed, err := ks.Prune(0)
	if err != nil || !slices.Equal(removed, []string{oldKID}) {
		t.Fatalf("Prune(0) = %v, %v; want [%s]", removed, err, oldKID)
	}
	if _, err := iss.Verify(ctx, oldTok); !errors.Is(err, ErrInvalid) {
		t.Errorf("old-key token after Prune = %v, want ErrInvalid", err)
	}
	if _, err := iss.Verify(ctx, newTok); err != nil {
		t.Errorf("active-key token after Prune: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ks.dir, keyFileName(oldKID))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pruned key file still on disk: %v", err)
	}
	// The active key is never pruned.
	if removed, _ := ks.Prune(0); len(removed) != 0 || len(ks.IDs()) != 1 {
		t.Errorf("Prune(0) on a single key removed %v", removed)
	}
}

func TestLoadOrCreateRejects(t *testing.T) {
	write := func(t *testing.T, name, data string, mode os.FileMode) string {
		dir := t.TempDir()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // not subject to umask
			t.Fatal(err)
		}
		return dir
	}
	t.Run("group-readable key", func(t *testing.T) {
		ks := newKeySet(t)
		p := filepath.Join(ks.dir, keyFileName(ks.IDs()[0]))
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreate(ks.dir); err == nil {
			t.Error("LoadOrCreate accepted a group-readable key")
		}
	})
	t.Run("not PEM", func(t *testing.T) {
		if _, err := LoadOrCreate(write(t, "key-x.pem", "hello", 0o600)); err == nil {
			t.Error("LoadOrCreate accepted a non-PEM key file")
		}
	})
	t.Run("not a key", func(t *testing.T) {
		data := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		if _, err := LoadOrCreate(write(t, "key-x.pem", data, 0o600)); err == nil {
			t.Error("LoadOrCreate accepted a bad PKCS #8 block")
		}
	})
	t.Run("empty dir name", func(t *testing.T) {
		if _, err := LoadOrCreate(""); err == nil {
			t.Error("LoadOrCreate(\"\") succeeded")
		}
	})
}

func headerKID(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, &wireClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}
