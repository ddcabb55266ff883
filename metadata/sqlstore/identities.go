package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// CreateUser implements metadata.Identities.
func (s *Store) CreateUser(ctx context.Context, u metadata.User) error {
	policies, err := encodePolicies(u.Policies)
	if err != nil {
		return err
	}
	return changeOne(ctx, s.write,
		`INSERT INTO users(name, arn, policies, created_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT(name) DO NOTHING`, metadata.ErrUserExists, u.Name, u.ARN, policies, s.orNow(u.CreatedAt))
}

// User implements metadata.Credentials.
func (s *Store) User(ctx context.Context, name string) (metadata.User, error) {
	u, err := scanUser(s.read.QueryRowContext(ctx,
		`SELECT name, arn, policies, created_at FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return metadata.User{Name: name}, metadata.ErrUserUnknown
	}
	return u, err
}

// Users implements metadata.Identities.
func (s *Store) Users(ctx context.Context) ([]metadata.User, error) {
	return queryAll(ctx, s.read, scanUser, `SELECT name, arn, policies, created_at FROM users ORDER BY name`)
}

// DeleteUser implements metadata.Identities. The user's access keys go
// with it (ON DELETE CASCADE).
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return changeOne(ctx, s.write, `DELETE FROM users WHERE name = ?`, metadata.ErrUserUnknown, name)
}

// PutUserPolicies implements metadata.Identities.
func (s *Store) PutUserPolicies(ctx context.Context, name string, policies []string) error {
	encoded, err := encodePolicies(policies)
	if err != nil {
		return err
	}
	return changeOne(ctx, s.write, `UPDATE users SET policies = ? WHERE name = ?`, metadata.ErrUserUnknown, encoded, name)
}

// CreateAccessKey implements metadata.Identities.
func (s *Store) CreateAccessKey(ctx context.Context, k metadata.AccessKey) error {
	if k.Status == "" {
		k.Status = metadata.AccessKeyActive
	}
	if !k.Status.Valid() {
		return metadata.ErrAccessKeyStatus
	}
	if k.SealedSecret == nil {
		k.SealedSecret = []byte{} // NOT NULL; an empty secret is the caller's business
	}
	return s.tx(ctx, func(tx Conn) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE name = ?`, k.User).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrUserUnknown
		}
		if err != nil {
			return err
		}
		return changeOne(ctx, tx,
			`INSERT INTO access_keys(id, user_name, sealed_secret, status, created_at, last_used_at)
			 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`, metadata.ErrAccessKeyExists,
			k.ID, k.User, k.SealedSecret, string(k.Status), s.orNow(k.CreatedAt), unixNano(k.LastUsedAt))
	})
}

// AccessKey implements metadata.Credentials.
func (s *Store) AccessKey(ctx context.Context, id string) (metadata.AccessKey, error) {
	k, err := scanAccessKey(s.read.QueryRowContext(ctx,
		`SELECT id, user_name, sealed_secret, status, created_at, last_used_at FROM access_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return metadata.AccessKey{ID: id}, metadata.ErrAccessKeyUnknown
	}
	return k, err
}

// AccessKeys implements metadata.Identities.
func (s *Store) AccessKeys(ctx context.Context, user string) ([]metadata.AccessKey, error) {
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM users WHERE name = ?`, user).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, metadata.ErrUserUnknown
	}
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.read, scanAccessKey,
		`SELECT id, user_name, sealed_secret, status, created_at, last_used_at FROM access_keys
		 WHERE user_name = ? ORDER BY created_at, id`, user)
}

// SetAccessKeyStatus implements metadata.Identities.
func (s *Store) SetAccessKeyStatus(ctx context.Context, id string, status metadata.AccessKeyStatus) error {
	if !status.Valid() {
		return metadata.ErrAccessKeyStatus
	}
	return changeOne(ctx, s.write, `UPDATE access_keys SET status = ? WHERE id = ?`, metadata.ErrAccessKeyUnknown, string(status), id)
}

// DeleteAccessKey implements metadata.Identities.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	return changeOne(ctx, s.write, `DELETE FROM access_keys WHERE id = ?`, metadata.ErrAccessKeyUnknown, id)
}

// TouchAccessKey implements metadata.Credentials: one UPDATE by primary
// key, which writes nothing when the recorded time is already later.
func (s *Store) TouchAccessKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.write.ExecContext(ctx,
		`UPDATE access_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?`,
		at.UnixNano(), id, at.UnixNano())
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner = interface{ Scan(dest ...any) error }

func scanUser(row scanner) (metadata.User, error) {
	var u metadata.User
	var policies string
	var created int64
	if err := row.Scan(&u.Name, &u.ARN, &policies, &created); err != nil {
		return u, err
	}
	u.CreatedAt = time.Unix(0, created)
	if err := json.Unmarshal([]byte(policies), &u.Policies); err != nil {
		return u, err
	}
	return u, nil
}

func scanAccessKey(row scanner) (metadata.AccessKey, error) {
	var k metadata.AccessKey
	var status string
	var created, used int64
	if err := row.Scan(&k.ID, &k.User, &k.SealedSecret, &status, &created, &used); err != nil {
		return k, err
	}
	k.Status = metadata.AccessKeyStatus(status)
	k.CreatedAt = time.Unix(0, created)
	if used != 0 {
		k.LastUsedAt = time.Unix(0, used)
	}
	return k, nil
}

// encodePolicies stores a list as a JSON array; nil and empty are both "[]".
func encodePolicies(policies []string) (string, error) {
	if len(policies) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(policies)
	return string(b), err
}

// orNow is t in Unix nanoseconds, or now if t is zero.
func (s *Store) orNow(t time.Time) int64 {
	if t.IsZero() {
		return s.now()
	}
	return t.UnixNano()
}

// unixNano is t in Unix nanoseconds, 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
