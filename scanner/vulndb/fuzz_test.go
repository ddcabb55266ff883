package vulndb

import (
	"testing"
)

// FuzzLoadRecord feeds arbitrary bytes to the record decoder, indexes what it
// accepts and matches every package the record names at a few versions,
// including each version its events mention. Nothing may panic.
func FuzzLoadRecord(f *testing.F) {
	for _, recs := range [][]record{debianRecords, alpineRecords, goRecords, {debianLooseDSA}} {
		for _, r := range recs {
			f.Add([]byte(r.json))
		}
	}
	f.Add([]byte(`{"id": "X", "affected": [{"package": {"ecosystem": "Ubuntu:22.04:LTS", "name": "a"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1:0"}, {"fixed": "~"}]}]}]}`))
	f.Add([]byte(`{"id": "X", "severity": [{"type": "CVSS_V2", "score": "(AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F/RL:OF/RC:C/CDP:H/TD:H/CR:H/IR:H/AR:H/X:Y)"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseRecord(data)
		if err != nil {
			return
		}
		var b builder
		b.add(c, nil)
		db := b.build()
		var pkgs []Package
		for _, e := range c.entries {
			versions := append([]string{"0", "1.0.0", "v1.0.0", "1:1.0-1", ""}, e.versions...)
			for _, r := range e.ranges {
				for _, ev := range r.events {
					versions = append(versions, ev.version)
				}
			}
			for _, v := range versions {
				pkgs = append(pkgs, Package{Ecosystem: e.ecosystem, Name: e.key.name, Version: v, DisplayName: e.key.name, DisplayVersion: v})
			}
		}
		for _, f := range db.Match(pkgs) {
			if SeverityRank(f.Severity) == 0 && f.Severity != SeverityUndefined {
				t.Errorf("finding %s has severity %q", f.Name, f.Severity)
			}
		}
	})
}

// fuzzMatchPackages name a package in every ecosystem whose comparator the
// matcher may reach; FuzzMatchVersion gives each one record.
var fuzzMatchPackages = []Package{
	{Ecosystem: "Debian:12", Name: "p"},
	{Ecosystem: "Ubuntu:22.04:LTS", Name: "p"},
	{Ecosystem: "Alpine:v3.19", Name: "p"},
	{Ecosystem: "Go", Name: "p"},
	{Ecosystem: "Go", Name: "stdlib"},
	{Ecosystem: "npm", Name: "p"},
	{Ecosystem: "PyPI", Name: "p"},
	{Ecosystem: "Maven", Name: "p"},
	{Ecosystem: "RubyGems", Name: "p"},
	{Ecosystem: "crates.io", Name: "p"},
	{Ecosystem: "Red Hat", Name: "p"},
	{Ecosystem: "NoSuchEcosystem", Name: "p"},
}

// FuzzMatchVersion matches arbitrary installed versions against a fixed
// record in many ecosystems. Nothing may panic, and the result must not
// depend on the call.
func FuzzMatchVersion(f *testing.F) {
	var b builder
	for i, p := range fuzzMatchPackages {
		rec := `{"id": "FUZZ-` + string(rune('A'+i)) + `", "affected": [{"package": {"ecosystem": "` + p.Ecosystem + `", "name": "` + p.Name + `"},
			"versions": ["1.0.0", "1:1.0-1"],
			"ranges": [
				{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3-1"}, {"introduced": "2:0.1"}, {"last_affected": "3.0.0-r2"}]},
				{"type": "SEMVER", "events": [{"introduced": "1.0.0-rc.1"}, {"fixed": "1.5.0"}]},
				{"type": "GIT", "events": [{"introduced": "abc"}, {"limit": "def"}]}
			]}],
			"severity": [{"type": "CVSS_V3", "score": "` + cvss31High + `"}]}`
		c, err := parseRecord([]byte(rec))
		if err != nil {
			f.Fatal(err)
		}
		b.add(c, nil)
	}
	db := b.build()
	for _, s := range []string{"1.0.0", "v1.2.3", "go1.22.1", "1:1.2.13.dfsg-1", "3.1.4-r1", "1.0.post1", "1.0-SNAPSHOT", "", "~", "1:", ":", "-", "1.0.0-", "1..0", "99999999999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, version string) {
		pkgs := make([]Package, len(fuzzMatchPackages))
		for i, p := range fuzzMatchPackages {
			p.Version, p.DisplayName, p.DisplayVersion = version, p.Ecosystem, version
			pkgs[i] = p
		}
		first := db.Match(pkgs)
		second := db.Match(pkgs)
		if len(first) != len(second) {
			t.Fatalf("Match is not deterministic for %q: %d then %d findings", version, len(first), len(second))
		}
	})
}
