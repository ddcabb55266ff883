// Package sqlstore is the metadata index's one implementation in SQL,
// which the SQLite and PostgreSQL stores share: every query of
// metadata.Store, written once in the SQL both engines take. An engine
// supplies what is its own: its connections (which may cache prepared
// statements or rewrite placeholders), how it runs a write transaction
// (SQLite's one writer; PostgreSQL's serializable transactions, retried
// on a conflict) and its Dialect, the few SQL fragments the two spell
// differently. Queries use SQLite's placeholders (? and ?N).
package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// Conn runs queries: a connection pool, or a write transaction.
type Conn interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// TxFunc runs fn in a write transaction, committing when it returns nil
// and rolling back otherwise. It may run fn more than once (PostgreSQL
// retries a transaction aborted by a conflict), so fn must not keep
// effects of an attempt outside the transaction.
type TxFunc func(ctx context.Context, fn func(tx Conn) error) error

// Dialect is the SQL the engines spell differently.
type Dialect struct {
	// Greatest and Least name the functions of the larger and the
	// smaller of their arguments.
	Greatest, Least string
	// Strpos names the function of the position of its second argument
	// in its first, 0 when it is not there.
	Strpos string
	// StringAgg names the aggregate joining its first argument's values
	// with its second between them.
	StringAgg string
	// JSONStrings selects, as a one-column table, the strings of the
	// JSON array that is its one parameter.
	JSONStrings string
	// JSONObjects selects the members k and u (strings) of each object
	// of the JSON array that is its one parameter, as columns k and u.
	JSONObjects string
	// ConfigMediaType is an expression of the manifest row m: its
	// config's mediaType, NULL when there is none or m.content is not
	// JSON.
	ConfigMediaType string
	// Platforms is an expression of the manifest row m: the platforms
	// its manifests list names, os/architecture[/variant] one a line, ''
	// when none.
	Platforms string
	// Contains is a condition that the column, written %s in it, contains the
	// text of its one parameter, made by ContainsArg from the text.
	Contains    string
	ContainsArg func(string) string
}

// Config is what an engine gives New.
type Config struct {
	// Read runs reads; Write runs writes outside a transaction. They may
	// be the same pool.
	Read, Write Conn
	// Adhoc runs reads whose text is built anew by each call (filters,
	// time slices), which are not worth a cached statement.
	Adhoc Conn
	// Tx runs write transactions.
	Tx      TxFunc
	Dialect Dialect
}

// Store is a metadata.Store (but for Ping and Close, which the engine's
// store adds) in a SQL database.
type Store struct {
	read, write, adhoc Conn
	tx                 TxFunc
	d                  Dialect
	clock              func() time.Time

	// Queries built from the dialect once.
	imageColumns, imageQuery, factsQuery string
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the times it records (when a repository,
// blob or manifest was created or pushed, when an upload was last written)
// from now instead of time.Now. Lifecycle rules and garbage collection
// compare those times with their own clock, so tests give both the same.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.clock = now } }

// New returns a Store on c's connections.
func New(c Config, opts ...Option) *Store {
	s := &Store{read: c.Read, write: c.Write, adhoc: c.Adhoc, tx: c.Tx, d: c.Dialect, clock: time.Now}
	for _, o := range opts {
		o(s)
	}
	s.imageColumns = imageColumns(s.d)
	s.imageQuery = `SELECT ` + s.imageColumns + imageSource
	s.factsQuery = factsQuery(s.d)
	return s
}

// now is the store's clock in Unix nanoseconds, as times are stored.
func (s *Store) now() int64 { return s.clock().UnixNano() }
