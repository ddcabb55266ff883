package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// PutService implements metadata.Services.
func (s *Store) PutService(ctx context.Context, svc metadata.Service) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO ecs_services(cluster, name, status, created_at, document) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(cluster, name) DO UPDATE SET status = excluded.status, created_at = excluded.created_at, document = excluded.document`,
		svc.Cluster, svc.Name, svc.Status, svc.CreatedAt.UnixNano(), orEmpty(svc.Document))
	return err
}

// Service implements metadata.Services.
func (s *Store) Service(ctx context.Context, cluster, name string) (metadata.Service, error) {
	svc, err := scanService(s.read.QueryRowContext(ctx,
		`SELECT cluster, name, status, created_at, document FROM ecs_services WHERE cluster = ? AND name = ?`, cluster, name))
	if errors.Is(err, sql.ErrNoRows) {
		return svc, metadata.ErrServiceUnknown
	}
	return svc, err
}

// Services implements metadata.Services.
func (s *Store) Services(ctx context.Context, q metadata.ServiceQuery) ([]metadata.Service, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	return queryAll(ctx, s.read, scanService, `SELECT cluster, name, status, created_at, document FROM ecs_services
		WHERE (cluster, name) > (?, ?) AND (? = '' OR cluster = ?) AND (? = '' OR status = ?)
		ORDER BY cluster, name LIMIT ?`, q.AfterCluster, q.AfterName, q.Cluster, q.Cluster, q.Status, q.Status, limit)
}

// DeleteService implements metadata.Services.
func (s *Store) DeleteService(ctx context.Context, cluster, name string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM ecs_services WHERE cluster = ? AND name = ?`, cluster, name)
	return err
}

func scanService(row interface{ Scan(...any) error }) (metadata.Service, error) {
	var svc metadata.Service
	var created int64
	err := row.Scan(&svc.Cluster, &svc.Name, &svc.Status, &created, &svc.Document)
	svc.CreatedAt = time.Unix(0, created)
	return svc, err
}
