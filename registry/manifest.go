package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/ocierr"
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
	if reg.cache != nil {
		m, err = reg.cachedManifest(r.Context(), rt.name, rt.arg, m, err)
	}
	if err != nil {
		return err
	}
	if m.StorageClass == metadata.StorageClassArchive {
		return ocierr.New(ocierr.Denied, fmt.Sprintf("The image %s in repository %s is archived and cannot be pulled; restore it with `aws ecr update-image-storage-class --target-storage-class STANDARD`", m.Digest, rt.name), nil)
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
	if !reg.config.NoPullTimes {
		reg.pulls.Record(metadata.Pull{Repository: rt.name, Digest: m.Digest, At: reg.config.Now()})
	}
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
		return ocierr.New(ocierr.ManifestTooLarge, "", nil)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxManifestSize+1))
	if err != nil {
		return err
	}
	if len(body) > maxManifestSize {
		return ocierr.New(ocierr.ManifestTooLarge, "", nil)
	}
	mediaType := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(mediaType); err == nil {
		mediaType = mt
	}
	var want digest.Digest
	var tags []string
	if d, err := digest.Parse(rt.arg); err == nil {
		want = d
	} else {
		tags = append(tags, rt.arg)
	}
	tags = append(tags, r.URL.Query()["tag"]...)
	m, err := reg.PutImage(r.Context(), rt.name, mediaType, body, want, tags)
	if err != nil {
		return err
	}
	dgst := m.Digest
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

// PutImage validates manifest body (of mediaType, or the type it declares
// when mediaType is empty) and stores it in repo under tags: what a
// manifest PUT and ECR's PutImage both do. want, when set, is the digest
// the caller expects (it chooses the algorithm). It refuses a push to a
// repository that does not exist (unless CreateOnPush) and moving an
// immutable tag (*ImmutableTagError); a manifest whose blobs or child
// manifests are missing is a *metadata.MissingReferencesError.
func (reg *Registry) PutImage(ctx context.Context, repo, mediaType string, body []byte, want digest.Digest, tags []string) (metadata.Manifest, error) {
	return reg.putImage(ctx, repo, mediaType, body, want, tags, false)
}

// putImage is PutImage; imported is set for an image a pull-through cache
// stores, which creates its repository whatever CreateOnPush says.
func (reg *Registry) putImage(ctx context.Context, repo, mediaType string, body []byte, want digest.Digest, tags []string, imported bool) (metadata.Manifest, error) {
	pm, err := parseManifest(mediaType, body)
	if err != nil {
		return metadata.Manifest{}, ocierr.New(ocierr.ManifestInvalid, err.Error(), nil)
	}
	dgst := digest.Canonical.FromBytes(body)
	if want != "" {
		if dgst = want.Algorithm().FromBytes(body); dgst != want {
			return metadata.Manifest{}, &DigestMismatchError{Want: want, Got: dgst}
		}
	}
	for _, tag := range tags {
		if !validTag(tag) {
			return metadata.Manifest{}, ocierr.New(ocierr.TagInvalid, "invalid tag "+strconv.Quote(tag), nil)
		}
	}
	if !imported {
		if err := reg.pushable(ctx, repo); err != nil {
			return metadata.Manifest{}, err
		}
	}
	if err := reg.checkMutability(ctx, repo, dgst, tags); err != nil {
		return metadata.Manifest{}, err
	}
	m := metadata.Manifest{
		Repository:   repo,
		Digest:       dgst,
		MediaType:    pm.MediaType,
		ArtifactType: pm.ArtifactType,
		Content:      body,
		Subject:      pm.Subject,
		Annotations:  pm.Annotations,
		References:   pm.References,
	}
	if err := reg.store.PutManifest(ctx, m, tags); err != nil {
		return m, err
	}
	if reg.config.Pushed != nil {
		reg.config.Pushed(ctx, m)
	}
	return m, nil
}

// DigestMismatchError: a manifest's bytes do not have the digest the
// client named.
type DigestMismatchError struct{ Want, Got digest.Digest }

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("manifest digest %s does not match the reference %s", e.Got, e.Want)
}

// ImmutableTagError: the tag exists on another image and the repository's
// tag mutability forbids moving it.
type ImmutableTagError struct{ Repository, Tag string }

func (e *ImmutableTagError) Error() string {
	return fmt.Sprintf("The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", e.Tag, e.Repository)
}

// checkMutability refuses to move an immutable tag to another image. A
// push of the same image under the same tag is fine, as in ECR.
func (reg *Registry) checkMutability(ctx context.Context, repo string, dgst digest.Digest, tags []string) error {
	r, err := reg.store.Repository(ctx, repo)
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return nil // created by this push, with default settings
	}
	if err != nil {
		return err
	}
	for _, tag := range tags {
		if !r.TagImmutable(tag) {
			continue
		}
		existing, err := reg.store.Manifest(ctx, repo, tag)
		if errors.Is(err, metadata.ErrManifestUnknown) {
			continue
		}
		if err != nil {
			return err
		}
		if existing.Digest != dgst {
			return &ImmutableTagError{Repository: repo, Tag: tag}
		}
	}
	return nil
}

// RepositoryNotFoundError: a push to a repository that does not exist,
// worded as ECR words it.
type RepositoryNotFoundError struct{ Repository, RegistryID string }

func (e *RepositoryNotFoundError) Error() string {
	return fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", e.Repository, e.RegistryID)
}

// pushable refuses a push into a repository that does not exist, unless
// pushes create repositories and the caller may create this one
// (ecr:CreateRepository, as if it had called CreateRepository first).
func (reg *Registry) pushable(ctx context.Context, repo string) error {
	_, err := reg.store.Repository(ctx, repo)
	if !errors.Is(err, metadata.ErrRepositoryUnknown) {
		return err
	}
	if !reg.config.CreateOnPush {
		return &RepositoryNotFoundError{Repository: repo, RegistryID: reg.config.RegistryID}
	}
	if !reg.permits(ctx, repo, actionCreateRepo) {
		return ocierr.New(ocierr.Denied, fmt.Sprintf("not authorized to perform: %s on repository %s, which a push would create", actionCreateRepo, repo), nil)
	}
	return nil
}

// checkReference refuses a reference that is neither a tag nor a digest.
func checkReference(ref string) error {
	if strings.Contains(ref, ":") {
		_, err := parseDigest(ref)
		return err
	}
	if !validTag(ref) {
		return ocierr.New(ocierr.TagInvalid, "invalid tag "+strconv.Quote(ref), nil)
	}
	return nil
}
