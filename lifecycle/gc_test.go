package lifecycle_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
)

// gcRig is a registry over a real SQLite index and filesystem blob store,
// served over HTTP, with a Collector on the same stores, all reading the
// time from one clock.
type gcRig struct {
	root  string
	store metadata.Store
	blobs storage.Driver
	srv   *httptest.Server
	gc    *lifecycle.Collector
}

func newGCRig(t *testing.T, grace time.Duration, now func() time.Time) *gcRig {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(t.Context(), filepath.Join(dir, "berth.db"), sqlite.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs, err := filesystem.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(store, blobs, nil, registry.Config{CreateOnPush: true, Now: now})
	t.Cleanup(func() { reg.Close(context.Background()) })
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	gc := lifecycle.NewCollector(store, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)), lifecycle.WithClock(now))
	gc.Grace, gc.UploadTimeout = grace, grace
	return &gcRig{root: filepath.Join(dir, "store"), store: store, blobs: blobs, srv: srv, gc: gc}
}

// storedBytes sums the files under the blob store's root.
func (g *gcRig) storedBytes(t *testing.T) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(g.root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// do sends a request and returns the status and body.
func (g *gcRig) do(method, path string, body []byte, contentType string) (int, []byte, error) {
	req, err := http.NewRequest(method, g.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

const manifestType = "application/vnd.oci.image.manifest.v1+json"

// image is an image a client pushed and expects to pull back.
type image struct {
	manifest []byte
	blobs    [][]byte // config, then layers
}

func newImage(config []byte, layers ...[]byte) image {
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[`,
		manifestType, digest.FromBytes(config), len(config))
	for i, l := range layers {
		if i > 0 {
			m += ","
		}
		m += fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":%q,"size":%d}`, digest.FromBytes(l), len(l))
	}
	return image{manifest: []byte(m + "]}"), blobs: append([][]byte{config}, layers...)}
}

// push pushes im to repo:tag as docker does: HEAD each blob, upload the
// missing ones (or mount them from another repository), then the manifest.
func (g *gcRig) push(repo, tag string, im image, mountFrom string) error {
	for _, b := range im.blobs {
		d := digest.FromBytes(b)
		status, _, err := g.do("HEAD", "/v2/"+repo+"/blobs/"+d.String(), nil, "")
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			continue
		}
		if mountFrom != "" {
			status, _, err := g.do("POST", "/v2/"+repo+"/blobs/uploads/?mount="+d.String()+"&from="+mountFrom, nil, "")
			if err != nil {
				return err
			}
			if status == http.StatusCreated {
				continue
			}
			if status != http.StatusAccepted {
				return fmt.Errorf("mount %s into %s: %d", d, repo, status)
			}
			// Not mountable (collected or never there): upload instead. The
			// started session is left for the upload timeout to purge.
		}
		if status, body, err := g.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), b, ""); err != nil || status != http.StatusCreated {
			return fmt.Errorf("upload %s to %s: %d %s %v", d, repo, status, body, err)
		}
	}
	if status, body, err := g.do("PUT", "/v2/"+repo+"/manifests/"+tag, im.manifest, manifestType); err != nil || status != http.StatusCreated {
		return fmt.Errorf("put manifest %s:%s: %d %s %v", repo, tag, status, body, err)
	}
	return nil
}

// pull fetches repo:tag and checks every byte.
func (g *gcRig) pull(repo, tag string, im image) error {
	status, body, err := g.do("GET", "/v2/"+repo+"/manifests/"+tag, nil, "")
	if err != nil || status != http.StatusOK || !bytes.Equal(body, im.manifest) {
		return fmt.Errorf("pull manifest %s:%s: %d %v", repo, tag, status, err)
	}
	for _, b := range im.blobs {
		status, got, err := g.do("GET", "/v2/"+repo+"/blobs/"+digest.FromBytes(b).String(), nil, "")
		if err != nil || status != http.StatusOK || !bytes.Equal(got, b) {
			return fmt.Errorf("pull blob %s of %s:%s: %d, %d bytes, %v", digest.FromBytes(b), repo, tag, status, len(got), err)
		}
	}
	return nil
}

