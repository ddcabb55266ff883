package inventory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	_ "modernc.org/sqlite" // the "sqlite" driver go-rpmdb opens rpmdb.sqlite with
)

// isRpmDatabase reports whether layer path p is an rpm package database:
// Packages (Berkeley DB), Packages.db (ndb) or rpmdb.sqlite, in
// var/lib/rpm/ or usr/lib/sysimage/rpm/, as Trivy reads them.
func isRpmDatabase(p string) bool {
	dir, base := path.Split(p)
	return (dir == "var/lib/rpm/" || dir == "usr/lib/sysimage/rpm/") &&
		(base == "Packages" || base == "Packages.db" || base == "rpmdb.sqlite")
}

// rpmDatabase reads the rpm database at p. go-rpmdb opens a database by
// name, so it is spooled to the layer's temp file first. Only a stream or
// spool error is returned; a database that can't be read is noted.
func (lr *layerReader) rpmDatabase(ctx context.Context, p string, size int64, body io.Reader) error {
	if size > maxRpm {
		lr.skip(p, "%d bytes, over the %d MiB cap", size, maxRpm>>20)
		lr.replace(p)
		return nil
	}
	spool, n, err := lr.spoolFile(io.LimitReader(body, maxRpm))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	f := &File{Path: p}
	f.Packages, err = readRpmDatabase(ctx, spool, n)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		lr.skip(p, "%v", err)
	}
	lr.add(f)
	return nil
}

// readRpmDatabase lists the packages of the rpm database in f, n bytes,
// reading it in a helper process (see RunHelper).
func readRpmDatabase(ctx context.Context, f *os.File, n int64) ([]Package, error) {
	// SQLite may leave a -wal and -shm file (rpm's databases are in WAL
	// mode) or a -journal next to the one it opened.
	defer func() {
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			os.Remove(f.Name() + suffix)
		}
	}()
	if err := checkRpmDatabase(f, n); err != nil {
		return nil, err
	}
	return readInHelper(ctx, f.Name())
}

// listRpmPackages is go-rpmdb's ListPackages, run by the helper, made to
// report a panic in the calling goroutine (header parsing) as an error.
// Its readers run in goroutines of their own, where a panic can't be
// recovered and ends the helper: [checkRpmDatabase] keeps the inputs that
// would panic or loop there away from it, so that they get a precise
// note.
func listRpmPackages(name string) (infos []*rpmdb.PackageInfo, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("reading rpm database: panic: %v", v)
		}
	}()
	db, err := rpmdb.Open(name)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.ListPackages()
}

// rpmPackage returns the package an rpm header describes, and false for
// the gpg-pubkey entries that record imported signing keys.
func rpmPackage(info *rpmdb.PackageInfo) (Package, bool) {
	if info.Name == "gpg-pubkey" || !word(info.Name) || !word(info.Version) {
		return Package{}, false
	}
	version := info.Version
	if info.Release != "" {
		version += "-" + info.Release
	}
	if info.Epoch != nil && *info.Epoch != 0 {
		version = strconv.Itoa(*info.Epoch) + ":" + version
	}
	if !word(version) {
		return Package{}, false
	}
	source := rpmSourceName(info.SourceRpm)
	if source == "" {
		source = info.Name
	}
	return Package{Ecosystem: RPM, Name: info.Name, Version: version, SourceName: source, SourceVersion: version}, true
}

// rpmSourceName returns the name of a source rpm file name,
// "name-version-release.arch.rpm" (arch "src" or "nosrc"): the name may
// hold dashes, the version and release may not. It is "" for anything
// else.
func rpmSourceName(srpm string) string {
	s, ok := strings.CutSuffix(srpm, ".rpm")
	if !ok {
		return ""
	}
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return ""
	}
	s = s[:i]
	for range 2 { // release, then version
		if i = strings.LastIndexByte(s, '-'); i <= 0 {
			return ""
		}
		s = s[:i]
	}
	if !word(s) {
		return ""
	}
	return s
}

