package vulndb

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"
)

// The OSV fixture for the scanner's test images, written as Go literals so
// nothing binary is committed. Each record says what it is for.

// CVSS vectors used below, with the base scores go-cvss gives them.
const (
	cvss31High    = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"                    // 7.5
	cvss31Medium  = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H"                    // 5.9
	cvss2High     = "AV:N/AC:L/Au:N/C:P/I:P/A:P"                                      // 7.5
	cvss2Medium   = "AV:N/AC:L/Au:N/C:N/I:N/A:P"                                      // 5.0
	cvss4Critical = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N" // 9.3
)

// record is one fixture file: its name inside the zip (or directory) and
// its JSON.
type record struct {
	name string
	json string
}

var debianRecords = []record{
	// Hits openssl and libssl3 (both Source: openssl 3.0.11-1~deb12u1): HIGH.
	{"DEBIAN-CVE-2024-0727.json", `{
		"id": "DEBIAN-CVE-2024-0727",
		"modified": "2024-06-01T12:00:00Z",
		"upstream": ["CVE-2024-0727"],
		"summary": "openssl: PKCS12 NULL dereference",
		"details": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
		"severity": [{"type": "CVSS_V3", "score": "` + cvss31High + `"}],
		"affected": [{
			"package": {"ecosystem": "Debian:12", "name": "openssl"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}],
			"ecosystem_specific": {"urgency": "low"}
		}]
	}`},
	// Fixed exactly at the installed version: no hit.
	{"DEBIAN-CVE-2023-0001.json", `{
		"id": "DEBIAN-CVE-2023-0001",
		"modified": "2023-03-01T00:00:00Z",
		"upstream": ["CVE-2023-0001"],
		"affected": [{
			"package": {"ecosystem": "Debian:12", "name": "openssl"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}]}]
		}]
	}`},
	// Another release: no hit on Debian 12.
	{"DEBIAN-CVE-2023-0002.json", `{
		"id": "DEBIAN-CVE-2023-0002",
		"modified": "2023-03-02T00:00:00Z",
		"upstream": ["CVE-2023-0002"],
		"affected": [{
			"package": {"ecosystem": "Debian:11", "name": "openssl"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
		}]
	}`},
	// Unfixed (introduced 0 only), urgency unimportant: INFORMATIONAL.
	{"DEBIAN-CVE-2023-45853.json", `{
		"id": "DEBIAN-CVE-2023-45853",
		"modified": "2024-01-10T00:00:00Z",
		"upstream": ["CVE-2023-45853"],
		"summary": "zlib: integer overflow in minizip",
		"affected": [{
			"package": {"ecosystem": "Debian:12", "name": "zlib"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
			"ecosystem_specific": {"urgency": "unimportant"}
		}]
	}`},
	// Fixed "1.3" has epoch 0, below the installed 1:1.2.13.dfsg-1: no hit.
	{"DEBIAN-CVE-2022-37434.json", `{
		"id": "DEBIAN-CVE-2022-37434",
		"modified": "2022-08-10T00:00:00Z",
		"upstream": ["CVE-2022-37434"],
		"affected": [{
			"package": {"ecosystem": "Debian:12", "name": "zlib"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.3"}]}],
			"ecosystem_specific": {"urgency": "high"}
		}]
	}`},
}

// debianLooseDSA is written as a loose file beside Debian/all.zip. It names
// the same CVE as DEBIAN-CVE-2024-0727 through its aliases, so its hits merge
// into the same findings, adding a CVSS v2 vector.
var debianLooseDSA = record{"DSA-5600-1.json", `{
	"id": "DSA-5600-1",
	"modified": "2024-02-01T00:00:00Z",
	"aliases": ["CVE-2024-0727"],
	"summary": "openssl - security update",
	"severity": [{"type": "CVSS_V2", "score": "` + cvss2Medium + `"}],
	"affected": [{
		"package": {"ecosystem": "Debian:12", "name": "openssl"},
		"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]
	}]
}`}

var alpineRecords = []record{
	// Hits libcrypto3 3.1.4-r1 through its origin, openssl.
	{"ALPINE-CVE-2023-6129.json", `{
		"id": "ALPINE-CVE-2023-6129",
		"modified": "2024-01-20T00:00:00Z",
		"upstream": ["CVE-2023-6129"],
		"details": "POLY1305 MAC implementation corrupts vector registers on PowerPC.",
		"severity": [{"type": "CVSS_V3", "score": "` + cvss31Medium + `"}],
		"affected": [{
			"package": {"ecosystem": "Alpine:v3.19", "name": "openssl"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r5"}]}]
		}]
	}`},
	// The same data under Alpine 3.18: no hit on a 3.19 image.
	{"ALPINE-CVE-2023-9999.json", `{
		"id": "ALPINE-CVE-2023-9999",
		"modified": "2024-01-20T00:00:00Z",
		"upstream": ["CVE-2023-9999"],
		"affected": [{
			"package": {"ecosystem": "Alpine:v3.18", "name": "openssl"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.1.4-r5"}]}]
		}]
	}`},
}

