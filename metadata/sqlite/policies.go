package sqlite

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
