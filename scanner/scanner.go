// Package scanner finds the known vulnerabilities of images, offline: it
// reads each layer once as a stream into a package inventory (package
// inventory, cached per layer digest), matches the squashed inventory
// against an OSV database on disk (package vulndb), and records findings
// in ECR's shape in the metadata index.
//
// Scans run in the background, queued on push (when the registry's
// scanning configuration, config.go, says so) or on request; a new
// database re-matches the stored inventories without reading a layer.
//
// The index keeps a generation number for the vulnerability data: Import
// bumps it, and every scan compares it with the data the scanner has
// loaded, loading the new data first when they differ, so an import
// applies to the next scan of every process sharing the index. Each scan
// records the generation it was matched with.
//
// Several processes may share the index (berth replicas on PostgreSQL).
// Each scans the images queued through it (Run), and an image is scanned
// or re-matched by one process at a time, under the image's claim in the
// index (metadata.Claim); a scan another process finished is not run
// again. Resuming the scans left unfinished by any process and
// re-matching the stored scans with new data (Rescan) is work that must
// run once: the caller runs it on one process at a time.
package scanner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/scanner/inventory"
	"github.com/berth-dev/berth/scanner/vulndb"
	"github.com/berth-dev/berth/storage"
)

// Scan statuses, as ECR names them.
const (
	StatusPending     = "PENDING"
	StatusInProgress  = "IN_PROGRESS"
	StatusComplete    = "COMPLETE"
	StatusFailed      = "FAILED"
	StatusUnsupported = "UNSUPPORTED_IMAGE"
)

// Finding is one vulnerability of an image, with ECR's member names.
type Finding struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	URI         string      `json:"uri,omitempty"`
	Severity    string      `json:"severity"`
	Attributes  []Attribute `json:"attributes,omitempty"`
}

// Attribute is a finding's key and value, e.g. package_name.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Findings decodes the findings a scan recorded.
func Findings(sc metadata.Scan) ([]Finding, error) {
	var out []Finding
	if sc.Findings == "" {
		return out, nil
	}
	err := json.Unmarshal([]byte(sc.Findings), &out)
	return out, err
}

// Packages decodes the package inventory a complete scan recorded: the
// packages matched, each with the name and version it is shown under.
func Packages(sc metadata.Scan) ([]vulndb.Package, error) {
	var out []vulndb.Package
	if sc.Inventory == "" {
		return out, nil
	}
	err := json.Unmarshal([]byte(sc.Inventory), &out)
	return out, err
}

// SeverityCounts counts findings by severity, non-zero counts only.
func SeverityCounts(fs []Finding) map[string]int {
	out := map[string]int{}
	for _, f := range fs {
		out[f.Severity]++
	}
	return out
}

// Store is what the scanner needs of the metadata index: the scans it
// records, the manifests and blobs of the images it reads, and what
// decides a scan on push.
type Store interface {
	metadata.Scans
	SettingReader
	// Repository reads a repository's own scanOnPush.
	Repository(ctx context.Context, name string) (metadata.Repository, error)
	// Manifest reads the image to scan (an index lists the images to
	// scan); metadata.ErrManifestUnknown if it is gone.
	Manifest(ctx context.Context, repo, reference string) (metadata.Manifest, error)
	// Blob says where a layer's bytes are; metadata.ErrBlobUnknown if
	// repo does not hold it.
	Blob(ctx context.Context, repo string, dgst digest.Digest) (metadata.Blob, error)
}

// Scanner scans images. It is safe for concurrent use.
type Scanner struct {
	store Store
	blobs storage.Driver
	dir   string
	log   *slog.Logger
	now   func() time.Time

	db      atomic.Pointer[database]
	loading sync.Mutex    // one load of the database at a time
	loaded  chan struct{} // a scan loaded newer data: Watch re-matches the stored scans
	// rematched is the generation the completed scans were last all
	// re-matched with; -1 until the first pass.
	rematched atomic.Int64
	queue     chan job

	mu      sync.Mutex
	running map[job]bool // queued or running, so a job is not queued twice
}

