package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/berth-dev/berth/internal/miniotest"
)

// TestGCWalkBesideServer: `berth gc --walk`, run beside a serving berth on
// the filesystem and on S3 while crane pushes, deletes what a crash left in
// the blob store (a blob committed but never recorded, the bytes of an
// upload whose session is gone) and nothing an image needs: both images
// pull back byte for byte, and a dry walk afterwards finds nothing.
func TestGCWalkBesideServer(t *testing.T) {
	crane := requireTool(t, "crane")
	for _, b := range backends[:2] { // filesystem, s3
		t.Run(b.name, func(t *testing.T) {
			env := b.env(t)
			srv := startBerth(t, env...)
			login(t, srv.Addr, srv.adminKey(t))
			arts := testArtifacts(t)
			repo := func(i int) string { return fmt.Sprintf("%s/walk/%s", srv.Addr, arts[i].Ref) }
			run(t, clientTimeout, crane, "push", "--insecure", arts[0].Dir, repo(0)+":v1")

			orphans := plantOrphans(t, b.name, srv, env)
			pushed := make(chan error, 1)
			go func() {
				_, err := execute(clientTimeout, nil, crane, "push", "--insecure", arts[1].Dir, repo(1)+":v1")
				pushed <- err
			}()
			berthEnv := func(c *exec.Cmd) { c.Env = append(os.Environ(), env...) }
			// No grace period: the index alone must say what is in use.
			out := runWith(t, clientTimeout, berthEnv, berthBin, "gc", "--walk", "--grace", "1ns", "--data-dir", srv.DataDir)
			t.Logf("gc --walk: %s", out)
			if err := <-pushed; err != nil {
				t.Fatalf("crane push beside the walk: %v", err)
			}
			for _, gone := range orphans {
				if exists := gone(); exists {
					t.Errorf("an orphan is still there after the walk")
				}
			}
			for i, src := range arts {
				dir := filepath.Join(t.TempDir(), "out")
				run(t, clientTimeout, crane, "pull", "--insecure", "--format=oci", repo(i)+":v1", dir)
				compareLayout(t, src, dir, "")
			}
			if out := runWith(t, clientTimeout, berthEnv, berthBin, "gc", "--walk", "--dry-run", "--grace", "1ns", "--data-dir", srv.DataDir); !strings.Contains(out, "would delete 0 ") {
				t.Errorf("a dry walk after the walk: %s", out)
			}
		})
	}
}

// plantOrphans writes what a crash can leave in srv's blob store: a
// committed blob never recorded and the bytes of an upload whose session
// is gone. It returns, per orphan, a function that says whether it is
// still there.
func plantOrphans(t *testing.T, backend string, srv *server, env []string) []func() bool {
	t.Helper()
	if backend == "filesystem" {
		root := filepath.Join(srv.DataDir, "blobs")
		var out []func() bool
		for _, rel := range []string{"blobs/cr/crashed0123", "uploads/gone0123"} {
			p := filepath.Join(root, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
				t.Fatal(err)
			}
			write(t, p, "orphaned bytes")
			out = append(out, func() bool { _, err := os.Stat(p); return err == nil })
		}
		return out
	}
	m := miniotest.Shared(t)
	var bucket string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "BERTH_STORAGE_S3_BUCKET="); ok {
			bucket = v
		}
	}
	client := m.Client(t)
	var out []func() bool
	for _, key := range []string{"blobs/crashed0123", "uploads/gone0123/tail-0"} {
		if _, err := client.PutObject(t.Context(), bucket, key, strings.NewReader("orphaned bytes"), 14, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		out = append(out, func() bool {
			_, err := client.StatObject(t.Context(), bucket, key, minio.StatObjectOptions{})
			return err == nil
		})
	}
	return out
}
