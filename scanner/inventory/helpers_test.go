package inventory

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"testing"
)

// TestMain lets this test binary be the rpm helper that ReadLayer starts.
func TestMain(m *testing.M) {
	RunHelper()
	os.Exit(m.Run())
}

// entry is one tar entry of a test layer.
type entry struct {
	name   string
	typ    byte
	mode   int64
	body   []byte
	target string // of a link
}

func file(name, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: 0o644, body: []byte(body)}
}

func exe(name string, body []byte) entry {
	return entry{name: name, typ: tar.TypeReg, mode: 0o755, body: body}
}

func dir(name string) entry {
	return entry{name: name + "/", typ: tar.TypeDir, mode: 0o755}
}

func symlink(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, mode: 0o777, target: target}
}

// whiteout deletes p from the layers below: "b/gone" gives "b/.wh.gone".
func whiteout(p string) entry {
	return file(path.Join(path.Dir(p), ".wh."+path.Base(p)), "")
}

// opaque hides what the layers below have under dir.
func opaque(dir string) entry {
	return file(path.Join(dir, ".wh..wh..opq"), "")
}

// layerTar writes entries as a tar stream, gzip-compressed if gz.
func layerTar(t testing.TB, gz bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.target, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// readLayer reads entries as the layer id.
func readLayer(t testing.TB, id string, entries ...entry) *Layer {
	t.Helper()
	l, err := ReadLayer(t.Context(), id, bytes.NewReader(layerTar(t, false, entries...)))
	if err != nil {
		t.Fatalf("ReadLayer(%s): %v", id, err)
	}
	return l
}

// squash reads each list of entries as a layer, the first with id L1, and
// squashes them.
func squash(t testing.TB, layers ...[]entry) Inventory {
	t.Helper()
	var ls []*Layer
	for i, entries := range layers {
		ls = append(ls, readLayer(t, fmt.Sprintf("L%d", i+1), entries...))
	}
	return Squash(ls)
}

// show prints packages compactly for comparison:
// "dpkg libssl3 3.0.11-1 (openssl 3.0.11-1) var/lib/dpkg/status @L1".
func show(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		s := p.Ecosystem + " " + p.Name + " " + p.Version
		if p.SourceName != "" || p.SourceVersion != "" {
			s += " (" + p.SourceName + " " + p.SourceVersion + ")"
		}
		out = append(out, s+" "+p.Path+" @"+p.Layer)
	}
	return out
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}
