package main

// What the scaling part counts besides time and CPU: the statements
// PostgreSQL ran (pg_stat_statements) and the S3 requests berth sent
// (a counting proxy in front of MinIO).

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Classes of SQL statements, by their first keyword.
const (
	sqlSelect = iota
	sqlInsert
	sqlUpdate
	sqlDelete
	sqlTxn   // BEGIN, COMMIT, ROLLBACK, SAVEPOINT…
	sqlOther // locks, SET, anything else
	sqlClasses
)

var sqlClassNames = [sqlClasses]string{"SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN/COMMIT", "other"}

// sqlClass sorts a normalised statement text into its class. A statement
// that starts with WITH is classed by the first data-changing keyword it
// holds, else as a SELECT.
func sqlClass(query string) int {
	q := strings.ToUpper(strings.TrimSpace(query))
	for strings.HasPrefix(q, "/*") {
		end := strings.Index(q, "*/")
		if end < 0 {
			break
		}
		q = strings.TrimSpace(q[end+2:])
	}
	word, _, _ := strings.Cut(q, " ")
	word = strings.TrimRight(word, ";(")
	switch word {
	case "SELECT", "VALUES", "TABLE":
		return sqlSelect
	case "INSERT":
		return sqlInsert
	case "UPDATE":
		return sqlUpdate
	case "DELETE":
		return sqlDelete
	case "BEGIN", "COMMIT", "ROLLBACK", "START", "END", "SAVEPOINT", "RELEASE", "ABORT":
		return sqlTxn
	case "WITH":
		for _, w := range []struct {
			kw    string
			class int
		}{{"INSERT ", sqlInsert}, {"UPDATE ", sqlUpdate}, {"DELETE ", sqlDelete}} {
			if strings.Contains(q, w.kw) {
				return w.class
			}
		}
		return sqlSelect
	}
	return sqlOther
}

// pgCounts is what pg_stat_statements says the berth database ran: calls
// per class, rows the writes touched, and WAL bytes.
type pgCounts struct {
	calls     [sqlClasses]int64
	writeRows int64
	walBytes  int64
}

func (c pgCounts) sub(o pgCounts) pgCounts {
	for i := range c.calls {
		c.calls[i] -= o.calls[i]
	}
	c.writeRows -= o.writeRows
	c.walBytes -= o.walBytes
	return c
}

func (c pgCounts) total() int64 {
	var n int64
	for _, v := range c.calls {
		n += v
	}
	return n
}

// writes are the data-changing statements.
func (c pgCounts) writes() int64 { return c.calls[sqlInsert] + c.calls[sqlUpdate] + c.calls[sqlDelete] }

// pgStatements reads pg_stat_statements for the current database, leaving
// out the bench's own reads of it. pg_stat_statements counts a statement
// when it ends, so a read right after a measurement sees all of it.
func pgStatements(ctx context.Context, db *sql.DB) (pgCounts, error) {
	rows, err := db.QueryContext(ctx, `SELECT query, calls, rows, wal_bytes FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`)
	if err != nil {
		return pgCounts{}, fmt.Errorf("pg_stat_statements: %w", err)
	}
	defer rows.Close()
	var c pgCounts
	for rows.Next() {
		var (
			query       string
			calls, nrow int64
			wal         float64 // numeric
		)
		if err := rows.Scan(&query, &calls, &nrow, &wal); err != nil {
			return pgCounts{}, fmt.Errorf("pg_stat_statements: %w", err)
		}
		if strings.Contains(query, "pg_stat_statements") || strings.HasPrefix(strings.ToUpper(strings.TrimSpace(query)), "SHOW ") {
			continue
		}
		class := sqlClass(query)
		c.calls[class] += calls
		if class == sqlInsert || class == sqlUpdate || class == sqlDelete {
			c.writeRows += nrow
		}
		c.walBytes += int64(wal)
	}
	return c, rows.Err()
}

// s3Operation names the S3 API call an HTTP request to a path-style S3
// endpoint makes.
func s3Operation(method, path string, query url.Values, header http.Header) string {
	object := strings.Contains(strings.Trim(path, "/"), "/")
	switch method {
	case http.MethodGet:
		switch {
		case !object && query.Has("location"):
			return "GetBucketLocation"
		case !object:
			return "ListObjects"
		case query.Has("uploadId"):
			return "ListParts"
		}
		return "GetObject"
	case http.MethodHead:
		if !object {
			return "HeadBucket"
		}
		return "HeadObject"
	case http.MethodPut:
		switch {
		case !object:
			return "CreateBucket"
		case query.Has("partNumber") && header.Get("X-Amz-Copy-Source") != "":
			return "UploadPartCopy"
		case query.Has("partNumber"):
			return "UploadPart"
		case header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodPost:
		switch {
		case query.Has("uploads"):
			return "CreateMultipartUpload"
		case query.Has("uploadId"):
			return "CompleteMultipartUpload"
		case query.Has("delete"):
			return "DeleteObjects"
		}
	case http.MethodDelete:
		if query.Has("uploadId") {
			return "AbortMultipartUpload"
		}
		if object {
			return "DeleteObject"
		}
	}
	return method + " other"
}

// s3Reads are the operations S3 rates as reads (GET and HEAD); the rest
// are writes (PUT, COPY, POST, DELETE, LIST).
func s3Read(op string) bool {
	switch op {
	case "GetObject", "HeadObject", "HeadBucket", "GetBucketLocation":
		return true
	}
	return false
}

// s3Counter is a reverse proxy in front of MinIO that counts the S3
// operations passing it. It leaves the Host header as the client sent it,
// so signatures made for the proxy's address still verify.
type s3Counter struct {
	addr string
	srv  *http.Server

	mu  sync.Mutex
	ops map[string]int64
}

func startS3Counter(minioEndpoint string) (*s3Counter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	target := &url.URL{Scheme: "http", Host: minioEndpoint}
	proxy := httputil.NewSingleHostReverseProxy(target)
	c := &s3Counter{addr: l.Addr().String(), ops: map[string]int64{}}
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := s3Operation(r.Method, r.URL.Path, r.URL.Query(), r.Header)
		c.mu.Lock()
		c.ops[op]++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go c.srv.Serve(l)
	return c, nil
}

func (c *s3Counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = map[string]int64{}
}

func (c *s3Counter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ops)
}

func (c *s3Counter) close() { c.srv.Close() }

// formatOps lists operation counts by name: "GetObject 5, HeadObject 1".
func formatOps(ops map[string]int64) string {
	if len(ops) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, ops[k]))
	}
	return strings.Join(parts, ", ")
}
