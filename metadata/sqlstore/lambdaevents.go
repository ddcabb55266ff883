package sqlstore

import (
	"context"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// PutLambdaEvent implements metadata.LambdaEvents.
func (s *Store) PutLambdaEvent(ctx context.Context, e metadata.LambdaEvent) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO lambda_events(request_id, queued_at, document) VALUES (?, ?, ?)
		ON CONFLICT(request_id) DO UPDATE SET document = excluded.document`, e.RequestID, e.QueuedAt.UnixNano(), orEmptyBytes(e.Document))
	return err
}

// DeleteLambdaEvent implements metadata.LambdaEvents.
func (s *Store) DeleteLambdaEvent(ctx context.Context, requestID string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM lambda_events WHERE request_id = ?`, requestID)
	return err
}

// LambdaEvents implements metadata.LambdaEvents.
func (s *Store) LambdaEvents(ctx context.Context, after string, n int) ([]metadata.LambdaEvent, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT request_id, queued_at, document FROM lambda_events
		WHERE request_id > ? ORDER BY request_id LIMIT ?`, after, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []metadata.LambdaEvent{}
	for rows.Next() {
		var e metadata.LambdaEvent
		var queued int64
		if err := rows.Scan(&e.RequestID, &queued, &e.Document); err != nil {
			return nil, err
		}
		e.QueuedAt = time.Unix(0, queued)
		out = append(out, e)
	}
	return out, rows.Err()
}
