package postgres

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// db is a *sql.DB that takes the SQLite store's placeholders (? and ?N)
// and sends PostgreSQL's ($N), rewriting each distinct query once. pgx
// prepares and caches each statement on every connection by itself.
type db struct {
	*sql.DB
	rebound sync.Map // query string → rewritten query
}

// rebind rewrites query's placeholders: ?N becomes $N, and each bare ?
// the next $N. Question marks in string literals are left alone.
func (d *db) rebind(query string) string {
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + query[i+1:j])
				i = j - 1
			} else if n++; strings.HasSuffix(strings.ToUpper(b.String()), "LIMIT ") {
				// SQLite takes a negative LIMIT as none; PostgreSQL
				// refuses it and takes NULL as none.
				b.WriteString("NULLIF(GREATEST($" + strconv.Itoa(n) + "::bigint, -1), -1)")
			} else {
				b.WriteString("$" + strconv.Itoa(n))
			}
			continue
		}
		b.WriteByte(c)
	}
	d.rebound.Store(query, b.String())
	return b.String()
}

// QueryRowContext is sql.DB's, with the placeholders rewritten.
func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, d.rebind(query), args...)
}

// QueryContext is sql.DB's, with the placeholders rewritten.
func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.rebind(query), args...)
}

// ExecContext is sql.DB's, with the placeholders rewritten.
func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, d.rebind(query), args...)
}

// tx is a *sql.Tx that rewrites placeholders as db does.
type tx struct {
	*sql.Tx
	db *db
}

// QueryRowContext is sql.Tx's, with the placeholders rewritten.
func (t *tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.db.rebind(query), args...)
}

// QueryContext is sql.Tx's, with the placeholders rewritten.
func (t *tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.db.rebind(query), args...)
}

// ExecContext is sql.Tx's, with the placeholders rewritten.
func (t *tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.db.rebind(query), args...)
}
