// Package sidecar is the small container that holds an ECS task's network
// namespace (the job ECS gives its "pause" container). The task's
// containers join it (`NetworkMode: container:<sidecar>`) and so reach each
// other on localhost; its ports are the task's, published on 127.0.0.1;
// and it serves the task metadata endpoint on 127.0.0.1 inside the
// namespace, from JSON files berth keeps current in a directory mounted
// into it. No container ever calls back to the host over a private
// address, which is why the endpoint lives here and not in berth.
//
// The sidecar is berth itself: its image is made of berth's own
// executable (see [Image]), and the program is [Main], which berth runs
// for the hidden `berth sidecar` command.
package sidecar

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// Port is where the sidecar serves the metadata endpoint on 127.0.0.1 in
// the task's namespace. It is ECS agent's introspection port, which no
// task container expects to own.
const Port = 51678

// MountPath is where the metadata directory is mounted in the sidecar.
const MountPath = "/metadata"

// EnvVar is set to "1" in the sidecar image. A test binary that serves as
// the sidecar under `go test` checks it in TestMain ([RunIfRequested]).
const EnvVar = "BERTH_SIDECAR"

// readyLine is what the sidecar prints once it listens; [WaitReady] waits for it.
const readyLine = "berth sidecar ready"

// MetadataURI is ECS_CONTAINER_METADATA_URI_V4 for the container whose
// metadata file is key.
func MetadataURI(key string) string {
	return "http://127.0.0.1:" + strconv.Itoa(Port) + "/v4/" + key
}

// Spec is the sidecar's container: image (from [Image.Ensure]), dir (the
// host directory of metadata files, mounted read-only), the task's port
// mappings and its owner (the role is set to sidecar).
func Spec(image, dir string, ports []launcher.PortMapping, owner launcher.Owner) launcher.Spec {
	owner.Role = launcher.RoleSidecar
	return launcher.Spec{
		Image: image,
		Cmd:   []string{"-dir", MountPath, "-listen", "127.0.0.1:" + strconv.Itoa(Port)},
		Owner: owner,
		Ports: ports,
		Binds: []launcher.Bind{{Source: dir, Target: MountPath, ReadOnly: true}},
		// It only reads, and must never compete with the task for CPU.
		ReadOnlyRootfs: true,
		Limits:         launcher.Limits{CPUShares: 2},
	}
}

// Main runs the sidecar program with args (the flags after the word
// "sidecar") until SIGTERM or SIGINT, and returns the exit code.
func Main(args []string) int {
	fs := flag.NewFlagSet("berth sidecar", flag.ContinueOnError)
	dir := fs.String("dir", MountPath, "directory of the metadata files")
	listen := fs.String("listen", "127.0.0.1:"+strconv.Itoa(Port), "address of the metadata endpoint")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, *listen, *dir, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "berth sidecar:", err)
		return 1
	}
	return 0
}

// RunIfRequested turns a test binary into the sidecar when it was started
// as one (in the sidecar image, whose executable under `go test` is the
// test binary). Call it first in TestMain; it returns when not.
func RunIfRequested() {
	if os.Getenv(EnvVar) == "1" && len(os.Args) > 1 && os.Args[1] == "sidecar" {
		os.Exit(Main(os.Args[2:]))
	}
}

func serve(ctx context.Context, addr, dir string, out io.Writer) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Handler(dir), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "%s on %s\n", readyLine, l.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// keyPattern is what a metadata key may be: a file name, never a path.
var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// validKey reports whether key may name a container's metadata file.
func validKey(key string) bool { return keyPattern.MatchString(key) && key != "task" }

// Handler serves the task metadata endpoint (v4) from the files in dir:
//
//	GET /v4/{key}            {key}.json         the container's metadata
//	GET /v4/{key}/task       task.json          the task's metadata
//	GET /v4/{key}/stats      {key}.stats.json   the container's stats
//	GET /v4/{key}/task/stats task.stats.json    the task's stats
func Handler(dir string) http.Handler {
	mux := http.NewServeMux()
	file := func(name func(key string) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			key := r.PathValue("key")
			if !validKey(key) {
				http.Error(w, "no such container", http.StatusNotFound)
				return
			}
			serveFile(w, r, filepath.Join(dir, name(key)))
		}
	}
	mux.Handle("GET /v4/{key}", file(func(k string) string { return k + ".json" }))
	mux.Handle("GET /v4/{key}/task", file(func(string) string { return "task.json" }))
	mux.Handle("GET /v4/{key}/stats", file(func(k string) string { return k + ".stats.json" }))
	mux.Handle("GET /v4/{key}/task/stats", file(func(string) string { return "task.stats.json" }))
	return mux
}

func serveFile(w http.ResponseWriter, r *http.Request, path string) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		http.Error(w, "no such container", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "metadata unavailable", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.Error(w, "no such container", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// PublishTask writes the task's metadata document into dir, atomically,
// so the sidecar never serves half a file.
func PublishTask(dir string, doc []byte) error { return publish(dir, "task.json", doc) }

// PublishContainer writes the metadata document of the container whose
// key (in [MetadataURI]) is key.
func PublishContainer(dir, key string, doc []byte) error {
	if !validKey(key) {
		return fmt.Errorf("sidecar: %q is not a metadata key", key)
	}
	return publish(dir, key+".json", doc)
}

func publish(dir, name string, doc []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(doc); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
