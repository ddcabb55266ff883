package secret_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/auth/secret"
)

func newSealer(t testing.TB, fill byte) *secret.Sealer {
	t.Helper()
	s, err := secret.New(bytes.Repeat([]byte{fill}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := newSealer(t, 1)
	for _, plaintext := range [][]byte{nil, []byte("x"), []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), bytes.Repeat([]byte{0}, 4096)} {
		sealed, err := s.Seal(plaintext, []byte("AKIAIOSFODNN7EXAMPLE"))
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if len(sealed) != len(plaintext)+secret.Overhead || sealed[0] != 1 {
			t.Errorf("sealed %d bytes into %d, version %d; want %d bytes, version 1", len(plaintext), len(sealed), sealed[0], len(plaintext)+secret.Overhead)
		}
		if len(plaintext) > 8 && bytes.Contains(sealed, plaintext) {
			t.Errorf("the sealed value contains the plaintext")
		}
		got, err := s.Open(sealed, []byte("AKIAIOSFODNN7EXAMPLE"))
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Errorf("Open = %q, %v; want %q", got, err, plaintext)
		}
	}
	// A fresh nonce each time.
	a, _ := s.Seal([]byte("same"), nil)
	b, _ := s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Error("sealing the same plaintext twice gave the same value")
	}
}

func TestOpenRefuses(t *testing.T) {
	s := newSealer(t, 1)
	id := []byte("AKIAAAAAAAAAAAAAAAAA")
	sealed, err := s.Seal([]byte("the secret"), id)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealer *secret.Sealer
		sealed []byte
		ad     []byte
	}{
		{"wrong master key", newSealer(t, 2), sealed, id},
		{"moved to another access key", s, sealed, []byte("AKIABBBBBBBBBBBBBBBB")},
		{"no additional data", s, sealed, nil},
		{"version changed", s, flip(0), id},
		{"nonce tampered", s, flip(1), id},
		{"ciphertext tampered", s, flip(1 + 12), id},
		{"tag tampered", s, flip(len(sealed) - 1), id},
		{"truncated", s, sealed[:len(sealed)-1], id},
		{"tag only", s, sealed[:secret.Overhead-1], id},
		{"extended", s, append(bytes.Clone(sealed), 0), id},
		{"empty", s, nil, id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.sealed, tt.ad)
			if !errors.Is(err, secret.ErrOpen) || got != nil {
				t.Errorf("Open = %q, %v; want nil, ErrOpen", got, err)
			}
		})
	}
}

func TestAccessKeySealing(t *testing.T) {
	s := newSealer(t, 7)
	k, err := secret.NewAccessKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := secret.NewAccessKey()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.SealAccessKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.OpenAccessKey(k.ID, sealed); err != nil || got != k {
		t.Errorf("OpenAccessKey = %v, %v; want the key", got.ID, err)
	}
	// Copying one row's sealed secret onto another key's row gets nothing.
	if _, err := s.OpenAccessKey(other.ID, sealed); !errors.Is(err, secret.ErrOpen) {
		t.Errorf("OpenAccessKey under another ID: err = %v; want ErrOpen", err)
	}
}

