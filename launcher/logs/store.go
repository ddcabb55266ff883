// Package logs is the launcher's log store and, beside it, the CloudWatch
// Logs API that serves it.
//
// The store keeps log groups, streams and events in the metadata index
// (metadata.Logs). ECS tasks, Lambda functions and Batch jobs all write
// their containers' output through it: a [Writer] per group and stream
// turns lines read from a container into events, batched by count, bytes
// and a short interval, and is safe for the stdout and stderr readers of
// many containers at once. Nothing holds a whole log in memory: appends
// are batches, reads are pages, each stream has a size cap (its oldest
// events go first) and each group a retention that [Store.Run] enforces.
//
// The API (api.go, one family of operations per file: groups.go,
// streams.go, events.go) speaks AWS JSON 1.1 with target prefix
// Logs_20140328 and signing name logs, so `aws logs ... --endpoint-url`
// works, `aws logs tail --follow` included. Every operation authorizes
// logs:<Operation> through [Access] before it reads or writes, and its
// errors reach the wire through one table (errors.go).
package logs

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// Index is what the log store needs from the metadata index: the logs,
// and a setting that keeps the API's token key.
type Index interface {
	metadata.Logs
	metadata.Settings
}

// DefaultMaxStreamBytes is a stream's default size cap: its events'
// message bytes plus metadata.LogEventOverhead each.
const DefaultMaxStreamBytes = 64 << 20

// MaxEventBytes is the largest message of one event a Writer stores:
// CloudWatch Logs' classic 256 KiB event limit less the 26 bytes it counts
// per event (what Docker's awslogs driver splits lines at). A longer line
// becomes several events.
const MaxEventBytes = 256<<10 - metadata.LogEventOverhead

// StoreConfig configures a Store; zero values take the defaults.
type StoreConfig struct {
	// MaxStreamBytes caps each stream; 0 is DefaultMaxStreamBytes and a
	// negative value is no cap.
	MaxStreamBytes int64
	// SweepInterval is how often Run deletes expired events (1 minute);
	// SweepBatch how many it deletes per transaction (10,000).
	SweepInterval time.Duration
	SweepBatch    int
	// Batch bounds a Writer's batches.
	Batch BatchLimits
	// Now is the clock for ingestion times, retention and PutLogEvents'
	// age checks (time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// BatchLimits bound a Writer's batches: it appends when it holds Events
// events or Bytes bytes, or Interval after the oldest event it holds.
type BatchLimits struct {
	Events   int           // 1,000
	Bytes    int64         // 1 MiB, CloudWatch's PutLogEvents limit
	Interval time.Duration // 200 ms, so `aws logs tail --follow` sees lines promptly
}

// Store is the log store. It is safe for concurrent use.
type Store struct {
	index Index
	cfg   StoreConfig

	mu      sync.Mutex
	writers map[Destination]*Writer
}

// NewStore returns the log store over index.
func NewStore(index Index, cfg StoreConfig) *Store {
	if cfg.MaxStreamBytes == 0 {
		cfg.MaxStreamBytes = DefaultMaxStreamBytes
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.SweepBatch <= 0 {
		cfg.SweepBatch = 10_000
	}
	if cfg.Batch.Events <= 0 {
		cfg.Batch.Events = 1000
	}
	if cfg.Batch.Bytes <= 0 {
		cfg.Batch.Bytes = 1 << 20
	}
	if cfg.Batch.Interval <= 0 {
		cfg.Batch.Interval = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Store{index: index, cfg: cfg, writers: map[Destination]*Writer{}}
}

// now is the store's clock in epoch milliseconds.
func (s *Store) now() int64 { return s.cfg.Now().UnixMilli() }

// CreateGroup records a new log group created now. It returns
// metadata.ErrLogGroupExists if the name is taken.
func (s *Store) CreateGroup(ctx context.Context, g metadata.LogGroup) error {
	g.CreatedAt = time.UnixMilli(s.now())
	return s.index.CreateLogGroup(ctx, g)
}

// CreateStream records a new stream created now. It returns
// metadata.ErrLogGroupUnknown or metadata.ErrLogStreamExists.
func (s *Store) CreateStream(ctx context.Context, group, name string) error {
	return s.index.CreateLogStream(ctx, metadata.LogStream{Group: group, Name: name, CreatedAt: time.UnixMilli(s.now())})
}

// LastEventTime returns the timestamp of the newest event stream holds,
// zero when it holds none or does not exist: a reader that reattaches to a
// container after a restart resumes after it, so no line is stored twice.
func (s *Store) LastEventTime(ctx context.Context, group, stream string) (time.Time, error) {
	streams, err := s.index.LogStreams(ctx, metadata.LogStreamQuery{Group: group, Prefix: stream, Limit: 1})
	if errors.Is(err, metadata.ErrLogGroupUnknown) {
		return time.Time{}, nil
	}
	if err != nil || len(streams) == 0 || streams[0].Name != stream || streams[0].LastIngestionTime == 0 {
		return time.Time{}, err
	}
	return time.UnixMilli(streams[0].LastEventTime), nil
}

// Append stores events at the end of a stream, ingested now, and trims
// the stream to its cap. It returns metadata.ErrLogGroupUnknown or
// metadata.ErrLogStreamUnknown if either does not exist.
func (s *Store) Append(ctx context.Context, group, stream string, events []metadata.LogEvent) error {
	now := s.now()
	for i := range events {
		events[i].Ingested = now
	}
	return s.index.AppendLogEvents(ctx, group, stream, events, max(s.cfg.MaxStreamBytes, 0))
}

// Sweep deletes what retention and deletions left behind, a batch per
// transaction, and returns how many events it deleted.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.index.ExpireLogEvents(ctx, s.cfg.Now(), s.cfg.SweepBatch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Run sweeps every SweepInterval until ctx ends, then returns nil. A
// failed sweep is logged and tried again at the next tick.
func (s *Store) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.SweepInterval)
	defer tick.Stop()
	for {
		n, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.cfg.Log.ErrorContext(ctx, "log store: sweeping expired events", "err", err)
		case n > 0:
			s.cfg.Log.DebugContext(ctx, "log store: deleted expired events", "events", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// ensure creates dest's stream, and its group when dest says so, unless
// they exist.
func (s *Store) ensure(ctx context.Context, dest Destination) error {
	err := s.CreateStream(ctx, dest.Group, dest.Stream)
	if errors.Is(err, metadata.ErrLogGroupUnknown) && dest.CreateGroup {
		if err := s.CreateGroup(ctx, metadata.LogGroup{Name: dest.Group}); err != nil && !errors.Is(err, metadata.ErrLogGroupExists) {
			return err
		}
		err = s.CreateStream(ctx, dest.Group, dest.Stream)
	}
	if errors.Is(err, metadata.ErrLogStreamExists) {
		return nil
	}
	return err
}
