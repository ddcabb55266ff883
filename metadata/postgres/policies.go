package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/berth-dev/berth/metadata"
)

// RepositoryPolicy implements metadata.RepositoryPolicies.
func (s *Store) RepositoryPolicy(ctx context.Context, repo string) (string, error) {
	var text string
	err := s.read.QueryRowContext(ctx, `SELECT policy FROM repositories WHERE name = ?`, repo).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return "", metadata.ErrRepositoryUnknown
	}
	return text, err
}

// SetRepositoryPolicy implements metadata.RepositoryPolicies.
func (s *Store) SetRepositoryPolicy(ctx context.Context, repo, text string) error {
	return s.deleteOne(ctx, `UPDATE repositories SET policy = ? WHERE name = ?`, metadata.ErrRepositoryUnknown, text, repo)
}

// Setting implements metadata.Settings.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var value string
	err := s.read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return value, err
}

// PutSetting implements metadata.Settings.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if value == "" {
		_, err := s.write.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, key)
		return err
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO settings(key, value) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
