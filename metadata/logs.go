package metadata

import (
	"context"
	"errors"
	"math"
	"time"
)

// Errors returned by Logs methods.
var (
	ErrLogGroupUnknown  = errors.New("metadata: log group unknown")
	ErrLogGroupExists   = errors.New("metadata: log group already exists")
	ErrLogStreamUnknown = errors.New("metadata: log stream unknown")
	ErrLogStreamExists  = errors.New("metadata: log stream already exists")
)

// LogEventOverhead is what each event adds to a stream's stored bytes on
// top of its message: CloudWatch Logs counts 26 bytes per event in its
// batch and size limits, and so does the index.
const LogEventOverhead = 26

// LogGroup is a log group: a named set of log streams with one retention
// setting, as CloudWatch Logs keeps them.
type LogGroup struct {
	Name      string
	CreatedAt time.Time
	// RetentionDays is how long events are kept, by their timestamps;
	// 0 keeps them until the group or stream is deleted.
	RetentionDays int
	// KMSKeyID and Class (STANDARD, INFREQUENT_ACCESS, DELIVERY; "" for
	// STANDARD) are stored as given.
	KMSKeyID string
	Class    string
	Tags     map[string]string
	// StoredBytes is the sum of its streams' StoredBytes; ignored on
	// writes.
	StoredBytes int64
}

// LogStream is a sequence of events from one source (one container's
// output) in a log group.
type LogStream struct {
	Group     string
	Name      string
	CreatedAt time.Time
	// FirstEventTime and LastEventTime are the oldest and newest event
	// timestamps stored, LastIngestionTime the newest ingestion time, all
	// epoch milliseconds and meaningful only once LastIngestionTime is not
	// zero. Expiry moves FirstEventTime to the oldest event left.
	FirstEventTime    int64
	LastEventTime     int64
	LastIngestionTime int64
	// StoredBytes is the size of its events: each message's bytes plus
	// LogEventOverhead.
	StoredBytes int64
}

// LogEvent is one log line.
type LogEvent struct {
	// Time is the event's own timestamp and Ingested the time the index
	// received it, epoch milliseconds. Events are ordered and ranged by
	// Time in whole milliseconds, as CloudWatch Logs does, which is why
	// they are not time.Time.
	Time     int64
	Ingested int64
	Message  string
	// Stream names the event's stream on events FilterLogEvents returns.
	Stream string
	// Position is where a read found the event; ignored on append.
	Position LogPosition
}

// LogPosition is a point in the order of events: by timestamp, then (in a
// group) by stream, then by the stream's sequence number, which AppendLogEvents
// assigns in increasing order. Each stored event has a distinct position,
// and a position also names the gap right after it: the events at or
// before it are on one side, those after it on the other. Paging tokens
// carry positions, so a page never repeats or skips an event.
type LogPosition struct {
	Time   int64
	Stream int64 // the stream's identifier in the index; 0 in stream reads
	Seq    int64
}

// Where reading starts: LogHead is before every event, LogTail after every
// event.
var (
	LogHead = LogPosition{Time: -1}
	LogTail = LogPosition{Time: math.MaxInt64, Stream: math.MaxInt64, Seq: math.MaxInt64}
)

// LogGroupQuery selects log groups, in byte order of their names.
type LogGroupQuery struct {
	// Prefix and Contains ("" for any) restrict the names; Class restricts
	// the class ("" for any; STANDARD also matches groups stored with "").
	Prefix, Contains, Class string
	// After is the name the previous page ended with.
	After string
	Limit int
}

// LogStreamQuery selects the streams of one group: by name, or by their
// LastEventTime (then name) when ByLastEventTime is set.
type LogStreamQuery struct {
	Group  string
	Prefix string
	// ByLastEventTime orders by LastEventTime and then name (streams with
	// no events first); Descending reverses the order.
	ByLastEventTime bool
	Descending      bool
	// After is the stream the previous page ended with (its Name, and its
	// LastEventTime when ordering by it); nil for the first page.
	After *LogStream
	Limit int
}

