package docker_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPullIndexByDigestWithAuth: the engine pulls through a registry that
// wants credentials (given in X-Registry-Auth), and a pull by the digest
// of a multi-platform index gets this machine's platform.
func TestPullIndexByDigestWithAuth(t *testing.T) {
	t.Parallel()
	rt := newEngine(t)
	const user, password = "AWS", "short-lived-token"
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")

	platformImage := func(arch string) v1.Image {
		img, err := random.Image(1024, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf.OS, cf.Architecture = "linux", arch
		cf.Config.Labels = launcher.Owner{Service: "test", Task: t.Name()}.Labels()
		img, err = mutate.ConfigFile(img, cf)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	other := "s390x"
	if runtime.GOARCH == other {
		other = "amd64"
	}
	mine, theirs := platformImage(runtime.GOARCH), platformImage(other)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: theirs, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
		mutate.IndexAddendum{Add: mine, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
	)
	ref, err := name.ParseReference(host + "/team/multi:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatal(err)
	}
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	byDigest := host + "/team/multi@" + digest.String()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	err = rt.Pull(ctx, byDigest, launcher.RegistryAuth{})
	var pe *launcher.PullError
	if !errors.As(err, &pe) || errors.Is(err, launcher.ErrImageNotFound) {
		t.Fatalf("anonymous pull = %v; want a PullError that is not 'not found'", err)
	}
	if err := rt.Pull(ctx, byDigest, launcher.RegistryAuth{Username: user, Password: password}); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}
	id, err := rt.ImageID(ctx, byDigest)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.RemoveImage(context.Background(), id); err != nil {
			t.Errorf("remove image: %v", err)
		}
	})
	want, _ := mine.ConfigName()
	if id != want.String() {
		theirID, _ := theirs.ConfigName()
		t.Fatalf("pulled image %s; want this platform's %s (the other is %s)", id, want, theirID)
	}
}
