package miniotest

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/berth-dev/berth/internal/gotool"
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
var findMinio = sync.OnceValues(func() (string, error) { return gotool.Find("minio") })

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
