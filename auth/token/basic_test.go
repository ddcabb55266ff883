package token

import (
	"encoding/base64"
	"testing"
)

func TestECRAuthorizationToken(t *testing.T) {
	if got, want := ECRAuthorizationToken("a.b-c_d"), "QVdTOmEuYi1jX2Q="; got != want {
		t.Errorf("ECRAuthorizationToken = %q, want %q", got, want)
	}
}

func TestParseBasic(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		header     string
		user, pass string
		ok         bool
	}{
		{"Basic " + b64([]byte("AWS:eyJh.eyJi.c2ln")), "AWS", "eyJh.eyJi.c2ln", true},
		{"Basic " + ECRAuthorizationToken("tok"), "AWS", "tok", true}, // curl -H "Authorization: Basic $TOKEN"
		{"basic " + b64([]byte("AWS:tok")), "AWS", "tok", true},
		{"BASIC   " + b64([]byte("AWS:tok")) + " ", "AWS", "tok", true},
		{"Basic " + base64.RawStdEncoding.EncodeToString([]byte("AWS:tok")), "AWS", "tok", true},
		{"Basic " + b64([]byte("user:pa:ss")), "user", "pa:ss", true},
		{"Basic " + b64([]byte(":")), "", "", true},
		{"Basic " + b64([]byte("AWS")), "", "", false}, // no colon
		{"Basic AWS:tok", "", "", false},               // not base64
		{"Basic", "", "", false},
		{"Basic ", "", "", false},
		{"Bearer " + b64([]byte("AWS:tok")), "", "", false},
		{"", "", "", false},
		{"Basic " + b64([]byte("AWS:tok")) + "!", "", "", false},
	} {
		user, pass, ok := ParseBasic(tc.header)
		if user != tc.user || pass != tc.pass || ok != tc.ok {
			t.Errorf("ParseBasic(%q) = %q, %q, %v; want %q, %q, %v", tc.header, user, pass, ok, tc.user, tc.pass, tc.ok)
		}
	}
}
