package s3_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/berth-dev/berth/internal/miniotest"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/s3"
	"github.com/berth-dev/berth/storage/storagetest"
)

// A blob whose service dies while it is read fails the read with
// ErrUnavailable; every byte read before that is the blob's.
func TestOpenFailsWhenServiceDies(t *testing.T) {
	srv := miniotest.Start(t)
	d, _ := newDriver(t, srv, func(c *s3.Config) { c.MaxRetries = 1 })
	const size = 48 << 20
	blob := make([]byte, size)
	rand.NewChaCha8([32]byte{9}).Read(blob)
	u, err := d.Append(t.Context(), storage.Upload{ID: storagetest.NewUploadID(t)}, bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := d.Commit(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	f := storagetest.MustOpen(t, d, loc)
	defer f.Close()
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(f, got); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	rest, err := io.ReadAll(f)
	got = append(got, rest...)
	if err == nil || len(got) >= size {
		t.Fatalf("after MinIO died the blob read on to %d of %d bytes, error %v; want an error before its end", len(got), size, err)
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("read error %v; want ErrUnavailable", err)
	}
	if !bytes.Equal(got, blob[:len(got)]) {
		t.Fatalf("the %d bytes read before the error are not the blob's", len(got))
	}
}

// A read after a Seek GETs the version of the object that Open found: an
// object replaced in between fails the read instead of mixing two
// versions' bytes.
func TestOpenReadsOneVersion(t *testing.T) {
	srv := miniotest.Shared(t)
	d, bucket := newDriver(t, srv, nil)
	loc := storagetest.MustCommit(t, d, "the first version of the blob")
	f := storagetest.MustOpen(t, d, loc)
	defer f.Close()
	if _, err := srv.Client(t).PutObject(t.Context(), bucket, loc, strings.NewReader("another one, same size!!!!!!!"), 29,
		minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(f); err == nil {
		t.Fatalf("read %q from a replaced object; want an error", got)
	}
}
