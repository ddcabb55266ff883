package inventory

import (
	"cmp"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Ecosystems: the kind of database a [Package] came from.
const (
	Dpkg  = "dpkg"
	Apk   = "apk"
	RPM   = "rpm"
	Go    = "go"
	NPM   = "npm"
	PyPI  = "pypi"
	Maven = "maven"
)

// Package is one installed package.
type Package struct {
	// Ecosystem is the kind of database it came from: [Dpkg], [Apk], [RPM],
	// [Go], [NPM], [PyPI] or [Maven].
	Ecosystem string `json:"ecosystem"`
	// Name is the binary package name (dpkg Package:, apk P:, rpm NAME), the Go
	// module path ("stdlib" for the standard library), or the npm, PyPI or
	// Maven ("group:artifact") name as written in its metadata.
	Name string `json:"name"`
	// Version is the installed version: dpkg Version: with its epoch, apk
	// V:, rpm "[epoch:]version-release" (the epoch only when non-zero), the
	// Go module version ("v1.2.3"; "1.22.3" for stdlib), ...
	Version string `json:"version"`
	// SourceName is the dpkg source package (Source: without its version),
	// the apk origin (o:) or the name of the rpm's source rpm (SOURCERPM
	// "openssl-3.0.7-24.el9.src.rpm" gives "openssl"), and defaults to
	// Name. It is what OS vulnerability data is keyed by. Empty for
	// language packages.
	SourceName string `json:"sourceName,omitempty"`
	// SourceVersion is the version given in dpkg Source: "name (version)",
	// else Version (always Version for rpm). Empty for language packages.
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Path is the file it was found in, e.g. "var/lib/dpkg/status".
	Path string `json:"path"`
	// Layer is the caller-given id of the layer that added it.
	Layer string `json:"layer"`
}

// Distro is what os-release says about the image's distribution: its ID,
// VERSION_ID, VERSION_CODENAME and PRETTY_NAME.
type Distro struct {
	ID              string `json:"id"`
	VersionID       string `json:"versionId,omitempty"`
	VersionCodename string `json:"versionCodename,omitempty"`
	PrettyName      string `json:"prettyName,omitempty"`
}

// Ecosystem returns the OSV ecosystem of d's OS packages, e.g.
// "Debian:12", "Alpine:v3.19" (from VERSION_ID 3.19.1), "Ubuntu:22.04:LTS",
// "Ubuntu:23.10", "Rocky Linux:9" or "AlmaLinux:9" (from VERSION_ID 9.3),
// and "" for a distribution or release OSV doesn't cover. That includes
// RHEL, CentOS and Fedora, whose OSV ecosystems name a product stream
// ("Red Hat:enterprise_linux:9::baseos") that os-release doesn't give,
// and Amazon Linux, which OSV doesn't cover.
func (d Distro) Ecosystem() string {
	major, minor, _ := strings.Cut(d.VersionID, ".")
	minor, _, _ = strings.Cut(minor, ".")
	switch strings.ToLower(d.ID) {
	case "debian":
		if !digits(d.VersionID) {
			return ""
		}
		return "Debian:" + d.VersionID
	case "alpine":
		// Edge releases read like 3.20.0_alpha20240315.
		if i := strings.IndexFunc(minor, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			minor = minor[:i]
		}
		if !digits(major) || !digits(minor) {
			return ""
		}
		return "Alpine:v" + major + "." + minor
	case "ubuntu":
		if len(major) != 2 || len(minor) != 2 || !digits(major) || !digits(minor) {
			return ""
		}
		eco := "Ubuntu:" + major + "." + minor
		// Every April release of an even year is LTS.
		if yy, _ := strconv.Atoi(major); yy%2 == 0 && minor == "04" {
			eco += ":LTS"
		}
		return eco
	case "rocky":
		if !digits(major) {
			return ""
		}
		return "Rocky Linux:" + major
	case "almalinux":
		if !digits(major) {
			return ""
		}
		return "AlmaLinux:" + major
	}
	return ""
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// Inventory is what an image holds: its distribution, if os-release names
// one, and its packages sorted by (Ecosystem, Name, Version, Path).
type Inventory struct {
	Distro   *Distro   `json:"distro,omitempty"`
	Packages []Package `json:"packages"`
}

// Squash stacks layers, lowest first, into the image's inventory.
//
// Each layer's whiteouts, opaque whiteouts and replacing entries remove
// what the layers below it hold; then its files are added, a later copy of
// a file replacing an earlier one entirely (as dpkg rewrites its status
// file). A package keeps the id of the lowest layer of the unbroken run of
// copies of its file that list it at the same version: a package already
// in the lower copy of var/lib/dpkg/status was added there, not by the
// layer that rewrote the file. The os-release in etc/ wins over the one in
// usr/lib/. Nil layers are skipped; the layers are not modified.
func Squash(layers []*Layer) Inventory {
	live := map[string]File{}
	for _, l := range layers {
		if l == nil {
			continue
		}
		removed := set(l.Removed)
		opaque := set(l.Opaque)
		for p := range live {
			if hidden(p, removed, opaque) {
				delete(live, p)
			}
		}
		for _, f := range l.Files {
			live[f.Path] = attribute(f, live[f.Path])
		}
	}

	var inv Inventory
	for _, p := range []string{"usr/lib/os-release", "etc/os-release"} {
		if d := live[p].Distro; d != nil {
			inv.Distro = new(*d)
		}
	}
	for _, f := range live {
		inv.Packages = append(inv.Packages, f.Packages...)
	}
	sortPackages(inv.Packages)
	return inv
}

// hidden reports whether a layer whose removed paths and opaque directories
// are given hides path p of a lower layer: p or a directory above it was
// removed, or a directory above it is opaque.
func hidden(p string, removed, opaque map[string]bool) bool {
	for q := p; q != "."; q = path.Dir(q) {
		if removed[q] || opaque[path.Dir(q)] {
			return true
		}
	}
	return false
}

// attribute returns upper, the newer copy of a file, with each package
// that the older copy lower lists at the same version keeping lower's
// layer id.
func attribute(upper, lower File) File {
	type key struct{ ecosystem, name, version string }
	added := make(map[key]string, len(lower.Packages))
	for _, p := range lower.Packages {
		added[key{p.Ecosystem, p.Name, p.Version}] = p.Layer
	}
	upper.Packages = slices.Clone(upper.Packages)
	for i, p := range upper.Packages {
		if layer, ok := added[key{p.Ecosystem, p.Name, p.Version}]; ok {
			upper.Packages[i].Layer = layer
		}
	}
	return upper
}

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

func sortPackages(pkgs []Package) {
	slices.SortFunc(pkgs, func(a, b Package) int {
		return cmp.Or(
			cmp.Compare(a.Ecosystem, b.Ecosystem),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Version, b.Version),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Layer, b.Layer),
		)
	})
}
