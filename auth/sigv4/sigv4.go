// Package sigv4 verifies AWS Signature Version 4 (AWS4-HMAC-SHA256)
// Authorization headers on incoming HTTP requests, the way AWS JSON
// services such as ECR do, so that the aws CLI and AWS SDKs can call berth.
//
// It owns the canonical request, the string to sign, the signing key, the
// credential-scope and clock-skew checks, and the AWS error names for
// authentication failures. It does not own where secrets live (see
// Credentials), authorisation, or writing the error response: the caller
// writes the *awserr.Error it returns in its protocol's form.
//
// Not supported: presigned (query-string) requests, chunked
// "STREAMING-*" payloads, STS session tokens (X-Amz-Security-Token is
// neither checked nor required), and the S3 variant of the canonical URI.
// Paths are not normalised ("/a/../b" stays as sent), as the Go SDK signs
// them.
//
// Specification: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/awserr"
)

// UnsignedPayload is the X-Amz-Content-Sha256 value by which a client
// leaves the body out of the signature.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// DefaultMaxSkew is the clock skew AWS allows for ECR requests.
const DefaultMaxSkew = 15 * time.Minute

// Credentials looks up the secret access key for an access key ID.
type Credentials interface {
	// Secret returns the secret access key for accessKeyID. It returns
	// ErrUnknownAccessKey (or an error wrapping it) when the key does not
	// exist; any other error is treated as a server failure and passed on.
	Secret(ctx context.Context, accessKeyID string) (secret string, err error)
}

// Options tunes Verify. The zero value is usable.
type Options struct {
	// Service, when set, is the only credential-scope service accepted
	// (for example "ecr").
	Service string
	// Region, when set, is the only credential-scope region accepted.
	Region string
	// MaxSkew is how far X-Amz-Date may lie from Now, either way.
	// Zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now returns the current time. Nil means time.Now; tests set it.
	Now func() time.Time
	// AllowUnsignedPayload accepts "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD".
	// Only S3-style APIs allow it; control planes (AWS JSON, REST-JSON)
	// are signed over their body by every SDK, so by default Verify
	// refuses it with InvalidSignatureException.
	AllowUnsignedPayload bool
}

// Identity is who signed a request that Verify accepted.
type Identity struct {
	// AccessKeyID is the access key that signed the request.
	AccessKeyID string
	// Region and Service are from the credential scope.
	Region  string
	Service string
	// SignedAt is the request's X-Amz-Date.
	SignedAt time.Time
	// UnsignedPayload is true when the client sent
	// "X-Amz-Content-Sha256: UNSIGNED-PAYLOAD": the body is then not
	// covered by the signature and must not be trusted as authenticated.
	UnsignedPayload bool
}

