package token

import (
	"encoding/base64"
	"strings"
)

// maxBasicLen bounds the credentials ParseBasic decodes.
const maxBasicLen = 16 << 10

// ECRAuthorizationToken returns the authorizationToken field of ECR's
// GetAuthorizationToken response for password (a token from
// [Issuer.Issue]): base64 (standard, padded) of "AWS:" + password.
func ECRAuthorizationToken(password string) string {
	return base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
}

// ParseBasic parses an Authorization header value of the Basic scheme
// (RFC 7617), "Basic base64(user:password)", and returns the user and the
// password. docker login with the output of `aws ecr get-login-password`
// sends user "AWS" and a token as the password; `curl -H "Authorization:
// Basic $TOKEN"` with the raw ECR authorizationToken sends the same bytes.
//
// The scheme is case-insensitive, and unpadded base64 is tolerated. ok is
// false for another scheme, bad base64 or no ':' in the decoded
// credentials. The caller must still check that user is "AWS" and verify
// the password.
func ParseBasic(header string) (user, password string, ok bool) {
	scheme, creds, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	creds = strings.TrimLeft(creds, " ")
	if creds == "" || len(creds) > maxBasicLen {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(creds)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(creds); err != nil {
			return "", "", false
		}
	}
	// The user-id cannot contain ':' (RFC 7617 §2); the password may.
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	return user, password, true
}
