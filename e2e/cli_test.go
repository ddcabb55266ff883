package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
)

// cliEnv is the environment of berth's remote commands acting as k on
// srv: the key in BERTH_* (and nothing of the machine's own AWS setup),
// and a docker configuration of the test's own.
func cliEnv(t *testing.T, srv *server, k accessKey) []string {
	t.Helper()
	var env []string
	for _, kv := range environWithout("AWS_") {
		if !strings.HasPrefix(kv, "BERTH_") && !strings.HasPrefix(kv, "DOCKER_CONFIG=") && !strings.HasPrefix(kv, "NO_COLOR=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"BERTH_ENDPOINT=http://"+srv.Addr, "BERTH_ACCESS_KEY_ID="+k.ID, "BERTH_SECRET_ACCESS_KEY="+k.Secret,
		"DOCKER_CONFIG="+t.TempDir())
}

// berthCLI runs berth with env and returns its stdout; the test fails
// unless it succeeds.
func berthCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	return runWith(t, time.Minute, func(c *exec.Cmd) { c.Env = env }, berthBin, args...)
}

// pushFiles pushes a one-layer image of files to ref on srv as k, with
// the go-containerregistry library, and returns its digest.
func pushFiles(t *testing.T, srv *server, k accessKey, ref string, files map[string][]byte) string {
	t.Helper()
	img, err := crane.Image(files)
	if err != nil {
		t.Fatal(err)
	}
	auth := &authn.Basic{Username: "AWS", Password: registryToken(t, srv.Addr, k)}
	if err := crane.Push(img, srv.Addr+"/"+ref, crane.Insecure, crane.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// debianImage is an image the scanner finds one HIGH vulnerability in,
// with writeOSV's data.
var debianImage = map[string][]byte{
	"etc/os-release":      []byte("ID=debian\nVERSION_ID=\"12\"\n"),
	"var/lib/dpkg/status": []byte("Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n"),
}

// TestCLILoginThenDockerPull: docker is refused until `berth login`, then
// pushes and pulls with the login berth saved in docker's configuration.
func TestCLILoginThenDockerPull(t *testing.T) {
	requireDocker(t)
	srv := startBerth(t)
	env := cliEnv(t, srv, srv.adminKey(t))
	docker := func(c *exec.Cmd) { c.Env = env }
	berthCLI(t, env, "repo", "create", "e2e/cli")

	greeting := "pulled after berth login " + randomHex(t)
	tag := srv.Addr + "/e2e/cli:1"
	label := "berth.e2e.test=" + t.Name() + "-" + randomHex(t)
	run(t, dockerTimeout, "docker", "build", "--label", label, "-t", tag, helloContext(t, greeting))
	id := strings.TrimSpace(run(t, dockerTimeout, "docker", "image", "inspect", "--format", "{{.Id}}", tag))
	t.Cleanup(func() {
		if _, err := execute(dockerTimeout, nil, "docker", "image", "rm", "--force", id); err != nil && !strings.Contains(err.Error(), "No such image") {
			t.Errorf("removing image %s: %v", id, err)
		}
	})

	if out, err := execute(dockerTimeout, docker, "docker", "push", tag); err == nil || !strings.Contains(err.Error(), "no basic auth credentials") {
		t.Fatalf("docker push before berth login: %v\n%s\nwant no basic auth credentials", err, out)
	}
	if out := berthCLI(t, env, "login"); !strings.HasPrefix(out, "Login Succeeded: "+srv.Addr) {
		t.Errorf("berth login printed %q", out)
	}
	runWith(t, dockerTimeout, docker, "docker", "push", tag)
	pushed := repoDigest(t, tag)
	run(t, dockerTimeout, "docker", "image", "rm", tag)
	runWith(t, dockerTimeout, docker, "docker", "pull", tag)
	if pulled := repoDigest(t, tag); pulled != pushed {
		t.Errorf("pulled %s, pushed %s", pulled, pushed)
	}
	if out := run(t, dockerTimeout, "docker", "run", "--rm", tag); strings.TrimSpace(out) != greeting {
		t.Errorf("the pulled image printed %q; want %q", out, greeting)
	}
	_, digest, _ := strings.Cut(pushed, "@")
	if out := berthCLI(t, env, "image", "ls", "e2e/cli"); !strings.Contains(out, digest) {
		t.Errorf("berth image ls lacks the pushed %s:\n%s", digest, out)
	}
}

// TestCLIErrors: a bad endpoint, wrong credentials and an unknown image
// each end berth with one line on stderr, nothing on stdout, and exit
// status 1.
func TestCLIErrors(t *testing.T) {
	srv := startBerth(t)
	admin := srv.adminKey(t)
	env := cliEnv(t, srv, admin)
	berthCLI(t, env, "repo", "create", "app")
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"bad endpoint", env, []string{"repo", "ls", "--endpoint", "http://" + freeAddr(t)}, "berth: repo ls: cannot reach berth at http://"},
		{"wrong credentials", cliEnv(t, srv, accessKey{admin.ID, "not-the-secret"}), []string{"image", "ls", "app"},
			"berth: image ls: http://" + srv.Addr + " refused access key " + admin.ID + " (from BERTH_ACCESS_KEY_ID): InvalidSignatureException"},
		{"unknown image", env, []string{"image", "describe", "app:nope"}, "berth: image describe: app:nope: ImageNotFoundException: The image with imageId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(berthBin, c.args...)
			cmd.Env = c.env
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("berth %s: %v; want exit status 1", strings.Join(c.args, " "), err)
			}
			if stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), c.want) {
				t.Errorf("berth %s: stdout %q, stderr %q; want one line starting %q", strings.Join(c.args, " "), stdout.String(), stderr.String(), c.want)
			}
		})
	}
}

