package e2e

import (
	"fmt"
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
