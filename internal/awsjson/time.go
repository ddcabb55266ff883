package awsjson

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxEpochSeconds bounds decoded timestamps to year 9999, keeping the
// seconds-to-nanoseconds arithmetic far from overflow.
const maxEpochSeconds = 253402300799

// Time is an AWS JSON timestamp: epoch seconds as a JSON number with a
// fractional part, e.g. 1700000000.123. It keeps millisecond precision, which
// is what aws-sdk-go-v2 keeps (smithy ParseEpochSeconds) and what botocore
// renders. Declare optional members as `Time` with omitzero (or *Time with
// omitempty) so an unset time is left out, as AWS does.
type Time struct{ time.Time }

// NewTime wraps t, in UTC.
func NewTime(t time.Time) Time { return Time{t.UTC()} }

// MarshalJSON writes epoch seconds with milliseconds and always a fractional
// part ("1795860000.0", as the captured ECR responses show), which botocore
// and the Go SDK both parse as a float.
func (t Time) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	s := strconv.FormatFloat(float64(ms)/1e3, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return []byte(s), nil
}

// UnmarshalJSON reads epoch seconds from a JSON number (integer, fraction or
// exponent form), rounded to milliseconds. null leaves t unchanged. A string
// or an out-of-range number is a SerializationException.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || len(b) == 0 || b[0] == '"' {
		return serialization("Timestamps must be epoch seconds as a JSON number.")
	}
	if math.Abs(f) > maxEpochSeconds {
		return serialization("Timestamp %s is out of range.", b)
	}
	ms := int64(math.Round(f * 1e3))
	t.Time = time.UnixMilli(ms).UTC()
	return nil
}
