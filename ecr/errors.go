package ecr

import (
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awserr"
)

// The errors of the ECR API: every type name ECR's model gives an error
// berth returns, and one constructor per error with ECR's own wording
// (captured from ECR where berth could; the names and members are the
// model's). The errors every AWS service shares (ValidationException,
// AccessDeniedException, ServerException, ...) are awserr's. Handlers
// return these values; the front door's one writer sends them.
const (
	typeEmptyUpload                       = "EmptyUploadException"
	typeImageAlreadyExists                = "ImageAlreadyExistsException"
	typeImageDigestDoesNotMatch           = "ImageDigestDoesNotMatchException"
	typeImageNotFound                     = "ImageNotFoundException"
	typeImageStorageClassUpdateNotSupport = "ImageStorageClassUpdateNotSupportedException"
	typeImageTagAlreadyExists             = "ImageTagAlreadyExistsException"
	typeInvalidLayer                      = "InvalidLayerException"
	typeInvalidLayerPart                  = "InvalidLayerPartException"
	typeInvalidTagParameter               = "InvalidTagParameterException"
	typeLayerAlreadyExists                = "LayerAlreadyExistsException"
	typeLayersNotFound                    = "LayersNotFoundException"
	typeLifecyclePolicyNotFound           = "LifecyclePolicyNotFoundException"
	typeLifecyclePreviewInProgress        = "LifecyclePolicyPreviewInProgressException"
	typeLifecyclePreviewNotFound          = "LifecyclePolicyPreviewNotFoundException"
	typeLimitExceeded                     = "LimitExceededException"
	typePullThroughCacheRuleAlreadyExists = "PullThroughCacheRuleAlreadyExistsException"
	typePullThroughCacheRuleNotFound      = "PullThroughCacheRuleNotFoundException"
	typeReferencedImagesNotFound          = "ReferencedImagesNotFoundException"
	typeSecretNotFound                    = "SecretNotFoundException"
	typeUnableToDecryptSecretValue        = "UnableToDecryptSecretValueException"
	typeUnsupportedUpstreamRegistry       = "UnsupportedUpstreamRegistryException"
	typeRegistryPolicyNotFound            = "RegistryPolicyNotFoundException"
	typeRepositoryAlreadyExists           = "RepositoryAlreadyExistsException"
	typeRepositoryNotEmpty                = "RepositoryNotEmptyException"
	typeRepositoryNotFound                = "RepositoryNotFoundException"
	typeRepositoryPolicyNotFound          = "RepositoryPolicyNotFoundException"
	typeScanNotFound                      = "ScanNotFoundException"
	typeTooManyTags                       = "TooManyTagsException"
	typeUploadNotFound                    = "UploadNotFoundException"
)

