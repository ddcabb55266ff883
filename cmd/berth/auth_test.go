package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata/postgres"
	"github.com/berth-dev/berth/metadata/sqlite"
)

// The first start of an empty data directory prints the administrator key
// once and writes it to a file only the owner may read; later starts print
// nothing secret. The log never holds the secret.
func TestFirstStartCreatesAdministratorOnce(t *testing.T) {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.Context(), cfg.Metadata.SQLite.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	var out, logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := openAuthority(t.Context(), &cfg, store, nil, &out, log); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(cfg.Auth.AdminCredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(cfg.Auth.AdminCredentialsFile)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v; want 0600", cfg.Auth.AdminCredentialsFile, info.Mode().Perm())
	}
	var secretKey string
	for _, line := range strings.Split(string(file), "\n") {
		if v, ok := strings.CutPrefix(line, "aws_secret_access_key = "); ok {
			secretKey = v
		}
	}
	// Not a terminal (a buffer here; a log collector under a container):
	// the path of the secret, never the secret. Before, the secret was
	// printed wherever stdout went.
	if secretKey == "" || strings.Contains(out.String(), secretKey) || !strings.Contains(out.String(), cfg.Auth.AdminCredentialsFile) {
		t.Fatalf("first start printed:\n%s\nwant the path %s and not the secret", out.String(), cfg.Auth.AdminCredentialsFile)
	}
	if strings.Contains(logs.String(), secretKey) {
		t.Errorf("the log holds the secret:\n%s", logs.String())
	}

	out.Reset()
	if _, err := openAuthority(t.Context(), &cfg, store, nil, &out, log); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("second start printed:\n%s", out.String())
	}
	users, _ := store.Users(t.Context())
	if len(users) != 1 {
		t.Errorf("users after two starts: %v; want the one admin", users)
	}
}

// auth: none serves an open registry and says so loudly.
func TestNoAuthWarns(t *testing.T) {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Mode = "none"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(t.Context(), cfg.Metadata.SQLite.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out, logs bytes.Buffer
	a, err := openAuthority(t.Context(), &cfg, store, nil, &out, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Open() || !strings.Contains(logs.String(), "AUTHENTICATION IS OFF") || out.Len() != 0 {
		t.Errorf("open %v, log %q, printed %q; want an open authority, a loud warning and no key", a.Open(), logs.String(), out.String())
	}
}

// A token signed before `berth signing-key rotate` still verifies after a
// restart, and new tokens are signed by the new key.
func TestSigningKeyRotation(t *testing.T) {
	dataDir := t.TempDir()
	cfg := config.Defaults()
	cfg.DataDir = dataDir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	before, err := token.LoadOrCreate(cfg.Auth.SigningKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := token.New(before, cfg.Auth.Service)
	old, _, err := issuer.Issue(t.Context(), "admin", "AKIAEXAMPLE", 0, nil)
	if err != nil {
		t.Fatal(err)
	}

	cmd := signingKeyCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"rotate", "--data-dir", dataDir})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	after, err := token.LoadOrCreate(cfg.Auth.SigningKeysDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.IDs()) != 2 || !strings.Contains(out.String(), "new signing key") {
		t.Fatalf("after rotate: keys %v, output %q", after.IDs(), out.String())
	}
	restarted, _ := token.New(after, cfg.Auth.Service)
	if _, err := restarted.Verify(t.Context(), old); err != nil {
		t.Errorf("a token from before the rotation: %v", err)
	}
	fresh, _, err := restarted.Issue(t.Context(), "admin", "AKIAEXAMPLE", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The JWS header (the first segment) carries the kid.
	if strings.Split(fresh, ".")[0] == strings.Split(old, ".")[0] {
		t.Errorf("a token after the rotation has the old key's header")
	}
}

// Replicas starting at once on an empty PostgreSQL index agree on one
// administrator with one access key: one start creates it, the others
// find it, none fails.
func TestConcurrentFirstStartsOnPostgres(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	sealer, err := secret.LoadOrCreateMasterKey(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	const replicas = 4
	created := make(chan bool, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			store, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				return
			}
			defer store.Close()
			_, ok, err := auth.Bootstrap(t.Context(), store, sealer, filepath.Join(t.TempDir(), "admin-credentials"))
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
			created <- ok
		})
	}
	wg.Wait()
	close(created)
	n := 0
	for ok := range created {
		if ok {
			n++
		}
	}
	store, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := store.AccessKeys(t.Context(), auth.AdminUser)
	if n != 1 || err != nil || len(keys) != 1 {
		t.Errorf("%d of %d starts created the administrator, who has %d access keys (%v); want one of each", n, replicas, len(keys), err)
	}
}
