package client

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/client/clienttest"
)

func TestStoreDockerLoginInConfigFile(t *testing.T) {
	clienttest.Isolate(t)
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	// What else is in config.json stays.
	write(t, filepath.Join(dir, "config.json"), `{"auths":{"other.example.com":{"auth":"b3RoZXI6cHc="}},"detachKeys":"ctrl-q"}`)
	where, err := StoreDockerLogin("http://localhost:5000", Login{Username: "AWS", Password: "token", ExpiresAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if where != filepath.Join(dir, "config.json") {
		t.Errorf("saved in %q", where)
	}
	var cf struct {
		Auths      map[string]struct{ Auth string }
		DetachKeys string
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if err := json.Unmarshal(b, &cf); err != nil {
		t.Fatal(err)
	}
	got, _ := base64.StdEncoding.DecodeString(cf.Auths["localhost:5000"].Auth)
	if string(got) != "AWS:token" || cf.Auths["other.example.com"].Auth == "" || cf.DetachKeys != "ctrl-q" {
		t.Errorf("config.json after login: %s", b)
	}
}

// TestStoreDockerLoginInHelper: with a credential helper named for the
// registry, the secret goes to the helper and never into config.json.
func TestStoreDockerLoginInHelper(t *testing.T) {
	clienttest.Isolate(t)
	dir, bin := t.TempDir(), t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	stored := filepath.Join(t.TempDir(), "stored")
	// A helper that keeps what docker's protocol hands its "store".
	write(t, filepath.Join(bin, "docker-credential-test"), "#!/bin/sh\n[ \"$1\" = store ] && cat > "+stored+"\n")
	os.Chmod(filepath.Join(bin, "docker-credential-test"), 0o755)
	write(t, filepath.Join(dir, "config.json"), `{"credHelpers":{"localhost:5000":"test"}}`)

	where, err := StoreDockerLogin("localhost:5000", Login{Username: "AWS", Password: "the-token"})
	if err != nil || where != "docker-credential-test" {
		t.Fatalf("StoreDockerLogin: %q, %v", where, err)
	}
	var creds struct{ ServerURL, Username, Secret string }
	b, _ := os.ReadFile(stored)
	if err := json.Unmarshal(b, &creds); err != nil || creds != (struct{ ServerURL, Username, Secret string }{"localhost:5000", "AWS", "the-token"}) {
		t.Errorf("the helper got %s (%v)", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); strings.Contains(string(b), "the-token") || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("AWS:the-token"))) {
		t.Errorf("config.json holds the secret: %s", b)
	}
}

func TestStoreDockerLoginKeepsABrokenConfig(t *testing.T) {
	clienttest.Isolate(t)
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	write(t, filepath.Join(dir, "config.json"), `{"auths": {`)
	if _, err := StoreDockerLogin("localhost:5000", Login{Username: "AWS", Password: "token"}); err == nil || !strings.Contains(err.Error(), "docker's configuration") {
		t.Errorf("StoreDockerLogin over a broken config.json: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(b) != `{"auths": {` {
		t.Errorf("the broken config.json was rewritten: %s", b)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