// GC runs without pause while clients push (uploading or mounting shared
// layers), retag, delete and pull. No request fails; at the end every
// image that should exist pulls byte for byte, and once the grace period
// has passed the blob store holds exactly the referenced blobs.
//
// The clients and the collector are real goroutines over a real index and
// blob store; only time is the test's. The collector moves the clock on
// after each pass, by half the grace period at most and never past the
// grace period after the start of a client's operation still under way:
// the protocol's one assumption (no client pauses longer than the grace
// period between seeing a blob and the manifest PUT that references it)
// holds by construction, however slowly the machine runs a goroutine.
func TestGCUnderLoad(t *testing.T) {
	const (
		clients = 6
		ops     = 600 // per client
		grace   = time.Hour
	)
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	g := newGCRig(t, grace, clock.Now)
	running := &operations{clock: clock, started: map[int]time.Time{}}
	// A pool of layers the clients share, so that blobs are referenced
	// from many repositories and become garbage only when all go.
	var layers [][]byte
	for i := range 24 {
		layers = append(layers, bytes.Repeat([]byte{byte(i)}, 4096+i*512))
	}

	ctx, stop := context.WithCancel(t.Context())
	var passes, freedBlobs int
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for ctx.Err() == nil {
			rep, err := g.gc.Run(ctx, false)
			if err != nil && ctx.Err() == nil {
				t.Errorf("gc pass: %v", err)
				return
			}
			passes++
			freedBlobs += rep.Blobs
			running.advance(grace/2, grace)
		}
	}()

	type expectation struct {
		repo, tag string
		im        image
	}
	results := make([][]expectation, clients)
	var pushedImages sync.Map // manifest digest -> image, every image ever pushed
	var done [clients]map[string]int
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			live := map[string]image{} // "repo:tag" -> image, this client's own repositories
			done[c] = map[string]int{}
			for n := range ops {
				running.begin(c)
				repo := fmt.Sprintf("c%d/r%d", c, rng.IntN(3))
				switch op := rng.IntN(10); {
				case op < 4 || len(live) == 0: // push a new image
					config := []byte(fmt.Sprintf(`{"client":%d,"n":%d}`, c, n))
					im := newImage(config, layers[rng.IntN(len(layers))], layers[rng.IntN(len(layers))])
					from := ""
					if rng.IntN(2) == 0 {
						from = fmt.Sprintf("c%d/r%d", rng.IntN(clients), rng.IntN(3))
					}
					tag := fmt.Sprintf("t%d", rng.IntN(6))
					pushedImages.Store(digest.FromBytes(im.manifest), im)
					if err := g.push(repo, tag, im, from); err != nil {
						t.Errorf("client %d: %v", c, err)
						return
					}
					live[repo+":"+tag] = im
					done[c]["push"]++
				case op < 6: // retag an image
					key := pick(rng, live)
					im := live[key]
					r, _ := splitRef(key)
					tag := fmt.Sprintf("t%d", rng.IntN(6))
					if status, body, err := g.do("PUT", "/v2/"+r+"/manifests/"+tag, im.manifest, manifestType); err != nil || status != http.StatusCreated {
						t.Errorf("client %d: retag %s as %s: %d %s %v", c, key, tag, status, body, err)
						return
					}
					live[r+":"+tag] = im
					done[c]["retag"]++
				case op < 8: // delete an image and every tag on it
					key := pick(rng, live)
					im := live[key]
					r, _ := splitRef(key)
					status, _, err := g.do("DELETE", "/v2/"+r+"/manifests/"+digest.FromBytes(im.manifest).String(), nil, "")
					if err != nil || status != http.StatusAccepted {
						t.Errorf("client %d: delete %s: %d %v", c, key, status, err)
						return
					}
					for k, other := range live {
						if rr, _ := splitRef(k); rr == r && bytes.Equal(other.manifest, im.manifest) {
							delete(live, k)
						}
					}
					done[c]["delete"]++
				default: // pull
					key := pick(rng, live)
					r, tag := splitRef(key)
					if err := g.pull(r, tag, live[key]); err != nil {
						t.Errorf("client %d: %v", c, err)
						return
					}
					done[c]["pull"]++
				}
				running.end(c)
			}
			for k, im := range live {
				r, tag := splitRef(k)
				results[c] = append(results[c], expectation{r, tag, im})
			}
		}()
	}
	wg.Wait()
	stop()
	<-gcDone
	if t.Failed() {
		return
	}

	// Every image that should exist pulls byte for byte.
	images := 0
	for _, list := range results {
		for _, e := range list {
			images++
			if err := g.pull(e.repo, e.tag, e.im); err != nil {
				t.Errorf("after the run: %v", err)
			}
		}
	}
	// The referenced blobs are those of every manifest still in the index,
	// tagged or not (a retag leaves the image it moved the tag from).
	referenced := map[digest.Digest]int64{}
	repos, err := g.store.ListRepositories(t.Context(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range repos {
		ims, err := g.store.Images(t.Context(), r.Name, metadata.AnyImage(), "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range ims {
			v, ok := pushedImages.Load(im.Digest)
			if !ok {
				t.Fatalf("the index holds a manifest %s nobody pushed", im.Digest)
			}
			for _, b := range v.(image).blobs {
				referenced[digest.FromBytes(b)] = int64(len(b))
			}
		}
	}
	// After the grace period, passes free everything else: one marks what
	// the run left, the next sweeps it.
	for range 3 {
		clock.Advance(grace + time.Second)
		if _, err := g.gc.Run(t.Context(), false); err != nil {
			t.Fatal(err)
		}
	}
	var want int64
	for _, size := range referenced {
		want += size
	}
	if got := g.storedBytes(t); got != want {
		t.Errorf("the blob store holds %d bytes; the %d referenced blobs are %d bytes", got, len(referenced), want)
	}
	for _, list := range results {
		for _, e := range list {
			if err := g.pull(e.repo, e.tag, e.im); err != nil {
				t.Errorf("after the final passes: %v", err)
			}
		}
	}
	t.Logf("%d clients, %d operations each: %v; %d gc passes during the run freed %d blobs and moved the clock %s; %d images and %d blobs (%d bytes) remain",
		clients, ops, done, passes, freedBlobs, running.moved, images, len(referenced), want)
	if freedBlobs == 0 {
		t.Errorf("garbage collection freed nothing during the run; the test did not exercise it")
	}
}

// operations are the clients' operations under way, by client, with the
// time each started: the clock may not pass the grace period after the
// earliest.
type operations struct {
	clock *clocktest.Clock
	moved time.Duration // how far advance moved the clock in all

	mu      sync.Mutex
	started map[int]time.Time
}

// begin records that client c starts an operation now.
func (o *operations) begin(c int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started[c] = o.clock.Now()
}

// end records that client c's operation is over.
func (o *operations) end(c int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.started, c)
}

