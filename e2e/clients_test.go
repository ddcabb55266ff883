package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// clientTimeout bounds one client command: a push or pull of a few MiB over
// loopback takes well under a second.
const clientTimeout = 2 * time.Minute

// testArtifacts is what the client round trips push: a multi-layer image
// and a two-platform index.
func testArtifacts(t *testing.T) []*testLayout {
	t.Helper()
	return []*testLayout{
		newImageLayout(t, 0, 300<<10, 6<<20),
		newIndexLayout(t),
	}
}

// TestSkopeoRoundTrip copies an image and a multi-platform index from an
// OCI layout into berth with skopeo and back out into a new layout, and
// checks that every manifest and blob came back byte for byte.
func TestSkopeoRoundTrip(t *testing.T) {
	skopeo := requireTool(t, "skopeo")
	forEachBackend(t, func(t *testing.T, srv *server) { skopeoRoundTrip(t, skopeo, srv) })
}

func skopeoRoundTrip(t *testing.T, skopeo string, srv *server) {
	for _, src := range testArtifacts(t) {
		t.Run(src.Ref, func(t *testing.T) {
			remote := fmt.Sprintf("docker://%s/skopeo/%s", srv.Addr, src.Ref)
			// --preserve-digests makes skopeo fail rather than convert.
			run(t, clientTimeout, skopeo, "copy", "--insecure-policy", "--all", "--preserve-digests",
				"--dest-tls-verify=false", "oci:"+src.Dir+":"+src.Ref, remote+":v1")

			out := filepath.Join(t.TempDir(), "out")
			run(t, clientTimeout, skopeo, "copy", "--insecure-policy", "--all", "--preserve-digests",
				"--src-tls-verify=false", remote+":v1", "oci:"+out+":"+src.Ref)
			compareLayout(t, src, out, src.Ref)

			raw := run(t, clientTimeout, skopeo, "inspect", "--raw", "--tls-verify=false",
				remote+"@"+src.Root.Digest.String())
			if want := string(src.bytes(t, src.Root)); raw != want {
				t.Errorf("skopeo inspect --raw by digest returned\n%s\nwant\n%s", raw, want)
			}

			tags := run(t, clientTimeout, skopeo, "list-tags", "--tls-verify=false", remote)
			if !strings.Contains(tags, `"v1"`) {
				t.Errorf("skopeo list-tags %s lacks v1:\n%s", remote, tags)
			}
		})
	}
}

// TestCraneRoundTrip pushes an image and a multi-platform index from an
// OCI layout into berth with crane, reads every manifest and blob back by
// digest, copies it to another repository and pulls that copy back into a
// new layout, checking every byte.
func TestCraneRoundTrip(t *testing.T) {
	crane := requireTool(t, "crane")
	forEachBackend(t, func(t *testing.T, srv *server) { craneRoundTrip(t, crane, srv) })
}

func craneRoundTrip(t *testing.T, crane string, srv *server) {
	for _, src := range testArtifacts(t) {
		t.Run(src.Ref, func(t *testing.T) {
			repo := fmt.Sprintf("%s/crane/%s", srv.Addr, src.Ref)
			pushed := strings.TrimSpace(run(t, clientTimeout, crane, "push", "--insecure", src.Dir, repo+":v1"))
			if want := repo + "@" + src.Root.Digest.String(); pushed != want {
				t.Errorf("crane push printed %q, want %q", pushed, want)
			}
			if got := strings.TrimSpace(run(t, clientTimeout, crane, "digest", "--insecure", repo+":v1")); got != src.Root.Digest.String() {
				t.Errorf("crane digest %s:v1 = %s, want %s", repo, got, src.Root.Digest)
			}
			compareContents(t, src, func(b blob) ([]byte, error) {
				verb := "blob"
				if b.Manifest {
					verb = "manifest"
				}
				out, err := execute(clientTimeout, nil, crane, verb, "--insecure", repo+"@"+b.Digest.String())
				return []byte(out), err
			})

			// A copy to another repository of the same registry mounts the
			// blobs rather than uploading them again.
			copyRepo := fmt.Sprintf("%s/crane/copy-%s", srv.Addr, src.Ref)
			run(t, clientTimeout, crane, "copy", "--insecure", repo+":v1", copyRepo+":v2")
			out := filepath.Join(t.TempDir(), "out")
			run(t, clientTimeout, crane, "pull", "--insecure", "--format=oci", copyRepo+":v2", out)
			compareLayout(t, src, out, "")

			tags := strings.Fields(run(t, clientTimeout, crane, "ls", "--insecure", copyRepo))
			if !slices.Equal(tags, []string{"v2"}) {
				t.Errorf("crane ls %s = %q, want [v2]", copyRepo, tags)
			}
		})
	}
}

