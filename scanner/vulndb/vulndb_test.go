package vulndb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// hit is what the fixture assertions compare: the finding's identity and
// severity.
type hit struct {
	name, pkg, version, severity string
}

func hits(fs []Finding) []hit {
	var out []hit
	for _, f := range fs {
		out = append(out, hit{f.Name, attr(f, "package_name"), attr(f, "package_version"), f.Severity})
	}
	return out
}

func attr(f Finding, key string) string {
	for _, a := range f.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

func loadFixture(t testing.TB) *DB {
	t.Helper()
	db, err := Load(context.Background(), writeFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestMatchFixture asserts the exact findings, in order, for the packages of
// the scanner's fixture images.
func TestMatchFixture(t *testing.T) {
	db := loadFixture(t)
	got := hits(db.Match(fixturePackages))
	want := []hit{
		{"GO-2024-0021", "example.com/otherlib", "v1.0.0", SeverityCritical},
		{"CVE-2024-0727", "libssl3", "3.0.11-1~deb12u1", SeverityHigh},
		{"CVE-2024-0727", "openssl", "3.0.11-1~deb12u1", SeverityHigh},
		{"GO-2024-0020", "example.com/otherlib", "v1.0.0", SeverityHigh},
		{"CVE-2023-6129", "libcrypto3", "3.1.4-r1", SeverityMedium},
		{"CVE-2024-2222", "example.com/otherlib", "v1.0.0", SeverityMedium},
		{"CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", SeverityInformational},
		{"CVE-2024-24790", "stdlib", "go1.22.1", SeverityUndefined},
		{"GO-2024-0001", "example.com/vulnlib", "v1.2.3", SeverityUndefined},
		{"GO-2024-0002", "example.com/vulnlib", "v1.2.3", SeverityUndefined},
		{"GO-2024-0003", "example.com/vulnlib", "v1.2.3", SeverityUndefined},
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got %s\nwant %s", fmtHits(got), fmtHits(want))
	}

	counts := SeverityCounts(db.Match(fixturePackages))
	wantCounts := map[string]int{SeverityCritical: 1, SeverityHigh: 3, SeverityMedium: 2, SeverityInformational: 1, SeverityUndefined: 4}
	if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
		t.Errorf("SeverityCounts = %v, want %v (no LOW key)", counts, wantCounts)
	}
}

func fmtHits(hs []hit) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "\n  %s %s %s %s", h.name, h.pkg, h.version, h.severity)
	}
	return b.String()
}

