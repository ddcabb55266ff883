package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// db is a *sql.DB that prepares each distinct query once and reuses the
// statement. Parsing SQL was a third of the CPU of a manifest pull before;
// database/sql keeps a statement prepared on every connection it ran on.
// Queries must be single statements (the migrations bypass this).
type db struct {
	*sql.DB
	stmts sync.Map // query string → *sql.Stmt
}

func (d *db) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := d.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := d.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := d.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// QueryRowContext is sql.DB's, with a cached statement.
func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := d.stmt(ctx, query)
	if err != nil {
		return d.DB.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

// QueryContext is sql.DB's, with a cached statement.
func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := d.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// ExecContext is sql.DB's, with a cached statement.
func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := d.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// Close closes the cached statements and the database.
func (d *db) Close() error {
	d.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return d.DB.Close()
}

// tx is a *sql.Tx whose queries use db's cached statements. The write
// database has one connection, which the transaction holds, so a query
// not cached yet cannot be prepared on the database now: it runs
// unprepared and is listed in missed, for prepareMissed after the
// transaction ends.
type tx struct {
	*sql.Tx
	db     *db
	missed []string
}

func (t *tx) cached(ctx context.Context, query string) *sql.Stmt {
	if st, ok := t.db.stmts.Load(query); ok {
		return t.Tx.StmtContext(ctx, st.(*sql.Stmt))
	}
	t.missed = append(t.missed, query)
	return nil
}

// QueryRowContext is sql.Tx's, with a cached statement.
func (t *tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.cached(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// ExecContext is sql.Tx's, with a cached statement.
func (t *tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cached(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// prepareMissed prepares the queries the transaction ran unprepared. A
// failure only means they stay unprepared.
func (t *tx) prepareMissed(ctx context.Context) {
	for _, q := range t.missed {
		t.db.stmt(ctx, q)
	}
}
