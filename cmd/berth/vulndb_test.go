package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/scanner/scannertest"
	"github.com/berth-dev/berth/storage/filesystem"
)

// ecrCall sends one ECR API request to an open server and decodes the
// answer.
func ecrCall(t *testing.T, addr, operation, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921."+operation)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s, %v: %v", operation, resp.Status, err, out)
	}
	return out
}

// After `berth vulndb import`, a running server scans with the new data at
// once, rather than with what it loaded at start until its next reload,
// and the scan records which data it used.
func TestVulnDBImportAppliesAtOnce(t *testing.T) {
	dataDir := t.TempDir()
	blobs, err := filesystem.New(filepath.Join(dataDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	dgst := scannertest.PutDebianImage(t, openTestIndex(t, dataDir), blobs, "debianish", "v1")
	addr, stop := startServe(t, func(c *config.Config) {
		c.DataDir = dataDir
		c.Scanning.ReloadInterval = time.Hour // no reload can help
	})
	defer stop()

	src := t.TempDir()
	scannertest.WriteOSVRecord(t, src, "DEBIAN-CVE-2024-0001")
	out := runCommand(t, dataDir, "vulndb", "import", src)
	if !strings.Contains(out, "imported 1 vulnerability records") {
		t.Errorf("vulndb import printed %q", out)
	}
	image := `{"repositoryName":"debianish","imageId":{"imageTag":"v1"}}`
	ecrCall(t, addr, "StartImageScan", image)
	var findings map[string]any
	for deadline := time.Now().Add(time.Minute); ; {
		findings = ecrCall(t, addr, "DescribeImageScanFindings", image)
		if status := findings["imageScanStatus"].(map[string]any)["status"]; status != "IN_PROGRESS" && status != "PENDING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scan did not finish: %v", findings)
		}
		time.Sleep(20 * time.Millisecond)
	}
	counts, _ := findings["imageScanFindings"].(map[string]any)["findingSeverityCounts"].(map[string]any)
	if counts["HIGH"] != 1.0 {
		t.Errorf("scan after the import: %v; want the imported CVE (1 HIGH)", findings)
	}
	sc, err := openTestIndex(t, dataDir).Scan(t.Context(), "debianish", dgst)
	if err != nil || sc.VulnDBGeneration != 1 {
		t.Errorf("the scan recorded vulnerability data generation %d, %v; want 1, the import's", sc.VulnDBGeneration, err)
	}
}

// berth scan prints the findings and their counts, most severe first, and
// with --fail-on fails when a finding is at least that severe.
func TestScanCommand(t *testing.T) {
	dataDir := t.TempDir()
	blobs, err := filesystem.New(filepath.Join(dataDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	scannertest.PutDebianImage(t, openTestIndex(t, dataDir), blobs, "debianish", "v1")
	src := t.TempDir()
	scannertest.WriteOSVRecord(t, src, "DEBIAN-CVE-2024-0001")
	runCommand(t, dataDir, "vulndb", "import", src)

	out := runCommand(t, dataDir, "scan", "localhost:5000/debianish:v1")
	if !strings.Contains(out, "HIGH") || !strings.Contains(out, "libssl3") || !strings.HasSuffix(out, "1 findings: 1 HIGH\n") {
		t.Errorf("berth scan printed:\n%s", out)
	}
	if _, _, err := runBerth(t, dataDir, "scan", "debianish:v1", "--fail-on", "high"); err == nil || err.Error() != "1 findings at or above HIGH" {
		t.Errorf("berth scan --fail-on high: %v; want 1 finding at or above HIGH", err)
	}
	for _, below := range []string{"CRITICAL", "critical"} {
		if _, _, err := runBerth(t, dataDir, "scan", "debianish:v1", "--fail-on", below); err != nil {
			t.Errorf("berth scan --fail-on %s: %v; want success", below, err)
		}
	}
	if _, _, err := runBerth(t, dataDir, "scan", "debianish:v1", "--fail-on", "SEVERE"); err == nil ||
		!strings.Contains(err.Error(), "one of UNDEFINED, INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL") {
		t.Errorf("berth scan --fail-on SEVERE: %v; want the list of severities", err)
	}
}
