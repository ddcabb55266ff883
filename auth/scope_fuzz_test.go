package auth

import (
	"strings"
	"testing"
)

// parseScope reads untrusted token-endpoint queries: it never panics, and
// every scope it returns has a known type, a bounded non-empty name and
// is what it was parsed from.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{
		"repository:team/app:pull,push", "registry:catalog:*", "repository:localhost:5000/app:pull",
		"repository:a:pull repository:b:push", "repository::pull", "x", ":::", "repository:a:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, acc := range parseScope(s) {
			if acc.Type != "repository" && acc.Type != "registry" {
				t.Fatalf("type %q", acc.Type)
			}
			if acc.Name == "" || len(acc.Name) > 256 {
				t.Fatalf("name %q", acc.Name)
			}
			if !strings.Contains(s, acc.String()) {
				t.Fatalf("scope %q not in %q", acc.String(), s)
			}
		}
	})
}

func TestParseScope(t *testing.T) {
	got := parseScope("repository:localhost:5000/app:pull,push registry:catalog:* bogus:x:y repository:a")
	want := []string{"repository:localhost:5000/app:pull,push", "registry:catalog:*"}
	if len(got) != len(want) {
		t.Fatalf("parseScope = %v; want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("scope %d = %s; want %s", i, got[i], want[i])
		}
	}
}
