package policy

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything/at:all", true},
		{"?", "", false},
		{"?", "é", true}, // one character, two bytes
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"team/*", "team/app", true},
		{"team/*", "team/", true},
		{"team/*", "teams/app", false},
		{"*/app", "team/sub/app", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"a*a*a*a*b", strings.Repeat("a", 50), false},
		{"*ab", "aab", true},
		{"ab*", "AB", false}, // case-sensitive
		{"**", "x", true},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"ecr:*", "ecr:BatchGetImage", true},
		{"*", "ecr:PutImage", true},
		{"ecr:Batch*", "ecr:BatchGetImage", true},
		{"ecr:Batch*", "ecr:BatchCheckLayerAvailability", true},
		{"ecr:Batch*", "ecr:PutImage", false},
		{"ECR:batchgetimage", "ecr:BatchGetImage", true}, // IAM actions are case-insensitive
		{"ecr:Describe*", "ecr:describeimages", true},
		{"ecr:*", "s3:GetObject", false},
		{"ecr:Get?ownloadUrlForLayer", "ecr:GetDownloadUrlForLayer", true},
	}
	for _, tt := range tests {
		if got := matchAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("matchAction(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

func TestMatchARN(t *testing.T) {
	const repo = "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
	tests := []struct {
		pattern, arn string
		want         bool
	}{
		{"*", repo, true},
		{repo, repo, true},
		{"arn:aws:ecr:us-east-1:123456789012:repository/team/*", repo, true},
		{"arn:aws:ecr:us-east-1:123456789012:repository/*", repo, true}, // '*' spans '/'
		{"arn:aws:ecr:us-east-1:123456789012:repository/other/*", repo, false},
		{"arn:aws:ecr:*:123456789012:repository/team/app", repo, true},
		{"arn:aws:ecr:us-east-?:123456789012:repository/team/app", repo, true},
		{"arn:aws:ecr:*:*:*", repo, true},
		{"arn:aws:ecr:us-east-1:*", repo, true},                                 // fewer than six parts: whole-string glob
		{"arn:aws:ecr:us-east-1:123456789012:Repository/team/app", repo, false}, // case-sensitive
		// '*' does not span ':' in the first five parts.
		{"arn:aws:ecr:us-*:123456789012:repository/x", "arn:aws:ecr:us-east-1:9:123456789012:repository/x", false},
		{"arn:aws:ecr:us-east-1:123456789012:repository/*", "arn:aws:ecr:us-east-1:123456789012:repository/a:b", true}, // the last part keeps its colons
		{"arn:aws:ecr:us-east-1:123456789012:repository/*", "not-an-arn", false},
	}
	for _, tt := range tests {
		if got := matchARN(tt.pattern, tt.arn); got != tt.want {
			t.Errorf("matchARN(%q, %q) = %v, want %v", tt.pattern, tt.arn, got, tt.want)
		}
	}
}

// refGlob is an obviously-correct reference matcher: the textbook
// recursive definition, memoised so the fuzzer can't time it out.
func refGlob(pattern, name string) bool {
	p, s := []rune(pattern), []rune(name)
	memo := make(map[[2]int]bool)
	var m func(i, j int) bool
	m = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(p):
			r = j == len(s)
		case p[i] == '*':
			r = m(i+1, j) || (j < len(s) && m(i, j+1))
		case j < len(s) && (p[i] == '?' || p[i] == s[j]):
			r = m(i+1, j+1)
		}
		memo[key] = r
		return r
	}
	return m(0, 0)
}

func FuzzGlob(f *testing.F) {
	seeds := [][2]string{
		{"*", ""}, {"a*b?c", "aXXbYc"}, {"*a*a*a*b", "aaaaaaaaaaaa"},
		{"arn:aws:ecr:*:repository/team/*", "arn:aws:ecr:us-east-1:1:repository/team/x"},
		{"?é*", "xéé"}, {"**?", ""}, {"a?", "a\xff"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 64 {
			t.Skip() // the reference is quadratic in memory
		}
		// Both sides see the same code points (invalid UTF-8 bytes become U+FFFD).
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			pattern, name = strings.ToValidUTF8(pattern, "\uFFFD"), strings.ToValidUTF8(name, "\uFFFD")
		}
		if got, want := glob(pattern, name), refGlob(pattern, name); got != want {
			t.Fatalf("glob(%q, %q) = %v, reference says %v", pattern, name, got, want)
		}
	})
}

// BenchmarkGlobPathological is the input that makes backtracking
// matchers exponential; this one stays at len(pattern)·len(name) steps.
func BenchmarkGlobPathological(b *testing.B) {
	pattern := strings.Repeat("a*", 20) + "b"
	name := strings.Repeat("a", 256)
	for b.Loop() {
		glob(pattern, name)
	}
}