// TestMatchFindingFields checks the mapping of one record's fields: name,
// description, URI and attributes, including the merge of a DSA into the
// DEBIAN-CVE record for the same CVE.
func TestMatchFindingFields(t *testing.T) {
	db := loadFixture(t)
	byKey := make(map[string]Finding)
	for _, f := range db.Match(fixturePackages) {
		byKey[f.Name+" "+attr(f, "package_name")] = f
	}
	tests := []struct {
		key         string
		osvID       string
		description string
		uri         string
		attrs       []Attribute
	}{{
		key:         "CVE-2024-0727 openssl",
		osvID:       "DEBIAN-CVE-2024-0727", // HIGH beats the DSA's MEDIUM
		description: "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash.",
		uri:         "https://security-tracker.debian.org/tracker/CVE-2024-0727",
		attrs: []Attribute{
			{"package_name", "openssl"},
			{"package_version", "3.0.11-1~deb12u1"},
			{"CVSS2_VECTOR", cvss2Medium}, // from the DSA
			{"CVSS2_SCORE", "5.0"},
			{"CVSS3_VECTOR", cvss31High},
			{"CVSS3_SCORE", "7.5"},
		},
	}, {
		key:         "CVE-2023-45853 zlib1g",
		osvID:       "DEBIAN-CVE-2023-45853",
		description: "zlib: integer overflow in minizip", // no details: the summary
		uri:         "https://security-tracker.debian.org/tracker/CVE-2023-45853",
		attrs:       []Attribute{{"package_name", "zlib1g"}, {"package_version", "1:1.2.13.dfsg-1"}},
	}, {
		key:         "CVE-2023-6129 libcrypto3",
		osvID:       "ALPINE-CVE-2023-6129",
		description: "POLY1305 MAC implementation corrupts vector registers on PowerPC.",
		uri:         "https://security.alpinelinux.org/vuln/CVE-2023-6129",
		attrs: []Attribute{
			{"package_name", "libcrypto3"},
			{"package_version", "3.1.4-r1"},
			{"CVSS3_VECTOR", cvss31Medium},
			{"CVSS3_SCORE", "5.9"},
		},
	}, {
		key:         "CVE-2024-2222 example.com/otherlib",
		osvID:       "GHSA-aaaa-bbbb-cccc",
		description: "otherlib: path traversal",
		uri:         "https://osv.dev/vulnerability/GHSA-aaaa-bbbb-cccc", // a CVE, but no distro tracker
		attrs:       []Attribute{{"package_name", "example.com/otherlib"}, {"package_version", "v1.0.0"}},
	}, {
		key:   "GO-2024-0020 example.com/otherlib",
		osvID: "GO-2024-0020",
		uri:   "https://osv.dev/vulnerability/GO-2024-0020",
		attrs: []Attribute{
			{"package_name", "example.com/otherlib"},
			{"package_version", "v1.0.0"},
			{"CVSS2_VECTOR", cvss2High},
			{"CVSS2_SCORE", "7.5"},
		},
	}, {
		key:   "GO-2024-0021 example.com/otherlib",
		osvID: "GO-2024-0021",
		uri:   "https://osv.dev/vulnerability/GO-2024-0021",
		attrs: []Attribute{
			{"package_name", "example.com/otherlib"},
			{"package_version", "v1.0.0"},
			{"CVSS4_VECTOR", cvss4Critical},
			{"CVSS4_SCORE", "9.3"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			f, ok := byKey[tt.key]
			if !ok {
				t.Fatalf("no finding %q", tt.key)
			}
			if f.OSVID != tt.osvID || f.Description != tt.description || f.URI != tt.uri {
				t.Errorf("got (%q, %q, %q), want (%q, %q, %q)", f.OSVID, f.Description, f.URI, tt.osvID, tt.description, tt.uri)
			}
			if !slices.Equal(f.Attributes, tt.attrs) {
				t.Errorf("attributes:\n got %v\nwant %v", f.Attributes, tt.attrs)
			}
		})
	}
}

func TestLoadCounts(t *testing.T) {
	db := loadFixture(t)
	if db.Len() != fixtureRecords {
		t.Errorf("Len = %d, want %d", db.Len(), fixtureRecords)
	}
	if db.Malformed() != fixtureMalformed {
		t.Errorf("Malformed = %d, want %d", db.Malformed(), fixtureMalformed)
	}
	// The withdrawn GO-2024-0004 is newer (2025) but was not loaded.
	if want := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC); !db.UpdatedAt().Equal(want) {
		t.Errorf("UpdatedAt = %v, want %v", db.UpdatedAt(), want)
	}
}

// TestMatchDeterministic matches the same inventory in many orders and from
// many goroutines; the result must not change.
func TestMatchDeterministic(t *testing.T) {
	db := loadFixture(t)
	want := db.Match(fixturePackages)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			pkgs := slices.Clone(fixturePackages)
			slices.Reverse(pkgs)
			pkgs = append(pkgs, pkgs[i%len(pkgs)]) // a package listed twice adds nothing
			got := db.Match(pkgs)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Match differs with reordered input:\n got %v\nwant %v", got, want)
			}
		})
	}
	wg.Wait()
}

func TestMatchEcosystemScope(t *testing.T) {
	dir := t.TempDir()
	writeZip(t, dir+"/Debian/all.zip", []record{
		{"UNSCOPED.json", `{"id": "UNSCOPED", "affected": [{"package": {"ecosystem": "Debian", "name": "bash"}, "versions": ["5.2.15-2"]}]}`},
		{"SCOPED.json", `{"id": "SCOPED", "affected": [{"package": {"ecosystem": "Debian:13", "name": "bash"}, "versions": ["5.2.15-2"]}]}`},
		{"RANGED.json", `{"id": "RANGED", "affected": [{"package": {"ecosystem": "Debian:12", "name": "curl"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}], "versions": ["x:odd"]}]}`},
	})
	writeZip(t, dir+"/PyPI/all.zip", []record{
		{"PYSEC-1.json", `{"id": "PYSEC-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Zope.Interface"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "6.0"}]}]}]}`},
	})
	db, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pkg  Package
		want []string
	}{
		{Package{Ecosystem: "Debian:12", Name: "bash", Version: "5.2.15-2"}, []string{"UNSCOPED"}},
		{Package{Ecosystem: "Debian:13", Name: "bash", Version: "5.2.15-2"}, []string{"SCOPED", "UNSCOPED"}},
		{Package{Ecosystem: "Ubuntu:22.04:LTS", Name: "bash", Version: "5.2.15-2"}, nil},
		{Package{Ecosystem: "PyPI", Name: "zope-interface", Version: "5.4.0"}, []string{"PYSEC-1"}}, // PEP 503 names
		{Package{Ecosystem: "Debian:12", Name: "curl", Version: "7.88.1-10"}, []string{"RANGED"}},
		{Package{Ecosystem: "Debian:12", Name: "curl", Version: "y:7.88.1-10"}, nil},          // unparsable: no range match
		{Package{Ecosystem: "Debian:12", Name: "curl", Version: "x:odd"}, []string{"RANGED"}}, // but `versions` compares strings
		{Package{Ecosystem: "Debian:12", Name: "curl", Version: ""}, nil},
		{Package{Ecosystem: "Debian:12", Name: "curl", Version: strings.Repeat("1", maxVersionLen+1)}, nil}, // too long to compare
	}
	for _, tt := range tests {
		var got []string
		for _, f := range db.Match([]Package{tt.pkg}) {
			got = append(got, f.OSVID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Match(%+v) = %v, want %v", tt.pkg, got, tt.want)
		}
	}
}

