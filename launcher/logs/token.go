package logs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// tokens makes the API's paging tokens. GetLogEvents' tokens look like
// CloudWatch's: "f/" (forward) or "b/" (backward) and 56 digits, which
// here are the gap the next page starts at, (timestamp+1, sequence) in 17
// and 19 digits, and 20 digits of an HMAC over the direction, the gap and
// the group and stream names, so a token is refused anywhere but where it
// came from. The other operations' tokens are awsjson's.
type tokens struct {
	codec *awsjson.TokenCodec
	key   []byte
}

func newTokens(secret []byte) (*tokens, error) {
	codec, err := awsjson.NewTokenCodec(secret)
	if err != nil {
		return nil, err
	}
	return &tokens{codec: codec, key: secret}, nil
}

// streamTokenLen is the length of "f/" and 56 digits.
const streamTokenLen = 58

// encodeStream returns the token of the gap in a stream's events.
func (t *tokens) encodeStream(group, stream string, forward bool, gap metadata.LogPosition) string {
	dir := byte('b')
	if forward {
		dir = 'f'
	}
	digits := fmt.Sprintf("%017d%019d", gap.Time+1, gap.Seq)
	return fmt.Sprintf("%c/%s%020d", dir, digits, t.streamMAC(group, stream, dir, digits))
}

// decodeStream reads a token made by encodeStream for the same group and
// stream; errInvalidToken for anything else.
func (t *tokens) decodeStream(group, stream, token string) (forward bool, gap metadata.LogPosition, err error) {
	if len(token) != streamTokenLen || token[1] != '/' || (token[0] != 'f' && token[0] != 'b') {
		return false, gap, errInvalidToken
	}
	for i := 2; i < len(token); i++ {
		if token[i] < '0' || token[i] > '9' {
			return false, gap, errInvalidToken
		}
	}
	digits := token[2:38]
	ts, err1 := strconv.ParseInt(digits[:17], 10, 64)
	seq, err2 := strconv.ParseInt(digits[17:], 10, 64)
	mac, err3 := strconv.ParseUint(token[38:], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return false, gap, errInvalidToken
	}
	want := t.streamMAC(group, stream, token[0], digits)
	if !hmac.Equal(binary.BigEndian.AppendUint64(nil, mac), binary.BigEndian.AppendUint64(nil, want)) {
		return false, gap, errInvalidToken
	}
	return token[0] == 'f', metadata.LogPosition{Time: ts - 1, Seq: seq}, nil
}

// streamMAC is the first 64 bits of an HMAC-SHA256 over a stream token's
// parts, each length-prefixed so that no two sets of parts collide.
func (t *tokens) streamMAC(group, stream string, dir byte, digits string) uint64 {
	h := hmac.New(sha256.New, t.key)
	for _, part := range []string{"logs stream token", group, stream, string(dir), digits} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(part))))
		h.Write([]byte(part))
	}
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// decode reads an awsjson token into cursor; errInvalidToken for every
// token the codec refuses.
func (t *tokens) decode(token string, binding, cursor any) error {
	if t.codec.Decode(token, binding, cursor) != nil {
		return errInvalidToken
	}
	return nil
}

// encode returns an awsjson token of cursor.
func (t *tokens) encode(binding, cursor any) (*string, error) {
	token, err := t.codec.Encode(binding, cursor)
	return &token, err
}
