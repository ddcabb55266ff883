package vulndb

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// maxRecordSize bounds one record. The largest osv.dev records are a few
// megabytes; anything beyond this is treated as malformed rather than read
// into memory.
const maxRecordSize = 32 << 20

// errRecordTooLarge marks a record over maxRecordSize.
var errRecordTooLarge = errors.New("vulndb: record larger than 32 MiB")

// Load reads every ecosystem directory under dir: its all.zip (entries are
// streamed from the file, never read whole into memory) and its loose *.json
// files, one record each.
//
// Withdrawn records are dropped. A record that cannot be decoded, has no id
// or is too large is skipped and counted in Malformed; it never fails the
// load. When several files hold the same id (osv.dev puts a record that
// affects two ecosystems in both zips), the one with the newest `modified`
// wins, and at a tie the one read last: all.zip before loose files,
// directories in name order.
//
// An empty or missing dir gives an empty DB, not an error, so a registry can
// start before any data is imported; callers that want to warn about it can
// check Len. A zip that cannot be opened is an error.
func Load(ctx context.Context, dir string) (*DB, error) {
	var b builder
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return b.build(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("vulndb: load: %w", err)
	}
	for _, de := range des { // ReadDir sorts by name
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, de.Name())
		fi, err := os.Stat(path) // follows symlinks, unlike de.IsDir
		if err != nil {
			return nil, fmt.Errorf("vulndb: load: %w", err)
		}
		if !fi.IsDir() {
			continue
		}
		if err := b.addEcosystemDir(ctx, path); err != nil {
			return nil, err
		}
	}
	return b.build(), nil
}

// builder collects decoded records during Load.
type builder struct {
	byID      map[string]compiled
	malformed int
}

// addEcosystemDir reads <dir>/all.zip, then <dir>/*.json.
func (b *builder) addEcosystemDir(ctx context.Context, dir string) error {
	zipPath := filepath.Join(dir, "all.zip")
	if _, err := os.Stat(zipPath); err == nil {
		if err := b.addZip(ctx, zipPath); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("vulndb: load: %w", err)
	}

	loose, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("vulndb: load: %w", err)
	}
	var buf bytes.Buffer
	for _, path := range loose {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := readLoose(path, &buf)
		b.add(c, err)
	}
	return nil
}

func readLoose(path string, buf *bytes.Buffer) (compiled, error) {
	f, err := os.Open(path)
	if err != nil {
		return compiled{}, err
	}
	defer f.Close()
	data, err := readRecord(f, buf)
	if err != nil {
		return compiled{}, err
	}
	return parseRecord(data)
}

// addZip decodes the *.json entries of one zip on all CPUs. Each worker opens
// its entries through the zip's io.ReaderAt, so only one record per worker is
// in memory at a time; results are added in entry order so the outcome does
// not depend on scheduling.
func (b *builder) addZip(ctx context.Context, path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("vulndb: load %s: %w", path, err)
	}
	defer zr.Close()

	var files []*zip.File
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() && strings.HasSuffix(f.Name, ".json") {
			files = append(files, f)
		}
	}
	type result struct {
		c   compiled
		err error
	}
	results := make([]result, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			var buf bytes.Buffer
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				results[i].c, results[i].err = readZipEntry(files[i], &buf)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range results {
		b.add(results[i].c, results[i].err)
		results[i] = result{} // let the GC have what add did not keep
	}
	return nil
}

func readZipEntry(f *zip.File, buf *bytes.Buffer) (compiled, error) {
	rc, err := f.Open()
	if err != nil {
		return compiled{}, err
	}
	defer rc.Close()
	data, err := readRecord(rc, buf)
	if err != nil {
		return compiled{}, err // includes zip.ErrChecksum for a corrupt entry
	}
	return parseRecord(data)
}

// readRecord reads one record into buf, which is reused between records.
func readRecord(r io.Reader, buf *bytes.Buffer) ([]byte, error) {
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(r, maxRecordSize+1))
	if err != nil {
		return nil, err
	}
	if n > maxRecordSize {
		return nil, errRecordTooLarge
	}
	return buf.Bytes(), nil
}

// add keeps a decoded record unless a newer copy of it was already read.
// Withdrawn records are kept here too, so that a withdrawal read later still
// hides an older copy; build drops them.
func (b *builder) add(c compiled, err error) {
	if err != nil {
		b.malformed++
		return
	}
	if b.byID == nil {
		b.byID = make(map[string]compiled)
	}
	if old, ok := b.byID[c.id]; ok && old.modified.After(c.modified) {
		return
	}
	b.byID[c.id] = c
}

// build indexes the kept records. Each index bucket is sorted by OSV id so
// that Match's merging of duplicate findings is deterministic.
func (b *builder) build() *DB {
	db := &DB{index: make(map[pkgKey][]*entry), malformed: b.malformed}
	intern := make(map[string]string)
	in := func(s string) string {
		if v, ok := intern[s]; ok {
			return v
		}
		intern[s] = s
		return s
	}
	for _, c := range b.byID {
		if c.withdrawn {
			continue
		}
		db.records++
		if c.modified.After(db.updatedAt) {
			db.updatedAt = c.modified.UTC()
		}
		for i := range c.entries {
			e := &c.entries[i]
			e.key = pkgKey{ecosystem: in(e.key.ecosystem), name: in(e.key.name)}
			e.ecosystem = in(e.ecosystem)
			db.index[e.key] = append(db.index[e.key], e)
		}
	}
	for _, bucket := range db.index {
		slices.SortFunc(bucket, func(x, y *entry) int { return cmp.Compare(x.adv.id, y.adv.id) })
	}
	return db
}
