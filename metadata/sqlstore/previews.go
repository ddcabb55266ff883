package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/berth-dev/berth/metadata"
)

const previewColumns = `r.name, p.id, p.policy, p.evaluate_at, p.status, p.started_at, p.claimed_at, p.completed_at, p.expiring, p.transitioning`

// scanPreview reads previewColumns and then extra.
func scanPreview(row interface{ Scan(...any) error }, extra ...any) (metadata.LifecyclePreview, error) {
	var p metadata.LifecyclePreview
	var at, started, claimed, completed int64
	err := row.Scan(append([]any{&p.Repository, &p.ID, &p.Policy, &at, &p.Status, &started, &claimed, &completed, &p.Expiring, &p.Transitioning}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return p, metadata.ErrPreviewUnknown
	}
	p.At = unixOrZero(at)
	p.StartedAt, p.ClaimedAt, p.CompletedAt = unixOrZero(started), unixOrZero(claimed), unixOrZero(completed)
	return p, err
}

// StartPreview implements metadata.LifecyclePreviews.
func (s *Store) StartPreview(ctx context.Context, p metadata.LifecyclePreview) error {
	return s.tx(ctx, func(tx Conn) error {
		id, _, err := lookupRepository(ctx, tx, p.Repository)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO lifecycle_previews(repository_id, id, policy, evaluate_at, status, started_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(repository_id) DO UPDATE SET id = excluded.id, policy = excluded.policy, evaluate_at = excluded.evaluate_at,
				status = excluded.status, started_at = excluded.started_at, claimed_at = 0, completed_at = 0, expiring = 0, transitioning = 0
			WHERE lifecycle_previews.status <> excluded.status`,
			id, p.ID, p.Policy, nanosOrZero(p.At), metadata.PreviewInProgress, nanosOrZero(p.StartedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return metadata.ErrPreviewInProgress
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM lifecycle_preview_results WHERE repository_id = ?`, id)
		return err
	})
}

// LifecyclePreview implements metadata.LifecyclePreviews.
func (s *Store) LifecyclePreview(ctx context.Context, repo string) (metadata.LifecyclePreview, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return metadata.LifecyclePreview{}, err
	}
	return scanPreview(s.read.QueryRowContext(ctx, `SELECT `+previewColumns+`
		FROM lifecycle_previews p JOIN repositories r ON r.id = p.repository_id WHERE p.repository_id = ?`, id))
}

// ClaimPreview implements metadata.LifecyclePreviews.
func (s *Store) ClaimPreview(ctx context.Context, staleBefore, at time.Time) (metadata.LifecyclePreview, error) {
	var p metadata.LifecyclePreview
	err := s.tx(ctx, func(tx Conn) error {
		var id int64
		var err error
		// The status is written out (metadata.PreviewInProgress) so that
		// the partial index on previews in progress serves the query.
		p, err = scanPreview(tx.QueryRowContext(ctx, `SELECT `+previewColumns+`, p.repository_id
			FROM lifecycle_previews p JOIN repositories r ON r.id = p.repository_id
			WHERE p.status = 'IN_PROGRESS' AND (p.claimed_at = 0 OR p.claimed_at < ?)
			ORDER BY p.started_at LIMIT 1`, staleBefore.UnixNano()), &id)
		if err != nil {
			return err
		}
		p.ClaimedAt = at
		_, err = tx.ExecContext(ctx, `UPDATE lifecycle_previews SET claimed_at = ? WHERE repository_id = ?`, at.UnixNano(), id)
		return err
	})
	return p, err
}

// HoldPreview implements metadata.LifecyclePreviews.
func (s *Store) HoldPreview(ctx context.Context, repo, previewID string, at time.Time) error {
	return s.tx(ctx, func(tx Conn) error {
		id, err := previewRepository(ctx, tx, repo)
		if err != nil {
			return err
		}
		return changeOne(ctx, tx, `UPDATE lifecycle_previews SET claimed_at = ? WHERE repository_id = ? AND id = ? AND status = ?`,
			metadata.ErrPreviewUnknown, nanosOrZero(at), id, previewID, metadata.PreviewInProgress)
	})
}

