package registry_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/registry"
)

// Without CreateOnPush, as in ECR, a push into a repository that does not
// exist is refused with ECR's words; once it exists, pushes work.
func TestPushNeedsRepository(t *testing.T) {
	tr := newTestRegistryWith(t, registry.Config{RegistryID: "123456789012"})
	for _, req := range []struct{ method, url string }{
		{"POST", "/v2/" + fixtureRepo + "/blobs/uploads/"},
		{"PUT", "/v2/" + fixtureRepo + "/manifests/v1"},
	} {
		resp := tr.do(t, req.method, req.url, contentType(ociManifest), imageBytes)
		expect(t, req.method+" "+req.url, resp, http.StatusNotFound, "NAME_UNKNOWN")
		if want := "The repository with name '" + fixtureRepo + "' does not exist in the registry with id '123456789012'"; !strings.Contains(string(resp.Body), want) {
			t.Errorf("%s: %s; want %q", req.url, resp.Body, want)
		}
	}
	if err := tr.store.CreateRepository(t.Context(), metadata.Repository{Name: fixtureRepo}); err != nil {
		t.Fatal(err)
	}
	tr.pushBlob(t, fixtureRepo, configBlob)
	tr.pushBlob(t, fixtureRepo, layerBlob)
	tr.pushManifest(t, fixtureRepo, "v1", ociManifest, imageBytes)
}

// An immutable tag is never moved to another image, and re-pushing the
// same image under it is fine; excluded tags stay mutable.
func TestImmutableTags(t *testing.T) {
	tr := newTestRegistry(t)
	err := tr.store.CreateRepository(t.Context(), metadata.Repository{
		Name: fixtureRepo, TagMutability: metadata.ImmutableWithExclusion, MutabilityExclusions: []string{"latest"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.pushBlob(t, fixtureRepo, configBlob)
	tr.pushBlob(t, fixtureRepo, layerBlob)
	tr.pushManifest(t, fixtureRepo, "v1", ociManifest, imageBytes)
	tr.pushManifest(t, fixtureRepo, "latest", ociManifest, imageBytes)
	tr.pushManifest(t, fixtureRepo, "v1", ociManifest, imageBytes) // same image again

	var other map[string]any
	if err := json.Unmarshal(imageBytes, &other); err != nil {
		t.Fatal(err)
	}
	other["annotations"] = map[string]string{"rebuilt": "yes"}
	otherBytes, _ := json.Marshal(other)
	resp := tr.do(t, "PUT", "/v2/"+fixtureRepo+"/manifests/v1", contentType(ociManifest), otherBytes)
	expect(t, "moving immutable v1", resp, http.StatusBadRequest, "TAG_INVALID")
	want := "The image tag 'v1' already exists in the '" + fixtureRepo + "' repository and cannot be overwritten because the repository is immutable."
	if !strings.Contains(string(resp.Body), want) {
		t.Errorf("body %s; want %q", resp.Body, want)
	}
	resp = tr.do(t, "PUT", "/v2/"+fixtureRepo+"/manifests/v2?tag=v1", contentType(ociManifest), otherBytes)
	expect(t, "moving immutable v1 with ?tag=", resp, http.StatusBadRequest, "TAG_INVALID")
	tr.pushManifest(t, fixtureRepo, "latest", ociManifest, otherBytes) // excluded: mutable
}

// An archived image is listed but not served until it is restored.
func TestArchivedImageIsNotServed(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushBlob(t, fixtureRepo, configBlob)
	tr.pushBlob(t, fixtureRepo, layerBlob)
	dgst := tr.pushManifest(t, fixtureRepo, "v1", ociManifest, imageBytes)
	if err := tr.store.SetStorageClass(t.Context(), fixtureRepo, dgst, metadata.StorageClassArchive, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"v1", dgst.String()} {
		resp := tr.do(t, "GET", "/v2/"+fixtureRepo+"/manifests/"+ref, nil, nil)
		expect(t, "GET archived "+ref, resp, http.StatusForbidden, "DENIED")
		if !strings.Contains(string(resp.Body), "archived") {
			t.Errorf("body %s does not say the image is archived", resp.Body)
		}
	}
	if err := tr.store.SetStorageClass(t.Context(), fixtureRepo, dgst, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	expect(t, "GET restored", tr.do(t, "GET", "/v2/"+fixtureRepo+"/manifests/v1", nil, nil), http.StatusOK, "")
}

// Pushed hears of every stored manifest, and only of stored ones.
func TestPushedHook(t *testing.T) {
	var heard []string
	tr := newTestRegistryWith(t, registry.Config{CreateOnPush: true, Pushed: func(_ context.Context, m metadata.Manifest) {
		heard = append(heard, m.Repository+"@"+m.Digest.String())
	}})
	tr.pushBlob(t, fixtureRepo, configBlob)
	tr.pushBlob(t, fixtureRepo, layerBlob)
	dgst := tr.pushManifest(t, fixtureRepo, "v1", ociManifest, imageBytes)
	expect(t, "bad manifest", tr.do(t, "PUT", "/v2/"+fixtureRepo+"/manifests/v2", contentType(ociManifest), []byte("{")), http.StatusBadRequest, "MANIFEST_INVALID")
	if len(heard) != 1 || heard[0] != fixtureRepo+"@"+dgst.String() {
		t.Errorf("Pushed heard %v", heard)
	}
}
