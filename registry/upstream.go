package registry

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/singleflight"

	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
)

// A pull-through cache (ECR's pull-through cache rules): a repository a
// rule covers is a cache of an upstream repository. A pull of something
// the cache lacks is fetched from the upstream, served and stored; the
// repository is created by the first such pull, with default settings.
// Package pullthrough implements Upstream; this file is what the registry
// does with it: one upstream read per blob however many clients ask at
// once, the bytes streamed to the first client while they are stored, and
// cached tags re-checked at most once per interval.

// actionImport is the action a pull that fetches from an upstream needs
// besides the pull's own, as on ECR.
const actionImport = "ecr:BatchImportUpstreamImage"

// Upstream finds the upstream of a cached repository.
type Upstream interface {
	// Source returns the upstream that repo is a cache of; nil, nil when
	// no pull-through cache rule covers repo.
	Source(ctx context.Context, repo string) (Source, error)
	// Checked returns when tag of repo was last compared with its
	// upstream, the zero time if never, as every replica sees it.
	Checked(ctx context.Context, repo, tag string) (time.Time, error)
	// MarkChecked records that tag of repo was compared with its
	// upstream at at, unless a later comparison is recorded already.
	MarkChecked(ctx context.Context, repo, tag string, at time.Time) error
}

// Source is one upstream repository. Its methods return ErrUpstreamUnknown
// when the upstream answers that it does not have what was asked, and any
// other error when it could not be asked (down, refused the credentials).
type Source interface {
	// Manifest fetches manifest ref (a tag or a digest).
	Manifest(ctx context.Context, ref string) (UpstreamManifest, error)
	// Head returns the digest tag points at upstream.
	Head(ctx context.Context, tag string) (digest.Digest, error)
	// Blob opens blob dgst for reading; the reader fails at the end if
	// the bytes do not match dgst.
	Blob(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error)
	// String names the upstream repository in logs and errors.
	String() string
}

// UpstreamManifest is a manifest as an upstream serves it.
type UpstreamManifest struct {
	Body      []byte
	MediaType string
	Digest    digest.Digest
	// FetchedAt is when berth fetched it (set by the registry): the time
	// its tag was compared with the upstream.
	FetchedAt time.Time
}

// ErrUpstreamUnknown: the upstream does not have the manifest or blob.
var ErrUpstreamUnknown = errors.New("registry: not found upstream")

// upstreamError is a failure to reach the upstream for something the cache
// does not hold.
type upstreamError struct {
	source string
	err    error
}

func (e *upstreamError) Error() string {
	return fmt.Sprintf("unable to get the image from the upstream %s: %v", e.source, e.err)
}

func (e *upstreamError) Unwrap() error { return e.err }

// cache is the registry's pull-through state.
type cache struct {
	upstream Upstream
	interval time.Duration
	flight   singleflight.Group

	mu sync.Mutex
	// checked is when each tag ("repo:tag") was last compared with the
	// upstream as far as this process knows, a memo of the upstream's
	// Checked; a tag not here counts from its image's push.
	checked map[string]time.Time
	// sizes are the sizes of blobs that fetched manifests name, by
	// "repo@digest", so a blob streamed from the upstream can be sent
	// with its Content-Length.
	sizes map[string]int64
	// pending are manifests fetched from the upstream and not yet
	// stored, by "repo:reference" (tag and digest both).
	pending map[string]UpstreamManifest
}

func newCache(u Upstream, interval time.Duration) *cache {
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	return &cache{upstream: u, interval: interval, checked: map[string]time.Time{}, sizes: map[string]int64{}, pending: map[string]UpstreamManifest{}}
}

// source returns the upstream of repo if a rule covers it and the caller
// may import from it; nil when no rule covers repo.
func (reg *Registry) source(ctx context.Context, repo string) (Source, error) {
	if reg.cache == nil {
		return nil, nil
	}
	src, err := reg.cache.upstream.Source(ctx, repo)
	if err != nil || src == nil {
		return nil, err
	}
	if !reg.permits(ctx, repo, actionImport) {
		return nil, ocierr.New(ocierr.Denied, "pulling through the cache rule for "+repo+" needs "+actionImport, nil)
	}
	return src, nil
}

