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

// repositoryID returns the id of repository name, creating it.
func (s *Store) repositoryID(ctx context.Context, tx Conn, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO repositories(name, created_at) VALUES (?, ?)
		 ON CONFLICT(name) DO UPDATE SET name = excluded.name
		 RETURNING id`, name, s.now()).Scan(&id)
	return id, err
}

// Blob implements metadata.Blobs.
func (s *Store) Blob(ctx context.Context, repo string, dgst digest.Digest) (metadata.Blob, error) {
	b := metadata.Blob{Digest: dgst}
	err := s.read.QueryRowContext(ctx,
		`SELECT b.size, b.location, b.marked_at <> 0 FROM blobs b
		 JOIN repository_blobs rb ON rb.digest = b.digest
		 JOIN repositories r ON r.id = rb.repository_id
		 WHERE r.name = ? AND b.digest = ?`, repo, dgst.String()).Scan(&b.Size, &b.Location, &b.Marked)
	if errors.Is(err, sql.ErrNoRows) {
		return b, metadata.ErrBlobUnknown
	}
	return b, err
}

// AnyBlob implements metadata.Blobs.
func (s *Store) AnyBlob(ctx context.Context, dgst digest.Digest) (metadata.Blob, string, error) {
	b := metadata.Blob{Digest: dgst}
	var repo string
	err := s.read.QueryRowContext(ctx,
		`SELECT b.size, b.location, b.marked_at <> 0, r.name FROM blobs b
		 JOIN repository_blobs rb ON rb.digest = b.digest
		 JOIN repositories r ON r.id = rb.repository_id
		 WHERE b.digest = ? LIMIT 1`, dgst.String()).Scan(&b.Size, &b.Location, &b.Marked, &repo)
	if errors.Is(err, sql.ErrNoRows) {
		return b, "", metadata.ErrBlobUnknown
	}
	return b, repo, err
}

// PutBlob implements metadata.Blobs.
func (s *Store) PutBlob(ctx context.Context, repo string, b metadata.Blob) (metadata.Blob, error) {
	recorded := metadata.Blob{Digest: b.Digest}
	err := s.tx(ctx, func(tx Conn) error {
		id, err := s.repositoryID(ctx, tx, repo)
		if err != nil {
			return err
		}
		t := s.now()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO blobs(digest, size, location, created_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT(digest) DO UPDATE SET marked_at = 0`, b.Digest.String(), b.Size, b.Location, t); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT size, location FROM blobs WHERE digest = ?`,
			b.Digest.String()).Scan(&recorded.Size, &recorded.Location); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO repository_blobs(repository_id, digest, created_at) VALUES (?, ?, ?)
			 ON CONFLICT DO NOTHING`, id, b.Digest.String(), t)
		return err
	})
	return recorded, err
}

// UnlinkBlob implements metadata.Blobs.
func (s *Store) UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	return changeOne(ctx, s.write, `DELETE FROM repository_blobs WHERE digest = ?
		 AND repository_id = (SELECT id FROM repositories WHERE name = ?)`, metadata.ErrBlobUnknown, dgst.String(), repo)
}

// Manifest implements metadata.Manifests.
func (s *Store) Manifest(ctx context.Context, repo, reference string) (metadata.Manifest, error) {
	m := metadata.Manifest{Repository: repo}
	query := `SELECT m.digest, m.media_type, m.artifact_type, m.content, m.subject, m.pushed_at, m.last_pulled_at, m.storage_class
		FROM manifests m JOIN repositories r ON r.id = m.repository_id
		WHERE r.name = ? AND m.digest = ?`
	if _, err := digest.Parse(reference); err != nil {
		query = `SELECT m.digest, m.media_type, m.artifact_type, m.content, m.subject, m.pushed_at, m.last_pulled_at, m.storage_class
		FROM tags t JOIN repositories r ON r.id = t.repository_id
		JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
		WHERE r.name = ? AND t.name = ?`
	}
	var pushed, pulled int64
	err := s.read.QueryRowContext(ctx, query, repo, reference).Scan(
		&m.Digest, &m.MediaType, &m.ArtifactType, &m.Content, &m.Subject, &pushed, &pulled, &m.StorageClass)
	if errors.Is(err, sql.ErrNoRows) {
		return m, metadata.ErrManifestUnknown
	}
	m.PushedAt = time.Unix(0, pushed)
	if pulled != 0 {
		m.LastPulledAt = time.Unix(0, pulled)
	}
	return m, err
}

