package s3_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/miniotest"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/s3"
	"github.com/berth-dev/berth/storage/storagetest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

// newDriver returns a driver on a fresh bucket of the shared MinIO, with
// the smallest part size S3 allows so the suite's chunks cross parts.
func newDriver(t testing.TB, srv *miniotest.Server, edit func(*s3.Config)) (*s3.Driver, string) {
	t.Helper()
	bucket := srv.NewBucket(t)
	cfg := s3.Config{
		Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		PartSize: 5 << 20, Prefix: "berth/",
	}
	if edit != nil {
		edit(&cfg)
	}
	d, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, bucket
}

func TestDriverSuite(t *testing.T) {
	srv := miniotest.Shared(t)
	storagetest.Run(t, func(t *testing.T) storage.Driver {
		d, _ := newDriver(t, srv, nil)
		return d
	})
}

// Chunks that never line up with the part size, and a single big one,
// leave exactly one copy of the blob in the bucket once committed: no
// part, tail or staging object is left behind and nothing was copied.
func TestCommitLeavesOneCopy(t *testing.T) {
	srv := miniotest.Shared(t)
	for _, tc := range []struct {
		name   string
		chunks []int64
	}{
		{"one chunk of 23 MiB", []int64{23 << 20}},
		{"uneven chunks", []int64{1, 7 << 20, 3, 5<<20 - 1, 2 << 20, 1}},
		{"less than a part", []int64{1000, 24}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, bucket := newDriver(t, srv, nil)
			u := storage.Upload{ID: storagetest.NewUploadID(t)}
			src := rand.NewChaCha8([32]byte{2})
			var total int64
			for _, n := range tc.chunks {
				var err error
				if u, err = d.Append(t.Context(), u, io.LimitReader(src, n)); err != nil {
					t.Fatalf("Append: %v", err)
				}
				total += n
			}
			if _, err := d.Commit(t.Context(), u); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if got := srv.StoredBytes(t, bucket); got != total {
				t.Errorf("bucket holds %d bytes after commit; want the blob once, %d", got, total)
			}
		})
	}
}

// With redirect on, the driver hands out presigned URLs that a plain HTTP
// client can read the blob from.
func TestRedirectURL(t *testing.T) {
	srv := miniotest.Shared(t)
	d, _ := newDriver(t, srv, func(c *s3.Config) { c.Redirect = true; c.RedirectExpiry = time.Minute })
	loc := storagetest.MustCommit(t, d, "presigned bytes")
	target, err := d.RedirectURL(t.Context(), loc)
	if err != nil || target == "" {
		t.Fatalf("RedirectURL = %q, %v", target, err)
	}
	resp, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "presigned bytes" {
		t.Errorf("GET presigned URL: %s %q", resp.Status, body)
	}

	off, _ := newDriver(t, srv, nil)
	if target, err := off.RedirectURL(t.Context(), loc); target != "" || err != nil {
		t.Errorf("RedirectURL with redirect off = %q, %v; want none", target, err)
	}
}

