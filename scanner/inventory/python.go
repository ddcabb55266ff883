package inventory

import (
	"bytes"
	"io"
)

// parsePythonMetadata reads the Name: and Version: headers of an installed
// distribution's *.dist-info/METADATA or *.egg-info/PKG-INFO (core
// metadata, RFC 822 style). The headers end at the first blank line.
// https://packaging.python.org/en/latest/specifications/core-metadata/
func parsePythonMetadata(r io.Reader, f *File) error {
	var name, version string
	err := eachLine(r, func(line []byte) bool {
		if len(bytes.TrimSpace(line)) == 0 {
			return false
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return true
		}
		switch {
		case name == "" && bytes.EqualFold(k, []byte("Name")):
			name = string(bytes.TrimSpace(v))
		case version == "" && bytes.EqualFold(k, []byte("Version")):
			version = string(bytes.TrimSpace(v))
		}
		return true
	})
	if word(name) && word(version) {
		f.Packages = append(f.Packages, Package{Ecosystem: PyPI, Name: name, Version: version})
	}
	return err
}
