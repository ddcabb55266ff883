package inventory

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"reflect"
	"testing"
)

// checkPackages fails t unless pkgs are at most limit well-formed packages.
func checkPackages(t *testing.T, pkgs []Package, limit int) {
	t.Helper()
	if len(pkgs) > limit {
		t.Fatalf("%d packages from input that allows %d", len(pkgs), limit)
	}
	for _, p := range pkgs {
		if !word(p.Name) || !word(p.Version) {
			t.Fatalf("malformed package %+v", p)
		}
	}
}

func lines(data []byte) int {
	return bytes.Count(data, []byte("\n")) + 1
}

func FuzzDpkgStatus(f *testing.F) {
	for _, seed := range []string{
		dpkgStatus,
		"Package: a\r\nStatus: install ok installed\r\nVersion: 1\r\n",
		"Package: a\nVersion: 1\nSource: b (2)\n",
		"Package: a\nVersion: 1\nSource: b (\n",
		"Package:\nVersion:\n\n\n",
		"Package: a\n Package: b\n\tVersion: 2\nVersion: 1\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func(*testing.T) *File{
			func(t *testing.T) *File {
				var file File
				if err := parseDpkgStatus(bytes.NewReader(data), &file); err != nil {
					t.Fatal(err)
				}
				return &file
			},
			func(t *testing.T) *File {
				var file File
				if err := parseDpkgStatusD(bytes.NewReader(data), &file); err != nil {
					t.Fatal(err)
				}
				return &file
			},
		} {
			file := parse(t)
			checkPackages(t, file.Packages, lines(data))
			for _, p := range file.Packages {
				if p.Ecosystem != Dpkg || !word(p.SourceName) || !word(p.SourceVersion) {
					t.Fatalf("malformed package %+v", p)
				}
			}
		}
	})
}

func FuzzApkInstalled(f *testing.F) {
	for _, seed := range []string{
		apkInstalled,
		"P:a\nV:1\no:\n",
		"P:a\r\nV:1\r\n\r\nP:b\r\nV:2",
		"P:\nV:\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var file File
		if err := parseApkInstalled(bytes.NewReader(data), &file); err != nil {
			t.Fatal(err)
		}
		checkPackages(t, file.Packages, lines(data))
		for _, p := range file.Packages {
			if p.Ecosystem != Apk || !word(p.SourceName) || p.SourceVersion != p.Version {
				t.Fatalf("malformed package %+v", p)
			}
		}
	})
}

// Any bytes as a layer: an error or a layer whose packages the input
// accounts for, which survives the JSON cache and squashes the same.
func FuzzReadLayer(f *testing.F) {
	layers := [][]entry{
		{file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"), file("var/lib/dpkg/status", dpkgStatus)},
		{file("var/lib/dpkg/status.d/openssl", "Package: openssl\nVersion: 3\n"), file("lib/apk/db/installed", apkInstalled)},
		{opaque("a"), whiteout("b/gone"), file("b/.wh.", ""), symlink("c", "d"), dir("e")},
		{file("x/package-lock.json", lock("lodash", "4.17.20")), file("y/package-lock.json", `{"dependencies":{"a":{"version":"1"}}}`)},
		{file("p-1.dist-info/METADATA", "Name: p\nVersion: 1\n"), file("META-INF/maven/g/a/pom.properties", "groupId=g\nartifactId=a\nversion=1\n")},
		{exe("usr/bin/elf", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...))},
	}
	for _, entries := range layers {
		f.Add(layerTar(f, false, entries...))
		f.Add(layerTar(f, true, entries...))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ReadLayer(t.Context(), "fuzz", bytes.NewReader(data))
		if err != nil {
			return
		}
		inv := Squash([]*Layer{l})
		// A record or file takes a line per package in a text database, a
		// JSON object per package in a lockfile.
		tarData := data
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			tarData, _ = io.ReadAll(zr) // what ReadLayer read, up to any error
		}
		limit := lines(tarData) + bytes.Count(tarData, []byte("{"))
		checkPackages(t, inv.Packages, limit)

		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var back Layer
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got := Squash([]*Layer{&back}); !reflect.DeepEqual(got, inv) {
			t.Fatalf("from JSON %+v, want %+v", got, inv)
		}
	})
}
