package inventory

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

func lock(name, version string) string {
	return `{"lockfileVersion":3,"packages":{"node_modules/` + name + `":{"version":"` + version + `"}}}`
}

// The reference case: lower a/x, b/gone, c/sub/f; upper a/.wh..wh..opq,
// a/y, b/.wh.gone, c/.wh.sub. Each path holds a lockfile so its fate shows
// in the inventory.
func TestWhiteouts(t *testing.T) {
	lower := []entry{
		dir("a"), dir("a/x"), file("a/x/package-lock.json", lock("ax", "1.0.0")),
		file("a/y/package-lock.json", lock("ay-lower", "1.0.0")),
		dir("b"), file("b/gone/package-lock.json", lock("bgone", "1.0.0")),
		file("b/kept/package-lock.json", lock("bkept", "1.0.0")),
		file("c/sub/f/package-lock.json", lock("csubf", "1.0.0")),
		file("c/subway/package-lock.json", lock("csubway", "1.0.0")),
		file("opt/old/package-lock.json", lock("lodash", "4.17.20")),
		file("d/package-lock.json", lock("d", "1.0.0")),
	}
	upper := []entry{
		opaque("a"),
		file("a/y/package-lock.json", lock("ay", "2.0.0")),
		whiteout("b/gone"),
		whiteout("c/sub"),
		whiteout("opt/old/package-lock.json"),
		// A bare ".wh." and its dot cousins name no sibling: ordinary
		// files that delete nothing.
		file("b/.wh.", ""), file("d/.wh..", ""), file("d/.wh...", ""), file(".wh.", ""),
		// AUFS metadata is not a whiteout either.
		file("d/.wh..wh.plnk", ""),
	}
	inv := squash(t, lower, upper)
	equalLines(t, "packages", show(inv.Packages), []string{
		"npm ay 2.0.0 a/y/package-lock.json @L2",
		"npm bkept 1.0.0 b/kept/package-lock.json @L1",
		"npm csubway 1.0.0 c/subway/package-lock.json @L1",
		"npm d 1.0.0 d/package-lock.json @L1",
	})

	l := readLayer(t, "L2", upper...)
	if want := []string{"a"}; !reflect.DeepEqual(l.Opaque, want) {
		t.Errorf("Opaque = %q, want %q", l.Opaque, want)
	}
	if want := []string{"b/gone", "c/sub", "opt/old/package-lock.json"}; !reflect.DeepEqual(l.Removed, want) {
		t.Errorf("Removed = %q, want %q", l.Removed, want)
	}
}

// Whiteouts and opaque directories act on lower layers only, never on what
// their own layer adds, whatever the entry order; a later layer can bring a
// deleted file back.
func TestWhiteoutsSameLayerAndReturn(t *testing.T) {
	inv := squash(t,
		[]entry{file("x/package-lock.json", lock("one", "1.0.0")), file("r/package-lock.json", lock("root", "1.0.0"))},
		[]entry{file("x/package-lock.json", lock("two", "2.0.0")), whiteout("x/package-lock.json"), opaque("x"), whiteout("r")},
		[]entry{file("r/package-lock.json", lock("root", "1.0.0"))},
	)
	equalLines(t, "packages", show(inv.Packages), []string{
		"npm root 1.0.0 r/package-lock.json @L3",
		"npm two 2.0.0 x/package-lock.json @L2",
	})

	// An opaque root hides every lower file.
	inv = squash(t,
		[]entry{file("etc/os-release", "ID=debian\nVERSION_ID=12\n"), file("var/lib/dpkg/status.d/a", "Package: a\nVersion: 1\n")},
		[]entry{opaque("."), file("lib/apk/db/installed", "P:b\nV:2\n")},
	)
	equalLines(t, "packages", show(inv.Packages), []string{"apk b 2 (b 2) lib/apk/db/installed @L2"})
	if inv.Distro != nil {
		t.Errorf("distro %+v survived an opaque root", inv.Distro)
	}
}