var goRecords = []record{
	// Fixed in 1.2.4; the binary has v1.2.3.
	{"GO-2024-0001.json", `{
		"id": "GO-2024-0001",
		"modified": "2024-03-01T00:00:00Z",
		"summary": "Denial of service in vulnlib",
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/vulnlib"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.4"}]}]
		}]
	}`},
	// last_affected 1.2.3: v1.2.3 is still affected.
	{"GO-2024-0002.json", `{
		"id": "GO-2024-0002",
		"modified": "2024-03-02T00:00:00Z",
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/vulnlib"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.2.3"}]}]
		}]
	}`},
	// Only a versions list, which names 1.2.3.
	{"GO-2024-0003.json", `{
		"id": "GO-2024-0003",
		"modified": "2024-03-03T00:00:00Z",
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/vulnlib"},
			"versions": ["1.2.2", "1.2.3"]
		}]
	}`},
	// Withdrawn: ignored, though it would match and is the newest record.
	{"GO-2024-0004.json", `{
		"id": "GO-2024-0004",
		"modified": "2025-01-01T00:00:00Z",
		"withdrawn": "2025-01-01T00:00:00Z",
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/vulnlib"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
		}]
	}`},
	// last_affected 1.2.2: v1.2.3 is past it, no hit.
	{"GO-2024-0005.json", `{
		"id": "GO-2024-0005",
		"modified": "2024-03-05T00:00:00Z",
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/vulnlib"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"last_affected": "1.2.2"}]}]
		}]
	}`},
	// The standard library, reported by buildinfo as go1.22.1.
	{"GO-2024-0010.json", `{
		"id": "GO-2024-0010",
		"modified": "2024-05-01T00:00:00Z",
		"aliases": ["CVE-2024-24790"],
		"details": "Unexpected behavior from Is methods for IPv4-mapped IPv6 addresses in net/netip.",
		"affected": [{
			"package": {"ecosystem": "Go", "name": "stdlib"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.21.11"}, {"introduced": "1.22.0-0"}, {"fixed": "1.22.4"}]}]
		}]
	}`},
	// GHSA severity word only: MODERATE is MEDIUM.
	{"GHSA-aaaa-bbbb-cccc.json", `{
		"id": "GHSA-aaaa-bbbb-cccc",
		"modified": "2024-04-01T00:00:00Z",
		"aliases": ["GO-2024-0099", "CVE-2024-2222"],
		"summary": "otherlib: path traversal",
		"database_specific": {"severity": "MODERATE", "cwe_ids": ["CWE-22"], "github_reviewed": true},
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/otherlib"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]
		}]
	}`},
	// CVSS v2 only (7.5): HIGH.
	{"GO-2024-0020.json", `{
		"id": "GO-2024-0020",
		"modified": "2024-04-02T00:00:00Z",
		"severity": [{"type": "CVSS_V2", "score": "` + cvss2High + `"}],
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/otherlib"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]
		}]
	}`},
	// CVSS v4 only (9.3), given per affected package: CRITICAL.
	{"GO-2024-0021.json", `{
		"id": "GO-2024-0021",
		"modified": "2024-04-03T00:00:00Z",
		"affected": [{
			"package": {"ecosystem": "Go", "name": "example.com/otherlib"},
			"severity": [{"type": "CVSS_V4", "score": "` + cvss4Critical + `"}],
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]
		}]
	}`},
	// Malformed: skipped and counted.
	{"GO-BAD-1.json", `{"id": "GO-BAD-1", "affected": [`},
	{"GO-BAD-2.json", `{"id": 42}`},
	{"GO-BAD-3.json", `{"summary": "no id", "affected": []}`},
}

// fixtureRecords and fixtureMalformed are what Len and Malformed must say
// about the fixture.
const (
	fixtureRecords   = 16 // 5 Debian in the zip + the loose DSA, 2 Alpine, 8 Go (withdrawn not counted)
	fixtureMalformed = 3
)

// fixturePackages is the inventory of the fixture images.
var fixturePackages = []Package{
	{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u1", DisplayName: "openssl", DisplayVersion: "3.0.11-1~deb12u1"},
	{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u1", DisplayName: "libssl3", DisplayVersion: "3.0.11-1~deb12u1"},
	{Ecosystem: "Debian:12", Name: "zlib", Version: "1:1.2.13.dfsg-1", DisplayName: "zlib1g", DisplayVersion: "1:1.2.13.dfsg-1"},
	{Ecosystem: "Alpine:v3.19", Name: "openssl", Version: "3.1.4-r1", DisplayName: "libcrypto3", DisplayVersion: "3.1.4-r1"},
	{Ecosystem: "Alpine:v3.19", Name: "busybox", Version: "1.36.1-r15", DisplayName: "busybox", DisplayVersion: "1.36.1-r15"},
	{Ecosystem: "Go", Name: "example.com/vulnlib", Version: "v1.2.3", DisplayName: "example.com/vulnlib", DisplayVersion: "v1.2.3"},
	{Ecosystem: "Go", Name: "example.com/otherlib", Version: "v1.0.0", DisplayName: "example.com/otherlib", DisplayVersion: "v1.0.0"},
	{Ecosystem: "Go", Name: "stdlib", Version: "go1.22.1", DisplayName: "stdlib", DisplayVersion: "go1.22.1"},
}

// writeFixture lays the fixture out as Load expects it and returns the
// directory.
func writeFixture(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writeZip(t, filepath.Join(dir, "Debian", "all.zip"), debianRecords)
	writeZip(t, filepath.Join(dir, "Alpine", "all.zip"), alpineRecords)
	writeZip(t, filepath.Join(dir, "Go", "all.zip"), goRecords)
	writeFile(t, filepath.Join(dir, "Debian", debianLooseDSA.name), debianLooseDSA.json)
	return dir
}

func writeZip(t testing.TB, path string, records []record) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, r := range records {
		w, err := zw.Create(r.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(r.json)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
