package inventory

import (
	"strings"
	"testing"
)

const dpkgStatus = `Package: openssl
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 3.0.11-1~deb12u1
Description: Secure Sockets Layer toolkit
 This continuation line is not a field:
Package: not-a-package
 .

Package: libssl3
Status: install ok installed
Source: openssl (3.0.11-1~deb12u1)
Version: 3.0.11-1~deb12u1+b1

Package: zlib1g
Status: hold ok installed
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: removedpkg
Status: deinstall ok config-files
Version: 1.0-1

Package: purged
Status: purge ok not-installed
Version: 2.0-1

Package: halfway
Status: install reinstreq half-installed
Version: 3.0-1

Package: noversion
Status: install ok installed

Package: nostatus
Version: 4.0-1
`

const apkInstalled = `C:Q1abc=
P:libcrypto3
V:3.1.4-r1
A:x86_64
o:openssl
t:1700000000

C:Q1def=
P:busybox
V:1.36.1-r15
o:busybox

P:noorigin
V:1.0-r0

P:noversion
o:x
`

// Each parser, through ReadLayer and Squash of a single layer L1.
func TestParsers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
		want    []string
		skipped int
	}{{
		name:    "dpkg status: installed only, Source with and without version",
		entries: []entry{file("var/lib/dpkg/status", dpkgStatus)},
		want: []string{
			"dpkg libssl3 3.0.11-1~deb12u1+b1 (openssl 3.0.11-1~deb12u1) var/lib/dpkg/status @L1",
			"dpkg openssl 3.0.11-1~deb12u1 (openssl 3.0.11-1~deb12u1) var/lib/dpkg/status @L1",
			"dpkg zlib1g 1:1.2.13.dfsg-1 (zlib 1:1.2.13.dfsg-1) var/lib/dpkg/status @L1",
		},
	}, {
		name:    "dpkg status with CRLF line endings and no final newline",
		entries: []entry{file("./var/lib/dpkg/status", "Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n\r\nPackage: b\r\nStatus: install ok installed\r\nVersion: 2")},
		want: []string{
			"dpkg a 1 (a 1) var/lib/dpkg/status @L1",
			"dpkg b 2 (b 2) var/lib/dpkg/status @L1",
		},
	}, {
		name: "dpkg status.d (distroless): no Status needed, md5sums skipped",
		entries: []entry{
			file("var/lib/dpkg/status.d/openssl", "Package: openssl\nVersion: 3.0.11-1~deb12u1\nArchitecture: amd64\n"),
			file("var/lib/dpkg/status.d/libssl3", "Package: libssl3\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n"),
			file("var/lib/dpkg/status.d/gone", "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n"),
			file("var/lib/dpkg/status.d/openssl.md5sums", "Package: bogus\nVersion: 1\n"),
			file("var/lib/dpkg/status.d/sub/nested", "Package: nested\nVersion: 1\n"),
		},
		want: []string{
			"dpkg libssl3 3.0.11-1~deb12u1 (openssl 3.0.11-1~deb12u1) var/lib/dpkg/status.d/libssl3 @L1",
			"dpkg openssl 3.0.11-1~deb12u1 (openssl 3.0.11-1~deb12u1) var/lib/dpkg/status.d/openssl @L1",
		},
	}, {
		name:    "apk with origin",
		entries: []entry{file("lib/apk/db/installed", apkInstalled)},
		want: []string{
			"apk busybox 1.36.1-r15 (busybox 1.36.1-r15) lib/apk/db/installed @L1",
			"apk libcrypto3 3.1.4-r1 (openssl 3.1.4-r1) lib/apk/db/installed @L1",
			"apk noorigin 1.0-r0 (noorigin 1.0-r0) lib/apk/db/installed @L1",
		},
	}, {
		name: "apk databases under var/ and usr/",
		entries: []entry{
			file("/var/lib/apk/db/installed", "P:a\nV:1\n"),
			file("usr/lib/apk/db/installed", "P:b\nV:2\n"),
			file("etc/apk/db/installed", "P:c\nV:3\n"),
		},
		want: []string{
			"apk a 1 (a 1) var/lib/apk/db/installed @L1",
			"apk b 2 (b 2) usr/lib/apk/db/installed @L1",
		},
	}, {
		name: "npm v1: recursive dependencies",
		entries: []entry{file("app/package-lock.json", `{"name":"app","version":"1.0.0","lockfileVersion":1,"dependencies":{
			"lodash":{"version":"4.17.20"},
			"a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0","dependencies":{"lodash":{"version":"4.17.20"}}}}},
			"fromgit":{"version":"github:user/repo#abc123"},
			"local":{"version":"file:../local"}}}`)},
		want: []string{
			"npm a 1.0.0 app/package-lock.json @L1",
			"npm b 2.0.0 app/package-lock.json @L1",
			"npm lodash 4.17.20 app/package-lock.json @L1",
		},
	}, {
		name: "npm v3: packages keyed by node_modules path",
		entries: []entry{file("srv/package-lock.json", `{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{
			"":{"name":"app","version":"1.0.0"},
			"node_modules/lodash":{"version":"4.17.21"},
			"node_modules/a/node_modules/@scope/b":{"version":"2.0.0","dev":true},
			"node_modules/alias":{"name":"real","version":"3.0.0"},
			"packages/ws":{"name":"ws","version":"0.1.0"},
			"node_modules/ws":{"resolved":"packages/ws","link":true}}}`)},
		want: []string{
			"npm @scope/b 2.0.0 srv/package-lock.json @L1",
			"npm lodash 4.17.21 srv/package-lock.json @L1",
			"npm real 3.0.0 srv/package-lock.json @L1",
		},
	}, {
		name: "npm v2: packages win over the v1 section it also carries",
		entries: []entry{file("package-lock.json", `{"lockfileVersion":2,
			"packages":{"":{},"node_modules/lodash":{"version":"4.17.21"}},
			"dependencies":{"lodash":{"version":"4.17.21"}}}`)},
		want: []string{"npm lodash 4.17.21 package-lock.json @L1"},
	}, {
		name:    "npm: malformed lockfile is noted, not fatal",
		entries: []entry{file("package-lock.json", `{"lockfileVersion":3,"packages":{"node_modules/x":`)},
		skipped: 1,
	}, {
		name: "PyPI METADATA and PKG-INFO headers",
		entries: []entry{
			file("usr/lib/python3/site-packages/requests-2.31.0.dist-info/METADATA",
				"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: HTTP\n\nName: not-a-header\n"),
			file("usr/lib/python3/dist-packages/six.egg-info/PKG-INFO", "Metadata-Version: 1.1\nname: six\nversion: 1.16.0\n"),
			file("usr/lib/python3/site-packages/nodist/METADATA", "Name: nodist\nVersion: 1\n"),
			file("usr/lib/python3/site-packages/noversion-1.dist-info/METADATA", "Name: noversion\n"),
		},
		want: []string{
			"pypi requests 2.31.0 usr/lib/python3/site-packages/requests-2.31.0.dist-info/METADATA @L1",
			"pypi six 1.16.0 usr/lib/python3/dist-packages/six.egg-info/PKG-INFO @L1",
		},
	}, {
		name: "Maven pom.properties on disk",
		entries: []entry{
			file("opt/app/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
				"#Generated by Maven\n#Tue Jan 01 00:00:00 UTC 2021\nversion=2.14.1\ngroupId=org.apache.logging.log4j\nartifactId : log4j-core\n"),
			file("META-INF/maven/com.example/lib/pom.properties", "groupId=com.example\nartifactId=lib\nversion=1.0\n"),
			file("opt/app/META-INF/maven/pom.properties", "groupId=wrong\nartifactId=depth\nversion=1\n"),
			file("opt/app/maven/g/a/pom.properties", "groupId=no\nartifactId=metainf\nversion=1\n"),
		},
		want: []string{
			"maven com.example:lib 1.0 META-INF/maven/com.example/lib/pom.properties @L1",
			"maven org.apache.logging.log4j:log4j-core 2.14.1 opt/app/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties @L1",
		},
	}, {
		name: "symlinks are not followed",
		entries: []entry{
			file("opt/real/status", "Package: a\nStatus: install ok installed\nVersion: 1\n"),
			symlink("var/lib/dpkg/status", "/opt/real/status"),
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			l := readLayer(t, "L1", tc.entries...)
			equalLines(t, "packages", show(Squash([]*Layer{l}).Packages), tc.want)
			if len(l.Skipped) != tc.skipped {
				t.Errorf("skipped %q, want %d notes", l.Skipped, tc.skipped)
			}
		})
	}
}

