package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/miniotest"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/s3"
)

// s3LayerSize is the layer the S3 tests pull: as large as one of the
// bench's layers, and much larger than what the sockets between MinIO,
// berth and the client buffer, so a GET is mostly streaming.
const s3LayerSize = 64 << 20

// s3Layer is a registry streaming its blobs from a MinIO server (redirect
// off), holding one layer.
type s3Layer struct {
	berth  *client
	path   string // the layer's GET path on berth
	layer  []byte
	bucket string
	key    string // the object berth keeps the layer in
}

// newS3Layer starts berth on a fresh bucket of srv, in this process, and
// pushes a layer of s3LayerSize random bytes.
func newS3Layer(tb testing.TB, srv *miniotest.Server) *s3Layer {
	tb.Helper()
	ctx := context.Background()
	bucket := srv.NewBucket(tb)
	blobs, err := s3.New(ctx, s3.Config{
		Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
		MaxRetries: 1,
	})
	if err != nil {
		tb.Fatal(err)
	}
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "berth.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	reg := registry.New(store, blobs, log, registry.Config{CreateOnPush: true})
	tb.Cleanup(func() {
		if err := reg.Close(ctx); err != nil {
			tb.Error(err)
		}
	})
	hs := httptest.NewServer(reg)
	tb.Cleanup(hs.Close)
	base, err := url.Parse(hs.URL)
	if err != nil {
		tb.Fatal(err)
	}
	l := &s3Layer{berth: &client{base: base, http: hs.Client()}, bucket: bucket, layer: randomBytes(5, s3LayerSize)}

	const repo = "s3/layer"
	d := digest.FromBytes(l.layer)
	l.path = "/v2/" + repo + "/blobs/" + d.String()
	if err := l.berth.streamBlob(repo, d, l.layer); err != nil {
		tb.Fatal(err)
	}
	for obj := range srv.Client(tb).ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			tb.Fatal(obj.Err)
		}
		if obj.Size == s3LayerSize {
			l.key = obj.Key
		}
	}
	if l.key == "" {
		tb.Fatalf("bucket %s holds no object of the layer's size", bucket)
	}
	return l
}

// A blob streamed from S3 arrives whole, and each byte range asked for is
// those bytes of it, from anywhere in the object.
func TestS3BlobGet(t *testing.T) {
	l := newS3Layer(t, miniotest.Start(t))
	if _, got, err := l.berth.read(http.MethodGet, l.path, nil, http.StatusOK); err != nil || !bytes.Equal(got, l.layer) {
		t.Fatalf("GET blob: %d bytes, equal %v (%v); want the layer", len(got), bytes.Equal(got, l.layer), err)
	}
	for _, r := range [][2]int{{0, 0}, {5, 1 << 20}, {40 << 20, 40<<20 + 3}, {s3LayerSize - 10, s3LayerSize - 1}} {
		h := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", r[0], r[1])}}
		_, got, err := l.berth.read(http.MethodGet, l.path, h, http.StatusPartialContent)
		if want := l.layer[r[0] : r[1]+1]; err != nil || !bytes.Equal(got, want) {
			t.Errorf("GET bytes=%d-%d: %d bytes, equal %v (%v)", r[0], r[1], len(got), bytes.Equal(got, want), err)
		}
	}
}

// When MinIO dies while berth streams a blob from it, the client's
// response ends short of its Content-Length, an error for any HTTP
// client, and every byte that did arrive is the blob's.
func TestS3BlobGetFailsWhenStorageDies(t *testing.T) {
	srv := miniotest.Start(t)
	l := newS3Layer(t, srv)
	u, err := l.berth.base.Parse(l.path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := l.berth.http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != s3LayerSize {
		t.Fatalf("GET blob: %s, Content-Length %d; want 200 and %d", resp.Status, resp.ContentLength, s3LayerSize)
	}
	got := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatalf("reading the first MiB: %v", err)
	}
	srv.Kill()
	rest, err := io.ReadAll(resp.Body)
	got = append(got, rest...)
	if err == nil || len(got) >= s3LayerSize {
		t.Fatalf("after MinIO died the body went on to %d of %d bytes, error %v; want it cut short with an error", len(got), s3LayerSize, err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("the body ended with %v", err)
	}
	if !bytes.Equal(got, l.layer[:len(got)]) {
		t.Fatalf("the %d bytes received before the body ended are not the blob's", len(got))
	}
}

// BenchmarkPullLayerS3 pulls one layer kept in a real MinIO two ways, in
// the same process and run: src=straight GETs the object from MinIO with
// a presigned URL (what a client that can reach the bucket does);
// src=berth GETs it from berth streaming it from MinIO (redirect off).
// Their ratio is what berth's streaming costs; for a CPU profile of the
// streaming path run only src=berth:
//
//	go test -run='^$' -bench=PullLayerS3/src=berth -cpuprofile=/tmp/cpu.out ./registry/
func BenchmarkPullLayerS3(b *testing.B) {
	srv := miniotest.Start(b)
	l := newS3Layer(b, srv)
	if _, got, err := l.berth.read(http.MethodGet, l.path, nil, http.StatusOK); err != nil || !bytes.Equal(got, l.layer) {
		b.Fatalf("GET blob: content is not the layer's (%v)", err)
	}
	presigned, err := srv.Client(b).PresignedGetObject(context.Background(), l.bucket, l.key, time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	straight := &client{base: presigned, http: &http.Client{}}
	for _, src := range []struct {
		name string
		c    *client
		ref  string
	}{
		{"straight", straight, presigned.String()},
		{"berth", l.berth, l.path},
	} {
		b.Run("src="+src.name, func(b *testing.B) {
			b.SetBytes(s3LayerSize)
			for b.Loop() {
				if _, n, err := src.c.do(http.MethodGet, src.ref, nil, nil, http.StatusOK); err != nil || n != s3LayerSize {
					b.Fatalf("GET %s: %d bytes, want %d (%v)", src.name, n, s3LayerSize, err)
				}
			}
		})
	}
}