type job struct {
	repo string
	dgst digest.Digest
}

// database is the vulnerability data a scanner matches with, and what
// identifies it.
type database struct {
	*vulndb.DB
	generation  int64  // the index's generation when it was loaded
	fingerprint string // of the files it was loaded from
}

// queueLength bounds the scans waiting; beyond it a scan stays PENDING
// until it is asked for again.
const queueLength = 4096

// Option configures a Scanner.
type Option func(*Scanner)

// WithClock makes the Scanner read the time it records for scans (when
// one was asked for, started, completed) from now instead of time.Now.
// ECR's StartImageScan allows one scan a day by those times.
func WithClock(now func() time.Time) Option { return func(s *Scanner) { s.now = now } }

// New returns a Scanner over the index, the blob store and the OSV
// database in dir (see vulndb.Load; a missing dir is an empty database).
func New(ctx context.Context, store Store, blobs storage.Driver, dir string, log *slog.Logger, opts ...Option) (*Scanner, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Scanner{store: store, blobs: blobs, dir: dir, log: log, now: time.Now,
		loaded: make(chan struct{}, 1), queue: make(chan job, queueLength), running: map[job]bool{}}
	for _, o := range opts {
		o(s)
	}
	s.rematched.Store(-1)
	gen, err := store.VulnDBGeneration(ctx)
	if err != nil {
		return nil, err
	}
	db, err := s.load(ctx, gen)
	if err != nil {
		return nil, err
	}
	if db.Len() == 0 {
		log.Warn("the vulnerability database is empty: scans will find nothing until OSV data is imported (berth vulndb import)", "dir", dir)
	}
	s.db.Store(db)
	return s, nil
}

// GenerationBumper is what Import needs of the index
// (metadata.Scans.BumpVulnDBGeneration).
type GenerationBumper interface {
	BumpVulnDBGeneration(ctx context.Context) (int64, error)
}

// Import copies the OSV data at src into dir, the scanners' database
// directory, as vulndb.Import does, and then bumps the vulnerability data
// generation in index, so that every scanner sharing the index scans with
// the new data from its next scan on. It returns the number of records
// and the new generation.
func Import(ctx context.Context, index GenerationBumper, src, dir string) (records int, generation int64, err error) {
	if records, err = vulndb.Import(ctx, src, dir); err != nil {
		return 0, 0, err
	}
	if generation, err = index.BumpVulnDBGeneration(ctx); err != nil {
		return records, 0, fmt.Errorf("the data is in %s, but recording its generation failed (running servers load it within scanning.reloadInterval): %w", dir, err)
	}
	return records, generation, nil
}

// SourceUpdatedAt is the newest record of the loaded database.
func (s *Scanner) SourceUpdatedAt() time.Time { return s.db.Load().UpdatedAt() }

// load reads the database in s.dir as generation gen.
func (s *Scanner) load(ctx context.Context, gen int64) (*database, error) {
	fp := fingerprint(s.dir) // before reading: a change while loading is seen next time
	db, err := vulndb.Load(ctx, s.dir)
	if err != nil {
		return nil, err
	}
	return &database{DB: db, generation: gen, fingerprint: fp}, nil
}

// current returns the database to match with: the one loaded, or, when
// the index has a newer generation (new data was imported), that data,
// loaded now.
func (s *Scanner) current(ctx context.Context) (*database, error) {
	gen, err := s.store.VulnDBGeneration(ctx)
	if err != nil {
		return nil, err
	}
	if db := s.db.Load(); db.generation >= gen {
		return db, nil
	}
	s.loading.Lock()
	defer s.loading.Unlock()
	if db := s.db.Load(); db.generation >= gen {
		return db, nil // loaded while this one waited
	}
	db, err := s.load(ctx, gen)
	if err != nil {
		return nil, err
	}
	s.db.Store(db)
	s.log.InfoContext(ctx, "vulnerability database loaded", "generation", gen, "records", db.Len(), "updated", db.UpdatedAt())
	select {
	case s.loaded <- struct{}{}:
	default:
	}
	return db, nil
}

