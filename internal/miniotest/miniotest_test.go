package miniotest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/berth-dev/berth/internal/miniotest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

func TestStartStopRestart(t *testing.T) {
	begin := time.Now()
	s := miniotest.Start(t)
	t.Logf("minio on %s ready after %v", s.Endpoint, time.Since(begin).Round(time.Millisecond))

	bucket := s.NewBucket(t)
	c := s.Client(t)
	data := []byte("layer bytes that must survive a restart")
	put(t, c, bucket, "blobs/sha256/ab/abcd", data)

	if got := get(t, c, bucket, "blobs/sha256/ab/abcd"); !bytes.Equal(got, data) {
		t.Fatalf("got %q, want %q", got, data)
	}
	if got := s.StoredBytes(t, bucket); got != int64(len(data)) {
		t.Fatalf("StoredBytes = %d, want %d", got, len(data))
	}

	s.Stop()
	s.Stop() // a second Stop does nothing
	if resp, err := http.Get("http://" + s.Endpoint + "/minio/health/live"); err == nil {
		resp.Body.Close()
		t.Fatalf("a stopped server answered: %s", resp.Status)
	}

	endpoint := s.Endpoint
	begin = time.Now()
	s.Restart(t)
	t.Logf("restart ready after %v", time.Since(begin).Round(time.Millisecond))
	if s.Endpoint != endpoint {
		t.Fatalf("Endpoint after Restart = %s, want %s", s.Endpoint, endpoint)
	}
	// The old client still works: same address and credentials.
	if got := get(t, c, bucket, "blobs/sha256/ab/abcd"); !bytes.Equal(got, data) {
		t.Fatalf("after restart got %q, want %q", got, data)
	}
	if got := s.StoredBytes(t, bucket); got != int64(len(data)) {
		t.Fatalf("StoredBytes after restart = %d, want %d", got, len(data))
	}

	// A crash keeps what was written before it.
	put(t, c, bucket, "after-restart", data)
	s.Kill()
	s.Restart(t)
	if got := s.StoredBytes(t, bucket); got != 2*int64(len(data)) {
		t.Fatalf("StoredBytes after kill and restart = %d, want %d", got, 2*len(data))
	}
}

func TestStartGivesEachTestItsOwnServer(t *testing.T) {
	a, b := miniotest.Start(t), miniotest.Start(t)
	if a.Endpoint == b.Endpoint {
		t.Fatalf("two servers on one address %s", a.Endpoint)
	}
	if a.AccessKey == b.AccessKey || a.SecretKey == b.SecretKey {
		t.Fatal("two servers share credentials")
	}
	// b does not accept a's credentials.
	bucket := b.NewBucket(t)
	wrong, err := minio.New(b.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(a.AccessKey, a.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := wrong.BucketExists(ctx, bucket); err == nil {
		t.Fatal("a server accepted another server's credentials")
	}
}

func TestShared(t *testing.T) {
	s := miniotest.Shared(t)
	if again := miniotest.Shared(t); again != s {
		t.Fatal("Shared returned two servers")
	}
	b1, b2 := s.NewBucket(t), s.NewBucket(t)
	if b1 == b2 {
		t.Fatalf("NewBucket returned %s twice", b1)
	}
	c := s.Client(t)
	put(t, c, b1, "x", []byte("12345"))
	if got := s.StoredBytes(t, b1); got != 5 {
		t.Fatalf("StoredBytes(%s) = %d, want 5", b1, got)
	}
	if got := s.StoredBytes(t, b2); got != 0 {
		t.Fatalf("StoredBytes(%s) = %d, want 0", b2, got)
	}
}

func TestNewBucketNames(t *testing.T) {
	s := miniotest.Shared(t)
	for _, name := range []string{
		"UPPER_case/and spaces",
		"a-very-long-subtest-name-that-goes-on-and-on-past-the-sixty-three-byte-limit-of-s3",
		"---",
	} {
		t.Run(name, func(t *testing.T) {
			s.NewBucket(t) // fails the test if the name is not valid
		})
	}
}

func put(t *testing.T, c *minio.Client, bucket, key string, data []byte) {
	t.Helper()
	if _, err := c.PutObject(t.Context(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
}

func get(t *testing.T, c *minio.Client, bucket, key string) []byte {
	t.Helper()
	obj, err := c.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading %s/%s: %v", bucket, key, err)
	}
	return data
}
