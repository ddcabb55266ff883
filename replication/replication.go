// Package replication copies pushed images to other registries, as ECR's
// replication configuration (PutReplicationConfiguration) asks: every
// image pushed into a repository a rule's filters match is queued, in the
// metadata index, for each of the rule's destinations, and workers copy it
// (manifests, index children, blobs the destination lacks, tags) with
// go-containerregistry, retrying with back-off. A push is acknowledged
// before it is replicated; the queue survives restarts. Deletes are not
// replicated, as on ECR. Replicas sharing the index all work the queue,
// and each queued copy is claimed in the index (metadata.Claim), so that
// one replica makes it.
//
// A destination is another berth (or any OCI registry) named in config:
// ECR's {region, registryId} pair picks the entry with that region and
// registry id, which gives its endpoint and credentials.
package replication

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// ConfigSetting is the settings key under which the ECR API keeps the
// replication configuration.
const ConfigSetting = "ecr.replicationConfiguration"

// Configuration is ECR's replication configuration.
type Configuration struct {
	Rules []Rule `json:"rules"`
}

// Rule replicates the repositories its filters match to its destinations.
type Rule struct {
	Destinations      []DestinationID `json:"destinations"`
	RepositoryFilters []Filter        `json:"repositoryFilters,omitempty"`
}

// DestinationID names a destination registry as ECR does.
type DestinationID struct {
	Region     string `json:"region"`
	RegistryID string `json:"registryId"`
}

// Name is the destination's name in the queue: "<region>/<registryId>".
func (d DestinationID) Name() string { return d.Region + "/" + d.RegistryID }

// ParseName splits a destination name.
func ParseName(name string) DestinationID {
	region, id, _ := strings.Cut(name, "/")
	return DestinationID{region, id}
}

// Filter selects repositories; PREFIX_MATCH is the only type.
type Filter struct {
	Filter     string `json:"filter"`
	FilterType string `json:"filterType"`
}

// Matches reports whether the rule replicates repository repo: with no
// filters every repository, else those starting with a filter.
func (r Rule) Matches(repo string) bool {
	if len(r.RepositoryFilters) == 0 {
		return true
	}
	for _, f := range r.RepositoryFilters {
		if f.FilterType == "PREFIX_MATCH" && strings.HasPrefix(repo, f.Filter) {
			return true
		}
	}
	return false
}

// Destination is a registry images are replicated to.
type Destination struct {
	DestinationID
	// Endpoint is the registry's base URL: https://host[:port] or
	// http://host[:port].
	Endpoint string
	// Username and Password are Basic credentials there (on a berth, an
	// access key id and secret).
	Username, Password string
}

// Store is what replication needs of the index.
type Store interface {
	metadata.Settings
	metadata.Replications
	// Image gives the tags of an image.
	Image(ctx context.Context, repo string, dgst digest.Digest) (metadata.Image, error)
}

// Config tunes a Replicator; the zero value is usable.
type Config struct {
	// Self is this registry's own destination id: rules naming it are
	// skipped, as ECR skips replicating a registry to itself.
	Self DestinationID
	// RetryBase is the wait after a first failure, doubled after each
	// further one up to RetryMax. Defaults 1s and 5m.
	RetryBase, RetryMax time.Duration
	// MaxAttempts is how many failures make a replication FAILED. Default 12.
	MaxAttempts int
	// Poll is how often the queue is read when no push woke the workers.
	// Default 5s.
	Poll time.Duration
	// Transport reaches the destinations; nil is http.DefaultTransport.
	Transport http.RoundTripper
	Log       *slog.Logger
	Now       func() time.Time
}

// Replicator queues pushed images and copies them to their destinations.
type Replicator struct {
	store   Store
	local   http.Handler
	dests   map[string]Destination
	cfg     Config
	wake    chan struct{}
	creator repositoryCreator
}

// New returns a Replicator that reads images from local (the registry's
// /v2/ API, serving reads without authorization) and copies them to dests.
func New(store Store, local http.Handler, dests []Destination, cfg Config) *Replicator {
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 5 * time.Minute
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 12
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Replicator{store: store, local: local, dests: map[string]Destination{}, cfg: cfg, wake: make(chan struct{}, 1)}
	for _, d := range dests {
		r.dests[d.Name()] = d
	}
	r.creator = ecrCreator{transport: cfg.Transport}
	return r
}

// configuration reads the stored replication configuration.
func (r *Replicator) configuration(ctx context.Context) (Configuration, error) {
	var c Configuration
	text, err := r.store.Setting(ctx, ConfigSetting)
	if err != nil || text == "" {
		return c, err
	}
	return c, json.Unmarshal([]byte(text), &c)
}

