package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/miniotest"
)

// blobBytes sums the sizes of the config and layer blobs of a layout's
// artifact: what the registry stores for it.
func blobBytes(t *testing.T, l *testLayout) int64 {
	t.Helper()
	var total int64
	for _, b := range l.contents(t) {
		if b.Manifest {
			continue
		}
		info, err := os.Stat(filepath.Join(l.Dir, "blobs", b.Digest.Algorithm, b.Digest.Hex))
		if err != nil {
			t.Fatal(err)
		}
		total += info.Size()
	}
	return total
}

// TestLifecycleWithAWSCLI is the lifecycle workflow with the real aws CLI
// on S3 storage (MinIO): put-lifecycle-policy, start- and
// get-lifecycle-policy-preview, then enforcement (berth lifecycle run)
// expires exactly the previewed images, and garbage collection gives
// their bytes back to the bucket.
func TestLifecycleWithAWSCLI(t *testing.T) {
	bin := requireAWSCLI(t)
	crane := requireTool(t, "crane")
	m := miniotest.Shared(t)
	bucket := m.NewBucket(t)
	srv := startBerth(t,
		"BERTH_STORAGE_S3_ENDPOINT="+m.Endpoint, "BERTH_STORAGE_S3_BUCKET="+bucket,
		"BERTH_STORAGE_S3_ACCESS_KEY="+m.AccessKey, "BERTH_STORAGE_S3_SECRET_KEY="+m.SecretKey,
		"BERTH_LIFECYCLE_INTERVAL=0", "BERTH_GC_INTERVAL=250ms", "BERTH_GC_GRACE=1s")
	admin := srv.adminKey(t)
	login(t, srv.Addr, admin)
	aws := awsCLI{t, bin, "http://" + srv.Addr, admin}
	aws.json("create-repository", "--repository-name", "app")

	// One push after another: the index records push times in
	// nanoseconds, so each is later than the one before.
	var images []*testLayout
	for i, tag := range []string{"v1", "v2", "v3", "v4"} {
		l := newImageLayout(t, int64(200<<10+i*1000), 64<<10)
		run(t, clientTimeout, crane, "push", "--insecure", l.Dir, srv.Addr+"/app:"+tag)
		images = append(images, l)
	}
	var all int64
	for _, l := range images {
		all += blobBytes(t, l)
	}
	waitFor(t, 20*time.Second, "the bucket to hold the four images", func() bool { return m.StoredBytes(t, bucket) == all })

	policy := `{"rules":[{"rulePriority":1,"description":"keep the two newest releases","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}`
	put := aws.json("put-lifecycle-policy", "--repository-name", "app", "--lifecycle-policy-text", policy)
	expectField(t, put, policy, "lifecyclePolicyText")
	aws.refused("InvalidParameterException", "put-lifecycle-policy", "--repository-name", "app", "--lifecycle-policy-text", strings.Replace(policy, `"expire"`, `"explode"`, 1))

	start := aws.json("start-lifecycle-policy-preview", "--repository-name", "app")
	expectField(t, start, "IN_PROGRESS", "status")
	var preview map[string]any
	waitFor(t, 20*time.Second, "the preview to complete", func() bool {
		preview = aws.json("get-lifecycle-policy-preview", "--repository-name", "app")
		return field(t, preview, "status") == "COMPLETE"
	})
	var previewed []string
	for _, r := range field(t, preview, "previewResults").([]any) {
		expectField(t, r, "EXPIRE", "action", "type")
		previewed = append(previewed, field(t, r, "imageDigest").(string))
	}
	expectField(t, preview, 2, "summary", "expiringImageTotalCount")
	want := []string{images[0].Root.Digest.String(), images[1].Root.Digest.String()}
	slices.Sort(previewed)
	slices.Sort(want)
	if !slices.Equal(previewed, want) {
		t.Fatalf("the preview expires %v; want v1 and v2 %v", previewed, want)
	}

	// Enforcement removes exactly the previewed images.
	out := run(t, time.Minute, berthBin, "lifecycle", "run", "app", "--data-dir", srv.DataDir)
	for _, d := range previewed {
		if !strings.Contains(out, d) {
			t.Errorf("berth lifecycle run did not expire %s:\n%s", d, out)
		}
	}
	var left []string
	for _, d := range field(t, aws.json("describe-images", "--repository-name", "app"), "imageDetails").([]any) {
		left = append(left, field(t, d, "imageDigest").(string))
	}
	slices.Sort(left)
	kept := []string{images[2].Root.Digest.String(), images[3].Root.Digest.String()}
	slices.Sort(kept)
	if !slices.Equal(left, kept) {
		t.Errorf("after enforcement the repository holds %v; want v3 and v4 %v", left, kept)
	}
	if field(t, aws.json("get-lifecycle-policy", "--repository-name", "app"), "lastEvaluatedAt") == nil {
		t.Errorf("get-lifecycle-policy has no lastEvaluatedAt after a run")
	}

	// Garbage collection frees the expired images' bytes, and only those.
	remaining := blobBytes(t, images[2]) + blobBytes(t, images[3])
	waitFor(t, 30*time.Second, "garbage collection to free the expired images' bytes", func() bool { return m.StoredBytes(t, bucket) == remaining })
	for _, tag := range []string{"v3", "v4"} {
		run(t, clientTimeout, crane, "pull", "--insecure", "--format=oci", srv.Addr+"/app:"+tag, filepath.Join(t.TempDir(), tag))
	}
	t.Logf("the bucket went from %d to %d bytes", all, remaining)
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