// advance moves the clock on by step, but never to grace after the start
// of an operation under way. Holding the lock that begin takes, it cannot
// miss an operation that starts meanwhile.
func (o *operations) advance(step, grace time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	to := now.Add(step)
	for _, at := range o.started {
		if limit := at.Add(grace - time.Nanosecond); limit.Before(to) {
			to = limit
		}
	}
	if to.After(now) {
		o.clock.Set(to)
		o.moved += to.Sub(now)
	}
}

func pick(rng *rand.Rand, m map[string]image) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Map order is random but not seeded by rng; sort for a repeatable pick.
	slices.Sort(keys)
	return keys[rng.IntN(len(keys))]
}

func splitRef(key string) (repo, tag string) {
	i := len(key) - 1
	for key[i] != ':' {
		i--
	}
	return key[:i], key[i+1:]
}

// The protocol, step by step: a HEAD of a blob collection has marked keeps
// it, so the manifest push that follows succeeds even when a sweep runs in
// between; a blob nobody touches is swept and its bytes leave the store.
func TestGCKeepsWhatARequestJustSaw(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	g := newGCRig(t, time.Hour, clock.Now)
	ctx := t.Context()
	im := newImage([]byte(`{"config":1}`), []byte("layer bytes"))
	if err := g.push("app", "v1", im, ""); err != nil {
		t.Fatal(err)
	}
	// Delete the manifest: both blobs become garbage; mark them.
	if status, _, _ := g.do("DELETE", "/v2/app/manifests/"+digest.FromBytes(im.manifest).String(), nil, ""); status != http.StatusAccepted {
		t.Fatalf("delete: %d", status)
	}
	future := clock.Now().Add(time.Minute)
	if n, _, err := g.store.MarkGarbage(ctx, future, clock.Now(), "", 100); err != nil || n != 2 {
		t.Fatalf("MarkGarbage = %d, %v", n, err)
	}
	// docker checks the layer (HEAD 200), skips uploading it...
	layer := digest.FromBytes(im.blobs[1])
	if status, _, _ := g.do("HEAD", "/v2/app/blobs/"+layer.String(), nil, ""); status != http.StatusOK {
		t.Fatalf("HEAD: %d", status)
	}
	// ...a sweep runs with every mark past its grace period...
	swept, err := g.store.SweepGarbage(ctx, future, 100)
	if err != nil || len(swept) != 1 || swept[0].Digest != digest.FromBytes(im.blobs[0]) {
		t.Fatalf("SweepGarbage = %v, %v; want the untouched config blob only", swept, err)
	}
	// ...and the push goes on: the layer is still there, the config is
	// uploaded again, the manifest lands and pulls.
	if err := g.push("app", "v1", im, ""); err != nil {
		t.Fatal(err)
	}
	if err := g.pull("app", "v1", im); err != nil {
		t.Fatal(err)
	}
}

