package miniotest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// requireMinio returns the path of the minio program. If there is none, it
// skips the test, or fails it when CI is set.
func requireMinio(t testing.TB) string {
	t.Helper()
	path, err := findMinio()
	if err != nil {
		missing(t, "%v; scripts/test installs it", err)
	}
	return path
}

// findMinio looks for minio in PATH, then in the Go bin directory.
var findMinio = sync.OnceValues(func() (string, error) {
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	dir := goBinDir()
	p := filepath.Join(dir, "minio")
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p, nil
	}
	return "", fmt.Errorf("minio is not installed (not in PATH nor in %s)", dir)
})

// goBinDir is where `go install` puts programs: GOBIN, or the first GOPATH
// entry's bin.
func goBinDir() string {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		home, _ := os.UserHomeDir()
		return filepath.Join(home, "go", "bin")
	}
	// One line each, in order; an unset GOBIN prints an empty line.
	gobin, gopath, _ := strings.Cut(string(out), "\n")
	if gobin = strings.TrimSpace(gobin); gobin != "" {
		return gobin
	}
	first, _, _ := strings.Cut(strings.TrimSpace(gopath), string(os.PathListSeparator))
	return filepath.Join(first, "bin")
}

// missing ends a test that cannot run because minio is not on this
// machine: a developer's run skips it, a CI run fails it, since CI must
// have every component. (The same rule as the end-to-end tests.)
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("%s (CI is set, so every component is required)", msg)
	}
	t.Skip(msg)
}

// inCI reports whether the CI environment variable asks for the strict mode
// in which a missing component fails a test instead of skipping it.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}
