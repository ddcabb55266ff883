package ecr

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/scanner"
)

// Scanning is what the API needs from the vulnerability scanner.
type Scanning interface {
	// Enqueue records a pending scan of an image and queues it.
	Enqueue(ctx context.Context, repo string, dgst digest.Digest) error
}

// scanQuota is how often an image may be scanned on request, as in ECR.
const scanQuota = 24 * time.Hour

type scanStatus struct {
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
}

type startImageScanInput struct {
	repositoryRef
	ImageID *imageID `json:"imageId,omitempty"`
}

type startImageScanOutput struct {
	RegistryID      string     `json:"registryId"`
	RepositoryName  string     `json:"repositoryName"`
	ImageID         imageID    `json:"imageId"`
	ImageScanStatus scanStatus `json:"imageScanStatus"`
}

// image resolves a required imageId member.
func (a *API) image(ctx context.Context, repo string, id *imageID) (metadata.Manifest, error) {
	if id == nil {
		return metadata.Manifest{}, validation("imageId", "null", "Member must not be null")
	}
	if _, err := a.store.Repository(ctx, repo); err != nil {
		return metadata.Manifest{}, a.storeError(err, repo)
	}
	m, failure, err := a.resolve(ctx, repo, *id)
	if err != nil {
		return m, err
	}
	if failure != nil {
		if failure.FailureCode == "ImageNotFound" {
			return m, imageNotFound(*id, repo, a.cfg.AccountID)
		}
		return m, invalidParameter("imageId", failure.FailureReason)
	}
	return m, nil
}