// TestCLIJSONMatchesAWSCLI: `berth ... -o json` prints what `aws ecr ...
// --output json` prints for the same question, member for member.
func TestCLIJSONMatchesAWSCLI(t *testing.T) {
	awsBin := requireAWSCLI(t)
	t.Setenv("TZ", "UTC") // the aws CLI prints times in the local zone; berth in UTC
	dataDir := t.TempDir()
	run(t, time.Minute, berthBin, "vulndb", "import", writeOSV(t), "--data-dir", dataDir)
	srv := startBerthIn(t, dataDir)
	admin := srv.adminKey(t)
	env := cliEnv(t, srv, admin)
	awsCLI := awsCLI{t, awsBin, "http://" + srv.Addr, admin}

	berthCLI(t, env, "repo", "create", "app", "--tag", "team=e2e")
	pushFiles(t, srv, admin, "app:1", debianImage)
	berthCLI(t, env, "findings", "app:1", "--scan")
	lifecycle := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`
	berthCLI(t, env, "policy", "set", "app", "--lifecycle", lifecycle)
	berthCLI(t, env, "policy", "set", "app", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}`)

	for _, c := range []struct{ berth, aws []string }{
		{[]string{"repo", "describe", "app"}, []string{"describe-repositories", "--repository-names", "app"}},
		{[]string{"repo", "ls"}, []string{"describe-repositories"}},
		{[]string{"image", "describe", "app:1"}, []string{"describe-images", "--repository-name", "app", "--image-ids", "imageTag=1"}},
		{[]string{"image", "ls", "app"}, []string{"describe-images", "--repository-name", "app"}},
		{[]string{"findings", "app:1"}, []string{"describe-image-scan-findings", "--repository-name", "app", "--image-id", "imageTag=1"}},
		{[]string{"policy", "get", "app", "--lifecycle"}, []string{"get-lifecycle-policy", "--repository-name", "app"}},
		{[]string{"policy", "get", "app"}, []string{"get-repository-policy", "--repository-name", "app"}},
	} {
		var printed map[string]any
		out := berthCLI(t, env, append(c.berth, "-o", "json")...)
		if err := json.Unmarshal([]byte(out), &printed); err != nil {
			t.Fatalf("berth %s -o json: %v\n%s", strings.Join(c.berth, " "), err, out)
		}
		want := awsCLI.json(c.aws...)
		if !covers(printed, want) {
			got, _ := json.MarshalIndent(printed, "", "  ")
			w, _ := json.MarshalIndent(want, "", "  ")
			t.Errorf("berth %s -o json printed\n%s\naws ecr %s printed\n%s", strings.Join(c.berth, " "), got, strings.Join(c.aws, " "), w)
		}
	}
}