// A symlink (or any non-directory) replaces a lower directory and all its
// files without a whiteout: "rm -rf dir && ln -s ... dir" (trivy#2637).
func TestReplacedDirectory(t *testing.T) {
	inv := squash(t,
		[]entry{file("app/node/package-lock.json", lock("old", "1.0.0")), file("var/lib/dpkg/status.d/a", "Package: a\nVersion: 1\n")},
		[]entry{symlink("app/node", "/srv/node"), symlink("var/lib/dpkg/status.d/a", "b")},
	)
	equalLines(t, "packages", show(inv.Packages), nil)

	// Within one layer, tar order decides: the later entry wins.
	inv = squash(t, []entry{
		file("x/package-lock.json", lock("first", "1.0.0")), symlink("x", "y"),
		symlink("z/package-lock.json", "q"), file("z/package-lock.json", lock("second", "1.0.0")),
	})
	equalLines(t, "packages", show(inv.Packages), []string{"npm second 1.0.0 z/package-lock.json @L1"})
}

// A rewritten dpkg status replaces the lower one entirely; packages it
// still lists at the same version keep the layer that added them.
func TestAttribution(t *testing.T) {
	pkg := func(name, version string) string {
		return "Package: " + name + "\nStatus: install ok installed\nVersion: " + version + "\n\n"
	}
	inv := squash(t,
		[]entry{file("var/lib/dpkg/status", pkg("base", "1")+pkg("upgraded", "1")+pkg("removed", "1")+pkg("readded", "1"))},
		[]entry{file("var/lib/dpkg/status", pkg("base", "1")+pkg("upgraded", "2")+pkg("new", "1"))},
		[]entry{file("var/lib/dpkg/status", pkg("base", "1")+pkg("upgraded", "2")+pkg("new", "1")+pkg("readded", "1"))},
		[]entry{whiteout("var/lib/dpkg/status")},
		[]entry{file("var/lib/dpkg/status", pkg("base", "1"))},
	)
	equalLines(t, "packages", show(inv.Packages), []string{
		// Deleted in L4: L5's copy added it anew.
		"dpkg base 1 (base 1) var/lib/dpkg/status @L5",
	})

	inv = squash(t,
		[]entry{file("var/lib/dpkg/status", pkg("base", "1")+pkg("upgraded", "1")+pkg("removed", "1")+pkg("readded", "1"))},
		[]entry{file("var/lib/dpkg/status", pkg("base", "1")+pkg("upgraded", "2")+pkg("new", "1"))},
		[]entry{file("var/lib/dpkg/status", pkg("base", "1")+pkg("upgraded", "2")+pkg("new", "1")+pkg("readded", "1"))},
	)
	equalLines(t, "packages", show(inv.Packages), []string{
		"dpkg base 1 (base 1) var/lib/dpkg/status @L1",
		"dpkg new 1 (new 1) var/lib/dpkg/status @L2",
		// Gone from L2's copy: L3 installed it again.
		"dpkg readded 1 (readded 1) var/lib/dpkg/status @L3",
		"dpkg upgraded 2 (upgraded 2) var/lib/dpkg/status @L2",
	})
}

// etc/os-release wins over usr/lib/os-release; deleting it falls back.
func TestOSReleasePrecedence(t *testing.T) {
	usrlib := file("usr/lib/os-release", "ID=debian\nVERSION_ID=12\n")
	etc := file("etc/os-release", "ID=ubuntu\nVERSION_ID=22.04\n")
	for _, tc := range []struct {
		name   string
		layers [][]entry
		want   string
	}{
		{"etc wins", [][]entry{{etc, usrlib}}, "ubuntu"},
		{"etc wins from a lower layer", [][]entry{{etc}, {usrlib}}, "ubuntu"},
		{"a symlink to usr/lib", [][]entry{{usrlib, symlink("etc/os-release", "../usr/lib/os-release")}}, "debian"},
		{"etc deleted", [][]entry{{etc, usrlib}, {whiteout("etc/os-release")}}, "debian"},
		{"etc replaced by a symlink", [][]entry{{etc, usrlib}, {symlink("etc/os-release", "../usr/lib/os-release")}}, "debian"},
		{"none", [][]entry{{file("etc/issue", "Debian")}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := squash(t, tc.layers...)
			got := ""
			if inv.Distro != nil {
				got = inv.Distro.ID
			}
			if got != tc.want {
				t.Errorf("distro %q, want %q", got, tc.want)
			}
		})
	}
}

