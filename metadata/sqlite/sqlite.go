// Package sqlite is the embedded metadata index: one SQLite database file
// (pure Go, so the binary stays static) in WAL mode. Writes go through a
// single connection, which is how SQLite serialises them anyway, so no
// writer ever waits on SQLITE_BUSY; reads use a pool and never block writes.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"time"

	"github.com/opencontainers/go-digest"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/berth-dev/berth/metadata"
)

// Store is a metadata.Store in a SQLite database file.
type Store struct {
	write *db // one connection: all writes
	read  *db // a pool: all reads
	clock func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the times it records (when a repository,
// blob or manifest was created or pushed, when an upload was last written)
// from now instead of time.Now. Lifecycle rules and garbage collection
// compare those times with their own clock, so tests give both the same.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.clock = now } }

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
	s := &Store{write: write, clock: time.Now}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
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
	s.read = &db{DB: r}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	for ; version < len(schema); version++ {
		err := s.tx(ctx, func(t *tx) error {
			// Straight to the *sql.Tx: a schema is many statements.
			if _, err := t.Tx.ExecContext(ctx, schema[version]); err != nil {
				return err
			}
			_, err := t.Tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1))
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

// tx runs fn in a write transaction.
func (s *Store) tx(ctx context.Context, fn func(*tx) error) error {
	t, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	wrapped := &tx{Tx: t, db: s.write}
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

// now is the store's clock in Unix nanoseconds, as times are stored.
func (s *Store) now() int64 { return s.clock().UnixNano() }

// repositoryID returns the id of repository name, creating it.
func (s *Store) repositoryID(ctx context.Context, tx *tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO repositories(name, created_at) VALUES (?, ?)
		 ON CONFLICT(name) DO UPDATE SET name = excluded.name
		 RETURNING id`, name, s.now()).Scan(&id)
	return id, err
}

// Blob implements metadata.Blobs.
func (s *Store) Blob(ctx context.Context, repo string, dgst digest.Digest) (metadata.Blob, error) {
	b := metadata.Blob{Digest: dgst}
	err := s.read.QueryRowContext(ctx,
		`SELECT b.size, b.location, b.marked_at <> 0 FROM blobs b
		 JOIN repository_blobs rb ON rb.digest = b.digest
		 JOIN repositories r ON r.id = rb.repository_id
		 WHERE r.name = ? AND b.digest = ?`, repo, dgst.String()).Scan(&b.Size, &b.Location, &b.Marked)
	if errors.Is(err, sql.ErrNoRows) {
		return b, metadata.ErrBlobUnknown
	}
	return b, err
}

// AnyBlob implements metadata.Blobs.
func (s *Store) AnyBlob(ctx context.Context, dgst digest.Digest) (metadata.Blob, string, error) {
	b := metadata.Blob{Digest: dgst}
	var repo string
	err := s.read.QueryRowContext(ctx,
		`SELECT b.size, b.location, b.marked_at <> 0, r.name FROM blobs b
		 JOIN repository_blobs rb ON rb.digest = b.digest
		 JOIN repositories r ON r.id = rb.repository_id
		 WHERE b.digest = ? LIMIT 1`, dgst.String()).Scan(&b.Size, &b.Location, &b.Marked, &repo)
	if errors.Is(err, sql.ErrNoRows) {
		return b, "", metadata.ErrBlobUnknown
	}
	return b, repo, err
}

// PutBlob implements metadata.Blobs.
func (s *Store) PutBlob(ctx context.Context, repo string, b metadata.Blob) (metadata.Blob, error) {
	recorded := metadata.Blob{Digest: b.Digest}
	err := s.tx(ctx, func(tx *tx) error {
		id, err := s.repositoryID(ctx, tx, repo)
		if err != nil {
			return err
		}
		t := s.now()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO blobs(digest, size, location, created_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT(digest) DO UPDATE SET marked_at = 0`, b.Digest.String(), b.Size, b.Location, t); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT size, location FROM blobs WHERE digest = ?`,
			b.Digest.String()).Scan(&recorded.Size, &recorded.Location); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO repository_blobs(repository_id, digest, created_at) VALUES (?, ?, ?)
			 ON CONFLICT DO NOTHING`, id, b.Digest.String(), t)
		return err
	})
	return recorded, err
}