// checkRpmDatabase refuses the databases that go-rpmdb v0.1.1 can't read
// safely. Its readers run in a goroutine of their own and trust offsets in
// the file: a crafted Packages file makes them index out of range, a panic
// that no recover can catch and that would end the process, or loop
// forever on an overflow chain that doesn't end; a crafted Packages.db
// makes them allocate up to 4 GiB or print to stdout. Its header parser
// allocates the index a header claims before checking it against the
// header's size. And ListPackages stops at the first error without
// draining its reader, whose goroutine then blocks forever. So this walks
// the file as go-rpmdb will and returns an error wherever it would panic,
// loop, overread or fail early; a file go-rpmdb can read passes. Files
// go-rpmdb rejects when opening them (before starting a reader) pass.
//
// The walk reads only page, slot and header prefixes, each at most once.
func checkRpmDatabase(f *os.File, size int64) error {
	var head [512]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return err
	}
	if n >= 16 && bytes.Equal(head[:16], []byte("SQLite format 3\x00")) {
		return checkSQLite(f.Name())
	}
	r := io.ReaderAt(f)
	if n >= ndbHeaderSize && isNDB(head[:ndbHeaderSize]) {
		return checkNDB(r, size, head[:ndbHeaderSize])
	}
	return checkBDB(r, size, head[:])
}

