package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// logGroupColumns are what scanLogGroup reads, from log_groups g.
const logGroupColumns = `g.name, g.created_at, g.retention_days, g.kms_key_id, g.class, g.tags,
	(SELECT coalesce(sum(s.stored_bytes), 0) FROM log_streams s WHERE s.group_id = g.id)`

func scanLogGroup(row interface{ Scan(...any) error }) (metadata.LogGroup, error) {
	var g metadata.LogGroup
	var created int64
	var tags string
	if err := row.Scan(&g.Name, &created, &g.RetentionDays, &g.KMSKeyID, &g.Class, &tags, &g.StoredBytes); err != nil {
		return g, err
	}
	g.CreatedAt = time.UnixMilli(created)
	if err := json.Unmarshal([]byte(tags), &g.Tags); err != nil {
		return g, err
	}
	if len(g.Tags) == 0 {
		g.Tags = nil
	}
	return g, nil
}

func encodeTags(tags map[string]string) (string, error) {
	if len(tags) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(tags)
	return string(b), err
}

// CreateLogGroup implements metadata.Logs.
func (s *Store) CreateLogGroup(ctx context.Context, g metadata.LogGroup) error {
	tags, err := encodeTags(g.Tags)
	if err != nil {
		return err
	}
	return changeOne(ctx, s.write,
		`INSERT INTO log_groups(name, created_at, retention_days, kms_key_id, class, tags) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT(name) DO NOTHING`, metadata.ErrLogGroupExists,
		g.Name, g.CreatedAt.UnixMilli(), g.RetentionDays, g.KMSKeyID, g.Class, tags)
}

// LogGroup implements metadata.Logs.
func (s *Store) LogGroup(ctx context.Context, name string) (metadata.LogGroup, error) {
	g, err := scanLogGroup(s.read.QueryRowContext(ctx, `SELECT `+logGroupColumns+` FROM log_groups g WHERE g.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return g, metadata.ErrLogGroupUnknown
	}
	return g, err
}

// LogGroups implements metadata.Logs.
func (s *Store) LogGroups(ctx context.Context, q metadata.LogGroupQuery) ([]metadata.LogGroup, error) {
	query := `SELECT ` + logGroupColumns + ` FROM log_groups g WHERE g.name > ?`
	args := []any{q.After}
	if q.Prefix != "" {
		query, args = prefixRange(query, args, "g.name", q.Prefix)
	}
	if q.Contains != "" {
		query += ` AND ` + s.d.Strpos + `(g.name, ?) > 0`
		args = append(args, q.Contains)
	}
	if q.Class != "" {
		query += ` AND (g.class = ? OR (g.class = '' AND ? = 'STANDARD'))`
		args = append(args, q.Class, q.Class)
	}
	// The query's shape varies with the filters: not worth a cached statement each.
	return queryAll(ctx, s.adhoc, scanLogGroup, query+` ORDER BY g.name LIMIT ?`, append(args, q.Limit)...)
}

// prefixRange adds "column starts with prefix" to query as a range on
// the byte order, which an index on column serves (LIKE would not: it
// folds case and has wildcards to escape).
func prefixRange(query string, args []any, column, prefix string) (string, []any) {
	query += ` AND ` + column + ` >= ?`
	args = append(args, prefix)
	if end, ok := prefixEnd(prefix); ok {
		query += ` AND ` + column + ` < ?`
		args = append(args, end)
	}
	return query, args
}

// prefixEnd returns the least string greater than every string that starts
// with prefix, in byte order; false if there is none (prefix is all 0xff).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// UpdateLogGroup implements metadata.Logs.
func (s *Store) UpdateLogGroup(ctx context.Context, name string, change func(*metadata.LogGroup) error) (metadata.LogGroup, error) {
	var g metadata.LogGroup
	err := s.tx(ctx, func(tx Conn) error {
		var err error
		g, err = scanLogGroup(tx.QueryRowContext(ctx, `SELECT `+logGroupColumns+` FROM log_groups g WHERE g.name = ?`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return metadata.ErrLogGroupUnknown
		}
		if err != nil {
			return err
		}
		if err := change(&g); err != nil {
			return err
		}
		g.Name = name
		tags, err := encodeTags(g.Tags)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE log_groups SET retention_days = ?, kms_key_id = ?, class = ?, tags = ? WHERE name = ?`,
			g.RetentionDays, g.KMSKeyID, g.Class, tags, name)
		return err
	})
	return g, err
}

