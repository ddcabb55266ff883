package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// Manifest media types berth stores.
const (
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// parsedManifest is what the index needs to know of a manifest.
type parsedManifest struct {
	MediaType    string
	ArtifactType string
	Subject      digest.Digest
	Annotations  map[string]string
	References   []metadata.Reference
}

type descriptorJSON struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         *int64            `json:"size"`
	Data         []byte            `json:"data,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type manifestJSON struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptorJSON   `json:"config"`
	Layers        []descriptorJSON  `json:"layers"`
	Manifests     []descriptorJSON  `json:"manifests"`
	Subject       *descriptorJSON   `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// parseManifest validates a manifest pushed with Content-Type contentType
// and returns its media type, artifact type, subject and references. The
// errors name what is wrong, for MANIFEST_INVALID.
func parseManifest(contentType string, body []byte) (*parsedManifest, error) {
	var m manifestJSON
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %v", err)
	}
	if m.SchemaVersion == nil {
		return nil, errors.New("manifest has no schemaVersion")
	}
	if *m.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion %d is not supported; only 2 is (Docker schema 1 manifests are deprecated)", *m.SchemaVersion)
	}
	mediaType, err := manifestMediaType(contentType, &m)
	if err != nil {
		return nil, err
	}
	pm := &parsedManifest{MediaType: mediaType, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if m.Subject != nil {
		if err := m.Subject.validate("subject"); err != nil {
			return nil, err
		}
		pm.Subject = digest.Digest(m.Subject.Digest)
	}
	switch mediaType {
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
		if m.Manifests != nil {
			return nil, errors.New("an image manifest has no manifests field")
		}
		if m.Config == nil {
			return nil, errors.New("image manifest has no config")
		}
		if err := m.Config.validate("config"); err != nil {
			return nil, err
		}
		pm.References = append(pm.References, metadata.Reference{Digest: digest.Digest(m.Config.Digest), Kind: metadata.RefBlob})
		if pm.ArtifactType == "" {
			pm.ArtifactType = m.Config.MediaType
		}
		for i, l := range m.Layers {
			if err := l.validate(fmt.Sprintf("layers[%d]", i)); err != nil {
				return nil, err
			}
			if nondistributable(l.MediaType) {
				continue // its bytes live elsewhere; the registry never holds them
			}
			pm.References = append(pm.References, metadata.Reference{Digest: digest.Digest(l.Digest), Kind: metadata.RefBlob})
		}
	case MediaTypeOCIIndex, MediaTypeDockerList:
		if m.Config != nil || m.Layers != nil {
			return nil, errors.New("an index has no config or layers")
		}
		for i, c := range m.Manifests {
			if err := c.validate(fmt.Sprintf("manifests[%d]", i)); err != nil {
				return nil, err
			}
			pm.References = append(pm.References, metadata.Reference{Digest: digest.Digest(c.Digest), Kind: metadata.RefManifest})
		}
	}
	return pm, nil
}

// manifestMediaType decides a manifest's media type from the request's
// Content-Type and the manifest's own mediaType field, which must agree.
func manifestMediaType(contentType string, m *manifestJSON) (string, error) {
	switch {
	case m.MediaType != "" && contentType != "" && m.MediaType != contentType:
		return "", fmt.Errorf("Content-Type %q does not match the manifest's mediaType %q", contentType, m.MediaType)
	case contentType == "":
		contentType = m.MediaType
	}
	switch contentType {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		return contentType, nil
	case "":
		// Neither says: the OCI types are the only ones whose mediaType
		// field is optional, so tell them apart by shape.
		if m.Manifests != nil {
			return MediaTypeOCIIndex, nil
		}
		return MediaTypeOCIManifest, nil
	}
	return "", fmt.Errorf("manifest media type %q is not supported; use one of %s", contentType,
		strings.Join([]string{MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList}, ", "))
}

// validate checks a descriptor; field names it in errors.
func (d *descriptorJSON) validate(field string) error {
	if d.MediaType == "" || !strings.Contains(d.MediaType, "/") {
		return fmt.Errorf("%s: invalid mediaType %q", field, d.MediaType)
	}
	dgst, err := digest.Parse(d.Digest)
	if err != nil {
		return fmt.Errorf("%s: invalid digest %q: %v", field, d.Digest, err)
	}
	if d.Size == nil || *d.Size < 0 {
		return fmt.Errorf("%s: size is missing or negative", field)
	}
	if d.Data != nil {
		if int64(len(d.Data)) != *d.Size {
			return fmt.Errorf("%s: data is %d bytes but size says %d", field, len(d.Data), *d.Size)
		}
		if dgst.Algorithm().FromBytes(d.Data) != dgst {
			return fmt.Errorf("%s: data does not match digest %s", field, dgst)
		}
	}
	return nil
}

// nondistributable reports whether a layer's bytes are not pushed to
// registries (Windows base layers and the like).
func nondistributable(mediaType string) bool {
	return strings.Contains(mediaType, ".nondistributable.") ||
		mediaType == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
}