// FinishPreview implements metadata.LifecyclePreviews.
func (s *Store) FinishPreview(ctx context.Context, p metadata.LifecyclePreview, results []metadata.PreviewResult) error {
	return s.tx(ctx, func(tx Conn) error {
		id, err := previewRepository(ctx, tx, p.Repository)
		if err != nil {
			return err
		}
		if err := changeOne(ctx, tx, `UPDATE lifecycle_previews
			SET status = ?, completed_at = ?, expiring = ?, transitioning = ?, claimed_at = 0
			WHERE repository_id = ? AND id = ? AND status = ?`, metadata.ErrPreviewUnknown,
			p.Status, nanosOrZero(p.CompletedAt), p.Expiring, p.Transitioning, id, p.ID, metadata.PreviewInProgress); err != nil {
			return err
		}
		for i, r := range results {
			if _, err := tx.ExecContext(ctx, `INSERT INTO lifecycle_preview_results(repository_id, position, digest, tags, pushed_at,
					storage_class, rule_priority, action, target_storage_class) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, i+1, r.Digest.String(), strings.Join(r.Tags, " "), nanosOrZero(r.PushedAt),
				r.StorageClass, r.RulePriority, r.Action, r.TargetStorageClass); err != nil {
				return err
			}
		}
		return nil
	})
}

// previewRepository is the id of repository repo for a change to its
// preview, which is unknown when the repository is.
func previewRepository(ctx context.Context, q rowQuerier, repo string) (int64, error) {
	id, _, err := lookupRepository(ctx, q, repo)
	if errors.Is(err, metadata.ErrRepositoryUnknown) {
		return 0, metadata.ErrPreviewUnknown
	}
	return id, err
}

// changeOne runs a statement (an INSERT, UPDATE or DELETE) through q and
// returns none when it changed no row.
func changeOne(ctx context.Context, q Conn, query string, none error, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return none
	}
	return nil
}

// PreviewResults implements metadata.LifecyclePreviews. Tags are kept
// space-separated (a tag has no spaces), and an image is tagged when they
// are not empty.
func (s *Store) PreviewResults(ctx context.Context, repo, previewID string, f metadata.ImageFilter, after, n int) ([]metadata.PreviewResult, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return nil, err
	}
	query := `SELECT x.position, x.digest, x.tags, x.pushed_at, x.storage_class, x.rule_priority, x.action, x.target_storage_class
		FROM lifecycle_preview_results x JOIN lifecycle_previews p ON p.repository_id = x.repository_id
		WHERE x.repository_id = ? AND p.id = ? AND x.position > ?
			AND (CASE WHEN x.tags <> '' THEN CAST(? AS boolean) ELSE CAST(? AS boolean) END) AND (CASE WHEN x.storage_class = ? THEN CAST(? AS boolean) ELSE CAST(? AS boolean) END)`
	args := append([]any{id, previewID, after}, filterArgs(f)...)
	if len(f.Digests) > 0 {
		digests, err := json.Marshal(f.Digests)
		if err != nil {
			return nil, err
		}
		query, args = query+` AND x.digest IN (`+s.d.JSONStrings+`)`, append(args, string(digests))
	}
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.PreviewResult, error) {
		var r metadata.PreviewResult
		var tags string
		var pushed int64
		err := row.Scan(&r.Position, &r.Digest, &tags, &pushed, &r.StorageClass, &r.RulePriority, &r.Action, &r.TargetStorageClass)
		r.Tags, r.PushedAt = strings.Fields(tags), unixOrZero(pushed)
		return r, err
	}, query+` ORDER BY x.position LIMIT ?`, append(args, n)...)
}
