package sidecar

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/imagetar"
)

// Repository is the name of sidecar images in the engine; the tag is the
// image's content digest, so each executable is loaded once.
const Repository = "berth/sidecar"

// Image is the sidecar image of one executable (berth's own, or a test
// binary under `go test`), loaded into an engine on first use. Nothing can
// be pulled, so it is built from the executable. A statically linked
// executable is all the image holds. A dynamically linked one (what `go
// build` makes with cgo on, as for `go run ./cmd/berth` on a machine with
// a C compiler) comes with its ELF interpreter and the shared libraries it
// needs, copied from this machine, so no static build is required.
type Image struct {
	store launcher.ImageStore
	exe   string

	mu  sync.Mutex
	ref string // set once loaded
}

// NewImage returns the sidecar image of executable exe for store.
func NewImage(store launcher.ImageStore, exe string) *Image {
	return &Image{store: store, exe: exe}
}

// Ensure makes sure the image is in the engine and returns its name.
func (im *Image) Ensure(ctx context.Context) (string, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.ref != "" {
		return im.ref, nil
	}
	img, ref, err := build(im.exe)
	if err != nil {
		return "", err
	}
	if _, err := im.store.ImageID(ctx, ref); err == nil {
		im.ref = ref
		return ref, nil
	} else if !errors.Is(err, launcher.ErrImageNotFound) {
		return "", err
	}
	img.Tags = []string{ref}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := img.Write(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err = im.store.LoadImage(ctx, pr)
	pr.CloseWithError(errors.New("load ended")) // unblock the writer if the engine stopped reading
	if werr := <-done; err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return "", fmt.Errorf("sidecar image: %w", err)
	}
	im.ref = ref
	return ref, nil
}

// Name returns the name the sidecar image of executable exe has in an
// engine, whether or not it is loaded there yet: what a test removes once
// it is done with the executable.
func Name(exe string) (string, error) {
	_, ref, err := build(exe)
	return ref, err
}

// build describes the sidecar image of exe and returns its name.
func build(exe string) (imagetar.Image, string, error) {
	img, err := Build(exe)
	if err != nil {
		return imagetar.Image{}, "", err
	}
	id, err := img.ID()
	if err != nil {
		return imagetar.Image{}, "", fmt.Errorf("sidecar image: %w", err)
	}
	return img, Repository + ":" + strings.TrimPrefix(id, "sha256:")[:16], nil
}

// Build describes the sidecar image of executable exe: the executable as
// /berth with, if it is dynamically linked, its interpreter and libraries.
func Build(exe string) (imagetar.Image, error) {
	self, err := imagetar.HostFile(exe, "/berth")
	if err != nil {
		return imagetar.Image{}, fmt.Errorf("sidecar image: %w", err)
	}
	files := []imagetar.File{self}
	libs, err := sharedLibraries(exe)
	if err != nil {
		return imagetar.Image{}, fmt.Errorf("sidecar image: %w", err)
	}
	var libDirs []string
	for _, lib := range libs {
		f, err := imagetar.HostFile(lib, lib)
		if err != nil {
			return imagetar.Image{}, fmt.Errorf("sidecar image: %w", err)
		}
		files = append(files, f)
		if d := filepath.Dir(lib); !slices.Contains(libDirs, d) {
			libDirs = append(libDirs, d)
		}
	}
	env := []string{EnvVar + "=1"}
	if len(libDirs) > 0 {
		// The loader's built-in search path differs between distributions;
		// say where the libraries are.
		env = append(env, "LD_LIBRARY_PATH="+strings.Join(libDirs, ":"))
	}
	return imagetar.Image{
		Files: files,
		Config: imagetar.Config{
			Entrypoint: []string{"/berth", "sidecar"},
			Env:        env,
			Labels:     launcher.Owner{Service: launcher.ServiceLauncher, Role: launcher.RoleSidecar}.Labels(),
		},
	}, nil
}

// sharedLibraries returns the ELF interpreter of exe and every shared
// library it needs (recursively), as paths on this machine, found the way
// the loader finds them: RUNPATH/RPATH, the ld.so.conf directories, the
// system directories. A static executable needs none.
func sharedLibraries(exe string) ([]string, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, err
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return nil, nil
	}
	dirs := searchDirs(interp)
	out := []string{interp}
	seen := map[string]bool{}
	queue := []*elf.File{f}
	origins := []string{filepath.Dir(exe)}
	for len(queue) > 0 {
		cur, origin := queue[0], origins[0]
		queue, origins = queue[1:], origins[1:]
		needed, err := cur.ImportedLibraries()
		if err != nil {
			return nil, err
		}
		own := runPaths(cur, origin)
		for _, name := range needed {
			if seen[name] {
				continue
			}
			seen[name] = true
			path, lf, err := findLibrary(name, slices.Concat(own, dirs), f)
			if err != nil {
				return nil, err
			}
			defer lf.Close()
			if path != interp {
				out = append(out, path)
			}
			queue, origins = append(queue, lf), append(origins, filepath.Dir(path))
		}
	}
	return out, nil
}

// runPaths are the DT_RUNPATH and DT_RPATH directories of f, with $ORIGIN
// made origin.
func runPaths(f *elf.File, origin string) []string {
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
				if filepath.IsAbs(d) {
					dirs = append(dirs, d)
				}
			}
		}
	}
	return dirs
}

// searchDirs are the directories the loader searches after RUNPATH: the
// interpreter's own, those ld.so.conf lists, the system ones.
func searchDirs(interp string) []string {
	dirs := []string{filepath.Dir(interp)}
	if real, err := filepath.EvalSymlinks(interp); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	confs, _ := filepath.Glob("/etc/ld.so.conf.d/*.conf")
	for _, c := range append([]string{"/etc/ld.so.conf"}, confs...) {
		fh, err := os.Open(c)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "/") {
				dirs = append(dirs, line)
			}
		}
		fh.Close()
	}
	return append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
}

// findLibrary finds the library name in dirs that matches the class and
// machine of exe (a 32-bit library of the same name may come first).
func findLibrary(name string, dirs []string, exe *elf.File) (string, *elf.File, error) {
	if strings.Contains(name, "/") {
		dirs, name = []string{filepath.Dir(name)}, filepath.Base(name)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		lf, err := elf.Open(p)
		if err != nil {
			continue
		}
		if lf.Class == exe.Class && lf.Machine == exe.Machine {
			return p, lf, nil
		}
		lf.Close()
	}
	return "", nil, fmt.Errorf("shared library %s not found (searched %s); build berth with CGO_ENABLED=0 for a static executable",
		name, strings.Join(dirs, ":"))
}

// WaitReady waits until the sidecar container id listens (it prints a line
// when it does), so that a task container started after it finds its
// metadata endpoint at once. It fails if the sidecar ends first.
func WaitReady(ctx context.Context, logs launcher.LogSource, id string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last string
	for line, err := range logs.Logs(ctx, id, launcher.LogOptions{Follow: true}) {
		if err != nil {
			return fmt.Errorf("sidecar %s: %w", id, err)
		}
		if strings.HasPrefix(line.Text, readyLine) {
			return nil
		}
		last = line.Text
	}
	if ctx.Err() != nil {
		return fmt.Errorf("sidecar %s: not ready: %w", id, ctx.Err())
	}
	return fmt.Errorf("sidecar %s ended before it was ready: %s", id, last)
}
