package ecr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/scanner"
)

// imageID is ECR's ImageIdentifier.
type imageID struct {
	ImageDigest *string `json:"imageDigest,omitempty"`
	ImageTag    *string `json:"imageTag,omitempty"`
}

func (id imageID) String() string {
	s := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", s(id.ImageDigest), s(id.ImageTag))
}

type imageFailure struct {
	ImageID       imageID `json:"imageId"`
	FailureCode   string  `json:"failureCode"`
	FailureReason string  `json:"failureReason"`
}

type listFilter struct {
	TagStatus   *string `json:"tagStatus,omitempty"`
	ImageStatus *string `json:"imageStatus,omitempty"`
}

// imageStatus reads a filter's imageStatus: whether active (standard) and
// archived images are selected. Without one, only active images are.
func (f *listFilter) imageStatus() (active, archived bool, err error) {
	if f == nil || f.ImageStatus == nil {
		return true, false, nil
	}
	switch *f.ImageStatus {
	case "ACTIVE":
		return true, false, nil
	case "ARCHIVED":
		return false, true, nil
	case "ANY":
		return true, true, nil
	}
	return false, false, validation("filter.imageStatus", *f.ImageStatus, "Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]")
}

// tagStatus reads a filter's tagStatus: which of tagged and untagged
// images it selects.
func (f *listFilter) tagStatus() (tagged, untagged bool, err error) {
	if f == nil || f.TagStatus == nil {
		return true, true, nil
	}
	switch *f.TagStatus {
	case "TAGGED":
		return true, false, nil
	case "UNTAGGED":
		return false, true, nil
	case "ANY":
		return true, true, nil
	}
	return false, false, validation("filter.tagStatus", *f.TagStatus, "Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]")
}

type listImagesInput struct {
	repositoryRef
	NextToken  *string     `json:"nextToken,omitempty"`
	MaxResults *int        `json:"maxResults,omitempty"`
	Filter     *listFilter `json:"filter,omitempty"`
}

type listImagesOutput struct {
	ImageIDs  []imageID `json:"imageIds"`
	NextToken *string   `json:"nextToken,omitempty"`
}

