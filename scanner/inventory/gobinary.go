package inventory

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"strings"
)

var elfMagic = []byte{0x7f, 'E', 'L', 'F'}

// executable reads the build info of the executable regular file at p if
// it is an ELF file. Only a stream or spool error is returned.
func (lr *layerReader) executable(p string, size int64, body io.Reader) error {
	if size < int64(len(elfMagic)) {
		return nil
	}
	magic := make([]byte, len(elfMagic))
	if _, err := io.ReadFull(body, magic); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if !bytes.Equal(magic, elfMagic) {
		return nil
	}
	// Any ELF executable replaces a Go binary a lower layer had at p.
	if size > maxBinary {
		lr.skip(p, "%d-byte executable, over the %d MiB cap", size, maxBinary>>20)
		lr.replace(p)
		return nil
	}
	spool, n, err := lr.spoolFile(io.MultiReader(bytes.NewReader(magic), io.LimitReader(body, maxBinary)))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	info, err := readBuildInfo(io.NewSectionReader(spool, 0, n))
	if err != nil {
		// Not a Go binary: C programs, shared libraries.
		lr.replace(p)
		return nil
	}
	lr.add(&File{Path: p, Packages: goPackages(info)})
	return nil
}

// spoolFile copies r into the layer's spool file, replacing what an earlier
// executable or rpm database left there, and returns the file and the
// bytes written. debug/buildinfo needs random access and go-rpmdb a file
// name; the spool keeps the file out of memory.
func (lr *layerReader) spoolFile(r io.Reader) (*os.File, int64, error) {
	if lr.spool == nil {
		f, err := os.CreateTemp("", "berth-inventory-*")
		if err != nil {
			return nil, 0, err
		}
		lr.spool = f
	}
	if err := lr.spool.Truncate(0); err != nil {
		return nil, 0, err
	}
	if _, err := lr.spool.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(lr.spool, r)
	return lr.spool, n, err
}

// readBuildInfo is buildinfo.Read made safe for hostile input. The debug/*
// packages are not hardened against crafted files (Go's security policy
// leaves them out), so a panic in them costs one executable, not the scan.
func readBuildInfo(r io.ReaderAt) (info *buildinfo.BuildInfo, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("reading build info: panic: %v", v)
		}
	}()
	return buildinfo.Read(r)
}

// goPackages lists what a Go binary was built from: its module
// dependencies (as replaced), the standard library as "stdlib", and the
// main module when it carries a real version.
func goPackages(info *buildinfo.BuildInfo) []Package {
	var pkgs []Package
	if m := info.Main; m.Path != "" && m.Version != "" && m.Version != "(devel)" {
		pkgs = append(pkgs, Package{Ecosystem: Go, Name: m.Path, Version: m.Version})
	}
	for _, dep := range info.Deps {
		if dep.Replace != nil {
			dep = dep.Replace
		}
		// A replacement by a local directory has no version to match.
		if dep.Path == "" || dep.Version == "" {
			continue
		}
		pkgs = append(pkgs, Package{Ecosystem: Go, Name: dep.Path, Version: dep.Version})
	}
	// "go1.22.3", possibly followed by experiment flags: "go1.22.3 X:foo".
	version, _, _ := strings.Cut(info.GoVersion, " ")
	if v, ok := strings.CutPrefix(version, "go"); ok && v != "" {
		pkgs = append(pkgs, Package{Ecosystem: Go, Name: "stdlib", Version: v})
	}
	return pkgs
}
