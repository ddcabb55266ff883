package e2e

import (
	"archive/zip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeOSV writes an OSV database directory with one Debian record: an
// openssl CVE fixed after 3.0.11-1~deb12u1, CVSS 7.5 (HIGH).
func writeOSV(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "osv")
	if err := os.MkdirAll(filepath.Join(dir, "Debian"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "Debian", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("DEBIAN-CVE-2024-0001.json")
	io.WriteString(w, `{"id":"DEBIAN-CVE-2024-0001","modified":"2024-06-01T00:00:00Z","upstream":["CVE-2024-0001"],"details":"openssl crash",
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
	  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`)
	zw.Close()
	f.Close()
	return dir
}

// pushDebianImage builds with docker an image FROM scratch that the
// scanner reads as Debian 12 with libssl3 of a vulnerable openssl (see
// writeOSV), and more dpkg status entries and Dockerfile lines, and
// pushes it as tag, logged in with k.
func pushDebianImage(t *testing.T, srv *server, k accessKey, tag, moreStatus, moreDockerfile string) {
	t.Helper()
	build := t.TempDir()
	write(t, filepath.Join(build, "os-release"), "ID=debian\nVERSION_ID=\"12\"\n")
	write(t, filepath.Join(build, "status"), "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\n"+moreStatus)
	write(t, filepath.Join(build, "Dockerfile"), "FROM scratch\nCOPY os-release /etc/os-release\nCOPY status /var/lib/dpkg/status\n"+moreDockerfile)
	t.Cleanup(func() { removeImage(t, tag) })
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	login(t, srv.Addr, k)
	run(t, dockerTimeout, "docker", "build", "-t", tag, build)
	run(t, dockerTimeout, "docker", "push", tag)
}

// TestScanWithDockerAndAWSCLI: an image docker builds (FROM scratch, with
// a Debian os-release and dpkg database) and pushes to a repository with
// scan on push is scanned against the database `berth vulndb import`
// installed; the aws CLI waits for the scan and reads the findings; and
// `berth scan --fail-on HIGH` fails a pipeline on them.
func TestScanWithDockerAndAWSCLI(t *testing.T) {
	requireDocker(t)
	bin := requireAWSCLI(t)
	dataDir := t.TempDir()
	run(t, time.Minute, berthBin, "vulndb", "import", writeOSV(t), "--data-dir", dataDir)
	srv := startBerthIn(t, dataDir)
	admin := srv.adminKey(t)
	aws := awsCLI{t, bin, "http://" + srv.Addr, admin}
	aws.json("create-repository", "--repository-name", "debianish", "--image-scanning-configuration", "scanOnPush=true")

	tag := srv.Addr + "/debianish:1"
	pushDebianImage(t, srv, admin, tag, "Package: gone\nStatus: deinstall ok config-files\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n", "")

	// The CLI's own waiter polls until the scan is COMPLETE.
	runWith(t, 2*time.Minute, func(c *exec.Cmd) { c.Env = awsEnv(admin) }, bin, "ecr", "wait", "image-scan-complete",
		"--endpoint-url", "http://"+srv.Addr, "--repository-name", "debianish", "--image-id", "imageTag=1")
	out := aws.json("describe-image-scan-findings", "--repository-name", "debianish", "--image-id", "imageTag=1")
	expectField(t, out, "COMPLETE", "imageScanStatus", "status")
	expectField(t, out, 1, "imageScanFindings", "findingSeverityCounts", "HIGH")
	expectField(t, out, "CVE-2024-0001", "imageScanFindings", "findings", 0, "name")
	expectField(t, out, "HIGH", "imageScanFindings", "findings", 0, "severity")
	found := false
	for _, a := range field(t, out, "imageScanFindings", "findings", 0, "attributes").([]any) {
		found = found || (field(t, a, "key") == "package_name" && field(t, a, "value") == "libssl3")
	}
	if !found {
		t.Errorf("the finding's attributes lack package_name libssl3: %v", field(t, out, "imageScanFindings", "findings", 0, "attributes"))
	}
	expectField(t, aws.json("describe-images", "--repository-name", "debianish"), "COMPLETE", "imageDetails", 0, "imageScanStatus", "status")

	// berth scan prints the table and, with --fail-on HIGH, fails.
	table := run(t, time.Minute, berthBin, "scan", tag, "--data-dir", srv.DataDir)
	if !strings.Contains(table, "CVE-2024-0001") || !strings.Contains(table, "libssl3") || strings.Contains(table, "gone") {
		t.Errorf("berth scan printed:\n%s", table)
	}
	if _, err := execute(time.Minute, nil, berthBin, "scan", tag, "--fail-on", "HIGH", "--data-dir", srv.DataDir); err == nil || !strings.Contains(err.Error(), "1 findings at or above HIGH") {
		t.Errorf("berth scan --fail-on HIGH: %v; want a failure", err)
	}
	run(t, time.Minute, berthBin, "scan", tag, "--fail-on", "CRITICAL", "--data-dir", srv.DataDir)
}