var (
	idPattern     = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`)
)

func TestNewAccessKey(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		k, err := secret.NewAccessKey()
		if err != nil {
			t.Fatal(err)
		}
		if !idPattern.MatchString(k.ID) || !secret.ValidAccessKeyID(k.ID) {
			t.Fatalf("ID %q is not AKIA and 16 of [A-Z2-7]", k.ID)
		}
		if !secretPattern.MatchString(k.Secret) {
			t.Fatalf("a secret is not 40 of [A-Za-z0-9+/]")
		}
		if seen[k.ID] || seen[k.Secret] {
			t.Fatal("NewAccessKey repeated itself")
		}
		seen[k.ID], seen[k.Secret] = true, true
	}
}

func TestValidAccessKeyID(t *testing.T) {
	for id, want := range map[string]bool{
		"AKIAIOSFODNN7EXAMPLE":  true,
		"AKIAAAAAAAAAAAAAAAAA":  true,
		"AKIA2345672345672345":  true,
		"AKIAIOSFODNN7EXAMPL":   false, // short
		"AKIAIOSFODNN7EXAMPLEX": false, // long
		"ASIAIOSFODNN7EXAMPLE":  false, // temporary credentials are not ours
		"akiaiosfodnn7example":  false,
		"AKIAIOSFODNN1EXAMPLE":  false, // 1 is not base32
		"AKIAIOSFODNN8EXAMPLE":  false,
		"AKIAIOSFODNN7EXAMPL=":  false,
		"AKIAIOSFODNN7EXAMPLé":  false,
		"":                      false,
	} {
		if got := secret.ValidAccessKeyID(id); got != want {
			t.Errorf("ValidAccessKeyID(%q) = %v; want %v", id, got, want)
		}
	}
}

// Formatting and logging a key or a sealer never shows the secret.
func TestSecretsStayOutOfLogs(t *testing.T) {
	k, err := secret.NewAccessKey()
	if err != nil {
		t.Fatal(err)
	}
	keyB64 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xab}, secret.KeySize))
	s, err := secret.FromBase64(keyB64)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&out, nil), slog.NewJSONHandler(&out, nil)} {
		slog.New(h).Info("made", "key", k, "sealer", s, "ptr", &k)
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		fmt.Fprintf(&out, format+"\n", k)
		fmt.Fprintf(&out, format+"\n", s)
		fmt.Fprintf(&out, format+"\n", []secret.AccessKey{k})
	}
	if !strings.Contains(out.String(), k.ID) {
		t.Errorf("the ID is not in the output, which should name it:\n%s", out.String())
	}
	if strings.Contains(out.String(), k.Secret) || strings.Contains(out.String(), keyB64) ||
		strings.Contains(out.String(), string(bytes.Repeat([]byte{0xab}, 4))) {
		t.Errorf("a secret leaked into the output:\n%s", out.String())
	}
}

func TestFromBase64(t *testing.T) {
	key := bytes.Repeat([]byte{3}, secret.KeySize)
	s, err := secret.FromBase64(base64.StdEncoding.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := secret.New(key)
	sealed, _ := direct.Seal([]byte("x"), []byte("ad"))
	if got, err := s.Open(sealed, []byte("ad")); err != nil || string(got) != "x" {
		t.Errorf("a key from base64 does not open what the same key sealed: %q, %v", got, err)
	}
	secretLooking := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 16))
	for _, bad := range []string{
		"",
		secretLooking, // 16 bytes: AES-128 is not accepted
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 33)),
		base64.RawStdEncoding.EncodeToString(key) + "!",
		"not base64 at all " + secretLooking,
	} {
		_, err := secret.FromBase64(bad)
		if err == nil {
			t.Errorf("FromBase64(%q) succeeded", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), secretLooking) {
			t.Errorf("the error names the key: %v", err)
		}
	}
}

func TestLoadOrCreateMasterKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	s, err := secret.LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatalf("creating: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != secret.KeySize {
		t.Errorf("key file is %d bytes; want %d", info.Size(), secret.KeySize)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o; want 0600", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files in the directory; want only the key file", len(entries))
	}
	sealed, err := s.Seal([]byte("kept"), []byte("id"))
	if err != nil {
		t.Fatal(err)
	}
	// The next start loads the same key.
	again, err := secret.LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	if got, err := again.Open(sealed, []byte("id")); err != nil || string(got) != "kept" {
		t.Errorf("the reloaded key does not open what the first sealed: %q, %v", got, err)
	}
	// A new file is a new key.
	other, err := secret.LoadOrCreateMasterKey(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, []byte("id")); !errors.Is(err, secret.ErrOpen) {
		t.Errorf("another generated key opened the value: %v", err)
	}
}

// Processes starting at once agree on one key.
func TestLoadOrCreateMasterKeyRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	sealers := make([]*secret.Sealer, 8)
	var wg sync.WaitGroup
	for i := range sealers {
		wg.Go(func() {
			s, err := secret.LoadOrCreateMasterKey(path)
			if err != nil {
				t.Errorf("LoadOrCreateMasterKey: %v", err)
			}
			sealers[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed, _ := sealers[0].Seal([]byte("x"), nil)
	for i, s := range sealers {
		if _, err := s.Open(sealed, nil); err != nil {
			t.Errorf("sealer %d has another key: %v", i, err)
		}
	}
}

func TestLoadMasterKeyRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	key := bytes.Repeat([]byte{5}, secret.KeySize)
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    string
	}{
		{"group-readable", key, 0o640, "mode 0640"},
		{"world-readable", key, 0o604, "mode 0604"},
		{"group-writable", key, 0o620, "mode 0620"},
		{"short", key[:31], 0o600, "not 32 bytes"},
		{"long", append(bytes.Clone(key), '\n'), 0o600, "not 32 bytes"},
		{"empty", nil, 0o600, "not 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := secret.LoadOrCreateMasterKey(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want one saying %q", err, tt.want)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, tt.content) {
				t.Error("the refused file was changed")
			}
		})
	}
	t.Run("owner-only is accepted", func(t *testing.T) {
		for _, mode := range []os.FileMode{0o600, 0o400} {
			path := filepath.Join(dir, fmt.Sprintf("ok-%o", mode))
			if err := os.WriteFile(path, key, mode); err != nil {
				t.Fatal(err)
			}
			if _, err := secret.LoadOrCreateMasterKey(path); err != nil {
				t.Errorf("mode %04o: %v", mode, err)
			}
		}
	})
	t.Run("a directory", func(t *testing.T) {
		path := filepath.Join(dir, "a-directory")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := secret.LoadOrCreateMasterKey(path); err == nil {
			t.Error("a directory was accepted as a key file")
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		if _, err := secret.LoadOrCreateMasterKey(filepath.Join(dir, "missing", "master.key")); err == nil {
			t.Error("created a key file in a directory that does not exist")
		}
	})
}

func TestNewRefusesKeySizes(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := secret.New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}
