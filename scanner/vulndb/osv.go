package vulndb

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// errNoID marks a record without an id: it cannot be reported or
// deduplicated, so it counts as malformed.
var errNoID = errors.New("vulndb: record has no id")

// osvRecord is the part of an OSV record (https://ossf.github.io/osv-schema/)
// the matcher needs. Unknown fields are ignored; a field of the wrong JSON
// type makes the record malformed, except the free-form *_specific objects.
type osvRecord struct {
	ID               string        `json:"id"`
	Modified         string        `json:"modified"`
	Withdrawn        string        `json:"withdrawn"`
	Aliases          []string      `json:"aliases"`
	Upstream         []string      `json:"upstream"`
	Summary          string        `json:"summary"`
	Details          string        `json:"details"`
	Severity         []osvSeverity `json:"severity"`
	Affected         []osvAffected `json:"affected"`
	DatabaseSpecific osvSpecific   `json:"database_specific"`
}

type osvSeverity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Severity          []osvSeverity `json:"severity"`
	Ranges            []osvRange    `json:"ranges"`
	Versions          []string      `json:"versions"`
	EcosystemSpecific osvSpecific   `json:"ecosystem_specific"`
	DatabaseSpecific  osvSpecific   `json:"database_specific"`
}

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

type osvEvent struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed"`
	LastAffected string `json:"last_affected"`
	Limit        string `json:"limit"`
}

// osvSpecific holds the severity words databases put in their free-form
// database_specific and ecosystem_specific objects: GHSA's severity, Debian's
// urgency, Ubuntu's priority.
type osvSpecific struct {
	Severity looseString `json:"severity"`
	Urgency  looseString `json:"urgency"`
	Priority looseString `json:"priority"`
}

// looseString decodes a JSON string and ignores any other JSON value, so an
// unexpected shape in a free-form object never rejects the whole record.
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) == nil {
		*s = looseString(v)
	}
	return nil
}

// advisory is what the index entries of one record share.
type advisory struct {
	id          string
	name        string // the finding name: a CVE id when one is known
	description string
}

// entry is one affected[] element of a record: the unit the index holds.
type entry struct {
	key       pkgKey
	adv       *advisory
	ecosystem string // as the record gives it, e.g. "Debian:12" or "Go"
	versions  []string
	ranges    []versionRange
	rating    rating
}

// versionRange is an ECOSYSTEM or SEMVER range; GIT ranges are dropped at
// load time because installed packages carry no commit.
type versionRange struct {
	semver bool
	events []event
}

type eventKind uint8

const (
	introduced eventKind = iota
	fixed
	lastAffected
)

type event struct {
	kind    eventKind
	version string
}

// compiled is one decoded record, ready to be indexed.
type compiled struct {
	id        string
	modified  time.Time
	withdrawn bool
	entries   []entry
}

// parseRecord decodes one OSV record and compiles it into index entries.
func parseRecord(data []byte) (compiled, error) {
	var rec osvRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return compiled{}, err
	}
	if rec.ID == "" {
		return compiled{}, errNoID
	}
	c := compiled{id: rec.ID, withdrawn: rec.Withdrawn != ""}
	// A record whose modified time does not parse is still worth matching;
	// it just does not move UpdatedAt.
	c.modified, _ = time.Parse(time.RFC3339Nano, rec.Modified)
	if c.withdrawn {
		return c, nil
	}

	adv := &advisory{id: rec.ID, name: findingName(&rec), description: rec.Details}
	if adv.description == "" {
		adv.description = rec.Summary
	}
	topCVSS := scoreAll(rec.Severity)
	for i := range rec.Affected {
		a := &rec.Affected[i]
		if a.Package.Name == "" || a.Package.Ecosystem == "" {
			continue
		}
		e := entry{
			key:       newPkgKey(a.Package.Ecosystem, a.Package.Name),
			adv:       adv,
			ecosystem: a.Package.Ecosystem,
			versions:  a.Versions,
		}
		for _, r := range a.Ranges {
			if vr, ok := compileRange(r); ok {
				e.ranges = append(e.ranges, vr)
			}
		}
		if len(e.versions) == 0 && len(e.ranges) == 0 {
			continue
		}
		cvss := topCVSS
		if len(a.Severity) > 0 {
			cvss = scoreAll(a.Severity)
		}
		e.rating = rate(cvss, &rec, a)
		c.entries = append(c.entries, e)
	}
	return c, nil
}

// compileRange keeps the events of an ECOSYSTEM or SEMVER range. `limit`
// only bounds GIT ranges, so it is dropped with them. A range with an event
// version longer than maxVersionLen is dropped whole: a partial range could
// report versions the record does not cover.
func compileRange(r osvRange) (versionRange, bool) {
	var vr versionRange
	switch r.Type {
	case "ECOSYSTEM":
	case "SEMVER":
		vr.semver = true
	default:
		return vr, false
	}
	for _, ev := range r.Events {
		if max(len(ev.Introduced), len(ev.Fixed), len(ev.LastAffected)) > maxVersionLen {
			return vr, false
		}
		switch {
		case ev.Introduced != "":
			vr.events = append(vr.events, event{introduced, ev.Introduced})
		case ev.Fixed != "":
			vr.events = append(vr.events, event{fixed, ev.Fixed})
		case ev.LastAffected != "":
			vr.events = append(vr.events, event{lastAffected, ev.LastAffected})
		}
	}
	return vr, len(vr.events) > 0
}

// findingName is the record's id when it is a CVE, else the first CVE among
// its aliases and then its upstream ids (where Debian and Alpine put it),
// else the record's own id.
func findingName(rec *osvRecord) string {
	if isCVE(rec.ID) {
		return rec.ID
	}
	for _, ids := range [][]string{rec.Aliases, rec.Upstream} {
		for _, id := range ids {
			if isCVE(id) {
				return id
			}
		}
	}
	return rec.ID
}

func isCVE(id string) bool { return strings.HasPrefix(id, "CVE-") }

// newPkgKey indexes a package under its base ecosystem ("Debian:12" becomes
// "Debian") and its name as the ecosystem compares names.
func newPkgKey(ecosystem, name string) pkgKey {
	base, _, _ := strings.Cut(ecosystem, ":")
	if base == "PyPI" {
		name = normalizePyPI(name)
	}
	return pkgKey{ecosystem: base, name: name}
}

// normalizePyPI applies PEP 503: names compare case-insensitively, with runs
// of '-', '_' and '.' equal to a single '-'.
func normalizePyPI(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	inSep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' || r == '.' {
			if !inSep {
				b.WriteByte('-')
			}
			inSep = true
			continue
		}
		inSep = false
		b.WriteRune(r)
	}
	return b.String()
}
