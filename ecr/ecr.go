// Package ecr serves the Amazon ECR control-plane API (AWS JSON 1.1,
// target prefix AmazonEC2ContainerRegistry_V20150921) so that the aws CLI
// and the AWS SDKs work against berth with --endpoint-url.
//
// Operations live one family per file: auth.go (GetAuthorizationToken),
// repositories.go (repositories, their settings and tags), images.go
// (listing, reading, pushing and deleting images), layers.go (the layer
// upload and download API, on the registry's upload sessions), policy.go
// (repository policies), settings.go (registry-wide configuration that is
// stored and returned but not acted on). Each operation authorizes its ECR
// action through [Access] before it reads or writes anything, and returns
// errors with ECR's exact __type names and messages.
package ecr

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/registry"
)

// TargetPrefix is the X-Amz-Target prefix of every ECR operation.
const TargetPrefix = "AmazonEC2ContainerRegistry_V20150921"

// SigningName is the service name in ECR requests' SigV4 credential scope.
const SigningName = "ecr"

// Access is what the API needs from the access-control layer (package
// auth implements it).
type Access interface {
	// AuthorizeAction returns an error in AWS form (AccessDeniedException)
	// unless the caller in ctx may perform action on the resource
	// resourceARN names (a repository's ARN; "": a registry-wide action).
	AuthorizeAction(ctx context.Context, action, resourceARN string) error
	// AuthorizationToken issues the caller in ctx a registry password and
	// returns it as GetAuthorizationToken's authorizationToken member:
	// base64 of "AWS:" and the password.
	AuthorizationToken(ctx context.Context) (authorizationToken string, expiresAt time.Time, err error)
	// CheckRepositoryPolicy says what is wrong with a repository policy
	// document; nil if it is valid.
	CheckRepositoryPolicy(text string) error
}

// Store is what the API needs of the metadata index.
type Store interface {
	metadata.Repositories
	metadata.RepositoryPolicies
	// Settings keep registry-wide configuration and the pagination key.
	metadata.Settings
	// Images, Image, ImageTags, ManifestParents and SetStorageClass list,
	// describe and archive images.
	Images(ctx context.Context, repo string, f metadata.ImageFilter, last digest.Digest, n int) ([]metadata.Image, error)
	Image(ctx context.Context, repo string, dgst digest.Digest) (metadata.Image, error)
	ImageTags(ctx context.Context, repo string, last metadata.ImageTag, n int, tagged, untagged bool) ([]metadata.ImageTag, error)
	ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error)
	SetStorageClass(ctx context.Context, repo string, dgst digest.Digest, class string, at time.Time) error
	// Manifest resolves image ids; DeleteManifest and DeleteTag delete
	// images; Referrers lists an image's referrers.
	Manifest(ctx context.Context, repo, reference string) (metadata.Manifest, error)
	DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error
	DeleteTag(ctx context.Context, repo, tag string) error
	Referrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) ([]metadata.Descriptor, error)
	// Blob answers the layer API about one layer.
	Blob(ctx context.Context, repo string, dgst digest.Digest) (metadata.Blob, error)
	// Scan reads an image's scan.
	Scan(ctx context.Context, repo string, dgst digest.Digest) (metadata.Scan, error)
	// LifecyclePreview and PreviewResults read lifecycle policy previews.
	LifecyclePreview(ctx context.Context, repo string) (metadata.LifecyclePreview, error)
	PreviewResults(ctx context.Context, repo, id string, f metadata.ImageFilter, after, n int) ([]metadata.PreviewResult, error)
	// ReplicationStatuses reads an image's replication to each destination.
	ReplicationStatuses(ctx context.Context, repo string, dgst digest.Digest) ([]metadata.Replication, error)
}

// Previews starts lifecycle policy previews (lifecycle.Previewer, whose
// Run evaluates them); the API reads them from the index.
type Previews interface {
	// Start records a preview of policy text for repo.
	// metadata.ErrPreviewInProgress if the previous one still runs.
	Start(ctx context.Context, repo, policy string) (metadata.LifecyclePreview, error)
}

