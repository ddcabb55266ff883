package metadata

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// Image is a manifest as the ECR API describes it.
type Image struct {
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	// ConfigMediaType is the media type of the manifest's config blob;
	// empty for an index.
	ConfigMediaType string
	Subject         digest.Digest
	// Tags point at the image, in byte order.
	Tags []string
	// Size is the sum of the image's blob sizes; for an index, the largest
	// of its child images'.
	Size         int64
	PushedAt     time.Time
	LastPulledAt time.Time
	// StorageClass is "" (standard) or StorageClassArchive; ArchivedAt
	// and ActivatedAt are when it last moved each way (zero: never).
	StorageClass string
	ArchivedAt   time.Time
	ActivatedAt  time.Time
	// Parents counts the indexes in the repository that reference this
	// image.
	Parents int
	// Scan is the image's scan without its findings and inventory (its
	// status, times and severity counts); nil if it was never scanned.
	// Images and Image fill it; ImageFacts does not.
	Scan *Scan
	// Platforms are the platforms ("linux/arm64/v8") of the images an
	// index lists, as its manifest names them; none for an image
	// manifest, whose platform is in its config blob. ImagePage fills it.
	Platforms []string
}

// ImageFilter selects images by tags, storage class and digest. Its zero
// value selects none; AnyImage selects all.
type ImageFilter struct {
	// Tagged and Untagged select images with tags and without.
	Tagged, Untagged bool
	// Standard and Archived select images of the standard storage class
	// and of the archive.
	Standard, Archived bool
	// Digests, when not empty, selects only these images.
	Digests []digest.Digest
}

// AnyImage is the filter that selects every image.
func AnyImage() ImageFilter {
	return ImageFilter{Tagged: true, Untagged: true, Standard: true, Archived: true}
}

// ImageTag is one row of ECR's ListImages: an image with one of its tags,
// or with Tag empty if it has none.
type ImageTag struct {
	Digest digest.Digest
	Tag    string
}

// Images describes the images of repositories, as the ECR API and
// lifecycle policies see them, and moves them between storage classes.
type Images interface {
	// Images describes up to n images of repo that f selects after digest
	// last, in byte order of their digests, with their tags, sizes and
	// scans. ErrRepositoryUnknown if the repository does not exist.
	Images(ctx context.Context, repo string, f ImageFilter, last digest.Digest, n int) ([]Image, error)
	// ImageFacts is Images without sizes, media types and the subject's
	// artifact details: the cheaper listing lifecycle evaluation needs.
	ImageFacts(ctx context.Context, repo string, last digest.Digest, n int) ([]Image, error)
	// Image describes one image by digest. ErrManifestUnknown if none.
	Image(ctx context.Context, repo string, dgst digest.Digest) (Image, error)
	// ImageTags lists up to n (digest, tag) rows of repo after (last,
	// lastTag), by digest then tag: one per tag, and one with no tag for
	// an untagged image. tagged and untagged select which rows come back.
	ImageTags(ctx context.Context, repo string, last ImageTag, n int, tagged, untagged bool) ([]ImageTag, error)
	// ManifestParents lists the manifests in repo (indexes) that reference
	// manifest dgst.
	ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error)
	// SetStorageClass moves image dgst of repo to class ("" or
	// StorageClassArchive) at time at. ErrManifestUnknown if none.
	SetStorageClass(ctx context.Context, repo string, dgst digest.Digest, class string, at time.Time) error
}