// Start-up errors name the endpoint and bucket and what failed.
func TestNewErrors(t *testing.T) {
	srv := miniotest.Shared(t)
	base := s3.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}
	tests := []struct {
		name string
		edit func(*s3.Config)
		want []string
	}{
		{"missing bucket", func(c *s3.Config) { c.Bucket = "no-such-bucket" }, []string{srv.Endpoint, "no-such-bucket", "does not exist"}},
		{"wrong credentials", func(c *s3.Config) { c.Bucket = "xyz"; c.SecretKey = "wrong" }, []string{srv.Endpoint, `"xyz"`, "SignatureDoesNotMatch"}},
		{"unreachable endpoint", func(c *s3.Config) { c.Bucket = "xyz"; c.Endpoint = "127.0.0.1:1" }, []string{"127.0.0.1:1", "connection refused"}},
		{"part size too small", func(c *s3.Config) { c.Bucket = "xyz"; c.PartSize = 1 << 20 }, []string{"5 MiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			_, err := s3.New(ctx, cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}

	t.Run("createBucket", func(t *testing.T) {
		cfg := base
		cfg.Bucket = "created-" + strings.ToLower(storagetest.NewUploadID(t)[:12])
		cfg.CreateBucket = true
		if _, err := s3.New(t.Context(), cfg); err != nil {
			t.Fatalf("New with createBucket: %v", err)
		}
		if ok, err := srv.Client(t).BucketExists(t.Context(), cfg.Bucket); !ok || err != nil {
			t.Errorf("bucket %s not created: %v", cfg.Bucket, err)
		}
	})
}

// An Append that fails after reading a whole part (its context cancelled,
// as when the client hangs up; or S3 refusing to start the multipart
// upload, as in an outage) gives its part buffer back to the pool exactly
// once. A buffer given back twice is later handed to two Appends at once,
// or twice to one, which then write each other's bytes into their parts:
// blobs would be committed under digests their bytes do not have. So
// after such failures, concurrent Appends of several parts each must read
// back byte for byte (and, under -race, without a data race).
func TestFailedAppendsLeaveNoSharedBuffer(t *testing.T) {
	srv := miniotest.Shared(t)
	const partSize = 5 << 20
	d, bucket := newDriver(t, srv, nil)
	src := rand.NewChaCha8([32]byte{7})
	failures := 8

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for range failures {
		_, err := d.Append(cancelled, storage.Upload{ID: storagetest.NewUploadID(t)}, io.LimitReader(src, partSize+1))
		if err == nil {
			t.Fatal("Append with a cancelled context succeeded")
		}
	}
	// Without its bucket, NewMultipartUpload fails once a part is read.
	client := srv.Client(t)
	if err := client.RemoveBucket(t.Context(), bucket); err != nil {
		t.Fatal(err)
	}
	for range failures {
		_, err := d.Append(t.Context(), storage.Upload{ID: storagetest.NewUploadID(t)}, io.LimitReader(src, partSize+1))
		if err == nil {
			t.Fatal("Append to a missing bucket succeeded")
		}
	}
	if err := client.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	const uploads, size = 6, 3*partSize + 1234
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			written := digest.Canonical.Digester()
			body := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{byte(i + 10)}), size), written.Hash())
			u, err := d.Append(t.Context(), storage.Upload{ID: storagetest.NewUploadID(t)}, body)
			if err != nil {
				t.Errorf("upload %d: Append: %v", i, err)
				return
			}
			loc, err := d.Commit(t.Context(), u)
			if err != nil {
				t.Errorf("upload %d: Commit: %v", i, err)
				return
			}
			f, err := d.Open(t.Context(), loc)
			if err != nil {
				t.Errorf("upload %d: Open: %v", i, err)
				return
			}
			defer f.Close()
			stored := digest.Canonical.Digester()
			n, err := io.Copy(stored.Hash(), f)
			if err != nil || n != size || stored.Digest() != written.Digest() {
				t.Errorf("upload %d: read back %d bytes with digest %s, %v; wrote %d bytes with %s",
					i, n, stored.Digest(), err, size, written.Digest())
			}
		})
	}
	wg.Wait()
}

// BenchmarkAppend streams a 64 MiB blob into MinIO in one Append and
// commits it. Part checksums cost a SHA-256 pass over every byte; over
// plain HTTP that pass replaces the one minio-go's streaming signature
// made as it sent them.
func BenchmarkAppend(b *testing.B) {
	srv := miniotest.Shared(b)
	d, _ := newDriver(b, srv, nil)
	const size = 64 << 20
	b.SetBytes(size)
	for b.Loop() {
		u, err := d.Append(b.Context(), storage.Upload{ID: storagetest.NewUploadID(b)}, io.LimitReader(rand.NewChaCha8([32]byte{3}), size))
		if err != nil {
			b.Fatal(err)
		}
		loc, err := d.Commit(b.Context(), u)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Delete(b.Context(), loc); err != nil {
			b.Fatal(err)
		}
	}
}

// List keeps to what the driver writes under its prefix: other objects in
// the bucket are never listed, so a walk never deletes them.
func TestListSkipsOtherObjects(t *testing.T) {
	srv := miniotest.Shared(t)
	d, bucket := newDriver(t, srv, nil)
	loc := storagetest.MustCommit(t, d, "a blob")
	client := srv.Client(t)
	for _, key := range []string{
		"elsewhere/blobs/abc",      // outside the prefix
		"berth/other/thing",        // not the driver's layout
		"berth/uploads/abc/notes",  // not a tail segment
		"berth/uploads/abc/tail-x", // not an offset
		"berth/blobs/a.b",          // not an upload id
	} {
		if _, err := client.PutObject(t.Context(), bucket, key, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	if err := d.List(t.Context(), func(o storage.Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != loc {
		t.Errorf("List = %q; want only the blob, %s", keys, loc)
	}
}