// LogRead reads a page of one stream's events, in order.
type LogRead struct {
	Group, Stream string
	// Start and End bound the events' timestamps: Start <= Time < End; an
	// End of 0 is no bound.
	Start, End int64
	// From is the gap the page starts at: the page holds the first events
	// after it, or with Backward the last events at or before it (still
	// returned oldest first). LogHead and LogTail are the stream's ends.
	From     LogPosition
	Backward bool
	// Limit bounds the number of events and MaxBytes their size (message
	// bytes plus LogEventOverhead each; at least one event is returned
	// if any is found).
	Limit    int
	MaxBytes int64
}

// LogFilter searches a group's events, oldest first across its streams.
type LogFilter struct {
	Group string
	// Streams restricts the search to streams of these names (unknown
	// names are ignored), StreamPrefix to streams whose names start with it.
	Streams      []string
	StreamPrefix string
	// Start <= Time < End; an End of 0 is no bound.
	Start, End int64
	// After is where the previous page ended; LogHead to start.
	After LogPosition
	Match LogMatch
	// Limit and MaxBytes bound the page as in LogRead.
	Limit    int
	MaxBytes int64
}

// LogMatch selects messages by case-sensitive substrings: a message
// matches when it contains every string in All, at least one in Any (if
// Any is not empty), and none in None. The zero LogMatch matches all.
type LogMatch struct {
	All, Any, None []string
}

// Logs keeps log groups, their streams and the streams' events: what the
// launcher captures from containers and serves as the CloudWatch Logs
// API. Everything is bounded: reads are paged by count and bytes,
// appends come in batches, and events leave by retention (ExpireLogEvents)
// or by a stream's size cap (AppendLogEvents).
type Logs interface {
	// CreateLogGroup records g. ErrLogGroupExists if the name is taken.
	CreateLogGroup(ctx context.Context, g LogGroup) error
	// LogGroup returns group name. ErrLogGroupUnknown if none.
	LogGroup(ctx context.Context, name string) (LogGroup, error)
	// LogGroups lists up to q.Limit groups after q.After.
	LogGroups(ctx context.Context, q LogGroupQuery) ([]LogGroup, error)
	// UpdateLogGroup applies change to group name in one transaction and
	// returns the result; change may set RetentionDays, KMSKeyID, Class
	// and Tags. ErrLogGroupUnknown if none.
	UpdateLogGroup(ctx context.Context, name string, change func(*LogGroup) error) (LogGroup, error)
	// DeleteLogGroup removes group name and its streams at once; their
	// events become invisible at once and are deleted by ExpireLogEvents.
	// ErrLogGroupUnknown if none.
	DeleteLogGroup(ctx context.Context, name string) error
	// CreateLogStream records stream s in group s.Group. ErrLogGroupUnknown
	// if the group does not exist, ErrLogStreamExists if the name is taken.
	CreateLogStream(ctx context.Context, s LogStream) error
	// LogStreams lists up to q.Limit streams of a group.
	// ErrLogGroupUnknown if the group does not exist.
	LogStreams(ctx context.Context, q LogStreamQuery) ([]LogStream, error)
	// DeleteLogStream removes a stream as DeleteLogGroup removes a group.
	// ErrLogGroupUnknown or ErrLogStreamUnknown if either does not exist.
	DeleteLogStream(ctx context.Context, group, name string) error
	// AppendLogEvents stores events at the end of a stream, assigning
	// sequence numbers in the order given, in one transaction. Then, while
	// the stream holds more than maxStreamBytes (0: no cap), it drops its
	// oldest events (by timestamp). ErrLogGroupUnknown or
	// ErrLogStreamUnknown if either does not exist.
	AppendLogEvents(ctx context.Context, group, stream string, events []LogEvent, maxStreamBytes int64) error
	// ReadLogEvents returns a page of one stream's events, oldest first.
	// ErrLogGroupUnknown or ErrLogStreamUnknown if either does not exist.
	ReadLogEvents(ctx context.Context, q LogRead) ([]LogEvent, error)
	// FilterLogEvents returns a page of the group's matching events, oldest
	// first, and whether the search stopped at the page's limits before
	// reaching the end. ErrLogGroupUnknown if the group does not exist.
	FilterLogEvents(ctx context.Context, q LogFilter) (events []LogEvent, more bool, err error)
	// ExpireLogEvents deletes up to n events of deleted streams and events
	// older than their group's retention at time now, and returns how many
	// it deleted; call it again until it returns 0.
	ExpireLogEvents(ctx context.Context, now time.Time, n int) (int, error)
}