func TestOSRelease(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		want          *Distro
		ecosystem     string
	}{{
		name:      "debian, double quotes",
		content:   "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
		want:      &Distro{ID: "debian", VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		ecosystem: "Debian:12",
	}, {
		name:      "alpine, point release",
		content:   "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
		want:      &Distro{ID: "alpine", VersionID: "3.19.1", PrettyName: "Alpine Linux v3.19"},
		ecosystem: "Alpine:v3.19",
	}, {
		name:      "ubuntu LTS, single quotes, comments, CRLF",
		content:   "# comment\r\nID='ubuntu'\r\nVERSION_ID='22.04'\r\n  VERSION_CODENAME=jammy  \r\nPRETTY_NAME=\"Ubuntu \\\"Jammy\\\" \\$5\"\r\n",
		want:      &Distro{ID: "ubuntu", VersionID: "22.04", VersionCodename: "jammy", PrettyName: `Ubuntu "Jammy" $5`},
		ecosystem: "Ubuntu:22.04:LTS",
	}, {
		name:      "ubuntu interim release",
		content:   "ID=ubuntu\nVERSION_ID=\"23.10\"\n",
		want:      &Distro{ID: "ubuntu", VersionID: "23.10"},
		ecosystem: "Ubuntu:23.10",
	}, {
		name:    "no ID: no distro",
		content: "NAME=Something\nVERSION_ID=1\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			inv := squash(t, []entry{file("etc/os-release", tc.content)})
			if (inv.Distro == nil) != (tc.want == nil) || inv.Distro != nil && *inv.Distro != *tc.want {
				t.Fatalf("distro %+v, want %+v", inv.Distro, tc.want)
			}
			if inv.Distro != nil {
				if got := inv.Distro.Ecosystem(); got != tc.ecosystem {
					t.Errorf("Ecosystem() = %q, want %q", got, tc.ecosystem)
				}
			}
		})
	}
}

