// Package gotool finds programs that `go install` put on this machine
// (minio, crane, the conformance suite): the tests and the bench look for
// them in PATH and then in the Go bin directory, where scripts/test
// installs them.
package gotool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Find returns the path of program name, from PATH or else the Go bin
// directory.
func Find(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	dir := BinDir()
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p, nil
	}
	return "", fmt.Errorf("%s is not installed (not in PATH nor in %s)", name, dir)
}

// BinDir is where `go install` puts programs: GOBIN, or the first GOPATH
// entry's bin.
var BinDir = sync.OnceValue(func() string {
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
})
