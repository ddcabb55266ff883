package awsjson

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/internal/awserr"
)

// tokenVersion is the first byte of every token, so the format can change.
const tokenVersion = 1

// maxTokenLen bounds the tokens Decode looks at; real ones are far shorter.
const maxTokenLen = 2048

// MinTokenSecret is the shortest secret NewTokenCodec accepts.
const MinTokenSecret = 32

// TokenCodec makes pagination tokens (nextToken): opaque to clients,
// URL-safe, and tamper-proof with HMAC-SHA256. Each token is bound to a
// binding value, normally the operation name and every input member that
// shapes the result set (registry, repository, filter), so a token from
// ListImages of repository A is refused for repository B or for another
// operation. Page size is not part of the binding: clients may change
// maxResults between pages.
//
// Tokens are signed, not encrypted: the cursor inside is readable by anyone
// who base64-decodes it, so it must hold only values the caller already sees
// (names, digests, offsets). Rotating the secret invalidates open tokens.
type TokenCodec struct {
	key []byte
}

// NewTokenCodec returns a codec keyed by secret, which must be at least
// [MinTokenSecret] random bytes and the same on every replica.
func NewTokenCodec(secret []byte) (*TokenCodec, error) {
	if len(secret) < MinTokenSecret {
		return nil, fmt.Errorf("awsjson: token secret must be at least %d bytes, got %d", MinTokenSecret, len(secret))
	}
	return &TokenCodec{key: append([]byte(nil), secret...)}, nil
}

// Binding builds a token binding from an operation name and the input
// members that fix its result set, e.g.
// Binding("ListImages", in.RegistryID, in.RepositoryName, in.Filter).
func Binding(operation string, members ...any) any {
	return append([]any{operation}, members...)
}

// Encode returns a token carrying cursor (JSON-marshalled) bound to binding.
func (c *TokenCodec) Encode(binding, cursor any) (string, error) {
	payload, err := json.Marshal(cursor)
	if err != nil {
		return "", fmt.Errorf("awsjson: encode token cursor: %w", err)
	}
	mac, err := c.mac(binding, payload)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 0, 1+len(payload)+len(mac))
	raw = append(raw, tokenVersion)
	raw = append(raw, payload...)
	raw = append(raw, mac...)
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// ErrInvalidToken is returned (wrapped in an InvalidParameterException) for
// every token Decode refuses.
var ErrInvalidToken = errors.New("invalid pagination token")

// Decode checks token against binding and reads its cursor into cursor. A
// token that was altered, made by another key, bound to another operation or
// other filters, or is not a token at all is refused with an
// InvalidParameterException ("Invalid NextToken"), which errors.Is matches
// to [ErrInvalidToken].
func (c *TokenCodec) Decode(token string, binding, cursor any) error {
	refuse := awserr.Errorf(awserr.InvalidParameterException, "Invalid NextToken.").WithCause(ErrInvalidToken)
	if len(token) == 0 || len(token) > maxTokenLen {
		return refuse
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+sha256.Size || raw[0] != tokenVersion {
		return refuse
	}
	payload, got := raw[1:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	want, err := c.mac(binding, payload)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, want) {
		return refuse
	}
	if err := json.Unmarshal(payload, cursor); err != nil {
		// Signed by us but not of this cursor type: a wiring change, but to
		// the client it is still just a stale token.
		return refuse
	}
	return nil
}

// mac signs the version, the binding's JSON (length-prefixed, so binding and
// payload bytes cannot be traded) and the payload.
func (c *TokenCodec) mac(binding any, payload []byte) ([]byte, error) {
	b, err := json.Marshal(binding)
	if err != nil {
		return nil, fmt.Errorf("awsjson: encode token binding: %w", err)
	}
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte{tokenVersion})
	h.Write(fmt.Appendf(nil, "%d:", len(b)))
	h.Write(b)
	h.Write(payload)
	return h.Sum(nil), nil
}

// Settings is where a service keeps its token secret (metadata.Settings).
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}

// StoredTokenSecret returns the token secret kept in settings under key,
// creating a random one on first use, so that a service's tokens survive
// restarts and work on every replica that shares the settings.
func StoredTokenSecret(ctx context.Context, settings Settings, key string) ([]byte, error) {
	text, err := settings.Setting(ctx, key)
	if err != nil {
		return nil, err
	}
	if text == "" {
		secret := make([]byte, MinTokenSecret)
		rand.Read(secret)
		text = base64.StdEncoding.EncodeToString(secret)
		if err := settings.PutSetting(ctx, key, text); err != nil {
			return nil, err
		}
	}
	return base64.StdEncoding.DecodeString(text)
}

// OpenTokenCodec returns the codec of a service's paging tokens: keyed by
// secret when one is configured, else by the secret kept in settings under
// key (see [StoredTokenSecret]).
func OpenTokenCodec(ctx context.Context, settings Settings, key string, secret []byte) (*TokenCodec, error) {
	if len(secret) == 0 {
		var err error
		if secret, err = StoredTokenSecret(ctx, settings, key); err != nil {
			return nil, err
		}
	}
	return NewTokenCodec(secret)
}
