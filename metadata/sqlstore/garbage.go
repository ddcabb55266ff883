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

// unreferenced is true for a blob b that no manifest references.
const unreferenced = `NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = b.digest AND mr.kind = 0)`

// LinkBlob implements metadata.Blobs.
func (s *Store) LinkBlob(ctx context.Context, repo string, dgst digest.Digest) (metadata.Blob, error) {
	b := metadata.Blob{Digest: dgst}
	err := s.tx(ctx, func(tx Conn) error {
		err := tx.QueryRowContext(ctx, `UPDATE blobs SET marked_at = 0 WHERE digest = ? RETURNING size, location`,
			dgst.String()).Scan(&b.Size, &b.Location)
		if errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrBlobUnknown
		}
		if err != nil {
			return err
		}
		id, err := s.repositoryID(ctx, tx, repo)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO repository_blobs(repository_id, digest, created_at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, id, dgst.String(), s.now())
		return err
	})
	return b, err
}

// KeepBlob implements metadata.Blobs.
func (s *Store) KeepBlob(ctx context.Context, dgst digest.Digest) error {
	return changeOne(ctx, s.write, `UPDATE blobs SET marked_at = 0 WHERE digest = ?`, metadata.ErrBlobUnknown, dgst.String())
}

// MarkGarbage implements metadata.Garbage. It scans the candidates (blobs
// that are new or lost a reference, kept by triggers), marks those that
// are garbage and old enough, and forgets those referenced again or gone;
// young ones stay candidates for a later pass.
func (s *Store) MarkGarbage(ctx context.Context, cutoff, at time.Time, last digest.Digest, n int) (int, digest.Digest, error) {
	var end sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT MAX(digest) FROM (SELECT digest FROM gc_candidates WHERE digest > ? ORDER BY digest LIMIT ?) c`,
		last.String(), n).Scan(&end)
	if err != nil || !end.Valid {
		return 0, "", err
	}
	var marked int64
	err = s.tx(ctx, func(tx Conn) error {
		// Forget the candidates referenced again (the common case), then
		// mark what is left that is garbage and old enough. (A swept blob's
		// candidate goes with it, so every candidate has a blob.)
		_, err := tx.ExecContext(ctx, `DELETE FROM gc_candidates WHERE digest > ? AND digest <= ? AND
			EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.digest = gc_candidates.digest AND mr.kind = 0)`,
			last.String(), end.String)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE blobs SET marked_at = ? WHERE digest IN (
			SELECT b.digest FROM gc_candidates c JOIN blobs b ON b.digest = c.digest
			WHERE c.digest > ? AND c.digest <= ? AND b.marked_at = 0 AND b.created_at < ?)`,
			at.UnixNano(), last.String(), end.String, cutoff.UnixNano())
		if err != nil {
			return err
		}
		marked, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, "", err
	}
	return int(marked), digest.Digest(end.String), nil
}

// GarbageBlobs implements metadata.Garbage.
func (s *Store) GarbageBlobs(ctx context.Context, cutoff time.Time, last digest.Digest, n int) ([]metadata.Blob, error) {
	return s.blobList(ctx, s.read, `SELECT b.digest, b.size, b.location, b.marked_at <> 0 FROM gc_candidates c JOIN blobs b ON b.digest = c.digest
		WHERE c.digest > ? AND b.created_at < ? AND `+unreferenced+` ORDER BY c.digest LIMIT ?`, last.String(), cutoff.UnixNano(), n)
}

// blobList reads blobs: digest, size, location, marked.
func (s *Store) blobList(ctx context.Context, q querier, query string, args ...any) ([]metadata.Blob, error) {
	return queryAll(ctx, q, func(row interface{ Scan(...any) error }) (b metadata.Blob, err error) {
		err = row.Scan(&b.Digest, &b.Size, &b.Location, &b.Marked)
		return b, err
	}, query, args...)
}

// SweepGarbage implements metadata.Garbage.
func (s *Store) SweepGarbage(ctx context.Context, markedBefore time.Time, n int) ([]metadata.Blob, error) {
	var swept []metadata.Blob
	err := s.tx(ctx, func(tx Conn) error {
		var err error
		swept, err = s.blobList(ctx, tx, `SELECT b.digest, b.size, b.location, 1 FROM blobs b
			WHERE b.marked_at <> 0 AND b.marked_at < ? AND `+unreferenced+` ORDER BY b.marked_at LIMIT ?`, markedBefore.UnixNano(), n)
		if err != nil {
			return err
		}
		t := s.now()
		for _, b := range swept {
			if _, err := tx.ExecContext(ctx, `INSERT INTO blob_deletions(location, queued_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, b.Location, t); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM repository_blobs WHERE digest = ?`, b.Digest.String()); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE digest = ?`, b.Digest.String()); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM gc_candidates WHERE digest = ?`, b.Digest.String()); err != nil {
				return err
			}
		}
		return nil
	})
	return swept, err
}

// PendingDeletions implements metadata.Garbage.
func (s *Store) PendingDeletions(ctx context.Context, n int) ([]string, error) {
	return s.names(ctx, `SELECT location FROM blob_deletions WHERE location > ? ORDER BY location LIMIT ?`, "", n)
}

// DeletionDone implements metadata.Garbage.
func (s *Store) DeletionDone(ctx context.Context, location string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM blob_deletions WHERE location = ?`, location)
	return err
}

// PurgeUpload implements metadata.Garbage.
func (s *Store) PurgeUpload(ctx context.Context, id string, cutoff time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM uploads WHERE id = ? AND updated_at < ?`, id, cutoff.UnixNano())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// StaleUploads implements metadata.Garbage.
func (s *Store) StaleUploads(ctx context.Context, cutoff time.Time, n int) ([]metadata.Upload, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id FROM uploads WHERE updated_at < ? ORDER BY updated_at LIMIT ?`, cutoff.UnixNano(), n)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []metadata.Upload
	for _, id := range ids {
		u, err := s.Upload(ctx, id)
		if errors.Is(err, metadata.ErrUploadUnknown) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// UnknownObjects implements metadata.Garbage, in one statement, which
// either engine runs on one snapshot of the database.
func (s *Store) UnknownObjects(ctx context.Context, objs []metadata.StoredObject) ([]metadata.StoredObject, error) {
	type object struct {
		Key    string `json:"k"`
		Upload string `json:"u"`
	}
	list := make([]object, len(objs))
	for i, o := range objs {
		list[i] = object{o.Key, o.Upload}
	}
	arg, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (o metadata.StoredObject, err error) {
		err = row.Scan(&o.Key, &o.Upload)
		return o, err
	}, `SELECT o.k, o.u FROM (`+s.d.JSONObjects+`) o
		WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.location = o.k)
		AND NOT EXISTS (SELECT 1 FROM blob_deletions d WHERE d.location = o.k)
		AND NOT EXISTS (SELECT 1 FROM uploads up WHERE up.id = o.u)`, string(arg))
}
