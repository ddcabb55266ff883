package registry_test

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
)

// referrers fetches the referrers of subject in repo, filtered by
// artifactType when it is not empty.
func (tr *testRegistry) referrers(t *testing.T, repo string, subject digest.Digest, artifactType string) (response, []descriptor) {
	t.Helper()
	url := "/v2/" + repo + "/referrers/" + subject.String()
	if artifactType != "" {
		url += "?artifactType=" + artifactType
	}
	resp := tr.do(t, "GET", url, nil, nil)
	expect(t, "GET "+url, resp, http.StatusOK, "")
	if ct := resp.Header.Get("Content-Type"); ct != ociIndex {
		t.Errorf("referrers Content-Type %q; want %s", ct, ociIndex)
	}
	var index manifest
	if err := json.Unmarshal(resp.Body, &index); err != nil {
		t.Fatalf("referrers body %s: %v", resp.Body, err)
	}
	if index.SchemaVersion != 2 || index.MediaType != ociIndex || index.Manifests == nil {
		t.Errorf("referrers body %s is not an OCI index with a manifests list", resp.Body)
	}
	return resp, index.Manifests
}

// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers
func TestReferrers(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushFixture(t)
	emptyConfig := []byte("{}")
	tr.pushBlob(t, "library/app", emptyConfig)
	subject := ptr(descriptorOf(ociManifest, imageBytes))

	sbom := manifest{
		SchemaVersion: 2, MediaType: ociManifest, ArtifactType: "application/vnd.example.sbom",
		Config:      ptr(descriptorOf(ociEmpty, emptyConfig)),
		Layers:      []descriptor{descriptorOf("application/spdx+json", layerBlob)},
		Subject:     subject,
		Annotations: map[string]string{"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
	}
	// No artifactType: the config's media type stands for it.
	signature := manifest{
		SchemaVersion: 2, MediaType: ociManifest,
		Config:  ptr(descriptorOf("application/vnd.example.signature.config", configBlob)),
		Subject: subject,
	}
	bundle := manifest{
		SchemaVersion: 2, MediaType: ociIndex, ArtifactType: "application/vnd.example.bundle",
		Manifests: []descriptor{}, Subject: subject,
	}
	for _, m := range []manifest{sbom, signature, bundle} {
		body := m.bytes()
		resp := tr.do(t, "PUT", "/v2/library/app/manifests/"+digest.FromBytes(body).String(), contentType(m.MediaType), body)
		expect(t, "PUT referrer", resp, http.StatusCreated, "")
		if got := resp.Header.Get("OCI-Subject"); got != imageDigest.String() {
			t.Errorf("PUT referrer: OCI-Subject %q; want %s", got, imageDigest)
		}
	}
	resp := tr.do(t, "GET", "/v2/library/app/manifests/"+digest.FromBytes(sbom.bytes()).String(), nil, nil)
	if got := resp.Header.Get("OCI-Subject"); got != imageDigest.String() {
		t.Errorf("GET referrer: OCI-Subject %q; want %s", got, imageDigest)
	}

	described := func(m manifest, artifactType string) descriptor {
		d := descriptorOf(m.MediaType, m.bytes())
		d.ArtifactType = artifactType
		d.Annotations = m.Annotations
		return d
	}
	tests := []struct {
		name         string
		subject      digest.Digest
		artifactType string
		want         []descriptor
	}{
		{"all", imageDigest, "", []descriptor{
			described(sbom, "application/vnd.example.sbom"),
			described(signature, "application/vnd.example.signature.config"),
			described(bundle, "application/vnd.example.bundle"),
		}},
		{"filtered", imageDigest, "application/vnd.example.sbom", []descriptor{described(sbom, "application/vnd.example.sbom")}},
		{"filtered by the config type", imageDigest, "application/vnd.example.signature.config", []descriptor{
			described(signature, "application/vnd.example.signature.config"),
		}},
		{"filtered to nothing", imageDigest, "application/vnd.example.none", nil},
		{"a referrer has none", digest.FromBytes(sbom.bytes()), "", nil},
		{"unknown digest", missingDigest, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := tr.referrers(t, "library/app", tt.subject, tt.artifactType)
			wantFilter := ""
			if tt.artifactType != "" {
				wantFilter = "artifactType"
			}
			if f := resp.Header.Get("OCI-Filters-Applied"); f != wantFilter {
				t.Errorf("OCI-Filters-Applied %q; want %q", f, wantFilter)
			}
			byDigest := func(a, b descriptor) int { return cmp.Compare(a.Digest, b.Digest) }
			slices.SortFunc(got, byDigest)
			slices.SortFunc(tt.want, byDigest)
			if !slices.EqualFunc(got, tt.want, equalDescriptors) {
				t.Errorf("referrers:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}

	// Referrers are per repository.
	if _, got := tr.referrers(t, "other/repo", imageDigest, ""); len(got) != 0 {
		t.Errorf("referrers in another repository: %+v; want none", got)
	}
}

// A referrer may arrive before its subject (the spec allows it, and
// signers do it); it is listed as soon as it is pushed.
func TestReferrerBeforeSubject(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushBlob(t, "library/app", configBlob)
	later := manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig}
	subject := ptr(descriptorOf(ociManifest, later.bytes()))
	sig := manifest{SchemaVersion: 2, MediaType: ociManifest, ArtifactType: "application/vnd.example.sig", Config: &imageConfig, Subject: subject}
	tr.pushManifest(t, "library/app", digest.FromBytes(sig.bytes()).String(), ociManifest, sig.bytes())
	if _, got := tr.referrers(t, "library/app", subject.Digest, ""); len(got) != 1 || got[0].Digest != digest.FromBytes(sig.bytes()) {
		t.Errorf("referrers of a subject not pushed yet: %+v; want the signature", got)
	}
}

func equalDescriptors(a, b descriptor) bool {
	return a.MediaType == b.MediaType && a.Digest == b.Digest && a.Size == b.Size &&
		a.ArtifactType == b.ArtifactType && maps.Equal(a.Annotations, b.Annotations)
}