// DeleteLogGroup implements metadata.Logs. Its streams go with it (ON
// DELETE CASCADE) after they are queued in log_stream_deletions.
func (s *Store) DeleteLogGroup(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx Conn) error {
		id, err := logGroupID(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_stream_deletions(stream_id) SELECT id FROM log_streams WHERE group_id = ? ON CONFLICT DO NOTHING`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM log_groups WHERE id = ?`, id)
		return err
	})
}

// logGroupID returns the id of group name; ErrLogGroupUnknown if none.
func logGroupID(ctx context.Context, q rowQuerier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM log_groups WHERE name = ?`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, metadata.ErrLogGroupUnknown
	}
	return id, err
}

// logStreamID returns the ids of a stream and its group;
// ErrLogGroupUnknown or ErrLogStreamUnknown if either does not exist.
func logStreamID(ctx context.Context, q rowQuerier, group, name string) (streamID, groupID int64, err error) {
	var sid sql.NullInt64
	err = q.QueryRowContext(ctx,
		`SELECT g.id, s.id FROM log_groups g LEFT JOIN log_streams s ON s.group_id = g.id AND s.name = ? WHERE g.name = ?`,
		name, group).Scan(&groupID, &sid)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, 0, metadata.ErrLogGroupUnknown
	case err != nil:
		return 0, 0, err
	case !sid.Valid:
		return 0, 0, metadata.ErrLogStreamUnknown
	}
	return sid.Int64, groupID, nil
}

// CreateLogStream implements metadata.Logs.
func (s *Store) CreateLogStream(ctx context.Context, st metadata.LogStream) error {
	return s.tx(ctx, func(tx Conn) error {
		id, err := logGroupID(ctx, tx, st.Group)
		if err != nil {
			return err
		}
		return changeOne(ctx, tx, `INSERT INTO log_streams(group_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, metadata.ErrLogStreamExists,
			id, st.Name, st.CreatedAt.UnixMilli())
	})
}

func scanLogStream(row interface{ Scan(...any) error }) (metadata.LogStream, error) {
	var st metadata.LogStream
	var created int64
	err := row.Scan(&st.Name, &created, &st.FirstEventTime, &st.LastEventTime, &st.LastIngestionTime, &st.StoredBytes)
	st.CreatedAt = time.UnixMilli(created)
	st.FirstEventTime, st.LastEventTime = max(st.FirstEventTime, 0), max(st.LastEventTime, 0)
	return st, err
}

// LogStreams implements metadata.Logs.
func (s *Store) LogStreams(ctx context.Context, q metadata.LogStreamQuery) ([]metadata.LogStream, error) {
	id, err := logGroupID(ctx, s.read, q.Group)
	if err != nil {
		return nil, err
	}
	query := `SELECT name, created_at, first_event_at, last_event_at, last_ingested_at, stored_bytes FROM log_streams WHERE group_id = ?`
	args := []any{id}
	if q.Prefix != "" {
		query, args = prefixRange(query, args, "name", q.Prefix)
	}
	order, cmp := "ASC", ">"
	if q.Descending {
		order, cmp = "DESC", "<"
	}
	if q.ByLastEventTime {
		if q.After != nil {
			// Streams without events sort as -1, as stored.
			last := q.After.LastEventTime
			if q.After.LastIngestionTime == 0 {
				last = -1
			}
			query += ` AND (last_event_at, name) ` + cmp + ` (?, ?)`
			args = append(args, last, q.After.Name)
		}
		query += ` ORDER BY last_event_at ` + order + `, name ` + order
	} else {
		if q.After != nil {
			query += ` AND name ` + cmp + ` ?`
			args = append(args, q.After.Name)
		}
		query += ` ORDER BY name ` + order
	}
	streams, err := queryAll(ctx, s.adhoc, scanLogStream, query+` LIMIT ?`, append(args, q.Limit)...)
	for i := range streams {
		streams[i].Group = q.Group
	}
	return streams, err
}

