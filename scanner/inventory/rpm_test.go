package inventory

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rpmHeader is what an rpm header blob holds for the inventory.
type rpmHeader struct {
	name, version, release, arch, sourceRpm string
	epoch                                   *int32
}

// Header tags and types, from rpm's rpmtag.h.
const (
	tagName      = 1000
	tagVersion   = 1001
	tagRelease   = 1002
	tagEpoch     = 1003
	tagArch      = 1022
	tagSourceRpm = 1044
	typeInt32    = 4
	typeString   = 6
)

// blob encodes h as an rpm header blob, as rpmdb stores one per package:
// the index length and data length (big-endian int32s), one 16-byte entry
// per tag (tag, type, offset into the data, count) and the data. It is a
// v3-style header without a region tag, which go-rpmdb reads like rpm
// does; the epoch comes first so the int32 needs no padding.
func (h rpmHeader) blob() []byte {
	type tag struct {
		tag, typ uint32
		data     []byte
	}
	var tags []tag
	if h.epoch != nil {
		tags = append(tags, tag{tagEpoch, typeInt32, binary.BigEndian.AppendUint32(nil, uint32(*h.epoch))})
	}
	for _, s := range []struct {
		tag uint32
		v   string
	}{{tagName, h.name}, {tagVersion, h.version}, {tagRelease, h.release}, {tagArch, h.arch}, {tagSourceRpm, h.sourceRpm}} {
		tags = append(tags, tag{s.tag, typeString, append([]byte(s.v), 0)})
	}
	var index, data []byte
	be := binary.BigEndian
	for _, t := range tags {
		index = be.AppendUint32(index, t.tag)
		index = be.AppendUint32(index, t.typ)
		index = be.AppendUint32(index, uint32(len(data)))
		index = be.AppendUint32(index, 1)
		data = append(data, t.data...)
	}
	out := be.AppendUint32(nil, uint32(len(tags)))
	out = be.AppendUint32(out, uint32(len(data)))
	return append(append(out, index...), data...)
}

func epoch(n int32) *int32 { return &n }

// rpmHeaders are the packages of the test databases.
var rpmHeaders = []rpmHeader{
	{name: "openssl-libs", version: "3.0.7", release: "24.el9", arch: "x86_64", sourceRpm: "openssl-3.0.7-24.el9.src.rpm", epoch: epoch(1)},
	{name: "bash", version: "5.1.8", release: "6.el9_1", arch: "x86_64", sourceRpm: "bash-5.1.8-6.el9_1.src.rpm", epoch: epoch(0)},
	{name: "python3-dnf-plugins-core", version: "4.3.0", release: "5.el9", arch: "noarch", sourceRpm: "dnf-plugins-core-4.3.0-5.el9.src.rpm"},
	{name: "gpg-pubkey", version: "350d275d", release: "6395ad07", sourceRpm: "(none)"},
	// A package with a long header: its value spans overflow pages.
	{name: "tzdata", version: "2024a", release: "1.el9", arch: "noarch", sourceRpm: "tzdata-2024a-1.el9.src.rpm"},
}

// rpmWant is what rpmHeaders give, found at path p in layer L1.
func rpmWant(p string) []string {
	return []string{
		"rpm bash 5.1.8-6.el9_1 (bash 5.1.8-6.el9_1) " + p + " @L1",
		"rpm openssl-libs 1:3.0.7-24.el9 (openssl 1:3.0.7-24.el9) " + p + " @L1",
		"rpm python3-dnf-plugins-core 4.3.0-5.el9 (dnf-plugins-core 4.3.0-5.el9) " + p + " @L1",
		"rpm tzdata 2024a-1.el9 (tzdata 2024a-1.el9) " + p + " @L1",
	}
}

func rpmBlobs() [][]byte {
	var blobs [][]byte
	for _, h := range rpmHeaders {
		blobs = append(blobs, h.blob())
	}
	// Make one header longer than a page, as real ones are.
	long := rpmHeaders[4]
	long.arch = "noarch" + strings.Repeat("-", 1500)
	blobs[4] = long.blob()
	return blobs
}

