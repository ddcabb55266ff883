package sqlstore

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// RepositorySummaries implements metadata.Browsing. The bytes are kept
// on the repository's row by triggers; the count and the last push come
// from the manifests_pushed index.
func (s *Store) RepositorySummaries(ctx context.Context) ([]metadata.RepositorySummary, error) {
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.RepositorySummary, error) {
		var rs metadata.RepositorySummary
		var last int64
		r, err := scanRepository(row, &rs.Images, &rs.Size, &last)
		rs.Repository, rs.LastPushedAt = r, unixOrZero(last)
		return rs, err
	}, `SELECT r.name, r.created_at, r.settings,
		(SELECT COUNT(*) FROM manifests m WHERE m.repository_id = r.id),
		r.bytes,
		COALESCE((SELECT MAX(m.pushed_at) FROM manifests m WHERE m.repository_id = r.id), 0)
		FROM repositories r ORDER BY r.name`)
}

// tagContains selects the images with a tag containing the argument:
// the repository's tags are read once (a range of their primary key),
// not an image at a time.
func (s *Store) tagContains() string {
	return ` AND m.digest IN (SELECT t.digest FROM tags t WHERE t.repository_id = ? AND ` + s.d.Strpos + `(t.name, ?) > 0)`
}

// ImagePage implements metadata.Browsing. The order and the cursor are a
// range of the manifests_pushed or manifests_pulled index, so a page
// costs the same wherever it starts; a tag filter checks each image on
// the way (tags_digest).
func (s *Store) ImagePage(ctx context.Context, repo string, q metadata.ImageQuery) ([]metadata.Image, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return nil, err
	}
	column, after, descending := "m.pushed_at", int64(math.MaxInt64), true
	switch q.Order {
	case metadata.OldestFirst:
		after, descending = math.MinInt64, false
	case metadata.RecentlyPulledFirst:
		column = "m.last_pulled_at"
	}
	last := "\U0010FFFF" // after every digest in descending order
	if q.After.Digest != "" {
		after, last = nanosOrZero(q.After.At), q.After.Digest.String()
	} else if !descending {
		last = ""
	}
	cmp, dir := "<", "DESC"
	if !descending {
		cmp, dir = ">", "ASC"
	}
	query := `SELECT ` + s.imageColumns + `, ` + s.d.Platforms + imageSource +
		`WHERE m.repository_id = ? AND (` + column + `, m.digest) ` + cmp + ` (?, ?)`
	args := []any{id, after, last}
	if q.TagContains != "" {
		query, args = query+s.tagContains(), append(args, id, q.TagContains)
	}
	query += ` ORDER BY ` + column + ` ` + dir + `, m.digest ` + dir + ` LIMIT ?`
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.Image, error) {
		var platforms string
		im, err := scanImageAnd(row, &platforms)
		if platforms != "" {
			im.Platforms = strings.Split(platforms, "\n")
		}
		if im.Scan != nil {
			im.Scan.Repository = repo
		}
		return im, err
	}, query, append(args, q.N)...)
}

// CountImages implements metadata.Browsing.
func (s *Store) CountImages(ctx context.Context, repo, tag string) (int, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return 0, err
	}
	query, args := `SELECT COUNT(*) FROM manifests m WHERE m.repository_id = ?`, []any{id}
	if tag != "" {
		query, args = query+s.tagContains(), append(args, id, tag)
	}
	var n int
	err = s.read.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// PushesPerDay implements metadata.Browsing: a range of the
// manifests_pushed_anywhere index.
func (s *Store) PushesPerDay(ctx context.Context, since time.Time) ([]metadata.RepositoryDayCount, error) {
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.RepositoryDayCount, error) {
		var c metadata.RepositoryDayCount
		var day int64
		err := row.Scan(&c.Repository, &day, &c.Count)
		c.Day = time.Unix(day*86400, 0).UTC()
		return c, err
	}, `SELECT r.name, d.day, d.n FROM
		(SELECT repository_id, pushed_at / 86400000000000 AS day, COUNT(*) AS n FROM manifests WHERE pushed_at >= ? GROUP BY 1, 2) d
		JOIN repositories r ON r.id = d.repository_id ORDER BY d.day, r.name`, since.UnixNano())
}

// SeverityCounts implements metadata.Browsing. Images of a repository
// often have the same counts (they share a base), so the index groups
// equal counts and each distinct JSON is decoded once.
func (s *Store) SeverityCounts(ctx context.Context) (map[string]map[string]int, error) {
	type row struct {
		repo, counts string
		images       int
	}
	rows, err := queryAll(ctx, s.read, func(r interface{ Scan(...any) error }) (row, error) {
		var x row
		err := r.Scan(&x.repo, &x.counts, &x.images)
		return x, err
	}, `SELECT r.name, c.severity_counts, c.n FROM
		(SELECT repository_id, severity_counts, COUNT(*) AS n FROM scans WHERE status = 'COMPLETE' AND severity_counts <> ''
			GROUP BY repository_id, severity_counts) c
		JOIN repositories r ON r.id = c.repository_id`)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]int{}
	for _, x := range rows {
		counts, err := decodeCounts(x.counts)
		if err != nil {
			return nil, err
		}
		if out[x.repo] == nil {
			out[x.repo] = map[string]int{}
		}
		for severity, n := range counts {
			out[x.repo][severity] += n * x.images
		}
	}
	return out, nil
}

// StoredBytes implements metadata.Browsing.
func (s *Store) StoredBytes(ctx context.Context) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM blobs`).Scan(&n)
	return n, err
}
