package pullthrough_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/pullthrough"
)

func FuzzParseUpstreamURL(f *testing.F) {
	for _, s := range []string{"registry-1.docker.io", "https://quay.io", "http://127.0.0.1:5001", "http://[::1]:5000/", "ftp://x", "a/b", "user@host", "", "https://", "HOST:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := pullthrough.ParseUpstreamURL(s)
		if err != nil {
			if !errors.Is(err, pullthrough.ErrUpstreamURL) {
				t.Fatalf("error does not wrap ErrUpstreamURL: %v", err)
			}
			return
		}
		if u.Host == "" || strings.ContainsAny(u.Host, "/@?# ") {
			t.Fatalf("%q parsed to host %q", s, u.Host)
		}
		again, err := pullthrough.ParseUpstreamURL(u.String())
		if err != nil || again != u {
			t.Fatalf("%q → %v does not round-trip: %v, %v", s, u, again, err)
		}
		if _, err := u.Repository("team/app"); err != nil {
			t.Fatalf("%q: a plain repository path refused: %v", s, err)
		}
	})
}

func FuzzParseCredentialArn(f *testing.F) {
	for _, s := range []string{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/hub",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:other/hub",
		"arn:aws:secretsmanager:us-east-1:12345:secret:ecr-pullthroughcache/x",
		"arn:aws:ecr:us-east-1:123456789012:repository/x", "", ":::::::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := pullthrough.ParseCredentialArn(s)
		if err != nil {
			if !errors.Is(err, pullthrough.ErrCredentialArn) {
				t.Fatalf("error does not wrap ErrCredentialArn: %v", err)
			}
			if len(err.Error()) > 200 { // fixed texts: the input is never quoted
				t.Fatalf("the error grows with its input: %v", err)
			}
			return
		}
		if !strings.HasPrefix(name, pullthrough.SecretPrefix) || !strings.HasSuffix(s, name) {
			t.Fatalf("%q parsed to %q", s, name)
		}
	})
}

func TestRuleMatch(t *testing.T) {
	rules := []pullthrough.Rule{{Prefix: pullthrough.RootPrefix}, {Prefix: "hub"}, {Prefix: "hub/library"}}
	for repo, want := range map[string][2]string{
		"hub/library/alpine": {"hub/library", "alpine"},
		"hub/team/app":       {"hub", "team/app"},
		"hubble/app":         {pullthrough.RootPrefix, "hubble/app"},
		"hub":                {pullthrough.RootPrefix, "hub"},
	} {
		r, path, ok := pullthrough.Match(rules, repo)
		if !ok || r.Prefix != want[0] || path != want[1] {
			t.Errorf("%s: rule %q path %q ok %v; want %v", repo, r.Prefix, path, ok, want)
		}
	}
	if _, _, ok := pullthrough.Match(rules[1:], "other/app"); ok {
		t.Error("other/app matched hub")
	}
	up, _ := pullthrough.ParseUpstreamURL("registry-1.docker.io")
	if r, _ := up.Repository("alpine"); r.RepositoryStr() != "library/alpine" {
		t.Errorf("Docker Hub official image: %s", r.RepositoryStr())
	}
}
