package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/gotool"
	"github.com/berth-dev/berth/internal/miniotest"
	"github.com/berth-dev/berth/launcher/sidecar"
)

var (
	// repoRoot is the module's root directory, the parent of e2e/.
	repoRoot string
	// berthBin is the berth binary that TestMain built for this run.
	berthBin string
)

func TestMain(m *testing.M) {
	// miniotest.Main runs the tests and stops the shared MinIO after them.
	miniotest.Main(testM{m})
}

// testM runs testMain's setup around the tests for miniotest.Main.
type testM struct{ m *testing.M }

func (t testM) Run() int { return testMain(t.m) }

func testMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root

	dir, err := os.MkdirTemp("", "berth-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	berthBin = filepath.Join(dir, "berth")
	// The same static build as scripts/docker-build makes for the image,
	// so the tests drive the binary that ships and the image build that
	// TestDockerfile runs finds every package already compiled.
	build := func(c *exec.Cmd) {
		c.Dir = repoRoot
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if _, err := execute(10*time.Minute, build, "go", "build", "-trimpath", "-o", berthBin, "./cmd/berth"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building berth:", err)
		return 1
	}
	code := m.Run()
	removeSidecarImage(berthBin)
	return code
}

// removeSidecarImage removes the task sidecar image berth built from exe,
// once every test that ran tasks is done with it. Other berths on the
// engine (other test binaries) have images of their own, which stay.
func removeSidecarImage(exe string) {
	name, err := sidecar.Name(exe)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the sidecar image's name:", err)
		return
	}
	if out, err := execute(dockerTimeout, nil, "docker", "image", "rm", "--force", name); err != nil && !strings.Contains(out+err.Error(), "No such image") {
		fmt.Fprintln(os.Stderr, "e2e: removing", name+":", err)
	}
}

// inCI reports whether the CI environment variable asks for the strict mode
// in which a missing component fails a test instead of skipping it.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// missing ends a test that cannot run because a component it drives is not
// on this machine. A developer's run skips the test; a CI run fails it,
// since there every component must be present.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("%s (CI is set, so every component is required)", msg)
	}
	t.Skip(msg)
}

// requireTool returns the path of the named program, looking in PATH and
// then in the Go bin directory, where scripts/test installs Go tools. If the
// program is not found, the test skips or fails as missing decides.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := gotool.Find(name)
	if err != nil {
		missing(t, "%v; scripts/test installs it", err)
	}
	return p
}

// dockerInfoErr is why the Docker Engine cannot be used, or nil if
// `docker info` answered. It is asked once per run.
var dockerInfoErr = sync.OnceValue(func() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return err
	}
	_, err := execute(time.Minute, nil, "docker", "info")
	return err
})

// requireDocker ends the test, as missing decides, unless the docker CLI is
// installed and its Docker Engine answers.
func requireDocker(t testing.TB) {
	t.Helper()
	if err := dockerInfoErr(); err != nil {
		missing(t, "the Docker Engine is not reachable (it must be installed and running): %v", err)
	}
}

// run executes a command, bounded by timeout, and returns its standard
// output. The test fails, showing the command line and what it printed, if
// the command cannot start, exits non-zero or runs out of time.
func run(t testing.TB, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	return runWith(t, timeout, nil, name, args...)
}

// runWith is run with a setup function that may set the command's working
// directory, environment or standard input before it starts.
func runWith(t testing.TB, timeout time.Duration, setup func(*exec.Cmd), name string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := execute(timeout, setup, name, args...)
	t.Logf("$ %s (%.1fs)", commandLine(name, args), time.Since(start).Seconds())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// execute runs a command under a timeout and returns its standard output;
// the error of a failed command carries its command line, exit status, and
// the end of both its outputs.
func execute(timeout time.Duration, setup func(*exec.Cmd), name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if setup != nil {
		setup(cmd)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", timeout, err)
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w\n--- stdout:\n%s\n--- stderr:\n%s",
			commandLine(name, args), err, tail(stdout.Bytes(), 4096), tail(stderr.Bytes(), 8192))
	}
	return stdout.String(), nil
}

// commandLine renders a command for a log line.
func commandLine(name string, args []string) string {
	return strings.Join(append([]string{filepath.Base(name)}, args...), " ")
}

// tail returns at most the last n bytes of b, marking a cut.
func tail(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return "[…]" + string(b[len(b)-n:])
}
