package registry_test

import (
	"bytes"
	"net/http"
	"path"
	"strconv"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/registry"
)

// expectManifest checks that reference in repo serves body with
// mediaType and the headers a client relies on.
func (tr *testRegistry) expectManifest(t *testing.T, repo, reference, mediaType string, body []byte) {
	t.Helper()
	d := digest.FromBytes(body)
	for _, method := range []string{"HEAD", "GET"} {
		resp := tr.do(t, method, "/v2/"+repo+"/manifests/"+reference, nil, nil)
		expect(t, method+" "+reference, resp, http.StatusOK, "")
		for k, want := range map[string]string{
			"Content-Type":          mediaType,
			"Docker-Content-Digest": d.String(),
			"ETag":                  `"` + d.String() + `"`,
			"Content-Length":        strconv.Itoa(len(body)),
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s %s: %s %q; want %q", method, reference, k, got, want)
			}
		}
		if method == "GET" && !bytes.Equal(resp.Body, body) {
			t.Errorf("GET %s: body %s; want the bytes pushed, %s", reference, resp.Body, body)
		}
	}
}

// Every kind of manifest berth stores round-trips byte for byte, with its
// media type.
func TestManifestKinds(t *testing.T) {
	dockerImage := manifest{
		SchemaVersion: 2, MediaType: dockerManifest,
		Config: &descriptor{MediaType: dockerConfig, Digest: configDigest, Size: int64(len(configBlob))},
		Layers: []descriptor{{MediaType: dockerLayer, Digest: layerDigest, Size: int64(len(layerBlob))}},
	}
	platform := map[string]string{"architecture": "amd64", "os": "linux"}
	emptyConfig := []byte("{}")

	tests := []struct {
		name      string
		mediaType string // Content-Type of the PUT
		wantType  string // Content-Type served
		// children are pushed first, by digest, with their media types.
		children []manifest
		body     manifest
	}{
		{name: "Docker schema 2", mediaType: dockerManifest, wantType: dockerManifest, body: dockerImage},
		{name: "Docker manifest list", mediaType: dockerList, wantType: dockerList,
			children: []manifest{dockerImage},
			body: manifest{SchemaVersion: 2, MediaType: dockerList, Manifests: []descriptor{
				{MediaType: dockerManifest, Digest: digest.FromBytes(dockerImage.bytes()), Size: int64(len(dockerImage.bytes())), Platform: platform},
			}}},
		{name: "OCI image", mediaType: ociManifest, wantType: ociManifest, body: fixtureImage},
		{name: "OCI image without mediaType", mediaType: ociManifest, wantType: ociManifest,
			body: manifest{SchemaVersion: 2, Config: &imageConfig, Layers: []descriptor{imageLayer}}},
		{name: "OCI image without either media type", wantType: ociManifest,
			body: manifest{SchemaVersion: 2, Config: &imageConfig, Layers: []descriptor{imageLayer}}},
		{name: "OCI index", mediaType: ociIndex, wantType: ociIndex,
			children: []manifest{fixtureImage},
			body: manifest{SchemaVersion: 2, MediaType: ociIndex, Manifests: []descriptor{
				{MediaType: ociManifest, Digest: imageDigest, Size: int64(len(imageBytes)), Platform: platform},
			}}},
		{name: "OCI index without either media type", wantType: ociIndex,
			children: []manifest{fixtureImage},
			body:     manifest{SchemaVersion: 2, Manifests: []descriptor{descriptorOf(ociManifest, imageBytes)}}},
		{name: "empty OCI index", mediaType: ociIndex, wantType: ociIndex,
			body: manifest{SchemaVersion: 2, MediaType: ociIndex, Manifests: []descriptor{}}},
		{name: "artifact", mediaType: ociManifest, wantType: ociManifest,
			body: manifest{
				SchemaVersion: 2, MediaType: ociManifest, ArtifactType: "application/vnd.example.sbom.v1+json",
				Config: ptr(descriptorOf(ociEmpty, emptyConfig)),
				Layers: []descriptor{descriptorOf("application/spdx+json", layerBlob)},
			}},
		{name: "artifact typed by its config", mediaType: ociManifest, wantType: ociManifest,
			body: manifest{
				SchemaVersion: 2, MediaType: ociManifest,
				Config: ptr(descriptorOf("application/vnd.cncf.helm.config.v1+json", configBlob)),
				Layers: []descriptor{descriptorOf("application/vnd.cncf.helm.chart.content.v1.tar+gzip", layerBlob)},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			for _, b := range [][]byte{configBlob, layerBlob, emptyConfig} {
				tr.pushBlob(t, "library/app", b)
			}
			for _, c := range tt.children {
				tr.pushManifest(t, "library/app", digest.FromBytes(c.bytes()).String(), c.MediaType, c.bytes())
			}
			body := tt.body.bytes()
			d := tr.pushManifest(t, "library/app", "latest", tt.mediaType, body)
			if d != digest.FromBytes(body) {
				t.Errorf("Docker-Content-Digest %s; want %s", d, digest.FromBytes(body))
			}
			tr.expectManifest(t, "library/app", "latest", tt.wantType, body)
			tr.expectManifest(t, "library/app", d.String(), tt.wantType, body)
		})
	}
}