// cachedManifest answers a manifest pull when a pull-through cache is
// configured: from the index when it holds the reference (a tag in a
// repository a rule covers is re-checked upstream once per interval, by a
// caller who may import), from the upstream otherwise. stored is the
// index's manifest, or the error looking it up gave. The rules are read
// only then, so pulls of what is stored cost nothing more. A
// manifest fetched from the upstream is served at once and imported in
// the background (after ImportDelay, so the client that asked leads the
// read of each blob and gets its bytes as they arrive).
func (reg *Registry) cachedManifest(ctx context.Context, repo, ref string, stored metadata.Manifest, lookupErr error) (metadata.Manifest, error) {
	_, byDigest := parseRef(ref)
	now := reg.config.Now()
	var src Source
	if lookupErr == nil {
		if byDigest {
			return stored, nil
		}
		last, due := reg.cache.due(ctx, repo, ref, stored.PushedAt, now)
		if !due {
			return stored, nil
		}
		// A re-check needs a rule and the right to import; without
		// them the cached copy is served as it is.
		reg.cache.memo(repo, ref, now)
		var err error
		if src, err = reg.source(ctx, repo); err != nil || src == nil {
			return stored, nil
		}
		if !reg.claimCheck(ctx, repo, ref, last, now) {
			return stored, nil // another replica compares it, or just has
		}
		d, err := src.Head(ctx, ref)
		switch {
		case err != nil:
			reg.log.WarnContext(ctx, "upstream unreachable; serving the cached tag", "repository", repo, "tag", ref, "upstream", src.String(), "err", err)
			return stored, nil
		case d == stored.Digest:
			return stored, nil
		}
	} else if !errors.Is(lookupErr, metadata.ErrManifestUnknown) && !errors.Is(lookupErr, metadata.ErrTagUnknown) && !errors.Is(lookupErr, metadata.ErrRepositoryUnknown) {
		return metadata.Manifest{}, lookupErr
	} else {
		var err error
		if src, err = reg.source(ctx, repo); err != nil {
			return metadata.Manifest{}, err
		}
		if src == nil {
			return metadata.Manifest{}, lookupErr
		}
	}
	um, err := reg.upstreamManifest(ctx, src, repo, ref)
	if err != nil {
		if lookupErr == nil {
			reg.log.WarnContext(ctx, "upstream failed; serving the cached tag", "repository", repo, "tag", ref, "upstream", src.String(), "err", err)
			return stored, nil
		}
		return metadata.Manifest{}, err
	}
	pm, err := parseManifest(um.MediaType, um.Body)
	if err != nil {
		return metadata.Manifest{}, &upstreamError{src.String(), fmt.Errorf("invalid manifest: %w", err)}
	}
	tag := ""
	if !byDigest {
		tag = ref
	}
	bg := context.WithoutCancel(ctx)
	go func() {
		time.Sleep(reg.config.ImportDelay)
		if _, err := reg.importImage(bg, src, repo, um, tag); err != nil {
			reg.log.WarnContext(bg, "caching from upstream", "repository", repo, "reference", ref, "upstream", src.String(), "err", err)
		}
	}()
	return metadata.Manifest{Repository: repo, Digest: um.Digest, MediaType: pm.MediaType, Content: um.Body, Subject: pm.Subject}, nil
}