// ecrLogin logs a client in to srv the way the ECR documentation says:
// `aws ecr get-login-password | CLIENT login --username AWS
// --password-stdin`. loginArgs is the client's login command without the
// credentials.
func ecrLogin(t *testing.T, awsCLI string, srv *server, env []string, loginArgs ...string) {
	t.Helper()
	password := runWith(t, time.Minute, func(c *exec.Cmd) { c.Env = awsEnv(srv.adminKey(t)) },
		awsCLI, "ecr", "get-login-password", "--endpoint-url", "http://"+srv.Addr)
	runWith(t, clientTimeout, func(c *exec.Cmd) { c.Env, c.Stdin = env, strings.NewReader(password) },
		loginArgs[0], append(loginArgs[1:], "--username", "AWS", "--password-stdin", srv.Addr)...)
}

// TestOrasArtifactWithReferrer: oras, logged in with an ECR token, pushes
// an artifact, attaches an SBOM to it, discovers the SBOM as its referrer
// and pulls both back byte for byte.
func TestOrasArtifactWithReferrer(t *testing.T) {
	oras := requireTool(t, "oras")
	awsCLI := requireAWSCLI(t)
	forEachBackend(t, func(t *testing.T, srv *server) { orasArtifactWithReferrer(t, oras, awsCLI, srv) })
}

