package awsjson

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/awserr"
)

type cursor struct {
	After string `json:"a"`
}

type listFilter struct {
	TagStatus string `json:"tagStatus"`
}

func newCodec(t testing.TB, secret string) *TokenCodec {
	t.Helper()
	c, err := NewTokenCodec([]byte(strings.Repeat(secret, 32)[:32]))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTokenRoundTrip(t *testing.T) {
	c := newCodec(t, "k")
	bind := Binding("ListImages", "123456789012", "repo-a", listFilter{"ANY"})
	tok, err := c.Encode(bind, cursor{After: "sha256:aaa"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(tok) {
		t.Errorf("token %q is not URL-safe", tok)
	}
	var got cursor
	if err := c.Decode(tok, Binding("ListImages", "123456789012", "repo-a", listFilter{"ANY"}), &got); err != nil {
		t.Fatal(err)
	}
	if got.After != "sha256:aaa" {
		t.Errorf("cursor = %+v", got)
	}
}

func TestTokenRefused(t *testing.T) {
	c := newCodec(t, "k")
	bind := Binding("ListImages", "123456789012", "repo-a", listFilter{"ANY"})
	tok, err := c.Encode(bind, cursor{After: "x"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	flipped := append([]byte(nil), raw...)
	flipped[3] ^= 1
	wrongType, _ := c.Encode(bind, []int{1})

	tests := []struct {
		name  string
		codec *TokenCodec
		token string
		bind  any
	}{
		{"other repository", c, tok, Binding("ListImages", "123456789012", "repo-b", listFilter{"ANY"})},
		{"other filter", c, tok, Binding("ListImages", "123456789012", "repo-a", listFilter{"TAGGED"})},
		{"other operation", c, tok, Binding("DescribeImages", "123456789012", "repo-a", listFilter{"ANY"})},
		{"other key", newCodec(t, "z"), tok, bind},
		{"flipped payload bit", c, base64.RawURLEncoding.EncodeToString(flipped), bind},
		{"truncated", c, tok[:len(tok)-2], bind},
		{"not base64", c, "page2!", bind},
		{"foreign token", c, "page2", bind},
		{"empty", c, "", bind},
		{"huge", c, strings.Repeat("A", 10000), bind},
		{"signed but wrong cursor type", c, wrongType, bind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got cursor
			err := tt.codec.Decode(tt.token, tt.bind, &got)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Decode = %v, want ErrInvalidToken", err)
			}
			e, internal := asAWS(err, awserr.ServerException)
			if internal || e.HTTPStatus() != 400 || e.Type != awserr.InvalidParameterException || e.Message != "Invalid NextToken." {
				t.Errorf("wire form = %+v", e)
			}
		})
	}
}

func TestNewTokenCodecShortSecret(t *testing.T) {
	if _, err := NewTokenCodec([]byte("short")); err == nil {
		t.Error("short secret accepted")
	}
}

func FuzzTokenDecode(f *testing.F) {
	c := newCodec(f, "k")
	tok, _ := c.Encode(Binding("ListImages", "r"), cursor{After: "x"})
	f.Add(tok)
	f.Add("page2")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		var got cursor
		err := c.Decode(token, Binding("ListImages", "r"), &got)
		if err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("Decode(%q) = %v", token, err)
		}
		if err == nil && token != tok {
			// A forged token would need an HMAC-SHA256 collision.
			t.Fatalf("Decode accepted a token it did not issue: %q", token)
		}
	})
}

// mapSettings are Settings in memory.
type mapSettings map[string]string

func (m mapSettings) Setting(_ context.Context, key string) (string, error) { return m[key], nil }
func (m mapSettings) PutSetting(_ context.Context, key, value string) error {
	m[key] = value
	return nil
}

// A stored secret is made once and read back: a token made before a
// restart is still good after it.
func TestStoredTokenSecret(t *testing.T) {
	settings := mapSettings{}
	codec := func(key string) *TokenCodec {
		t.Helper()
		secret, err := StoredTokenSecret(t.Context(), settings, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewTokenCodec(secret)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tok, err := codec("svc.key").Encode("op", "cursor")
	if err != nil {
		t.Fatal(err)
	}
	var cursor string
	if err := codec("svc.key").Decode(tok, "op", &cursor); err != nil || cursor != "cursor" {
		t.Fatalf("Decode after a restart = %q, %v", cursor, err)
	}
	if err := codec("other.key").Decode(tok, "op", &cursor); err == nil {
		t.Error("another key's codec accepted the token")
	}
	settings["bad.key"] = "not base64!"
	if _, err := StoredTokenSecret(t.Context(), settings, "bad.key"); err == nil {
		t.Error("a secret that does not decode was used")
	}
}