// TestRangeContains checks the range walk against the OSV schema, including
// events listed out of order.
func TestRangeContains(t *testing.T) {
	ev := func(kind eventKind, v string) event { return event{kind, v} }
	in, fx, la := introduced, fixed, lastAffected
	tests := []struct {
		name    string
		eco     string
		semver  bool
		events  []event
		version string
		want    bool
	}{
		{"introduced 0 only", "Debian", false, []event{ev(in, "0")}, "1.0-1", true},
		{"below fixed", "Debian", false, []event{ev(in, "0"), ev(fx, "2.0-1")}, "1.9-1", true},
		{"at fixed", "Debian", false, []event{ev(in, "0"), ev(fx, "2.0-1")}, "2.0-1", false},
		{"above fixed", "Debian", false, []event{ev(in, "0"), ev(fx, "2.0-1")}, "2.1-1", false},
		{"below introduced", "Debian", false, []event{ev(in, "1.5-1"), ev(fx, "2.0-1")}, "1.4-1", false},
		{"at introduced", "Debian", false, []event{ev(in, "1.5-1"), ev(fx, "2.0-1")}, "1.5-1", true},
		{"epoch beats upstream", "Debian", false, []event{ev(in, "0"), ev(fx, "1.3")}, "1:1.2.13.dfsg-1", false},
		{"tilde sorts low", "Debian", false, []event{ev(in, "0"), ev(fx, "3.0.13-1~deb12u1")}, "3.0.13-1~deb12u0", true},
		{"at last_affected", "Go", true, []event{ev(in, "0"), ev(la, "1.2.3")}, "1.2.3", true},
		{"past last_affected", "Go", true, []event{ev(in, "0"), ev(la, "1.2.3")}, "1.2.4", false},
		{"second range open", "Go", true, []event{ev(in, "0"), ev(fx, "1.1.0"), ev(in, "1.5.0")}, "1.6.0", true},
		{"between ranges", "Go", true, []event{ev(in, "0"), ev(fx, "1.1.0"), ev(in, "1.5.0"), ev(fx, "1.6.0")}, "1.2.0", false},
		{"unsorted, between", "Go", true, []event{ev(in, "1.5.0"), ev(fx, "1.6.0"), ev(in, "0"), ev(fx, "1.1.0")}, "1.2.0", false},
		{"unsorted, inside", "Go", true, []event{ev(in, "1.5.0"), ev(fx, "1.6.0"), ev(in, "0"), ev(fx, "1.1.0")}, "1.5.5", true},
		{"pre-release below fixed", "Go", true, []event{ev(in, "0"), ev(fx, "1.2.0")}, "1.2.0-rc.1", true},
		{"alpine revision", "Alpine", false, []event{ev(in, "0"), ev(fx, "3.1.4-r5")}, "3.1.4-r1", true},
		{"unparsable event", "Debian", false, []event{ev(in, "0"), ev(fx, "x:1.0")}, "1.0-1", false},
		{"pypi", "PyPI", false, []event{ev(in, "1.0"), ev(fx, "1.0.post1")}, "1.0", true},
		{"maven", "Maven", false, []event{ev(in, "0"), ev(fx, "2.17.1")}, "2.17.0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &installed{ecosystem: tt.eco, version: tt.version}
			pv, ok := v.parsed(tt.semver)
			if !ok {
				t.Fatalf("installed version %q does not parse", tt.version)
			}
			r := versionRange{semver: tt.semver, events: tt.events}
			if got := r.contains(pv, tt.eco); got != tt.want {
				t.Errorf("contains(%q) = %v, want %v", tt.version, got, tt.want)
			}
		})
	}
}

