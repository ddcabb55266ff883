package inventory

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
)

// ErrUnsupportedCompression is returned by [ReadLayer] for a layer that is
// compressed with something other than gzip (zstd); decompress it first.
var ErrUnsupportedCompression = errors.New("inventory: unsupported layer compression")

// Layer is what one layer contributes to an image's inventory: the package
// databases and Go binaries it adds, and the paths it removes from the
// layers below. It depends only on the layer's bytes and id, so it can be
// cached per layer digest; encoding/json round-trips it.
type Layer struct {
	// ID is the caller-given id, e.g. the layer's digest. Every package in
	// Files carries it.
	ID string `json:"id"`
	// Files are the files that hold packages or the distribution, sorted
	// by path.
	Files []File `json:"files,omitempty"`
	// Removed are the paths whose lower-layer contents, subtree included,
	// this layer deletes or replaces by something holding no packages:
	// the targets of whiteouts (dir/.wh.name gives dir/name), symbolic and
	// hard links, device and FIFO entries, ELF executables without Go
	// build info, and package databases over their size cap.
	Removed []string `json:"removed,omitempty"`
	// Opaque are the directories ("." for the root) whose lower-layer
	// contents this layer hides (dir/.wh..wh..opq). What this layer itself
	// puts there stays.
	Opaque []string `json:"opaque,omitempty"`
	// Skipped notes the files that were not read, or not read whole: over
	// their size cap, malformed or unreadable, or past the count cap of
	// 100,000 files and removals per layer. A skipped file never fails
	// the layer. After 100 notes the rest are only counted ("and 7 more").
	Skipped []string `json:"skipped,omitempty"`
}

// File is one file of a layer that holds packages or the distribution.
type File struct {
	// Path is relative to the layer root, e.g. "var/lib/dpkg/status".
	Path string `json:"path"`
	// Packages found in the file, sorted; none for os-release.
	Packages []Package `json:"packages,omitempty"`
	// Distro is set for an os-release file.
	Distro *Distro `json:"distro,omitempty"`
}

// Size caps. A file over its cap is skipped with a note in Layer.Skipped:
// the cap bounds what one crafted file can cost, not what a real image has.
const (
	maxDatabase = 64 << 20  // dpkg status, apk installed
	maxLockfile = 32 << 20  // package-lock.json
	maxMetadata = 1 << 20   // os-release, METADATA, PKG-INFO, pom.properties
	maxBinary   = 64 << 20  // Go executables, spooled to a temp file
	maxRpm      = 256 << 20 // rpm databases, spooled to a temp file
)

// Count caps, for a crafted layer of millions of tiny lockfiles or
// symlinks. Past maxRecords, files and removals are dropped with a note;
// past maxNotes, notes are only counted.
const (
	maxRecords = 100_000
	maxNotes   = 100
)

// Whiteout names from the OCI image spec, layer changesets:
// https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// ReadLayer reads one layer, given as an uncompressed or gzip-compressed
// tar stream, in a single pass. Only the files that hold packages are kept,
// each under a size cap, and Go executables and rpm databases are spooled
// to a temp file that is removed before ReadLayer returns. Malformed
// databases and oversized files are noted in Layer.Skipped, not returned
// as errors.
//
// It returns [ErrUnsupportedCompression] for a zstd stream, the context's
// error when ctx is done (checked between tar entries), and an error for a
// stream that isn't a readable tar or can't be spooled.
func ReadLayer(ctx context.Context, id string, r io.Reader) (*Layer, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(4)
	var stream io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("inventory: layer %s: %w", id, err)
		}
		defer zr.Close()
		stream = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, fmt.Errorf("%w: layer %s is zstd; pass it decompressed or as gzip", ErrUnsupportedCompression, id)
	}

	lr := &layerReader{
		layer:   &Layer{ID: id},
		files:   map[string]*File{},
		removed: map[string]bool{},
		opaque:  map[string]bool{},
	}
	defer lr.close()
	tr := tar.NewReader(stream)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("inventory: layer %s: %w", id, err)
		}
		if err := lr.entry(ctx, hdr, tr); err != nil {
			return nil, fmt.Errorf("inventory: layer %s: %w", id, err)
		}
	}
	return lr.result(), nil
}

// layerReader collects what one layer's entries contribute.
type layerReader struct {
	layer   *Layer
	files   map[string]*File
	removed map[string]bool
	opaque  map[string]bool
	dropped int      // notes over maxNotes
	spool   *os.File // created on the first ELF executable or rpm database
}