// UnlinkBlob implements metadata.Blobs.
func (s *Store) UnlinkBlob(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.deleteOne(ctx, `DELETE FROM repository_blobs WHERE digest = ?
		 AND repository_id = (SELECT id FROM repositories WHERE name = ?)`, metadata.ErrBlobUnknown, dgst.String(), repo)
}

// Manifest implements metadata.Manifests.
func (s *Store) Manifest(ctx context.Context, repo, reference string) (metadata.Manifest, error) {
	m := metadata.Manifest{Repository: repo}
	query := `SELECT m.digest, m.media_type, m.artifact_type, m.content, m.subject, m.pushed_at, m.last_pulled_at, m.storage_class
		FROM manifests m JOIN repositories r ON r.id = m.repository_id
		WHERE r.name = ? AND m.digest = ?`
	if _, err := digest.Parse(reference); err != nil {
		query = `SELECT m.digest, m.media_type, m.artifact_type, m.content, m.subject, m.pushed_at, m.last_pulled_at, m.storage_class
		FROM tags t JOIN repositories r ON r.id = t.repository_id
		JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.digest
		WHERE r.name = ? AND t.name = ?`
	}
	var pushed, pulled int64
	err := s.read.QueryRowContext(ctx, query, repo, reference).Scan(
		&m.Digest, &m.MediaType, &m.ArtifactType, &m.Content, &m.Subject, &pushed, &pulled, &m.StorageClass)
	if errors.Is(err, sql.ErrNoRows) {
		return m, metadata.ErrManifestUnknown
	}
	m.PushedAt = time.Unix(0, pushed)
	if pulled != 0 {
		m.LastPulledAt = time.Unix(0, pulled)
	}
	return m, err
}

// PutManifest implements metadata.Manifests.
func (s *Store) PutManifest(ctx context.Context, m metadata.Manifest, tags []string) error {
	annotations := ""
	if len(m.Annotations) > 0 {
		b, err := json.Marshal(m.Annotations)
		if err != nil {
			return err
		}
		annotations = string(b)
	}
	return s.tx(ctx, func(tx *tx) error {
		id, err := s.repositoryID(ctx, tx, m.Repository)
		if err != nil {
			return err
		}
		var missing []digest.Digest
		checked := map[metadata.Reference]bool{} // images may repeat a layer
		for _, ref := range m.References {
			if checked[ref] {
				continue
			}
			checked[ref] = true
			table := "repository_blobs"
			if ref.Kind == metadata.RefManifest {
				table = "manifests"
			}
			var one int
			err := tx.QueryRowContext(ctx,
				`SELECT 1 FROM `+table+` WHERE repository_id = ? AND digest = ?`, id, ref.Digest.String()).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				missing = append(missing, ref.Digest)
			} else if err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			return &metadata.MissingReferencesError{Digests: missing}
		}
		t := s.now()
		res, err := tx.ExecContext(ctx,
			`INSERT INTO manifests(repository_id, digest, media_type, artifact_type, size, content, subject, annotations, pushed_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			id, m.Digest.String(), m.MediaType, m.ArtifactType, len(m.Content), m.Content,
			m.Subject.String(), annotations, s.orNow(m.PushedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			for _, ref := range m.References {
				if _, err := tx.ExecContext(ctx,
					`INSERT INTO manifest_references(repository_id, manifest_digest, digest, kind)
					 VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
					id, m.Digest.String(), ref.Digest.String(), int(ref.Kind)); err != nil {
					return err
				}
			}
		}
		for _, tag := range tags {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO tags(repository_id, name, digest, updated_at) VALUES (?, ?, ?, ?)
				 ON CONFLICT(repository_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
				id, tag, m.Digest.String(), t); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteManifest implements metadata.Manifests.
func (s *Store) DeleteManifest(ctx context.Context, repo string, dgst digest.Digest) error {
	return s.deleteOne(ctx, `DELETE FROM manifests WHERE digest = ?
		 AND repository_id = (SELECT id FROM repositories WHERE name = ?)`, metadata.ErrManifestUnknown, dgst.String(), repo)
}

// DeleteTag implements metadata.Manifests.
func (s *Store) DeleteTag(ctx context.Context, repo, tag string) error {
	return s.deleteOne(ctx, `DELETE FROM tags WHERE name = ?
		 AND repository_id = (SELECT id FROM repositories WHERE name = ?)`, metadata.ErrTagUnknown, tag, repo)
}

// deleteOne runs a DELETE (or UPDATE) and returns none when it changed
// no row.
func (s *Store) deleteOne(ctx context.Context, query string, none error, args ...any) error {
	res, err := s.write.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return none
	}
	return nil
}

