package metadata

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// RepositorySummary is a repository with the totals a listing shows.
type RepositorySummary struct {
	Repository
	// Images counts its images (manifests, an index and its children
	// each counting once).
	Images int
	// Size is the bytes of the blobs it holds, each counted once however
	// many of its images share it.
	Size int64
	// LastPushedAt is when its newest image was pushed; zero if it has
	// none.
	LastPushedAt time.Time
}

// ImageOrder is the order ImagePage lists images in. Images pushed or
// pulled at the same instant follow each other by digest.
type ImageOrder int

// Image orders.
const (
	NewestFirst         ImageOrder = iota // by push time, newest first
	OldestFirst                           // by push time, oldest first
	RecentlyPulledFirst                   // by last pull, most recent first; never pulled last
)

// ImageQuery asks ImagePage for a page of a repository's images.
type ImageQuery struct {
	Order ImageOrder
	// TagContains, when not empty, selects the images with a tag that
	// contains it.
	TagContains string
	// After is where the previous page ended; the zero ImageCursor starts
	// at the first image.
	After ImageCursor
	// N is the most images to return.
	N int
}

// ImageCursor is a place in an ImageQuery's order: just after the image
// with digest Digest and sort time At (its push or last pull time).
type ImageCursor struct {
	At     time.Time
	Digest digest.Digest
}

// RepositoryDayCount counts something that happened in a repository on
// one day (UTC).
type RepositoryDayCount struct {
	Repository string
	Day        time.Time
	Count      int
}

// Browsing answers what people browsing the registry (the web UI) ask of
// the index: images in the order they choose and filtered by tag, a page
// at a time, each page one indexed query whatever the repository's size;
// each repository's totals; and the figures an overview draws.
type Browsing interface {
	// RepositorySummaries lists every repository with its totals, in
	// byte order of their names.
	RepositorySummaries(ctx context.Context) ([]RepositorySummary, error)
	// ImagePage describes up to q.N images of repo in q's order after
	// q.After, as Images does, with their Platforms.
	// ErrRepositoryUnknown if the repository does not exist.
	ImagePage(ctx context.Context, repo string, q ImageQuery) ([]Image, error)
	// CountImages counts the images of repo with a tag containing
	// tagContains (all of them when it is empty).
	// ErrRepositoryUnknown if the repository does not exist.
	CountImages(ctx context.Context, repo, tagContains string) (int, error)
	// PushesPerDay counts the images pushed since since, by repository
	// and day, ordered by day then repository. Images deleted since are
	// not counted.
	PushesPerDay(ctx context.Context, since time.Time) ([]RepositoryDayCount, error)
	// SeverityCounts sums the severity counts of each repository's
	// complete scans, by repository name.
	SeverityCounts(ctx context.Context) (map[string]map[string]int, error)
	// StoredBytes is the size of every blob the index records.
	StoredBytes(ctx context.Context) (int64, error)
}
