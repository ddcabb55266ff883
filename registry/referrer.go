package registry

import (
	"net/http"
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
	type descriptor struct {
		MediaType    string            `json:"mediaType"`
		Digest       string            `json:"digest"`
		Size         int64             `json:"size"`
		ArtifactType string            `json:"artifactType,omitempty"`
		Annotations  map[string]string `json:"annotations,omitempty"`
	}
	manifests := make([]descriptor, len(descs))
	for i, d := range descs {
		manifests[i] = descriptor{d.MediaType, d.Digest.String(), d.Size, d.ArtifactType, d.Annotations}
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, MediaTypeOCIIndex, struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Manifests     []descriptor `json:"manifests"`
	}{2, MediaTypeOCIIndex, manifests})
}