// Enqueue records a PENDING scan of image dgst of repo and queues it.
func (s *Scanner) Enqueue(ctx context.Context, repo string, dgst digest.Digest) error {
	j := job{repo, dgst}
	s.mu.Lock()
	if s.running[j] {
		s.mu.Unlock()
		return nil
	}
	s.running[j] = true
	s.mu.Unlock()
	err := s.store.PutScan(ctx, metadata.Scan{Repository: repo, Digest: dgst, Status: StatusPending, StartedAt: s.now()})
	if err != nil {
		s.done(j)
		return err
	}
	select {
	case s.queue <- j:
	default:
		s.done(j)
		s.log.WarnContext(ctx, "scan queue full; the scan stays pending", "repository", repo, "digest", dgst)
	}
	return nil
}

func (s *Scanner) done(j job) {
	s.mu.Lock()
	delete(s.running, j)
	s.mu.Unlock()
}

// Run scans the images queued in this process with workers goroutines
// until ctx ends: those asked for through it (Enqueue, OnPush) and those
// Resume found. An image is scanned under its claim in the index (see
// claim), so that of the processes sharing the index one scans it, and
// only while its scan is unfinished: a scan another process finished
// since it was queued is not run again. It returns once every goroutine
// it started has, so the index may be closed after it.
func (s *Scanner) Run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-s.queue:
					s.scanQueued(ctx, j)
					s.done(j)
				}
			}
		})
	}
	wg.Wait()
}

// scanQueued scans image j if its scan is still unfinished and no other
// process is scanning it.
func (s *Scanner) scanQueued(ctx context.Context, j job) {
	_, err := s.claim(ctx, j, func(ctx context.Context, sc metadata.Scan) error {
		if sc.Status != StatusPending && sc.Status != StatusInProgress {
			return nil // finished elsewhere since it was queued
		}
		_, err := s.Scan(ctx, j.repo, j.dgst)
		return err
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, metadata.ErrScanUnknown) {
		s.log.ErrorContext(ctx, "scan failed", "repository", j.repo, "digest", j.dgst, "err", err)
	}
}

// claim runs fn with the scan of image j, read afresh, while this process
// holds the image's claim in the index: processes sharing the index (the
// replicas on PostgreSQL) scan or re-match an image one at a time, and a
// process that dies mid-scan loses its claim with its connection, so
// that the next Resume anywhere takes the scan over. It reports false,
// without running fn, when another process holds the claim; the error is
// fn's or the index's (metadata.ErrScanUnknown when the image has no
// scan any more).
func (s *Scanner) claim(ctx context.Context, j job, fn func(context.Context, metadata.Scan) error) (bool, error) {
	var err error
	ran, cerr := metadata.Claim(ctx, s.store, "scan:"+j.repo+"@"+j.dgst.String(), func(ctx context.Context) {
		var sc metadata.Scan
		if sc, err = s.store.Scan(ctx, j.repo, j.dgst); err == nil {
			err = fn(ctx, sc)
		}
	})
	if cerr != nil {
		return ran, cerr
	}
	return ran, err
}

// Resume queues, at once and then every interval until ctx ends, the
// unfinished scans (PENDING or IN_PROGRESS) in the index that are not
// queued here: those a restart or a full queue left, and those of a
// process sharing the index that died mid-scan. Run scans them unless
// another process holds them, so Resume is the work that must run once
// among the processes sharing the index (see Rescan), and interval is
// how long a dead process's scan waits for another to take it over.
func (s *Scanner) Resume(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() { s.resume(ctx) })
}

