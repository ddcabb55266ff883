package inventory

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

var dpkgFields = []string{"Package", "Version", "Status", "Source"}

// parseDpkgStatus reads var/lib/dpkg/status: only packages whose Status
// ends in "installed" count, so removed packages that left their config
// files ("deinstall ok config-files") or were purged are skipped.
func parseDpkgStatus(r io.Reader, f *File) error {
	return parseDpkg(r, f, true)
}

// parseDpkgStatusD reads a file of var/lib/dpkg/status.d/, where distroless
// images keep one package per file, often without a Status field.
func parseDpkgStatusD(r io.Reader, f *File) error {
	return parseDpkg(r, f, false)
}

func parseDpkg(r io.Reader, f *File, needStatus bool) error {
	return records(r, dpkgFields, func(rec map[string]string) {
		if p, ok := dpkgPackage(rec, needStatus); ok {
			f.Packages = append(f.Packages, p)
		}
	})
}

// dpkgPackage returns the installed package a status record describes.
func dpkgPackage(rec map[string]string, needStatus bool) (Package, bool) {
	name, version := rec["Package"], rec["Version"]
	if !word(name) || !word(version) {
		return Package{}, false
	}
	if status, ok := rec["Status"]; ok || needStatus {
		// "want flag status", e.g. "install ok installed", "hold ok installed".
		fields := strings.Fields(status)
		if len(fields) == 0 || fields[len(fields)-1] != "installed" {
			return Package{}, false
		}
	}
	p := Package{Ecosystem: Dpkg, Name: name, Version: version, SourceName: name, SourceVersion: version}
	// "Source: openssl" or "Source: openssl (3.0.11-1~deb12u1)" when the
	// binary's version differs from the source's.
	if fields := strings.Fields(rec["Source"]); len(fields) > 0 && word(fields[0]) {
		p.SourceName = fields[0]
		if len(fields) == 2 {
			if v, ok := strings.CutPrefix(fields[1], "("); ok {
				if v, ok := strings.CutSuffix(v, ")"); ok && word(v) {
					p.SourceVersion = v
				}
			}
		}
	}
	return p, true
}

// word reports whether s is a plausible name or version: non-empty valid
// UTF-8 without spaces or control characters.
func word(s string) bool {
	return s != "" && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	})
}