// DeleteLogStream implements metadata.Logs.
func (s *Store) DeleteLogStream(ctx context.Context, group, name string) error {
	return s.tx(ctx, func(tx Conn) error {
		id, _, err := logStreamID(ctx, tx, group, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_stream_deletions(stream_id) VALUES (?) ON CONFLICT DO NOTHING`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM log_streams WHERE id = ?`, id)
		return err
	})
}

// AppendLogEvents implements metadata.Logs.
func (s *Store) AppendLogEvents(ctx context.Context, group, stream string, events []metadata.LogEvent, maxStreamBytes int64) error {
	if len(events) == 0 {
		return nil
	}
	first, last, ingested, size := events[0].Time, events[0].Time, int64(0), int64(0)
	for _, e := range events {
		first, last, ingested = min(first, e.Time), max(last, e.Time), max(ingested, e.Ingested)
		size += int64(len(e.Message)) + metadata.LogEventOverhead
	}
	return s.tx(ctx, func(tx Conn) error {
		streamID, groupID, err := logStreamID(ctx, tx, group, stream)
		if err != nil {
			return err
		}
		var seq, stored int64
		err = tx.QueryRowContext(ctx,
			`UPDATE log_streams SET next_seq = next_seq + ?, stored_bytes = stored_bytes + ?,
			   first_event_at = CASE WHEN first_event_at < 0 THEN ? ELSE `+s.d.Least+`(first_event_at, ?) END,
			   last_event_at = `+s.d.Greatest+`(last_event_at, ?), last_ingested_at = `+s.d.Greatest+`(last_ingested_at, ?)
			 WHERE id = ? RETURNING next_seq - ?, stored_bytes`,
			len(events), size, first, first, last, ingested, streamID, len(events)).Scan(&seq, &stored)
		if err != nil {
			return err
		}
		for i, e := range events {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO log_events(group_id, ts, stream_id, seq, ingested_at, message) VALUES (?, ?, ?, ?, ?, ?)`,
				groupID, e.Time, streamID, seq+int64(i), e.Ingested, e.Message); err != nil {
				return err
			}
		}
		if maxStreamBytes > 0 && stored > maxStreamBytes {
			return s.trimLogStream(ctx, tx, streamID, stored-maxStreamBytes)
		}
		return nil
	})
}

// trimLogStream drops a stream's oldest events until at least excess
// bytes are freed.
func (s *Store) trimLogStream(ctx context.Context, tx Conn, streamID, excess int64) error {
	rows, err := tx.QueryContext(ctx,
		`SELECT ts, seq, octet_length(message) FROM log_events WHERE stream_id = ? ORDER BY ts, seq`, streamID)
	if err != nil {
		return err
	}
	var edge metadata.LogPosition
	var freed, n int64
	for freed < excess && rows.Next() {
		var size int64
		if err := rows.Scan(&edge.Time, &edge.Seq, &size); err != nil {
			rows.Close()
			return err
		}
		freed += size + metadata.LogEventOverhead
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil || n == 0 {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM log_events WHERE stream_id = ? AND (ts, seq) <= (?, ?)`, streamID, edge.Time, edge.Seq); err != nil {
		return err
	}
	return s.shrinkLogStream(ctx, tx, streamID, freed)
}

// shrinkLogStream records that freed bytes of a stream's oldest events
// were deleted.
func (s *Store) shrinkLogStream(ctx context.Context, tx Conn, streamID, freed int64) error {
	_, err := tx.ExecContext(ctx,
		`UPDATE log_streams SET stored_bytes = `+s.d.Greatest+`(stored_bytes - ?, 0),
		   first_event_at = coalesce((SELECT ts FROM log_events WHERE stream_id = ? ORDER BY ts, seq LIMIT 1), first_event_at)
		 WHERE id = ?`, freed, streamID, streamID)
	return err
}

// eventPage reads events until limit or maxBytes is reached. It reports
// whether it stopped before the rows ran out.
func eventPage(rows *sql.Rows, limit int, maxBytes int64, scan func(*metadata.LogEvent) error) ([]metadata.LogEvent, bool, error) {
	defer rows.Close()
	events := []metadata.LogEvent{}
	var size int64
	for rows.Next() {
		if len(events) == limit {
			return events, true, nil
		}
		var e metadata.LogEvent
		if err := scan(&e); err != nil {
			return nil, false, err
		}
		size += int64(len(e.Message)) + metadata.LogEventOverhead
		if len(events) > 0 && maxBytes > 0 && size > maxBytes {
			return events, true, nil
		}
		events = append(events, e)
	}
	return events, false, rows.Err()
}

// endOrMax is the End of a query as a bound: 0 is none.
func endOrMax(end int64) int64 {
	if end <= 0 {
		return metadata.LogTail.Time
	}
	return end
}

// ReadLogEvents implements metadata.Logs.
func (s *Store) ReadLogEvents(ctx context.Context, q metadata.LogRead) ([]metadata.LogEvent, error) {
	streamID, _, err := logStreamID(ctx, s.read, q.Group, q.Stream)
	if err != nil {
		return nil, err
	}
	query := `SELECT ts, seq, ingested_at, message FROM log_events
		WHERE stream_id = ? AND (ts, seq) > (?, ?) AND ts >= ? AND ts < ? ORDER BY ts, seq LIMIT ?`
	if q.Backward {
		query = `SELECT ts, seq, ingested_at, message FROM log_events
		WHERE stream_id = ? AND (ts, seq) <= (?, ?) AND ts >= ? AND ts < ? ORDER BY ts DESC, seq DESC LIMIT ?`
	}
	// Start the index search at the time range when it lies past From;
	// the row-value bound is the one SQLite seeks to.
	from, end := q.From, endOrMax(q.End)
	if !q.Backward && from.Time < q.Start {
		from = metadata.LogPosition{Time: q.Start - 1, Seq: metadata.LogTail.Seq}
	}
	if q.Backward && from.Time >= end {
		from = metadata.LogPosition{Time: end - 1, Seq: metadata.LogTail.Seq}
	}
	rows, err := s.read.QueryContext(ctx, query, streamID, from.Time, from.Seq, q.Start, end, q.Limit+1)
	if err != nil {
		return nil, err
	}
	events, _, err := eventPage(rows, q.Limit, q.MaxBytes, func(e *metadata.LogEvent) error {
		err := rows.Scan(&e.Time, &e.Position.Seq, &e.Ingested, &e.Message)
		e.Position.Time = e.Time
		return err
	})
	if q.Backward {
		slices.Reverse(events)
	}
	return events, err
}

// FilterLogEvents implements metadata.Logs. The terms become conditions
// (Dialect.Contains), which the engine evaluates while it scans, so
// events that do not match never leave it. A search is cut into time slices scanned
// at once on several read connections: a term no event holds makes the
// search read the whole group, which takes one core about 150 ns an event.
func (s *Store) FilterLogEvents(ctx context.Context, q metadata.LogFilter) ([]metadata.LogEvent, bool, error) {
	groupID, err := logGroupID(ctx, s.read, q.Group)
	if err != nil {
		return nil, false, err
	}
	var b strings.Builder
	b.WriteString(`SELECT e.ts, e.stream_id, e.seq, e.ingested_at, e.message, (SELECT name FROM log_streams WHERE id = e.stream_id)
		FROM log_events e WHERE e.group_id = ? AND (e.ts, e.stream_id, e.seq) > (?, ?, ?)`)
	after := q.After
	if after.Time < q.Start {
		after = metadata.LogPosition{Time: q.Start - 1, Stream: metadata.LogTail.Stream, Seq: metadata.LogTail.Seq}
	}
	// The arguments after the group's id: a slice's row-value lower
	// bound comes first, its end and the limit last (filterSlices).
	var args []any
	// Events of deleted streams wait for ExpireLogEvents; while any do,
	// they are left out (the check costs a probe per event, so only then).
	var pending int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM log_stream_deletions LIMIT 1) d`).Scan(&pending); err != nil {
		return nil, false, err
	}
	if pending > 0 {
		b.WriteString(` AND e.stream_id NOT IN (SELECT stream_id FROM log_stream_deletions)`)
	}
	if len(q.Streams) > 0 {
		ids, err := queryAll(ctx, s.adhoc, func(row interface{ Scan(...any) error }) (any, error) {
			var id int64
			return id, row.Scan(&id)
		}, `SELECT id FROM log_streams WHERE group_id = ? AND name IN (`+placeholders(len(q.Streams))+`)`, append([]any{groupID}, stringArgs(q.Streams)...)...)
		if err != nil {
			return nil, false, err
		}
		if len(ids) == 0 {
			return []metadata.LogEvent{}, false, nil
		}
		b.WriteString(` AND e.stream_id IN (` + placeholders(len(ids)) + `)`)
		args = append(args, ids...)
	}
	if q.StreamPrefix != "" {
		sub, subArgs := prefixRange(`SELECT id FROM log_streams WHERE group_id = ?`, []any{groupID}, "name", q.StreamPrefix)
		b.WriteString(` AND e.stream_id IN (` + sub + `)`)
		args = append(args, subArgs...)
	}
	for _, t := range q.Match.All {
		b.WriteString(` AND ` + s.contains("e.message"))
		args = append(args, s.d.ContainsArg(t))
	}
	if len(q.Match.Any) > 0 {
		b.WriteString(` AND (`)
		for i, t := range q.Match.Any {
			if i > 0 {
				b.WriteString(` OR `)
			}
			b.WriteString(s.contains("e.message"))
			args = append(args, s.d.ContainsArg(t))
		}
		b.WriteString(`)`)
	}
	for _, t := range q.Match.None {
		b.WriteString(` AND NOT ` + s.contains("e.message"))
		args = append(args, s.d.ContainsArg(t))
	}
	b.WriteString(` AND e.ts < ? ORDER BY e.ts, e.stream_id, e.seq LIMIT ?`)

	// The slices span the group's events from the oldest after the start
	// to the newest.
	var oldest, newest sql.NullInt64
	err = s.read.QueryRowContext(ctx, `SELECT
		(SELECT ts FROM log_events WHERE group_id = ?1 AND (ts, stream_id, seq) > (?2, ?3, ?4) ORDER BY ts, stream_id, seq LIMIT 1),
		(SELECT ts FROM log_events WHERE group_id = ?1 ORDER BY ts DESC LIMIT 1)`,
		groupID, after.Time, after.Stream, after.Seq).Scan(&oldest, &newest)
	if err != nil {
		return nil, false, err
	}
	lo, hi := oldest.Int64, min(endOrMax(q.End), newest.Int64+1)
	if !oldest.Valid || hi <= lo {
		return []metadata.LogEvent{}, false, nil
	}
	// Without terms or streams to select by, every event matches and the
	// first slice fills the page: more slices would only duplicate work.
	slices := 1
	if len(q.Match.All)+len(q.Match.Any)+len(q.Match.None)+len(q.Streams) > 0 || q.StreamPrefix != "" {
		slices = min(runtime.GOMAXPROCS(0), 4)
	}
	return s.filterSlices(ctx, b.String(), groupID, after, args, timeSlices(lo, hi, slices), q.Limit, q.MaxBytes)
}

// timeSlices cuts [lo, hi) into up to n slices of equal length and
// returns their bounds: slice i is [bounds[i], bounds[i+1]).
func timeSlices(lo, hi int64, n int) []int64 {
	n = int(min(int64(n), hi-lo))
	bounds := []int64{lo}
	for i := 1; i < n; i++ {
		bounds = append(bounds, lo+(hi-lo)/int64(n)*int64(i))
	}
	return append(bounds, hi)
}

// slicePage is one time slice's page of a search.
type slicePage struct {
	events []metadata.LogEvent
	more   bool
	err    error
	done   chan struct{}
}

// sliceStagger is the head start of a search's first slice: a common
// term fills the page from it alone, so the others start only when it
// has not done so by then.
const sliceStagger = 10 * time.Millisecond

// filterSlices runs query over each time slice, the first alone for a
// moment and then the others at once, and joins the slices' pages in time
// order into one page. Slices past a full page are cancelled.
func (s *Store) filterSlices(ctx context.Context, query string, groupID int64, after metadata.LogPosition, args []any, bounds []int64, limit int, maxBytes int64) ([]metadata.LogEvent, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	pages := make([]slicePage, len(bounds)-1)
	started := 0
	start := func(upTo int) {
		for ; started <= upTo; started++ {
			p, i := &pages[started], started
			p.done = make(chan struct{})
			wg.Go(func() {
				defer close(p.done)
				// A slice's lower bound is a row value, the one bound SQLite
				// seeks to: after for the first slice, its start for the rest.
				from := after
				if i > 0 {
					from = metadata.LogPosition{Time: bounds[i] - 1, Stream: metadata.LogTail.Stream, Seq: metadata.LogTail.Seq}
				}
				sliceArgs := append([]any{groupID, from.Time, from.Stream, from.Seq}, args...)
				// Filters give the query many shapes: run it unprepared
				// rather than cache a statement per shape.
				rows, err := s.adhoc.QueryContext(ctx, query, append(sliceArgs, bounds[i+1], limit+1)...)
				if err != nil {
					p.err = err
					return
				}
				p.events, p.more, p.err = eventPage(rows, limit, maxBytes, func(e *metadata.LogEvent) error {
					err := rows.Scan(&e.Time, &e.Position.Stream, &e.Position.Seq, &e.Ingested, &e.Message, &e.Stream)
					e.Position.Time = e.Time
					return err
				})
			})
		}
	}
	start(0)
	if len(pages) > 1 {
		select {
		case <-pages[0].done:
			if !pages[0].more {
				start(len(pages) - 1)
			}
		case <-time.After(sliceStagger):
			start(len(pages) - 1)
		}
	}
	events := []metadata.LogEvent{}
	var size int64
	for i := range pages {
		start(i)
		p := &pages[i]
		<-p.done
		if p.err != nil {
			return nil, false, p.err
		}
		for _, e := range p.events {
			size += int64(len(e.Message)) + metadata.LogEventOverhead
			if len(events) == limit || len(events) > 0 && maxBytes > 0 && size > maxBytes {
				return events, true, nil
			}
			events = append(events, e)
		}
		if p.more {
			return events, true, nil
		}
	}
	return events, false, nil
}

// contains is the condition that column contains the text of its one
// parameter, made by Dialect.ContainsArg.
func (s *Store) contains(column string) string {
	return "(" + strings.ReplaceAll(s.d.Contains, "%s", column) + ")"
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func stringArgs(ss []string) []any {
	args := make([]any, len(ss))
	for i, s := range ss {
		args[i] = s
	}
	return args
}

// ExpireLogEvents implements metadata.Logs: first the events of deleted
// streams, then those past their group's retention, n at a time, each
// batch in its own transaction so that appends interleave.
func (s *Store) ExpireLogEvents(ctx context.Context, now time.Time, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	deleted, err := s.expireDeletedStreams(ctx, n)
	if err != nil || deleted > 0 {
		return deleted, err
	}
	groups, err := queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) ([2]int64, error) {
		var g [2]int64
		return g, row.Scan(&g[0], &g[1])
	}, `SELECT id, retention_days FROM log_groups WHERE retention_days > 0 ORDER BY id`)
	if err != nil {
		return 0, err
	}
	for _, g := range groups {
		cutoff := now.UnixMilli() - g[1]*24*time.Hour.Milliseconds()
		deleted, err := s.expireGroup(ctx, g[0], cutoff, n)
		if err != nil || deleted > 0 {
			return deleted, err
		}
	}
	return 0, nil
}

// expireDeletedStreams deletes up to n events of one deleted stream, and
// forgets the stream once it has none left.
func (s *Store) expireDeletedStreams(ctx context.Context, n int) (int, error) {
	deleted := 0
	err := s.tx(ctx, func(tx Conn) error {
		var streamID int64
		err := tx.QueryRowContext(ctx, `SELECT stream_id FROM log_stream_deletions ORDER BY stream_id LIMIT 1`).Scan(&streamID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var edge metadata.LogPosition
		err = tx.QueryRowContext(ctx, `SELECT ts, seq FROM log_events WHERE stream_id = ? ORDER BY ts, seq LIMIT 1 OFFSET ?`,
			streamID, n-1).Scan(&edge.Time, &edge.Seq)
		var res sql.Result
		switch {
		case errors.Is(err, sql.ErrNoRows): // n or fewer left: the last batch
			if res, err = tx.ExecContext(ctx, `DELETE FROM log_events WHERE stream_id = ?`, streamID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM log_stream_deletions WHERE stream_id = ?`, streamID); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if res, err = tx.ExecContext(ctx, `DELETE FROM log_events WHERE stream_id = ? AND (ts, seq) <= (?, ?)`,
				streamID, edge.Time, edge.Seq); err != nil {
				return err
			}
		}
		affected, _ := res.RowsAffected()
		// A stream with no events left still counts as progress once, so
		// the caller calls again.
		deleted = max(int(affected), 1)
		return nil
	})
	return deleted, err
}