// validation is AWS's ValidationException for one bad member.
func validation(member, value, constraint string) error {
	return awserr.Errorf(awserr.ValidationException, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

// invalidParameter is ECR's InvalidParameterException for one member.
func invalidParameter(member, constraint string) error {
	return awserr.Errorf(awserr.InvalidParameterException, "Invalid parameter at '%s' failed to satisfy constraint: '%s'", member, constraint)
}

func repositoryNotFound(name, registryID string) error {
	return awserr.Errorf(typeRepositoryNotFound, "The repository with name '%s' does not exist in the registry with id '%s'", name, registryID)
}

func repositoryAlreadyExists(name, registryID string) error {
	return awserr.Errorf(typeRepositoryAlreadyExists, "The repository with name '%s' already exists in the registry with id '%s'", name, registryID)
}

func repositoryNotEmpty(name, registryID string) error {
	return awserr.Errorf(typeRepositoryNotEmpty, "The repository with name '%s' in registry with id '%s' cannot be deleted because it still contains images", name, registryID)
}

func repositoryPolicyNotFound(name, registryID string) error {
	return awserr.Errorf(typeRepositoryPolicyNotFound, "Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", name, registryID)
}

func registryPolicyNotFound(registryID string) error {
	return awserr.Errorf(typeRegistryPolicyNotFound, "Registry policy does not exist in the registry with id '%s'", registryID)
}

// invalidTagParameter says which rule a resource tag breaks.
func invalidTagParameter(rule string) error {
	return awserr.Errorf(typeInvalidTagParameter, "%s", rule)
}

func tooManyTags(limit int) error {
	return awserr.Errorf(typeTooManyTags, "The repository can have at most %d tags.", limit)
}

func imageNotFound(id imageID, repo, registryID string) error {
	return awserr.Errorf(typeImageNotFound, "The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", id, repo, registryID)
}

// imageAlreadyExists: tag is nil when the push names no tag.
func imageAlreadyExists(dgst digest.Digest, tag *string, repo, registryID string) error {
	and := ""
	if tag != nil {
		and = fmt.Sprintf(" and tag '%s'", *tag)
	}
	return awserr.Errorf(typeImageAlreadyExists, "Image with digest '%s'%s already exists in the repository with name '%s' in registry with id '%s'", dgst, and, repo, registryID)
}

// imageTagAlreadyExists carries the registry's words for an immutable tag.
func imageTagAlreadyExists(reason string) error {
	return awserr.Errorf(typeImageTagAlreadyExists, "%s", reason)
}

func imageDigestDoesNotMatch(want, got digest.Digest) error {
	return awserr.Errorf(typeImageDigestDoesNotMatch, "Invalid parameter at 'imageDigest' failed to satisfy constraint: 'The digest of the manifest, %s, does not match the provided digest %s'", got, want)
}

func referencedImagesNotFound(digests []string) error {
	return awserr.Errorf(typeReferencedImagesNotFound, "The following referenced images were not found: [%s]", strings.Join(digests, ", "))
}

// layersNotFound: the layers a pushed manifest names that the repository
// does not hold.
func layersNotFound(digests []string, repo, registryID string) error {
	return awserr.Errorf(typeLayersNotFound, "Layers with digests '[%s]' required for pushing image into repository with name '%s' in the registry with id '%s' do not exist", strings.Join(digests, ", "), repo, registryID)
}

// layerNotFound: the one layer GetDownloadUrlForLayer asked for.
func layerNotFound(d digest.Digest, repo, registryID string) error {
	return awserr.Errorf(typeLayersNotFound, "The layer with digest '%s' does not exist in the repository with name '%s' in the registry with id '%s'", d, repo, registryID)
}

func layerAlreadyExists(d digest.Digest, repo, registryID string) error {
	return awserr.Errorf(typeLayerAlreadyExists, "The upload layer with digest '%s' already exists in the repository with name '%s' in the registry with id '%s'", d, repo, registryID)
}

func invalidLayer(format string, args ...any) error {
	return awserr.Errorf(typeInvalidLayer, format, args...)
}

func invalidLayerPart(format string, args ...any) error {
	return awserr.Errorf(typeInvalidLayerPart, format, args...)
}

func emptyUpload(id string) error {
	return awserr.Errorf(typeEmptyUpload, "The upload with id '%s' contains no layer parts", id)
}

func uploadNotFound(id, repo, registryID string) error {
	return awserr.Errorf(typeUploadNotFound, "The upload with id '%s' does not exist in the repository with name '%s' in the registry with id '%s'", id, repo, registryID)
}

func lifecyclePolicyNotFound(repo, registryID string) error {
	return awserr.Errorf(typeLifecyclePolicyNotFound, "Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", repo, registryID)
}

func lifecyclePreviewInProgress() error {
	return awserr.Errorf(typeLifecyclePreviewInProgress, "The previous lifecycle policy preview request has not completed. Wait and try again.")
}

func lifecyclePreviewNotFound(repo, registryID string) error {
	return awserr.Errorf(typeLifecyclePreviewNotFound, "There is no dry run for the repository with name '%s' in the registry with id '%s'", repo, registryID)
}

func storageClassUpdateNotSupported(d digest.Digest) error {
	return awserr.Errorf(typeImageStorageClassUpdateNotSupport, "The image %s is referenced by a manifest list and cannot be archived on its own", d)
}

func scanQuotaExceeded() error {
	return awserr.Errorf(typeLimitExceeded, "The scan quota per image has been exceeded. Wait and try again.")
}

func scanNotFound(id imageID, repo, registryID string) error {
	return awserr.Errorf(typeScanNotFound, "Image scan does not exist for the image with '%s' in the repository with name '%s' in the registry with id '%s'", id, repo, registryID)
}

func pullThroughCacheRuleAlreadyExists(registryID string) error {
	return awserr.Errorf(typePullThroughCacheRuleAlreadyExists, "A pull through cache rule with these settings already exists for the private registry with id '%s'", registryID)
}

func pullThroughCacheRuleNotFound(registryID string) error {
	return awserr.Errorf(typePullThroughCacheRuleNotFound, "The pull through cache rule does not exist in the registry with id '%s'", registryID)
}

func unsupportedUpstreamRegistry(url string, why error) error {
	return awserr.Errorf(typeUnsupportedUpstreamRegistry, "The upstream registry URL '%s' is not supported: %v", url, why)
}

func secretNotFound(arn string) error {
	return awserr.Errorf(typeSecretNotFound, "The specified secret '%s' could not be found; set it with `berth pull-through credential set`", arn)
}

func unableToDecryptSecret(arn string) error {
	return awserr.Errorf(typeUnableToDecryptSecretValue, "The secret '%s' could not be decrypted with this registry's master key", arn)
}
