package vulndb

import (
	"slices"
	"strconv"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// CVSS major versions, in the order their attributes are reported.
const (
	cvss2 = iota
	cvss3
	cvss4
	numCVSS
)

// cvssAttrKeys names each version's attributes as ECR does (CVSS4_* follows
// the same pattern; ECR's basic scan predates v4).
var cvssAttrKeys = [numCVSS][2]string{
	cvss2: {"CVSS2_VECTOR", "CVSS2_SCORE"},
	cvss3: {"CVSS3_VECTOR", "CVSS3_SCORE"},
	cvss4: {"CVSS4_VECTOR", "CVSS4_SCORE"},
}

// cvssScore is one scored vector; the zero value means "not given".
type cvssScore struct {
	vector string
	score  string // formatted like "7.5"
	value  float64
}

func (s cvssScore) ok() bool { return s.vector != "" }

// cvssSet holds the first valid vector of each CVSS version a record gives.
type cvssSet [numCVSS]cvssScore

// rating is what an entry reports besides its package: a severity and the
// CVSS vectors behind it.
type rating struct {
	severity string
	cvss     cvssSet
}

// severities are the severity names, least severe first: each one's index
// is its rank.
var severities = [...]string{SeverityUndefined, SeverityInformational, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// Severities returns the severity names, least severe first.
func Severities() []string { return slices.Clone(severities[:]) }

// SeverityRank orders severities, for sorting and for keeping the worst of
// two records: higher is worse; 0 for SeverityUndefined and for a name
// that is no severity.
func SeverityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 5
	case SeverityHigh:
		return 4
	case SeverityMedium:
		return 3
	case SeverityLow:
		return 2
	case SeverityInformational:
		return 1
	}
	return 0
}

// scoreAll scores the CVSS vectors of an OSV severity list. Vectors that do
// not parse are ignored, as is any later vector of a version already seen.
func scoreAll(sevs []osvSeverity) cvssSet {
	var set cvssSet
	for _, s := range sevs {
		var v int
		var score float64
		var ok bool
		switch s.Type {
		case "CVSS_V2":
			v = cvss2
			score, ok = scoreV2(s.Score)
		case "CVSS_V3":
			v = cvss3
			score, ok = scoreV3(s.Score)
		case "CVSS_V4":
			v = cvss4
			score, ok = scoreV4(s.Score)
		default:
			continue
		}
		if ok && !set[v].ok() {
			set[v] = cvssScore{vector: s.Score, score: strconv.FormatFloat(score, 'f', 1, 64), value: score}
		}
	}
	return set
}

// scoreV2 scores a v2 vector, which has no version header in NVD's form
// ("AV:N/AC:L/Au:N/C:P/I:P/A:P"); some feeds wrap it in parentheses.
func scoreV2(vector string) (float64, bool) {
	vector = strings.TrimSuffix(strings.TrimPrefix(vector, "("), ")")
	vector = strings.TrimPrefix(vector, "CVSS:2.0/")
	c, err := gocvss20.ParseVector(vector)
	if err != nil {
		return 0, false
	}
	return c.BaseScore(), true
}

func scoreV3(vector string) (float64, bool) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, false
		}
		return c.BaseScore(), true
	}
	return 0, false
}

func scoreV4(vector string) (float64, bool) {
	c, err := gocvss40.ParseVector(vector)
	if err != nil {
		return 0, false
	}
	return c.Score(), true
}

// band turns a CVSS base score into a severity using the CVSS qualitative
// scale; a score of 0 (NONE) is INFORMATIONAL.
func band(score float64) string {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score >= 0.1:
		return SeverityLow
	}
	return SeverityInformational
}

// rate picks the severity of one affected entry from the first source that
// gives one:
//  1. the CVSS v3 score, else v4, else v2;
//  2. database_specific.severity (GHSA's LOW/MODERATE/HIGH/CRITICAL);
//  3. the distro's own word: Debian's urgency, Ubuntu's priority (in
//     ecosystem_specific, database_specific, or a severity of type
//     "Ubuntu");
//  4. otherwise UNDEFINED.
func rate(cvss cvssSet, rec *osvRecord, a *osvAffected) rating {
	r := rating{cvss: cvss}
	for _, v := range [...]int{cvss3, cvss4, cvss2} {
		if cvss[v].ok() {
			r.severity = band(cvss[v].value)
			return r
		}
	}
	words := []looseString{
		rec.DatabaseSpecific.Severity,
		a.DatabaseSpecific.Severity,
		a.EcosystemSpecific.Urgency,
		a.EcosystemSpecific.Priority,
		a.DatabaseSpecific.Urgency,
		a.DatabaseSpecific.Priority,
		rec.DatabaseSpecific.Urgency,
		rec.DatabaseSpecific.Priority,
	}
	for _, sevs := range [][]osvSeverity{a.Severity, rec.Severity} {
		for _, s := range sevs {
			if s.Type == "Ubuntu" {
				words = append(words, looseString(s.Score))
			}
		}
	}
	for _, w := range words {
		if sev, ok := severityWord(string(w)); ok {
			r.severity = sev
			return r
		}
	}
	r.severity = SeverityUndefined
	return r
}

// severityWord maps the words databases use to ECR severities. Debian's
// tracker marks uncertain urgencies with trailing stars ("low**"). Words that
// say the severity is unknown ("not yet assigned") are not a severity.
func severityWord(w string) (string, bool) {
	w = strings.ToLower(strings.TrimRight(strings.TrimSpace(w), "*"))
	switch w {
	case "critical":
		return SeverityCritical, true
	case "high", "important":
		return SeverityHigh, true
	case "medium", "moderate":
		return SeverityMedium, true
	case "low":
		return SeverityLow, true
	case "unimportant", "negligible", "none", "informational":
		return SeverityInformational, true
	}
	return "", false
}