func (a *API) startImageScan(ctx context.Context, in *startImageScanInput) (*startImageScanOutput, error) {
	name, err := a.authorized(ctx, "ecr:StartImageScan", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	m, err := a.image(ctx, name, in.ImageID)
	if err != nil {
		return nil, err
	}
	if prev, err := a.store.Scan(ctx, name, m.Digest); err == nil && a.cfg.Now().Sub(prev.StartedAt) < scanQuota {
		return nil, scanQuotaExceeded()
	} else if err != nil && !errors.Is(err, metadata.ErrScanUnknown) {
		return nil, a.storeError(err, name)
	}
	if err := a.cfg.Scanner.Enqueue(ctx, name, m.Digest); err != nil {
		return nil, a.storeError(err, name)
	}
	id := imageID{ImageDigest: ptr(m.Digest.String()), ImageTag: in.ImageID.ImageTag}
	return &startImageScanOutput{a.cfg.AccountID, name, id, scanStatus{scanner.StatusInProgress, ""}}, nil
}

type describeScanFindingsInput struct {
	repositoryRef
	ImageID    *imageID `json:"imageId,omitempty"`
	NextToken  *string  `json:"nextToken,omitempty"`
	MaxResults *int     `json:"maxResults,omitempty"`
}

type imageScanFindings struct {
	ImageScanCompletedAt         *awsjson.Time     `json:"imageScanCompletedAt,omitempty"`
	VulnerabilitySourceUpdatedAt *awsjson.Time     `json:"vulnerabilitySourceUpdatedAt,omitempty"`
	FindingSeverityCounts        map[string]int    `json:"findingSeverityCounts,omitempty"`
	Findings                     []scanner.Finding `json:"findings,omitempty"`
}

type describeScanFindingsOutput struct {
	RegistryID        string             `json:"registryId"`
	RepositoryName    string             `json:"repositoryName"`
	ImageID           imageID            `json:"imageId"`
	ImageScanStatus   scanStatus         `json:"imageScanStatus"`
	ImageScanFindings *imageScanFindings `json:"imageScanFindings,omitempty"`
	NextToken         *string            `json:"nextToken,omitempty"`
}

func (a *API) describeImageScanFindings(ctx context.Context, in *describeScanFindingsInput) (*describeScanFindingsOutput, error) {
	name, err := a.authorized(ctx, "ecr:DescribeImageScanFindings", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	n, err := maxResults(in.MaxResults, 1000, 100)
	if err != nil {
		return nil, err
	}
	m, err := a.image(ctx, name, in.ImageID)
	if err != nil {
		return nil, err
	}
	sc, err := a.store.Scan(ctx, name, m.Digest)
	if errors.Is(err, metadata.ErrScanUnknown) {
		return nil, scanNotFound(*in.ImageID, name, a.cfg.AccountID)
	}
	if err != nil {
		return nil, a.storeError(err, name)
	}
	id := imageID{ImageDigest: ptr(m.Digest.String()), ImageTag: in.ImageID.ImageTag}
	out := &describeScanFindingsOutput{RegistryID: a.cfg.AccountID, RepositoryName: name, ImageID: id, ImageScanStatus: scanStatus{sc.Status, sc.Description}}
	if sc.Status != scanner.StatusComplete {
		return out, nil
	}
	findings, err := scanner.Findings(sc)
	if err != nil {
		return nil, wrap("DescribeImageScanFindings", err)
	}
	out.ImageScanFindings = scanSummary(sc)
	binding := awsjson.Binding("DescribeImageScanFindings", name, m.Digest, sc.CompletedAt.UnixNano())
	out.ImageScanFindings.Findings, out.NextToken, err = page(a, binding, in.NextToken, findings, n)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanSummary is a complete scan's times and counts, without findings.
func scanSummary(sc metadata.Scan) *imageScanFindings {
	out := &imageScanFindings{
		ImageScanCompletedAt:  ptr(awsjson.NewTime(sc.CompletedAt)),
		FindingSeverityCounts: sc.SeverityCounts,
	}
	if !sc.SourceUpdatedAt.IsZero() {
		out.VulnerabilitySourceUpdatedAt = ptr(awsjson.NewTime(sc.SourceUpdatedAt))
	}
	return out
}

// Registry scanning configuration: the scanner owns it
// (scanner.Configuration); the API validates ECR's wire form and
// translates.

type scanningRule struct {
	ScanFrequency     string            `json:"scanFrequency"`
	RepositoryFilters []exclusionFilter `json:"repositoryFilters"`
}

type registryScanningConfiguration struct {
	ScanType string         `json:"scanType"`
	Rules    []scanningRule `json:"rules"`
}

var scanFrequencies = []string{scanner.FrequencyScanOnPush, scanner.FrequencyContinuous, scanner.FrequencyManual}

type putRegistryScanningInput struct {
	ScanType *string        `json:"scanType,omitempty"`
	Rules    []scanningRule `json:"rules,omitempty"`
}

type registryScanningOutput struct {
	RegistryID                    string                         `json:"registryId,omitempty"`
	RegistryScanningConfiguration *registryScanningConfiguration `json:"registryScanningConfiguration,omitempty"`
	ScanningConfiguration         *registryScanningConfiguration `json:"scanningConfiguration,omitempty"`
}

// wildcards is ECR's form of repository filters.
func wildcards(filters []string) []exclusionFilter {
	var out []exclusionFilter
	for _, f := range filters {
		out = append(out, exclusionFilter{"WILDCARD", f})
	}
	return out
}

// wireScanning is ECR's form of the scanner's configuration.
func wireScanning(c scanner.Configuration) *registryScanningConfiguration {
	out := &registryScanningConfiguration{ScanType: c.ScanType, Rules: []scanningRule{}}
	for _, r := range c.Rules {
		out.Rules = append(out.Rules, scanningRule{r.Frequency, wildcards(r.RepositoryFilters)})
	}
	return out
}

func (a *API) putRegistryScanningConfiguration(ctx context.Context, in *putRegistryScanningInput) (*registryScanningOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecr:PutRegistryScanningConfiguration", ""); err != nil {
		return nil, err
	}
	cfg := scanner.DefaultConfiguration()
	if in.ScanType != nil {
		if *in.ScanType != scanner.ScanTypeBasic && *in.ScanType != scanner.ScanTypeEnhanced {
			return nil, validation("scanType", *in.ScanType, "Member must satisfy enum value set: [BASIC, ENHANCED]")
		}
		cfg.ScanType = *in.ScanType
	}
	if len(in.Rules) > 2 {
		return nil, validation("rules", "list", "Member must have length less than or equal to 2")
	}
	for _, r := range in.Rules {
		if !slices.Contains(scanFrequencies, r.ScanFrequency) {
			return nil, validation("rules.member.scanFrequency", r.ScanFrequency, "Member must satisfy enum value set: [SCAN_ON_PUSH, CONTINUOUS_SCAN, MANUAL]")
		}
		if len(r.RepositoryFilters) < 1 || len(r.RepositoryFilters) > 100 {
			return nil, validation("rules.member.repositoryFilters", "list", "Member must have length between 1 and 100")
		}
		rule := scanner.Rule{Frequency: r.ScanFrequency}
		for _, f := range r.RepositoryFilters {
			if f.FilterType != "WILDCARD" || len(f.Filter) < 1 || len(f.Filter) > 256 {
				return nil, validation("rules.member.repositoryFilters.member", f.Filter, "Member must be a WILDCARD filter of 1 to 256 characters")
			}
			rule.RepositoryFilters = append(rule.RepositoryFilters, f.Filter)
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	if err := scanner.SaveConfiguration(ctx, a.store, cfg); err != nil {
		return nil, err
	}
	return &registryScanningOutput{RegistryScanningConfiguration: wireScanning(cfg)}, nil
}

func (a *API) getRegistryScanningConfiguration(ctx context.Context, _ *struct{}) (*registryScanningOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecr:GetRegistryScanningConfiguration", ""); err != nil {
		return nil, err
	}
	cfg, err := scanner.LoadConfiguration(ctx, a.store)
	if err != nil {
		return nil, err
	}
	return &registryScanningOutput{RegistryID: a.cfg.AccountID, ScanningConfiguration: wireScanning(cfg)}, nil
}

type batchGetScanningInput struct {
	RepositoryNames []string `json:"repositoryNames,omitempty"`
}

type repositoryScanning struct {
	RepositoryArn      string            `json:"repositoryArn"`
	RepositoryName     string            `json:"repositoryName"`
	ScanOnPush         bool              `json:"scanOnPush"`
	ScanFrequency      string            `json:"scanFrequency"`
	AppliedScanFilters []exclusionFilter `json:"appliedScanFilters,omitempty"`
}

type repositoryScanningFailure struct {
	RepositoryName string `json:"repositoryName"`
	FailureCode    string `json:"failureCode"`
	FailureReason  string `json:"failureReason"`
}

type batchGetScanningOutput struct {
	ScanningConfigurations []repositoryScanning        `json:"scanningConfigurations"`
	Failures               []repositoryScanningFailure `json:"failures"`
}

func (a *API) batchGetRepositoryScanningConfiguration(ctx context.Context, in *batchGetScanningInput) (*batchGetScanningOutput, error) {
	if len(in.RepositoryNames) < 1 || len(in.RepositoryNames) > 25 {
		return nil, validation("repositoryNames", "list", "Member must have length between 1 and 25")
	}
	cfg, err := scanner.LoadConfiguration(ctx, a.store)
	if err != nil {
		return nil, err
	}
	out := &batchGetScanningOutput{ScanningConfigurations: []repositoryScanning{}, Failures: []repositoryScanningFailure{}}
	for _, n := range in.RepositoryNames {
		name, err := a.authorized(ctx, "ecr:BatchGetRepositoryScanningConfiguration", repositoryRef{RepositoryName: &n})
		if err != nil {
			return nil, err
		}
		r, err := a.store.Repository(ctx, name)
		if errors.Is(err, metadata.ErrRepositoryUnknown) {
			out.Failures = append(out.Failures, repositoryScanningFailure{name, "REPOSITORY_NOT_FOUND", "REPOSITORY_NOT_FOUND"})
			continue
		}
		if err != nil {
			return nil, a.storeError(err, name)
		}
		freq, applied := cfg.Frequency(name, r.ScanOnPush)
		out.ScanningConfigurations = append(out.ScanningConfigurations, repositoryScanning{
			RepositoryArn: a.repositoryARN(name), RepositoryName: name,
			ScanOnPush: freq == scanner.FrequencyScanOnPush, ScanFrequency: freq, AppliedScanFilters: wildcards(applied),
		})
	}
	return out, nil
}
