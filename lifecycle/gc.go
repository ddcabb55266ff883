package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// Collector is online garbage collection: it frees the blob store of
// blobs that no manifest references, and of upload sessions abandoned for
// longer than UploadTimeout, while the registry serves. It never needs
// read-only mode: see metadata.Garbage for why no request can lose a blob.
//
// One pass marks the blobs that have been garbage for longer than Grace
// (they must also be older than Grace), sweeps those marked at least Grace
// ago and still garbage, then deletes the swept blobs' bytes. A blob thus
// goes between one and two passes after Grace has passed.
type Collector struct {
	store CollectorStore
	blobs storage.Driver
	log   *slog.Logger
	now   func() time.Time

	// Grace is how long a blob must be garbage before it is deleted.
	Grace time.Duration
	// UploadTimeout is how long an upload may sit unwritten before it is
	// purged.
	UploadTimeout time.Duration
	// Pace is the share of time a pass works, between 0 and 1: after each
	// batch it rests long enough that scanning the index never takes more
	// than that share of a core from the requests it serves beside.
	// Default 0.3; 1 never rests.
	Pace float64
	// Freed, when set, is called after each pass with what it freed (for
	// metrics).
	Freed func(Report)
}

// CollectorStore is what a Collector needs of the metadata index: the
// garbage family, which purges abandoned upload sessions too.
type CollectorStore interface {
	metadata.Garbage
}

// Report is what one pass found and did.
type Report struct {
	// Marked counts blobs newly marked as garbage.
	Marked int
	// Blobs and Bytes count blobs deleted (or, in a dry run, deletable
	// now: garbage for longer than the grace period).
	Blobs int
	Bytes int64
	// Uploads counts abandoned upload sessions purged.
	Uploads int
}

// NewCollector returns a Collector with a grace period of an hour and an
// upload timeout of a day.
func NewCollector(store CollectorStore, blobs storage.Driver, log *slog.Logger, opts ...Option) *Collector {
	if log == nil {
		log = slog.Default()
	}
	return &Collector{store: store, blobs: blobs, log: log, now: newOptions(opts).now,
		Grace: time.Hour, UploadTimeout: 24 * time.Hour, Pace: 0.3}
}

// rest sleeps after a batch that took worked, to keep to the pace.
func (c *Collector) rest(ctx context.Context, worked time.Duration) {
	if c.Pace <= 0 || c.Pace >= 1 {
		return
	}
	t := time.NewTimer(time.Duration(float64(worked) * (1 - c.Pace) / c.Pace))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// batch bounds the rows one index transaction touches.
const batch = 1000

// Run makes one pass. With dryRun it changes nothing and reports the blobs
// that have been garbage for longer than the grace period.
func (c *Collector) Run(ctx context.Context, dryRun bool) (Report, error) {
	now := c.now()
	cutoff := now.Add(-c.Grace)
	var rep Report
	if dryRun {
		var last digest.Digest
		for {
			page, err := c.store.GarbageBlobs(ctx, cutoff, last, batch)
			if err != nil {
				return rep, err
			}
			for _, b := range page {
				rep.Blobs++
				rep.Bytes += b.Size
			}
			if len(page) < batch {
				return rep, nil
			}
			last = page[len(page)-1].Digest
		}
	}

	// Sweep what earlier passes marked, before marking anew, so a blob
	// marked now waits a whole grace period.
	for {
		swept, err := c.store.SweepGarbage(ctx, cutoff, batch)
		if err != nil {
			return rep, err
		}
		for _, b := range swept {
			rep.Blobs++
			rep.Bytes += b.Size
			c.log.InfoContext(ctx, "gc: deleted blob", "digest", b.Digest, "bytes", b.Size)
		}
		if len(swept) < batch {
			break
		}
	}
	if err := c.deletePending(ctx); err != nil {
		return rep, err
	}
	var last digest.Digest
	for {
		start := time.Now()
		n, next, err := c.store.MarkGarbage(ctx, cutoff, now, last, batch)
		if err != nil {
			return rep, err
		}
		rep.Marked += n
		if next == "" {
			break
		}
		last = next
		c.rest(ctx, time.Since(start))
	}
	uploads, err := c.purgeUploads(ctx, now.Add(-c.UploadTimeout))
	rep.Uploads = uploads
	if err != nil {
		return rep, err
	}
	if c.Freed != nil {
		c.Freed(rep)
	}
	return rep, nil
}

// deletePending deletes the bytes of swept blobs from the blob store. A
// failure leaves the location queued for the next pass.
func (c *Collector) deletePending(ctx context.Context) error {
	for {
		locations, err := c.store.PendingDeletions(ctx, batch)
		if err != nil {
			return err
		}
		for _, loc := range locations {
			if err := c.blobs.Delete(ctx, loc); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			if err := c.store.DeletionDone(ctx, loc); err != nil {
				return err
			}
		}
		if len(locations) < batch {
			return nil
		}
	}
}

// purgeUploads ends upload sessions last written before cutoff.
func (c *Collector) purgeUploads(ctx context.Context, cutoff time.Time) (int, error) {
	purged := 0
	for {
		stale, err := c.store.StaleUploads(ctx, cutoff, batch)
		if err != nil {
			return purged, err
		}
		for _, u := range stale {
			// A session written since it was listed is no longer stale.
			if ok, err := c.store.PurgeUpload(ctx, u.ID, cutoff); err != nil {
				return purged, err
			} else if !ok {
				continue
			}
			if err := c.blobs.Abort(ctx, storage.Upload{ID: u.ID, Size: u.Size, State: u.StorageState}); err != nil {
				c.log.WarnContext(ctx, "gc: aborting a stale upload", "upload", u.ID, "err", err)
			}
			purged++
		}
		if len(stale) < batch {
			return purged, nil
		}
	}
}

// Schedule runs a pass every interval until ctx ends.
func (c *Collector) Schedule(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		if rep, err := c.Run(ctx, false); err != nil && ctx.Err() == nil {
			c.log.ErrorContext(ctx, "gc pass failed", "err", err)
		} else if rep.Blobs > 0 || rep.Uploads > 0 {
			c.log.InfoContext(ctx, "gc pass", "blobs", rep.Blobs, "bytes", rep.Bytes, "uploads", rep.Uploads, "marked", rep.Marked)
		}
	})
}