// listImages returns one entry per tag, and one for each untagged image.
func (a *API) listImages(ctx context.Context, in *listImagesInput) (*listImagesOutput, error) {
	name, err := a.authorized(ctx, "ecr:ListImages", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	tagged, untagged, err := in.Filter.tagStatus()
	if err != nil {
		return nil, err
	}
	n, err := maxResults(in.MaxResults, 1000, 100)
	if err != nil {
		return nil, err
	}
	binding := awsjson.Binding("ListImages", name, tagged, untagged)
	out := &listImagesOutput{ImageIDs: []imageID{}}
	rows, next, err := cursorPage(a, binding, in.NextToken, n, func(after metadata.ImageTag, n int) ([]metadata.ImageTag, error) {
		rows, err := a.store.ImageTags(ctx, name, after, n, tagged, untagged)
		return rows, a.storeError(err, name)
	}, func(r metadata.ImageTag) metadata.ImageTag { return r })
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	for _, r := range rows {
		id := imageID{ImageDigest: ptr(r.Digest.String())}
		if r.Tag != "" {
			id.ImageTag = ptr(r.Tag)
		}
		out.ImageIDs = append(out.ImageIDs, id)
	}
	return out, nil
}

type imageDetail struct {
	RegistryID               string             `json:"registryId"`
	RepositoryName           string             `json:"repositoryName"`
	ImageDigest              string             `json:"imageDigest"`
	ImageTags                []string           `json:"imageTags,omitempty"`
	ImageSizeInBytes         int64              `json:"imageSizeInBytes"`
	ImagePushedAt            awsjson.Time       `json:"imagePushedAt"`
	ImageManifestMediaType   string             `json:"imageManifestMediaType"`
	ArtifactMediaType        string             `json:"artifactMediaType,omitempty"`
	LastRecordedPullTime     *awsjson.Time      `json:"lastRecordedPullTime,omitempty"`
	SubjectManifestDigest    string             `json:"subjectManifestDigest,omitempty"`
	ImageStatus              string             `json:"imageStatus"`
	LastArchivedAt           *awsjson.Time      `json:"lastArchivedAt,omitempty"`
	LastActivatedAt          *awsjson.Time      `json:"lastActivatedAt,omitempty"`
	ImageScanStatus          *scanStatus        `json:"imageScanStatus,omitempty"`
	ImageScanFindingsSummary *imageScanFindings `json:"imageScanFindingsSummary,omitempty"`
}

// detail is an image as DescribeImages shows it, with the summary of its
// scan that the index read with it.
func (a *API) detail(repo string, im metadata.Image) imageDetail {
	d := imageDetail{
		RegistryID: a.cfg.AccountID, RepositoryName: repo,
		ImageDigest: im.Digest.String(), ImageTags: im.Tags, ImageSizeInBytes: im.Size,
		ImagePushedAt: awsjson.NewTime(im.PushedAt), ImageManifestMediaType: im.MediaType,
		ArtifactMediaType: cmp(im.ArtifactType, im.ConfigMediaType), SubjectManifestDigest: im.Subject.String(),
		ImageStatus: "ACTIVE",
	}
	optionalTime := func(t time.Time) *awsjson.Time {
		if t.IsZero() {
			return nil
		}
		return ptr(awsjson.NewTime(t))
	}
	d.LastRecordedPullTime, d.LastArchivedAt, d.LastActivatedAt = optionalTime(im.LastPulledAt), optionalTime(im.ArchivedAt), optionalTime(im.ActivatedAt)
	if im.StorageClass == metadata.StorageClassArchive {
		d.ImageStatus = "ARCHIVED"
	}
	if sc := im.Scan; sc != nil {
		d.ImageScanStatus = &scanStatus{sc.Status, sc.Description}
		if sc.Status == scanner.StatusComplete {
			d.ImageScanFindingsSummary = scanSummary(*sc)
		}
	}
	return d
}

type describeImagesInput struct {
	repositoryRef
	ImageIDs   []imageID   `json:"imageIds,omitempty"`
	NextToken  *string     `json:"nextToken,omitempty"`
	MaxResults *int        `json:"maxResults,omitempty"`
	Filter     *listFilter `json:"filter,omitempty"`
}

type describeImagesOutput struct {
	ImageDetails []imageDetail `json:"imageDetails"`
	NextToken    *string       `json:"nextToken,omitempty"`
}

func (a *API) describeImages(ctx context.Context, in *describeImagesInput) (*describeImagesOutput, error) {
	name, err := a.authorized(ctx, "ecr:DescribeImages", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	tagged, untagged, err := in.Filter.tagStatus()
	if err != nil {
		return nil, err
	}
	active, archived, err := in.Filter.imageStatus()
	if err != nil {
		return nil, err
	}
	out := &describeImagesOutput{ImageDetails: []imageDetail{}}
	if len(in.ImageIDs) > 0 {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, invalidParameter("nextToken, maxResults", "Cannot be specified with imageIds")
		}
		if len(in.ImageIDs) > 100 {
			return nil, validation("imageIds", "list", "Member must have length less than or equal to 100")
		}
		return a.describeImageIDs(ctx, name, in.ImageIDs)
	}
	n, err := maxResults(in.MaxResults, 1000, 100)
	if err != nil {
		return nil, err
	}
	binding := awsjson.Binding("DescribeImages", name, tagged, untagged, active, archived)
	filter := metadata.ImageFilter{Tagged: tagged, Untagged: untagged, Standard: active, Archived: archived}
	images, next, err := cursorPage(a, binding, in.NextToken, n, func(after digest.Digest, n int) ([]metadata.Image, error) {
		images, err := a.store.Images(ctx, name, filter, after, n)
		return images, a.storeError(err, name)
	}, func(im metadata.Image) digest.Digest { return im.Digest })
	if err != nil {
		return nil, err
	}
	out.NextToken = next
	for _, im := range images {
		out.ImageDetails = append(out.ImageDetails, a.detail(name, im))
	}
	return out, nil
}

// describeImageIDs describes the images ids name, each once, in the order
// first named; an id that names no image fails the whole call.
func (a *API) describeImageIDs(ctx context.Context, repo string, ids []imageID) (*describeImagesOutput, error) {
	var digests []digest.Digest
	for _, id := range ids {
		m, failure, err := a.resolve(ctx, repo, id)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			if failure.FailureCode == "ImageNotFound" {
				return nil, imageNotFound(id, repo, a.cfg.AccountID)
			}
			return nil, invalidParameter("imageIds", failure.FailureReason)
		}
		if !slices.Contains(digests, m.Digest) {
			digests = append(digests, m.Digest)
		}
	}
	filter := metadata.AnyImage()
	filter.Digests = digests
	images, err := a.store.Images(ctx, repo, filter, "", len(digests))
	if err != nil {
		return nil, a.storeError(err, repo)
	}
	out := &describeImagesOutput{ImageDetails: []imageDetail{}}
	for _, d := range digests {
		i := slices.IndexFunc(images, func(im metadata.Image) bool { return im.Digest == d })
		if i < 0 { // deleted since it was resolved
			return nil, imageNotFound(imageID{ImageDigest: ptr(d.String())}, repo, a.cfg.AccountID)
		}
		out.ImageDetails = append(out.ImageDetails, a.detail(repo, images[i]))
	}
	return out, nil
}