// Pushed queues image dgst of repo for every destination a rule sends repo
// to. It is the registry's push hook: it returns once the queue is
// written, and the workers copy the image later.
func (r *Replicator) Pushed(ctx context.Context, repo string, dgst digest.Digest) error {
	c, err := r.configuration(ctx)
	if err != nil || len(c.Rules) == 0 {
		return err
	}
	now := r.cfg.Now()
	seen := map[string]bool{}
	for _, rule := range c.Rules {
		if !rule.Matches(repo) {
			continue
		}
		for _, d := range rule.Destinations {
			if d == r.cfg.Self || seen[d.Name()] {
				continue
			}
			seen[d.Name()] = true
			if err := r.store.EnqueueReplication(ctx, metadata.Replication{Repository: repo, Digest: dgst, Destination: d.Name(), Due: now, UpdatedAt: now}); err != nil {
				return fmt.Errorf("replication: queueing %s@%s for %s: %w", repo, dgst, d.Name(), err)
			}
		}
	}
	if len(seen) > 0 {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run copies queued images until ctx ends: what is due, oldest first, one
// at a time, then waits for a push or the poll interval. Every replica
// sharing the index runs it: each image is copied to each destination by
// one of them (see claimed).
func (r *Replicator) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	for {
		for r.RunOnce(ctx) > 0 && ctx.Err() == nil {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

// RunOnce attempts the replications due now and returns how many it tried:
// not those another replica sharing the index is attempting, or attempted
// since they were listed.
func (r *Replicator) RunOnce(ctx context.Context) int {
	due, err := r.store.DueReplications(ctx, r.cfg.Now(), 32)
	if err != nil {
		r.cfg.Log.WarnContext(ctx, "reading the replication queue", "err", err)
		return 0
	}
	tried := 0
	for _, job := range due {
		if ctx.Err() != nil {
			return 0
		}
		if r.claimed(ctx, job) {
			tried++
		}
	}
	return tried
}

// claimed attempts job under its claim in the index, so that of the
// replicas sharing the index one at a time copies an image to a
// destination, and only if, read again under the claim, it is still due:
// another replica may have attempted it since it was listed. A replica
// that dies mid-copy loses the claim with its connection, and the job,
// still due, goes to the next replica to read the queue. It reports
// whether it attempted the job.
func (r *Replicator) claimed(ctx context.Context, job metadata.Replication) bool {
	tried := false
	name := "replication:" + job.Destination + ":" + job.Repository + "@" + job.Digest.String()
	_, err := metadata.Claim(ctx, r.store, name, func(ctx context.Context) {
		rs, err := r.store.ReplicationStatuses(ctx, job.Repository, job.Digest)
		if err != nil {
			r.cfg.Log.WarnContext(ctx, "reading a replication", "repository", job.Repository, "digest", job.Digest, "destination", job.Destination, "err", err)
			return
		}
		for _, cur := range rs {
			if cur.Destination == job.Destination && cur.Status == metadata.ReplicationInProgress && !cur.Due.After(r.cfg.Now()) {
				r.attempt(ctx, cur)
				tried = true
			}
		}
	})
	if err != nil && ctx.Err() == nil {
		r.cfg.Log.WarnContext(ctx, "claiming a replication", "repository", job.Repository, "digest", job.Digest, "destination", job.Destination, "err", err)
	}
	return tried
}

// attempt copies one queued image and records the outcome: COMPLETE, or a
// retry after a back-off, or FAILED after MaxAttempts.
func (r *Replicator) attempt(ctx context.Context, job metadata.Replication) {
	err := r.copy(ctx, job)
	now := r.cfg.Now()
	from := job.UpdatedAt
	job.UpdatedAt = now
	if err == nil {
		job.Status, job.Failure = metadata.ReplicationComplete, ""
		r.cfg.Log.InfoContext(ctx, "replicated", "repository", job.Repository, "digest", job.Digest, "destination", job.Destination)
	} else {
		job.Attempts++
		job.Failure = err.Error()
		wait := r.cfg.RetryBase << min(job.Attempts-1, 30)
		if wait > r.cfg.RetryMax || wait <= 0 {
			wait = r.cfg.RetryMax
		}
		job.Due = now.Add(wait)
		if job.Attempts >= r.cfg.MaxAttempts {
			job.Status = metadata.ReplicationFailed
		}
		r.cfg.Log.WarnContext(ctx, "replication failed", "repository", job.Repository, "digest", job.Digest, "destination", job.Destination, "attempt", job.Attempts, "retry_in", wait, "err", err)
	}
	if ok, err := r.store.UpdateReplication(ctx, job, from); err != nil {
		r.cfg.Log.WarnContext(ctx, "recording a replication", "err", err)
	} else if !ok {
		r.cfg.Log.InfoContext(ctx, "queued again while being copied; copying again", "repository", job.Repository, "digest", job.Digest, "destination", job.Destination)
	}
}
