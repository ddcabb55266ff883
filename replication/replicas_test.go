package replication_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/postgres"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/replication"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// cluster is berth replicas sharing one PostgreSQL index and blob store,
// replicating to one destination that notes which replica put each
// manifest.
type cluster struct {
	dsn    string
	blobs  storage.Driver
	index  *postgres.Store // for the test's own reads
	dest   *httptest.Server
	destID replication.DestinationID

	mu   sync.Mutex
	puts map[string][]int // manifest digest → the replicas that put it, in order
	// hold, when set, holds manifest puts until the putting replica goes.
	hold    bool
	reached chan struct{}
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{dsn: pgtest.Shared(t).NewDatabase(t), puts: map[string][]int{}, reached: make(chan struct{}, 1),
		destID: replication.DestinationID{Region: "eu-west-1", RegistryID: "222222222222"}}
	var err error
	if c.blobs, err = filesystem.New(filepath.Join(t.TempDir(), "blobs")); err != nil {
		t.Fatal(err)
	}
	if c.index, err = postgres.Open(t.Context(), c.dsn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.index.Close() })
	cfg, _ := json.Marshal(replication.Configuration{Rules: []replication.Rule{{Destinations: []replication.DestinationID{c.destID}}}})
	if err := c.index.PutSetting(t.Context(), replication.ConfigSetting, string(cfg)); err != nil {
		t.Fatal(err)
	}
	dest := newNode(t, nil, destUser, destPass)
	c.dest = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ref, ok := strings.Cut(r.URL.Path, "/manifests/"); ok && r.Method == http.MethodPut && strings.HasPrefix(ref, "sha256:") {
			replica, _ := strconv.Atoi(r.Header.Get("X-Replica"))
			c.mu.Lock()
			c.puts[ref] = append(c.puts[ref], replica)
			hold := c.hold
			c.mu.Unlock()
			if hold {
				io.Copy(io.Discard, r.Body) // so that the server sees the client go
				select {
				case c.reached <- struct{}{}:
				default:
				}
				<-r.Context().Done()
				return
			}
		}
		dest.h.ServeHTTP(w, r)
	}))
	t.Cleanup(c.dest.Close)
	return c
}

// replica is one berth replica: its own pool to the index, a registry to
// push through and a replicator working the shared queue every few
// milliseconds.
type replica struct {
	srv    *httptest.Server
	rep    *replication.Replicator
	store  *postgres.Store
	reads  *atomic.Int64 // of the queue
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// queueReads counts a replica's reads of the replication queue.
type queueReads struct {
	*postgres.Store
	n *atomic.Int64
}

func (q queueReads) DueReplications(ctx context.Context, now time.Time, n int) ([]metadata.Replication, error) {
	q.n.Add(1)
	return q.Store.DueReplications(ctx, now, n)
}

// tagged marks each request of a replica with its number.
type tagged struct{ id int }

func (tr tagged) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Replica", strconv.Itoa(tr.id))
	return http.DefaultTransport.RoundTrip(r)
}

func (c *cluster) start(t *testing.T, id int) *replica {
	t.Helper()
	store, err := postgres.Open(t.Context(), c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	local := registry.New(store, c.blobs, log, registry.Config{NoPullTimes: true})
	reads := new(atomic.Int64)
	rep := replication.New(queueReads{store, reads}, local, []replication.Destination{{DestinationID: c.destID, Endpoint: c.dest.URL, Username: destUser, Password: destPass}},
		replication.Config{Poll: 5 * time.Millisecond, Transport: tagged{id}, Log: log})
	reg := registry.New(store, c.blobs, log, registry.Config{CreateOnPush: true, Pushed: func(ctx context.Context, m metadata.Manifest) {
		if err := rep.Pushed(ctx, m.Repository, m.Digest); err != nil {
			t.Errorf("queueing: %v", err)
		}
	}})
	ctx, cancel := context.WithCancel(t.Context())
	r := &replica{srv: httptest.NewServer(reg), rep: rep, store: store, reads: reads, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		rep.Run(ctx)
	}()
	t.Cleanup(r.stop)
	return r
}

// stop stops the replica as a shutdown does and closes its connections.
func (r *replica) stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		r.srv.Close()
		r.store.Close()
	})
}

// push pushes a small random image through r as app:tag.
func (r *replica) push(t *testing.T, tag string) digest.Digest {
	t.Helper()
	img, _ := random.Image(1024, 1)
	ref, err := name.ParseReference(strings.TrimPrefix(r.srv.URL, "http://") + "/app:" + tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return digest.Digest(d.String())
}

// waitComplete waits until the replication of d is recorded COMPLETE.
func (c *cluster) waitComplete(t *testing.T, d digest.Digest) metadata.Replication {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		rs, err := c.index.ReplicationStatuses(t.Context(), "app", d)
		if err == nil && len(rs) == 1 && rs[0].Status == metadata.ReplicationComplete {
			return rs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("replication of %s: %+v, %v; want COMPLETE", d, rs, err)
		}
	}
}

// Three replicas each work the shared queue as often as they can; images
// are pushed through each in turn. Each image is copied to the
// destination exactly once, by whichever replica claimed it.
func TestReplicasCopyEachImageOnce(t *testing.T) {
	c := newCluster(t)
	replicas := []*replica{c.start(t, 0), c.start(t, 1), c.start(t, 2)}
	var pushed []digest.Digest
	for i := range 12 {
		pushed = append(pushed, replicas[i%len(replicas)].push(t, fmt.Sprintf("v%d", i)))
	}
	for _, d := range pushed {
		if r := c.waitComplete(t, d); r.Attempts != 0 {
			t.Errorf("replication of %s: %d failed attempts; want none", d, r.Attempts)
		}
	}
	// Let the replicators read the queue once more: a copy made twice
	// would show now.
	for _, r := range replicas {
		r.rep.RunOnce(t.Context())
		r.stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range pushed {
		if by := c.puts[d.String()]; len(by) != 1 {
			t.Errorf("image %s put to the destination by replicas %v; want once", d, by)
		}
	}
}

// A replica that stops mid-copy leaves the copy due; the others leave it
// alone while its holder lives and make it once the holder has stopped.
func TestCopyTakenOverFromStoppedReplica(t *testing.T) {
	c := newCluster(t)
	c.hold = true
	holder := c.start(t, 0)
	d := holder.push(t, "stuck")
	<-c.reached // the holder is putting the manifest
	others := []*replica{c.start(t, 1), c.start(t, 2)}
	// Several reads of the queue by each, unless one puts the manifest.
	for read := false; !read; time.Sleep(5 * time.Millisecond) {
		c.mu.Lock()
		read = others[0].reads.Load() >= 5 && others[1].reads.Load() >= 5 || len(c.puts[d.String()]) > 1
		c.mu.Unlock()
	}
	c.mu.Lock()
	if by := c.puts[d.String()]; len(by) != 1 || by[0] != 0 {
		t.Errorf("while its holder lives, manifest puts by replicas %v; want only the holder's, 0", by)
	}
	c.hold = false
	c.mu.Unlock()

	holder.stop()
	c.waitComplete(t, d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if by := c.puts[d.String()]; len(by) != 2 || by[1] == 0 {
		t.Errorf("manifest puts by replicas %v; want the holder's and then one other's", by)
	}
}
