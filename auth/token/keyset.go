package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	pemType       = "PRIVATE KEY" // PKCS #8
	pemCreatedKey = "Created"     // PEM header holding the key's creation time
	keyFilePrefix = "key-"
	keyFileSuffix = ".pem"
)

// KeySet holds the ES256 keys that sign and verify tokens: one active key
// that signs new tokens, and older keys kept only to verify tokens they
// signed before a [KeySet.Rotate]. Each key is stored as a PKCS #8 PEM file
// (mode 0600) in the KeySet's directory, so tokens stay valid across a
// restart.
//
// A KeySet is safe for concurrent use by multiple goroutines. It is not
// safe for two processes to rotate or prune the same directory at once.
type KeySet struct {
	dir string

	mu   sync.RWMutex
	keys []*signingKey // ordered by created, oldest first; the last one is active
}

type signingKey struct {
	id      string // RFC 7638 JWK thumbprint, base64url
	created time.Time
	priv    *ecdsa.PrivateKey
}

// LoadOrCreate opens the key set stored in dir, creating dir (mode 0700)
// and a first key when dir holds no key. It reads every key-*.pem file in
// dir; the most recently created key becomes the active signing key.
//
// It returns an error if a key file is unreadable, is not a P-256 PKCS #8
// private key, or is readable by group or others (like ssh, it refuses to
// use a key another user may have read).
func LoadOrCreate(dir string) (*KeySet, error) {
	if dir == "" {
		return nil, errors.New("token: key directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token: create key directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("token: read key directory: %w", err)
	}
	ks := &KeySet{dir: dir}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, keyFilePrefix) || !strings.HasSuffix(name, keyFileSuffix) {
			continue
		}
		k, err := readKey(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(ks.keys, func(o *signingKey) bool { return o.id == k.id }) {
			ks.keys = append(ks.keys, k)
		}
	}
	slices.SortStableFunc(ks.keys, func(a, b *signingKey) int { return a.created.Compare(b.created) })
	if len(ks.keys) == 0 {
		if _, err := ks.Rotate(); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// Rotate creates a new key, stores it and makes it the active signing key.
// Earlier keys stay available to verify tokens until [KeySet.Prune] removes
// them. It returns the new key's ID (the "kid" header of the tokens it
// signs).
func (ks *KeySet) Rotate() (id string, err error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("token: generate key: %w", err)
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	created := time.Now().UTC().Round(0)
	if n := len(ks.keys); n > 0 && !created.After(ks.keys[n-1].created) {
		// Keep creation order strict even with a coarse or stepped clock.
		created = ks.keys[n-1].created.Add(time.Nanosecond)
	}
	id, err = thumbprint(&priv.PublicKey)
	if err != nil {
		return "", err
	}
	k := &signingKey{id: id, created: created, priv: priv}
	if err := writeKey(ks.dir, k); err != nil {
		return "", err
	}
	ks.keys = append(ks.keys, k)
	return k.id, nil
}

// Prune deletes the keys that stopped signing more than olderThan ago: a
// key stops signing when the next key is created by [KeySet.Rotate]. The
// active key is never pruned. Pass the longest token lifetime plus the
// verification leeway ([MaxTTL] + [DefaultLeeway]) so that no token still
// valid loses its key. It returns the IDs of the removed keys.
func (ks *KeySet) Prune(olderThan time.Duration) (removed []string, err error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := time.Now()
	kept := make([]*signingKey, 0, len(ks.keys))
	for i, k := range ks.keys {
		if i < len(ks.keys)-1 && now.Sub(ks.keys[i+1].created) >= olderThan {
			err := os.Remove(filepath.Join(ks.dir, keyFileName(k.id)))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				// Keep this key and the rest: the set must match the disk.
				ks.keys = append(kept, ks.keys[i:]...)
				return removed, fmt.Errorf("token: remove key %s: %w", k.id, err)
			}
			removed = append(removed, k.id)
			continue
		}
		kept = append(kept, k)
	}
	ks.keys = kept
	return removed, nil
}

// IDs returns the IDs of all keys in the set, the active signing key first
// and then the older keys from newest to oldest.
func (ks *KeySet) IDs() []string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	ids := make([]string, 0, len(ks.keys))
	for i := len(ks.keys) - 1; i >= 0; i-- {
		ids = append(ids, ks.keys[i].id)
	}
	return ids
}

// active returns the signing key.
func (ks *KeySet) active() *signingKey {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys[len(ks.keys)-1]
}

// publicKey returns the verification key with the given ID.
func (ks *KeySet) publicKey(id string) (*ecdsa.PublicKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for _, k := range ks.keys {
		if k.id == id {
			return &k.priv.PublicKey, true
		}
	}
	return nil, false
}

func keyFileName(id string) string { return keyFilePrefix + id + keyFileSuffix }

// thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of a P-256 key,
// base64url without padding: a stable ID derived from the key itself.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	ek, err := pub.ECDH()
	if err != nil {
		return "", fmt.Errorf("token: invalid P-256 public key: %w", err)
	}
	point := ek.Bytes() // 0x04 || X || Y, 32 bytes each
	enc := base64.RawURLEncoding
	jwk := `{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(point[1:33]) + `","y":"` + enc.EncodeToString(point[33:]) + `"}`
	sum := sha256.Sum256([]byte(jwk))
	return enc.EncodeToString(sum[:]), nil
}

func writeKey(dir string, k *signingKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return fmt.Errorf("token: encode key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{
		Type:    pemType,
		Headers: map[string]string{pemCreatedKey: k.created.Format(time.RFC3339Nano)},
		Bytes:   der,
	})
	// CreateTemp makes the file with mode 0600; rename makes the write atomic.
	f, err := os.CreateTemp(dir, ".tmp-key-*")
	if err != nil {
		return fmt.Errorf("token: write key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("token: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("token: write key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("token: write key: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, keyFileName(k.id))); err != nil {
		return fmt.Errorf("token: write key: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // best effort: persist the rename
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func readKey(path string) (*signingKey, error) {
	name := filepath.Base(path)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("token: key file %s: %w", name, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("token: key file %s has mode %04o, want 0600 (no group or other access)", name, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: key file %s: %w", name, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("token: key file %s: no %q PEM block", name, pemType)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("token: key file %s: not a PKCS #8 private key", name)
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("token: key file %s: not an ECDSA P-256 key", name)
	}
	created, err := time.Parse(time.RFC3339Nano, block.Headers[pemCreatedKey])
	if err != nil {
		return nil, fmt.Errorf("token: key file %s: bad %s header", name, pemCreatedKey)
	}
	id, err := thumbprint(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("token: key file %s: %w", name, err)
	}
	return &signingKey{id: id, created: created.UTC(), priv: priv}, nil
}