// upstreamManifest returns manifest ref of src: from the manifests fetched
// and not yet stored, or from the upstream, one request however many ask.
func (reg *Registry) upstreamManifest(ctx context.Context, src Source, repo, ref string) (UpstreamManifest, error) {
	if um, ok := reg.cache.pendingManifest(repo, ref); ok {
		return um, nil
	}
	v, err, _ := reg.cache.flight.Do("manifest "+repo+":"+ref, func() (any, error) {
		um, err := src.Manifest(context.WithoutCancel(ctx), ref)
		if err != nil {
			return nil, reg.upstreamFailure(src, err, true)
		}
		um.FetchedAt = reg.config.Now()
		if sizes := referenceSizes(um.Body); len(sizes) > 0 {
			reg.cache.noteSizes(repo, sizes)
		}
		reg.cache.addPending(repo, ref, um)
		return um, nil
	})
	if err != nil {
		return UpstreamManifest{}, err
	}
	return v.(UpstreamManifest), nil
}

// importImage stores manifest um in repo with everything it references
// (child manifests and blobs not yet cached), so a cached image is whole,
// and points tag (if not "") at it.
func (reg *Registry) importImage(ctx context.Context, src Source, repo string, um UpstreamManifest, tag string) (metadata.Manifest, error) {
	v, err, _ := reg.cache.flight.Do("import "+repo+"@"+um.Digest.String()+":"+tag, func() (any, error) {
		pm, err := parseManifest(um.MediaType, um.Body)
		if err != nil {
			return nil, &upstreamError{src.String(), fmt.Errorf("invalid manifest: %w", err)}
		}
		for _, r := range pm.References {
			if r.Kind == metadata.RefManifest {
				if _, err := reg.store.Manifest(ctx, repo, r.Digest.String()); err == nil {
					continue
				}
				child, err := reg.upstreamManifest(ctx, src, repo, r.Digest.String())
				if err == nil {
					_, err = reg.importImage(ctx, src, repo, child, "")
				}
				if err != nil {
					return nil, err
				}
				continue
			}
			if _, err := reg.cachedBlob(ctx, src, repo, r.Digest, nil); err != nil {
				return nil, err
			}
		}
		var tags []string
		if tag != "" {
			tags = []string{tag}
		}
		m, err := reg.putImage(ctx, repo, um.MediaType, um.Body, um.Digest, tags, true)
		if err != nil {
			return nil, err
		}
		reg.cache.donePending(repo, tag, um.Digest)
		if tag != "" {
			// Checked when fetched, not when stored: an import can end
			// long after, and the upstream may be gone by then.
			reg.markChecked(ctx, repo, tag, um.FetchedAt)
		}
		reg.log.InfoContext(ctx, "cached from upstream", "repository", repo, "tag", tag, "digest", m.Digest, "upstream", src.String())
		return m, nil
	})
	if err != nil {
		return metadata.Manifest{}, err
	}
	return v.(metadata.Manifest), nil
}

// parseRef tells a digest reference from a tag.
func parseRef(ref string) (digest.Digest, bool) {
	d, err := digest.Parse(ref)
	return d, err == nil
}

// due reports whether tag of repo, cached since pushedAt, should be
// compared with the upstream again at now, and when it was last compared
// as far as this process knows. The upstream's record is read only when
// this process's memo says it is due: another replica, or this one before
// a restart, may have checked since.
func (c *cache) due(ctx context.Context, repo, tag string, pushedAt, now time.Time) (last time.Time, due bool) {
	key := repo + ":" + tag
	c.mu.Lock()
	last, ok := c.checked[key]
	c.mu.Unlock()
	if !ok {
		last = pushedAt
	}
	if now.Sub(last) < c.interval {
		return last, false
	}
	if at, err := c.upstream.Checked(ctx, repo, tag); err == nil && at.After(last) {
		c.memo(repo, tag, at)
		last = at
	}
	return last, now.Sub(last) >= c.interval
}

// memo notes in this process that tag of repo was compared with the
// upstream at at.
func (c *cache) memo(repo, tag string, at time.Time) {
	c.mu.Lock()
	c.checked[repo+":"+tag] = at
	c.mu.Unlock()
}

// advance notes in this process that tag of repo was compared with the
// upstream at at, and reports whether at is the latest comparison this
// process knows of.
func (c *cache) advance(repo, tag string, at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.checked[repo+":"+tag]; ok && at.Before(last) {
		return false
	}
	c.checked[repo+":"+tag] = at
	return true
}

