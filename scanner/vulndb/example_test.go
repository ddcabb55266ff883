package vulndb_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/scanner/vulndb"
)

// A Debian image has openssl and libssl3 installed, both built from the
// openssl source package; one OSV record for that source package yields a
// finding for each binary package.
func ExampleDB_Match() {
	dir, err := os.MkdirTemp("", "osv")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	record := `{
		"id": "DEBIAN-CVE-2024-0727",
		"modified": "2024-06-01T12:00:00Z",
		"upstream": ["CVE-2024-0727"],
		"details": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
		"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
		"affected": [{
			"package": {"ecosystem": "Debian:12", "name": "openssl"},
			"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]
		}]
	}`
	if err := os.Mkdir(filepath.Join(dir, "Debian"), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Debian", "DEBIAN-CVE-2024-0727.json"), []byte(record), 0o644); err != nil {
		log.Fatal(err)
	}

	db, err := vulndb.Load(context.Background(), dir)
	if err != nil {
		log.Fatal(err)
	}
	findings := db.Match([]vulndb.Package{
		{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u1", DisplayName: "libssl3", DisplayVersion: "3.0.11-1~deb12u1"},
		{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u1", DisplayName: "openssl", DisplayVersion: "3.0.11-1~deb12u1"},
	})
	for _, f := range findings {
		fmt.Println(f.Name, f.Severity, f.Attributes[0].Value, f.URI)
	}
	fmt.Println(vulndb.SeverityCounts(findings), db.UpdatedAt().Format("2006-01-02"))
	// Output:
	// CVE-2024-0727 HIGH libssl3 https://security-tracker.debian.org/tracker/CVE-2024-0727
	// CVE-2024-0727 HIGH openssl https://security-tracker.debian.org/tracker/CVE-2024-0727
	// map[HIGH:2] 2024-06-01
}
