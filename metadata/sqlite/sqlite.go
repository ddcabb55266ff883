// Package sqlite is the embedded metadata index: one SQLite database file
// (pure Go, so the binary stays static) in WAL mode. Writes go through a
// single connection, which is how SQLite serialises them anyway, so no
// writer ever waits on SQLITE_BUSY; reads use a pool and never block writes.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlstore"
)

// Store is a metadata.Store in a SQLite database file: the shared SQL
// implementation on this engine's connections and transactions.
type Store struct {
	*sqlstore.Store
	write *db // one connection: all writes
	read  *db // a pool: all reads
}

// Option configures a Store.
type Option = sqlstore.Option

// WithClock makes the store read the times it records (when a repository,
// blob or manifest was created or pushed, when an upload was last written)
// from now instead of time.Now. Lifecycle rules and garbage collection
// compare those times with their own clock, so tests give both the same.
func WithClock(now func() time.Time) Option { return sqlstore.WithClock(now) }

// dialect is SQLite's spelling of what PostgreSQL spells otherwise.
var dialect = sqlstore.Dialect{
	Greatest:        "max",
	Least:           "min",
	Strpos:          "instr",
	StringAgg:       "group_concat",
	JSONStrings:     `SELECT value FROM json_each(?)`,
	JSONObjects:     `SELECT json_extract(value, '$.k') AS k, json_extract(value, '$.u') AS u FROM json_each(?)`,
	ConfigMediaType: `json_extract(CAST(m.content AS TEXT), '$.config.mediaType')`,
	Platforms: `COALESCE((SELECT group_concat(
		json_extract(p.value, '$.platform.os') || '/' || json_extract(p.value, '$.platform.architecture')
			|| COALESCE('/' || json_extract(p.value, '$.platform.variant'), ''), char(10))
	FROM json_each(CASE WHEN json_valid(m.content) THEN CAST(m.content AS TEXT) ELSE '{}' END, '$.manifests') p
	WHERE json_extract(p.value, '$.platform.os') IS NOT NULL), '')`,
	// GLOB, which SQLite evaluates while it scans, with the text's
	// special characters escaped.
	Contains:    `%s GLOB ?`,
	ContainsArg: containsGlob,
}

var _ metadata.Store = (*Store)(nil)