// claimCheck records that tag of repo, last compared with the upstream at
// last as far as this process knows, is compared at now, and reports
// whether this process is to compare it: not when, read again under the
// tag's claim in the index (metadata.Claim), another replica sharing the
// index has compared it since, nor while another holds the claim. So of
// the replicas whose pulls find a tag due at once, one asks the upstream
// and the others serve the cached copy, as the pulls within one process
// do.
func (reg *Registry) claimCheck(ctx context.Context, repo, tag string, last, now time.Time) bool {
	mine := false
	_, err := metadata.Claim(ctx, reg.store, "pullthrough-check:"+repo+":"+tag, func(ctx context.Context) {
		if at, err := reg.cache.upstream.Checked(ctx, repo, tag); err == nil && at.After(last) {
			reg.cache.memo(repo, tag, at)
			return
		}
		reg.markChecked(ctx, repo, tag, now)
		mine = true
	})
	if err != nil {
		reg.log.WarnContext(ctx, "claiming an upstream check", "repository", repo, "tag", tag, "err", err)
	}
	return mine
}

// markChecked records that tag of repo was compared with the upstream at
// at, in this process and where the other replicas see it. An import ends
// after the fetch it records, so a re-check may have recorded a later
// time meanwhile: that one stands.
func (reg *Registry) markChecked(ctx context.Context, repo, tag string, at time.Time) {
	if !reg.cache.advance(repo, tag, at) {
		return
	}
	if err := reg.cache.upstream.MarkChecked(ctx, repo, tag, at); err != nil {
		reg.log.WarnContext(ctx, "recording an upstream check", "repository", repo, "tag", tag, "err", err)
	}
}

func (c *cache) noteSizes(repo string, refs map[digest.Digest]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, n := range refs {
		c.sizes[repo+"@"+d.String()] = n
	}
}

func (c *cache) size(repo string, dgst digest.Digest) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.sizes[repo+"@"+dgst.String()]
	return n, ok
}

func (c *cache) pendingManifest(repo, ref string) (UpstreamManifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	um, ok := c.pending[repo+":"+ref]
	return um, ok
}

func (c *cache) addPending(repo, ref string, um UpstreamManifest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending[repo+":"+ref] = um
	c.pending[repo+":"+um.Digest.String()] = um
}

// donePending forgets a manifest once it is stored.
func (c *cache) donePending(repo, tag string, dgst digest.Digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if um, ok := c.pending[repo+":"+tag]; ok && um.Digest == dgst {
		delete(c.pending, repo+":"+tag)
	}
	delete(c.pending, repo+":"+dgst.String())
}

func (c *cache) forgetSize(repo string, dgst digest.Digest) {
	c.mu.Lock()
	delete(c.sizes, repo+"@"+dgst.String())
	c.mu.Unlock()
}

// upstreamFailure words an upstream's error for the client: not found
// upstream is the OCI "unknown" error, anything else an upstream failure.
func (reg *Registry) upstreamFailure(src Source, err error, manifest bool) error {
	if errors.Is(err, ErrUpstreamUnknown) {
		code := ocierr.BlobUnknown
		if manifest {
			code = ocierr.ManifestUnknown
		}
		return ocierr.New(code, "not found in the cache or in its upstream "+src.String(), nil)
	}
	return &upstreamError{src.String(), err}
}

