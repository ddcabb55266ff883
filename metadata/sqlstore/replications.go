package sqlstore

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// EnqueueReplication implements metadata.Replications.
func (s *Store) EnqueueReplication(ctx context.Context, r metadata.Replication) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO replications(repository, digest, destination, status, failure, attempts, due, updated_at)
		VALUES (?, ?, ?, ?, '', 0, ?, ?)
		ON CONFLICT(repository, digest, destination) DO UPDATE SET status = excluded.status, failure = '', attempts = 0, due = excluded.due, updated_at = excluded.updated_at`,
		r.Repository, r.Digest.String(), r.Destination, metadata.ReplicationInProgress, r.Due.UnixNano(), r.UpdatedAt.UnixNano())
	return err
}

// DueReplications implements metadata.Replications.
func (s *Store) DueReplications(ctx context.Context, now time.Time, n int) ([]metadata.Replication, error) {
	return s.replications(ctx, `SELECT repository, digest, destination, status, failure, attempts, due, updated_at FROM replications
		WHERE status = ? AND due <= ? ORDER BY due LIMIT ?`, metadata.ReplicationInProgress, now.UnixNano(), n)
}

// ReplicationStatuses implements metadata.Replications.
func (s *Store) ReplicationStatuses(ctx context.Context, repo string, dgst digest.Digest) ([]metadata.Replication, error) {
	return s.replications(ctx, `SELECT repository, digest, destination, status, failure, attempts, due, updated_at FROM replications
		WHERE repository = ? AND digest = ? ORDER BY destination`, repo, dgst.String())
}

func (s *Store) replications(ctx context.Context, query string, args ...any) ([]metadata.Replication, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []metadata.Replication{}
	for rows.Next() {
		var r metadata.Replication
		var d string
		var due, updated int64
		if err := rows.Scan(&r.Repository, &d, &r.Destination, &r.Status, &r.Failure, &r.Attempts, &due, &updated); err != nil {
			return nil, err
		}
		r.Digest, r.Due, r.UpdatedAt = digest.Digest(d), time.Unix(0, due), time.Unix(0, updated)
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateReplication implements metadata.Replications.
func (s *Store) UpdateReplication(ctx context.Context, r metadata.Replication, from time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE replications SET status = ?, failure = ?, attempts = ?, due = ?, updated_at = ?
		WHERE repository = ? AND digest = ? AND destination = ? AND updated_at = ?`,
		r.Status, r.Failure, r.Attempts, r.Due.UnixNano(), r.UpdatedAt.UnixNano(), r.Repository, r.Digest.String(), r.Destination, from.UnixNano())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