// Tags implements metadata.Manifests.
func (s *Store) Tags(ctx context.Context, repo, last string, n int) ([]string, error) {
	id, _, err := lookupRepository(ctx, s.read, repo)
	if err != nil {
		return nil, err
	}
	return s.names(ctx, `SELECT name FROM tags WHERE repository_id = ? AND name > ? ORDER BY name LIMIT ?`, id, last, n)
}

// Repositories implements metadata.Manifests.
func (s *Store) Repositories(ctx context.Context, last string, n int) ([]string, error) {
	return s.names(ctx, `SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?`, last, n)
}

func (s *Store) names(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

// Referrers implements metadata.Manifests.
func (s *Store) Referrers(ctx context.Context, repo string, dgst digest.Digest, artifactType string) ([]metadata.Descriptor, error) {
	query := `SELECT m.media_type, m.digest, m.size, m.artifact_type, m.annotations
		FROM manifests m JOIN repositories r ON r.id = m.repository_id
		WHERE r.name = ? AND m.subject = ?`
	args := []any{repo, dgst.String()}
	if artifactType != "" {
		query += ` AND m.artifact_type = ?`
		args = append(args, artifactType)
	}
	rows, err := s.read.QueryContext(ctx, query+` ORDER BY m.pushed_at, m.digest`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	descs := []metadata.Descriptor{}
	for rows.Next() {
		var d metadata.Descriptor
		var annotations string
		if err := rows.Scan(&d.MediaType, &d.Digest, &d.Size, &d.ArtifactType, &annotations); err != nil {
			return nil, err
		}
		if annotations != "" {
			if err := json.Unmarshal([]byte(annotations), &d.Annotations); err != nil {
				return nil, err
			}
		}
		descs = append(descs, d)
	}
	return descs, rows.Err()
}

// RecordPulls implements metadata.Manifests.
func (s *Store) RecordPulls(ctx context.Context, pulls []metadata.Pull) error {
	return s.tx(ctx, func(tx *tx) error {
		for _, p := range pulls {
			if _, err := tx.ExecContext(ctx,
				`UPDATE manifests SET last_pulled_at = max(last_pulled_at, ?)
				 WHERE digest = ? AND repository_id = (SELECT id FROM repositories WHERE name = ?)`,
				p.At.UnixNano(), p.Digest.String(), p.Repository); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateUpload implements metadata.Uploads.
func (s *Store) CreateUpload(ctx context.Context, u metadata.Upload) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO uploads(id, repository, size, algorithm, hash_state, storage_state, started_at, updated_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Repository, u.Size, string(u.Algorithm), u.HashState, u.StorageState, u.StartedAt.UnixNano(), u.UpdatedAt.UnixNano())
	return err
}

// Upload implements metadata.Uploads.
func (s *Store) Upload(ctx context.Context, id string) (metadata.Upload, error) {
	u := metadata.Upload{ID: id}
	var alg string
	var started, updated int64
	err := s.read.QueryRowContext(ctx,
		`SELECT repository, size, algorithm, hash_state, storage_state, started_at, updated_at FROM uploads WHERE id = ?`, id).Scan(
		&u.Repository, &u.Size, &alg, &u.HashState, &u.StorageState, &started, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return u, metadata.ErrUploadUnknown
	}
	u.Algorithm = digest.Algorithm(alg)
	u.StartedAt, u.UpdatedAt = time.Unix(0, started), time.Unix(0, updated)
	return u, err
}

// UpdateUpload implements metadata.Uploads.
func (s *Store) UpdateUpload(ctx context.Context, u metadata.Upload, fromSize int64) error {
	res, err := s.write.ExecContext(ctx,
		`UPDATE uploads SET size = ?, algorithm = ?, hash_state = ?, storage_state = ?, updated_at = ? WHERE id = ? AND size = ?`,
		u.Size, string(u.Algorithm), u.HashState, u.StorageState, s.now(), u.ID, fromSize)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Upload(ctx, u.ID); err != nil {
		return err
	}
	return metadata.ErrUploadConflict
}

// DeleteUpload implements metadata.Uploads.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM uploads WHERE id = ?`, id)
	return err
}
