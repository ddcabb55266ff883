package secret

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
)

// AccessKey is an access key in the clear: what `berth key create` shows
// its user once, and what checking a SigV4 signature needs. Printing or
// logging it shows only the ID.
type AccessKey struct {
	// ID is "AKIA" and 16 characters of [A-Z2-7], like AWS's access key IDs.
	ID string
	// Secret is 40 characters of [A-Za-z0-9+/], like AWS's secret access keys.
	Secret string
}

const (
	idPrefix  = "AKIA"
	idLength  = 20
	secretLen = 40
)

// NewAccessKey generates an access key: an ID with 80 random bits and a
// secret with 240.
func NewAccessKey() (AccessKey, error) {
	id := make([]byte, 10)     // 80 bits: 16 base32 characters, no padding
	secret := make([]byte, 30) // 240 bits: 40 base64 characters, no padding
	if _, err := rand.Read(id); err != nil {
		return AccessKey{}, fmt.Errorf("secret: generating an access key: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return AccessKey{}, fmt.Errorf("secret: generating an access key: %w", err)
	}
	defer clear(secret)
	return AccessKey{
		ID:     idPrefix + base32.StdEncoding.EncodeToString(id),
		Secret: base64.StdEncoding.EncodeToString(secret),
	}, nil
}

// ValidAccessKeyID reports whether id has the form of an ID NewAccessKey
// makes, so a request naming anything else can be refused before a
// lookup.
func ValidAccessKeyID(id string) bool {
	if len(id) != idLength || !strings.HasPrefix(id, idPrefix) {
		return false
	}
	for _, c := range id[len(idPrefix):] {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// String shows the ID and hides the secret.
func (k AccessKey) String() string { return "AccessKey{ID: " + k.ID + ", Secret: REDACTED}" }

// GoString hides the secret from %#v.
func (k AccessKey) GoString() string { return k.String() }

// LogValue logs the ID only.
func (k AccessKey) LogValue() slog.Value { return slog.GroupValue(slog.String("id", k.ID)) }
