package inventory

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// buildGoBinary builds a small program that depends on example.com/vulnlib
// v1.2.3, served from a module proxy directory generated in a temp dir, and
// returns the binary and the toolchain's version ("1.26.8"). It skips the
// test when no go command is found.
func buildGoBinary(t *testing.T) (bin []byte, goVersion string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH:", err)
	}
	tmp := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	const mod = "module example.com/vulnlib\n\ngo 1.22\n"
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	for name, body := range map[string]string{
		"go.mod":     mod,
		"vulnlib.go": "package vulnlib\n\n// Greet greets.\nfunc Greet() string { return \"hello from vulnlib\" }\n",
	} {
		w, err := zw.Create("example.com/vulnlib@v1.2.3/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	write("proxy/example.com/vulnlib/@v/list", []byte("v1.2.3\n"))
	write("proxy/example.com/vulnlib/@v/v1.2.3.info", []byte(`{"Version":"v1.2.3","Time":"2024-01-01T00:00:00Z"}`))
	write("proxy/example.com/vulnlib/@v/v1.2.3.mod", []byte(mod))
	write("proxy/example.com/vulnlib/@v/v1.2.3.zip", zipped.Bytes())

	write("app/go.mod", []byte("module example.com/app\n\ngo 1.22\n\nrequire example.com/vulnlib v1.2.3\n"))
	write("app/main.go", []byte("package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/vulnlib\"\n)\n\nfunc main() { fmt.Println(vulnlib.Greet()) }\n"))

	cmd := exec.Command(goTool, "build", "-trimpath", "-o", filepath.Join(tmp, "app.bin"), ".")
	cmd.Dir = filepath.Join(tmp, "app")
	cmd.Env = append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(filepath.Join(tmp, "proxy")),
		"GOSUMDB=off", "GOFLAGS=-mod=mod -modcacherw -buildvcs=false", "CGO_ENABLED=0",
		"GOOS=linux", "GOTOOLCHAIN=local", "GOWORK=off",
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bin, err = os.ReadFile(filepath.Join(tmp, "app.bin"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return bin, strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
}

func TestGoBinary(t *testing.T) {
	bin, goVersion := buildGoBinary(t)
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)
	noTempFiles := func() {
		t.Helper()
		if left, _ := os.ReadDir(tmpdir); len(left) != 0 {
			t.Errorf("temp files left: %v", left)
		}
	}

	inv := squash(t, []entry{
		exe("usr/local/bin/app", bin),
		// Not executable: not read.
		file("usr/share/app.bin", string(bin)),
		// Executable, not ELF.
		exe("usr/local/bin/script", []byte("#!/bin/sh\necho hi\n")),
		exe("usr/local/bin/tiny", []byte{0x7f}),
	})
	equalLines(t, "packages", show(inv.Packages), []string{
		"go example.com/vulnlib v1.2.3 usr/local/bin/app @L1",
		"go stdlib " + goVersion + " usr/local/bin/app @L1",
	})
	noTempFiles()

	// An ELF executable without Go build info in an upper layer replaces
	// the Go binary below it.
	notGo := bytes.ReplaceAll(bin, []byte("\xff Go buildinf:"), []byte("\xff No buildinf:"))
	if _, err := buildinfo.Read(bytes.NewReader(notGo)); err == nil {
		t.Fatal("the build info marker survived")
	}
	inv = squash(t,
		[]entry{exe("usr/local/bin/app", bin), exe("usr/local/bin/other", bin)},
		[]entry{exe("usr/local/bin/app", notGo)},
	)
	equalLines(t, "packages", show(inv.Packages), []string{
		"go example.com/vulnlib v1.2.3 usr/local/bin/other @L1",
		"go stdlib " + goVersion + " usr/local/bin/other @L1",
	})
	noTempFiles()

	// A stream that breaks inside the binary fails the layer and still
	// leaves no temp file.
	data := layerTar(t, false, exe("usr/local/bin/app", bin))
	if _, err := ReadLayer(t.Context(), "broken", bytes.NewReader(data[:len(data)/2])); err == nil {
		t.Error("truncated layer: no error")
	}
	noTempFiles()
}

func TestGoPackages(t *testing.T) {
	info := &buildinfo.BuildInfo{
		GoVersion: "go1.22.3 X:nocoverageredesign",
		Main:      debug.Module{Path: "example.com/app", Version: "(devel)"},
		Deps: []*debug.Module{
			{Path: "example.com/plain", Version: "v1.0.0"},
			{Path: "example.com/orig", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1"}},
			{Path: "example.com/local", Version: "v1.0.0", Replace: &debug.Module{Path: "../local"}},
			{Path: "golang.org/x/net", Version: "v0.0.0-20240101000000-abcdefabcdef"},
		},
	}
	var f File
	f.Packages = goPackages(info)
	sortPackages(f.Packages)
	equalLines(t, "packages", show(f.Packages), []string{
		"go example.com/fork v1.0.1  @",
		"go example.com/plain v1.0.0  @",
		"go golang.org/x/net v0.0.0-20240101000000-abcdefabcdef  @",
		"go stdlib 1.22.3  @",
	})

	info.Main.Version = "v2.0.0"
	info.GoVersion = "devel go1.23-abcdef"
	info.Deps = nil
	equalLines(t, "released main, devel toolchain", show(goPackages(info)), []string{"go example.com/app v2.0.0  @"})
}
