package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// imageColumns are what scanImage reads of an image and its scan;
// imageSource is where they come from. Store.imageQuery is both: images
// with their scans, the caller appending the WHERE clause on m. Sizes:
// the blobs a manifest references, or for an index the largest of its
// children's.
func imageColumns(d Dialect) string {
	return `m.digest, m.media_type, m.artifact_type, m.subject, m.pushed_at, m.last_pulled_at,
	m.storage_class, m.archived_at, m.activated_at,
	(SELECT COUNT(*) FROM manifest_references p WHERE p.repository_id = m.repository_id AND p.digest = m.digest AND p.kind = 1),
	COALESCE(` + d.ConfigMediaType + `, ''),
	COALESCE((SELECT ` + d.StringAgg + `(t.name, ' ') FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest), ''),
	COALESCE((SELECT SUM(b.size) FROM manifest_references mr JOIN blobs b ON b.digest = mr.digest
		WHERE mr.repository_id = m.repository_id AND mr.manifest_digest = m.digest AND mr.kind = 0), 0),
	COALESCE((SELECT MAX((SELECT SUM(b.size) FROM manifest_references r2 JOIN blobs b ON b.digest = r2.digest
			WHERE r2.repository_id = mr.repository_id AND r2.manifest_digest = mr.digest AND r2.kind = 0))
		FROM manifest_references mr
		WHERE mr.repository_id = m.repository_id AND mr.manifest_digest = m.digest AND mr.kind = 1), 0),
	COALESCE(sc.status, ''), COALESCE(sc.description, ''), COALESCE(sc.started_at, 0), COALESCE(sc.completed_at, 0),
	COALESCE(sc.source_updated_at, 0), COALESCE(sc.severity_counts, '')`
}

const imageSource = `
	FROM manifests m LEFT JOIN scans sc ON sc.repository_id = m.repository_id AND sc.digest = m.digest `

// factsQuery is imageQuery without the costly columns: sizes, the config
// media type and the scan read as zero.
func factsQuery(d Dialect) string {
	return `SELECT m.digest, m.media_type, m.artifact_type, m.subject, m.pushed_at, m.last_pulled_at,
	m.storage_class, m.archived_at, m.activated_at,
	(SELECT COUNT(*) FROM manifest_references p WHERE p.repository_id = m.repository_id AND p.digest = m.digest AND p.kind = 1),
	'',
	COALESCE((SELECT ` + d.StringAgg + `(t.name, ' ') FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest), ''),
	0, 0, '', '', 0, 0, 0, ''
	FROM manifests m `
}

// imageFilter is the WHERE clause of ImageFilter's tags and storage
// class, after the repository; its arguments are filterArgs'.
const imageFilter = ` AND (CASE WHEN EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest) THEN CAST(? AS boolean) ELSE CAST(? AS boolean) END)
	AND (CASE WHEN m.storage_class = ? THEN CAST(? AS boolean) ELSE CAST(? AS boolean) END)`

func filterArgs(f metadata.ImageFilter) []any {
	return []any{f.Tagged, f.Untagged, metadata.StorageClassArchive, f.Archived, f.Standard}
}

// scanImage reads imageColumns (or factsQuery's).
func scanImage(row interface{ Scan(...any) error }) (metadata.Image, error) {
	return scanImageAnd(row)
}

// scanImageAnd reads imageColumns and then extra.
func scanImageAnd(row interface{ Scan(...any) error }, extra ...any) (metadata.Image, error) {
	var im metadata.Image
	var pushed, pulled, archived, activated, blobs, children int64
	var tags, counts string
	var sc metadata.Scan
	var started, completed, updated int64
	if err := row.Scan(append([]any{&im.Digest, &im.MediaType, &im.ArtifactType, &im.Subject, &pushed, &pulled,
		&im.StorageClass, &archived, &activated, &im.Parents,
		&im.ConfigMediaType, &tags, &blobs, &children,
		&sc.Status, &sc.Description, &started, &completed, &updated, &counts}, extra...)...); err != nil {
		return im, err
	}
	im.PushedAt = time.Unix(0, pushed)
	im.LastPulledAt, im.ArchivedAt, im.ActivatedAt = unixOrZero(pulled), unixOrZero(archived), unixOrZero(activated)
	if tags != "" {
		im.Tags = strings.Fields(tags)
		slices.Sort(im.Tags)
	}
	im.Size = blobs + children
	if sc.Status != "" {
		sc.Digest = im.Digest
		sc.StartedAt, sc.CompletedAt, sc.SourceUpdatedAt = unixOrZero(started), unixOrZero(completed), unixOrZero(updated)
		var err error
		if sc.SeverityCounts, err = decodeCounts(counts); err != nil {
			return im, err
		}
		im.Scan = &sc
	}
	return im, nil
}

