package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/distribution/v3/manifest/manifestlist"
	"github.com/distribution/distribution/v3/manifest/schema2"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/metadata"
)

// parsedManifest is what the index needs to know of a manifest.
type parsedManifest struct {
	MediaType    string
	ArtifactType string
	Subject      digest.Digest
	Annotations  map[string]string
	References   []metadata.Reference
}

// manifestJSON is a pushed image manifest or index. It is one struct for
// both because which one a body is may be known only from its shape
// (image-spec has a type for each, ocispec.Manifest and ocispec.Index);
// its descriptors are image-spec's. A pointer or a nil slice tells a
// member that is missing from one that is empty or zero, which the spec's
// types cannot: a missing schemaVersion or config is an error, and so is
// config or manifests present in the wrong kind of document.
type manifestJSON struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// descriptor is image-spec's Descriptor with its size a pointer, so that
// a descriptor without one is refused rather than taken for an empty blob.
type descriptor struct {
	ocispec.Descriptor
	Size *int64 `json:"size"` // hides Descriptor.Size, which stays 0
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
		pm.Subject = m.Subject.Digest
	}
	switch mediaType {
	case ocispec.MediaTypeImageManifest, schema2.MediaTypeManifest:
		if m.Manifests != nil {
			return nil, errors.New("an image manifest has no manifests field")
		}
		if m.Config == nil {
			return nil, errors.New("image manifest has no config")
		}
		if err := m.Config.validate("config"); err != nil {
			return nil, err
		}
		pm.References = append(pm.References, metadata.Reference{Digest: m.Config.Digest, Kind: metadata.RefBlob})
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
			pm.References = append(pm.References, metadata.Reference{Digest: l.Digest, Kind: metadata.RefBlob})
		}
	case ocispec.MediaTypeImageIndex, manifestlist.MediaTypeManifestList:
		if m.Config != nil || m.Layers != nil {
			return nil, errors.New("an index has no config or layers")
		}
		for i, c := range m.Manifests {
			if err := c.validate(fmt.Sprintf("manifests[%d]", i)); err != nil {
				return nil, err
			}
			pm.References = append(pm.References, metadata.Reference{Digest: c.Digest, Kind: metadata.RefManifest})
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
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, schema2.MediaTypeManifest, manifestlist.MediaTypeManifestList:
		return contentType, nil
	case "":
		// Neither says: the OCI types are the only ones whose mediaType
		// field is optional, so tell them apart by shape.
		if m.Manifests != nil {
			return ocispec.MediaTypeImageIndex, nil
		}
		return ocispec.MediaTypeImageManifest, nil
	}
	return "", fmt.Errorf("manifest media type %q is not supported; use one of %s", contentType, strings.Join([]string{
		ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, schema2.MediaTypeManifest, manifestlist.MediaTypeManifestList}, ", "))
}

// validate checks a descriptor; field names it in errors.
func (d *descriptor) validate(field string) error {
	if d.MediaType == "" || !strings.Contains(d.MediaType, "/") {
		return fmt.Errorf("%s: invalid mediaType %q", field, d.MediaType)
	}
	dgst := d.Digest
	if err := dgst.Validate(); err != nil {
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
	return strings.Contains(mediaType, ".nondistributable.") || mediaType == schema2.MediaTypeForeignLayer
}
