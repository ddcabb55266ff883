package metadatatest

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/metadata"
)

// A repository has no policy until one is set; setting replaces it, ""
// removes it, and a missing repository is ErrRepositoryUnknown both ways.
func testRepositoryPolicy(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	if _, err := s.RepositoryPolicy(ctx, "app"); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Fatalf("RepositoryPolicy(missing): err = %v; want ErrRepositoryUnknown", err)
	}
	if err := s.SetRepositoryPolicy(ctx, "app", `{"Version":"2012-10-17"}`); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Fatalf("SetRepositoryPolicy(missing): err = %v; want ErrRepositoryUnknown", err)
	}
	mustPutBlob(t, s, "app", blob("layer"))
	mustPutBlob(t, s, "other", blob("layer"))

	assertPolicy := func(repo, want string) {
		t.Helper()
		got, err := s.RepositoryPolicy(ctx, repo)
		if err != nil || got != want {
			t.Fatalf("RepositoryPolicy(%s) = %q, %v; want %q", repo, got, err, want)
		}
	}
	assertPolicy("app", "")
	for _, text := range []string{`{"first":1}`, `{"second":2}`} {
		if err := s.SetRepositoryPolicy(ctx, "app", text); err != nil {
			t.Fatalf("SetRepositoryPolicy: %v", err)
		}
		assertPolicy("app", text)
		assertPolicy("other", "")
	}
	if err := s.SetRepositoryPolicy(ctx, "app", ""); err != nil {
		t.Fatalf("SetRepositoryPolicy(\"\"): %v", err)
	}
	assertPolicy("app", "")
}

// Settings are absent until set, replaced by a later set, removed by "".
func testSettings(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	get := func(key string) string {
		t.Helper()
		v, err := s.Setting(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := get("a"); v != "" {
		t.Fatalf("unset setting = %q", v)
	}
	for _, v := range []string{"1", "2"} {
		if err := s.PutSetting(ctx, "a", v); err != nil {
			t.Fatal(err)
		}
		if got := get("a"); got != v {
			t.Fatalf("setting = %q; want %q", got, v)
		}
	}
	if err := s.PutSetting(ctx, "b", "other"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "a", ""); err != nil {
		t.Fatal(err)
	}
	if get("a") != "" || get("b") != "other" {
		t.Errorf("after removing a: a=%q b=%q", get("a"), get("b"))
	}
}
