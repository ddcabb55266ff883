package e2e

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// dockerTimeout bounds one docker command. The Docker Engine here can pull
// nothing from the internet, so every image these tests build is FROM
// scratch and every push and pull stays on loopback.
const dockerTimeout = 3 * time.Minute

// TestDockerPushPull builds a tiny static program into a FROM scratch image
// tagged for berth, pushes it with the Docker Engine, removes it locally,
// pulls it back and runs it. The Engine treats 127.0.0.0/8 as an insecure
// registry, so it speaks plain HTTP to 127.0.0.1:PORT.
func TestDockerPushPull(t *testing.T) {
	requireDocker(t)
	forEachBackend(t, dockerPushPull)
}

func dockerPushPull(t *testing.T, srv *server) {
	greeting := "hello from berth " + randomHex(t)
	buildDir := helloContext(t, greeting)
	tag := srv.Addr + "/e2e/hello:1"
	t.Cleanup(func() { removeImage(t, tag) })

	run(t, dockerTimeout, "docker", "build", "-t", tag, buildDir)
	run(t, dockerTimeout, "docker", "push", tag)
	pushed := repoDigest(t, tag)
	run(t, dockerTimeout, "docker", "rmi", tag)
	run(t, dockerTimeout, "docker", "pull", tag)
	if pulled := repoDigest(t, tag); pulled != pushed {
		t.Errorf("pulled %s, pushed %s", pulled, pushed)
	}
	out := run(t, dockerTimeout, "docker", "run", "--rm", tag)
	if strings.TrimSpace(out) != greeting {
		t.Errorf("docker run printed %q, want %q", out, greeting)
	}
}

// TestDockerfile builds berth's image from the repository's Dockerfile with
// scripts/docker-build, runs it, waits for /healthz, pushes an image into
// it with crane and pulls it back, then stops the container and checks
// that berth exited cleanly.
func TestDockerfile(t *testing.T) {
	requireDocker(t)
	crane := requireTool(t, "crane")

	suffix := randomHex(t)
	image := "berth-e2e/berth:" + suffix
	t.Cleanup(func() { removeImage(t, image) })
	runWith(t, 5*time.Minute, func(c *exec.Cmd) { c.Dir = repoRoot },
		filepath.Join(repoRoot, "scripts", "docker-build"), image)

	if user := strings.TrimSpace(run(t, dockerTimeout, "docker", "image", "inspect", "--format", "{{.Config.User}}", image)); user != "65532:65532" && user != "65532" {
		t.Errorf("image runs as user %q, want 65532", user)
	}

	container := "berth-e2e-" + suffix
	port := freePort(t)
	run(t, dockerTimeout, "docker", "run", "--detach", "--name", container, "--env", "BERTH_REGISTRY_CREATE_ON_PUSH=true",
		"--publish", fmt.Sprintf("127.0.0.1:%d:5000", port), image)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := execute(dockerTimeout, nil, "docker", "logs", "--tail", "200", container)
			t.Logf("--- docker logs %s:\n%s", container, logs)
		}
		if _, err := execute(dockerTimeout, nil, "docker", "rm", "--force", "--volumes", container); err != nil {
			t.Errorf("removing container: %v", err)
		}
	})

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitHealthy(addr, startTimeout, nil); err != nil {
		t.Fatalf("berth in container %s: %v", container, err)
	}

	// berth's first start, its output not a terminal, names the
	// credentials file rather than printing the secret; that file's key
	// logs crane in.
	logs := run(t, dockerTimeout, "docker", "logs", container)
	if !strings.Contains(logs, "/data/admin-credentials") || credentialLine.MatchString(logs) {
		t.Errorf("the first start's output should name the credentials file and hold no secret:\n%s", logs)
	}
	login(t, addr, parseKey(t, containerFile(t, container, "/data/admin-credentials")))
	src := newImageLayout(t, 1<<20, 64<<10)
	repo := addr + "/e2e/in-container"
	run(t, clientTimeout, crane, "push", "--insecure", src.Dir, repo+":v1")
	out := filepath.Join(t.TempDir(), "out")
	run(t, clientTimeout, crane, "pull", "--insecure", "--format=oci", repo+":v1", out)
	compareLayout(t, src, out, "")

	// docker stop sends SIGTERM; berth must shut down by itself, with
	// status 0, well before docker would resort to SIGKILL.
	run(t, dockerTimeout, "docker", "stop", "--time", "20", container)
	state := strings.TrimSpace(run(t, dockerTimeout, "docker", "inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", container))
	if state != "0 false" {
		t.Errorf("berth in the container exited with code and OOM-kill %q, want \"0 false\"", state)
	}
}

// helloContext writes a docker build context holding a static Go program
// that prints greeting, and a FROM scratch Dockerfile around it.
func helloContext(t *testing.T, greeting string) string {
	t.Helper()
	src := t.TempDir()
	write(t, filepath.Join(src, "go.mod"), "module hello\n\ngo 1.22\n")
	write(t, filepath.Join(src, "main.go"), fmt.Sprintf(
		"package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(%q) }\n", greeting))

	buildDir := t.TempDir()
	runWith(t, 2*time.Minute, func(c *exec.Cmd) {
		c.Dir = src
		c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH,
			"GOFLAGS=", "GOWORK=off")
	}, "go", "build", "-trimpath", "-o", filepath.Join(buildDir, "hello"), ".")
	write(t, filepath.Join(buildDir, "Dockerfile"),
		"FROM scratch\nCOPY hello /hello\nENTRYPOINT [\"/hello\"]\n")
	return buildDir
}

// repoDigest is the registry digest the Docker Engine recorded for tag.
func repoDigest(t *testing.T, tag string) string {
	t.Helper()
	out := run(t, dockerTimeout, "docker", "image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", tag)
	for _, d := range strings.Fields(out) {
		if name, _, ok := strings.Cut(d, "@"); ok && strings.HasPrefix(tag, name+":") {
			return d
		}
	}
	t.Fatalf("docker has no repo digest for %s: %q", tag, out)
	return ""
}

// removeImage removes a local image if it is there.
func removeImage(t *testing.T, ref string) {
	if _, err := execute(dockerTimeout, nil, "docker", "image", "rm", "--force", ref); err != nil &&
		!strings.Contains(err.Error(), "No such image") {
		t.Errorf("removing image %s: %v", ref, err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// containerFile is the text of the file at path in container, read with
// docker cp (which works on a FROM scratch image with no shell).
func containerFile(t *testing.T, container, path string) string {
	t.Helper()
	archive := run(t, dockerTimeout, "docker", "cp", container+":"+path, "-")
	r := tar.NewReader(strings.NewReader(archive))
	if _, err := r.Next(); err != nil {
		t.Fatalf("docker cp %s:%s: %v", container, path, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("docker cp %s:%s: %v", container, path, err)
	}
	return string(b)
}
