package inventory

import "io"

var apkFields = []string{"P", "V", "o"}

// parseApkInstalled reads lib/apk/db/installed: P: name, V: version and
// o: origin, the source package that vulnerability data names.
func parseApkInstalled(r io.Reader, f *File) error {
	return records(r, apkFields, func(rec map[string]string) {
		name, version := rec["P"], rec["V"]
		if !word(name) || !word(version) {
			return
		}
		origin := rec["o"]
		if !word(origin) {
			origin = name
		}
		f.Packages = append(f.Packages, Package{Ecosystem: Apk, Name: name, Version: version, SourceName: origin, SourceVersion: version})
	})
}