// expireGroup deletes up to n of a group's events older than cutoff, the
// oldest first, and takes them off their streams' sizes.
func (s *Store) expireGroup(ctx context.Context, groupID, cutoff int64, n int) (int, error) {
	deleted := 0
	err := s.tx(ctx, func(tx Conn) error {
		// The n-th expired event bounds the batch; fewer than n: all.
		edge := metadata.LogPosition{Time: cutoff - 1, Stream: metadata.LogTail.Stream, Seq: metadata.LogTail.Seq}
		err := tx.QueryRowContext(ctx,
			`SELECT ts, stream_id, seq FROM log_events WHERE group_id = ? AND ts < ? ORDER BY ts, stream_id, seq LIMIT 1 OFFSET ?`,
			groupID, cutoff, n-1).Scan(&edge.Time, &edge.Stream, &edge.Seq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		const batch = `FROM log_events WHERE group_id = ? AND (ts, stream_id, seq) <= (?, ?, ?)`
		args := []any{groupID, edge.Time, edge.Stream, edge.Seq}
		rows, err := tx.QueryContext(ctx, `SELECT stream_id, count(*), sum(octet_length(message)) `+batch+` GROUP BY stream_id`, args...)
		if err != nil {
			return err
		}
		var shrunk [][3]int64
		for rows.Next() {
			var st [3]int64
			if err := rows.Scan(&st[0], &st[1], &st[2]); err != nil {
				rows.Close()
				return err
			}
			shrunk = append(shrunk, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(shrunk) == 0 {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE `+batch, args...)
		if err != nil {
			return err
		}
		for _, st := range shrunk {
			if err := s.shrinkLogStream(ctx, tx, st[0], st[2]+st[1]*metadata.LogEventOverhead); err != nil {
				return err
			}
		}
		affected, _ := res.RowsAffected()
		deleted = int(affected)
		return nil
	})
	return deleted, err
}
