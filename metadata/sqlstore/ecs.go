package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// PutCluster implements metadata.Clusters.
func (s *Store) PutCluster(ctx context.Context, c metadata.Cluster) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO ecs_clusters(name, status, created_at, document) VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET status = excluded.status, created_at = excluded.created_at, document = excluded.document`,
		c.Name, c.Status, c.CreatedAt.UnixNano(), orEmpty(c.Document))
	return err
}

// Cluster implements metadata.Clusters.
func (s *Store) Cluster(ctx context.Context, name string) (metadata.Cluster, error) {
	c, err := scanCluster(s.read.QueryRowContext(ctx,
		`SELECT name, status, created_at, document FROM ecs_clusters WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return c, metadata.ErrClusterUnknown
	}
	return c, err
}

// Clusters implements metadata.Clusters.
func (s *Store) Clusters(ctx context.Context, status, after string, n int) ([]metadata.Cluster, error) {
	return queryAll(ctx, s.read, scanCluster, `SELECT name, status, created_at, document FROM ecs_clusters
		WHERE name > ? AND (? = '' OR status = ?) ORDER BY name LIMIT ?`, after, status, status, n)
}

func scanCluster(row interface{ Scan(...any) error }) (metadata.Cluster, error) {
	var c metadata.Cluster
	var created int64
	err := row.Scan(&c.Name, &c.Status, &created, &c.Document)
	c.CreatedAt = time.Unix(0, created)
	return c, err
}

const taskDefinitionColumns = `family, revision, status, registered_at, deregistered_at, document, tags`

func scanTaskDefinition(row interface{ Scan(...any) error }) (metadata.TaskDefinition, error) {
	var td metadata.TaskDefinition
	var registered, deregistered int64
	var tags string
	err := row.Scan(&td.Family, &td.Revision, &td.Status, &registered, &deregistered, &td.Document, &tags)
	if err != nil {
		return td, err
	}
	td.RegisteredAt, td.DeregisteredAt = time.Unix(0, registered), unixOrZero(deregistered)
	return td, json.Unmarshal([]byte(tags), &td.Tags)
}

// tagsJSON is tags as the tags column keeps them.
func tagsJSON(tags map[string]string) (string, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	b, err := json.Marshal(tags)
	return string(b), err
}

// RegisterTaskDefinition implements metadata.TaskDefinitions.
func (s *Store) RegisterTaskDefinition(ctx context.Context, td metadata.TaskDefinition) (metadata.TaskDefinition, error) {
	var out metadata.TaskDefinition
	tags, err := tagsJSON(td.Tags)
	if err != nil {
		return out, err
	}
	err = s.tx(ctx, func(tx Conn) error {
		var err error
		out, err = scanTaskDefinition(tx.QueryRowContext(ctx, `INSERT INTO ecs_task_definitions(family, revision, status, registered_at, document, tags)
			VALUES (?1, (SELECT COALESCE(MAX(revision), 0) + 1 FROM ecs_task_definitions WHERE family = ?1), 'ACTIVE', ?2, ?3, ?4)
			RETURNING `+taskDefinitionColumns, td.Family, td.RegisteredAt.UnixNano(), orEmpty(td.Document), tags))
		return err
	})
	return out, err
}

// TaskDefinition implements metadata.TaskDefinitions.
func (s *Store) TaskDefinition(ctx context.Context, family string, revision int) (metadata.TaskDefinition, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+taskDefinitionColumns+` FROM ecs_task_definitions
		WHERE family = ? AND revision = ?`, family, revision)
	if revision == 0 {
		row = s.read.QueryRowContext(ctx, `SELECT `+taskDefinitionColumns+` FROM ecs_task_definitions
			WHERE family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1`, family)
	}
	td, err := scanTaskDefinition(row)
	if errors.Is(err, sql.ErrNoRows) {
		return td, metadata.ErrTaskDefinitionUnknown
	}
	return td, err
}