// Rescan is the scanner's work that must run once however many processes
// share the index, until ctx ends: resuming the unfinished scans every
// resumeEvery (Resume) and re-matching the stored scans when the
// vulnerability data changes, checked every reloadEvery (Watch).
func (s *Scanner) Rescan(ctx context.Context, resumeEvery, reloadEvery time.Duration) {
	var wg sync.WaitGroup
	wg.Go(func() { s.Resume(ctx, resumeEvery) })
	s.Watch(ctx, reloadEvery)
	wg.Wait()
}

// every runs fn at once and then every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// resume queues the unfinished scans not queued here.
func (s *Scanner) resume(ctx context.Context) {
	repo, dgst := "", digest.Digest("")
	for {
		page, err := s.store.UnfinishedScans(ctx, repo, dgst, 500)
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "resuming unfinished scans", "err", err)
			}
			return
		}
		for _, sc := range page {
			repo, dgst = sc.Repository, sc.Digest
			j := job{sc.Repository, sc.Digest}
			s.mu.Lock()
			queued := s.running[j]
			s.running[j] = true
			s.mu.Unlock()
			if queued {
				continue
			}
			select {
			case s.queue <- j:
			case <-ctx.Done():
				s.done(j)
				return
			}
		}
		if len(page) < 500 {
			return
		}
	}
}

// Scan scans image dgst of repo now and records the result. An error is
// returned only when the result could not be recorded; a scan that fails
// is recorded as FAILED with the reason.
func (s *Scanner) Scan(ctx context.Context, repo string, dgst digest.Digest) (metadata.Scan, error) {
	started := s.now()
	if prev, err := s.store.Scan(ctx, repo, dgst); err == nil && !prev.StartedAt.IsZero() {
		started = prev.StartedAt
	}
	sc := metadata.Scan{Repository: repo, Digest: dgst, Status: StatusInProgress, StartedAt: started}
	if err := s.store.PutScan(ctx, sc); err != nil {
		return sc, err
	}
	pkgs, err := s.packages(ctx, repo, dgst, 0)
	switch {
	case errors.Is(err, errUnsupported):
		sc.Status, sc.Description = StatusUnsupported, "The image has no operating system or package database the scanner supports."
	case err != nil:
		sc.Status, sc.Description = StatusFailed, "The scan failed: "+err.Error()
	default:
		return s.record(ctx, sc, pkgs)
	}
	sc.CompletedAt = s.now()
	return sc, s.store.PutScan(ctx, sc)
}

// record matches pkgs against the current database and stores a
// COMPLETE scan.
func (s *Scanner) record(ctx context.Context, sc metadata.Scan, pkgs []vulndb.Package) (metadata.Scan, error) {
	db, err := s.current(ctx)
	if err != nil {
		return sc, err
	}
	findings := toFindings(db.Match(pkgs))
	fj, err := json.Marshal(findings)
	if err != nil {
		return sc, err
	}
	inv, err := json.Marshal(pkgs)
	if err != nil {
		return sc, err
	}
	sc.Status, sc.Description = StatusComplete, "The scan was completed successfully."
	sc.CompletedAt, sc.SourceUpdatedAt, sc.VulnDBGeneration = s.now(), db.UpdatedAt(), db.generation
	sc.Findings, sc.Inventory, sc.SeverityCounts = string(fj), string(inv), SeverityCounts(findings)
	return sc, s.store.PutScan(ctx, sc)
}

func toFindings(fs []vulndb.Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		ef := Finding{Name: f.Name, Description: f.Description, URI: f.URI, Severity: f.Severity}
		for _, a := range f.Attributes {
			ef.Attributes = append(ef.Attributes, Attribute{a.Key, a.Value})
		}
		out = append(out, ef)
	}
	return out
}

var errUnsupported = errors.New("scanner: unsupported image")

