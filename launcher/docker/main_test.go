package docker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
	"github.com/berth-dev/berth/launcher/imagetar"
	"github.com/berth-dev/berth/launcher/sidecar"
)

// buildDir holds the test program's build, removed when the binary ends.
var buildDir string

func TestMain(m *testing.M) {
	// In the sidecar image, this binary is the sidecar.
	sidecar.RunIfRequested()
	code := m.Run()
	dockertest.Cleanup()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// engine is the machine's Docker Engine, reached once.
func engine() (*docker.Runtime, error) { return dockertest.Engine() }

// newEngine returns the engine; without one the test skips, or fails
// when CI is set.
func newEngine(t *testing.T) *docker.Runtime { return dockertest.Require(t) }

// testImage is testprog (testdata/testprog), static, in a FROM scratch
// image, built and loaded once per test binary.
var testImage = sync.OnceValues(func() (string, error) {
	rt, err := engine()
	if err != nil {
		return "", err
	}
	buildDir, err = os.MkdirTemp("", "launcher-test-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(buildDir, "testprog")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/testprog")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build testprog: %v\n%s", err, out)
	}
	f, err := imagetar.HostFile(bin, "/testprog")
	if err != nil {
		return "", err
	}
	img := imagetar.Image{Files: []imagetar.File{f}, Config: imagetar.Config{
		Entrypoint: []string{"/testprog"},
		Labels:     launcher.Owner{Service: "test"}.Labels(),
	}}
	id, err := img.ID()
	if err != nil {
		return "", err
	}
	ref := "berth-test/testprog:" + strings.TrimPrefix(id, "sha256:")[:16]
	img.Tags = []string{ref}
	pr, pw := io.Pipe()
	go func() {
		_, err := img.Write(pw)
		pw.CloseWithError(err)
	}()
	err = rt.LoadImage(context.Background(), pr)
	pr.Close()
	if err != nil {
		return "", err
	}
	dockertest.Remember(ref)
	return ref, nil
})

func image(t *testing.T) string {
	t.Helper()
	ref, err := testImage()
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// sidecarImage is the sidecar image of this test binary, loaded once.
var sidecarImage = dockertest.SidecarImage

// owner labels a test's containers so they can be told apart and listed.
func owner(t *testing.T, container string) launcher.Owner {
	return launcher.Owner{Service: "test", Task: strings.ReplaceAll(t.Name(), "/", "."), Container: container}
}

// create makes a container and removes it (by id) when the test ends,
// even when it fails.
func create(t *testing.T, rt *docker.Runtime, spec launcher.Spec) string {
	t.Helper()
	if spec.Image == "" {
		spec.Image = image(t)
	}
	id, err := rt.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.Remove(context.Background(), id); err != nil && !errors.Is(err, launcher.ErrNotFound) {
			t.Errorf("remove %s: %v", id, err)
		}
	})
	return id
}

// start creates and starts a container.
func start(t *testing.T, rt *docker.Runtime, spec launcher.Spec) string {
	t.Helper()
	id := create(t, rt, spec)
	if err := rt.Start(t.Context(), id); err != nil {
		t.Fatalf("start: %v", err)
	}
	return id
}

// wait waits for a container's exit, bounded so a broken test cannot hang.
func wait(t *testing.T, rt *docker.Runtime, id string) launcher.Exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	exit, err := rt.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return exit
}

// output is a finished container's output, one "stream: text" per line.
func output(t *testing.T, rt *docker.Runtime, id string) []string {
	t.Helper()
	var lines []string
	for l, err := range rt.Logs(t.Context(), id, launcher.LogOptions{}) {
		if err != nil {
			t.Fatalf("logs: %v", err)
		}
		lines = append(lines, l.Stream.String()+": "+l.Text)
	}
	return lines
}
