package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/sidecar"
)

// A sidecar's create, start and first answer are most of what an awsvpc
// task adds to starting its containers. A sidecar's ports are fixed when
// it is created, but a task without port mappings needs none: such tasks
// take a sidecar the pool started before they were run. The pool fills
// once such a task has been run, so a berth that runs none starts none.

// poolTask is the berth.task label of a pooled sidecar not yet taken; a
// taken one keeps it (labels are fixed), and its task's record names it.
const poolTask = "sidecar-pool"

// pooledSidecar is a started sidecar serving its metadata from dir.
type pooledSidecar struct {
	id, dir string
}

// sidecarPool keeps up to size started sidecars.
type sidecarPool struct {
	r    *Runner
	size int

	mu      sync.Mutex
	idle    []pooledSidecar
	filling bool
	filler  sync.WaitGroup
	ctx     context.Context // Run's; nil until Run starts the pool
}

// take returns an idle sidecar, if there is one, and starts another.
func (p *sidecarPool) take() (pooledSidecar, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) == 0 {
		p.fillLocked()
		return pooledSidecar{}, false
	}
	s := p.idle[0]
	p.idle = p.idle[1:]
	p.fillLocked()
	return s, true
}

// start lets the pool fill, for as long as ctx lasts.
func (p *sidecarPool) start(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctx = ctx
}

// fillLocked starts sidecars in the background until size are idle.
func (p *sidecarPool) fillLocked() {
	if p.filling || p.ctx == nil || p.ctx.Err() != nil || len(p.idle) >= p.size {
		return
	}
	p.filling = true
	p.filler.Add(1)
	go func() {
		defer p.filler.Done()
		for {
			p.mu.Lock()
			if p.ctx.Err() != nil || len(p.idle) >= p.size {
				p.filling = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			s, err := p.r.poolSidecar(p.ctx)
			p.mu.Lock()
			if err != nil || p.ctx.Err() != nil {
				if err != nil && p.ctx.Err() == nil {
					p.r.log.Warn("ecs: starting a pooled task sidecar", "err", err)
				}
				p.filling = false
				p.mu.Unlock()
				if s.id != "" {
					p.r.removePooled(s)
				}
				return
			}
			p.idle = append(p.idle, s)
			p.mu.Unlock()
		}
	}()
}

// drain removes the idle sidecars, when berth stops (once Run's context
// has ended, so that no more are started).
func (p *sidecarPool) drain() {
	p.filler.Wait()
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, s := range idle {
		p.r.removePooled(s)
	}
}

// poolSidecar starts a sidecar for the pool.
func (r *Runner) poolSidecar(ctx context.Context) (pooledSidecar, error) {
	var s pooledSidecar
	image, err := r.sidecar.Ensure(ctx)
	if err != nil {
		return s, err
	}
	s.dir = filepath.Join(r.cfg.StateDir, "pool", launcher.NewID())
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return s, err
	}
	spec := sidecar.Spec(image, s.dir, nil, r.poolOwner())
	if s.id, err = r.engine.Create(ctx, spec); err != nil {
		os.RemoveAll(s.dir)
		return s, err
	}
	if err := r.engine.Start(ctx, s.id); err != nil {
		return s, err
	}
	return s, sidecar.WaitReady(ctx, r.engine, s.id)
}

// poolOwner labels this runner's pooled sidecars: by its state
// directory, so that a berth never takes another's for its own.
func (r *Runner) poolOwner() launcher.Owner {
	sum := sha256.Sum256([]byte(r.cfg.StateDir))
	return launcher.Owner{Service: launcher.ServiceECS, Task: poolTask, Container: hex.EncodeToString(sum[:8])}
}

// removePooled removes a pooled sidecar that no task took.
func (r *Runner) removePooled(s pooledSidecar) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.engine.Remove(ctx, s.id); err != nil && !errors.Is(err, launcher.ErrNotFound) {
		r.log.Warn("ecs: removing a pooled task sidecar", "container", s.id, "err", err)
	}
	os.RemoveAll(s.dir)
}