// Config configures the API.
type Config struct {
	// AccountID is the 12-digit registry id.
	AccountID string
	// Region is the region in repository ARNs.
	Region string
	// RepositoryHost is the host (and port) in repository URIs; empty: the
	// host the client reached.
	RepositoryHost string
	// TokenSecret keys the pagination tokens (at least 32 bytes); empty: a
	// random key kept in the index, so tokens survive restarts and work on
	// every replica.
	TokenSecret []byte
	// Access authorizes each operation.
	Access Access
	// Previews starts lifecycle policy previews; nil: the API refuses
	// StartLifecyclePolicyPreview with a ServerException.
	Previews Previews
	// Scanner scans images for vulnerabilities.
	Scanner Scanning
	// PullThrough checks pull-through cache rules against their upstreams
	// (ValidatePullThroughCacheRule) and knows their credentials; nil:
	// rules are only stored.
	PullThrough PullThrough
	Log         *slog.Logger
	// Now is the clock of the scan quota (one StartImageScan a day, by
	// the scanner's times) and of storage class changes (which lifecycle
	// rules age images by); nil means time.Now.
	Now func() time.Time
}

// API is the ECR API. Register it on the AWS front door, which serves it
// to requests whose X-Amz-Target starts with [TargetPrefix], signed for
// [SigningName].
type API struct {
	svc      *awsjson.Service
	store    Store
	registry *registry.Registry
	access   Access
	tokens   *awsjson.TokenCodec
	cfg      Config
	scope    arn.Scope // where the registry's repositories are
}

// New returns the API over the metadata index and the registry (whose push
// path PutImage shares).
func New(ctx context.Context, store Store, reg *registry.Registry, cfg Config) (*API, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tokens, err := awsjson.OpenTokenCodec(ctx, store, settingTokenSecret, cfg.TokenSecret)
	if err != nil {
		return nil, err
	}
	a := &API{store: store, registry: reg, access: cfg.Access, tokens: tokens, cfg: cfg,
		scope: arn.Scope{Region: cfg.Region, AccountID: cfg.AccountID}}
	// The largest call is an UploadLayerPart: a 20 MiB part in base64.
	a.svc = awsjson.NewService(TargetPrefix, SigningName, awsjson.WithLogger(cfg.Log),
		awsjson.WithMaxBodyBytes(maxPartSize/3*4+64<<10))
	awsjson.Handle(a.svc, "GetAuthorizationToken", a.getAuthorizationToken)
	awsjson.Handle(a.svc, "CreateRepository", a.createRepository)
	awsjson.Handle(a.svc, "DescribeRepositories", a.describeRepositories)
	awsjson.Handle(a.svc, "DeleteRepository", a.deleteRepository)
	awsjson.Handle(a.svc, "PutImageTagMutability", a.putImageTagMutability)
	awsjson.Handle(a.svc, "PutImageScanningConfiguration", a.putImageScanningConfiguration)
	awsjson.Handle(a.svc, "TagResource", a.tagResource)
	awsjson.Handle(a.svc, "UntagResource", a.untagResource)
	awsjson.Handle(a.svc, "ListTagsForResource", a.listTagsForResource)
	awsjson.Handle(a.svc, "DescribeRegistry", a.describeRegistry)
	awsjson.Handle(a.svc, "ListImages", a.listImages)
	awsjson.Handle(a.svc, "DescribeImages", a.describeImages)
	awsjson.Handle(a.svc, "BatchGetImage", a.batchGetImage)
	awsjson.Handle(a.svc, "PutImage", a.putImage)
	awsjson.Handle(a.svc, "BatchDeleteImage", a.batchDeleteImage)
	awsjson.Handle(a.svc, "ListImageReferrers", a.listImageReferrers)
	awsjson.Handle(a.svc, "BatchCheckLayerAvailability", a.batchCheckLayerAvailability)
	awsjson.Handle(a.svc, "InitiateLayerUpload", a.initiateLayerUpload)
	awsjson.Handle(a.svc, "UploadLayerPart", a.uploadLayerPart)
	awsjson.Handle(a.svc, "CompleteLayerUpload", a.completeLayerUpload)
	awsjson.Handle(a.svc, "GetDownloadUrlForLayer", a.getDownloadURLForLayer)
	awsjson.Handle(a.svc, "PutRegistryPolicy", a.putRegistryPolicy)
	awsjson.Handle(a.svc, "GetRegistryPolicy", a.getRegistryPolicy)
	awsjson.Handle(a.svc, "DeleteRegistryPolicy", a.deleteRegistryPolicy)
	awsjson.Handle(a.svc, "PutReplicationConfiguration", a.putReplicationConfiguration)
	awsjson.Handle(a.svc, "CreatePullThroughCacheRule", a.createPullThroughCacheRule)
	awsjson.Handle(a.svc, "DescribePullThroughCacheRules", a.describePullThroughCacheRules)
	awsjson.Handle(a.svc, "DeletePullThroughCacheRule", a.deletePullThroughCacheRule)
	awsjson.Handle(a.svc, "UpdatePullThroughCacheRule", a.updatePullThroughCacheRule)
	awsjson.Handle(a.svc, "DescribeImageReplicationStatus", a.describeImageReplicationStatus)
	awsjson.Handle(a.svc, "ValidatePullThroughCacheRule", a.validatePullThroughCacheRule)
	awsjson.Handle(a.svc, "GetAccountSetting", a.getAccountSetting)
	awsjson.Handle(a.svc, "PutAccountSetting", a.putAccountSetting)
	awsjson.Handle(a.svc, "PutLifecyclePolicy", a.putLifecyclePolicy)
	awsjson.Handle(a.svc, "GetLifecyclePolicy", a.getLifecyclePolicy)
	awsjson.Handle(a.svc, "DeleteLifecyclePolicy", a.deleteLifecyclePolicy)
	awsjson.Handle(a.svc, "StartLifecyclePolicyPreview", a.startLifecyclePolicyPreview)
	awsjson.Handle(a.svc, "GetLifecyclePolicyPreview", a.getLifecyclePolicyPreview)
	awsjson.Handle(a.svc, "UpdateImageStorageClass", a.updateImageStorageClass)
	awsjson.Handle(a.svc, "StartImageScan", a.startImageScan)
	awsjson.Handle(a.svc, "DescribeImageScanFindings", a.describeImageScanFindings)
	awsjson.Handle(a.svc, "PutRegistryScanningConfiguration", a.putRegistryScanningConfiguration)
	awsjson.Handle(a.svc, "GetRegistryScanningConfiguration", a.getRegistryScanningConfiguration)
	awsjson.Handle(a.svc, "BatchGetRepositoryScanningConfiguration", a.batchGetRepositoryScanningConfiguration)
	awsjson.Handle(a.svc, "SetRepositoryPolicy", a.setRepositoryPolicy)
	awsjson.Handle(a.svc, "GetRepositoryPolicy", a.getRepositoryPolicy)
	awsjson.Handle(a.svc, "DeleteRepositoryPolicy", a.deleteRepositoryPolicy)
	return a, nil
}