// Tar names may be rooted, dotted or climb; they land under the root.
func TestEntryNames(t *testing.T) {
	inv := squash(t, []entry{
		file("/lib/apk/db/installed", "P:a\nV:1\n"),
		file("./var/lib/apk/db/installed", "P:b\nV:2\n"),
		file("../../usr/lib/apk/db/installed", "P:c\nV:3\n"),
		file("etc/../usr/lib/os-release", "ID=alpine\nVERSION_ID=3.19.1\n"),
	})
	equalLines(t, "packages", show(inv.Packages), []string{
		"apk a 1 (a 1) lib/apk/db/installed @L1",
		"apk b 2 (b 2) var/lib/apk/db/installed @L1",
		"apk c 3 (c 3) usr/lib/apk/db/installed @L1",
	})
	if inv.Distro == nil || inv.Distro.Ecosystem() != "Alpine:v3.19" {
		t.Errorf("distro %+v", inv.Distro)
	}
}

// The Debian fixture: a deinstalled package and a whited-out lockfile are
// not reported; the layer's result survives a JSON round trip (the cache).
func TestDebianImageAndCache(t *testing.T) {
	layers := []*Layer{
		readLayer(t, "sha256:1", file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
			file("var/lib/dpkg/status", dpkgStatus),
			file("opt/old/package-lock.json", lock("lodash", "4.17.20"))),
		readLayer(t, "sha256:2", whiteout("opt/old/package-lock.json"), opaque("opt"),
			file("usr/share/doc/readme", "hi")),
	}
	want := Squash(layers)
	if want.Distro == nil || want.Distro.Ecosystem() != "Debian:12" || len(want.Packages) != 3 {
		t.Fatalf("inventory %+v", want)
	}

	var cached []*Layer
	for _, l := range layers {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var back Layer
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&back, l) {
			t.Errorf("round trip of %s:\n%s\ngave %+v", l.ID, b, back)
		}
		cached = append(cached, &back)
	}
	if got := Squash(cached); !reflect.DeepEqual(got, want) {
		t.Errorf("from cache %+v, want %+v", got, want)
	}
	// Squash leaves its input alone.
	if Squash(layers); !reflect.DeepEqual(layers[0], cached[0]) {
		t.Error("Squash modified a layer")
	}
}

