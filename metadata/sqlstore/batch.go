package sqlstore

import (
	"context"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// PutBatchResource implements metadata.BatchResources.
func (s *Store) PutBatchResource(ctx context.Context, r metadata.BatchResource) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO batch_resources(kind, name, document) VALUES (?, ?, ?)
		ON CONFLICT(kind, name) DO UPDATE SET document = excluded.document`, r.Kind, r.Name, orEmptyBytes(r.Document))
	return err
}

// BatchResources implements metadata.BatchResources.
func (s *Store) BatchResources(ctx context.Context, kind string) ([]metadata.BatchResource, error) {
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.BatchResource, error) {
		var r metadata.BatchResource
		err := row.Scan(&r.Kind, &r.Name, &r.Document)
		return r, err
	}, `SELECT kind, name, document FROM batch_resources WHERE kind = ? ORDER BY name`, kind)
}

// DeleteBatchResource implements metadata.BatchResources.
func (s *Store) DeleteBatchResource(ctx context.Context, kind, name string) error {
	return changeOne(ctx, s.write, `DELETE FROM batch_resources WHERE kind = ? AND name = ?`, metadata.ErrBatchResourceUnknown, kind, name)
}

// RegisterBatchJobDefinition implements metadata.BatchJobDefinitions. The
// highest revision ever registered stays in the table (deregistering
// only changes a document), so numbers are never reused.
func (s *Store) RegisterBatchJobDefinition(ctx context.Context, name string, fill func(revision int) ([]byte, error)) (metadata.BatchJobDefinition, error) {
	d := metadata.BatchJobDefinition{Name: name}
	err := s.tx(ctx, func(tx Conn) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(revision), 0) + 1 FROM batch_job_definitions WHERE name = ?`, name).Scan(&d.Revision); err != nil {
			return err
		}
		doc, err := fill(d.Revision)
		if err != nil {
			return err
		}
		d.Document = doc
		_, err = tx.ExecContext(ctx, `INSERT INTO batch_job_definitions(name, revision, document) VALUES (?, ?, ?)`, name, d.Revision, orEmptyBytes(doc))
		return err
	})
	return d, err
}

// PutBatchJobDefinition implements metadata.BatchJobDefinitions.
func (s *Store) PutBatchJobDefinition(ctx context.Context, d metadata.BatchJobDefinition) error {
	return changeOne(ctx, s.write, `UPDATE batch_job_definitions SET document = ? WHERE name = ? AND revision = ?`,
		metadata.ErrBatchJobDefinitionUnknown, orEmptyBytes(d.Document), d.Name, d.Revision)
}

// BatchJobDefinitions implements metadata.BatchJobDefinitions.
func (s *Store) BatchJobDefinitions(ctx context.Context, name string) ([]metadata.BatchJobDefinition, error) {
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.BatchJobDefinition, error) {
		var d metadata.BatchJobDefinition
		err := row.Scan(&d.Name, &d.Revision, &d.Document)
		return d, err
	}, `SELECT name, revision, document FROM batch_job_definitions WHERE ? = '' OR name = ? ORDER BY name, revision`, name, name)
}

// PutBatchJob implements metadata.BatchJobs.
func (s *Store) PutBatchJob(ctx context.Context, j metadata.BatchJob) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO batch_jobs(id, status, created_at, document) VALUES (?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET status = excluded.status, document = excluded.document`,
		j.ID, j.Status, j.CreatedAt.UnixNano(), orEmptyBytes(j.Document))
	return err
}

// BatchJobs implements metadata.BatchJobs.
func (s *Store) BatchJobs(ctx context.Context, after string, n int) ([]metadata.BatchJob, error) {
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.BatchJob, error) {
		var j metadata.BatchJob
		var created int64
		err := row.Scan(&j.ID, &j.Status, &created, &j.Document)
		j.CreatedAt = time.Unix(0, created)
		return j, err
	}, `SELECT id, status, created_at, document FROM batch_jobs WHERE id > ? ORDER BY id LIMIT ?`, after, n)
}

// DeleteBatchJobs implements metadata.BatchJobs.
func (s *Store) DeleteBatchJobs(ctx context.Context, ids []string) error {
	return s.tx(ctx, func(tx Conn) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM batch_jobs WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
}
