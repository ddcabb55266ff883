package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// refNameAnnotation names an entry of an OCI layout's index.json; skopeo's
// oci:DIR:REF transport finds entries by it.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// testLayout is an OCI image layout on disk holding one random artifact,
// an image or an index, under the reference name Ref.
type testLayout struct {
	Dir  string
	Ref  string
	Root v1.Descriptor // the artifact's manifest or index
}

// newImageLayout writes a random OCI image whose layers each hold one file
// of random bytes of the given sizes.
func newImageLayout(t *testing.T, layerSizes ...int64) *testLayout {
	t.Helper()
	img := randomImage(t, v1.Platform{OS: "linux", Architecture: "amd64"}, layerSizes...)
	return writeLayout(t, "image", img)
}

// newIndexLayout writes a random OCI index of two single-platform images.
//
// The index is serialised from image-spec's own Go types rather than by
// go-containerregistry: skopeo re-serialises an index it copies with those
// types and, with --preserve-digests, refuses one whose bytes then differ
// (go-containerregistry orders a descriptor's fields differently).
func newIndexLayout(t *testing.T) *testLayout {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "index-layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
	}
	for _, platform := range []v1.Platform{
		{OS: "linux", Architecture: "amd64"},
		{OS: "linux", Architecture: "arm64", Variant: "v8"},
	} {
		img := randomImage(t, platform, 256<<10, 3<<20)
		if err := p.WriteImage(img); err != nil {
			t.Fatal(err)
		}
		d, err := partial.Descriptor(img)
		if err != nil {
			t.Fatal(err)
		}
		index.Manifests = append(index.Manifests, ocispec.Descriptor{
			MediaType: string(d.MediaType),
			Digest:    digest.Digest(d.Digest.String()),
			Size:      d.Size,
			Platform: &ocispec.Platform{
				OS:           platform.OS,
				Architecture: platform.Architecture,
				Variant:      platform.Variant,
			},
		})
	}
	raw, err := json.Marshal(index)
	if err != nil {
		t.Fatal(err)
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteBlob(h, io.NopCloser(bytes.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	root := v1.Descriptor{
		MediaType:   types.OCIImageIndex,
		Digest:      h,
		Size:        size,
		Annotations: map[string]string{refNameAnnotation: "index"},
	}
	if err := p.AppendDescriptor(root); err != nil {
		t.Fatal(err)
	}
	return &testLayout{Dir: dir, Ref: "index", Root: root}
}

// randomImage builds an OCI image for platform whose layers are gzip'd
// tarballs of one random file each.
func randomImage(t *testing.T, platform v1.Platform, layerSizes ...int64) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, size := range layerSizes {
		layer, err := random.Layer(size, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = platform.OS, platform.Architecture, platform.Variant
	cfg.Config.Cmd = []string{"/random"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	return img
}

// writeLayout writes img as the only entry of a new OCI layout, named ref.
func writeLayout(t *testing.T, ref string, img v1.Image) *testLayout {
	t.Helper()
	dir := filepath.Join(t.TempDir(), ref+"-layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: ref})); err != nil {
		t.Fatal(err)
	}
	root, err := layoutEntry(dir, ref)
	if err != nil {
		t.Fatal(err)
	}
	return &testLayout{Dir: dir, Ref: ref, Root: root}
}

// layoutEntry finds the index.json entry of the layout in dir named ref,
// or its only entry if ref is empty.
func layoutEntry(dir, ref string) (v1.Descriptor, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return v1.Descriptor{}, err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return v1.Descriptor{}, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	var found []v1.Descriptor
	for _, d := range m.Manifests {
		if ref == "" || d.Annotations[refNameAnnotation] == ref {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return v1.Descriptor{}, fmt.Errorf("layout %s has %d entries named %q, want 1", dir, len(found), ref)
	}
	return found[0], nil
}

// blob is one piece of content of an artifact, in the order a pull meets it.
type blob struct {
	Digest   v1.Hash
	Manifest bool // a manifest or index, rather than a config or layer
}

// contents lists every manifest and blob of the artifact rooted at root in
// the layout, root first, with each blob's bytes checked against its
// descriptor's digest and size.
func (l *testLayout) contents(t *testing.T) []blob {
	t.Helper()
	var out []blob
	var walk func(d v1.Descriptor)
	walk = func(d v1.Descriptor) {
		b := l.bytes(t, d)
		out = append(out, blob{Digest: d.Digest, Manifest: d.MediaType.IsIndex() || d.MediaType.IsImage()})
		switch {
		case d.MediaType.IsIndex():
			m, err := v1.ParseIndexManifest(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range m.Manifests {
				walk(c)
			}
		case d.MediaType.IsImage():
			m, err := v1.ParseManifest(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			walk(m.Config)
			for _, c := range m.Layers {
				walk(c)
			}
		}
	}
	walk(l.Root)
	return out
}

// bytes reads a blob of the layout and checks it against d.
func (l *testLayout) bytes(t *testing.T, d v1.Descriptor) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.Dir, "blobs", d.Digest.Algorithm, d.Digest.Hex))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != d.Size {
		t.Fatalf("%s: %d bytes, descriptor says %d", d.Digest, len(b), d.Size)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(b)); h != d.Digest {
		t.Fatalf("blob %s has digest %s", d.Digest, h)
	}
	return b
}

// compareLayout checks that the layout in dir holds, under ref, the same
// root digest as want and every manifest and blob of it byte for byte.
func compareLayout(t *testing.T, want *testLayout, dir, ref string) {
	t.Helper()
	root, err := layoutEntry(dir, ref)
	if err != nil {
		t.Fatal(err)
	}
	if root.Digest != want.Root.Digest || root.MediaType != want.Root.MediaType || root.Size != want.Root.Size {
		t.Fatalf("root pulled back is %s %s (%d bytes), pushed %s %s (%d bytes)",
			root.MediaType, root.Digest, root.Size, want.Root.MediaType, want.Root.Digest, want.Root.Size)
	}
	compareContents(t, want, func(b blob) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, "blobs", b.Digest.Algorithm, b.Digest.Hex))
	})
}

// compareContents fetches every manifest and blob of want with fetch and
// checks that it is byte for byte what was pushed.
func compareContents(t *testing.T, want *testLayout, fetch func(blob) ([]byte, error)) {
	t.Helper()
	for _, b := range want.contents(t) {
		got, err := fetch(b)
		if err != nil {
			t.Errorf("fetching %s: %v", b.Digest, err)
			continue
		}
		wantBytes, err := os.ReadFile(filepath.Join(want.Dir, "blobs", b.Digest.Algorithm, b.Digest.Hex))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wantBytes) {
			h, _, _ := v1.SHA256(bytes.NewReader(got))
			t.Errorf("%s came back as %d bytes with digest %s, pushed %d bytes", b.Digest, len(got), h, len(wantBytes))
		}
	}
}