// settingTokenSecret keeps the pagination token key in the index.
const settingTokenSecret = "ecr.paginationTokenKey"

// Register puts the API on the AWS front door.
func (a *API) Register(front *awsjson.Front) { front.JSON(a.svc) }

// repositoryRef is the registryId and repositoryName every repository
// operation takes.
type repositoryRef struct {
	RegistryID     *string `json:"registryId,omitempty"`
	RepositoryName *string `json:"repositoryName,omitempty"`
}

var (
	repositoryNameRegexp = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	registryIDRegexp     = regexp.MustCompile(`^[0-9]{12}$`)
)

// repository validates ref as ECR does and returns the repository name.
// A registryId other than this registry's names a registry that holds no
// repositories here.
func (a *API) repository(ref repositoryRef) (string, error) {
	if ref.RepositoryName == nil {
		return "", validation("repositoryName", "null", "Member must not be null")
	}
	name := *ref.RepositoryName
	if len(name) < 2 || len(name) > 256 {
		return "", validation("repositoryName", name, "Member must have length between 2 and 256")
	}
	if !repositoryNameRegexp.MatchString(name) {
		return "", validation("repositoryName", name, "Member must satisfy regular expression pattern: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
	}
	if ref.RegistryID != nil {
		if !registryIDRegexp.MatchString(*ref.RegistryID) {
			return "", validation("registryId", *ref.RegistryID, "Member must satisfy regular expression pattern: [0-9]{12}")
		}
		if *ref.RegistryID != a.cfg.AccountID {
			return "", repositoryNotFound(name, *ref.RegistryID)
		}
	}
	return name, nil
}

// newID returns a random identifier.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ptr returns a pointer to v, for optional output members.
func ptr[T any](v T) *T { return &v }

// wrap adds the operation to a server-side error; client errors pass as is.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}
