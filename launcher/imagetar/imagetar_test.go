package imagetar_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/launcher/imagetar"
)

func memFile(path, content string) imagetar.File {
	return imagetar.File{Path: path, Mode: 0o755, Size: int64(len(content)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(content)), nil }}
}

// readTar returns the archive's regular files by name.
func readTar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			data, _ := io.ReadAll(tr)
			out[h.Name] = data
		}
	}
}

func TestWriteIsALoadableLayout(t *testing.T) {
	img := imagetar.Image{
		Tags:   []string{"berth/test:1"},
		Files:  []imagetar.File{memFile("/bin/prog", "#!program"), memFile("/lib/x/libc.so", "libc")},
		Config: imagetar.Config{Entrypoint: []string{"/bin/prog"}, Labels: map[string]string{"berth.managed": "true"}},
	}
	var buf bytes.Buffer
	id, err := img.Write(&buf)
	if err != nil {
		t.Fatal(err)
	}
	files := readTar(t, buf.Bytes())
	for name, data := range files {
		if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && sha(data) != hex {
			t.Errorf("blob %s has digest %s", name, sha(data))
		}
	}
	var dm []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &dm); err != nil || len(dm) != 1 {
		t.Fatalf("manifest.json: %v %s", err, files["manifest.json"])
	}
	if "sha256:"+strings.TrimPrefix(dm[0].Config, "blobs/sha256/") != id || dm[0].RepoTags[0] != "berth/test:1" {
		t.Errorf("manifest.json = %+v, id %s", dm[0], id)
	}
	var config struct {
		Config imagetar.Config
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(files[dm[0].Config], &config); err != nil {
		t.Fatal(err)
	}
	if config.Config.Entrypoint[0] != "/bin/prog" || config.RootFS.DiffIDs[0] != "sha256:"+strings.TrimPrefix(dm[0].Layers[0], "blobs/sha256/") {
		t.Errorf("config = %+v", config)
	}
	layer := readTar(t, files[dm[0].Layers[0]])
	if string(layer["bin/prog"]) != "#!program" || string(layer["lib/x/libc.so"]) != "libc" {
		t.Errorf("layer files = %v", layer)
	}
	if files["oci-layout"] == nil || !bytes.Contains(files["index.json"], []byte(`"io.containerd.image.name":"berth/test:1"`)) {
		t.Errorf("no OCI layout: %s", files["index.json"])
	}

	var again bytes.Buffer
	if id3, err := img.ID(); err != nil || id3 != id {
		t.Errorf("ID() = %s, %v; Write said %s", id3, err, id)
	}
	if id2, _ := img.Write(&again); id2 != id || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("the same image wrote a different archive")
	}
}

func TestWriteNoticesAChangedFile(t *testing.T) {
	calls := 0
	f := imagetar.File{Path: "/x", Mode: 0o644, Size: 1, Open: func() (io.ReadCloser, error) {
		calls++
		return io.NopCloser(strings.NewReader(string(rune('a' + calls)))), nil
	}}
	if _, err := (imagetar.Image{Files: []imagetar.File{f}}).Write(io.Discard); err == nil {
		t.Fatal("a file that changed between the passes was written")
	}
}

func TestWriteRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "/", "x", "/a/../b", "/a/"} {
		if _, err := (imagetar.Image{Files: []imagetar.File{memFile(p, "")}}).Write(io.Discard); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	dup := []imagetar.File{memFile("/a", ""), memFile("/a", "")}
	if _, err := (imagetar.Image{Files: dup}).Write(io.Discard); err == nil {
		t.Error("a path twice accepted")
	}
}

func TestHostFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "lib.so.1.2")
	if err := os.WriteFile(target, []byte("library"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "lib.so.1")
	if err := os.Symlink("lib.so.1.2", link); err != nil {
		t.Fatal(err)
	}
	f, err := imagetar.HostFile(link, "/lib/lib.so.1")
	if err != nil || f.Size != 7 || f.Mode != 0o644 {
		t.Fatalf("HostFile = %+v, %v", f, err)
	}
	if _, err := imagetar.HostFile(dir, "/d"); err == nil {
		t.Error("a directory accepted")
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