// A dry run reports and changes nothing; a pass after the grace period
// frees the bytes and says how many; before it, nothing is touched.
func TestGCDryRunAndReport(t *testing.T) {
	const grace = time.Hour
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	g := newGCRig(t, grace, clock.Now)
	im := newImage([]byte(`{"config":2}`), bytes.Repeat([]byte("x"), 10000))
	if err := g.push("app", "v1", im, ""); err != nil {
		t.Fatal(err)
	}
	g.do("DELETE", "/v2/app/manifests/"+digest.FromBytes(im.manifest).String(), nil, "")
	clock.Advance(grace - time.Second)
	if dry, err := g.gc.Run(t.Context(), true); err != nil || dry.Blobs != 0 {
		t.Fatalf("dry run within the grace period = %+v, %v; want nothing", dry, err)
	}
	if rep, err := g.gc.Run(t.Context(), false); err != nil || rep != (lifecycle.Report{}) {
		t.Fatalf("pass within the grace period = %+v, %v; want nothing done", rep, err)
	}
	clock.Advance(2 * time.Second)
	before := g.storedBytes(t)
	dry, err := g.gc.Run(t.Context(), true)
	if err != nil || dry.Blobs != 2 || dry.Bytes != int64(len(im.blobs[0])+len(im.blobs[1])) {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if g.storedBytes(t) != before {
		t.Fatalf("a dry run changed the store")
	}
	var freed lifecycle.Report
	g.gc.Freed = func(r lifecycle.Report) { freed.Blobs += r.Blobs; freed.Bytes += r.Bytes }
	if rep, err := g.gc.Run(t.Context(), false); err != nil || rep.Marked != 2 || rep.Blobs != 0 {
		t.Fatalf("first pass = %+v, %v; want 2 marked", rep, err)
	}
	clock.Advance(grace - time.Second)
	if rep, err := g.gc.Run(t.Context(), false); err != nil || rep.Blobs != 0 {
		t.Fatalf("pass within the marks' grace period = %+v, %v; want nothing freed", rep, err)
	}
	clock.Advance(2 * time.Second)
	if rep, err := g.gc.Run(t.Context(), false); err != nil || rep.Blobs != 2 {
		t.Fatalf("second pass = %+v, %v; want 2 freed", rep, err)
	}
	if freed.Bytes != dry.Bytes || g.storedBytes(t) != 0 {
		t.Errorf("freed %+v, %d bytes left in the store", freed, g.storedBytes(t))
	}
}

// writtenAfterListing is an index on which a client writes to an upload
// just after a pass has listed it as stale, and before it purges it.
type writtenAfterListing struct {
	lifecycle.CollectorStore
	write func()
}

func (s *writtenAfterListing) StaleUploads(ctx context.Context, cutoff time.Time, n int) ([]metadata.Upload, error) {
	stale, err := s.CollectorStore.StaleUploads(ctx, cutoff, n)
	if len(stale) > 0 && s.write != nil {
		s.write()
		s.write = nil
	}
	return stale, err
}

// An upload resumed between a pass listing it as stale and purging it
// keeps its session and its bytes: the client's next chunk and the
// closing PUT succeed, and the blob holds every byte written.
func TestGCKeepsAnUploadWrittenAfterItsListing(t *testing.T) {
	const timeout = time.Hour
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	g := newGCRig(t, timeout, clock.Now)
	send := func(method, url string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := send("POST", g.srv.URL+"/v2/app/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload: %d", resp.StatusCode)
	}
	location := g.srv.URL + resp.Header.Get("Location")
	first, second := bytes.Repeat([]byte("a"), 1000), bytes.Repeat([]byte("b"), 500)
	if resp := send("PATCH", location, first); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first PATCH: %d", resp.StatusCode)
	}
	clock.Advance(timeout + time.Minute)
	gc := lifecycle.NewCollector(&writtenAfterListing{CollectorStore: g.store, write: func() {
		if resp := send("PATCH", location, second); resp.StatusCode != http.StatusAccepted {
			t.Errorf("PATCH after the listing: %d", resp.StatusCode)
		}
	}}, g.blobs, nil, lifecycle.WithClock(clock.Now))
	gc.UploadTimeout = timeout
	if rep, err := gc.Run(t.Context(), false); err != nil || rep.Uploads != 0 {
		t.Fatalf("pass = %+v, %v; want no upload purged", rep, err)
	}
	whole := append(first, second...)
	dgst := digest.FromBytes(whole)
	if resp := send("PUT", location+"?digest="+dgst.String(), nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("closing PUT: %d", resp.StatusCode)
	}
	status, body, err := g.do("GET", "/v2/app/blobs/"+dgst.String(), nil, "")
	if err != nil || status != http.StatusOK || !bytes.Equal(body, whole) {
		t.Fatalf("GET blob: %d, %d bytes, %v; want 200 and the %d bytes written", status, len(body), err, len(whole))
	}
}
