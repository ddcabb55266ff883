package inventory

import (
	"bytes"
	"io"
	"strings"
)

// parseOSRelease reads an os-release file: KEY=value lines, the value
// optionally in double quotes (with backslash escapes) or single quotes.
// https://www.freedesktop.org/software/systemd/man/latest/os-release.html
func parseOSRelease(r io.Reader, f *File) error {
	var d Distro
	fields := map[string]*string{
		"ID":               &d.ID,
		"VERSION_ID":       &d.VersionID,
		"VERSION_CODENAME": &d.VersionCodename,
		"PRETTY_NAME":      &d.PrettyName,
	}
	err := eachLine(r, func(line []byte) bool {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte("="))
		if !ok {
			return true
		}
		if dst := fields[string(k)]; dst != nil {
			*dst = strings.ToValidUTF8(unquote(string(v)), "\uFFFD")
		}
		return true
	})
	if d.ID != "" {
		f.Distro = &d
	}
	return err
}

// unquote returns the shell-style value of an os-release assignment,
// leniently: a stray quote is dropped, not a reason to lose the value.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var b strings.Builder
		inner := v[1 : len(v)-1]
		for i := 0; i < len(inner); i++ {
			if inner[i] == '\\' && i+1 < len(inner) && strings.IndexByte("\"\\$`", inner[i+1]) >= 0 {
				i++
			}
			b.WriteByte(inner[i])
		}
		return b.String()
	}
	return strings.Trim(v, `"'`)
}
