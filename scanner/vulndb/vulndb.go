// Package vulndb owns berth's offline vulnerability database: OSV records
// loaded from disk in the osv.dev bucket layout, indexed by package, and the
// matcher that turns installed packages into ECR-shaped findings.
//
// The on-disk layout is the one osv.dev publishes, so real downloads can be
// dropped in unchanged:
//
//	<dir>/
//	├── Debian/
//	│   ├── all.zip          every Debian record, one <ID>.json per entry
//	│   └── DSA-9999-1.json  loose records are read too
//	├── Alpine/all.zip
//	└── Go/all.zip
//
// Any subdirectory is read; its name is only a label, since each record names
// its own ecosystems. Directories whose name starts with "." are skipped
// (Import stages its files there).
//
// Matching follows the OSV schema (https://ossf.github.io/osv-schema/);
// findings take the shape of ECR's ImageScanFinding
// (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanFinding.html).
package vulndb

import (
	"time"
)

// Finding severities, as ECR names them.
const (
	SeverityCritical      = "CRITICAL"
	SeverityHigh          = "HIGH"
	SeverityMedium        = "MEDIUM"
	SeverityLow           = "LOW"
	SeverityInformational = "INFORMATIONAL"
	SeverityUndefined     = "UNDEFINED"
)

// Package is one installed package to match, as the scanner's inventory
// reports it. OS packages are matched by their source package, so the name
// and version to look up differ from the ones reported.
type Package struct {
	// Ecosystem is the OSV ecosystem to match under, with the release for
	// OS packages: "Debian:12", "Alpine:v3.19", "Ubuntu:22.04:LTS", "Go",
	// "npm", "PyPI", "Maven".
	Ecosystem string
	// Name is the name to look up: the source package for OS packages
	// (dpkg Source:, apk origin), the module path for Go ("stdlib" for the
	// standard library), the package name elsewhere.
	Name string
	// Version is the version to compare: the source version for OS
	// packages. Go versions may keep their "v" (or "go" for stdlib) prefix.
	Version string
	// DisplayName is reported as the finding's package_name attribute (the
	// binary package name).
	DisplayName string
	// DisplayVersion is reported as the package_version attribute (the
	// installed version).
	DisplayVersion string
}

// Finding is one vulnerability affecting one installed package, shaped like
// ECR's ImageScanFinding.
type Finding struct {
	Name        string      // the CVE id when one is known, else the OSV id
	Description string      // OSV details, else summary
	URI         string      // the distro's tracker page for a CVE, else osv.dev
	Severity    string      // one of the Severity constants
	Attributes  []Attribute // package_name, package_version, then CVSS vectors and scores when known
	OSVID       string      // the OSV record the finding came from
}

// Attribute is one key/value pair of a finding, as ECR reports it.
type Attribute struct {
	Key   string
	Value string
}

// DB is a loaded vulnerability database. It is immutable after Load and safe
// for concurrent use.
type DB struct {
	index     map[pkgKey][]*entry
	records   int
	malformed int
	updatedAt time.Time
}

// pkgKey is how records are indexed: the base ecosystem (the part before the
// first ':') and the package name, normalised where the ecosystem says names
// are case-insensitive.
type pkgKey struct {
	ecosystem string
	name      string
}

// Len returns how many records were loaded, withdrawn and malformed ones not
// counted.
func (db *DB) Len() int { return db.records }

// Malformed returns how many records were skipped because they could not be
// read or decoded, had no id, or were larger than 32 MiB.
func (db *DB) Malformed() int { return db.malformed }

// UpdatedAt returns the newest `modified` time among the loaded records (ECR's
// vulnerabilitySourceUpdatedAt), or the zero time for an empty database.
func (db *DB) UpdatedAt() time.Time { return db.updatedAt }

// SeverityCounts counts findings per severity, listing non-zero counts only,
// as ECR's findingSeverityCounts does.
func SeverityCounts(fs []Finding) map[string]int {
	counts := make(map[string]int)
	for _, f := range fs {
		counts[f.Severity]++
	}
	return counts
}
