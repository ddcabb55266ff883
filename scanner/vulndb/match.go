package vulndb

import (
	"cmp"
	"slices"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

// Match returns the findings for the given packages: one per (name,
// DisplayName, DisplayVersion), so a DSA and a DEBIAN-CVE record for the same
// CVE on the same package are one finding, with the higher severity and the
// CVSS vectors of both. Findings are ordered by severity (CRITICAL first),
// then name, then package.
//
// A package is affected by a record's affected[] entry when the base
// ecosystems and names agree, the entry's ecosystem either has no release
// part or equals the package's ecosystem ("Debian:11" never matches a
// "Debian:12" package), and the version is listed in `versions` or lies in an
// ECOSYSTEM or SEMVER range. A version the ecosystem cannot parse matches
// only through `versions`, which compares strings exactly.
func (db *DB) Match(pkgs []Package) []Finding {
	type findingKey struct{ name, pkg, version string }
	seen := make(map[findingKey]int)
	var out []Finding
	var ranks []int // SeverityRank of out[i], to merge without re-deriving it
	for _, p := range pkgs {
		key := newPkgKey(p.Ecosystem, p.Name)
		entries := db.index[key]
		if len(entries) == 0 {
			continue
		}
		v := newInstalled(key, p.Version)
		for _, e := range entries {
			if !ecosystemMatches(e.ecosystem, p.Ecosystem) || !e.affects(v) {
				continue
			}
			f := e.finding(p, key.ecosystem)
			k := findingKey{f.Name, p.DisplayName, p.DisplayVersion}
			i, dup := seen[k]
			if !dup {
				seen[k] = len(out)
				out = append(out, f)
				ranks = append(ranks, SeverityRank(f.Severity))
				continue
			}
			// Keep the worse record's text; break ties by OSV id so the
			// result does not depend on load order.
			r := SeverityRank(f.Severity)
			if r > ranks[i] || (r == ranks[i] && f.OSVID < out[i].OSVID) {
				f.Attributes = mergeCVSS(f.Attributes, out[i].Attributes)
				out[i], ranks[i] = f, r
			} else {
				out[i].Attributes = mergeCVSS(out[i].Attributes, f.Attributes)
			}
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(SeverityRank(b.Severity), SeverityRank(a.Severity)),
			strings.Compare(a.Name, b.Name),
			strings.Compare(a.Attributes[0].Value, b.Attributes[0].Value), // package_name
			strings.Compare(a.Attributes[1].Value, b.Attributes[1].Value), // package_version
			strings.Compare(a.OSVID, b.OSVID),
		)
	})
	return out
}

// ecosystemMatches reports whether a record's ecosystem covers the package's.
// The base ecosystems already agree (they are part of the index key); a
// record scoped to a release ("Debian:12", "Alpine:v3.19",
// "Ubuntu:22.04:LTS") must name the package's release exactly, while an
// unscoped one ("Debian", "Go") covers every release.
func ecosystemMatches(recordEco, pkgEco string) bool {
	return !strings.Contains(recordEco, ":") || recordEco == pkgEco
}

// maxVersionLen bounds the versions handed to the comparators, whose cost
// grows at least with the square of the length (a 256-byte Maven version
// takes 5 ms, 40 kB of npm 0.7 s), and installed versions come from untrusted
// images. Real versions are far shorter; a longer installed version matches
// only through `versions`, and a range with a longer event is dropped at load
// time.
const maxVersionLen = 128

// installed is a package version prepared for comparison: the string for
// exact `versions` matches and, lazily, its parsed forms for ranges.
type installed struct {
	ecosystem string // base ecosystem, as semantic.Parse takes it
	version   string

	eco, sem semantic.Version
	ecoErr   error
	ecoDone  bool
	semDone  bool
}

// newInstalled normalises a version the way OSV writes it: Go module
// versions drop their "v" ("v1.2.3" is "1.2.3" in OSV) and the standard
// library drops "go" ("go1.22.1"), along with any build suffix after a space.
func newInstalled(key pkgKey, version string) *installed {
	if key.ecosystem == "Go" {
		version, _, _ = strings.Cut(version, " ")
		if key.name == "stdlib" || key.name == "toolchain" {
			version = strings.TrimPrefix(version, "go")
		}
		version = strings.TrimPrefix(version, "v")
	}
	return &installed{ecosystem: key.ecosystem, version: version}
}

