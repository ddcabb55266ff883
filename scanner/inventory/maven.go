package inventory

import (
	"bytes"
	"io"
	"path"
)

// isMavenDir reports whether dir is .../META-INF/maven/<group>/<artifact>,
// where Maven puts pom.properties.
func isMavenDir(dir string) bool {
	maven := path.Dir(path.Dir(dir))
	return path.Base(maven) == "maven" && path.Base(path.Dir(maven)) == "META-INF"
}

// parsePomProperties reads the groupId, artifactId and version of a
// META-INF/maven/<group>/<artifact>/pom.properties (Java properties:
// key=value or key: value, # and ! comments). The package is named
// "group:artifact", as OSV's Maven ecosystem does.
func parsePomProperties(r io.Reader, f *File) error {
	props := map[string]string{"groupId": "", "artifactId": "", "version": ""}
	err := eachLine(r, func(line []byte) bool {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' || line[0] == '!' {
			return true
		}
		i := bytes.IndexAny(line, "=:")
		if i < 0 {
			return true
		}
		key := string(bytes.TrimSpace(line[:i]))
		if v, ok := props[key]; ok && v == "" {
			props[key] = string(bytes.TrimSpace(line[i+1:]))
		}
		return true
	})
	group, artifact, version := props["groupId"], props["artifactId"], props["version"]
	if word(group) && word(artifact) && word(version) {
		f.Packages = append(f.Packages, Package{Ecosystem: Maven, Name: group + ":" + artifact, Version: version})
	}
	return err
}