// schema is applied when the database's user_version is below
// len(schema): schema[i] migrates version i to i+1.
var schema = []string{`
CREATE TABLE repositories (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);
CREATE TABLE blobs (
	digest     TEXT PRIMARY KEY,
	size       INTEGER NOT NULL,
	location   TEXT NOT NULL,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE repository_blobs (
	repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	digest        TEXT NOT NULL REFERENCES blobs(digest),
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (repository_id, digest)
) WITHOUT ROWID;
CREATE INDEX repository_blobs_digest ON repository_blobs(digest);
CREATE TABLE manifests (
	repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	digest         TEXT NOT NULL,
	media_type     TEXT NOT NULL,
	artifact_type  TEXT NOT NULL DEFAULT '',
	size           INTEGER NOT NULL,
	content        BLOB NOT NULL,
	subject        TEXT NOT NULL DEFAULT '',
	annotations    TEXT NOT NULL DEFAULT '',
	pushed_at      INTEGER NOT NULL,
	last_pulled_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests(repository_id, subject) WHERE subject <> '';
CREATE TABLE manifest_references (
	repository_id   INTEGER NOT NULL,
	manifest_digest TEXT NOT NULL,
	digest          TEXT NOT NULL,
	kind            INTEGER NOT NULL,
	PRIMARY KEY (repository_id, manifest_digest, digest),
	FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests(repository_id, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX manifest_references_digest ON manifest_references(digest);
CREATE TABLE tags (
	repository_id INTEGER NOT NULL,
	name          TEXT NOT NULL,
	digest        TEXT NOT NULL,
	updated_at    INTEGER NOT NULL,
	PRIMARY KEY (repository_id, name),
	FOREIGN KEY (repository_id, digest) REFERENCES manifests(repository_id, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX tags_digest ON tags(repository_id, digest);
CREATE TABLE uploads (
	id         TEXT PRIMARY KEY,
	repository TEXT NOT NULL,
	size       INTEGER NOT NULL,
	algorithm  TEXT NOT NULL,
	hash_state BLOB,
	started_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;
`, `
ALTER TABLE uploads ADD COLUMN storage_state BLOB;
`, `
CREATE TABLE users (
	name       TEXT PRIMARY KEY,
	arn        TEXT NOT NULL DEFAULT '',
	policies   TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE access_keys (
	id            TEXT PRIMARY KEY,
	user_name     TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
	sealed_secret BLOB NOT NULL,
	status        TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX access_keys_user ON access_keys(user_name, created_at);
`, `
ALTER TABLE repositories ADD COLUMN policy TEXT NOT NULL DEFAULT '';
`, `
ALTER TABLE repositories ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
`, `
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
`, `
ALTER TABLE manifests ADD COLUMN storage_class TEXT NOT NULL DEFAULT '';
ALTER TABLE manifests ADD COLUMN archived_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE manifests ADD COLUMN activated_at INTEGER NOT NULL DEFAULT 0;
`, `
ALTER TABLE blobs ADD COLUMN marked_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX blobs_marked ON blobs(marked_at) WHERE marked_at <> 0;
CREATE TABLE blob_deletions (
	location  TEXT PRIMARY KEY,
	queued_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_updated ON uploads(updated_at);
`, `
-- Blobs that may have become garbage: new blobs, and blobs that lost a
-- manifest reference or a repository link. A GC pass checks only these,
-- so its cost follows what changed, not the size of the index.
CREATE TABLE gc_candidates (digest TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO gc_candidates SELECT digest FROM blobs;
CREATE TRIGGER gc_new_blob AFTER INSERT ON blobs BEGIN
	INSERT OR IGNORE INTO gc_candidates VALUES (NEW.digest);
END;
CREATE TRIGGER gc_unreferenced AFTER DELETE ON manifest_references WHEN OLD.kind = 0 BEGIN
	INSERT OR IGNORE INTO gc_candidates VALUES (OLD.digest);
END;
CREATE TRIGGER gc_unlinked AFTER DELETE ON repository_blobs BEGIN
	INSERT OR IGNORE INTO gc_candidates VALUES (OLD.digest);
END;
`, `
CREATE TABLE scans (
	repository_id     INTEGER NOT NULL,
	digest            TEXT NOT NULL,
	status            TEXT NOT NULL,
	description       TEXT NOT NULL DEFAULT '',
	started_at        INTEGER NOT NULL DEFAULT 0,
	completed_at      INTEGER NOT NULL DEFAULT 0,
	source_updated_at INTEGER NOT NULL DEFAULT 0,
	findings          TEXT NOT NULL DEFAULT '',
	inventory         TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (repository_id, digest),
	FOREIGN KEY (repository_id, digest) REFERENCES manifests(repository_id, digest) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE layer_inventories (
	digest    TEXT PRIMARY KEY,
	inventory TEXT NOT NULL
) WITHOUT ROWID;
`, `
-- Listings show a scan's severity counts without reading its findings.
-- Complete scans of earlier versions get theirs from their findings (the
-- scanner's JSON: an array of objects with a severity member).
ALTER TABLE scans ADD COLUMN severity_counts TEXT NOT NULL DEFAULT '';
UPDATE scans SET severity_counts = (
	SELECT json_group_object(severity, n) FROM (
		SELECT COALESCE(json_extract(value, '$.severity'), '') AS severity, COUNT(*) AS n
		FROM json_each(scans.findings) GROUP BY 1))
WHERE status = 'COMPLETE' AND json_valid(findings) AND json_type(findings) = 'array';
`, `
-- Each repository's latest lifecycle policy preview and its results, so
-- any replica runs and answers for them and a restart loses none.
CREATE TABLE lifecycle_previews (
	repository_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
	id            TEXT NOT NULL,
	policy        TEXT NOT NULL,
	status        TEXT NOT NULL,
	started_at    INTEGER NOT NULL,
	claimed_at    INTEGER NOT NULL DEFAULT 0,
	completed_at  INTEGER NOT NULL DEFAULT 0,
	expiring      INTEGER NOT NULL DEFAULT 0,
	transitioning INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lifecycle_previews_in_progress ON lifecycle_previews(started_at) WHERE status = 'IN_PROGRESS';
CREATE TABLE lifecycle_preview_results (
	repository_id        INTEGER NOT NULL REFERENCES lifecycle_previews(repository_id) ON DELETE CASCADE,
	position             INTEGER NOT NULL,
	digest               TEXT NOT NULL,
	tags                 TEXT NOT NULL DEFAULT '',
	pushed_at            INTEGER NOT NULL,
	storage_class        TEXT NOT NULL DEFAULT '',
	rule_priority        INTEGER NOT NULL,
	action               TEXT NOT NULL,
	target_storage_class TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (repository_id, position)
) WITHOUT ROWID;
`, `
-- The generation of the vulnerability data: berth vulndb import bumps it,
-- every scan compares it with the data it has loaded, and each scan
-- records the one it used.
CREATE TABLE vulndb (generation INTEGER NOT NULL);
INSERT INTO vulndb VALUES (0);
ALTER TABLE scans ADD COLUMN vulndb_generation INTEGER NOT NULL DEFAULT 0;
-- A walk of the blob store (berth gc --walk) asks by location whether the
-- index knows what it finds.
CREATE INDEX blobs_location ON blobs(location);
`, `
-- The web UI: sessions that any replica serves and a restart keeps, each
-- going with its access key; daily figures for the overview; a lifecycle
-- preview's what-if instant; and the orders a person pages images in.
CREATE TABLE sessions (
	id            TEXT PRIMARY KEY,
	user_name     TEXT NOT NULL,
	access_key_id TEXT NOT NULL REFERENCES access_keys(id) ON DELETE CASCADE,
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions(expires_at);
CREATE INDEX sessions_access_key ON sessions(access_key_id);
CREATE TABLE statistics (
	name  TEXT NOT NULL,
	day   INTEGER NOT NULL, -- days since 1970-01-01 (UTC)
	value INTEGER NOT NULL,
	PRIMARY KEY (name, day)
) WITHOUT ROWID;
ALTER TABLE lifecycle_previews ADD COLUMN evaluate_at INTEGER NOT NULL DEFAULT 0;
-- Each repository's bytes, kept by triggers as blobs are linked and
-- unlinked (a blob's size never changes), so that listing repositories
-- with their sizes reads one row each instead of every blob link.
ALTER TABLE repositories ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
UPDATE repositories SET bytes = (SELECT COALESCE(SUM(b.size), 0) FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
	WHERE rb.repository_id = repositories.id);
CREATE TRIGGER repository_bytes_linked AFTER INSERT ON repository_blobs BEGIN
	UPDATE repositories SET bytes = bytes + (SELECT size FROM blobs WHERE digest = NEW.digest) WHERE id = NEW.repository_id;
END;
CREATE TRIGGER repository_bytes_unlinked AFTER DELETE ON repository_blobs BEGIN
	UPDATE repositories SET bytes = bytes - (SELECT size FROM blobs WHERE digest = OLD.digest) WHERE id = OLD.repository_id;
END;
CREATE INDEX manifests_pushed ON manifests(repository_id, pushed_at, digest);
CREATE INDEX manifests_pulled ON manifests(repository_id, last_pulled_at, digest);
CREATE INDEX manifests_pushed_anywhere ON manifests(pushed_at);
`, `
-- The launcher's ECS state: each resource's JSON document, with the
-- columns it is looked up by beside it.
CREATE TABLE ecs_clusters (
	name       TEXT PRIMARY KEY,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	document   BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE ecs_task_definitions (
	family          TEXT NOT NULL,
	revision        INTEGER NOT NULL,
	status          TEXT NOT NULL,
	registered_at   INTEGER NOT NULL,
	deregistered_at INTEGER NOT NULL DEFAULT 0,
	document        BLOB NOT NULL,
	tags            TEXT NOT NULL DEFAULT '{}', -- JSON object
	PRIMARY KEY (family, revision)
) WITHOUT ROWID;
CREATE INDEX ecs_task_definitions_status ON ecs_task_definitions(status, family, revision);
CREATE TABLE ecs_tasks (
	id             TEXT PRIMARY KEY,
	cluster        TEXT NOT NULL,
	family         TEXT NOT NULL,
	revision       INTEGER NOT NULL,
	task_group     TEXT NOT NULL DEFAULT '',
	started_by     TEXT NOT NULL DEFAULT '',
	last_status    TEXT NOT NULL,
	desired_status TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	stopped_at     INTEGER NOT NULL DEFAULT 0,
	document       BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX ecs_tasks_cluster ON ecs_tasks(cluster, desired_status, id);
CREATE INDEX ecs_tasks_group ON ecs_tasks(cluster, task_group, id) WHERE task_group <> '';
CREATE INDEX ecs_tasks_stopped ON ecs_tasks(stopped_at) WHERE stopped_at <> 0;
`, `
-- The launcher's logs. Times are epoch milliseconds. Identifiers are
-- never reused (AUTOINCREMENT): events of a deleted group or stream stay
-- behind until ExpireLogEvents deletes them in batches, and must not
-- reappear in a new group or stream of the same name.
CREATE TABLE log_groups (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	name           TEXT NOT NULL UNIQUE,
	created_at     INTEGER NOT NULL,
	retention_days INTEGER NOT NULL DEFAULT 0,
	kms_key_id     TEXT NOT NULL DEFAULT '',
	class          TEXT NOT NULL DEFAULT '',
	tags           TEXT NOT NULL DEFAULT '{}' -- JSON object
);
CREATE TABLE log_streams (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	group_id         INTEGER NOT NULL REFERENCES log_groups(id) ON DELETE CASCADE,
	name             TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	first_event_at   INTEGER NOT NULL DEFAULT -1, -- -1: no event yet
	last_event_at    INTEGER NOT NULL DEFAULT -1,
	last_ingested_at INTEGER NOT NULL DEFAULT 0,
	next_seq         INTEGER NOT NULL DEFAULT 1,
	stored_bytes     INTEGER NOT NULL DEFAULT 0,
	UNIQUE (group_id, name)
);
CREATE INDEX log_streams_last_event ON log_streams(group_id, last_event_at, name);
-- Events are clustered by group and time with their messages inline, so
-- FilterLogEvents reads a group's time range as one sequential scan; a
-- stream's reads, trims and deletions go through log_events_stream.
CREATE TABLE log_events (
	group_id    INTEGER NOT NULL,
	ts          INTEGER NOT NULL,
	stream_id   INTEGER NOT NULL,
	seq         INTEGER NOT NULL,
	ingested_at INTEGER NOT NULL,
	message     TEXT NOT NULL,
	PRIMARY KEY (group_id, ts, stream_id, seq)
) WITHOUT ROWID;
CREATE INDEX log_events_stream ON log_events(stream_id, ts, seq);
-- Streams deleted (with their group or alone) whose events are still to
-- be deleted.
CREATE TABLE log_stream_deletions (stream_id INTEGER PRIMARY KEY);
`, `
-- The launcher's Lambda state: each function's JSON document (its
-- $LATEST configuration, tags, concurrency, URL), its published versions
-- and its aliases. last_version counts every version ever published, so
-- a deleted version's number is not reused.
CREATE TABLE lambda_functions (
	name         TEXT PRIMARY KEY,
	revision     INTEGER NOT NULL,
	last_version INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	document     BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE lambda_versions (
	function   TEXT NOT NULL REFERENCES lambda_functions(name) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	document   BLOB NOT NULL,
	PRIMARY KEY (function, version)
) WITHOUT ROWID;
CREATE TABLE lambda_aliases (
	function TEXT NOT NULL REFERENCES lambda_functions(name) ON DELETE CASCADE,
	name     TEXT NOT NULL,
	version  TEXT NOT NULL,
	document BLOB NOT NULL,
	PRIMARY KEY (function, name)
) WITHOUT ROWID;
`, `
-- ECS services: each one's JSON document (its deployments, events and
-- load balancer) by cluster and name.
CREATE TABLE ecs_services (
	cluster    TEXT NOT NULL,
	name       TEXT NOT NULL,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	document   BLOB NOT NULL,
	PRIMARY KEY (cluster, name)
) WITHOUT ROWID;
`, `
-- The replication queue: each pushed image to copy to each destination
-- registry, kept when done as its replication status.
CREATE TABLE replications (
	repository  TEXT NOT NULL,
	digest      TEXT NOT NULL,
	destination TEXT NOT NULL,
	status      TEXT NOT NULL,
	failure     TEXT NOT NULL DEFAULT '',
	attempts    INTEGER NOT NULL DEFAULT 0,
	due         INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (repository, digest, destination)
) WITHOUT ROWID;
CREATE INDEX replications_due ON replications(status, due);
`, `
-- The launcher's Batch state: compute environments and job queues, job
-- definition revisions and jobs, each as the launcher's JSON document.
CREATE TABLE batch_resources (
	kind     TEXT NOT NULL,
	name     TEXT NOT NULL,
	document BLOB NOT NULL,
	PRIMARY KEY (kind, name)
) WITHOUT ROWID;
CREATE TABLE batch_job_definitions (
	name     TEXT NOT NULL,
	revision INTEGER NOT NULL,
	document BLOB NOT NULL,
	PRIMARY KEY (name, revision)
) WITHOUT ROWID;
CREATE TABLE batch_jobs (
	id         TEXT PRIMARY KEY,
	status     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	document   BLOB NOT NULL
) WITHOUT ROWID;
`, `
-- Lambda's asynchronous invocations not done yet, so that they survive a
-- restart: each one's request and attempts as the launcher's document.
CREATE TABLE lambda_events (
	request_id TEXT PRIMARY KEY,
	queued_at  INTEGER NOT NULL,
	document   BLOB NOT NULL
) WITHOUT ROWID;
`}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	dsn := func(mode string) string {
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(ON)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_txlock", "immediate")
		q.Add("mode", mode)
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("rwc"))
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	write := &db{DB: w}
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("ro"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	read := &db{DB: r}
	return &Store{
		Store: sqlstore.New(sqlstore.Config{
			Read:  read,
			Write: write,
			// Queries built anew by each call skip the statement cache.
			Adhoc:   r,
			Tx:      write.tx,
			Dialect: dialect,
		}, opts...),
		write: write,
		read:  read,
	}, nil
}