// TaskDefinitions implements metadata.TaskDefinitions.
func (s *Store) TaskDefinitions(ctx context.Context, q metadata.TaskDefinitionQuery) ([]metadata.TaskDefinition, error) {
	var where []string
	var args []any
	if q.Family != "" {
		where, args = append(where, "family = ?"), append(args, q.Family)
	}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, q.Status)
	}
	order := "ASC"
	if q.AfterFamily != "" {
		cmp := ">"
		if q.Descending {
			cmp = "<"
		}
		where, args = append(where, "(family, revision) "+cmp+" (?, ?)"), append(args, q.AfterFamily, q.AfterRevision)
	}
	if q.Descending {
		order = "DESC"
	}
	query := `SELECT ` + taskDefinitionColumns + ` FROM ecs_task_definitions`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY family ` + order + `, revision ` + order + ` LIMIT ?`
	return queryAll(ctx, s.read, scanTaskDefinition, query, append(args, limit(q.Limit))...)
}

// DeregisterTaskDefinition implements metadata.TaskDefinitions.
func (s *Store) DeregisterTaskDefinition(ctx context.Context, family string, revision int, at time.Time) (metadata.TaskDefinition, error) {
	var out metadata.TaskDefinition
	err := s.tx(ctx, func(tx Conn) error {
		var err error
		out, err = scanTaskDefinition(tx.QueryRowContext(ctx, `UPDATE ecs_task_definitions
			SET status = 'INACTIVE', deregistered_at = CASE WHEN status = 'INACTIVE' THEN deregistered_at ELSE ? END
			WHERE family = ? AND revision = ? RETURNING `+taskDefinitionColumns, at.UnixNano(), family, revision))
		if errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrTaskDefinitionUnknown
		}
		return err
	})
	return out, err
}

// SetTaskDefinitionTags implements metadata.TaskDefinitions.
func (s *Store) SetTaskDefinitionTags(ctx context.Context, family string, revision int, tags map[string]string) error {
	text, err := tagsJSON(tags)
	if err != nil {
		return err
	}
	return changeOne(ctx, s.write, `UPDATE ecs_task_definitions SET tags = ? WHERE family = ? AND revision = ?`,
		metadata.ErrTaskDefinitionUnknown, text, family, revision)
}

const taskColumns = `id, cluster, family, revision, task_group, started_by, last_status, desired_status, created_at, stopped_at, document`

func scanTask(row interface{ Scan(...any) error }) (metadata.Task, error) {
	var t metadata.Task
	var created, stopped int64
	err := row.Scan(&t.ID, &t.Cluster, &t.Family, &t.Revision, &t.Group, &t.StartedBy,
		&t.LastStatus, &t.DesiredStatus, &created, &stopped, &t.Document)
	t.CreatedAt, t.StoppedAt = time.Unix(0, created), unixOrZero(stopped)
	return t, err
}

// PutTask implements metadata.Tasks.
func (s *Store) PutTask(ctx context.Context, t metadata.Task) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO ecs_tasks(`+taskColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET cluster = excluded.cluster, family = excluded.family, revision = excluded.revision,
			task_group = excluded.task_group, started_by = excluded.started_by, last_status = excluded.last_status,
			desired_status = excluded.desired_status, created_at = excluded.created_at, stopped_at = excluded.stopped_at,
			document = excluded.document`,
		t.ID, t.Cluster, t.Family, t.Revision, t.Group, t.StartedBy, t.LastStatus, t.DesiredStatus,
		t.CreatedAt.UnixNano(), nanosOrZero(t.StoppedAt), orEmpty(t.Document))
	return err
}

// Task implements metadata.Tasks.
func (s *Store) Task(ctx context.Context, id string) (metadata.Task, error) {
	t, err := scanTask(s.read.QueryRowContext(ctx, `SELECT `+taskColumns+` FROM ecs_tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, metadata.ErrTaskUnknown
	}
	return t, err
}

// Tasks implements metadata.Tasks.
func (s *Store) Tasks(ctx context.Context, q metadata.TaskQuery) ([]metadata.Task, error) {
	where, args := []string{"id > ?"}, []any{q.After}
	for _, f := range []struct{ column, value string }{
		{"cluster", q.Cluster}, {"family", q.Family}, {"task_group", q.Group}, {"started_by", q.StartedBy},
		{"desired_status", q.DesiredStatus}, {"last_status", q.LastStatus},
	} {
		if f.value != "" {
			where, args = append(where, f.column+" = ?"), append(args, f.value)
		}
	}
	if q.Live {
		where = append(where, "stopped_at = 0")
	}
	if !q.StoppedSince.IsZero() {
		where, args = append(where, "(stopped_at = 0 OR stopped_at >= ?)"), append(args, q.StoppedSince.UnixNano())
	}
	return queryAll(ctx, s.read, scanTask, `SELECT `+taskColumns+` FROM ecs_tasks WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, append(args, limit(q.Limit))...)
}

// DeleteStoppedTasks implements metadata.Tasks.
func (s *Store) DeleteStoppedTasks(ctx context.Context, before time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM ecs_tasks WHERE stopped_at <> 0 AND stopped_at < ?`, before.UnixNano())
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// limit is a LIMIT for n, where n <= 0 means none.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// orEmpty keeps a NOT NULL document column from receiving NULL.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
