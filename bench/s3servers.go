package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/berth-dev/berth/internal/gotool"
	"github.com/berth-dev/berth/internal/miniotest"
)

// findMinio looks for the minio program in PATH, then in the Go bin
// directory, where scripts/test and scripts/bench install it.
func findMinio() (string, error) { return gotool.Find("minio") }

// minioVersion names the module version the minio program was built from
// (`go version -m`), or what `minio --version` says.
func minioVersion(bin string) string {
	if out, err := exec.Command("go", "version", "-m", bin).Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
				return f[1] + " " + f[2]
			}
		}
	}
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		first, _, _ := strings.Cut(string(out), "\n")
		return strings.TrimSpace(first)
	}
	return "unknown version"
}

// minioServer is the one MinIO of the S3 part, run by miniotest as the
// storage tests run theirs, with a client of the bench's own.
type minioServer struct {
	*miniotest.Server
	client *minio.Client
}

// startMinio runs `minio server ROOT/data` on two loopback ports (the S3
// API and the console, which is off) with random root credentials, and
// waits until it answers.
func startMinio(bin, root string) (*minioServer, error) {
	srv, err := miniotest.Launch(bin, root)
	if err != nil {
		return nil, fmt.Errorf("%w\nMinIO output:\n%s", err, srv.Output())
	}
	c, err := srv.NewClient()
	if err != nil {
		srv.Kill()
		return nil, err
	}
	return &minioServer{Server: srv, client: c}, nil
}

// stat names MinIO's process for /proc reads.
func (m *minioServer) stat() procStat { return procStat{label: "MinIO", pid: m.Pid()} }

// base is MinIO's URL.
func (m *minioServer) base() string { return "http://" + m.Endpoint }

// outputTail returns the last n lines MinIO printed.
func (m *minioServer) outputTail(n int) string {
	lines := strings.Split(strings.TrimRight(m.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startBerthS3 runs berth with its index in root and its blobs in bucket,
// configured through BERTH_STORAGE_S3_* variables.
func startBerthS3(ctx context.Context, label, bin, root string, m *minioServer, bucket string, redirect bool) (*server, error) {
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		data, err := makeDataDir(root)
		if err != nil {
			return nil, err
		}
		env := berthEnv(s3Env(m.Endpoint, m, bucket, redirect)...)
		return spawnEnv(ctx, label, root, "/healthz", addr, env, bin, "serve", "--no-auth", "--listen", addr, "--data-dir", data)
	})
}

// s3Env is the BERTH_STORAGE_S3_* environment of a berth with its blobs
// in bucket of m, reached at endpoint (MinIO's own, or a proxy's).
func s3Env(endpoint string, m *minioServer, bucket string, redirect bool) []string {
	return []string{
		"BERTH_STORAGE_S3_ENDPOINT=" + endpoint,
		"BERTH_STORAGE_S3_BUCKET=" + bucket,
		"BERTH_STORAGE_S3_ACCESS_KEY=" + m.AccessKey,
		"BERTH_STORAGE_S3_SECRET_KEY=" + m.SecretKey,
		fmt.Sprintf("BERTH_STORAGE_S3_REDIRECT=%t", redirect),
		"BERTH_STORAGE_S3_CREATE_BUCKET=true",
	}
}

// distributionS3Driver is the s3 driver's section of distributionConfig:
// MinIO over plain HTTP, path-style (Distribution uses it whenever
// regionendpoint is set), the driver's default chunk size of 10 MiB, and
// its defaults otherwise, which include redirecting blob GETs to presigned
// URLs.
const distributionS3Driver = `  s3:
    accesskey: %s
    secretkey: %s
    region: ` + s3Region + `
    regionendpoint: http://%s
    bucket: %s
    secure: false
    v4auth: true
    chunksize: 10485760
    rootdirectory: /
`

// startDistributionS3 runs Distribution with its blobs in bucket, which
// must exist (its driver does not create buckets).
func startDistributionS3(ctx context.Context, label, bin, root string, m *minioServer, bucket string) (*server, error) {
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		cfg := filepath.Join(root, "config.yml")
		text := distributionConfig(fmt.Sprintf(distributionS3Driver, m.AccessKey, m.SecretKey, m.Endpoint, bucket), addr)
		if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
			return nil, err
		}
		return spawnEnv(ctx, label, root, "/v2/", addr, childEnv(), bin, "serve", cfg)
	})
}
