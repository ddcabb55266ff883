package metadata

import "testing"

func TestTagImmutable(t *testing.T) {
	for _, tt := range []struct {
		mutability string
		exclusions []string
		tag        string
		want       bool
	}{
		{"", nil, "v1", false},
		{Mutable, []string{"*"}, "v1", false},
		{Immutable, nil, "v1", true},
		{ImmutableWithExclusion, []string{"dev-*", "latest"}, "dev-123", false},
		{ImmutableWithExclusion, []string{"dev-*", "latest"}, "latest", false},
		{ImmutableWithExclusion, []string{"dev-*", "latest"}, "v1.2", true},
		{MutableWithExclusion, []string{"release-*"}, "release-1", true},
		{MutableWithExclusion, []string{"release-*"}, "latest", false},
		{MutableWithExclusion, []string{"*-rc*"}, "v1-rc2", true},
	} {
		r := Repository{TagMutability: tt.mutability, MutabilityExclusions: tt.exclusions}
		if got := r.TagImmutable(tt.tag); got != tt.want {
			t.Errorf("%s %v: TagImmutable(%q) = %v; want %v", tt.mutability, tt.exclusions, tt.tag, got, tt.want)
		}
	}
}