// A manifest pushed by a sha512 digest, of sha512 blobs, is served by that
// digest.
func TestSHA512Manifest(t *testing.T) {
	tr := newTestRegistry(t)
	for _, b := range [][]byte{configBlob, layerBlob} {
		d := digest.SHA512.FromBytes(b)
		resp := tr.do(t, "POST", "/v2/library/app/blobs/uploads/?digest="+d.String(), nil, b)
		expect(t, "pushing a sha512 blob", resp, http.StatusCreated, "")
	}
	m := manifest{
		SchemaVersion: 2, MediaType: ociManifest,
		Config: &descriptor{MediaType: ociConfig, Digest: digest.SHA512.FromBytes(configBlob), Size: int64(len(configBlob))},
		Layers: []descriptor{{MediaType: ociLayer, Digest: digest.SHA512.FromBytes(layerBlob), Size: int64(len(layerBlob))}},
	}
	body := m.bytes()
	d := digest.SHA512.FromBytes(body)
	resp := tr.do(t, "PUT", "/v2/library/app/manifests/"+d.String()+"?tag=v1", contentType(ociManifest), body)
	expect(t, "PUT by sha512", resp, http.StatusCreated, "")
	if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
		t.Errorf("Docker-Content-Digest %s; want %s", got, d)
	}
	resp = tr.do(t, "GET", "/v2/library/app/manifests/"+d.String(), nil, nil)
	expect(t, "GET by sha512", resp, http.StatusOK, "")
	if !bytes.Equal(resp.Body, body) || resp.Header.Get("Docker-Content-Digest") != d.String() {
		t.Errorf("GET by sha512: %s, Docker-Content-Digest %s", resp.Body, resp.Header.Get("Docker-Content-Digest"))
	}
	resp = tr.do(t, "GET", "/v2/library/app/manifests/v1", nil, nil)
	expect(t, "GET by tag", resp, http.StatusOK, "")
	if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
		t.Errorf("GET by tag: Docker-Content-Digest %s; want %s", got, d)
	}
	wrong := digest.SHA512.FromString("other")
	resp = tr.do(t, "PUT", "/v2/library/app/manifests/"+wrong.String(), contentType(ociManifest), body)
	expect(t, "PUT by the wrong sha512", resp, http.StatusBadRequest, "DIGEST_INVALID")
}

// ?tag= parameters tag a manifest pushed by digest, in one request.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-manifests-with-tags
func TestTagParameters(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushFixture(t)
	resp := tr.do(t, "PUT", "/v2/library/app/manifests/"+imageDigest.String()+"?tag=1.0&tag=1.0.1&tag=stable",
		contentType(ociManifest), imageBytes)
	expect(t, "PUT", resp, http.StatusCreated, "")
	if got := resp.Header.Values("OCI-Tag"); len(got) == 0 {
		t.Error("no OCI-Tag header")
	}
	for _, tag := range []string{"1.0", "1.0.1", "stable", "v1"} {
		tr.expectManifest(t, "library/app", tag, ociManifest, imageBytes)
	}
	resp = tr.do(t, "GET", "/v2/library/app/tags/list", nil, nil)
	expect(t, "tags list", resp, http.StatusOK, "")
	if want := `{"name":"library/app","tags":["1.0","1.0.1","stable","v1"]}`; string(resp.Body) != want {
		t.Errorf("tags list %s; want %s", resp.Body, want)
	}
}

