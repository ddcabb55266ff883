package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

const scanColumns = `r.name, s.digest, s.status, s.description, s.started_at, s.completed_at, s.source_updated_at, s.vulndb_generation, s.findings, s.inventory, s.severity_counts`

func scanScan(row interface{ Scan(...any) error }) (metadata.Scan, error) {
	var sc metadata.Scan
	var started, completed, updated int64
	var counts string
	if err := row.Scan(&sc.Repository, &sc.Digest, &sc.Status, &sc.Description, &started, &completed, &updated, &sc.VulnDBGeneration, &sc.Findings, &sc.Inventory, &counts); err != nil {
		return sc, err
	}
	sc.StartedAt, sc.CompletedAt, sc.SourceUpdatedAt = unixOrZero(started), unixOrZero(completed), unixOrZero(updated)
	var err error
	sc.SeverityCounts, err = decodeCounts(counts)
	return sc, err
}

// encodeCounts and decodeCounts store severity counts as a JSON object;
// "" is nil.
func encodeCounts(counts map[string]int) (string, error) {
	if counts == nil {
		return "", nil
	}
	b, err := json.Marshal(counts)
	return string(b), err
}

func decodeCounts(text string) (map[string]int, error) {
	if text == "" {
		return nil, nil
	}
	var counts map[string]int
	err := json.Unmarshal([]byte(text), &counts)
	return counts, err
}

// nanosOrZero stores a time column where 0 means never.
func nanosOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// PutScan implements metadata.Scans. ErrManifestUnknown if the image is
// not (any more) in the repository.
func (s *Store) PutScan(ctx context.Context, sc metadata.Scan) error {
	counts, err := encodeCounts(sc.SeverityCounts)
	if err != nil {
		return err
	}
	return changeOne(ctx, s.write, `INSERT INTO scans(repository_id, digest, status, description, started_at, completed_at, source_updated_at, vulndb_generation, findings, inventory, severity_counts)
		SELECT m.repository_id, m.digest, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM manifests m JOIN repositories r ON r.id = m.repository_id
		WHERE r.name = ? AND m.digest = ?
		ON CONFLICT(repository_id, digest) DO UPDATE SET status = excluded.status, description = excluded.description,
			started_at = excluded.started_at, completed_at = excluded.completed_at, source_updated_at = excluded.source_updated_at,
			vulndb_generation = excluded.vulndb_generation, findings = excluded.findings, inventory = excluded.inventory,
			severity_counts = excluded.severity_counts`, metadata.ErrManifestUnknown,
		sc.Status, sc.Description, nanosOrZero(sc.StartedAt), nanosOrZero(sc.CompletedAt), nanosOrZero(sc.SourceUpdatedAt),
		sc.VulnDBGeneration, sc.Findings, sc.Inventory, counts, sc.Repository, sc.Digest.String())
}

// Scan implements metadata.Scans.
func (s *Store) Scan(ctx context.Context, repo string, dgst digest.Digest) (metadata.Scan, error) {
	sc, err := scanScan(s.read.QueryRowContext(ctx, `SELECT `+scanColumns+` FROM scans s JOIN repositories r ON r.id = s.repository_id
		WHERE r.name = ? AND s.digest = ?`, repo, dgst.String()))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, metadata.ErrScanUnknown
	}
	return sc, err
}

// CompletedScans implements metadata.Scans.
func (s *Store) CompletedScans(ctx context.Context, repo string, dgst digest.Digest, n int) ([]metadata.Scan, error) {
	return s.scansIn(ctx, `'COMPLETE'`, repo, dgst, n)
}

// UnfinishedScans implements metadata.Scans.
func (s *Store) UnfinishedScans(ctx context.Context, repo string, dgst digest.Digest, n int) ([]metadata.Scan, error) {
	return s.scansIn(ctx, `'PENDING', 'IN_PROGRESS'`, repo, dgst, n)
}

// scansIn lists scans whose status is in statuses (SQL literals), after
// (repo, dgst).
func (s *Store) scansIn(ctx context.Context, statuses, repo string, dgst digest.Digest, n int) ([]metadata.Scan, error) {
	return queryAll(ctx, s.read, scanScan, `SELECT `+scanColumns+` FROM scans s JOIN repositories r ON r.id = s.repository_id
		WHERE s.status IN (`+statuses+`) AND (r.name > ? OR (r.name = ? AND s.digest > ?))
		ORDER BY r.name, s.digest LIMIT ?`, repo, repo, dgst.String(), n)
}

// LayerInventory implements metadata.Scans.
func (s *Store) LayerInventory(ctx context.Context, dgst digest.Digest) (string, error) {
	var inv string
	err := s.read.QueryRowContext(ctx, `SELECT inventory FROM layer_inventories WHERE digest = ?`, dgst.String()).Scan(&inv)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return inv, err
}

// PutLayerInventory implements metadata.Scans.
func (s *Store) PutLayerInventory(ctx context.Context, dgst digest.Digest, inventory string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO layer_inventories(digest, inventory) VALUES (?, ?)
		ON CONFLICT(digest) DO UPDATE SET inventory = excluded.inventory`, dgst.String(), inventory)
	return err
}

// VulnDBGeneration implements metadata.Scans.
func (s *Store) VulnDBGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := s.read.QueryRowContext(ctx, `SELECT generation FROM vulndb`).Scan(&gen)
	return gen, err
}

// BumpVulnDBGeneration implements metadata.Scans.
func (s *Store) BumpVulnDBGeneration(ctx context.Context) (int64, error) {
	var gen int64
	err := s.write.QueryRowContext(ctx, `UPDATE vulndb SET generation = generation + 1 RETURNING generation`).Scan(&gen)
	return gen, err
}
