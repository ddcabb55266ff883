// Package dockertest gives the launcher's tests the machine's Docker
// Engine: reached once per test binary, a test without one skipped (or
// failed when CI is set), and the images the tests load or pull removed
// by id when the binary ends.
package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/sidecar"
)

var engine = sync.OnceValues(func() (*docker.Runtime, error) {
	rt, err := docker.New(docker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Ping(ctx); err != nil {
		return nil, err
	}
	return rt, nil
})

// Engine returns the machine's engine, or why there is none.
func Engine() (*docker.Runtime, error) { return engine() }

// Require returns the engine for t; without one t skips, or fails when
// the CI variable is set.
func Require(t testing.TB) *docker.Runtime {
	t.Helper()
	rt, err := engine()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Docker Engine unreachable (CI is set): %v", err)
		}
		t.Skipf("Docker Engine unreachable: %v", err)
	}
	return rt
}

var (
	madeMu sync.Mutex
	made   []string
)

// Remember notes an image (a name or id) that Cleanup removes.
func Remember(ref string) {
	madeMu.Lock()
	defer madeMu.Unlock()
	made = append(made, ref)
}

// Cleanup removes the images Remember noted; TestMain calls it after the
// tests ran.
func Cleanup() {
	rt, err := engine()
	if err != nil {
		return
	}
	madeMu.Lock()
	defer madeMu.Unlock()
	for _, ref := range made {
		if err := rt.RemoveImage(context.Background(), ref); err != nil && !errors.Is(err, launcher.ErrImageNotFound) {
			fmt.Fprintln(os.Stderr, "remove test image:", err)
		}
	}
	made = nil
}

// SidecarImage is the task sidecar image of this test binary, loaded
// once and removed by Cleanup. The binary's TestMain must call
// sidecar.RunIfRequested first, since in the image it is the sidecar.
var SidecarImage = sync.OnceValues(func() (string, error) {
	rt, err := engine()
	if err != nil {
		return "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	start := time.Now()
	ref, err := sidecar.NewImage(rt, exe).Ensure(context.Background())
	if err == nil {
		Remember(ref)
		fmt.Fprintf(os.Stderr, "sidecar image %s built and loaded in %v\n", ref, time.Since(start).Round(time.Millisecond))
	}
	return ref, err
})

// TestProgram builds the launcher tests' container program
// (launcher/docker/testdata/testprog; its first argument says what it
// does) static, for a FROM scratch image, into dir and returns its path.
func TestProgram(dir string) (string, error) {
	_, self, _, _ := runtime.Caller(0)
	bin := filepath.Join(dir, "testprog")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(filepath.Dir(self), "..", "testdata", "testprog")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build testprog: %v\n%s", err, out)
	}
	return bin, nil
}

// ProgramImage is a FROM scratch image of the static program at bin, as
// /name, its entrypoint, for linux on this machine's architecture and
// labelled as a test's (berth.service=test), ready to push to a registry.
func ProgramImage(bin, name string) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	tw.Write(data)
	tw.Close()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/" + name}
	cf.Config.Labels = launcher.Owner{Service: "test"}.Labels()
	return mutate.ConfigFile(img, cf)
}
