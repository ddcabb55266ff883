package lifecycle

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// Image is what evaluation needs to know about one image (manifest) of a
// repository. Zero times mean "never".
type Image struct {
	// Digest identifies the image.
	Digest string
	// Tags are the image's tags; none means untagged.
	Tags []string
	// PushedAt is when the image was pushed.
	PushedAt time.Time
	// LastPulledAt is the last pull, zero if never pulled.
	LastPulledAt time.Time
	// ActivatedAt is when the image was last restored from archive to
	// standard, zero if never (ECR's lastActivatedAt).
	ActivatedAt time.Time
	// TransitionedAt is when the image was archived (ECR's lastArchivedAt).
	TransitionedAt time.Time
	// StorageClass is standard or archive; empty means standard.
	StorageClass string
	// ReferencedByIndex is true while a manifest list or image index in the
	// repository refers to the image; such an image is never acted on.
	ReferencedByIndex bool
	// Subject is the digest of the image this one refers to (a signature,
	// SBOM or attestation), empty for ordinary images.
	Subject string
}

// Class returns the image's storage class, defaulting to standard.
func (img Image) Class() string {
	if img.StorageClass == "" {
		return StorageClassStandard
	}
	return img.StorageClass
}

// Result is one image a policy acts on.
type Result struct {
	// Digest, Tags, PushedAt and StorageClass describe the image as it was
	// before the action.
	Digest       string
	Tags         []string
	PushedAt     time.Time
	StorageClass string
	// RulePriority is the rule that acts on the image (for a referrer, the
	// rule that acts on its subject).
	RulePriority int
	// Action is what happens to the image.
	Action Action
	// Subject is set when the image is expired only because its subject
	// is: it is the subject's digest.
	Subject string
}

// Evaluate returns what p does to images at instant now, oldest image first.
//
// Rules run by ascending priority. Each rule selects the images of its
// storage class whose tags match, picks among them by its count type, and
// acts on those picked that no earlier rule selected or acted on; then
// everything it selected is out of reach of later rules, whether acted on
// or not. imageCountMoreThan keeps the newest CountNumber of the selection
// by push time; the since* types pick images older than CountNumber days
// (strictly before now minus CountNumber×24h). Images referenced by an index
// are never acted on; referrers are expired along with their subject.
//
// Evaluate does not modify p or images.
func Evaluate(p *Policy, images []Image, now time.Time) []Result {
	rules := slices.Clone(p.Rules)
	slices.SortFunc(rules, func(a, b Rule) int { return cmp.Compare(a.RulePriority, b.RulePriority) })

	claimed := make([]bool, len(images))
	acted := make([]*Result, len(images))
	var sel []int
	for _, r := range rules {
		sel = sel[:0]
		for i, img := range images {
			if img.Class() == r.Selection.Class() && r.Selection.matchesTags(img.Tags) {
				sel = append(sel, i)
			}
		}
		for _, i := range r.Selection.pick(sel, images, now) {
			if claimed[i] || acted[i] != nil || images[i].ReferencedByIndex {
				continue
			}
			acted[i] = newResult(images[i], r.RulePriority, r.Action, "")
		}
		for _, i := range sel {
			claimed[i] = true
		}
	}

	followSubjects(images, acted)

	var out []Result
	for _, res := range acted {
		if res != nil {
			out = append(out, *res)
		}
	}
	slices.SortFunc(out, func(a, b Result) int {
		if c := a.PushedAt.Compare(b.PushedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	return out
}

func newResult(img Image, priority int, a Action, subject string) *Result {
	return &Result{
		Digest:       img.Digest,
		Tags:         slices.Clone(img.Tags),
		PushedAt:     img.PushedAt,
		StorageClass: img.Class(),
		RulePriority: priority,
		Action:       a,
		Subject:      subject,
	}
}

// followSubjects expires every referrer of an expired image, transitively
// (a signature of an SBOM of an expired image goes too).
func followSubjects(images []Image, acted []*Result) {
	referrers := make(map[string][]int)
	for i, img := range images {
		if img.Subject != "" {
			referrers[img.Subject] = append(referrers[img.Subject], i)
		}
	}
	if len(referrers) == 0 {
		return
	}
	var queue []int
	for i, res := range acted {
		if res != nil && res.Action.Type == ActionExpire {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, i := range referrers[images[s].Digest] {
			if acted[i] != nil && acted[i].Action.Type == ActionExpire {
				continue
			}
			acted[i] = newResult(images[i], acted[s].RulePriority, Action{Type: ActionExpire}, images[s].Digest)
			queue = append(queue, i)
		}
	}
}

// matchesTags reports whether an image with these tags is in the selection's
// tag scope: untagged wants none, any takes all, and tagged wants, for every
// entry of the list, some tag that matches it.
func (s Selection) matchesTags(tags []string) bool {
	switch s.TagStatus {
	case TagStatusUntagged:
		return len(tags) == 0
	case TagStatusAny:
		return true
	}
	if len(tags) == 0 {
		return false
	}
	for _, pfx := range s.TagPrefixList {
		if !slices.ContainsFunc(tags, func(t string) bool { return strings.HasPrefix(t, pfx) }) {
			return false
		}
	}
	for _, pat := range s.TagPatternList {
		if !slices.ContainsFunc(tags, func(t string) bool { return matchPattern(pat, t) }) {
			return false
		}
	}
	return true
}

// matchPattern matches tag against pattern as a whole, '*' standing for any
// run of characters, the empty one included.
func matchPattern(pattern, tag string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == tag
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(tag, first) {
		return false
	}
	tag = tag[len(first):]
	if len(tag) < len(last) || !strings.HasSuffix(tag, last) {
		return false
	}
	tag = tag[:len(tag)-len(last)]
	// Greedy leftmost matching of the middle parts is exact for '*' globs.
	for _, mid := range parts[1 : len(parts)-1] {
		j := strings.Index(tag, mid)
		if j < 0 {
			return false
		}
		tag = tag[j+len(mid):]
	}
	return true
}

// pick returns the selected images the count criterion designates.
func (s Selection) pick(sel []int, images []Image, now time.Time) []int {
	if s.CountType == CountTypeImageCountMoreThan {
		if len(sel) <= s.CountNumber {
			return nil
		}
		newest := slices.Clone(sel)
		slices.SortFunc(newest, func(a, b int) int {
			if c := images[b].PushedAt.Compare(images[a].PushedAt); c != 0 {
				return c
			}
			return strings.Compare(images[a].Digest, images[b].Digest)
		})
		return newest[s.CountNumber:]
	}
	if int64(s.CountNumber) > math.MaxInt64/int64(24*time.Hour) {
		return nil // older than the representable past: nothing is
	}
	cutoff := now.Add(-time.Duration(s.CountNumber) * 24 * time.Hour)
	var out []int
	for _, i := range sel {
		if t := s.since(images[i]); !t.IsZero() && t.Before(cutoff) {
			out = append(out, i)
		}
	}
	return out
}

// since returns the instant a since* count type measures age from.
func (s Selection) since(img Image) time.Time {
	switch s.CountType {
	case CountTypeSinceImagePushed:
		return img.PushedAt
	case CountTypeSinceImagePulled:
		switch {
		case !img.LastPulledAt.IsZero():
			return img.LastPulledAt
		case !img.ActivatedAt.IsZero():
			return img.ActivatedAt
		default:
			return img.PushedAt
		}
	case CountTypeSinceImageTransitioned:
		return img.TransitionedAt
	}
	return time.Time{}
}
