package metadata

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// Scan is the vulnerability scan of one image: its status and, once
// complete, its findings. Findings and Inventory are JSON the scanner
// writes and reads; the index keeps them opaque.
type Scan struct {
	Repository string
	Digest     digest.Digest
	// Status is ECR's: PENDING, IN_PROGRESS, COMPLETE, FAILED or
	// UNSUPPORTED_IMAGE; Description says why, for people.
	Status      string
	Description string
	// StartedAt is when the scan was asked for (ECR allows one a day);
	// CompletedAt when it finished; SourceUpdatedAt the vulnerability
	// data's newest record at that time.
	StartedAt       time.Time
	CompletedAt     time.Time
	SourceUpdatedAt time.Time
	// VulnDBGeneration is the generation of the vulnerability data the
	// findings come from (see Scans.BumpVulnDBGeneration).
	VulnDBGeneration int64
	Findings         string
	// SeverityCounts counts Findings by severity (the scanner writes both),
	// so that listings show a summary without reading the findings; nil
	// until the scan is complete.
	SeverityCounts map[string]int
	// Inventory is the image's package inventory, kept so that a new
	// vulnerability database re-matches without reading the layers.
	Inventory string
}

// Scans records image scans and the package inventory of each layer.
type Scans interface {
	// PutScan records s, replacing an earlier scan of the same image.
	PutScan(ctx context.Context, s Scan) error
	// Scan returns the scan of image dgst in repo; ErrScanUnknown if none.
	Scan(ctx context.Context, repo string, dgst digest.Digest) (Scan, error)
	// CompletedScans lists up to n complete scans after (repo, dgst) in
	// that order, for re-matching after a database reload.
	CompletedScans(ctx context.Context, repo string, dgst digest.Digest, n int) ([]Scan, error)
	// UnfinishedScans lists up to n scans still PENDING or IN_PROGRESS
	// after (repo, dgst), for resuming them after a restart.
	UnfinishedScans(ctx context.Context, repo string, dgst digest.Digest, n int) ([]Scan, error)
	// LayerInventory returns the inventory recorded for layer dgst ("" if
	// none); PutLayerInventory records it.
	LayerInventory(ctx context.Context, dgst digest.Digest) (string, error)
	PutLayerInventory(ctx context.Context, dgst digest.Digest, inventory string) error
	// VulnDBGeneration returns the generation of the vulnerability data,
	// 0 before the first BumpVulnDBGeneration. Scanners compare it with
	// the data they have loaded before each scan, so that new data is
	// used at once by every process that shares the index.
	VulnDBGeneration(ctx context.Context) (int64, error)
	// BumpVulnDBGeneration records that new vulnerability data is in
	// place and returns its generation.
	BumpVulnDBGeneration(ctx context.Context) (int64, error)
}
