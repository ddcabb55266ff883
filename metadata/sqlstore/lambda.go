package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// CreateFunction implements metadata.Functions.
func (s *Store) CreateFunction(ctx context.Context, f metadata.Function) error {
	return changeOne(ctx, s.write, `INSERT INTO lambda_functions(name, revision, created_at, document)
		VALUES (?, 1, ?, ?) ON CONFLICT(name) DO NOTHING`, metadata.ErrFunctionExists, f.Name, f.CreatedAt.UnixNano(), orEmptyBytes(f.Document))
}

// UpdateFunction implements metadata.Functions.
func (s *Store) UpdateFunction(ctx context.Context, f metadata.Function, from int64) (int64, error) {
	var revision int64
	err := s.tx(ctx, func(tx Conn) error {
		err := tx.QueryRowContext(ctx, `UPDATE lambda_functions SET revision = revision + 1, document = ?
			WHERE name = ? AND revision = ? RETURNING revision`, orEmptyBytes(f.Document), f.Name, from).Scan(&revision)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM lambda_functions WHERE name = ?`, f.Name).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrFunctionUnknown
		} else if err != nil {
			return err
		}
		return metadata.ErrFunctionChanged
	})
	return revision, err
}

const functionColumns = `name, revision, created_at, document`

func scanFunction(row interface{ Scan(...any) error }) (metadata.Function, error) {
	var f metadata.Function
	var created int64
	err := row.Scan(&f.Name, &f.Revision, &created, &f.Document)
	f.CreatedAt = time.Unix(0, created)
	return f, err
}

// Function implements metadata.Functions.
func (s *Store) Function(ctx context.Context, name string) (metadata.Function, error) {
	f, err := scanFunction(s.read.QueryRowContext(ctx, `SELECT `+functionColumns+` FROM lambda_functions WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return f, metadata.ErrFunctionUnknown
	}
	return f, err
}

// Functions implements metadata.Functions.
func (s *Store) Functions(ctx context.Context, after string, n int) ([]metadata.Function, error) {
	return queryAll(ctx, s.read, scanFunction, `SELECT `+functionColumns+` FROM lambda_functions
		WHERE name > ? ORDER BY name LIMIT ?`, after, n)
}

// DeleteFunction implements metadata.Functions. Its versions and aliases
// go with it (ON DELETE CASCADE).
func (s *Store) DeleteFunction(ctx context.Context, name string) error {
	return changeOne(ctx, s.write, `DELETE FROM lambda_functions WHERE name = ?`, metadata.ErrFunctionUnknown, name)
}

const versionColumns = `function, version, created_at, document`

func scanFunctionVersion(row interface{ Scan(...any) error }) (metadata.FunctionVersion, error) {
	var v metadata.FunctionVersion
	var created int64
	err := row.Scan(&v.Function, &v.Version, &created, &v.Document)
	v.CreatedAt = time.Unix(0, created)
	return v, err
}

// PublishFunctionVersion implements metadata.FunctionVersions. The
// function's last_version counts every version it ever published, so a
// deleted version's number is not given again.
func (s *Store) PublishFunctionVersion(ctx context.Context, v metadata.FunctionVersion) (metadata.FunctionVersion, error) {
	var out metadata.FunctionVersion
	err := s.tx(ctx, func(tx Conn) error {
		var number int
		err := tx.QueryRowContext(ctx, `UPDATE lambda_functions SET last_version = last_version + 1
			WHERE name = ? RETURNING last_version`, v.Function).Scan(&number)
		if errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrFunctionUnknown
		} else if err != nil {
			return err
		}
		out, err = scanFunctionVersion(tx.QueryRowContext(ctx, `INSERT INTO lambda_versions(function, version, created_at, document)
			VALUES (?, ?, ?, ?) RETURNING `+versionColumns, v.Function, number, v.CreatedAt.UnixNano(), orEmptyBytes(v.Document)))
		return err
	})
	return out, err
}