// cachedBlob returns blob dgst of repo, fetching it from src if the cache
// lacks it. One fetch runs per blob however many ask: the first asker
// leads it and, when w is not nil, gets the bytes streamed as they are
// stored (true is returned: the response is written); the others wait for
// it to end and are then served from the cache.
func (reg *Registry) cachedBlob(ctx context.Context, src Source, repo string, dgst digest.Digest, w http.ResponseWriter) (streamed bool, err error) {
	_, err, _ = reg.cache.flight.Do("blob "+repo+"@"+dgst.String(), func() (any, error) {
		if _, err := reg.store.Blob(ctx, repo, dgst); err == nil {
			return nil, nil // stored meanwhile
		}
		// Another repository may hold it: link it, as a mount does.
		if _, err := reg.store.LinkBlob(ctx, repo, dgst); err == nil {
			return nil, nil
		}
		var err error
		streamed, err = reg.fetchBlob(context.WithoutCancel(ctx), src, repo, dgst, w)
		return nil, err
	})
	return streamed, err
}

// fetchBlob reads blob dgst from src once into the blob store, and to w as
// well when w is not nil (a client that goes away stops getting bytes, not
// the store); started says whether w's response has begun. The bytes are
// verified before the blob is recorded.
func (reg *Registry) fetchBlob(ctx context.Context, src Source, repo string, dgst digest.Digest, w http.ResponseWriter) (started bool, err error) {
	body, err := src.Blob(ctx, dgst)
	if err != nil {
		return false, reg.upstreamFailure(src, err, false)
	}
	defer body.Close()
	now := reg.config.Now()
	u := metadata.Upload{ID: newUploadID(), Repository: repo, Algorithm: dgst.Algorithm(), StartedAt: now, UpdatedAt: now}
	if err := reg.store.CreateUpload(ctx, u); err != nil {
		return false, err
	}
	h := u.Algorithm.Hash()
	var out io.Writer = h
	// A size the manifest gave bounds what is read: an upstream that sends
	// more does not fill the disk.
	var in io.Reader = body
	size, sized := reg.cache.size(repo, dgst)
	if sized {
		in = io.LimitReader(body, size+1)
	}
	if w != nil {
		hd := w.Header()
		hd.Set("Docker-Content-Digest", dgst.String())
		hd.Set("Content-Type", "application/octet-stream")
		hd.Set("ETag", `"`+dgst.String()+`"`)
		if sized {
			hd.Set("Content-Length", strconv.FormatInt(size, 10))
		}
		w.WriteHeader(http.StatusOK)
		started = true
		out = io.MultiWriter(h, &lenientWriter{w: w})
	}
	su, err := reg.blobs.Append(ctx, storageUpload(u), io.TeeReader(in, out))
	if err == nil && sized && su.Size != size {
		err = fmt.Errorf("blob %s is %d bytes upstream; its manifest says %d", dgst, su.Size, size)
	}
	if err != nil {
		reg.discard(ctx, u)
		return started, &upstreamError{src.String(), err}
	}
	if w != nil {
		// The client has every byte now, not after the index is written.
		http.NewResponseController(w).Flush()
	}
	u.Size, u.StorageState = su.Size, su.State
	if u.HashState, err = h.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
		return started, err
	}
	if err := reg.store.UpdateUpload(ctx, u, 0); err != nil {
		return started, err
	}
	if err := reg.commit(ctx, u, h, dgst); err != nil {
		return started, err
	}
	reg.cache.forgetSize(repo, dgst)
	return started, nil
}

// lenientWriter passes writes to a client until one fails, then drops the
// rest, so that a client going away does not stop the bytes being stored.
type lenientWriter struct {
	w      io.Writer
	failed bool
}

func (l *lenientWriter) Write(p []byte) (int, error) {
	if !l.failed {
		if _, err := l.w.Write(p); err != nil {
			l.failed = true
		}
	}
	return len(p), nil
}

// referenceSizes returns the sizes a manifest gives its config and layers.
func referenceSizes(body []byte) map[digest.Digest]int64 {
	var m manifestJSON
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	sizes := map[digest.Digest]int64{}
	for _, d := range append(m.Layers, ptrSlice(m.Config)...) {
		if d.Size != nil && d.Digest.Validate() == nil {
			sizes[d.Digest] = *d.Size
		}
	}
	return sizes
}

func ptrSlice(d *descriptor) []descriptor {
	if d == nil {
		return nil
	}
	return []descriptor{*d}
}
