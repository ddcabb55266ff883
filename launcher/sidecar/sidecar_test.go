package sidecar

import (
	"debug/elf"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	if err := PublishTask(dir, []byte(`{"TaskARN":"t"}`)); err != nil {
		t.Fatal(err)
	}
	if err := PublishContainer(dir, "web-1", []byte(`{"Name":"web"}`)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/v4/web-1", 200, `{"Name":"web"}`},
		{"GET", "/v4/web-1/task", 200, `{"TaskARN":"t"}`},
		{"GET", "/v4/other/task", 200, `{"TaskARN":"t"}`},
		{"GET", "/v4/web-2", 404, ""},
		{"GET", "/v4/web-1/stats", 404, ""},
		{"GET", "/v4/task", 404, ""},
		{"GET", "/v4/..%2Fsecret", 404, ""},
		{"GET", "/v4/.tmp-1", 404, ""},
		{"GET", "/v3/web-1", 404, ""},
		{"POST", "/v4/web-1", 405, ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || (tc.body != "" && string(body) != tc.body) {
			t.Errorf("%s %s = %d %q; want %d %q", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.body)
		}
		if tc.code == 200 && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", tc.path, resp.Header.Get("Content-Type"))
		}
	}
	if err := PublishContainer(dir, "../x", nil); err == nil {
		t.Error("a key with a path was published")
	}
}

// FuzzHandler: whatever path a container asks for, the endpoint answers
// only with the files it publishes.
func FuzzHandler(f *testing.F) {
	dir := f.TempDir()
	if err := PublishContainer(dir, "c", []byte("container")); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("other"), 0o644); err != nil {
		f.Fatal(err)
	}
	h := Handler(dir)
	for _, s := range []string{"/v4/c", "/v4/c/task", "/v4/../other", "/v4/c/../../other", "/v4/%2e%2e/other"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = path
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == 200 && rec.Body.String() != "container" {
			t.Fatalf("GET %q served %q", path, rec.Body.String())
		}
	})
}

// TestSharedLibraries: the test binary is itself the sidecar's executable
// under go test; its image must hold what it needs to run.
func TestBuildIncludesWhatTheExecutableNeeds(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(exe)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	needed, _ := f.ImportedLibraries()
	var paths []string
	for _, file := range img.Files {
		paths = append(paths, file.Path)
	}
	if paths[0] != "/berth" {
		t.Fatalf("first file %s", paths[0])
	}
	for _, lib := range needed {
		found := false
		for _, p := range paths {
			found = found || filepath.Base(p) == lib
		}
		if !found {
			t.Errorf("library %s missing from %v", lib, paths)
		}
	}
	t.Logf("dynamic libraries %v; image files %v", needed, paths)
	if len(needed) > 0 && !strings.Contains(strings.Join(img.Config.Env, " "), "LD_LIBRARY_PATH=") {
		t.Errorf("env %v has no LD_LIBRARY_PATH", img.Config.Env)
	}
}