// checkSQLite checks the header of each row go-rpmdb will read.
func checkSQLite(name string) error {
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query("SELECT substr(CAST(blob AS BLOB), 1, 8), length(CAST(blob AS BLOB)) FROM Packages")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var head []byte
		var n int64
		if err := rows.Scan(&head, &n); err != nil {
			return err
		}
		if err := checkHeader(head, n); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkHeader checks an rpm header blob of n bytes that starts with head:
// its index and data, as it gives their sizes, must fit in it.
func checkHeader(head []byte, n int64) error {
	if len(head) < 8 {
		return fmt.Errorf("header of %d bytes: too short", n)
	}
	il := int64(int32(binary.BigEndian.Uint32(head)))
	dl := int64(int32(binary.BigEndian.Uint32(head[4:])))
	if il < 1 || dl < 0 || 8+16*il+dl > n {
		return fmt.Errorf("header of %d bytes: %d index entries and %d data bytes don't fit", n, il, dl)
	}
	return nil
}

// ndb layout, from go-rpmdb's pkg/ndb (rpm's lib/backend/ndb/rpmpkg.c).
const (
	ndbHeaderSize   = 32
	ndbSlotSize     = 16
	ndbBlobHeader   = 16
	ndbSlotsPerPage = 4096 / ndbSlotSize
	ndbMaxPages     = 2048 // go-rpmdb refuses more when opening
	ndbHeaderMagic  = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic    = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic    = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
)

// isNDB reports whether go-rpmdb takes a file with this header for ndb.
func isNDB(h []byte) bool {
	le := binary.LittleEndian
	return le.Uint32(h[0:]) == ndbHeaderMagic && le.Uint32(h[4:]) == 0 && le.Uint32(h[12:]) != 0
}

func checkNDB(r io.ReaderAt, size int64, h []byte) error {
	le := binary.LittleEndian
	npages := int64(le.Uint32(h[12:]))
	nslots := npages*ndbSlotsPerPage - 2 // the header takes the first two
	if npages > ndbMaxPages || ndbHeaderSize+nslots*ndbSlotSize > size {
		return nil // go-rpmdb fails to open it
	}
	slots := io.NewSectionReader(r, ndbHeaderSize, nslots*ndbSlotSize)
	var slot, blob [16]byte
	var blobs int64 // bytes of all blobs: each is read once
	for i := range nslots {
		if _, err := io.ReadFull(slots, slot[:]); err != nil {
			return err
		}
		if le.Uint32(slot[0:]) != ndbSlotMagic {
			return fmt.Errorf("ndb: slot %d: bad magic", i)
		}
		pkg := le.Uint32(slot[4:])
		if pkg == 0 {
			continue
		}
		off := int64(le.Uint32(slot[8:])) * ndbBlobHeader
		if _, err := r.ReadAt(blob[:], off); err != nil {
			return fmt.Errorf("ndb: package %d: blob header at %d: %w", pkg, off, err)
		}
		if le.Uint32(blob[0:]) != ndbBlobMagic || le.Uint32(blob[4:]) != pkg {
			return fmt.Errorf("ndb: package %d: bad blob header", pkg)
		}
		n := int64(le.Uint32(blob[12:]))
		if n > size-off-ndbBlobHeader {
			return fmt.Errorf("ndb: package %d: %d-byte blob past the end of the file", pkg, n)
		}
		if blobs += n; blobs > size {
			return fmt.Errorf("ndb: package %d: blobs longer than the file", pkg)
		}
		var head [8]byte
		if _, err := r.ReadAt(head[:min(n, 8)], off+ndbBlobHeader); err != nil {
			return err
		}
		if err := checkHeader(head[:min(n, 8)], n); err != nil {
			return fmt.Errorf("ndb: package %d: %w", pkg, err)
		}
	}
	return nil
}

// Berkeley DB hash database layout, from go-rpmdb's pkg/bdb.
const (
	bdbHashMagic      = 0x00061561
	bdbPageHeaderSize = 26
	bdbOffPageSize    = 12
	bdbHashUnsorted   = 2
	bdbHashOffIndex   = 3
	bdbOverflow       = 7
	bdbHash           = 13
)

func checkBDB(r io.ReaderAt, size int64, meta []byte) error {
	var order binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(meta[12:]) {
	case bdbHashMagic:
	case 0x61150600: // written on a big-endian machine
		order = binary.BigEndian
	default:
		return nil // go-rpmdb fails to open it
	}
	pageSize := order.Uint32(meta[20:])
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 || meta[24] != 0 {
		return nil // go-rpmdb fails to open it
	}
	lastPage := order.Uint32(meta[32:])
	pages := size / int64(pageSize)
	seen := make([]bool, pages) // overflow pages already read
	page := make([]byte, pageSize)
	readPage := func(no int64) error {
		if no >= pages {
			return fmt.Errorf("berkeley db: page %d past the end of the file", no)
		}
		_, err := r.ReadAt(page, no*int64(pageSize))
		return err
	}
	hash := make([]byte, pageSize) // the hash page whose entries are followed
	for no := int64(0); no <= int64(lastPage); no++ {
		if err := readPage(no); err != nil {
			return err
		}
		if t := page[25]; t != bdbHash && t != bdbHashUnsorted {
			continue
		}
		entries := order.Uint16(page[20:])
		if entries%2 != 0 {
			return fmt.Errorf("berkeley db: page %d: odd entry count", no)
		}
		// go-rpmdb computes these offsets in uint16 and slices with them.
		indexEnd := int(uint16(bdbPageHeaderSize) + entries*2)
		if indexEnd < bdbPageHeaderSize || indexEnd > len(page) {
			return fmt.Errorf("berkeley db: page %d: index past the page", no)
		}
		copy(hash, page)
		// Entries come in key, value pairs; values are what is read.
		for i := bdbPageHeaderSize + 2; i+2 <= indexEnd; i += 4 {
			at := order.Uint16(hash[i:])
			if int(at) >= len(hash) {
				return fmt.Errorf("berkeley db: page %d: entry past the page", no)
			}
			if hash[at] != bdbHashOffIndex {
				continue
			}
			if end := int(at + bdbOffPageSize); end < int(at) || end > len(hash) {
				return fmt.Errorf("berkeley db: page %d: entry past the page", no)
			}
			var head []byte // of the header
			var n int64
			for next := order.Uint32(hash[int(at)+4:]); next != 0; {
				// go-rpmdb seeks to pageSize*next, computed in uint32.
				over := int64(pageSize*next) / int64(pageSize)
				if err := readPage(over); err != nil {
					return err
				}
				if seen[over] {
					return fmt.Errorf("berkeley db: overflow page %d read twice", over)
				}
				seen[over] = true
				if page[25] != bdbOverflow {
					// go-rpmdb would read it again forever.
					return fmt.Errorf("berkeley db: page %d in an overflow chain is not an overflow page", over)
				}
				end := len(page)
				if next = order.Uint32(page[16:]); next == 0 {
					if end = int(uint16(bdbPageHeaderSize) + order.Uint16(page[22:])); end < bdbPageHeaderSize || end > len(page) {
						return fmt.Errorf("berkeley db: page %d: data past the page", over)
					}
				}
				if len(head) < 8 {
					head = append(head, page[bdbPageHeaderSize:end][:min(8-len(head), end-bdbPageHeaderSize)]...)
				}
				n += int64(end - bdbPageHeaderSize)
			}
			if err := checkHeader(head, n); err != nil {
				return fmt.Errorf("berkeley db: page %d: %w", no, err)
			}
		}
	}
	return nil
}