// HashPayload returns the lower-case hex SHA-256 of body, the form Verify
// takes as its payloadHash argument.
func HashPayload(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Verify checks the SigV4 Authorization header of r and returns the
// signer's identity.
//
// payloadHash is the lower-case hex SHA-256 of the request body as
// received (HashPayload of the bytes; HashPayload(nil) for no body). The
// caller reads and hashes the body, with whatever size limit suits it, so
// Verify never holds the body itself; r.Body is not touched. When the
// client sent X-Amz-Content-Sha256 the signature covers that header's
// value instead, and payloadHash must equal it; with UNSIGNED-PAYLOAD,
// payloadHash is ignored and may be empty.
//
// Verify returns an *awserr.Error for every failure that is the client's:
// MissingAuthenticationTokenException when there is no Authorization
// header, IncompleteSignatureException when it or X-Amz-Date is malformed,
// UnrecognizedClientException when creds returns ErrUnknownAccessKey, and
// InvalidSignatureException for a wrong signature, body, credential scope,
// an UNSIGNED-PAYLOAD opts does not allow, or a signing time outside
// opts.MaxSkew. A request carrying X-Amz-Target must sign it
// (IncompleteSignatureException otherwise). Any other error comes from creds
// or from an invalid payloadHash argument.
func Verify(ctx context.Context, r *http.Request, payloadHash string, creds Credentials, opts Options) (*Identity, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 || (len(values) == 1 && strings.TrimSpace(values[0]) == "") {
		return nil, newError(awserr.MissingAuthenticationTokenException, "Missing Authentication Token")
	}
	if len(values) > 1 {
		return nil, incomplete("Request must contain exactly one Authorization header.")
	}
	auth, err := parseAuthorization(values[0])
	if err != nil {
		return nil, err
	}

	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	signedAt, err := time.Parse(timeFormat, amzDate)
	if err != nil {
		return nil, incomplete("X-Amz-Date must have the form yyyymmddThhmmssZ, not '" + amzDate + "'.")
	}
	if !slices.Contains(auth.signedHeaders, "host") {
		return nil, incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	// X-Amz-Target names the operation of an AWS JSON request: unsigned,
	// it could be swapped for another operation under the same signature.
	if r.Header.Get("X-Amz-Target") != "" && !slices.Contains(auth.signedHeaders, "x-amz-target") {
		return nil, incomplete("'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if auth.date != amzDate[:len(dateFormat)] {
		return nil, newError(awserr.InvalidSignatureException, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			auth.date, amzDate[:len(dateFormat)], amzDate))
	}
	if opts.Region != "" && auth.region != opts.Region {
		return nil, newError(awserr.InvalidSignatureException, "Credential should be scoped to a valid region.")
	}
	if opts.Service != "" && auth.service != opts.Service {
		return nil, newError(awserr.InvalidSignatureException, "Credential should be scoped to correct service: '"+opts.Service+"'.")
	}
	if err := checkSkew(signedAt, opts); err != nil {
		return nil, err
	}

	id := &Identity{AccessKeyID: auth.accessKeyID, Region: auth.region, Service: auth.service, SignedAt: signedAt}
	signedPayload := payloadHash
	switch sent := r.Header.Get("X-Amz-Content-Sha256"); {
	case sent == UnsignedPayload && !opts.AllowUnsignedPayload:
		return nil, newError(awserr.InvalidSignatureException, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	case sent == UnsignedPayload:
		signedPayload, id.UnsignedPayload = sent, true
	case sent != "":
		if !isHexSHA256(sent) {
			return nil, incomplete("X-Amz-Content-Sha256 must be " + UnsignedPayload + " or a hex SHA-256 digest; streaming payloads are not supported.")
		}
		if !isHexSHA256(payloadHash) {
			return nil, errors.New("sigv4: payloadHash must be a lower-case hex SHA-256")
		}
		if sent != payloadHash {
			return nil, newError(awserr.InvalidSignatureException, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	default:
		if !isHexSHA256(payloadHash) {
			return nil, errors.New("sigv4: payloadHash must be a lower-case hex SHA-256")
		}
	}

	secret, err := creds.Secret(ctx, auth.accessKeyID)
	if errors.Is(err, ErrUnknownAccessKey) {
		return nil, newError(awserr.UnrecognizedClientException, "The security token included in the request is invalid.")
	}
	if err != nil {
		return nil, fmt.Errorf("sigv4: looking up access key: %w", err)
	}

	want := signature(secret, auth, amzDate, stringToSign(r, auth, amzDate, signedPayload))
	if !hmac.Equal([]byte(want), []byte(auth.signature)) {
		return nil, newError(awserr.InvalidSignatureException, "The request signature we calculated does not match the signature you provided. "+
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return id, nil
}

// checkSkew rejects a signing time more than opts.MaxSkew from now, with
// AWS's wording.
func checkSkew(signedAt time.Time, opts Options) error {
	skew := opts.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t := now().UTC()
	mins := strconv.FormatFloat(skew.Minutes(), 'f', -1, 64)
	if lo := t.Add(-skew); signedAt.Before(lo) {
		return newError(awserr.InvalidSignatureException, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s min.)",
			signedAt.Format(timeFormat), lo.Format(timeFormat), t.Format(timeFormat), mins))
	}
	if hi := t.Add(skew); signedAt.After(hi) {
		return newError(awserr.InvalidSignatureException, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s min.)",
			signedAt.Format(timeFormat), hi.Format(timeFormat), t.Format(timeFormat), mins))
	}
	return nil
}

// canonicalRequest builds the SigV4 canonical request for r.
func canonicalRequest(r *http.Request, auth authorization, payloadHash string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range auth.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(auth.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// stringToSign returns the string to sign for r.
func stringToSign(r *http.Request, auth authorization, amzDate, payloadHash string) string {
	return algorithm + "\n" + amzDate + "\n" + auth.scope() + "\n" +
		HashPayload([]byte(canonicalRequest(r, auth, payloadHash)))
}

// signature derives the signing key from secret and the credential scope
// and returns the hex HMAC of stringToSign.
func signature(secret string, auth authorization, amzDate, stringToSign string) string {
	k := hmacSHA256([]byte("AWS4"+secret), auth.date)
	k = hmacSHA256(k, auth.region)
	k = hmacSHA256(k, auth.service)
	k = hmacSHA256(k, terminator)
	return hex.EncodeToString(hmacSHA256(k, stringToSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalURI is the path as sent on the wire, URI-encoded once more, as
// AWS does for every service but S3: "/a%20b" becomes "/a%2520b".
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

// canonicalQuery decodes the raw query and re-encodes each name and value,
// sorted by encoded name, then encoded value.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type pair struct{ k, v string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		pairs = append(pairs, pair{uriEncode(queryUnescape(k), true), uriEncode(queryUnescape(v), true)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// queryUnescape decodes s as a query component, leaving it as it is when
// it is not validly escaped.
func queryUnescape(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// uriEncode percent-encodes every byte of s except the unreserved
// characters A-Z a-z 0-9 - _ . ~, and '/' unless encodeSlash is set.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// headerValue returns the canonical value of the signed header name: all
// its values as received, each trimmed with runs of spaces collapsed,
// joined by ','. Host comes from r.Host (port included) because net/http
// moves it out of r.Header; Content-Length and Transfer-Encoding likewise
// fall back to the fields net/http keeps them in.
func headerValue(r *http.Request, name string) string {
	var vals []string
	switch name {
	case "host":
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		vals = []string{host}
	default:
		vals = r.Header.Values(name)
		if len(vals) == 0 {
			switch {
			case name == "content-length" && r.ContentLength >= 0:
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			case name == "transfer-encoding":
				vals = r.TransferEncoding
			}
		}
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = collapseSpaces(strings.TrimSpace(v))
	}
	return strings.Join(out, ",")
}

// collapseSpaces replaces each run of spaces in s with one space.
func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isHexSHA256 reports whether s is 64 lower-case hex digits.
func isHexSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
