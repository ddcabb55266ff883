package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
)

// KeySize is the size of a master key: AES-256.
const KeySize = 32

// version is the first byte of a sealed value.
const version byte = 1

const nonceSize = 12

// Overhead is how many bytes sealing adds to a plaintext.
const Overhead = 1 + nonceSize + 16

// ErrOpen is returned by Open for anything that does not open: a value
// sealed under another master key or with other additional data, a
// damaged or truncated value, or an unknown version. The causes are not
// told apart, on purpose.
var ErrOpen = errors.New("secret: sealed value does not open (wrong master key, wrong access key, or damaged)")

// Sealer seals and opens secrets under one master key. It is safe for
// concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer with master key key, which must be KeySize bytes.
// The Sealer keeps no reference to key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: master key is %d bytes; want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// FromBase64 returns a Sealer whose master key is s, standard base64 of
// KeySize bytes (`head -c 32 /dev/urandom | base64`), as given in config.
func FromBase64(s string) (*Sealer, error) {
	key, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		// The decoder's error names an offset, never the text.
		return nil, fmt.Errorf("secret: master key is not standard base64: %w", err)
	}
	defer clear(key)
	return New(key)
}

// Seal encrypts and authenticates plaintext, and authenticates
// additionalData, which Open must be given again. Each call draws a fresh
// random nonce, so sealing the same plaintext twice gives different values.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, Overhead+len(plaintext))
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("secret: reading a nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+nonceSize], plaintext, aad(additionalData)), nil
}

// Open returns the plaintext of a value Seal returned for the same
// additionalData under the same master key. ErrOpen otherwise.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != version {
		return nil, ErrOpen
	}
	plaintext, err := s.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], aad(additionalData))
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// aad authenticates the version byte along with the caller's data.
func aad(additionalData []byte) []byte {
	return append([]byte{version}, additionalData...)
}

// SealAccessKey seals k's secret bound to k's ID, for
// metadata.AccessKey.SealedSecret.
func (s *Sealer) SealAccessKey(k AccessKey) ([]byte, error) {
	return s.Seal([]byte(k.Secret), []byte(k.ID))
}

// OpenAccessKey opens the sealed secret of access key id. ErrOpen if it
// was not sealed for id under this master key.
func (s *Sealer) OpenAccessKey(id string, sealed []byte) (AccessKey, error) {
	secret, err := s.Open(sealed, []byte(id))
	if err != nil {
		return AccessKey{}, err
	}
	return AccessKey{ID: id, Secret: string(secret)}, nil
}

// String hides the master key.
func (s *Sealer) String() string { return "secret.Sealer{master key: REDACTED}" }

// GoString hides the master key from %#v.
func (s *Sealer) GoString() string { return s.String() }

// LogValue hides the master key from log/slog.
func (s *Sealer) LogValue() slog.Value { return slog.StringValue(s.String()) }
