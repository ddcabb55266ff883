package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The yardstick ("ceiling") is a minimal server: this same program, re-run
// with -internal-file-server, doing only the work no registry can skip —
// hash and write pushed bytes, send stored files with sendfile — and keeping
// no index. On a quiet machine it is about the fastest push and pull this
// client can get, so it shows roughly the best ratio a registry could reach
// against Distribution here.

// ceilingDir lays out the large image for the minimal server: blobs/<digest>
// (hard links to the layer files) and manifests/<tag>, for the pulls.
func ceilingDir(root string, im *image) (string, error) {
	dir := filepath.Join(root, "ceiling")
	if err := os.MkdirAll(filepath.Join(dir, "blobs"), 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "manifests"), 0o755); err != nil {
		return "", err
	}
	for _, l := range im.layers {
		dst := filepath.Join(dir, "blobs", l.digest)
		if err := os.Link(l.path, dst); err != nil {
			if err := os.Symlink(l.path, dst); err != nil {
				return "", err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "blobs", im.config.digest), im.config.data, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifests", manifestKey(im.repo, im.tag)), im.manifest, 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// manifestKey names a manifest's file: repository and tag in one name.
func manifestKey(repo, tag string) string {
	return strings.ReplaceAll(repo, "/", "_") + "_" + tag
}

// startCeiling runs this program as the static file server.
func startCeiling(ctx context.Context, root, dir string) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		return spawn(ctx, "ceiling (minimal server)", root, "/healthz", addr, self,
			"-internal-file-server", dir, "-internal-listen", addr)
	})
}

// serveFiles is the minimal server's main. Until SIGTERM it answers, from
// dir: GET /v2/<name>/manifests/<tag> and GET /v2/<name>/blobs/<digest>
// (files sent with sendfile), and the docker push sequence with nothing but
// the essential work: POST opens a file, PATCH appends while hashing, PUT
// ?digest= checks the hash and renames the file; PUT of a manifest writes it.
// There is no index, no repository scoping and no validation beyond digests.
func serveFiles(dir, addr string) error {
	mux, err := minimalHandler(dir)
	if err != nil {
		return err
	}
	return serveUntilSignal(addr, mux)
}

// serveUntilSignal serves h on addr, which must be on the loopback
// interface, until SIGTERM or an interrupt, then shuts down: the main of
// the bench's own servers.
func serveUntilSignal(addr string, h http.Handler) error {
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		return errors.New("-internal-listen must be on 127.0.0.1")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// minimalHandler is the minimal server's HTTP handler over dir.
func minimalHandler(dir string) (http.Handler, error) {
	for _, sub := range []string{"blobs", "manifests", "uploads"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	safe := func(s string) bool {
		return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\")
	}
	var (
		mu      sync.Mutex
		hashes  = map[string]hash.Hash{}
		nextID  int
		bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}
	)
	fail := func(w http.ResponseWriter, code int, err error) { http.Error(w, err.Error(), code) }
	serve := func(w http.ResponseWriter, r *http.Request, path, ctype string) {
		f, err := os.Open(path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", ctype)
		http.ServeContent(w, r, "", time.Time{}, f)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /v2/{name...}", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.PathValue("name"), "/")
		if len(parts) < 3 || !safe(parts[len(parts)-1]) {
			http.NotFound(w, r)
			return
		}
		kind, ref := parts[len(parts)-2], parts[len(parts)-1]
		switch kind {
		case "manifests":
			path := filepath.Join(dir, "manifests", manifestKey(strings.Join(parts[:len(parts)-2], "/"), ref))
			raw, err := os.ReadFile(path)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Docker-Content-Digest", sha256Digest(raw))
			w.Header().Set("Content-Type", mediaOCIManifest)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(raw))
		case "blobs":
			w.Header().Set("Docker-Content-Digest", ref)
			serve(w, r, filepath.Join(dir, "blobs", ref), "application/octet-stream")
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("POST /v2/{name...}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		nextID++
		id := strconv.Itoa(nextID)
		hashes[id] = sha256.New()
		mu.Unlock()
		if err := os.WriteFile(filepath.Join(dir, "uploads", id), nil, 0o644); err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Location", r.URL.Path+id)
		w.WriteHeader(http.StatusAccepted)
	})
	upload := func(r *http.Request) (string, hash.Hash) {
		id := filepath.Base(r.URL.Path)
		mu.Lock()
		defer mu.Unlock()
		return id, hashes[id]
	}
	mux.HandleFunc("PATCH /v2/{name...}", func(w http.ResponseWriter, r *http.Request) {
		id, h := upload(r)
		if h == nil {
			http.NotFound(w, r)
			return
		}
		f, err := os.OpenFile(filepath.Join(dir, "uploads", id), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		// Fill the whole buffer before hashing and writing it, so the file
		// gets few large writes whatever size the client's chunks are.
		buf := bufPool.Get().(*[]byte)
		for {
			n, rerr := io.ReadFull(r.Body, *buf)
			h.Write((*buf)[:n])
			if _, err = f.Write((*buf)[:n]); err != nil {
				break
			}
			if rerr != nil {
				if rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
					err = rerr
				}
				break
			}
		}
		bufPool.Put(buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		w.Header().Set("Location", r.URL.Path)
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("PUT /v2/{name...}", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(r.PathValue("name"), "/")
		if len(parts) >= 3 && parts[len(parts)-2] == "manifests" && safe(parts[len(parts)-1]) {
			raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
			if err == nil {
				key := manifestKey(strings.Join(parts[:len(parts)-2], "/"), parts[len(parts)-1])
				err = os.WriteFile(filepath.Join(dir, "manifests", key), raw, 0o644)
			}
			if err != nil {
				fail(w, http.StatusInternalServerError, err)
				return
			}
			w.Header().Set("Docker-Content-Digest", sha256Digest(raw))
			w.WriteHeader(http.StatusCreated)
			return
		}
		id, h := upload(r)
		dgst := r.URL.Query().Get("digest")
		if h == nil || !safe(dgst) {
			http.NotFound(w, r)
			return
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != dgst {
			fail(w, http.StatusBadRequest, fmt.Errorf("digest %s, want %s", got, dgst))
			return
		}
		if err := os.Rename(filepath.Join(dir, "uploads", id), filepath.Join(dir, "blobs", dgst)); err != nil {
			fail(w, http.StatusInternalServerError, err)
			return
		}
		mu.Lock()
		delete(hashes, id)
		mu.Unlock()
		w.Header().Set("Docker-Content-Digest", dgst)
		w.WriteHeader(http.StatusCreated)
	})
	return mux, nil
}