// manifestJSON is the part of an image manifest or index the scanner reads.
type manifestJSON struct {
	MediaType string `json:"mediaType"`
	Layers    []struct {
		MediaType string        `json:"mediaType"`
		Digest    digest.Digest `json:"digest"`
	} `json:"layers"`
	Manifests []struct {
		Digest digest.Digest `json:"digest"`
	} `json:"manifests"`
}

// packages returns what to match for image dgst: for an index, every
// platform's image's packages (each scanned as its own image too).
func (s *Scanner) packages(ctx context.Context, repo string, dgst digest.Digest, depth int) ([]vulndb.Package, error) {
	m, err := s.store.Manifest(ctx, repo, dgst.String())
	if err != nil {
		return nil, err
	}
	var mj manifestJSON
	if err := json.Unmarshal(m.Content, &mj); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", dgst, err)
	}
	if len(mj.Manifests) > 0 {
		if depth > 0 {
			return nil, errUnsupported // an index inside an index
		}
		var all []vulndb.Package
		supported := false
		for _, child := range mj.Manifests {
			pkgs, err := s.packages(ctx, repo, child.Digest, depth+1)
			if errors.Is(err, errUnsupported) {
				continue
			}
			if err != nil {
				return nil, err
			}
			supported = true
			if _, err := s.record(ctx, metadata.Scan{Repository: repo, Digest: child.Digest, StartedAt: s.now()}, pkgs); err != nil {
				return nil, err
			}
			all = append(all, pkgs...)
		}
		if !supported {
			return nil, errUnsupported
		}
		return all, nil
	}
	var layers []*inventory.Layer
	for _, l := range mj.Layers {
		layer, err := s.layer(ctx, repo, l.Digest)
		if err != nil {
			return nil, err
		}
		layers = append(layers, layer)
	}
	return matchable(inventory.Squash(layers))
}

// layer returns the inventory of layer dgst, from the cache or by reading
// the layer once.
func (s *Scanner) layer(ctx context.Context, repo string, dgst digest.Digest) (*inventory.Layer, error) {
	if cached, err := s.store.LayerInventory(ctx, dgst); err != nil {
		return nil, err
	} else if cached != "" {
		var l inventory.Layer
		if err := json.Unmarshal([]byte(cached), &l); err == nil {
			return &l, nil
		}
	}
	b, err := s.store.Blob(ctx, repo, dgst)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", dgst, err)
	}
	rc, err := s.blobs.Open(ctx, b.Location)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", dgst, err)
	}
	defer rc.Close()
	l, err := inventory.ReadLayer(ctx, dgst.String(), rc)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", dgst, err)
	}
	if j, err := json.Marshal(l); err == nil {
		if err := s.store.PutLayerInventory(ctx, dgst, string(j)); err != nil {
			s.log.WarnContext(ctx, "caching a layer inventory", "layer", dgst, "err", err)
		}
	}
	return l, nil
}

// languageEcosystems maps inventory ecosystems of language packages to OSV's.
var languageEcosystems = map[string]string{"go": "Go", "npm": "npm", "pypi": "PyPI", "maven": "Maven"}

// matchable turns an inventory into packages to match: OS packages by
// source name under the distribution's OSV ecosystem, language packages
// under theirs. Nothing matchable is an unsupported image.
func matchable(inv inventory.Inventory) ([]vulndb.Package, error) {
	osEco := ""
	if inv.Distro != nil {
		osEco = inv.Distro.Ecosystem()
	}
	var out []vulndb.Package
	for _, p := range inv.Packages {
		eco := languageEcosystems[p.Ecosystem]
		name, version := p.Name, p.Version
		if eco == "" { // dpkg, apk
			if osEco == "" {
				continue
			}
			eco, name, version = osEco, p.SourceName, p.SourceVersion
		}
		out = append(out, vulndb.Package{Ecosystem: eco, Name: name, Version: version, DisplayName: p.Name, DisplayVersion: p.Version})
	}
	if osEco == "" && len(out) == 0 {
		return nil, errUnsupported
	}
	return out, nil
}

