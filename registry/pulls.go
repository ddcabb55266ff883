package registry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// pullRecorder batches manifest pull times and writes them to the index in
// one transaction per interval, so a pull never waits on a write.
type pullRecorder struct {
	store     metadata.Manifests
	log       *slog.Logger
	mu        sync.Mutex
	pending   map[pullKey]time.Time
	stop      chan struct{}
	done      chan struct{}
	interval  time.Duration
	closeOnce sync.Once
}

type pullKey struct {
	repo   string
	digest digest.Digest
}

// maxPendingPulls bounds the memory pending pulls take; past it a flush is
// started early.
const maxPendingPulls = 10000

func newPullRecorder(store metadata.Manifests, log *slog.Logger, interval time.Duration) *pullRecorder {
	p := &pullRecorder{
		store: store, log: log, interval: interval,
		pending: map[pullKey]time.Time{},
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	go p.loop()
	return p
}

// Record notes a pull; it is written at the next flush.
func (p *pullRecorder) Record(pull metadata.Pull) {
	p.mu.Lock()
	p.pending[pullKey{pull.Repository, pull.Digest}] = pull.At
	full := len(p.pending) >= maxPendingPulls
	p.mu.Unlock()
	if full {
		go p.flush(context.Background())
	}
}

func (p *pullRecorder) loop() {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			p.flush(context.Background())
		case <-p.stop:
			return
		}
	}
}

func (p *pullRecorder) flush(ctx context.Context) error {
	p.mu.Lock()
	batch := p.pending
	p.pending = map[pullKey]time.Time{}
	p.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	pulls := make([]metadata.Pull, 0, len(batch))
	for k, at := range batch {
		pulls = append(pulls, metadata.Pull{Repository: k.repo, Digest: k.digest, At: at})
	}
	err := p.store.RecordPulls(ctx, pulls)
	if err != nil {
		p.log.WarnContext(ctx, "recording pull times", "count", len(pulls), "err", err)
	}
	return err
}

// Close stops the recorder after a last flush. Closing twice is harmless.
func (p *pullRecorder) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
	return p.flush(ctx)
}