func migrate(ctx context.Context, write *db) error {
	var version int
	if err := write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	for ; version < len(schema); version++ {
		err := write.tx(ctx, func(c sqlstore.Conn) error {
			// Straight to the *sql.Tx: a schema is many statements.
			t := c.(*tx).Tx
			if _, err := t.ExecContext(ctx, schema[version]); err != nil {
				return err
			}
			_, err := t.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrating schema to version %d: %w", version+1, err)
		}
	}
	return nil
}

// Ping implements metadata.Store.
func (s *Store) Ping(ctx context.Context) error {
	return s.read.PingContext(ctx)
}

// Close implements metadata.Store.
func (s *Store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// tx runs fn in a write transaction on d, the one write connection.
func (d *db) tx(ctx context.Context, fn func(sqlstore.Conn) error) error {
	t, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	wrapped := &tx{Tx: t, db: d}
	if err := fn(wrapped); err != nil {
		t.Rollback()
		return err
	}
	if err := t.Commit(); err != nil {
		return err
	}
	wrapped.prepareMissed(ctx)
	return nil
}

// containsGlob is the GLOB pattern of "contains s": s with GLOB's special
// characters each in a one-character class.
func containsGlob(s string) string {
	var b strings.Builder
	b.WriteByte('*')
	for _, r := range s {
		switch r {
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('*')
	return b.String()
}
