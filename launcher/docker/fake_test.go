package docker_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
)

// fakeEngine answers the version handshake and then as answer says.
func fakeEngine(t *testing.T, answer http.HandlerFunc) *docker.Runtime {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			w.Header().Set("Api-Version", "1.41")
			return
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	rt, err := docker.New(docker.WithHost("tcp://" + strings.TrimPrefix(srv.URL, "http://")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

func TestFakeEngineErrors(t *testing.T) {
	rt := fakeEngine(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/images/create"):
			// A pull fails inside the 200 stream.
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"Pulling from team/app"}`)
			fmt.Fprintln(w, `{"errorDetail":{"message":"toomanyrequests: slow down"},"error":"toomanyrequests: slow down"}`)
		case strings.HasSuffix(r.URL.Path, "/containers/create"):
			jsonError(w, http.StatusInternalServerError, "disk full")
		case strings.HasSuffix(r.URL.Path, "/images/load"):
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"errorDetail":{"message":"invalid tar header"},"error":"invalid tar header"}`)
		default:
			jsonError(w, http.StatusNotFound, "No such container: abc")
		}
	})
	ctx := t.Context()
	err := rt.Pull(ctx, "127.0.0.1:5000/team/app:1", launcher.RegistryAuth{})
	var pe *launcher.PullError
	if !errors.As(err, &pe) || pe.Message != "toomanyrequests: slow down" || errors.Is(err, launcher.ErrImageNotFound) {
		t.Errorf("pull = %v", err)
	}
	if _, err := rt.Create(ctx, launcher.Spec{Image: "app"}); err == nil || !strings.Contains(err.Error(), "disk full") ||
		errors.Is(err, launcher.ErrInvalidSpec) {
		t.Errorf("create = %v", err)
	}
	if _, err := rt.Inspect(ctx, "abc"); !errors.Is(err, launcher.ErrNotFound) || !strings.Contains(err.Error(), "No such container: abc") {
		t.Errorf("inspect = %v", err)
	}
	if err := rt.LoadImage(ctx, strings.NewReader("not a tar")); err == nil || !strings.Contains(err.Error(), "invalid tar header") {
		t.Errorf("load = %v", err)
	}
}

// TestFakeEngineBrokenLogStream: a log stream cut in the middle of a
// frame is an error, not a silently short log.
func TestFakeEngineBrokenLogStream(t *testing.T) {
	rt := fakeEngine(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		frame := "2026-01-02T03:04:05.000000006Z hello\n"
		w.Write(append([]byte{1, 0, 0, 0, 0, 0, 0, byte(len(frame))}, frame...))
		w.Write([]byte{2, 0, 0, 0, 0, 0, 0, 50, 'x'})
	})
	var lines []launcher.LogLine
	var last error
	for l, err := range rt.Logs(t.Context(), "abc", launcher.LogOptions{}) {
		if err != nil {
			last = err
			break
		}
		lines = append(lines, l)
	}
	if len(lines) != 1 || lines[0].Text != "hello" || lines[0].Time.Nanosecond() != 6 || last == nil {
		t.Fatalf("lines %+v, err %v", lines, last)
	}
}

func TestUnreachableEngine(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	rt, err := docker.New(docker.WithHost("tcp://" + addr))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Ping(t.Context()); !errors.Is(err, launcher.ErrUnavailable) {
		t.Errorf("ping = %v", err)
	}
	if _, err := rt.List(t.Context(), nil); !errors.Is(err, launcher.ErrUnavailable) {
		t.Errorf("list = %v", err)
	}
}