func TestCompression(t *testing.T) {
	entries := []entry{file("lib/apk/db/installed", "P:a\nV:1\n")}
	plain, err := ReadLayer(t.Context(), "x", bytes.NewReader(layerTar(t, false, entries...)))
	if err != nil {
		t.Fatal(err)
	}
	gz, err := ReadLayer(t.Context(), "x", bytes.NewReader(layerTar(t, true, entries...)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(plain, gz) || len(gz.Files) != 1 {
		t.Errorf("gzip %+v, plain %+v", gz, plain)
	}

	zstd := append([]byte{0x28, 0xb5, 0x2f, 0xfd}, make([]byte, 64)...)
	if _, err := ReadLayer(t.Context(), "x", bytes.NewReader(zstd)); !errors.Is(err, ErrUnsupportedCompression) {
		t.Errorf("zstd: %v, want ErrUnsupportedCompression", err)
	}
	if l, err := ReadLayer(t.Context(), "empty", bytes.NewReader(nil)); err != nil || len(l.Files) != 0 {
		t.Errorf("empty stream: %+v, %v", l, err)
	}
}

func TestBrokenStreams(t *testing.T) {
	whole := layerTar(t, false, file("var/lib/dpkg/status", dpkgStatus), file("etc/os-release", "ID=debian\n"))
	for name, data := range map[string][]byte{
		"truncated tar":       whole[:700],
		"garbage":             bytes.Repeat([]byte("not a tar "), 100),
		"truncated gzip":      layerTar(t, true, file("var/lib/dpkg/status", dpkgStatus))[:40],
		"gzip of no tar":      gzipped([]byte("hello")),
		"gzip magic, no rest": {0x1f, 0x8b},
	} {
		if _, err := ReadLayer(t.Context(), "bad", bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func gzipped(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	data := layerTar(t, false, file("lib/apk/db/installed", "P:a\nV:1\n"))
	if _, err := ReadLayer(ctx, "x", bytes.NewReader(data)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// bigLayer streams a tar whose first entry, big, is size bytes starting
// with head, followed by entries, so a test can pass a file over a cap
// without holding it.
func bigLayer(entries []entry, big string, mode int64, head []byte, size int64) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: big, Typeflag: tar.TypeReg, Mode: mode, Size: size})
		if err == nil {
			_, err = tw.Write(head)
		}
		if err == nil {
			_, err = io.CopyN(tw, zeros{}, size-int64(len(head)))
		}
		for _, e := range entries {
			if err == nil {
				err = tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body))})
			}
			if err == nil {
				_, err = tw.Write(e.body)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Files over their cap are noted and skipped, never fatal; they still
// replace what a lower layer had at their path.
func TestCaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		path string
		mode int64
		head []byte
		size int64
	}{
		{"dpkg status", "var/lib/dpkg/status", 0o644, []byte("Package: a\nStatus: install ok installed\nVersion: 1\n\n"), maxDatabase + 1},
		{"lockfile", "app/package-lock.json", 0o644, []byte(lock("a", "1.0.0")), maxLockfile + 1},
		{"METADATA", "x-1.dist-info/METADATA", 0o644, []byte("Name: x\nVersion: 1\n"), maxMetadata + 1},
		{"executable", "usr/local/bin/app", 0o755, elfMagic, maxBinary + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			upper, err := ReadLayer(t.Context(), "L2", bigLayer([]entry{file("lib/apk/db/installed", "P:after\nV:1\n")}, tc.path, tc.mode, tc.head, tc.size))
			if err != nil {
				t.Fatal(err)
			}
			if len(upper.Skipped) != 1 || !strings.HasPrefix(upper.Skipped[0], tc.path+": ") {
				t.Errorf("skipped %q", upper.Skipped)
			}
			if !reflect.DeepEqual(upper.Removed, []string{tc.path}) {
				t.Errorf("removed %q", upper.Removed)
			}
			// The entries after the big one are still read.
			if len(upper.Files) != 1 || upper.Files[0].Path != "lib/apk/db/installed" {
				t.Errorf("files %+v", upper.Files)
			}
			// What a lower layer had at the path is gone.
			lower := readLayer(t, "L1", entry{name: tc.path, typ: tar.TypeReg, mode: tc.mode, body: tc.head})
			equalLines(t, "packages", show(Squash([]*Layer{lower, upper}).Packages), []string{"apk after 1 (after 1) lib/apk/db/installed @L2"})
		})
	}

	// Just under the cap is read.
	l, err := ReadLayer(t.Context(), "L1", bigLayer(nil, "var/lib/dpkg/status", 0o644,
		[]byte("Package: a\nStatus: install ok installed\nVersion: 1\n\n"), maxDatabase))
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, "packages", show(Squash([]*Layer{l}).Packages), []string{"dpkg a 1 (a 1) var/lib/dpkg/status @L1"})
}

// A crafted layer of very many symlinks costs a bounded record: removals
// past the count cap are dropped (the lower files then stay reported) and
// the notes about them are counted, not listed.
func TestCountCaps(t *testing.T) {
	const extra = 200
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		var err error
		for i := 0; i < maxRecords+extra && err == nil; i++ {
			err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("s/%d", i), Typeflag: tar.TypeSymlink, Linkname: "x"})
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	l, err := ReadLayer(t.Context(), "many", pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Removed) != maxRecords {
		t.Errorf("%d removals recorded, want %d", len(l.Removed), maxRecords)
	}
	if len(l.Skipped) != maxNotes+1 || l.Skipped[maxNotes] != fmt.Sprintf("and %d more", extra-maxNotes) {
		t.Errorf("%d notes, the last %q", len(l.Skipped), l.Skipped[len(l.Skipped)-1])
	}
}
