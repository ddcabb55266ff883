package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func daysAgo(n float64) time.Time { return now.Add(-time.Duration(n * float64(24*time.Hour))) }

func img(digest string, pushedDaysAgo float64, tags ...string) Image {
	return Image{Digest: digest, PushedAt: daysAgo(pushedDaysAgo), Tags: tags}
}

// summary renders results as "digest:priority:action" in result order.
func summary(rs []Result) []string {
	out := []string{}
	for _, r := range rs {
		s := fmt.Sprintf("%s:%d:%s", r.Digest, r.RulePriority, r.Action.Type)
		if r.Subject != "" {
			s += "<-" + r.Subject
		}
		out = append(out, s)
	}
	return out
}

func mustParse(t testing.TB, text string) *Policy {
	t.Helper()
	p, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	const (
		keepOne    = `"countType":"imageCountMoreThan","countNumber":1`
		olderThan5 = `"countType":"sinceImagePushed","countUnit":"days","countNumber":5`
		expire     = `"type":"expire"`
		archive    = `"type":"transition","targetStorageClass":"archive"`
	)
	tests := []struct {
		name   string
		policy string
		images []Image
		want   []string
	}{
		// AWS user guide, "Filtering on image age": expire prod images
		// pushed more than 14 days ago.
		{"docs: image age", policyText(rule("1", `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14`, expire)),
			[]Image{img("a", 20, "prod-1"), img("b", 15, "prod-2"), img("c", 13, "prod-3"), img("d", 30, "dev-1"), img("e", 30)},
			[]string{"a:1:expire", "b:1:expire"}},
		// "Filtering on image count": keep one untagged image.
		{"docs: image count", policyText(rule("1", `"tagStatus":"untagged",`+keepOne, expire)),
			[]Image{img("a", 3), img("b", 2), img("c", 1), img("t", 9, "v1")},
			[]string{"a:1:expire", "b:1:expire"}},
		// "Filtering on multiple rules": A [beta-1 prod-1] 10d, B [beta-2
		// prod-2] 9d, C [beta-3] 8d; keep one prod, then keep one beta.
		// Rule 2 would expire B, but B was selected by rule 1: only A goes.
		{"docs: multiple rules", policyText(
			rule("1", `"tagStatus":"tagged","tagPrefixList":["prod"],`+keepOne, expire),
			rule("2", `"tagStatus":"tagged","tagPrefixList":["beta"],`+keepOne, expire)),
			[]Image{img("A", 10, "beta-1", "prod-1"), img("B", 9, "beta-2", "prod-2"), img("C", 8, "beta-3")},
			[]string{"A:1:expire"}},
		// "Filtering on multiple tags in a single rule": every prefix must
		// be matched by some tag, so C (alpha only) is not selected.
		{"docs: multiple tags in one rule", policyText(rule("1", `"tagStatus":"tagged","tagPrefixList":["alpha","beta"],`+keepOne, expire)),
			[]Image{img("A", 10, "alpha-1", "beta-1"), img("B", 9, "alpha-2", "beta-2"), img("C", 8, "alpha-3")},
			[]string{"A:1:expire"}},
		// "Filtering on all images": tagStatus any, keep one.
		{"docs: all images", policyText(rule("1", `"tagStatus":"any",`+keepOne, expire)),
			[]Image{img("a", 4, "x"), img("b", 3), img("c", 2, "y"), img("d", 1)},
			[]string{"a:1:expire", "b:1:expire", "c:1:expire"}},
		{"priority shadowing: selected but not picked still protects", policyText(
			rule("1", `"tagStatus":"tagged","tagPatternList":["release-*"],"countType":"imageCountMoreThan","countNumber":10`, expire),
			rule("2", `"tagStatus":"any",`+olderThan5, expire)),
			[]Image{img("r1", 50, "release-1"), img("r2", 40, "release-2"), img("d", 30, "dev"), img("u", 20), img("new", 1, "dev2")},
			[]string{"d:2:expire", "u:2:expire"}},
		{"priority order is numeric, not textual", policyText(
			rule("20", `"tagStatus":"any",`+olderThan5, expire),
			rule("3", `"tagStatus":"tagged","tagPrefixList":["keep"],"countType":"imageCountMoreThan","countNumber":5`, expire)),
			[]Image{img("k", 50, "keep-me"), img("o", 50, "other")},
			[]string{"o:20:expire"}},
		{"tagged vs untagged vs any", policyText(
			rule("1", `"tagStatus":"untagged",`+olderThan5, expire),
			rule("2", `"tagStatus":"tagged","tagPrefixList":["v"],`+olderThan5, archive),
			rule("3", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2`, expire)),
			[]Image{img("u-old", 9), img("u-new", 1), img("v-old", 9, "v1"), img("v-new", 1, "v2"), img("x1", 3, "x1"), img("x2", 2, "x2"), img("x3", 9, "x3")},
			// Images already selected by rules 1 and 2 still count toward
			// rule 3's two, so u-new and v-new fill it and x2 goes too.
			[]string{"u-old:1:expire", "v-old:2:transition", "x3:3:expire", "x1:3:expire", "x2:3:expire"}},
		{"pattern matching", policyText(rule("1", `"tagStatus":"tagged","tagPatternList":["*-rc*"],`+olderThan5, expire)),
			[]Image{img("rc", 9, "1.0-rc1"), img("rc-end", 9, "2.0-rc"), img("norc", 9, "1.0"), img("rc-start", 9, "rc1-1.0"), img("young", 1, "3.0-rc1")},
			[]string{"rc:1:expire", "rc-end:1:expire"}},
		{"pattern is whole-string, prefix is not", policyText(
			rule("1", `"tagStatus":"tagged","tagPatternList":["prod"],`+olderThan5, expire),
			rule("2", `"tagStatus":"tagged","tagPrefixList":["dev"],`+olderThan5, expire)),
			[]Image{img("p", 9, "prod"), img("p1", 9, "prod1"), img("d", 9, "dev"), img("d1", 9, "dev1")},
			[]string{"d:2:expire", "d1:2:expire", "p:1:expire"}},
		{"several patterns must all match", policyText(rule("1", `"tagStatus":"tagged","tagPatternList":["app-*","*-linux"],`+olderThan5, expire)),
			[]Image{img("both", 9, "app-1", "x-linux"), img("one", 9, "app-2"), img("same-tag", 9, "app-3-linux")},
			[]string{"both:1:expire", "same-tag:1:expire"}},
		{"count vs age on the same images", policyText(
			rule("1", `"tagStatus":"tagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":2`, expire),
			rule("2", `"tagStatus":"tagged","tagPrefixList":["b"],"countType":"sinceImagePushed","countUnit":"days","countNumber":2`, expire)),
			[]Image{img("a1", 1, "a1"), img("a2", 2, "a2"), img("a3", 3, "a3"), img("a4", 4, "a4"), img("b1", 1, "b1"), img("b2", 2.5, "b2"), img("b3", 3, "b3")},
			[]string{"a4:1:expire", "a3:1:expire", "b3:2:expire", "b2:2:expire"}},
		{"age is strictly older than N days", policyText(rule("1", `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":5`, expire)),
			[]Image{img("exact", 5), {Digest: "just-over", PushedAt: daysAgo(5).Add(-time.Second)}},
			[]string{"just-over:1:expire"}},
		{"index children are kept but still counted", policyText(rule("1", `"tagStatus":"any",`+keepOne, expire)),
			[]Image{img("index", 1, "latest"), {Digest: "child-amd64", PushedAt: daysAgo(2), ReferencedByIndex: true}, img("old", 3)},
			[]string{"old:1:expire"}},
		{"referrers follow an expired subject, transitively", policyText(rule("1", `"tagStatus":"tagged","tagPrefixList":["v"],`+keepOne, expire)),
			[]Image{img("v1", 10, "v1"), img("v2", 1, "v2"),
				{Digest: "sig-v1", PushedAt: daysAgo(9), Subject: "v1"},
				{Digest: "sbom-v1", PushedAt: daysAgo(9.5), Subject: "v1"},
				{Digest: "sig-sbom-v1", PushedAt: daysAgo(9.4), Subject: "sbom-v1"},
				{Digest: "sig-v2", PushedAt: daysAgo(1), Subject: "v2"}},
			[]string{"v1:1:expire", "sbom-v1:1:expire<-v1", "sig-sbom-v1:1:expire<-sbom-v1", "sig-v1:1:expire<-v1"}},
		{"referrer transitioned by a rule is expired with its subject", policyText(
			rule("1", `"tagStatus":"tagged","tagPrefixList":["v"],`+keepOne, expire),
			rule("2", `"tagStatus":"untagged",`+olderThan5, archive)),
			[]Image{img("v1", 10, "v1"), img("v2", 1, "v2"), {Digest: "sig-v1", PushedAt: daysAgo(9), Subject: "v1"}},
			[]string{"v1:1:expire", "sig-v1:1:expire<-v1"}},
		{"referrers do not follow a transition", policyText(rule("1", `"tagStatus":"tagged","tagPrefixList":["v"],`+olderThan5, archive)),
			[]Image{img("v1", 10, "v1"), {Digest: "sig-v1", PushedAt: daysAgo(9), Subject: "v1"}},
			[]string{"v1:1:transition"}},
		{"archive transitions by last pull, falling back to restore then push", policyText(
			rule("1", `"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30`, archive)),
			[]Image{
				{Digest: "pulled-recently", PushedAt: daysAgo(100), LastPulledAt: daysAgo(2)},
				{Digest: "pulled-long-ago", PushedAt: daysAgo(100), LastPulledAt: daysAgo(40)},
				{Digest: "never-pulled-old", PushedAt: daysAgo(31)},
				{Digest: "never-pulled-new", PushedAt: daysAgo(29)},
				{Digest: "restored", PushedAt: daysAgo(200), ActivatedAt: daysAgo(3)},
				{Digest: "already-archived", PushedAt: daysAgo(300), StorageClass: "archive", TransitionedAt: daysAgo(100)},
			},
			[]string{"pulled-long-ago:1:transition", "never-pulled-old:1:transition"}},
		{"sinceImageTransitioned expires only archived images", policyText(
			rule("1", `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":365`, archive),
			rule("2", `"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, expire)),
			[]Image{
				{Digest: "arch-old", PushedAt: daysAgo(500), StorageClass: "archive", TransitionedAt: daysAgo(120)},
				{Digest: "arch-young", PushedAt: daysAgo(600), StorageClass: "archive", TransitionedAt: daysAgo(60)},
				{Digest: "std-old", PushedAt: daysAgo(400)},
				{Digest: "std-new", PushedAt: daysAgo(10)},
			},
			[]string{"arch-old:2:expire", "std-old:1:transition"}},
		{"standard rules ignore archived images when counting", policyText(rule("1", `"tagStatus":"any",`+keepOne, expire)),
			[]Image{img("a", 3), img("b", 2), {Digest: "arch", PushedAt: daysAgo(1), StorageClass: "archive", TransitionedAt: daysAgo(1)}},
			[]string{"a:1:expire"}},
		{"push-time ties break by digest", policyText(rule("1", `"tagStatus":"any",`+keepOne, expire)),
			[]Image{img("c", 2), img("a", 2), img("b", 2)},
			[]string{"b:1:expire", "c:1:expire"}},
		{"nothing to do", policyText(rule("1", `"tagStatus":"any",`+keepOne, expire)), nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.policy)
			before := slices.Clone(tt.images)
			got := summary(Evaluate(p, tt.images, now))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Evaluate =\n  %q\nwant\n  %q", got, tt.want)
			}
			if !reflect.DeepEqual(before, tt.images) {
				t.Error("Evaluate modified its input")
			}
		})
	}
}

func TestEvaluateResultFields(t *testing.T) {
	p := mustParse(t, policyText(rule("4", `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1`, `"type":"transition","targetStorageClass":"archive"`)))
	tags := []string{"v1", "latest"}
	got := Evaluate(p, []Image{{Digest: "sha256:aa", Tags: tags, PushedAt: daysAgo(2)}}, now)
	want := []Result{{Digest: "sha256:aa", Tags: []string{"v1", "latest"}, PushedAt: daysAgo(2), StorageClass: "standard",
		RulePriority: 4, Action: Action{Type: "transition", TargetStorageClass: "archive"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	got[0].Tags[0] = "changed"
	if tags[0] != "v1" {
		t.Error("Result shares its Tags with the Image")
	}
}

// TestEvaluateProperties checks, on random repositories, that no image
// outside every selection is acted on, that imageCountMoreThan keeps its
// count, that referrers only go with expired subjects and that evaluating
// again after applying the results acts on nothing new for count rules.
func TestEvaluateProperties(t *testing.T) {
	p := mustParse(t, policyText(
		rule("1", `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":3`, `"type":"expire"`),
		rule("2", `"tagStatus":"tagged","tagPatternList":["*-rc*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":7`, `"type":"expire"`),
		rule("3", `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":2`, `"type":"expire"`)))
	tagPool := []string{"prod-1", "prod-2", "1.0-rc1", "dev", "latest", "prod-rc3"}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 500 {
		var images []Image
		for i := range rng.IntN(30) {
			im := Image{Digest: fmt.Sprintf("d%02d", i), PushedAt: daysAgo(float64(rng.IntN(30)))}
			for range rng.IntN(3) {
				im.Tags = append(im.Tags, tagPool[rng.IntN(len(tagPool))])
			}
			im.ReferencedByIndex = rng.IntN(10) == 0
			if i > 0 && rng.IntN(6) == 0 {
				im.Subject = fmt.Sprintf("d%02d", rng.IntN(i))
			}
			images = append(images, im)
		}
		res := Evaluate(p, images, now)
		byDigest := map[string]Image{}
		for _, im := range images {
			byDigest[im.Digest] = im
		}
		acted, byRule := map[string]bool{}, map[string]bool{}
		for _, r := range res {
			if acted[r.Digest] {
				t.Fatalf("iter %d: %s acted on twice", iter, r.Digest)
			}
			acted[r.Digest] = true
			byRule[r.Digest] = r.Subject == ""
		}
		for _, r := range res {
			im := byDigest[r.Digest]
			if r.Subject != "" {
				if im.Subject != r.Subject || !acted[r.Subject] {
					t.Fatalf("iter %d: referrer %s expired without its subject", iter, r.Digest)
				}
				continue
			}
			if im.ReferencedByIndex {
				t.Fatalf("iter %d: index child %s acted on", iter, r.Digest)
			}
			var rl Rule
			for _, x := range p.Rules {
				if x.RulePriority == r.RulePriority {
					rl = x
				}
			}
			if !rl.Selection.matchesTags(im.Tags) {
				t.Fatalf("iter %d: %s %v acted on by rule %d outside its selection", iter, r.Digest, im.Tags, r.RulePriority)
			}
		}
		// Count rules keep at least CountNumber of their selection (a
		// referrer leaving with its subject is not the rule's doing).
		for _, rl := range []Rule{p.Rules[0], p.Rules[2]} {
			sel, kept := 0, 0
			for _, im := range images {
				if rl.Selection.matchesTags(im.Tags) {
					sel++
					if !byRule[im.Digest] {
						kept++
					}
				}
			}
			if kept < min(sel, rl.Selection.CountNumber) {
				t.Fatalf("iter %d: rule %d kept %d of %d", iter, rl.RulePriority, kept, sel)
			}
		}
		// Idempotence: with the expired images gone, a second run
		// expires nothing it did not already decide to.
		var rest []Image
		for _, im := range images {
			if !acted[im.Digest] {
				rest = append(rest, im)
			}
		}
		for _, r := range Evaluate(p, rest, now) {
			if r.Subject == "" && !byDigest[r.Digest].ReferencedByIndex {
				t.Fatalf("iter %d: second run acts on %s (rule %d)", iter, r.Digest, r.RulePriority)
			}
		}
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, tag string
		want         bool
	}{
		{"prod", "prod", true},
		{"prod", "prod1", false},
		{"prod*", "prod", true},
		{"prod*", "prod1", true},
		{"*prod", "myprod", true},
		{"*prod", "prod1", false},
		{"*", "", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "acb", false},
		{"*test*1*2*3", "mytest-1-2-3", true},
		{"test*1*2*3*", "test123", true},
		{"a*a", "a", false},
		{"ab*ba", "aba", false},
		{"*aa*", "a", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.tag); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pattern, tt.tag, got, tt.want)
		}
	}
}

func BenchmarkEvaluate100k(b *testing.B) {
	p := mustParse(b, policyText(
		rule("1", `"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":100`, `"type":"expire"`),
		rule("2", `"tagStatus":"tagged","tagPatternList":["*-rc*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":7`, `"type":"expire"`),
		rule("3", `"tagStatus":"tagged","tagPrefixList":["dev"],"countType":"sinceImagePulled","countUnit":"days","countNumber":30`, `"type":"transition","targetStorageClass":"archive"`),
		rule("4", `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":50`, `"type":"expire"`),
		rule("5", `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":365`, `"type":"expire"`)))
	tags := []string{"prod-", "1.0-rc", "dev-", "feature-"}
	images := make([]Image, 100_000)
	for i := range images {
		images[i] = Image{Digest: fmt.Sprintf("sha256:%064d", i), PushedAt: daysAgo(float64(i % 700))}
		if i%5 != 0 {
			images[i].Tags = []string{fmt.Sprintf("%s%d", tags[i%4], i)}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(p, images, now)
	}
}