// PutManifest implements metadata.Manifests.
func (s *Store) PutManifest(ctx context.Context, m metadata.Manifest, tags []string) error {
	annotations := ""
	if len(m.Annotations) > 0 {
		b, err := json.Marshal(m.Annotations)
		if err != nil {
			return err
		}
		annotations = string(b)
	}
	return s.tx(ctx, func(tx Conn) error {
		id, err := s.repositoryID(ctx, tx, m.Repository)
		if err != nil {
			return err
		}
		var missing []digest.Digest
		checked := map[metadata.Reference]bool{} // images may repeat a layer
		for _, ref := range m.References {
			if checked[ref] {
				continue
			}
			checked[ref] = true
			table := "repository_blobs"
			if ref.Kind == metadata.RefManifest {
				table = "manifests"
			}
			var one int
			err := tx.QueryRowContext(ctx,
				`SELECT 1 FROM `+table+` WHERE repository_id = ? AND digest = ?`, id, ref.Digest.String()).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				missing = append(missing, ref.Digest)
			} else if err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			return &metadata.MissingReferencesError{Digests: missing}
		}
		t := s.now()
		res, err := tx.ExecContext(ctx,
			`INSERT INTO manifests(repository_id, digest, media_type, artifact_type, size, content, subject, annotations, pushed_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			id, m.Digest.String(), m.MediaType, m.ArtifactType, len(m.Content), m.Content,
			m.Subject.String(), annotations, s.orNow(m.PushedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			for _, ref := range m.References {
				if _, err := tx.ExecContext(ctx,
					`INSERT INTO manifest_references(repository_id, manifest_digest, digest, kind)
					 VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					id, m.Digest.String(), ref.Digest.String(), int(ref.Kind)); err != nil {
					return err
				}
			}
		}
		for _, tag := range tags {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO tags(repository_id, name, digest, updated_at) VALUES (?, ?, ?, ?)
				 ON CONFLICT(repository_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
				id, tag, m.Digest.String(), t); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteManifest implements metadata.Manifests.
func (s *Store) DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error {
	return changeOne(ctx, s.write, `DELETE FROM manifests WHERE digest = ?
		 AND repository_id = (SELECT id FROM repositories WHERE name = ?)`, metadata.ErrManifestUnknown, dgst.String(), repo)
}

// DeleteTag implements metadata.Manifests.
func (s *Store) DeleteTag(ctx context.Context, repo, tag string) error {
	return changeOne(ctx, s.write, `DELETE FROM tags WHERE name = ?
		 AND repository_id = (SELECT id FROM repositories WHERE name = ?)`, metadata.ErrTagUnknown, tag, repo)
}

// Tags implements metadata.Manifests.
func (s *Store) Tags(ctx context.Context, repo, last string, n int) ([]string, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return nil, err
	}
	return s.names(ctx, `SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?`, id, last, n)
}

// Repositories implements metadata.Manifests.
func (s *Store) Repositories(ctx context.Context, last string, n int) ([]string, error) {
	return s.names(ctx, `SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?`, last, n)
}

func (s *Store) names(ctx context.Context, query string, args ...any) ([]string, error) {
	return queryAll(ctx, s.read, func(row scanner) (string, error) {
		var name string
		err := row.Scan(&name)
		return name, err
	}, query, args...)
}

// Referrers implements metadata.Manifests.
func (s *Store) Referrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) ([]metadata.Descriptor, error) {
	query := `SELECT m.media_type, m.digest, m.size, m.artifact_type, m.annotations
		FROM manifests m JOIN repositories r ON r.id = m.repository_id
		WHERE r.name = ? AND m.subject = ?`
	args := []any{repo, dgst.String()}
	if artifactType != "" {
		query += ` AND m.artifact_type = ?`
		args = append(args, artifactType)
	}
	rows, err := s.read.QueryContext(ctx, query+` ORDER BY m.pushed_at, m.digest`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	descs := []metadata.Descriptor{}
	for rows.Next() {
		var d metadata.Descriptor
		var annotations string
		if err := rows.Scan(&d.MediaType, &d.Digest, &d.Size, &d.ArtifactType, &annotations); err != nil {
			return nil, err
		}
		if annotations != "" {
			if err := json.Unmarshal([]byte(annotations), &d.Annotations); err != nil {
				return nil, err
			}
		}
		descs = append(descs, d)
	}
	return descs, rows.Err()
}

// RecordPulls implements metadata.Manifests.
func (s *Store) RecordPulls(ctx context.Context, pulls []metadata.Pull) error {
	return s.tx(ctx, func(tx Conn) error {
		for _, p := range pulls {
			if _, err := tx.ExecContext(ctx,
				`UPDATE manifests SET last_pulled_at = `+s.d.Greatest+`(last_pulled_at, ?)
				 WHERE digest = ? AND repository_id = (SELECT id FROM repositories WHERE name = ?)`,
				p.At.UnixNano(), p.Digest.String(), p.Repository); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateUpload implements metadata.Uploads.
func (s *Store) CreateUpload(ctx context.Context, u metadata.Upload) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO uploads(id, repository, size, algorithm, hash_state, storage_state, started_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Repository, u.Size, string(u.Algorithm), u.HashState, u.StorageState, u.StartedAt.UnixNano(), u.UpdatedAt.UnixNano())
	return err
}

// Upload implements metadata.Uploads.
func (s *Store) Upload(ctx context.Context, id string) (metadata.Upload, error) {
	u := metadata.Upload{ID: id}
	var alg string
	var started, updated int64
	err := s.read.QueryRowContext(ctx,
		`SELECT repository, size, algorithm, hash_state, storage_state, started_at, updated_at FROM uploads WHERE id = ?`, id).Scan(
		&u.Repository, &u.Size, &alg, &u.HashState, &u.StorageState, &started, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return u, metadata.ErrUploadUnknown
	}
	u.Algorithm = digest.Algorithm(alg)
	u.StartedAt, u.UpdatedAt = time.Unix(0, started), time.Unix(0, updated)
	return u, err
}

// UpdateUpload implements metadata.Uploads.
func (s *Store) UpdateUpload(ctx context.Context, u metadata.Upload, fromSize int64) error {
	res, err := s.write.ExecContext(ctx,
		`UPDATE uploads SET size = ?, algorithm = ?, hash_state = ?, storage_state = ?, updated_at = ? WHERE id = ? AND size = ?`,
		u.Size, string(u.Algorithm), u.HashState, u.StorageState, s.now(), u.ID, fromSize)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Upload(ctx, u.ID); err != nil {
		return err
	}
	return metadata.ErrUploadConflict
}

// DeleteUpload implements metadata.Uploads.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, id)
	return err
}
