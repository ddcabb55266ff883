package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// settings is the JSON in repositories.settings: everything of a
// metadata.Repository but its name and creation time.
type settings struct {
	TagMutability        string                 `json:"tagMutability,omitempty"`
	MutabilityExclusions []string               `json:"mutabilityExclusions,omitempty"`
	ScanOnPush           bool                   `json:"scanOnPush,omitempty"`
	EncryptionType       string                 `json:"encryptionType,omitempty"`
	KMSKey               string                 `json:"kmsKey,omitempty"`
	Tags                 []metadata.ResourceTag `json:"tags,omitempty"`
	LifecyclePolicy      string                 `json:"lifecyclePolicy,omitempty"`
	LifecycleEvaluatedAt int64                  `json:"lifecycleEvaluatedAt,omitempty"`
}

func encodeSettings(r metadata.Repository) (string, error) {
	st := settings{r.TagMutability, r.MutabilityExclusions, r.ScanOnPush, r.EncryptionType, r.KMSKey, r.Tags, r.LifecyclePolicy, 0}
	if !r.LifecycleEvaluatedAt.IsZero() {
		st.LifecycleEvaluatedAt = r.LifecycleEvaluatedAt.UnixNano()
	}
	b, err := json.Marshal(st)
	return string(b), err
}

// querier runs read queries: the read pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll runs query and reads every row with scan; an empty result is
// an empty, non-nil slice.
func queryAll[T any](ctx context.Context, q querier, scan func(row interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// rowQuerier runs a query for one row: the read pool, the write
// connection or a transaction.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// lookupRepository is the one lookup of a repository by name, through q:
// its id (what other tables key on) and its settings.
// ErrRepositoryUnknown if there is none.
func lookupRepository(ctx context.Context, q rowQuerier, name string) (int64, metadata.Repository, error) {
	var id int64
	r, err := scanRepository(q.QueryRowContext(ctx, `SELECT name, created_at, settings, id FROM repositories WHERE name = ?`, name), &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, r, metadata.ErrRepositoryUnknown
	}
	return id, r, err
}

// scanRepository reads name, created_at, settings and then extra.
func scanRepository(row interface{ Scan(...any) error }, extra ...any) (metadata.Repository, error) {
	var r metadata.Repository
	var created int64
	var text string
	if err := row.Scan(append([]any{&r.Name, &created, &text}, extra...)...); err != nil {
		return r, err
	}
	var st settings
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return r, err
	}
	r.CreatedAt = time.Unix(0, created)
	r.TagMutability, r.MutabilityExclusions, r.ScanOnPush = st.TagMutability, st.MutabilityExclusions, st.ScanOnPush
	r.EncryptionType, r.KMSKey, r.Tags = st.EncryptionType, st.KMSKey, st.Tags
	r.LifecyclePolicy = st.LifecyclePolicy
	if st.LifecycleEvaluatedAt != 0 {
		r.LifecycleEvaluatedAt = time.Unix(0, st.LifecycleEvaluatedAt)
	}
	return r, nil
}

// CreateRepository implements metadata.Repositories.
func (s *Store) CreateRepository(ctx context.Context, r metadata.Repository) error {
	text, err := encodeSettings(r)
	if err != nil {
		return err
	}
	created := s.now()
	if !r.CreatedAt.IsZero() {
		created = r.CreatedAt.UnixNano()
	}
	return changeOne(ctx, s.write,
		`INSERT INTO repositories(name, created_at, settings) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING`, metadata.ErrRepositoryExists,
		r.Name, created, text)
}

// Repository implements metadata.Repositories.
func (s *Store) Repository(ctx context.Context, name string) (metadata.Repository, error) {
	_, r, err := lookupRepository(ctx, s.read, name)
	return r, err
}

// ListRepositories implements metadata.Repositories.
func (s *Store) ListRepositories(ctx context.Context, last string, n int) ([]metadata.Repository, error) {
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.Repository, error) {
		return scanRepository(row)
	}, `SELECT name, created_at, settings FROM repositories WHERE name > ? ORDER BY name LIMIT ?`, last, n)
}

// UpdateRepository implements metadata.Repositories.
func (s *Store) UpdateRepository(ctx context.Context, name string, change func(*metadata.Repository) error) (metadata.Repository, error) {
	var r metadata.Repository
	err := s.tx(ctx, func(tx Conn) error {
		id, current, err := lookupRepository(ctx, tx, name)
		if err != nil {
			return err
		}
		if err := change(&current); err != nil {
			return err
		}
		current.Name = name
		text, err := encodeSettings(current)
		if err != nil {
			return err
		}
		r = current
		_, err = tx.ExecContext(ctx, `UPDATE repositories SET settings = ? WHERE id = ?`, text, id)
		return err
	})
	return r, err
}

// DeleteRepository implements metadata.Repositories. Manifests, tags,
// references and blob links go with the row (ON DELETE CASCADE).
func (s *Store) DeleteRepository(ctx context.Context, name string, force bool) (metadata.Repository, error) {
	var r metadata.Repository
	err := s.tx(ctx, func(tx Conn) error {
		id, current, err := lookupRepository(ctx, tx, name)
		if err != nil {
			return err
		}
		r = current
		if !force {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM manifests WHERE repository_id = ? LIMIT 1`, id).Scan(&one)
			if err == nil {
				return metadata.ErrRepositoryNotEmpty
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM repositories WHERE id = ?`, id)
		return err
	})
	return r, err
}