// entry takes one tar entry whose content is body. It returns only errors
// that end the layer: reading the stream or writing the spool file.
func (lr *layerReader) entry(ctx context.Context, hdr *tar.Header, body io.Reader) error {
	// Rooting the name before cleaning it keeps ".." from climbing out,
	// as extraction into a root directory would. Names are made valid
	// UTF-8 so that a Layer reads back from JSON as it was written.
	p := strings.TrimPrefix(path.Clean("/"+strings.ToValidUTF8(hdr.Name, "\uFFFD")), "/")
	if p == "" {
		return nil
	}
	dir, base := path.Dir(p), path.Base(p)
	switch {
	case base == whiteoutOpaque:
		if lr.room(p) {
			lr.opaque[dir] = true
		}
		return nil
	case strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix):
		// Other AUFS metadata (.wh..wh.plnk): not a file of the image.
		return nil
	case strings.HasPrefix(base, whiteoutPrefix):
		// A bare ".wh." (or ".wh..", ".wh...") names no sibling; taken as
		// a whiteout it would delete the directory itself, so it is an
		// ordinary file (anchore/stereoscope#647).
		if name := strings.TrimPrefix(base, whiteoutPrefix); name != "" && name != "." && name != ".." {
			if lr.room(p) {
				lr.removed[path.Join(dir, name)] = true
			}
			return nil
		}
	}

	switch hdr.Typeflag {
	case tar.TypeReg:
		if isRpmDatabase(p) {
			return lr.rpmDatabase(ctx, p, hdr.Size, body)
		}
		if db, ok := databaseAt(p); ok {
			lr.database(p, hdr.Size, db, body)
			return nil
		}
		if hdr.Mode&0o111 != 0 {
			return lr.executable(p, hdr.Size, body)
		}
	case tar.TypeSymlink, tar.TypeLink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		lr.replace(p)
	}
	return nil
}

// replace records that this layer puts something holding no packages at
// p: it removes p and its subtree from the layers below, and from what
// this layer's earlier entries put there.
func (lr *layerReader) replace(p string) {
	if !lr.room(p) {
		return
	}
	lr.removed[p] = true
	for q := range lr.files {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(lr.files, q)
		}
	}
}

// room reports whether the layer may record one more file or removal, and
// notes p as dropped when it may not.
func (lr *layerReader) room(p string) bool {
	if len(lr.files)+len(lr.removed)+len(lr.opaque) < maxRecords {
		return true
	}
	lr.skip(p, "not recorded: over %d package files and removals in the layer", maxRecords)
	return false
}

func (lr *layerReader) skip(p, format string, args ...any) {
	if len(lr.layer.Skipped) == maxNotes {
		lr.dropped++
		return
	}
	note := strings.ToValidUTF8(p+": "+fmt.Sprintf(format, args...), "\uFFFD")
	lr.layer.Skipped = append(lr.layer.Skipped, note)
}

// database parses the package database at p. It never fails the layer: a
// stream error surfaces again at the next tar entry.
func (lr *layerReader) database(p string, size int64, db database, body io.Reader) {
	if size > db.max {
		lr.skip(p, "%d bytes, over the %d MiB cap", size, db.max>>20)
		lr.replace(p)
		return
	}
	f := &File{Path: p}
	if err := db.parse(io.LimitReader(body, db.max), f); err != nil {
		lr.skip(p, "%v", err)
	}
	lr.add(f)
}

// add keeps f, filling in its packages' path and layer.
func (lr *layerReader) add(f *File) {
	if _, ok := lr.files[f.Path]; !ok && !lr.room(f.Path) {
		return
	}
	for i := range f.Packages {
		f.Packages[i].Path = f.Path
		f.Packages[i].Layer = lr.layer.ID
	}
	sortPackages(f.Packages)
	f.Packages = slices.Compact(f.Packages)
	lr.files[f.Path] = f
}

func (lr *layerReader) result() *Layer {
	l := lr.layer
	for _, p := range slices.Sorted(maps.Keys(lr.files)) {
		l.Files = append(l.Files, *lr.files[p])
	}
	l.Removed = slices.Sorted(maps.Keys(lr.removed))
	l.Opaque = slices.Sorted(maps.Keys(lr.opaque))
	if lr.dropped > 0 {
		l.Skipped = append(l.Skipped, fmt.Sprintf("and %d more", lr.dropped))
	}
	return l
}

// close removes the spool file.
func (lr *layerReader) close() {
	if lr.spool != nil {
		lr.spool.Close()
		os.Remove(lr.spool.Name())
	}
}

// database is how to read one kind of package database.
type database struct {
	max   int64                        // size cap in bytes
	parse func(io.Reader, *File) error // fills in Packages or Distro
}

// databaseAt returns how to read the file at layer path p, if p is where a
// package database or os-release lives.
func databaseAt(p string) (database, bool) {
	switch p {
	case "etc/os-release", "usr/lib/os-release":
		return database{maxMetadata, parseOSRelease}, true
	case "var/lib/dpkg/status":
		return database{maxDatabase, parseDpkgStatus}, true
	case "lib/apk/db/installed", "var/lib/apk/db/installed", "usr/lib/apk/db/installed":
		return database{maxDatabase, parseApkInstalled}, true
	}
	dir, base := path.Dir(p), path.Base(p)
	switch {
	case dir == "var/lib/dpkg/status.d" && !strings.HasSuffix(base, ".md5sums"):
		return database{maxDatabase, parseDpkgStatusD}, true
	case base == "package-lock.json":
		return database{maxLockfile, parsePackageLock}, true
	case base == "METADATA" && strings.HasSuffix(dir, ".dist-info"),
		base == "PKG-INFO" && strings.HasSuffix(dir, ".egg-info"):
		return database{maxMetadata, parsePythonMetadata}, true
	case base == "pom.properties" && isMavenDir(dir):
		return database{maxMetadata, parsePomProperties}, true
	}
	return database{}, false
}