func TestTagRetarget(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushFixture(t)
	other := manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig}
	tr.pushManifest(t, "library/app", "v1", ociManifest, other.bytes())
	tr.expectManifest(t, "library/app", "v1", ociManifest, other.bytes())
	// The manifest the tag left is still there by digest.
	tr.expectManifest(t, "library/app", imageDigest.String(), ociManifest, imageBytes)
}

// DELETE by tag removes the tag only; DELETE by digest removes the
// manifest and every tag on it.
func TestDeleteManifest(t *testing.T) {
	t.Run("by tag", func(t *testing.T) {
		tr := newTestRegistry(t)
		tr.pushFixture(t)
		tr.pushManifest(t, "library/app", "v2", ociManifest, imageBytes)
		expect(t, "DELETE v1", tr.do(t, "DELETE", "/v2/library/app/manifests/v1", nil, nil), http.StatusAccepted, "")
		expect(t, "GET v1", tr.do(t, "GET", "/v2/library/app/manifests/v1", nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
		tr.expectManifest(t, "library/app", "v2", ociManifest, imageBytes)
		tr.expectManifest(t, "library/app", imageDigest.String(), ociManifest, imageBytes)
	})
	t.Run("by digest", func(t *testing.T) {
		tr := newTestRegistry(t)
		tr.pushFixture(t)
		tr.pushManifest(t, "library/app", "v2", ociManifest, imageBytes)
		resp := tr.do(t, "DELETE", "/v2/library/app/manifests/"+imageDigest.String(), nil, nil)
		expect(t, "DELETE by digest", resp, http.StatusAccepted, "")
		for _, ref := range []string{imageDigest.String(), "v1", "v2"} {
			expect(t, "GET "+ref, tr.do(t, "GET", "/v2/library/app/manifests/"+ref, nil, nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
		}
		resp = tr.do(t, "GET", "/v2/library/app/tags/list", nil, nil)
		expect(t, "tags list", resp, http.StatusOK, "")
		if want := `{"name":"library/app","tags":[]}`; string(resp.Body) != want {
			t.Errorf("tags list %s; want %s", resp.Body, want)
		}
		// Its blobs stay: the repository holds them until they are deleted.
		tr.expectBlob(t, "library/app", layerDigest, layerBlob)
	})
}

// GET records a pull time, the registry's clock's, written to the index
// in batches; HEAD does not count as a pull.
func TestPullTimes(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tr := newTestRegistryWith(t, registry.Config{CreateOnPush: true, Now: clock.Now})
	tr.pushFixture(t)
	headOnly := manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig}
	tr.pushManifest(t, "library/app", "head-only", ociManifest, headOnly.bytes())
	at := clock.Advance(time.Hour)
	expect(t, "GET", tr.do(t, "GET", "/v2/library/app/manifests/v1", nil, nil), http.StatusOK, "")
	expect(t, "HEAD", tr.do(t, "HEAD", "/v2/library/app/manifests/head-only", nil, nil), http.StatusOK, "")

	tr.restart(t) // closing the registry flushes pending pull times

	pulled, err := tr.store.Manifest(t.Context(), "library/app", "v1")
	if err != nil || !pulled.LastPulledAt.Equal(at) {
		t.Errorf("LastPulledAt after GET = %v, %v; want %v", pulled.LastPulledAt, err, at)
	}
	headed, err := tr.store.Manifest(t.Context(), "library/app", "head-only")
	if err != nil || !headed.LastPulledAt.IsZero() {
		t.Errorf("LastPulledAt after HEAD only = %v, %v; want none", headed.LastPulledAt, err)
	}
}

// An upload session is stamped by the registry's clock, which the garbage
// collector's purge of abandoned sessions compares with its own.
func TestUploadTimes(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	tr := newTestRegistryWith(t, registry.Config{CreateOnPush: true, Now: clock.Now})
	loc := tr.startUpload(t, "library/app")
	u, err := tr.store.Upload(t.Context(), path.Base(loc))
	if err != nil || !u.StartedAt.Equal(clock.Now()) || !u.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("upload session %+v, %v; want started and updated at %v", u, err, clock.Now())
	}
}