// Reload brings the loaded database up to date and re-matches the
// completed scans matched with older data, from their stored inventories:
// no layer is read. The database is loaded again when the index has a
// newer generation, or when its files changed since it was loaded (copied
// in by hand rather than imported); then the generation is bumped, so that
// the other scanners sharing the index load it too. It returns how many
// scans it re-matched.
func (s *Scanner) Reload(ctx context.Context) (rescanned int, err error) {
	db, err := s.reload(ctx)
	if err != nil {
		return 0, err
	}
	if s.rematched.Load() >= db.generation {
		return 0, nil
	}
	repo, dgst := "", digest.Digest("")
	for {
		page, err := s.store.CompletedScans(ctx, repo, dgst, 500)
		if err != nil {
			return rescanned, err
		}
		for _, sc := range page {
			repo, dgst = sc.Repository, sc.Digest
			if sc.VulnDBGeneration >= db.generation {
				continue // scanned with this data already
			}
			n, err := s.rematch(ctx, job{sc.Repository, sc.Digest}, db.generation)
			if err != nil {
				return rescanned, err
			}
			rescanned += n
		}
		if len(page) < 500 {
			s.rematched.Store(db.generation)
			return rescanned, nil
		}
	}
}

// rematch re-matches the complete scan of image j, if it was matched with
// data older than generation, under the image's claim (see claim): a scan
// running elsewhere is left to record its own result, which it matches
// with the newest data. It returns how many scans it re-matched, 0 or 1.
func (s *Scanner) rematch(ctx context.Context, j job, generation int64) (int, error) {
	n := 0
	_, err := s.claim(ctx, j, func(ctx context.Context, sc metadata.Scan) error {
		if sc.Status != StatusComplete || sc.VulnDBGeneration >= generation {
			return nil // scanned again since it was listed
		}
		var pkgs []vulndb.Package
		if err := json.Unmarshal([]byte(sc.Inventory), &pkgs); err != nil {
			return nil
		}
		if _, err := s.record(ctx, sc, pkgs); err != nil {
			return err
		}
		n = 1
		return nil
	})
	if errors.Is(err, metadata.ErrManifestUnknown) || errors.Is(err, metadata.ErrScanUnknown) {
		return 0, nil // the image is gone
	}
	return n, err
}

// reload loads the database again if the index has a newer generation or
// its files changed, and returns the database loaded.
func (s *Scanner) reload(ctx context.Context) (*database, error) {
	s.loading.Lock()
	defer s.loading.Unlock()
	cur := s.db.Load()
	gen, err := s.store.VulnDBGeneration(ctx)
	if err != nil {
		return nil, err
	}
	if gen <= cur.generation && fingerprint(s.dir) != cur.fingerprint {
		if gen, err = s.store.BumpVulnDBGeneration(ctx); err != nil {
			return nil, err
		}
	}
	if gen <= cur.generation {
		return cur, nil
	}
	db, err := s.load(ctx, gen)
	if err != nil {
		return nil, err
	}
	s.db.Store(db)
	return db, nil
}

// Watch keeps the database up to date until ctx ends: every interval, and
// as soon as a scan has loaded newer data, it reloads (see Reload) and
// re-matches the stored scans.
func (s *Scanner) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.loaded:
		}
		n, err := s.Reload(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.ErrorContext(ctx, "reloading the vulnerability database", "dir", s.dir, "err", err)
			}
			continue
		}
		if n > 0 {
			db := s.db.Load()
			s.log.InfoContext(ctx, "stored scans re-matched with new vulnerability data", "generation", db.generation,
				"records", db.Len(), "updated", db.UpdatedAt(), "rescanned", n)
		}
	}
}

// fingerprint summarises the names, sizes and times of the files under dir.
func fingerprint(dir string) string {
	var fp string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			fp += fmt.Sprintf("%s:%d:%d;", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return fp
}
