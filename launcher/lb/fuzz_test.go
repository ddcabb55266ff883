package lb

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"regexp"
	"strings"
	"testing"
)

var traceIDPattern = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)

func TestParseMatcher(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in           string
		pass, refuse []int
		bad          bool
	}{
		{in: "200", pass: []int{200}, refuse: []int{201, 204, 302, 199}},
		{in: "200,204", pass: []int{200, 204}, refuse: []int{202}},
		{in: "200-299", pass: []int{200, 250, 299}, refuse: []int{300, 199}},
		{in: "200,301-302,404", pass: []int{200, 301, 302, 404}, refuse: []int{300, 303, 403}},
		{in: "", bad: true},
		{in: "199", bad: true},
		{in: "500", bad: true},
		{in: "299-200", bad: true},
		{in: "200,", bad: true},
		{in: " 200", bad: true},
		{in: "+200", bad: true},
		{in: "200-", bad: true},
		{in: "200-250-299", bad: true},
		{in: "2xx", bad: true},
	}
	for _, c := range cases {
		m, err := parseMatcher(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("parseMatcher(%q) accepted it", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseMatcher(%q): %v", c.in, err)
			continue
		}
		for _, code := range c.pass {
			if !m.match(code) {
				t.Errorf("%q does not pass %d", c.in, code)
			}
		}
		for _, code := range c.refuse {
			if m.match(code) {
				t.Errorf("%q passes %d", c.in, code)
			}
		}
	}
}

// FuzzParseMatcher: a matcher comes from whoever configures a service.
// Whatever it is, parsing returns an error or a matcher that passes only
// codes from 200 to 499, and only if the text is made of codes, commas
// and dashes.
func FuzzParseMatcher(f *testing.F) {
	for _, s := range []string{"200", "200,204", "200-299", "200,301-302,404", "", "499-200", "1e3", "٢٠٠"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMatcher(s)
		if err != nil {
			return
		}
		if strings.Trim(s, "0123456789,-") != "" {
			t.Errorf("accepted %q, which holds more than codes, commas and dashes", s)
		}
		for code := 0; code < 1000; code++ {
			if m.match(code) && (code < 200 || code > 499) {
				t.Errorf("%q passes %d", s, code)
			}
		}
	})
}

// FuzzRewrite: whatever forwarding headers a client sends, the target
// sees the client's address last in X-Forwarded-For, and only the
// listener's own X-Forwarded-Proto and X-Forwarded-Port.
func FuzzRewrite(f *testing.F) {
	f.Add("203.0.113.7", "https", "443", "Root=1-5759e988-bd862e3fe1be46a994272793", "app.example")
	f.Add("", "", "", "", "")
	f.Add("a, b,, c", "http, https", "-1", "Self=1-x;Root=1-y", "[::1]:80")
	l := &Listener{port: "8080"}
	f.Fuzz(func(t *testing.T, xff, proto, port, trace, host string) {
		in := httptest.NewRequest(http.MethodGet, "http://lb/", nil)
		in.Host = host
		for name, v := range map[string]string{"X-Forwarded-For": xff, "X-Forwarded-Proto": proto, "X-Forwarded-Port": port, "X-Amzn-Trace-Id": trace} {
			if v != "" {
				in.Header.Set(name, v)
			}
		}
		out := in.Clone(in.Context())
		// As ReverseProxy does before it calls Rewrite.
		out.Header.Del("X-Forwarded-For")
		out.Header.Del("X-Forwarded-Proto")
		l.rewrite(&httputil.ProxyRequest{In: in, Out: out})

		got := out.Header.Values("X-Forwarded-For")
		if len(got) != 1 || !strings.HasSuffix(got[0], "192.0.2.1") || (xff != "" && got[0] != xff+", 192.0.2.1") {
			t.Errorf("X-Forwarded-For %q from %q", got, xff)
		}
		if got := out.Header.Values("X-Forwarded-Proto"); len(got) != 1 || got[0] != "http" {
			t.Errorf("X-Forwarded-Proto %q", got)
		}
		if got := out.Header.Values("X-Forwarded-Port"); len(got) != 1 || got[0] != "8080" {
			t.Errorf("X-Forwarded-Port %q", got)
		}
		if got := out.Header.Get("X-Amzn-Trace-Id"); (trace == "" && !traceIDPattern.MatchString(got)) || (trace != "" && got != trace) {
			t.Errorf("X-Amzn-Trace-Id %q from %q", got, trace)
		}
		if out.Host != host {
			t.Errorf("Host %q, want the client's %q", out.Host, host)
		}
	})
}