// resolve finds the manifest an imageId names, or says why it cannot (a
// failure, the client's doing). An index that cannot be read is an error,
// which the caller returns: the client gets a ServerException and the
// error is logged, never passed off as the client's.
func (a *API) resolve(ctx context.Context, repo string, id imageID) (metadata.Manifest, *imageFailure, error) {
	fail := func(code, reason string) (metadata.Manifest, *imageFailure, error) {
		return metadata.Manifest{}, &imageFailure{ImageID: id, FailureCode: code, FailureReason: reason}, nil
	}
	if id.ImageDigest == nil && id.ImageTag == nil {
		return fail("MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null")
	}
	var want digest.Digest
	if id.ImageDigest != nil {
		d, err := digest.Parse(*id.ImageDigest)
		if err != nil {
			return fail("InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
		}
		want = d
	}
	ref := want.String()
	if id.ImageTag != nil {
		if *id.ImageTag == "" || len(*id.ImageTag) > 300 {
			return fail("InvalidImageTag", "Invalid request parameters: image tag should have length between 1 and 300")
		}
		ref = *id.ImageTag
	}
	m, err := a.store.Manifest(ctx, repo, ref)
	if errors.Is(err, metadata.ErrManifestUnknown) {
		return fail("ImageNotFound", "Requested image not found")
	}
	if err != nil {
		return m, nil, fmt.Errorf("reading image %s of repository %s: %w", ref, repo, err)
	}
	if want != "" && m.Digest != want {
		return fail("ImageTagDoesNotMatchDigest", "Invalid request parameters: given tag and digest do not match")
	}
	return m, nil, nil
}

type batchGetImageInput struct {
	repositoryRef
	ImageIDs           []imageID `json:"imageIds,omitempty"`
	AcceptedMediaTypes []string  `json:"acceptedMediaTypes,omitempty"`
}

type image struct {
	RegistryID             string  `json:"registryId"`
	RepositoryName         string  `json:"repositoryName"`
	ImageID                imageID `json:"imageId"`
	ImageManifest          string  `json:"imageManifest"`
	ImageManifestMediaType string  `json:"imageManifestMediaType"`
}

type batchGetImageOutput struct {
	Images   []image        `json:"images"`
	Failures []imageFailure `json:"failures"`
}

func (a *API) batchGetImage(ctx context.Context, in *batchGetImageInput) (*batchGetImageOutput, error) {
	name, err := a.authorized(ctx, "ecr:BatchGetImage", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if err := imageIDCount(in.ImageIDs); err != nil {
		return nil, err
	}
	if len(in.AcceptedMediaTypes) > 100 {
		return nil, validation("acceptedMediaTypes", "list", "Member must have length less than or equal to 100")
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	out := &batchGetImageOutput{Images: []image{}, Failures: []imageFailure{}}
	for _, id := range in.ImageIDs {
		m, failure, err := a.resolve(ctx, name, id)
		if err != nil {
			return nil, err
		}
		if failure == nil && len(in.AcceptedMediaTypes) > 0 && !slices.Contains(in.AcceptedMediaTypes, m.MediaType) {
			failure = &imageFailure{ImageID: id, FailureCode: "UnsupportedImageType", FailureReason: fmt.Sprintf("The image's manifest media type %s is not among the accepted media types", m.MediaType)}
		}
		if failure != nil {
			out.Failures = append(out.Failures, *failure)
			continue
		}
		got := imageID{ImageDigest: ptr(m.Digest.String()), ImageTag: id.ImageTag}
		out.Images = append(out.Images, image{a.cfg.AccountID, name, got, string(m.Content), m.MediaType})
	}
	return out, nil
}

func imageIDCount(ids []imageID) error {
	if ids == nil {
		return validation("imageIds", "null", "Member must not be null")
	}
	if len(ids) < 1 || len(ids) > 100 {
		return validation("imageIds", "list", "Member must have length between 1 and 100")
	}
	return nil
}

type putImageInput struct {
	repositoryRef
	ImageManifest          *string `json:"imageManifest,omitempty"`
	ImageManifestMediaType *string `json:"imageManifestMediaType,omitempty"`
	ImageTag               *string `json:"imageTag,omitempty"`
	ImageDigest            *string `json:"imageDigest,omitempty"`
}

type putImageOutput struct {
	Image image `json:"image"`
}

// maxManifestLength is ECR's imageManifest limit: 4 MiB.
const maxManifestLength = 4 << 20

// putImage stores a manifest, or tags an existing one (retag): the
// registry's own push path, with ECR's errors.
func (a *API) putImage(ctx context.Context, in *putImageInput) (*putImageOutput, error) {
	name, err := a.authorized(ctx, "ecr:PutImage", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if in.ImageManifest == nil {
		return nil, validation("imageManifest", "null", "Member must not be null")
	}
	if len(*in.ImageManifest) < 1 || len(*in.ImageManifest) > maxManifestLength {
		return nil, validation("imageManifest", "…", fmt.Sprintf("Member must have length between 1 and %d", maxManifestLength))
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	body := []byte(*in.ImageManifest)
	var want digest.Digest
	if in.ImageDigest != nil {
		if want, err = digest.Parse(*in.ImageDigest); err != nil {
			return nil, invalidParameter("imageDigest", "Invalid image digest")
		}
	}
	var tags []string
	if in.ImageTag != nil {
		tags = []string{*in.ImageTag}
	}
	mediaType := ""
	if in.ImageManifestMediaType != nil {
		mediaType = *in.ImageManifestMediaType
	}

	dgst := digest.Canonical.FromBytes(body)
	if want != "" {
		if dgst = want.Algorithm().FromBytes(body); dgst != want {
			return nil, imageDigestDoesNotMatch(want, dgst)
		}
	}
	if existing, err := a.store.Manifest(ctx, name, dgst.String()); err == nil && bytes.Equal(existing.Content, body) {
		already := in.ImageTag == nil
		if in.ImageTag != nil {
			tagged, err := a.store.Manifest(ctx, name, *in.ImageTag)
			already = err == nil && tagged.Digest == dgst
		}
		if already {
			return nil, imageAlreadyExists(dgst, in.ImageTag, name, a.cfg.AccountID)
		}
	}

	m, err := a.registry.PutImage(ctx, name, mediaType, body, want, tags)
	var mismatch *registry.DigestMismatchError
	var immutable *registry.ImmutableTagError
	var missing *metadata.MissingReferencesError
	var invalid *ocierr.Error
	switch {
	case err == nil:
	case errors.As(err, &mismatch):
		return nil, imageDigestDoesNotMatch(mismatch.Want, mismatch.Got)
	case errors.As(err, &immutable):
		return nil, imageTagAlreadyExists(immutable.Error())
	case errors.As(err, &missing):
		return nil, a.missingReferences(name, body, missing)
	case errors.As(err, &invalid):
		return nil, invalidParameter("ImageManifest", invalid.Message)
	default:
		return nil, a.storeError(err, name)
	}
	got := imageID{ImageDigest: ptr(m.Digest.String()), ImageTag: in.ImageTag}
	return &putImageOutput{image{a.cfg.AccountID, name, got, *in.ImageManifest, m.MediaType}}, nil
}

// missingReferences says which blobs (layers) or child images a manifest
// lacks, as ECR does.
func (a *API) missingReferences(repo string, body []byte, missing *metadata.MissingReferencesError) error {
	var list []string
	for _, d := range missing.Digests {
		list = append(list, d.String())
	}
	// An index lists manifests; ECR calls those referenced images.
	if strings.Contains(string(body), `"manifests"`) {
		return referencedImagesNotFound(list)
	}
	return layersNotFound(list, repo, a.cfg.AccountID)
}

type batchDeleteImageInput struct {
	repositoryRef
	ImageIDs []imageID `json:"imageIds,omitempty"`
}

type batchDeleteImageOutput struct {
	ImageIDs []imageID      `json:"imageIds"`
	Failures []imageFailure `json:"failures"`
}

// batchDeleteImage deletes by tag (the tag, and the image with its last
// tag) or by digest (the image and all its tags). An image an index still
// references is not deleted by digest.
func (a *API) batchDeleteImage(ctx context.Context, in *batchDeleteImageInput) (*batchDeleteImageOutput, error) {
	name, err := a.authorized(ctx, "ecr:BatchDeleteImage", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if err := imageIDCount(in.ImageIDs); err != nil {
		return nil, err
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	out := &batchDeleteImageOutput{ImageIDs: []imageID{}, Failures: []imageFailure{}}
	for _, id := range in.ImageIDs {
		deleted, failure, err := a.deleteImage(ctx, name, id)
		if err != nil {
			return nil, err
		}
		if failure != nil {
			out.Failures = append(out.Failures, *failure)
		}
		out.ImageIDs = append(out.ImageIDs, deleted...)
	}
	return out, nil
}

func (a *API) deleteImage(ctx context.Context, repo string, id imageID) ([]imageID, *imageFailure, error) {
	m, failure, err := a.resolve(ctx, repo, id)
	if err != nil || failure != nil {
		return nil, failure, err
	}
	im, err := a.store.Image(ctx, repo, m.Digest)
	if err != nil {
		return nil, nil, a.storeError(err, repo)
	}
	dgst := ptr(m.Digest.String())
	if id.ImageTag != nil && len(im.Tags) > 1 {
		err := a.store.DeleteTag(ctx, repo, *id.ImageTag)
		if errors.Is(err, metadata.ErrTagUnknown) { // deleted meanwhile
			return nil, &imageFailure{id, "ImageNotFound", "Requested image not found"}, nil
		}
		return []imageID{{ImageDigest: dgst, ImageTag: id.ImageTag}}, nil, a.storeError(err, repo)
	}
	parents, err := a.store.ManifestParents(ctx, repo, m.Digest)
	if err != nil {
		return nil, nil, a.storeError(err, repo)
	}
	if len(parents) > 0 {
		if id.ImageTag != nil { // the last tag goes; the image stays for its index
			err := a.store.DeleteTag(ctx, repo, *id.ImageTag)
			return []imageID{{ImageDigest: dgst, ImageTag: id.ImageTag}}, nil, a.storeError(err, repo)
		}
		var list []string
		for _, p := range parents {
			list = append(list, p.String())
		}
		return nil, &imageFailure{id, "ImageReferencedByManifestList", "Requested image referenced by manifest list: [" + strings.Join(list, ", ") + "]"}, nil
	}
	err = a.store.DeleteManifest(ctx, repo, m.Digest)
	if errors.Is(err, metadata.ErrManifestUnknown) {
		return nil, &imageFailure{id, "ImageNotFound", "Requested image not found"}, nil
	}
	if err != nil {
		return nil, nil, a.storeError(err, repo)
	}
	if len(im.Tags) == 0 {
		return []imageID{{ImageDigest: dgst}}, nil, nil
	}
	var deleted []imageID
	for _, tag := range im.Tags {
		deleted = append(deleted, imageID{ImageDigest: dgst, ImageTag: ptr(tag)})
	}
	return deleted, nil, nil
}

type listReferrersInput struct {
	repositoryRef
	SubjectID *struct {
		ImageDigest *string `json:"imageDigest,omitempty"`
	} `json:"subjectId,omitempty"`
	Filter *struct {
		ArtifactTypes  []string `json:"artifactTypes,omitempty"`
		ArtifactStatus *string  `json:"artifactStatus,omitempty"`
	} `json:"filter,omitempty"`
	NextToken  *string `json:"nextToken,omitempty"`
	MaxResults *int    `json:"maxResults,omitempty"`
}

type referrer struct {
	Digest         string            `json:"digest"`
	MediaType      string            `json:"mediaType"`
	ArtifactType   string            `json:"artifactType,omitempty"`
	Size           int64             `json:"size"`
	Annotations    map[string]string `json:"annotations,omitempty"`
	ArtifactStatus string            `json:"artifactStatus"`
}

type listReferrersOutput struct {
	Referrers []referrer `json:"referrers"`
	NextToken *string    `json:"nextToken,omitempty"`
}

// listImageReferrers lists the signatures, SBOMs and other artifacts whose
// subject is an image, as the /v2/ referrers API does.
func (a *API) listImageReferrers(ctx context.Context, in *listReferrersInput) (*listReferrersOutput, error) {
	name, err := a.authorized(ctx, "ecr:ListImageReferrers", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if in.SubjectID == nil || in.SubjectID.ImageDigest == nil {
		return nil, validation("subjectId.imageDigest", "null", "Member must not be null")
	}
	subject, err := digest.Parse(*in.SubjectID.ImageDigest)
	if err != nil {
		return nil, invalidParameter("subjectId.imageDigest", "Invalid image digest")
	}
	n, err := maxResults(in.MaxResults, 50, 50)
	if err != nil {
		return nil, err
	}
	var types []string
	if in.Filter != nil {
		types = in.Filter.ArtifactTypes
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	all, err := a.store.Referrers(ctx, name, subject, "")
	if err != nil {
		return nil, a.storeError(err, name)
	}
	var selected []metadata.Descriptor
	for _, d := range all {
		if len(types) == 0 || slices.Contains(types, d.ArtifactType) {
			selected = append(selected, d)
		}
	}
	binding := awsjson.Binding("ListImageReferrers", name, subject, types)
	selected, next, err := page(a, binding, in.NextToken, selected, n)
	if err != nil {
		return nil, err
	}
	out := &listReferrersOutput{Referrers: []referrer{}, NextToken: next}
	for _, d := range selected {
		out.Referrers = append(out.Referrers, referrer{d.Digest.String(), d.MediaType, d.ArtifactType, d.Size, d.Annotations, "ACTIVE"})
	}
	return out, nil
}
