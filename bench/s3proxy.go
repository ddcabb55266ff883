package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The yardstick of the streamed pull: a minimal proxy, this same program
// re-run with -internal-s3-proxy, that answers GET /<key> with one GET of
// the object from MinIO (minio-go's Core.GetObject) copied to the
// response through a buffer as large as berth's. No index, no auth, no
// Range: the least a server that streams a blob from S3 must do. The
// bench pulls the very objects it GETs straight from MinIO through it, in
// the same rounds, so what it loses against straight from MinIO is the
// cost of a second hop on this machine, which no registry can avoid.

// Environment of the proxy process: MinIO's address and credentials (kept
// out of its command line).
const (
	proxyEndpointEnv  = "BENCH_S3_PROXY_ENDPOINT"
	proxyAccessKeyEnv = "BENCH_S3_PROXY_ACCESS_KEY"
	proxySecretKeyEnv = "BENCH_S3_PROXY_SECRET_KEY"
)

// proxyCopyBuf is the proxy's copy buffer, berth's size (registry's
// copyBufSize).
const proxyCopyBuf = 256 << 10

// startS3Proxy runs this program as the minimal proxy over bucket of m.
func startS3Proxy(ctx context.Context, root string, m *minioServer, bucket string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	env := childEnv(proxyEndpointEnv+"="+m.Endpoint, proxyAccessKeyEnv+"="+m.AccessKey, proxySecretKeyEnv+"="+m.SecretKey)
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		return spawnEnv(ctx, "minimal proxy (GetObject + copy)", root, "/healthz", addr, env, self,
			"-internal-s3-proxy", bucket, "-internal-listen", addr)
	})
}

// serveS3Proxy is the minimal proxy's main: until SIGTERM it answers GET
// /<key> with the object key of bucket.
func serveS3Proxy(bucket, addr string) error {
	client, err := minio.New(os.Getenv(proxyEndpointEnv), &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv(proxyAccessKeyEnv), os.Getenv(proxySecretKeyEnv), ""),
		Region: s3Region,
	})
	if err != nil {
		return err
	}
	core := minio.Core{Client: client}
	bufs := sync.Pool{New: func() any { b := make([]byte, proxyCopyBuf); return &b }}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /{key...}", func(w http.ResponseWriter, r *http.Request) {
		body, info, _, err := core.GetObject(r.Context(), bucket, r.PathValue("key"), minio.GetObjectOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer body.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
		buf := bufs.Get().(*[]byte)
		defer bufs.Put(buf)
		_, _ = io.CopyBuffer(struct{ io.Writer }{w}, body, *buf) // a short body tells the client
	})
	return serveUntilSignal(addr, mux)
}
