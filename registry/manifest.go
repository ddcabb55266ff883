package registry

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// maxManifestSize is the largest manifest accepted, as ECR and the spec's
// recommendation have it.
const maxManifestSize = 4 << 20

// getManifest serves GET and HEAD /v2/<name>/manifests/<reference>.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
// The bytes come from the index in the same read as the tag, so a pull
// costs one query.
func (reg *Registry) getManifest(w http.ResponseWriter, r *http.Request, rt route) error {
	if err := checkReference(rt.arg); err != nil {
		return err
	}
	m, err := reg.store.Manifest(r.Context(), rt.name, rt.arg)
	if err != nil {
		return err
	}
	h := w.Header()
	etag := `"` + m.Digest.String() + `"`
	h.Set("Docker-Content-Digest", m.Digest.String())
	h.Set("Content-Type", m.MediaType)
	h.Set("ETag", etag)
	if m.Subject != "" {
		h.Set("OCI-Subject", m.Subject.String())
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", strconv.Itoa(len(m.Content)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	reg.pulls.Record(metadata.Pull{Repository: rt.name, Digest: m.Digest, At: time.Now()})
	_, err = w.Write(m.Content)
	return err
}

// putManifest serves PUT /v2/<name>/manifests/<reference>, with further
// tags in ?tag= parameters.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-manifests
func (reg *Registry) putManifest(w http.ResponseWriter, r *http.Request, rt route) error {
	if err := checkReference(rt.arg); err != nil {
		return err
	}
	if r.ContentLength > maxManifestSize {
		return newError(ErrManifestTooLarge, "", nil)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestSize+1))
	if err != nil {
		return err
	}
	if len(body) > maxManifestSize {
		return newError(ErrManifestTooLarge, "", nil)
	}
	mediaType := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(mediaType); err == nil {
		mediaType = mt
	}
	pm, err := parseManifest(mediaType, body)
	if err != nil {
		return newError(ErrManifestInvalid, err.Error(), nil)
	}

	var dgst digest.Digest
	var tags []string
	if d, err := digest.Parse(rt.arg); err == nil {
		dgst = d.Algorithm().FromBytes(body)
		if dgst != d {
			return newError(ErrDigestInvalid, fmt.Sprintf("manifest digest %s does not match the reference %s", dgst, d), nil)
		}
	} else {
		if !validTag(rt.arg) {
			return newError(ErrTagInvalid, "invalid tag "+strconv.Quote(rt.arg), nil)
		}
		dgst = digest.Canonical.FromBytes(body)
		tags = append(tags, rt.arg)
	}
	for _, tag := range r.URL.Query()["tag"] {
		if !validTag(tag) {
			return newError(ErrTagInvalid, "invalid tag "+strconv.Quote(tag), nil)
		}
		tags = append(tags, tag)
	}

	m := metadata.Manifest{
		Repository:   rt.name,
		Digest:       dgst,
		MediaType:    pm.MediaType,
		ArtifactType: pm.ArtifactType,
		Content:      body,
		Subject:      pm.Subject,
		Annotations:  pm.Annotations,
		References:   pm.References,
	}
	if err := reg.store.PutManifest(r.Context(), m, tags); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", "/v2/"+rt.name+"/manifests/"+dgst.String())
	h.Set("Docker-Content-Digest", dgst.String())
	if m.Subject != "" {
		h.Set("OCI-Subject", m.Subject.String())
	}
	if q := r.URL.Query()["tag"]; len(q) > 0 {
		h.Set("OCI-Tag", strings.Join(q, ", "))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteManifest serves DELETE /v2/<name>/manifests/<reference>: by digest
// it removes the manifest and its tags, by tag only the tag.
func (reg *Registry) deleteManifest(w http.ResponseWriter, r *http.Request, rt route) error {
	if err := checkReference(rt.arg); err != nil {
		return err
	}
	var err error
	if d, perr := digest.Parse(rt.arg); perr == nil {
		err = reg.store.DeleteManifest(r.Context(), rt.name, d)
	} else {
		err = reg.store.DeleteTag(r.Context(), rt.name, rt.arg)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// checkReference refuses a reference that is neither a tag nor a digest.
func checkReference(ref string) error {
	if strings.Contains(ref, ":") {
		_, err := parseDigest(ref)
		return err
	}
	if !validTag(ref) {
		return newError(ErrTagInvalid, "invalid tag "+strconv.Quote(ref), nil)
	}
	return nil
}