func orasArtifactWithReferrer(t *testing.T, oras, awsCLI string, srv *server) {
	const (
		artifactType = "application/vnd.berth.test.artifact"
		sbomType     = "application/vnd.berth.test.sbom"
		artifact     = "an artifact berth holds\n"
		sbom         = `{"packages":["berth"]}`
	)
	dir := t.TempDir()
	write(t, filepath.Join(dir, "artifact.txt"), artifact)
	write(t, filepath.Join(dir, "sbom.json"), sbom)
	// A credentials file of its own, so only the ECR login counts.
	creds := filepath.Join(t.TempDir(), "oras.json")
	orasArgs := func(args ...string) []string { return append(args, "--registry-config", creds, "--plain-http") }
	orasRun := func(args ...string) string {
		t.Helper()
		return runWith(t, clientTimeout, func(c *exec.Cmd) { c.Dir = dir }, oras, orasArgs(args...)...)
	}

	ref := srv.Addr + "/oras/artifact:v1"
	if out, err := execute(clientTimeout, func(c *exec.Cmd) { c.Dir = dir }, oras, orasArgs("push", ref, "artifact.txt")...); err == nil {
		t.Fatalf("oras push before logging in succeeded:\n%s", out)
	}
	ecrLogin(t, awsCLI, srv, os.Environ(), oras, "login", "--registry-config", creds, "--plain-http")
	orasRun("push", ref, "--artifact-type", artifactType, "artifact.txt:text/plain")
	orasRun("attach", ref, "--artifact-type", sbomType, "sbom.json:application/json")

	var found struct {
		Referrers []struct {
			Digest       string `json:"digest"`
			ArtifactType string `json:"artifactType"`
		} `json:"referrers"`
	}
	out := orasRun("discover", ref, "--format", "json")
	if err := json.Unmarshal([]byte(out), &found); err != nil {
		t.Fatalf("oras discover --format json: %v\n%s", err, out)
	}
	if len(found.Referrers) != 1 || found.Referrers[0].ArtifactType != sbomType {
		t.Fatalf("oras discover found %+v; want one referrer of type %s\n%s", found.Referrers, sbomType, out)
	}
	if out := orasRun("discover", ref, "--format", "json", "--artifact-type", "application/vnd.other"); strings.Contains(out, sbomType) {
		t.Errorf("oras discover --artifact-type application/vnd.other listed the SBOM:\n%s", out)
	}

	pulled := t.TempDir()
	orasRun("pull", ref, "--output", pulled)
	orasRun("pull", srv.Addr+"/oras/artifact@"+found.Referrers[0].Digest, "--output", pulled)
	for name, want := range map[string]string{"artifact.txt": artifact, "sbom.json": sbom} {
		got, err := os.ReadFile(filepath.Join(pulled, name))
		if err != nil || string(got) != want {
			t.Errorf("oras pull: %s holds %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestHelmChartPushPull: helm, logged in with an ECR token, pushes a chart
// it created to berth as an OCI artifact and pulls the same package back.
func TestHelmChartPushPull(t *testing.T) {
	helm := requireTool(t, "helm")
	awsCLI := requireAWSCLI(t)
	forEachBackend(t, func(t *testing.T, srv *server) { helmChartPushPull(t, helm, awsCLI, srv) })
}

func helmChartPushPull(t *testing.T, helm, awsCLI string, srv *server) {
	home := t.TempDir()
	// helm's own directories, and no docker login, so only the ECR login
	// counts.
	env := append(environWithout("DOCKER_CONFIG="),
		"DOCKER_CONFIG="+filepath.Join(home, "docker"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"HELM_REGISTRY_CONFIG="+filepath.Join(home, "registry.json"))
	helmRun := func(args ...string) string {
		t.Helper()
		return runWith(t, clientTimeout, func(c *exec.Cmd) { c.Dir, c.Env = home, env }, helm, args...)
	}
	helmRun("create", "berth-e2e")
	helmRun("package", "berth-e2e", "--version", "0.1.0", "--destination", "packaged")
	pkg := filepath.Join(home, "packaged", "berth-e2e-0.1.0.tgz")
	want, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}

	if out, err := execute(clientTimeout, func(c *exec.Cmd) { c.Env = env }, helm, "push", pkg, "oci://"+srv.Addr+"/charts", "--plain-http"); err == nil {
		t.Fatalf("helm push before logging in succeeded:\n%s", out)
	}
	ecrLogin(t, awsCLI, srv, env, helm, "registry", "login", "--plain-http")
	out := helmRun("push", pkg, "oci://"+srv.Addr+"/charts", "--plain-http")
	if !strings.Contains(out, "Pushed: "+srv.Addr+"/charts/berth-e2e:0.1.0") {
		t.Errorf("helm push printed %q", out)
	}
	if err := os.Mkdir(filepath.Join(home, "pulled"), 0o755); err != nil { // helm pull wants it there
		t.Fatal(err)
	}
	helmRun("pull", "oci://"+srv.Addr+"/charts/berth-e2e", "--version", "0.1.0", "--plain-http", "--destination", "pulled")
	got, err := os.ReadFile(filepath.Join(home, "pulled", "berth-e2e-0.1.0.tgz"))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("helm pull returned %d bytes (%v); want the %d bytes pushed", len(got), err, len(want))
	}
	if out := helmRun("show", "chart", "oci://"+srv.Addr+"/charts/berth-e2e", "--version", "0.1.0", "--plain-http"); !strings.Contains(out, "name: berth-e2e") {
		t.Errorf("helm show chart printed %q", out)
	}
}