// sqliteRpmDB writes blobs as rpm 4.16+ does: table Packages(hnum, blob),
// in WAL mode.
func sqliteRpmDB(t *testing.T, dir string, blobs [][]byte) []byte {
	t.Helper()
	name := filepath.Join(dir, "rpmdb.sqlite")
	db, err := sql.Open("sqlite", name)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"PRAGMA journal_mode=WAL",
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	for _, b := range blobs {
		if _, err := db.Exec("INSERT INTO Packages (blob) VALUES (?)", b); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Berkeley DB hash page layout (db_page.h), little-endian.
const (
	bdbPage = 512
	pgNext  = 16 // next page number, of an overflow page
	pgCount = 20 // entries of a hash page
	pgFree  = 22 // bytes used on the last overflow page
	pgType  = 25
)

// bdbRpmDB writes blobs as a Berkeley DB hash database with one hash page
// (page 1) whose values are off-page items pointing at chains of overflow
// pages, the layout rpm's Packages file has and go-rpmdb reads.
func bdbRpmDB(blobs [][]byte) []byte {
	le := binary.LittleEndian
	pages := [][]byte{make([]byte, bdbPage), make([]byte, bdbPage)}
	meta, hash := pages[0], pages[1]
	le.PutUint32(meta[12:], bdbHashMagic)
	le.PutUint32(meta[16:], 9) // version
	le.PutUint32(meta[20:], bdbPage)
	meta[pgType] = 8 // hash metadata

	hash[pgType] = bdbHash
	le.PutUint16(hash[pgCount:], uint16(2*len(blobs)))
	top := bdbPage
	for i, b := range blobs {
		first := uint32(len(pages))
		for rest := b; ; {
			page := make([]byte, bdbPage)
			page[pgType] = bdbOverflow
			n := copy(page[bdbPageHeaderSize:], rest)
			rest = rest[n:]
			pages = append(pages, page)
			if len(rest) == 0 {
				le.PutUint16(page[pgFree:], uint16(n))
				break
			}
			le.PutUint32(page[pgNext:], uint32(len(pages)))
		}
		// The key: the package number, on the page.
		top -= 5
		hash[top] = 1 // H_KEYDATA
		le.PutUint32(hash[top+1:], uint32(i+1))
		le.PutUint16(hash[bdbPageHeaderSize+4*i:], uint16(top))
		// The value: an off-page item.
		top -= bdbOffPageSize
		hash[top] = bdbHashOffIndex
		le.PutUint32(hash[top+4:], first)
		le.PutUint32(hash[top+8:], uint32(len(b)))
		le.PutUint16(hash[bdbPageHeaderSize+4*i+2:], uint16(top))
	}
	le.PutUint32(meta[32:], uint32(len(pages)-1))
	var out []byte
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

// ndbRpmDB writes blobs as rpm's ndb Packages.db: a header, one page of
// slots and a blob per package at a 16-byte block offset.
func ndbRpmDB(blobs [][]byte) []byte {
	le := binary.LittleEndian
	out := make([]byte, 4096)
	le.PutUint32(out[0:], ndbHeaderMagic)
	le.PutUint32(out[12:], 1) // slot pages
	for i := range ndbSlotsPerPage - 2 {
		le.PutUint32(out[ndbHeaderSize+i*ndbSlotSize:], ndbSlotMagic)
	}
	for i, b := range blobs {
		slot := out[ndbHeaderSize+i*ndbSlotSize:]
		le.PutUint32(slot[4:], uint32(i+1))
		le.PutUint32(slot[8:], uint32(len(out)/16))
		var head [ndbBlobHeader]byte
		le.PutUint32(head[0:], ndbBlobMagic)
		le.PutUint32(head[4:], uint32(i+1))
		le.PutUint32(head[12:], uint32(len(b)))
		out = append(append(out, head[:]...), b...)
		for len(out)%16 != 0 {
			out = append(out, 0)
		}
	}
	return out
}

// Each rpm backend, at each place rpm keeps it, through ReadLayer.
func TestRpm(t *testing.T) {
	fixtures := t.TempDir()
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)
	blobs := rpmBlobs()
	dbs := map[string][]byte{
		"Packages":     bdbRpmDB(blobs),
		"Packages.db":  ndbRpmDB(blobs),
		"rpmdb.sqlite": sqliteRpmDB(t, fixtures, blobs),
	}
	for _, dir := range []string{"var/lib/rpm/", "usr/lib/sysimage/rpm/"} {
		for base, data := range dbs {
			p := dir + base
			t.Run(p, func(t *testing.T) {
				l := readLayer(t, "L1",
					file("etc/os-release", "ID=\"rocky\"\nVERSION_ID=\"9.3\"\n"),
					file(p, string(data)))
				if len(l.Skipped) != 0 {
					t.Errorf("skipped %q", l.Skipped)
				}
				inv := Squash([]*Layer{l})
				equalLines(t, "packages", show(inv.Packages), rpmWant(p))
				if inv.Distro.Ecosystem() != "Rocky Linux:9" {
					t.Errorf("ecosystem %q", inv.Distro.Ecosystem())
				}
				if left, _ := os.ReadDir(tmpdir); len(left) != 0 {
					t.Errorf("temp files left: %v", left)
				}
			})
		}
	}

	// Elsewhere, or not a regular file: not read.
	inv := squash(t, []entry{
		file("var/lib/rpm/Packages.bak", string(dbs["Packages"])),
		file("opt/var/lib/rpm/rpmdb.sqlite", string(dbs["rpmdb.sqlite"])),
		symlink("var/lib/rpm/Packages", "../../usr/lib/sysimage/rpm/Packages"),
	})
	if len(inv.Packages) != 0 {
		t.Errorf("packages %q", show(inv.Packages))
	}
}

// A damaged or crafted database costs a note, never the layer, the scan
// or the process, and leaves no temp file.
func TestRpmMalformed(t *testing.T) {
	blobs := rpmBlobs()
	le := binary.LittleEndian
	bdb := bdbRpmDB(blobs)
	// Page 2 is the first overflow page, of the first package.
	mutate := func(data []byte, f func(b []byte)) string {
		b := append([]byte(nil), data...)
		f(b)
		return string(b)
	}
	hash := bdb[bdbPage : 2*bdbPage]
	firstValue := int(le.Uint16(hash[bdbPageHeaderSize+2:]))
	ndb := ndbRpmDB(blobs)
	ndbFirstBlob := int(le.Uint32(ndb[ndbHeaderSize+8:])) * 16

	for _, tc := range []struct {
		name, path, data, note string
	}{
		{"not a database", "var/lib/rpm/Packages", "hello", ""},
		{"empty", "var/lib/rpm/rpmdb.sqlite", "", ""},
		{"sqlite without Packages", "var/lib/rpm/rpmdb.sqlite", sqliteEmpty(t), ""},
		// go-rpmdb would allocate 32 GiB for the index.
		{"bdb header index past the header", "var/lib/rpm/Packages", mutate(bdb, func(b []byte) {
			le.PutUint32(b[2*bdbPage+bdbPageHeaderSize:], 0x7fffffff)
		}), "header of"},
		{"ndb header index past the header", "var/lib/rpm/Packages.db", mutate(ndb, func(b []byte) {
			le.PutUint32(b[ndbFirstBlob+ndbBlobHeader:], 0x7fffffff)
		}), "header of"},
		{"sqlite header index past the header", "var/lib/rpm/rpmdb.sqlite", string(sqliteRpmDB(t, t.TempDir(), [][]byte{append([]byte{0x7f, 0xff, 0xff, 0xff}, blobs[0][4:]...)})), "header of"},
		{"bad header", "var/lib/rpm/Packages.db", mutate(ndb, func(b []byte) {
			le.PutUint32(b[ndbFirstBlob+ndbBlobHeader+4:], 1) // data length
		}), ""},
		// go-rpmdb would index past the page in its reader goroutine.
		{"bdb entry past the page", "var/lib/rpm/Packages", mutate(bdb, func(b []byte) {
			le.PutUint16(b[bdbPage+bdbPageHeaderSize+2:], 0xfff0)
		}), "entry past the page"},
		{"bdb index past the page", "var/lib/rpm/Packages", mutate(bdb, func(b []byte) {
			le.PutUint16(b[bdbPage+pgCount:], 0x1000)
		}), "index past the page"},
		{"bdb overflow data past the page", "var/lib/rpm/Packages", mutate(bdb, func(b []byte) {
			le.PutUint16(b[2*bdbPage+pgFree:], 0xffff)
		}), "data past the page"},
		// go-rpmdb would loop forever.
		{"bdb chain through a non-overflow page", "var/lib/rpm/Packages", mutate(bdb, func(b []byte) {
			le.PutUint32(b[bdbPage+firstValue+4:], 1)
		}), "not an overflow page"},
		{"bdb chain cycle", "var/lib/rpm/Packages", mutate(bdb, func(b []byte) {
			le.PutUint32(b[2*bdbPage+pgNext:], 2)
		}), "read twice"},
		// go-rpmdb would allocate 4 GiB, or print to stdout.
		{"ndb huge blob", "var/lib/rpm/Packages.db", mutate(ndb, func(b []byte) {
			le.PutUint32(b[ndbFirstBlob+12:], 0xffffffff)
		}), "past the end of the file"},
		{"ndb bad slot", "var/lib/rpm/Packages.db", mutate(ndb, func(b []byte) {
			le.PutUint32(b[ndbHeaderSize+100*ndbSlotSize:], 0)
		}), "bad magic"},
		// go-rpmdb would read the one blob once per slot.
		{"ndb slots sharing a blob", "var/lib/rpm/Packages.db", mutate(ndbRpmDB(blobs[:1]), func(b []byte) {
			for i := range ndbSlotsPerPage - 2 {
				copy(b[ndbHeaderSize+i*ndbSlotSize:], b[ndbHeaderSize:ndbHeaderSize+ndbSlotSize])
			}
		}), "longer than the file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpdir := t.TempDir()
			t.Setenv("TMPDIR", tmpdir)
			l := readLayer(t, "L2", file(tc.path, tc.data), file("lib/apk/db/installed", "P:after\nV:1\n"))
			if len(l.Skipped) != 1 || !strings.HasPrefix(l.Skipped[0], tc.path+": ") || !strings.Contains(l.Skipped[0], tc.note) {
				t.Errorf("skipped %q, want a note about %s with %q", l.Skipped, tc.path, tc.note)
			}
			// The damaged copy still replaces a lower one.
			lower := readLayer(t, "L1", file(tc.path, string(bdb)))
			equalLines(t, "packages", show(Squash([]*Layer{lower, l}).Packages), []string{"apk after 1 (after 1) lib/apk/db/installed @L2"})
			if left, _ := os.ReadDir(tmpdir); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
}

// sqliteEmpty is an SQLite database without a Packages table.
func sqliteEmpty(t *testing.T) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "empty.sqlite")
	db, err := sql.Open("sqlite", name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE Other (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// A database over the cap is noted and replaces what a lower layer had,
// without being spooled.
func TestRpmCap(t *testing.T) {
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)
	const p = "usr/lib/sysimage/rpm/rpmdb.sqlite"
	upper, err := ReadLayer(t.Context(), "L2", bigLayer([]entry{file("lib/apk/db/installed", "P:after\nV:1\n")}, p, 0o644, []byte("SQLite format 3\x00"), maxRpm+1))
	if err != nil {
		t.Fatal(err)
	}
	if len(upper.Skipped) != 1 || upper.Skipped[0] != p+": 268435457 bytes, over the 256 MiB cap" {
		t.Errorf("skipped %q", upper.Skipped)
	}
	if !reflect.DeepEqual(upper.Removed, []string{p}) {
		t.Errorf("removed %q", upper.Removed)
	}
	if left, _ := os.ReadDir(tmpdir); len(left) != 0 {
		t.Errorf("temp files left: %v", left)
	}
	lower := readLayer(t, "L1", file(p, string(sqliteRpmDB(t, t.TempDir(), rpmBlobs()))))
	equalLines(t, "packages", show(Squash([]*Layer{lower, upper}).Packages), []string{"apk after 1 (after 1) lib/apk/db/installed @L2"})
}

func TestRpmSourceName(t *testing.T) {
	for srpm, want := range map[string]string{
		"openssl-3.0.7-24.el9.src.rpm":          "openssl",
		"dnf-plugins-core-4.3.0-5.el9.src.rpm":  "dnf-plugins-core",
		"python-3.11-3.11.5-1.fc39.src.rpm":     "python-3.11",
		"kernel-5.14.0-362.8.1.el9_3.nosrc.rpm": "kernel",
		"bash-5.1.8-6.el9_1.src.rpm":            "bash",
		"":                                      "",
		"(none)":                                "",
		"noversion.src.rpm":                     "",
		"one-dash.src.rpm":                      "",
		"-1-2.src.rpm":                          "",
		"openssl-3.0.7-24.el9.src":              "",
	} {
		if got := rpmSourceName(srpm); got != want {
			t.Errorf("rpmSourceName(%q) = %q, want %q", srpm, got, want)
		}
	}
}

func TestIsRpmDatabase(t *testing.T) {
	for p, want := range map[string]bool{
		"var/lib/rpm/Packages":                  true,
		"var/lib/rpm/Packages.db":               true,
		"var/lib/rpm/rpmdb.sqlite":              true,
		"usr/lib/sysimage/rpm/Packages":         true,
		"usr/lib/sysimage/rpm/Packages.db":      true,
		"usr/lib/sysimage/rpm/rpmdb.sqlite":     true,
		"var/lib/rpm/Name":                      false,
		"var/lib/rpm/rpmdb.sqlite-wal":          false,
		"var/lib/rpm/sub/Packages":              false,
		"opt/var/lib/rpm/Packages":              false,
		"usr/lib/sysimage/rpm":                  false,
		"var/lib/rpm":                           false,
		"usr/share/doc/rpm/Packages":            false,
		"usr/lib/sysimage/rpm/Packages.db.lock": false,
	} {
		if got := isRpmDatabase(p); got != want {
			t.Errorf("isRpmDatabase(%q) = %v", p, got)
		}
	}
}

// Any bytes as an rpm database, in each format's seed: packages or a
// note, never a panic, a hang or a temp file left.
func FuzzRpmDatabase(f *testing.F) {
	blobs := rpmBlobs()
	f.Add(bdbRpmDB(blobs))
	f.Add(ndbRpmDB(blobs))
	f.Add(bdbRpmDB(blobs[:1]))
	f.Add(ndbRpmDB(blobs[:1]))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpdir := t.TempDir()
		t.Setenv("TMPDIR", tmpdir)
		l := readLayer(t, "fuzz", file("var/lib/rpm/Packages", string(data)))
		checkPackages(t, Squash([]*Layer{l}).Packages, len(data)/16)
		if left, _ := os.ReadDir(tmpdir); len(left) != 0 {
			t.Fatalf("temp files left: %v", left)
		}
	})
}

// badHeaderBlobs are rpmBlobs with a first header that passes the size
// check but that go-rpmdb cannot parse (its data length is wrong), so it
// stops there with packages left to read.
func badHeaderBlobs() [][]byte {
	blobs := rpmBlobs()
	bad := append([]byte(nil), blobs[0]...)
	binary.BigEndian.PutUint32(bad[4:], 1)
	return append([][]byte{bad}, blobs[1:]...)
}

// go-rpmdb stops at the first header it cannot parse and leaves its
// reader goroutine blocked on a channel nobody reads any more: one
// goroutine for good per crafted database. Reading 1,000 of them, in each
// format, leaves the goroutine count where it started.
func TestRpmMalformedLeavesNoGoroutine(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	blobs := badHeaderBlobs()
	dbs := map[string][]byte{
		"var/lib/rpm/Packages":     bdbRpmDB(blobs),
		"var/lib/rpm/Packages.db":  ndbRpmDB(blobs),
		"var/lib/rpm/rpmdb.sqlite": sqliteRpmDB(t, t.TempDir(), blobs),
	}
	layers := map[string][]byte{}
	for p, data := range dbs {
		layers[p] = layerTar(t, false, file(p, string(data)))
	}
	before := runtime.NumGoroutine()
	const databases, readers = 1000, 4
	var wg sync.WaitGroup
	next := make(chan int)
	for range readers {
		wg.Go(func() {
			for i := range next {
				p := slices.Sorted(maps.Keys(layers))[i%len(layers)]
				l, err := ReadLayer(t.Context(), "L1", bytes.NewReader(layers[p]))
				if err != nil {
					t.Errorf("ReadLayer: %v", err)
					continue
				}
				if len(l.Skipped) != 1 || !strings.HasPrefix(l.Skipped[0], p+": ") {
					t.Errorf("database %d (%s): skipped %q; want a note about it", i, p, l.Skipped)
				}
			}
		})
	}
	for i := range databases {
		next <- i
	}
	close(next)
	wg.Wait()

	// Goroutines of finished reads may take a moment to exit.
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(10 * time.Second); n > before && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	if n > before {
		t.Errorf("%d goroutines before reading %d crafted databases, %d after", before, databases, n)
	}
}

// A database that makes go-rpmdb panic in its reader goroutine, where no
// recover reaches, ends only the helper: the read fails with the panic's
// message and this process goes on. (ReadLayer's own check refuses this
// database before it gets there; the helper is the second line.)
func TestRpmHelperContainsPanics(t *testing.T) {
	bdb := bdbRpmDB(rpmBlobs())
	binary.LittleEndian.PutUint16(bdb[bdbPage+bdbPageHeaderSize+2:], 0xfff0) // an entry past the page
	name := filepath.Join(t.TempDir(), "Packages")
	if err := os.WriteFile(name, bdb, 0o644); err != nil {
		t.Fatal(err)
	}
	pkgs, err := readInHelper(t.Context(), name)
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Errorf("reading a database that panics go-rpmdb's reader: %v, %d packages; want the panic as an error", err, len(pkgs))
	}
}
