package ecr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// Wire shapes of repositories, with the member names of the ECR model.

type exclusionFilter struct {
	FilterType string `json:"filterType"`
	Filter     string `json:"filter"`
}

type scanningConfiguration struct {
	ScanOnPush bool `json:"scanOnPush"`
}

type encryptionConfiguration struct {
	EncryptionType string  `json:"encryptionType"`
	KMSKey         *string `json:"kmsKey,omitempty"`
}

type resourceTag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

type repository struct {
	RepositoryArn              string                   `json:"repositoryArn"`
	RegistryID                 string                   `json:"registryId"`
	RepositoryName             string                   `json:"repositoryName"`
	RepositoryURI              string                   `json:"repositoryUri"`
	CreatedAt                  awsjson.Time             `json:"createdAt"`
	ImageTagMutability         string                   `json:"imageTagMutability"`
	MutabilityExclusionFilters []exclusionFilter        `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ImageScanningConfiguration scanningConfiguration    `json:"imageScanningConfiguration"`
	EncryptionConfiguration    *encryptionConfiguration `json:"encryptionConfiguration"`
}

// wire returns r as ECR describes it.
func (a *API) wire(ctx context.Context, r metadata.Repository) repository {
	out := repository{
		RepositoryArn:              a.repositoryARN(r.Name),
		RegistryID:                 a.cfg.AccountID,
		RepositoryName:             r.Name,
		RepositoryURI:              a.host(ctx) + "/" + r.Name,
		CreatedAt:                  awsjson.NewTime(r.CreatedAt),
		ImageTagMutability:         cmp(r.TagMutability, metadata.Mutable),
		ImageScanningConfiguration: scanningConfiguration{r.ScanOnPush},
		EncryptionConfiguration:    &encryptionConfiguration{EncryptionType: cmp(r.EncryptionType, "AES256")},
	}
	if r.KMSKey != "" {
		out.EncryptionConfiguration.KMSKey = ptr(r.KMSKey)
	}
	for _, f := range r.MutabilityExclusions {
		out.MutabilityExclusionFilters = append(out.MutabilityExclusionFilters, exclusionFilter{"WILDCARD", f})
	}
	return out
}

// cmp returns s, or def when s is empty.
func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// repositoryARN is the ARN of repository name.
func (a *API) repositoryARN(name string) string { return a.scope.Repository(name).String() }

// host is the registry host in repository URIs: the configured one, or
// the host the client reached.
func (a *API) host(ctx context.Context) string {
	if a.cfg.RepositoryHost != "" {
		return a.cfg.RepositoryHost
	}
	_, host, _ := strings.Cut(awsjson.BaseURL(ctx), "://")
	return host
}

var (
	mutabilities    = []string{metadata.Mutable, metadata.Immutable, metadata.ImmutableWithExclusion, metadata.MutableWithExclusion}
	encryptionTypes = []string{"AES256", "KMS", "KMS_DSSE"}
	filterRegexp    = regexp.MustCompile(`^[0-9a-zA-Z._*-]{1,128}$`)
)

// mutability validates a tag mutability setting and its exclusion filters
// as ECR does.
func mutability(value *string, filters []exclusionFilter) (string, []string, error) {
	m := metadata.Mutable
	if value != nil {
		m = *value
	}
	if !slices.Contains(mutabilities, m) {
		return "", nil, validation("imageTagMutability", m, "Member must satisfy enum value set: ["+strings.Join(mutabilities, ", ")+"]")
	}
	withExclusion := strings.HasSuffix(m, "_WITH_EXCLUSION")
	if withExclusion && len(filters) == 0 {
		return "", nil, invalidParameter("imageTagMutabilityExclusionFilters", "Exclusion filters are required when imageTagMutability is "+m)
	}
	if !withExclusion && len(filters) > 0 {
		return "", nil, invalidParameter("imageTagMutabilityExclusionFilters", "Exclusion filters can only be used with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION")
	}
	if len(filters) > 5 {
		return "", nil, validation("imageTagMutabilityExclusionFilters", "list", "Member must have length less than or equal to 5")
	}
	var out []string
	for _, f := range filters {
		if f.FilterType != "WILDCARD" {
			return "", nil, validation("imageTagMutabilityExclusionFilters.member.filterType", f.FilterType, "Member must satisfy enum value set: [WILDCARD]")
		}
		if !filterRegexp.MatchString(f.Filter) {
			return "", nil, validation("imageTagMutabilityExclusionFilters.member.filter", f.Filter, "Member must satisfy regular expression pattern: ^[0-9a-zA-Z._*-]{1,128}$")
		}
		out = append(out, f.Filter)
	}
	return m, out, nil
}

// maxResourceTags is ECR's limit of tags per resource.
const maxResourceTags = 50

// resourceTags validates tags and merges them into existing ones (a key
// given again takes the new value).
func resourceTags(existing []metadata.ResourceTag, tags []resourceTag) ([]metadata.ResourceTag, error) {
	out := slices.Clone(existing)
	for _, t := range tags {
		if t.Key == nil || len(*t.Key) < 1 || len(*t.Key) > 128 {
			return nil, invalidTagParameter("Tag keys must be between 1 and 128 characters long.")
		}
		value := ""
		if t.Value != nil {
			value = *t.Value
		}
		if len(value) > 256 {
			return nil, invalidTagParameter("Tag values must be at most 256 characters long.")
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return nil, invalidTagParameter("Tag keys must not start with 'aws:'.")
		}
		i := slices.IndexFunc(out, func(r metadata.ResourceTag) bool { return r.Key == *t.Key })
		if i >= 0 {
			out[i].Value = value
		} else {
			out = append(out, metadata.ResourceTag{Key: *t.Key, Value: value})
		}
	}
	if len(out) > maxResourceTags {
		return nil, tooManyTags(maxResourceTags)
	}
	return out, nil
}

func wireTags(tags []metadata.ResourceTag) []resourceTag {
	out := []resourceTag{}
	for _, t := range tags {
		out = append(out, resourceTag{ptr(t.Key), ptr(t.Value)})
	}
	return out
}

type createRepositoryInput struct {
	repositoryRef
	Tags                       []resourceTag            `json:"tags,omitempty"`
	ImageTagMutability         *string                  `json:"imageTagMutability,omitempty"`
	MutabilityExclusionFilters []exclusionFilter        `json:"imageTagMutabilityExclusionFilters,omitempty"`
	ImageScanningConfiguration *scanningConfiguration   `json:"imageScanningConfiguration,omitempty"`
	EncryptionConfiguration    *encryptionConfiguration `json:"encryptionConfiguration,omitempty"`
}

type repositoryOutput struct {
	Repository repository `json:"repository"`
}

func (a *API) createRepository(ctx context.Context, in *createRepositoryInput) (*repositoryOutput, error) {
	name, err := a.repository(in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:CreateRepository", a.repositoryARN(name)); err != nil {
		return nil, err
	}
	r := metadata.Repository{Name: name}
	if r.TagMutability, r.MutabilityExclusions, err = mutability(in.ImageTagMutability, in.MutabilityExclusionFilters); err != nil {
		return nil, err
	}
	if in.ImageScanningConfiguration != nil {
		r.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
	}
	if e := in.EncryptionConfiguration; e != nil {
		if !slices.Contains(encryptionTypes, e.EncryptionType) {
			return nil, validation("encryptionConfiguration.encryptionType", e.EncryptionType, "Member must satisfy enum value set: ["+strings.Join(encryptionTypes, ", ")+"]")
		}
		if e.KMSKey != nil && e.EncryptionType == "AES256" {
			return nil, invalidParameter("encryptionConfiguration", "KMS key should not be specified when encryption type is AES256")
		}
		r.EncryptionType = e.EncryptionType
		if e.KMSKey != nil {
			r.KMSKey = *e.KMSKey
		}
	}
	if r.Tags, err = resourceTags(nil, in.Tags); err != nil {
		return nil, err
	}
	err = a.store.CreateRepository(ctx, r)
	if errors.Is(err, metadata.ErrRepositoryExists) {
		return nil, repositoryAlreadyExists(name, a.cfg.AccountID)
	}
	if err != nil {
		return nil, wrap("CreateRepository", err)
	}
	created, err := a.store.Repository(ctx, name)
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &repositoryOutput{a.wire(ctx, created)}, nil
}

type describeRepositoriesInput struct {
	RegistryID      *string  `json:"registryId,omitempty"`
	RepositoryNames []string `json:"repositoryNames,omitempty"`
	NextToken       *string  `json:"nextToken,omitempty"`
	MaxResults      *int     `json:"maxResults,omitempty"`
}

type describeRepositoriesOutput struct {
	Repositories []repository `json:"repositories"`
	NextToken    *string      `json:"nextToken,omitempty"`
}

func (a *API) describeRepositories(ctx context.Context, in *describeRepositoriesInput) (*describeRepositoriesOutput, error) {
	if err := a.registryID(in.RegistryID); err != nil {
		return nil, err
	}
	out := &describeRepositoriesOutput{Repositories: []repository{}}
	if len(in.RepositoryNames) > 0 {
		if in.NextToken != nil || in.MaxResults != nil {
			return nil, invalidParameter("nextToken, maxResults", "Cannot be specified with repositoryNames")
		}
		if len(in.RepositoryNames) > 100 {
			return nil, validation("repositoryNames", "list", "Member must have length less than or equal to 100")
		}
		for _, n := range in.RepositoryNames {
			name, err := a.repository(repositoryRef{RepositoryName: &n})
			if err != nil {
				return nil, err
			}
			if err := a.access.AuthorizeAction(ctx, "ecr:DescribeRepositories", a.repositoryARN(name)); err != nil {
				return nil, err
			}
			r, err := a.store.Repository(ctx, name)
			if err != nil {
				return nil, a.storeError(err, name)
			}
			out.Repositories = append(out.Repositories, a.wire(ctx, r))
		}
		return out, nil
	}
	n, err := maxResults(in.MaxResults, 1000, 100)
	if err != nil {
		return nil, err
	}
	binding := awsjson.Binding("DescribeRepositories", a.cfg.AccountID)
	var last string
	if in.NextToken != nil {
		if err := a.tokens.Decode(*in.NextToken, binding, &last); err != nil {
			return nil, err
		}
	}
	// Repositories the caller may not describe are left out, as IAM
	// leaves them out of a listing the caller is allowed to make.
	for len(out.Repositories) < n {
		page, err := a.store.ListRepositories(ctx, last, n-len(out.Repositories))
		if err != nil {
			return nil, wrap("DescribeRepositories", err)
		}
		for _, r := range page {
			last = r.Name
			if a.access.AuthorizeAction(ctx, "ecr:DescribeRepositories", a.repositoryARN(r.Name)) == nil {
				out.Repositories = append(out.Repositories, a.wire(ctx, r))
			}
		}
		if len(page) == 0 {
			return out, nil
		}
	}
	if more, err := a.store.ListRepositories(ctx, last, 1); err != nil {
		return nil, wrap("DescribeRepositories", err)
	} else if len(more) > 0 {
		if out.NextToken, err = a.nextToken(binding, last); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type deleteRepositoryInput struct {
	repositoryRef
	Force bool `json:"force,omitempty"`
}

func (a *API) deleteRepository(ctx context.Context, in *deleteRepositoryInput) (*repositoryOutput, error) {
	name, err := a.authorized(ctx, "ecr:DeleteRepository", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	r, err := a.store.DeleteRepository(ctx, name, in.Force)
	if errors.Is(err, metadata.ErrRepositoryNotEmpty) {
		return nil, repositoryNotEmpty(name, a.cfg.AccountID)
	}
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &repositoryOutput{a.wire(ctx, r)}, nil
}

type putImageTagMutabilityInput struct {
	repositoryRef
	ImageTagMutability         *string           `json:"imageTagMutability,omitempty"`
	MutabilityExclusionFilters []exclusionFilter `json:"imageTagMutabilityExclusionFilters,omitempty"`
}

type putImageTagMutabilityOutput struct {
	RegistryID                 string            `json:"registryId"`
	RepositoryName             string            `json:"repositoryName"`
	ImageTagMutability         string            `json:"imageTagMutability"`
	MutabilityExclusionFilters []exclusionFilter `json:"imageTagMutabilityExclusionFilters,omitempty"`
}

func (a *API) putImageTagMutability(ctx context.Context, in *putImageTagMutabilityInput) (*putImageTagMutabilityOutput, error) {
	name, err := a.authorized(ctx, "ecr:PutImageTagMutability", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if in.ImageTagMutability == nil {
		return nil, validation("imageTagMutability", "null", "Member must not be null")
	}
	m, filters, err := mutability(in.ImageTagMutability, in.MutabilityExclusionFilters)
	if err != nil {
		return nil, err
	}
	r, err := a.store.UpdateRepository(ctx, name, func(r *metadata.Repository) error {
		r.TagMutability, r.MutabilityExclusions = m, filters
		return nil
	})
	if err != nil {
		return nil, a.storeError(err, name)
	}
	w := a.wire(ctx, r)
	return &putImageTagMutabilityOutput{a.cfg.AccountID, name, w.ImageTagMutability, w.MutabilityExclusionFilters}, nil
}

type putImageScanningConfigurationInput struct {
	repositoryRef
	ImageScanningConfiguration *scanningConfiguration `json:"imageScanningConfiguration,omitempty"`
}

type putImageScanningConfigurationOutput struct {
	RegistryID                 string                `json:"registryId"`
	RepositoryName             string                `json:"repositoryName"`
	ImageScanningConfiguration scanningConfiguration `json:"imageScanningConfiguration"`
}

func (a *API) putImageScanningConfiguration(ctx context.Context, in *putImageScanningConfigurationInput) (*putImageScanningConfigurationOutput, error) {
	name, err := a.authorized(ctx, "ecr:PutImageScanningConfiguration", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if in.ImageScanningConfiguration == nil {
		return nil, validation("imageScanningConfiguration", "null", "Member must not be null")
	}
	r, err := a.store.UpdateRepository(ctx, name, func(r *metadata.Repository) error {
		r.ScanOnPush = in.ImageScanningConfiguration.ScanOnPush
		return nil
	})
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &putImageScanningConfigurationOutput{a.cfg.AccountID, name, scanningConfiguration{r.ScanOnPush}}, nil
}

// Resource tags, keyed by the repository's ARN.

type tagResourceInput struct {
	ResourceArn *string       `json:"resourceArn,omitempty"`
	Tags        []resourceTag `json:"tags,omitempty"`
	TagKeys     []string      `json:"tagKeys,omitempty"`
}

type listTagsForResourceOutput struct {
	Tags []resourceTag `json:"tags"`
}

// resourceName returns the repository a resource ARN names.
func (a *API) resourceName(ctx context.Context, action string, resourceARN *string) (string, error) {
	if resourceARN == nil {
		return "", validation("resourceArn", "null", "Member must not be null")
	}
	// Only the ARN form berth gives its own repositories names one.
	res, err := arn.Parse(*resourceARN)
	if err != nil || res != a.scope.Repository(res.ID()) {
		return "", invalidParameter("resourceArn", fmt.Sprintf("Invalid ARN %s: not a repository of registry %s in %s", *resourceARN, a.cfg.AccountID, a.cfg.Region))
	}
	name := res.ID()
	return a.authorized(ctx, action, repositoryRef{RepositoryName: &name})
}

func (a *API) tagResource(ctx context.Context, in *tagResourceInput) (*struct{}, error) {
	name, err := a.resourceName(ctx, "ecr:TagResource", in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, validation("tags", "null", "Member must not be null")
	}
	_, err = a.store.UpdateRepository(ctx, name, func(r *metadata.Repository) error {
		var err error
		r.Tags, err = resourceTags(r.Tags, in.Tags)
		return err
	})
	return nil, a.storeError(err, name)
}

func (a *API) untagResource(ctx context.Context, in *tagResourceInput) (*struct{}, error) {
	name, err := a.resourceName(ctx, "ecr:UntagResource", in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, validation("tagKeys", "null", "Member must not be null")
	}
	_, err = a.store.UpdateRepository(ctx, name, func(r *metadata.Repository) error {
		r.Tags = slices.DeleteFunc(r.Tags, func(t metadata.ResourceTag) bool { return slices.Contains(in.TagKeys, t.Key) })
		return nil
	})
	return nil, a.storeError(err, name)
}

func (a *API) listTagsForResource(ctx context.Context, in *tagResourceInput) (*listTagsForResourceOutput, error) {
	name, err := a.resourceName(ctx, "ecr:ListTagsForResource", in.ResourceArn)
	if err != nil {
		return nil, err
	}
	r, err := a.store.Repository(ctx, name)
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &listTagsForResourceOutput{wireTags(r.Tags)}, nil
}

// authorized validates ref and authorizes action on it.
func (a *API) authorized(ctx context.Context, action string, ref repositoryRef) (string, error) {
	name, err := a.repository(ref)
	if err != nil {
		return "", err
	}
	return name, a.access.AuthorizeAction(ctx, action, a.repositoryARN(name))
}

// registryID checks an optional registryId member.
func (a *API) registryID(id *string) error {
	if id == nil {
		return nil
	}
	if !registryIDRegexp.MatchString(*id) {
		return validation("registryId", *id, "Member must satisfy regular expression pattern: [0-9]{12}")
	}
	if *id != a.cfg.AccountID {
		return invalidParameter("registryId", fmt.Sprintf("This registry's id is %s, not %s", a.cfg.AccountID, *id))
	}
	return nil
}

// maxResults reads an optional maxResults member between 1 and limit.
func maxResults(v *int, limit, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > limit {
		return 0, validation("maxResults", fmt.Sprint(*v), fmt.Sprintf("Member must have value between 1 and %d", limit))
	}
	return *v, nil
}

// page returns the page of items that token (nil: the first page) starts,
// at most n long, and the token of the next page (nil on the last), for
// results computed whole and paged by offset.
func page[T any](a *API, binding any, token *string, items []T, n int) ([]T, *string, error) {
	offset := 0
	if token != nil {
		if err := a.tokens.Decode(*token, binding, &offset); err != nil {
			return nil, nil, err
		}
	}
	offset = min(max(offset, 0), len(items))
	end := min(offset+n, len(items))
	if end == len(items) {
		return items[offset:end], nil, nil
	}
	next, err := a.nextToken(binding, end)
	return items[offset:end], next, err
}

// cursorPage reads the page of at most n items that token (nil: the
// first page) starts, for listings the index pages itself: read returns up
// to n items after a cursor, and cursor is an item's. It returns the page
// and the token of the next one (nil on the last).
func cursorPage[T, C any](a *API, binding any, token *string, n int, read func(after C, n int) ([]T, error), cursor func(T) C) ([]T, *string, error) {
	var after C
	if token != nil {
		if err := a.tokens.Decode(*token, binding, &after); err != nil {
			return nil, nil, err
		}
	}
	items, err := read(after, n+1)
	if err != nil || len(items) <= n {
		return items, nil, err
	}
	items = items[:n]
	next, err := a.nextToken(binding, cursor(items[n-1]))
	return items, next, err
}

func (a *API) nextToken(binding, cursor any) (*string, error) {
	t, err := a.tokens.Encode(binding, cursor)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// storeError maps an index error about repository name to ECR's error.
func (a *API) storeError(err error, name string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, metadata.ErrRepositoryUnknown):
		return repositoryNotFound(name, a.cfg.AccountID)
	}
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("repository %s: %w", name, err)
}