// parsed returns the version parsed for a SEMVER range or an ECOSYSTEM
// range, or false when it cannot be parsed.
func (v *installed) parsed(semver bool) (semantic.Version, bool) {
	if v.version == "" || len(v.version) > maxVersionLen {
		return nil, false
	}
	if semver {
		if !v.semDone {
			v.sem = semantic.ParseSemverVersion(v.version)
			v.semDone = true
		}
		return v.sem, true
	}
	if !v.ecoDone {
		v.eco, v.ecoErr = semantic.Parse(v.version, v.ecosystem)
		v.ecoDone = true
	}
	return v.eco, v.ecoErr == nil
}

// affects reports whether the entry covers the installed version.
func (e *entry) affects(v *installed) bool {
	if slices.Contains(e.versions, v.version) {
		return true
	}
	for _, r := range e.ranges {
		if pv, ok := v.parsed(r.semver); ok && r.contains(pv, v.ecosystem) {
			return true
		}
	}
	return false
}

// contains evaluates a range as the OSV schema's pseudocode does: walking
// the events in version order, `introduced` switches the range on and
// `fixed` (v >= fixed) or `last_affected` (v > last_affected) switch it off.
// The state after the walk is the one set by the highest event that applies
// to v, so that is what is computed, which also makes the answer independent
// of the order the events are listed in. An event version the ecosystem
// cannot parse makes the range unusable: it matches nothing.
func (r versionRange) contains(v semantic.Version, ecosystem string) bool {
	parse := func(s string) (semantic.Version, error) { return semantic.Parse(s, ecosystem) }
	if r.semver {
		parse = func(s string) (semantic.Version, error) { return semantic.ParseSemverVersion(s), nil }
	}
	var (
		top     semantic.Version // the highest applicable event so far
		topKind eventKind
		found   bool
	)
	for _, ev := range r.events {
		if ev.kind == introduced && ev.version == "0" {
			// "0" is below every version: it applies, but can never be the
			// highest event unless it is the only one.
			if !found {
				topKind, found = introduced, true
			}
			continue
		}
		c, err := v.CompareStr(ev.version)
		if err != nil {
			return false
		}
		if c < 0 || (c == 0 && ev.kind == lastAffected) {
			continue // the event lies above v
		}
		if found && top != nil {
			d, err := top.CompareStr(ev.version)
			if err != nil || d > 0 || (d == 0 && ev.kind == introduced) {
				// Lower than the current top, or tied with it: at a tie an
				// end event wins, since v >= fixed means not affected.
				continue
			}
		}
		pv, err := parse(ev.version)
		if err != nil {
			return false
		}
		top, topKind, found = pv, ev.kind, true
	}
	return found && topKind == introduced
}

// finding renders one matched entry for one package.
func (e *entry) finding(p Package, baseEcosystem string) Finding {
	attrs := make([]Attribute, 0, 2+2*numCVSS)
	attrs = append(attrs,
		Attribute{"package_name", p.DisplayName},
		Attribute{"package_version", p.DisplayVersion},
	)
	for v, s := range e.rating.cvss {
		if s.ok() {
			attrs = append(attrs,
				Attribute{cvssAttrKeys[v][0], s.vector},
				Attribute{cvssAttrKeys[v][1], s.score},
			)
		}
	}
	return Finding{
		Name:        e.adv.name,
		Description: e.adv.description,
		URI:         findingURI(e.adv, baseEcosystem),
		Severity:    e.rating.severity,
		Attributes:  attrs,
		OSVID:       e.adv.id,
	}
}

// findingURI links a CVE to the tracker of the distro whose package it was
// found in, as ECR does, and everything else to osv.dev.
func findingURI(adv *advisory, baseEcosystem string) string {
	if isCVE(adv.name) {
		switch baseEcosystem {
		case "Debian":
			return "https://security-tracker.debian.org/tracker/" + adv.name
		case "Ubuntu":
			return "https://ubuntu.com/security/" + adv.name
		case "Alpine":
			return "https://security.alpinelinux.org/vuln/" + adv.name
		}
	}
	return "https://osv.dev/vulnerability/" + adv.id
}

// mergeCVSS adds to dst the CVSS attributes of src for versions dst lacks,
// keeping the reported order (package attributes, then CVSS2, CVSS3, CVSS4).
func mergeCVSS(dst, src []Attribute) []Attribute {
	var vals [numCVSS][2]string
	for _, attrs := range [][]Attribute{src, dst} { // dst last, so it wins
		for _, a := range attrs {
			for v, keys := range cvssAttrKeys {
				if a.Key == keys[0] {
					vals[v][0] = a.Value
				} else if a.Key == keys[1] {
					vals[v][1] = a.Value
				}
			}
		}
	}
	out := append([]Attribute(nil), dst[:2]...)
	for v, keys := range cvssAttrKeys {
		if vals[v][0] != "" {
			out = append(out, Attribute{keys[0], vals[v][0]}, Attribute{keys[1], vals[v][1]})
		}
	}
	return out
}