// FunctionVersion implements metadata.FunctionVersions.
func (s *Store) FunctionVersion(ctx context.Context, fn string, version int) (metadata.FunctionVersion, error) {
	v, err := scanFunctionVersion(s.read.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM lambda_versions
		WHERE function = ? AND version = ?`, fn, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, metadata.ErrFunctionVersionUnknown
	}
	return v, err
}

// UpdateFunctionVersion implements metadata.FunctionVersions.
func (s *Store) UpdateFunctionVersion(ctx context.Context, v metadata.FunctionVersion) error {
	return changeOne(ctx, s.write, `UPDATE lambda_versions SET document = ? WHERE function = ? AND version = ?`,
		metadata.ErrFunctionVersionUnknown, orEmptyBytes(v.Document), v.Function, v.Version)
}

// FunctionVersions implements metadata.FunctionVersions.
func (s *Store) FunctionVersions(ctx context.Context, fn string, after, n int) ([]metadata.FunctionVersion, error) {
	return queryAll(ctx, s.read, scanFunctionVersion, `SELECT `+versionColumns+` FROM lambda_versions
		WHERE function = ? AND version > ? ORDER BY version LIMIT ?`, fn, after, n)
}

// DeleteFunctionVersion implements metadata.FunctionVersions.
func (s *Store) DeleteFunctionVersion(ctx context.Context, fn string, version int) error {
	return changeOne(ctx, s.write, `DELETE FROM lambda_versions WHERE function = ? AND version = ?`,
		metadata.ErrFunctionVersionUnknown, fn, version)
}

const aliasColumns = `function, name, version, document`

func scanFunctionAlias(row interface{ Scan(...any) error }) (metadata.FunctionAlias, error) {
	var a metadata.FunctionAlias
	err := row.Scan(&a.Function, &a.Name, &a.Version, &a.Document)
	return a, err
}

// CreateFunctionAlias implements metadata.FunctionAliases.
func (s *Store) CreateFunctionAlias(ctx context.Context, a metadata.FunctionAlias) error {
	return s.tx(ctx, func(tx Conn) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM lambda_functions WHERE name = ?`, a.Function).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrFunctionUnknown
		} else if err != nil {
			return err
		}
		return changeOne(ctx, tx, `INSERT INTO lambda_aliases(function, name, version, document) VALUES (?, ?, ?, ?)
			ON CONFLICT(function, name) DO NOTHING`, metadata.ErrFunctionAliasExists, a.Function, a.Name, a.Version, orEmptyBytes(a.Document))
	})
}

// PutFunctionAlias implements metadata.FunctionAliases.
func (s *Store) PutFunctionAlias(ctx context.Context, a metadata.FunctionAlias) error {
	return changeOne(ctx, s.write, `UPDATE lambda_aliases SET version = ?, document = ? WHERE function = ? AND name = ?`,
		metadata.ErrFunctionAliasUnknown, a.Version, orEmptyBytes(a.Document), a.Function, a.Name)
}

// FunctionAlias implements metadata.FunctionAliases.
func (s *Store) FunctionAlias(ctx context.Context, fn, name string) (metadata.FunctionAlias, error) {
	a, err := scanFunctionAlias(s.read.QueryRowContext(ctx, `SELECT `+aliasColumns+` FROM lambda_aliases
		WHERE function = ? AND name = ?`, fn, name))
	if errors.Is(err, sql.ErrNoRows) {
		return a, metadata.ErrFunctionAliasUnknown
	}
	return a, err
}

// FunctionAliases implements metadata.FunctionAliases.
func (s *Store) FunctionAliases(ctx context.Context, fn, after string, n int) ([]metadata.FunctionAlias, error) {
	return queryAll(ctx, s.read, scanFunctionAlias, `SELECT `+aliasColumns+` FROM lambda_aliases
		WHERE function = ? AND name > ? ORDER BY name LIMIT ?`, fn, after, n)
}

// DeleteFunctionAlias implements metadata.FunctionAliases.
func (s *Store) DeleteFunctionAlias(ctx context.Context, fn, name string) error {
	return changeOne(ctx, s.write, `DELETE FROM lambda_aliases WHERE function = ? AND name = ?`,
		metadata.ErrFunctionAliasUnknown, fn, name)
}

// orEmptyBytes stores a nil document as an empty one: the columns are
// NOT NULL.
func orEmptyBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
