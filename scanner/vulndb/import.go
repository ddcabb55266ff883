package vulndb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoRecords is returned by Import when the source holds no valid,
// non-withdrawn record: almost certainly the wrong file.
var ErrNoRecords = errors.New("vulndb: import: no valid records")

// importFile is one file to copy: src to <dir>/<ecosystem>/<name>.
type importFile struct {
	ecosystem string
	src       string
	name      string
}

// Import copies downloaded OSV data into dir, the directory Load reads, and
// returns how many records it holds. src is one of:
//
//   - a directory in the osv layout, <src>/<Ecosystem>/all.zip and/or
//     <src>/<Ecosystem>/*.json: every ecosystem in it is imported;
//   - a file named all.zip: imported as the ecosystem its parent directory
//     names, so ".../Debian/all.zip" becomes <dir>/Debian/all.zip;
//   - any other file named <Ecosystem>.zip, e.g. "Alpine.zip" (as saved by
//     `curl -o Alpine.zip .../Alpine/all.zip`): imported as <dir>/Alpine/all.zip.
//
// The files are staged in a hidden directory inside dir (which Load skips)
// and loaded from there before anything visible changes: a zip that does not
// open fails the import, and so does a source with no valid record
// (ErrNoRecords). Each file is then renamed into place, so a concurrent Load
// sees every file either whole and old or whole and new. Files already in
// dir that src does not name are kept.
func Import(ctx context.Context, src, dir string) (n int, err error) {
	files, err := importPlan(src)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("vulndb: import: %w", err)
	}
	staging, err := os.MkdirTemp(dir, ".import-")
	if err != nil {
		return 0, fmt.Errorf("vulndb: import: %w", err)
	}
	defer os.RemoveAll(staging)

	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := copyFile(f.src, filepath.Join(staging, f.ecosystem, f.name)); err != nil {
			return 0, fmt.Errorf("vulndb: import: %w", err)
		}
	}
	db, err := Load(ctx, staging)
	if err != nil {
		return 0, err
	}
	if db.Len() == 0 {
		return 0, fmt.Errorf("%w in %s (%d malformed)", ErrNoRecords, src, db.Malformed())
	}

	for _, f := range files {
		ecoDir := filepath.Join(dir, f.ecosystem)
		if err := os.MkdirAll(ecoDir, 0o755); err != nil {
			return 0, fmt.Errorf("vulndb: import: %w", err)
		}
		if err := os.Rename(filepath.Join(staging, f.ecosystem, f.name), filepath.Join(ecoDir, f.name)); err != nil {
			return 0, fmt.Errorf("vulndb: import: %w", err)
		}
		if err := syncDir(ecoDir); err != nil {
			return 0, fmt.Errorf("vulndb: import: %w", err)
		}
	}
	return db.Len(), nil
}

// importPlan lists the files src stands for, following Import's rules.
func importPlan(src string) ([]importFile, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("vulndb: import: %w", err)
	}
	if !fi.IsDir() {
		abs, err := filepath.Abs(src)
		if err != nil {
			return nil, fmt.Errorf("vulndb: import: %w", err)
		}
		base := filepath.Base(abs)
		eco, isZip := strings.CutSuffix(base, ".zip")
		if base == "all.zip" {
			eco = filepath.Base(filepath.Dir(abs))
		}
		if !isZip || !validEcosystemDir(eco) {
			return nil, fmt.Errorf("vulndb: import %s: want a directory, <Ecosystem>/all.zip or <Ecosystem>.zip", src)
		}
		return []importFile{{ecosystem: eco, src: src, name: "all.zip"}}, nil
	}

	des, err := os.ReadDir(src)
	if err != nil {
		return nil, fmt.Errorf("vulndb: import: %w", err)
	}
	var files []importFile
	for _, de := range des {
		eco := de.Name()
		ecoSrc := filepath.Join(src, eco)
		if fi, err := os.Stat(ecoSrc); err != nil || !fi.IsDir() || !validEcosystemDir(eco) {
			continue
		}
		if fi, err := os.Stat(filepath.Join(ecoSrc, "all.zip")); err == nil && fi.Mode().IsRegular() {
			files = append(files, importFile{ecosystem: eco, src: filepath.Join(ecoSrc, "all.zip"), name: "all.zip"})
		}
		loose, err := filepath.Glob(filepath.Join(ecoSrc, "*.json"))
		if err != nil {
			return nil, fmt.Errorf("vulndb: import: %w", err)
		}
		for _, path := range loose {
			files = append(files, importFile{ecosystem: eco, src: path, name: filepath.Base(path)})
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %s has no <Ecosystem>/all.zip or <Ecosystem>/*.json", ErrNoRecords, src)
	}
	return files, nil
}

// validEcosystemDir rejects names that Load would skip or that would escape
// dir.
func validEcosystemDir(name string) bool {
	return name != "" && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, `/\`)
}

// copyFile copies src to dst, creating dst's directory, and syncs it so the
// rename that follows publishes complete data.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	return out.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
