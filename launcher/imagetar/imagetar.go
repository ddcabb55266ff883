// Package imagetar writes a one-layer container image as the archive that
// a container engine's image load takes (`docker load`): an OCI image
// layout whose index names the tags, plus the manifest.json of the Docker
// archive format, so that engines with either image store read it. berth
// uses it to give the engine images nothing could pull: the task sidecar
// made of berth's own executable, and the tests' images.
//
// The archive is streamed: file contents are read twice (once to digest
// the layer, whose size and digest head its entry, once to write it) and
// never held in memory.
package imagetar

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Image is a one-layer image.
type Image struct {
	// Tags name the image in the engine once loaded ("berth/sidecar:1a2b").
	Tags []string
	// Files make up the layer; parent directories are added.
	Files []File
	// Config is the image's run configuration.
	Config Config
	// Architecture is the GOARCH-style platform; empty: this machine's.
	Architecture string
}

// File is one regular file of the layer.
type File struct {
	// Path is where the file is in the image ("/berth").
	Path string
	// Mode is its permission bits (0o755 for a program).
	Mode int64
	// Size is its length in bytes.
	Size int64
	// Open returns its contents; it is called twice and must give the same
	// bytes each time.
	Open func() (io.ReadCloser, error)
}

// Config is the part of an image's configuration berth sets.
type Config struct {
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	User       string            `json:"User,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
}

// epoch is every time stamp in the archive, so that the same files give
// the same image id.
var epoch = time.Unix(0, 0).UTC()

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// prepared is an image with its digests computed.
type prepared struct {
	files                                     []File
	layerDigest, configDigest, manifestDigest string
	layerSize                                 int64
	config, manifest, index, dockerManifest   []byte
}

// ID returns the id an engine gives img once loaded: the digest of its
// configuration, which covers every file's bytes. Tags do not change it.
func (img Image) ID() (string, error) {
	p, err := img.prepare()
	return p.configDigest, err
}

// prepare digests the layer (reading every file once) and builds the
// small documents that describe it.
func (img Image) prepare() (p prepared, err error) {
	p.files, err = img.layerFiles()
	if err != nil {
		return p, err
	}
	layerSum := sha256.New()
	p.layerSize, err = writeLayer(layerSum, p.files)
	if err != nil {
		return p, err
	}
	p.layerDigest = digestOf(layerSum)
	arch := img.Architecture
	if arch == "" {
		arch = runtime.GOARCH
	}
	p.config, err = json.Marshal(map[string]any{
		"architecture": arch,
		"os":           "linux",
		"created":      epoch,
		"config":       img.Config,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{p.layerDigest}},
		"history":      []map[string]any{{"created": epoch, "created_by": "berth"}},
	})
	if err != nil {
		return p, err
	}
	p.configDigest = digestBytes(p.config)
	p.manifest, err = json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: p.configDigest, Size: int64(len(p.config))},
		"layers":        []descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: p.layerDigest, Size: p.layerSize}},
	})
	if err != nil {
		return p, err
	}
	p.manifestDigest = digestBytes(p.manifest)
	manifests := []descriptor{}
	for _, tag := range img.Tags {
		manifests = append(manifests, descriptor{
			MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: p.manifestDigest, Size: int64(len(p.manifest)),
			Annotations: map[string]string{"io.containerd.image.name": tag, "org.opencontainers.image.ref.name": refName(tag)},
		})
	}
	if len(manifests) == 0 {
		manifests = append(manifests, descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: p.manifestDigest, Size: int64(len(p.manifest))})
	}
	p.index, err = json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests,
	})
	if err != nil {
		return p, err
	}
	tags := img.Tags
	if tags == nil {
		tags = []string{}
	}
	p.dockerManifest, err = json.Marshal([]map[string]any{{
		"Config": blobPath(p.configDigest), "RepoTags": tags, "Layers": []string{blobPath(p.layerDigest)},
	}})
	return p, err
}

// Write writes img's archive to w and returns the image's id (see [Image.ID]).
func (img Image) Write(w io.Writer) (string, error) {
	p, err := img.prepare()
	if err != nil {
		return "", err
	}
	tw := tar.NewWriter(w)
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: epoch}); err != nil {
			return "", err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: blobPath(p.layerDigest), Mode: 0o644, Size: p.layerSize, ModTime: epoch}); err != nil {
		return "", err
	}
	// Second pass, checked against the first: a file that changed in
	// between would make an archive whose digests lie.
	again := sha256.New()
	if _, err := writeLayer(io.MultiWriter(tw, again), p.files); err != nil {
		return "", err
	}
	if digestOf(again) != p.layerDigest {
		return "", errors.New("imagetar: a file changed while the image was written")
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{blobPath(p.configDigest), p.config},
		{blobPath(p.manifestDigest), p.manifest},
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", p.index},
		{"manifest.json", p.dockerManifest},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	return p.configDigest, tw.Close()
}

// layerFiles checks img's files and returns them sorted by path, each
// path made relative.
func (img Image) layerFiles() ([]File, error) {
	files := slices.Clone(img.Files)
	seen := map[string]bool{}
	for i, f := range files {
		p := path.Clean("/" + f.Path)
		if p == "/" || p != f.Path {
			return nil, fmt.Errorf("imagetar: file path %q is not a clean absolute path", f.Path)
		}
		if seen[p] {
			return nil, fmt.Errorf("imagetar: %s twice", p)
		}
		if f.Open == nil || f.Size < 0 {
			return nil, fmt.Errorf("imagetar: %s has no contents", p)
		}
		seen[p] = true
		files[i].Path = p[1:]
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// writeLayer writes the layer tar of files (with their parent
// directories) to w and returns its size.
func writeLayer(w io.Writer, files []File) (int64, error) {
	cw := &countingWriter{w: w}
	tw := tar.NewWriter(cw)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := path.Dir(f.Path); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append(parents, d)
		}
		slices.Reverse(parents)
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return 0, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: f.Mode, Size: f.Size, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return 0, err
		}
		r, err := f.Open()
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(tw, io.LimitReader(r, f.Size))
		r.Close()
		if err == nil && n != f.Size {
			err = fmt.Errorf("imagetar: /%s: read %d bytes, want %d", f.Path, n, f.Size)
		}
		if err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

func digestBytes(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(digest string) string { return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:") }

// refName is the tag part of name:tag, which an OCI layout's ref.name holds.
func refName(tag string) string {
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		return tag[i+1:]
	}
	return "latest"
}

// HostFile is the file at hostPath on this machine, placed at imagePath
// with its permission bits. A symbolic link is followed: the image gets a
// regular file.
func HostFile(hostPath, imagePath string) (File, error) {
	fi, err := os.Stat(hostPath)
	if err != nil {
		return File{}, err
	}
	if !fi.Mode().IsRegular() {
		return File{}, fmt.Errorf("imagetar: %s is not a regular file", hostPath)
	}
	return File{
		Path: imagePath, Mode: int64(fi.Mode().Perm()), Size: fi.Size(),
		Open: func() (io.ReadCloser, error) { return os.Open(hostPath) },
	}, nil
}
