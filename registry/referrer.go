package registry

import (
	"net/http"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// referrers serves GET /v2/<name>/referrers/<digest>, optionally filtered
// by ?artifactType=. The answer is always an OCI index, empty when nothing
// refers to the digest.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers
func (reg *Registry) referrers(w http.ResponseWriter, r *http.Request, rt route) error {
	dgst, err := parseDigest(rt.arg)
	if err != nil {
		return err
	}
	artifactType := r.URL.Query().Get("artifactType")
	descs, err := reg.store.Referrers(r.Context(), rt.name, dgst, artifactType)
	if err != nil {
		return err
	}
	index := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: make([]ocispec.Descriptor, len(descs)),
	}
	for i, d := range descs {
		index.Manifests[i] = ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size,
			ArtifactType: d.ArtifactType, Annotations: d.Annotations}
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, ocispec.MediaTypeImageIndex, index)
}
