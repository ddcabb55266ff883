// Package scannertest holds fixtures for tests that scan images: a Debian
// image with a vulnerable openssl in the index and blob store, and OSV
// records that match it.
package scannertest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// Index is what PutDebianImage records the image in.
type Index interface {
	PutBlob(ctx context.Context, repo string, b metadata.Blob) (metadata.Blob, error)
	PutManifest(ctx context.Context, m metadata.Manifest, tags []string) error
}

// PutDebianImage stores an image tagged tag in repo: one uncompressed
// layer with a Debian 12 os-release and libssl3 from openssl
// 3.0.11-1~deb12u1, different for each tag. It returns the manifest's
// digest.
func PutDebianImage(t testing.TB, index Index, blobs storage.Driver, repo, tag string) digest.Digest {
	t.Helper()
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, f := range []struct{ name, body string }{
		{"etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"},
		{"var/lib/dpkg/status", "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\n"},
		{"tag", tag},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
		io.WriteString(tw, f.body)
	}
	tw.Close()
	u, err := blobs.Append(t.Context(), storage.Upload{ID: "debian-" + digest.FromString(repo + ":" + tag).Encoded()[:16]}, bytes.NewReader(layer.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := blobs.Commit(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	b := metadata.Blob{Digest: digest.FromBytes(layer.Bytes()), Size: int64(layer.Len()), Location: loc}
	if _, err := index.PutBlob(t.Context(), repo, b); err != nil {
		t.Fatal(err)
	}
	body := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}]}`,
		b.Digest, b.Size)
	m := metadata.Manifest{Repository: repo, Digest: digest.FromBytes(body), Content: body,
		MediaType: "application/vnd.oci.image.manifest.v1+json", References: []metadata.Reference{{Digest: b.Digest}}}
	if err := index.PutManifest(t.Context(), m, []string{tag}); err != nil {
		t.Fatal(err)
	}
	return m.Digest
}

// WriteOSVRecord writes OSV record id, for openssl 3.0.11-1~deb12u1 on
// Debian 12 with CVSS 7.5 (HIGH), as a loose file in dir/Debian: the
// layout vulndb.Import takes and vulndb.Load reads.
func WriteOSVRecord(t testing.TB, dir, id string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "Debian"), 0o755); err != nil {
		t.Fatal(err)
	}
	record := fmt.Sprintf(`{"id":%q,"modified":"2024-06-01T00:00:00Z","details":"openssl bug",
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
	  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"versions":["3.0.11-1~deb12u1"]}]}`, id)
	if err := os.WriteFile(filepath.Join(dir, "Debian", id+".json"), []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
}
