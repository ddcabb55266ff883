package sigv4

import (
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/awserr"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
	dateFormat = "20060102"
	timeFormat = "20060102T150405Z"
)

// authorization is a parsed "Authorization: AWS4-HMAC-SHA256 ..." header.
type authorization struct {
	accessKeyID   string
	date          string // yyyymmdd from the credential scope
	region        string
	service       string
	signedHeaders []string // lower-case names, in the order given
	signature     string
}

// scope returns the credential scope "<date>/<region>/<service>/aws4_request".
func (a authorization) scope() string {
	return a.date + "/" + a.region + "/" + a.service + "/" + terminator
}

// String formats a in the form AWS SDKs send.
func (a authorization) String() string {
	return algorithm + " Credential=" + a.accessKeyID + "/" + a.scope() +
		", SignedHeaders=" + strings.Join(a.signedHeaders, ";") +
		", Signature=" + a.signature
}

// parseAuthorization parses an Authorization header value. Like AWS it
// accepts the three components in any order, separated by commas with or
// without spaces, and ignores components it does not know. Every error is
// an *awserr.Error of type awserr.IncompleteSignatureException.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	h = strings.TrimSpace(h)
	alg, rest, _ := strings.Cut(h, " ")
	if alg != algorithm {
		return a, incomplete("Authorization header must use the " + algorithm + " algorithm.")
	}

	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return a, incomplete("Invalid key=value pair (missing equal-sign) in Authorization header.")
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &haveCred
		case "SignedHeaders":
			dst, seen = &signed, &haveSigned
		case "Signature":
			dst, seen = &sig, &haveSig
		default:
			continue
		}
		if *seen {
			return a, incomplete("Authorization header has a duplicate '" + k + "' parameter.")
		}
		*dst, *seen = v, true
	}

	var missing []string
	for _, c := range []struct {
		name string
		ok   bool
	}{{"Credential", cred != ""}, {"Signature", sig != ""}, {"SignedHeaders", signed != ""}} {
		if !c.ok {
			missing = append(missing, "Authorization header requires '"+c.name+"' parameter.")
		}
	}
	if len(missing) > 0 {
		return a, incomplete(strings.Join(missing, " "))
	}

	fields := strings.Split(cred, "/")
	if len(fields) != 5 || fields[0] == "" || fields[2] == "" || fields[3] == "" {
		return a, incomplete("Credential must have the form <AccessKeyId>/<yyyymmdd>/<region>/<service>/" + terminator + ".")
	}
	if fields[4] != terminator {
		return a, incomplete("Credential should be scoped with a valid terminator: '" + terminator + "', not '" + fields[4] + "'.")
	}
	if _, err := time.Parse(dateFormat, fields[1]); err != nil || len(fields[1]) != len(dateFormat) {
		return a, incomplete("Credential scope date must have the form yyyymmdd, not '" + fields[1] + "'.")
	}
	a.accessKeyID, a.date, a.region, a.service = fields[0], fields[1], fields[2], fields[3]

	for name := range strings.SplitSeq(signed, ";") {
		if !validHeaderName(name) {
			return a, incomplete("SignedHeaders must be a ';'-separated list of lower-case header names.")
		}
		a.signedHeaders = append(a.signedHeaders, name)
	}
	a.signature = sig
	return a, nil
}

// validHeaderName reports whether name is a non-empty lower-case HTTP token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func incomplete(msg string) *awserr.Error { return newError(awserr.IncompleteSignatureException, msg) }