// covers reports whether document a says all that b says: each member of
// b is in a with the same value (a may have more: the Debian aws CLI's
// model of ECR is older than the SDK's and drops members it does not
// know, such as imageStatus). Two timestamps are the same when within a
// millisecond: the AWS SDK for Go reads an epoch-seconds time by
// truncating it to the millisecond, where the aws CLI rounds.
func covers(a, b any) bool {
	switch b := b.(type) {
	case map[string]any:
		am, ok := a.(map[string]any)
		if !ok {
			return false
		}
		for k, w := range b {
			if v, ok := am[k]; !ok || !covers(v, w) {
				return false
			}
		}
		return true
	case []any:
		al, ok := a.([]any)
		if !ok || len(al) != len(b) {
			return false
		}
		for i := range b {
			if !covers(al[i], b[i]) {
				return false
			}
		}
		return true
	case string:
		as, ok := a.(string)
		if !ok {
			return false
		}
		ta, errA := time.Parse(time.RFC3339Nano, as)
		tb, errB := time.Parse(time.RFC3339Nano, b)
		if errA == nil && errB == nil {
			return ta.Sub(tb).Abs() <= time.Millisecond
		}
		return as == b
	}
	return reflect.DeepEqual(a, b)
}

// TestCLIProgressInTmux runs `berth findings --scan` in a real terminal
// (tmux) and reads the screen it leaves: the progress line was drawn,
// ended with its mark and the scan's status, stands once, and the
// findings follow it on lines of their own. Colour shows on the terminal
// and not with NO_COLOR.
func TestCLIProgressInTmux(t *testing.T) {
	tmux := requireTool(t, "tmux")
	dataDir := t.TempDir()
	run(t, time.Minute, berthBin, "vulndb", "import", writeOSV(t), "--data-dir", dataDir)
	srv := startBerthIn(t, dataDir)
	admin := srv.adminKey(t)
	env := cliEnv(t, srv, admin)
	berthCLI(t, env, "repo", "create", "e2e/progress")
	pushFiles(t, srv, admin, "e2e/progress:1", debianImage)

	// A tmux server of the test's own, so no one else's sessions are
	// touched; its socket goes with the test's temporary directory.
	socket := filepath.Join(t.TempDir(), "tmux.sock")
	tmuxCmd := func(args ...string) string {
		t.Helper()
		return runWith(t, time.Minute, func(c *exec.Cmd) { c.Env = env }, tmux, append([]string{"-S", socket}, args...)...)
	}
	script := filepath.Join(t.TempDir(), "session.sh")
	write(t, script, fmt.Sprintf(`%s findings e2e/progress:1 --scan
echo "EXIT=$?"
%s image ls e2e/progress
NO_COLOR=1 %s image ls e2e/progress
%s -S %s wait-for -S done
sleep 600
`, berthBin, berthBin, berthBin, tmux, socket))
	tmuxCmd("new-session", "-d", "-s", "cli", "-x", "160", "-y", "50", "sh "+script)
	t.Cleanup(func() { execute(time.Minute, nil, tmux, "-S", socket, "kill-server") })
	tmuxCmd("wait-for", "done")
	screen := tmuxCmd("capture-pane", "-p", "-J", "-t", "cli")
	colored := tmuxCmd("capture-pane", "-p", "-e", "-J", "-t", "cli")
	t.Logf("the terminal shows:\n%s", screen)

	bar := regexp.MustCompile(`(?m)^✓ scanning e2e/progress:1 +COMPLETE +\d+\.\ds$`)
	if n := len(bar.FindAllString(screen, -1)); n != 1 {
		t.Errorf("the finished progress line shows %d times; want once", n)
	}
	if strings.ContainsAny(screen, "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏") {
		t.Errorf("a spinner frame is left on the screen")
	}
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if bar.MatchString(l) && (i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "e2e/progress@sha256:")) {
			t.Errorf("the findings do not start on the line after the progress line")
		}
	}
	for _, want := range []string{"HIGH      CVE-2024-0001", "1 findings: 1 HIGH", "EXIT=0"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen lacks %q", want)
		}
	}
	// The first image ls is coloured (its header bold), the second, under
	// NO_COLOR, is not.
	var headers []string
	for _, l := range strings.Split(colored, "\n") {
		if strings.Contains(l, "TAGS") && strings.Contains(l, "DIGEST") {
			headers = append(headers, l)
		}
	}
	if len(headers) != 2 || !strings.Contains(headers[0], "\x1b[1m") || strings.Contains(headers[1], "\x1b[1m") {
		t.Errorf("image ls headers on the terminal, then with NO_COLOR: %q", headers)
	}
}