// TestSeverity checks each severity source and their precedence. top holds
// top-level fields of the record, affected fields of its one affected entry.
func TestSeverity(t *testing.T) {
	sev := func(typ, score string) string { return fmt.Sprintf(`{"type": %q, "score": %q}`, typ, score) }
	tests := []struct {
		name, top, affected, want string
	}{
		{"cvss3 beats urgency", `"severity": [` + sev("CVSS_V3", cvss31High) + `]`, `"ecosystem_specific": {"urgency": "low"}`, SeverityHigh},
		{"cvss3 beats v2 and v4", `"severity": [` + sev("CVSS_V2", cvss2High) + `, ` + sev("CVSS_V4", cvss4Critical) + `, ` + sev("CVSS_V3", cvss31Medium) + `]`, "", SeverityMedium},
		{"cvss4 beats v2", `"severity": [` + sev("CVSS_V2", cvss2Medium) + `, ` + sev("CVSS_V4", cvss4Critical) + `]`, "", SeverityCritical},
		{"affected-level cvss", "", `"severity": [` + sev("CVSS_V3", cvss31High) + `]`, SeverityHigh},
		{"cvss 3.0", `"severity": [` + sev("CVSS_V3", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") + `]`, "", SeverityCritical},
		{"cvss low", `"severity": [` + sev("CVSS_V3", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N") + `]`, "", SeverityLow},
		{"cvss none", `"severity": [` + sev("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N") + `]`, "", SeverityInformational},
		{"bad vector falls through", `"severity": [` + sev("CVSS_V3", "CVSS:3.1/AV:X") + `], "database_specific": {"severity": "LOW"}`, "", SeverityLow},
		{"ghsa moderate", `"database_specific": {"severity": "MODERATE"}`, "", SeverityMedium},
		{"ghsa beats urgency", `"database_specific": {"severity": "CRITICAL"}`, `"ecosystem_specific": {"urgency": "low"}`, SeverityCritical},
		{"urgency with stars", "", `"ecosystem_specific": {"urgency": "medium**"}`, SeverityMedium},
		{"urgency not yet assigned", "", `"ecosystem_specific": {"urgency": "not yet assigned"}`, SeverityUndefined},
		{"ubuntu priority", "", `"database_specific": {"priority": "negligible"}`, SeverityInformational},
		{"ubuntu severity type", `"severity": [` + sev("Ubuntu", "high") + `]`, "", SeverityHigh},
		{"severity object ignored", `"database_specific": {"severity": {"level": 3}}`, "", SeverityUndefined},
		{"nothing", "", "", SeverityUndefined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := []string{`"id": "X-1"`, `"affected": [{"package": {"ecosystem": "Go", "name": "m"}, "versions": ["1.0.0"]` + prefixComma(tt.affected) + `}]`}
			if tt.top != "" {
				fields = append(fields, tt.top)
			}
			data := "{" + strings.Join(fields, ", ") + "}"
			c, err := parseRecord([]byte(data))
			if err != nil {
				t.Fatalf("parseRecord(%s): %v", data, err)
			}
			if len(c.entries) != 1 {
				t.Fatalf("parseRecord(%s): %d entries, want 1", data, len(c.entries))
			}
			if got := c.entries[0].rating.severity; got != tt.want {
				t.Errorf("severity = %s, want %s", got, tt.want)
			}
		})
	}
}

func prefixComma(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

func TestSeverityCounts(t *testing.T) {
	got := SeverityCounts([]Finding{{Severity: SeverityHigh}, {Severity: SeverityLow}, {Severity: SeverityHigh}})
	if len(got) != 2 || got[SeverityHigh] != 2 || got[SeverityLow] != 1 {
		t.Errorf("SeverityCounts = %v", got)
	}
	if got := SeverityCounts(nil); len(got) != 0 {
		t.Errorf("SeverityCounts(nil) = %v, want empty", got)
	}
}

// Severities and SeverityRank agree: the list is in rank order, and a
// name that is no severity ranks with UNDEFINED.
func TestSeverityOrder(t *testing.T) {
	for i, s := range Severities() {
		if r := SeverityRank(s); r != i {
			t.Errorf("SeverityRank(%s) = %d; want its place in Severities, %d", s, r, i)
		}
	}
	if got := Severities(); got[0] != SeverityUndefined || got[len(got)-1] != SeverityCritical {
		t.Errorf("Severities() = %v; want UNDEFINED first and CRITICAL last", got)
	}
	if r := SeverityRank("SEVERE"); r != 0 {
		t.Errorf("SeverityRank(SEVERE) = %d; want 0", r)
	}
}
