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
	"strings"
	"sync"
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
	"github.com/berth-dev/berth/storage/filesystem"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Three replicas share one PostgreSQL index and blob store, each with its
// own replicator working the shared queue as often as it can; images are
// pushed through each replica in turn. Each image is copied to the
// destination exactly once, by whichever replica claimed it.
func TestReplicasCopyEachImageOnce(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	blobs, err := filesystem.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The destination counts the manifests put to it, by digest.
	dest := newNode(t, nil, destUser, destPass)
	var mu sync.Mutex
	puts := map[string]int{}
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ref, ok := strings.Cut(r.URL.Path, "/manifests/"); ok && r.Method == http.MethodPut && strings.HasPrefix(ref, "sha256:") {
			mu.Lock()
			puts[ref]++
			mu.Unlock()
		}
		dest.h.ServeHTTP(w, r)
	}))
	defer counting.Close()
	destID := replication.DestinationID{Region: "eu-west-1", RegistryID: "222222222222"}

	var servers []*httptest.Server
	var index *postgres.Store
	var reps []*replication.Replicator
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for i := range 3 {
		store, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		if i == 0 {
			index = store
			cfg, _ := json.Marshal(replication.Configuration{Rules: []replication.Rule{{Destinations: []replication.DestinationID{destID}}}})
			if err := store.PutSetting(t.Context(), replication.ConfigSetting, string(cfg)); err != nil {
				t.Fatal(err)
			}
		}
		local := registry.New(store, blobs, log, registry.Config{NoPullTimes: true})
		rep := replication.New(store, local, []replication.Destination{{DestinationID: destID, Endpoint: counting.URL, Username: destUser, Password: destPass}},
			replication.Config{Poll: 5 * time.Millisecond, Log: log})
		reg := registry.New(store, blobs, log, registry.Config{CreateOnPush: true, Pushed: func(ctx context.Context, m metadata.Manifest) {
			if err := rep.Pushed(ctx, m.Repository, m.Digest); err != nil {
				t.Errorf("queueing: %v", err)
			}
		}})
		srv := httptest.NewServer(reg)
		t.Cleanup(srv.Close)
		servers, reps = append(servers, srv), append(reps, rep)
		wg.Go(func() { rep.Run(ctx) })
	}

	const images = 12
	var pushed []digest.Digest
	for i := range images {
		img, _ := random.Image(1024, 1)
		srv := servers[i%len(servers)]
		ref := fmt.Sprintf("%s/app:v%d", strings.TrimPrefix(srv.URL, "http://"), i)
		if err := remote.Write(mustRef(t, ref), img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		pushed = append(pushed, digest.Digest(d.String()))
	}
	for _, d := range pushed {
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			rs, err := index.ReplicationStatuses(t.Context(), "app", d)
			if err == nil && len(rs) == 1 && rs[0].Status == metadata.ReplicationComplete {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replication of %s: %+v, %v; want COMPLETE", d, rs, err)
			}
		}
	}
	// Let the replicators read the queue a few more times: a copy made
	// twice would show now.
	for _, rep := range reps {
		rep.RunOnce(t.Context())
	}
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, d := range pushed {
		if n := puts[d.String()]; n != 1 {
			t.Errorf("image %s put to the destination %d times; want once", d, n)
		}
		rs, err := index.ReplicationStatuses(t.Context(), "app", d)
		if err != nil || len(rs) != 1 || rs[0].Status != metadata.ReplicationComplete || rs[0].Attempts != 0 {
			t.Errorf("replication of %s: %+v, %v; want COMPLETE at the first attempt", d, rs, err)
		}
	}
}

func mustRef(t testing.TB, r string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}
