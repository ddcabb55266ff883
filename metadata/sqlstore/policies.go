package sqlstore

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

// AllRepositoryPolicies returns the policy of every repository that has
// one, by repository name, in one query: for evaluating a listing's
// policies in memory.
func (s *Store) AllRepositoryPolicies(ctx context.Context) (map[string]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name, policy FROM repositories WHERE policy != ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			return nil, err
		}
		out[name] = text
	}
	return out, rows.Err()
}

// SetRepositoryPolicy implements metadata.RepositoryPolicies.
func (s *Store) SetRepositoryPolicy(ctx context.Context, repo, text string) error {
	return changeOne(ctx, s.write, `UPDATE repositories SET policy = ? WHERE name = ?`, metadata.ErrRepositoryUnknown, text, repo)
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