// unixOrZero reads a nanosecond time column where 0 means never.
func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// SetStorageClass implements metadata.Images.
func (s *Store) SetStorageClass(ctx context.Context, repo string, dgst digest.Digest, class string, at time.Time) error {
	id, err := s.imageRepository(ctx, repo)
	if err != nil {
		return err
	}
	column := "activated_at"
	if class == metadata.StorageClassArchive {
		column = "archived_at"
	}
	return changeOne(ctx, s.write, `UPDATE manifests SET storage_class = ?, `+column+` = ? WHERE repository_id = ? AND digest = ?`,
		metadata.ErrManifestUnknown, class, at.UnixNano(), id, dgst.String())
}

// imageRepository returns the id of repository repo for a question about
// one of its images, which has no answer (ErrManifestUnknown) when the
// repository is unknown.
func (s *Store) imageRepository(ctx context.Context, repo string) (int64, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return 0, metadata.ErrManifestUnknown
	}
	return id, err
}

// Images implements metadata.Images: the filter and the page are one
// query, which walks the repository's manifests in digest order. Selected
// digests are looked up directly instead.
func (s *Store) Images(ctx context.Context, repo string, f metadata.ImageFilter, last digest.Digest, n int) ([]metadata.Image, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return nil, err
	}
	query, args := s.imageQuery+`WHERE m.repository_id = ? AND m.digest > ?`+imageFilter, append([]any{id, last.String()}, filterArgs(f)...)
	if len(f.Digests) > 0 {
		digests, err := json.Marshal(f.Digests)
		if err != nil {
			return nil, err
		}
		query, args = query+` AND m.digest IN (`+s.d.JSONStrings+`)`, append(args, string(digests))
	}
	images, err := queryAll(ctx, s.read, scanImage, query+` ORDER BY m.digest LIMIT ?`, append(args, n)...)
	for _, im := range images {
		if im.Scan != nil {
			im.Scan.Repository = repo
		}
	}
	return images, err
}

// ImageFacts implements metadata.Images.
func (s *Store) ImageFacts(ctx context.Context, repo string, last digest.Digest, n int) ([]metadata.Image, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.read, scanImage, s.factsQuery+`WHERE m.repository_id = ? AND m.digest > ? ORDER BY m.digest LIMIT ?`, id, last.String(), n)
}

// Image implements metadata.Images.
func (s *Store) Image(ctx context.Context, repo string, dgst digest.Digest) (metadata.Image, error) {
	id, err := s.imageRepository(ctx, repo)
	if err != nil {
		return metadata.Image{}, err
	}
	im, err := scanImage(s.read.QueryRowContext(ctx, s.imageQuery+`WHERE m.repository_id = ? AND m.digest = ?`, id, dgst.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return im, metadata.ErrManifestUnknown
	}
	if im.Scan != nil {
		im.Scan.Repository = repo
	}
	return im, err
}

// ImageTags implements metadata.Images. It reads the rest of the
// cursor image's tags, then whole images in digest order a batch at a
// time (a range scan of the manifests' primary key), so a page costs the
// same wherever it starts.
func (s *Store) ImageTags(ctx context.Context, repo string, last metadata.ImageTag, n int, tagged, untagged bool) ([]metadata.ImageTag, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return nil, err
	}
	out := []metadata.ImageTag{}
	if !tagged && !untagged || n <= 0 {
		return out, nil
	}
	if last.Tag != "" && tagged {
		rows, err := s.read.QueryContext(ctx, `SELECT name FROM tags WHERE repository_id = ? AND digest = ? AND name > ? ORDER BY name LIMIT ?`,
			id, last.Digest.String(), last.Tag, n)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			it := metadata.ImageTag{Digest: last.Digest}
			if err := rows.Scan(&it.Tag); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	after := last.Digest.String()
	for len(out) < n {
		rows, err := s.read.QueryContext(ctx, `SELECT m.digest, COALESCE(t.name, '') FROM
			(SELECT digest FROM manifests WHERE repository_id = ? AND digest > ? ORDER BY digest LIMIT ?) m
			LEFT JOIN tags t ON t.repository_id = ? AND t.digest = m.digest
			ORDER BY m.digest, t.name`, id, after, n, id)
		if err != nil {
			return nil, err
		}
		images := 0
		for rows.Next() {
			var it metadata.ImageTag
			if err := rows.Scan(&it.Digest, &it.Tag); err != nil {
				rows.Close()
				return nil, err
			}
			if string(it.Digest) != after {
				images++
				after = string(it.Digest)
			}
			if (it.Tag != "" && tagged || it.Tag == "" && untagged) && len(out) < n {
				out = append(out, it)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if images < n {
			break
		}
	}
	return out, nil
}

// ManifestParents implements metadata.Images. An unknown repository
// has no manifests, so none reference dgst.
func (s *Store) ManifestParents(ctx context.Context, repo string, dgst digest.Digest) ([]digest.Digest, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return []digest.Digest{}, nil
	}
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (d digest.Digest, err error) {
		err = row.Scan(&d)
		return d, err
	}, `SELECT manifest_digest FROM manifest_references WHERE repository_id = ? AND digest = ? AND kind = 1
		ORDER BY manifest_digest`, id, dgst.String())
}