func TestDistroEcosystem(t *testing.T) {
	for _, tc := range []struct {
		d    Distro
		want string
	}{
		{Distro{ID: "debian", VersionID: "12"}, "Debian:12"},
		{Distro{ID: "debian", VersionID: "11"}, "Debian:11"},
		{Distro{ID: "debian", VersionCodename: "trixie"}, ""}, // testing/sid: no VERSION_ID
		{Distro{ID: "alpine", VersionID: "3.19.1"}, "Alpine:v3.19"},
		{Distro{ID: "alpine", VersionID: "3.20"}, "Alpine:v3.20"},
		{Distro{ID: "alpine", VersionID: "3.21.0_alpha20240807"}, "Alpine:v3.21"},
		{Distro{ID: "alpine", VersionID: "edge"}, ""},
		{Distro{ID: "ubuntu", VersionID: "24.04"}, "Ubuntu:24.04:LTS"},
		{Distro{ID: "ubuntu", VersionID: "20.04"}, "Ubuntu:20.04:LTS"},
		{Distro{ID: "ubuntu", VersionID: "21.04"}, "Ubuntu:21.04"},
		{Distro{ID: "ubuntu", VersionID: "22.10"}, "Ubuntu:22.10"},
		{Distro{ID: "Ubuntu", VersionID: "22.04"}, "Ubuntu:22.04:LTS"},
		{Distro{ID: "ubuntu", VersionID: "22"}, ""},
		{Distro{ID: "rhel", VersionID: "9.3"}, ""},
		{Distro{ID: "rocky", VersionID: "9.3"}, "Rocky Linux:9"},
		{Distro{ID: "rocky", VersionID: "8"}, "Rocky Linux:8"},
		{Distro{ID: "almalinux", VersionID: "9.4"}, "AlmaLinux:9"},
		{Distro{ID: "almalinux", VersionID: "x"}, ""},
		{Distro{ID: "centos", VersionID: "7"}, ""},
		{Distro{ID: "fedora", VersionID: "39"}, ""},
		{Distro{ID: "amzn", VersionID: "2023"}, ""},
		{Distro{}, ""},
	} {
		if got := tc.d.Ecosystem(); got != tc.want {
			t.Errorf("%+v.Ecosystem() = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// Lines longer than the parsers look at are cut, not buffered, and don't
// hide the fields after them.
func TestLongLines(t *testing.T) {
	long := "Description: " + strings.Repeat("x", 3*maxLine) + "\n"
	inv := squash(t, []entry{file("var/lib/dpkg/status", "Package: a\n"+long+"Status: install ok installed\n"+long+"Version: 1\n")})
	equalLines(t, "packages", show(inv.Packages), []string{"dpkg a 1 (a 1) var/lib/dpkg/status @L1"})
}
