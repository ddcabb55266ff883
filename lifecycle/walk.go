package lifecycle

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/storage"
)

// ErrCannotWalk is returned by Walk when the blob store cannot list what
// it holds (its driver is not a storage.Lister).
var ErrCannotWalk = errors.New("lifecycle: this blob store cannot be listed")

// WalkReport is what one walk of the blob store found and did.
type WalkReport struct {
	// Objects counts the objects listed.
	Objects int
	// Orphans and Bytes count the objects the index does not know that
	// are older than the grace period: deleted, or in a dry run,
	// deletable.
	Orphans int
	Bytes   int64
}

// Walk lists the blob store and deletes the objects that the index does
// not know (no blob's location, not queued for deletion, not of an upload
// session) and that were last written longer than Grace ago: bytes left by
// a crash between writing them and recording them, which a pass (Run)
// never sees because it reads only the index. It is safe beside a running
// registry: each batch of objects is checked against one consistent read
// of the index, in which bytes a request is committing belong either to
// its upload session or to the blob it recorded; Grace is a margin on top.
// Like a pass it rests between batches to keep to Pace, and with dryRun it
// deletes nothing and reports what it would delete.
//
// The walk reads the whole store, so it is slow on a large one; it is
// meant to be run now and then (berth gc --walk), not on a schedule.
func (c *Collector) Walk(ctx context.Context, dryRun bool) (WalkReport, error) {
	var rep WalkReport
	lister, ok := c.blobs.(storage.Lister)
	if !ok {
		return rep, ErrCannotWalk
	}
	cutoff := c.now().Add(-c.Grace)
	var old []storage.Object // listed, older than the grace period, not yet checked
	start := time.Now()
	check := func() error {
		if len(old) == 0 {
			return nil
		}
		objs := make([]metadata.StoredObject, len(old))
		byKey := make(map[string]storage.Object, len(old))
		for i, o := range old {
			objs[i] = metadata.StoredObject{Key: o.Key, Upload: o.Upload}
			byKey[o.Key] = o
		}
		old = old[:0]
		unknown, err := c.store.UnknownObjects(ctx, objs)
		if err != nil {
			return err
		}
		for _, u := range unknown {
			o := byKey[u.Key]
			if !dryRun {
				if err := lister.Remove(ctx, o.Key); err != nil {
					return err
				}
				c.log.InfoContext(ctx, "gc walk: deleted an object the index does not know", "key", o.Key, "upload", o.Upload,
					"bytes", o.Size, "modified", o.Modified)
			}
			rep.Orphans++
			rep.Bytes += o.Size
		}
		c.rest(ctx, time.Since(start))
		start = time.Now()
		return ctx.Err()
	}
	err := lister.List(ctx, func(o storage.Object) error {
		rep.Objects++
		if !o.Modified.Before(cutoff) {
			return nil
		}
		old = append(old, o)
		if len(old) < batch {
			return nil
		}
		return check()
	})
	if err == nil {
		err = check()
	}
	return rep, err
}
