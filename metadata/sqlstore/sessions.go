package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// CreateSession implements metadata.Sessions.
func (s *Store) CreateSession(ctx context.Context, sn metadata.Session) error {
	return s.tx(ctx, func(tx Conn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM access_keys WHERE id = ?`, sn.AccessKeyID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrAccessKeyUnknown
		}
		if err != nil {
			return err
		}
		return changeOne(ctx, tx, `INSERT INTO sessions(id, user_name, access_key_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(id) DO NOTHING`, metadata.ErrSessionExists, sn.ID, sn.User, sn.AccessKeyID, s.orNow(sn.CreatedAt), sn.ExpiresAt.UnixNano())
	})
}

// Session implements metadata.Sessions.
func (s *Store) Session(ctx context.Context, id string, at time.Time) (metadata.Session, error) {
	sn := metadata.Session{ID: id}
	var created, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT user_name, access_key_id, created_at, expires_at FROM sessions WHERE id = ? AND expires_at > ?`,
		id, at.UnixNano()).Scan(&sn.User, &sn.AccessKeyID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return metadata.Session{}, metadata.ErrSessionUnknown
	}
	sn.CreatedAt, sn.ExpiresAt = time.Unix(0, created), time.Unix(0, expires)
	return sn, err
}

// DeleteSession implements metadata.Sessions.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	return err
}

// DeleteExpiredSessions implements metadata.Sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, at time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, at.UnixNano())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
