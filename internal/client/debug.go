package client

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// debugBodyLimit is how much of a body --debug shows: all of an API call,
// the start of a layer.
const debugBodyLimit = 16 << 10

// debugClient writes each HTTP exchange to w, as curl -v does, with
// secrets redacted, and streams bodies through rather than holding them.
type debugClient struct {
	next aws.HTTPClient
	w    io.Writer
	mu   sync.Mutex // one exchange's lines together
}

// redactedHeaders carry credentials.
var redactedHeaders = []string{"Authorization", "Proxy-Authorization", "X-Amz-Security-Token", "Cookie", "Set-Cookie", "X-Registry-Auth"}

// secretName is the name of a JSON member that holds a secret, a token or
// a password.
const secretName = `"(?:[A-Za-z]*(?:[Pp]assword|[Ss]ecret(?:AccessKey)?|[Aa]uthorizationToken|[Ss]essionToken|[Aa]ccessToken|[Ii]dentityToken)|token|secret|password)"\s*:\s*`

// secretMember matches such a member and its string value; secretTail
// one whose value a shown part of a body cuts off.
var (
	secretMember = regexp.MustCompile(`(` + secretName + `)"(?:[^"\\]|\\.)*"`)
	secretTail   = regexp.MustCompile(`(` + secretName + `)"(?:[^"\\]|\\.)*\\?$`)
)

// secretParameter matches a presigned URL's signature and session token.
var secretParameter = regexp.MustCompile(`((?i:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=)[^&"\s]+`)

// Redact removes what must not be shown from text that may hold JSON or
// URLs: the values of members named like passwords, secrets and tokens
// (not nextToken, which is only a place in a list), and presigned URLs'
// signatures.
func Redact(text string) string {
	text = secretMember.ReplaceAllString(text, `$1"<redacted>"`)
	text = secretTail.ReplaceAllString(text, `$1"<redacted>`)
	return secretParameter.ReplaceAllString(text, "$1<redacted>")
}

func (d *debugClient) Do(req *http.Request) (*http.Response, error) {
	start := time.Now()
	var b strings.Builder
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fmt.Fprintf(&b, "> %s %s\n", req.Method, Redact(req.URL.RequestURI()))
	fmt.Fprintf(&b, "> Host: %s\n", host)
	writeHeaders(&b, "> ", req.Header)
	d.print(b.String())
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &recorder{ReadCloser: req.Body, d: d, prefix: "> "}
	}

	resp, err := d.next.Do(req)
	b.Reset()
	if err != nil {
		fmt.Fprintf(&b, "< error after %s: %v\n", time.Since(start).Round(time.Millisecond), err)
		d.print(b.String())
		return resp, err
	}
	fmt.Fprintf(&b, "< %s %s (%s)\n", resp.Proto, resp.Status, time.Since(start).Round(time.Millisecond))
	writeHeaders(&b, "< ", resp.Header)
	d.print(b.String())
	if resp.Body != nil && resp.Body != http.NoBody {
		resp.Body = &recorder{ReadCloser: resp.Body, d: d, prefix: "< "}
	}
	return resp, nil
}

func (d *debugClient) print(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	io.WriteString(d.w, s)
}

func writeHeaders(b *strings.Builder, prefix string, h http.Header) {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range h[name] {
			if slices.ContainsFunc(redactedHeaders, func(r string) bool { return strings.EqualFold(r, name) }) {
				v = "<redacted>"
			}
			fmt.Fprintf(b, "%s%s: %s\n", prefix, name, Redact(v))
		}
	}
}

// recorder passes a body through as it is read, keeping its first
// debugBodyLimit bytes, and shows them when the body ends or is closed,
// so that a long or endless stream is never held up or held whole.
type recorder struct {
	io.ReadCloser
	d       *debugClient
	prefix  string
	head    []byte
	total   int64
	printed bool
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if room := debugBodyLimit - len(r.head); room > 0 {
		r.head = append(r.head, p[:min(n, room)]...)
	}
	r.total += int64(n)
	if err == io.EOF {
		r.show()
	}
	return n, err
}

func (r *recorder) Close() error {
	r.show()
	return r.ReadCloser.Close()
}

func (r *recorder) show() {
	if r.printed || r.total == 0 {
		return
	}
	r.printed = true
	var b strings.Builder
	b.WriteString(r.prefix + "\n")
	text := Redact(string(r.head))
	if r.total > int64(len(r.head)) {
		text += fmt.Sprintf(" [… %d bytes in all]", r.total)
	}
	for line := range strings.Lines(text) {
		b.WriteString(r.prefix + strings.TrimSuffix(line, "\n") + "\n")
	}
	r.d.print(b.String())
}
