package pullthrough_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata/postgres"
	"github.com/berth-dev/berth/pullthrough"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Three cache replicas share one PostgreSQL index and blob store. When a
// cached tag comes due for its re-check and pulls reach all three at
// once, the upstream is asked once: the replica that claims the check
// asks, the others serve the cached copy.
func TestReplicasRecheckTagOnce(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	upstream := newServer(t, registry.Config{}, upUser, upPass)
	sealer, err := secret.LoadOrCreateMasterKey(filepath.Join(t.TempDir(), "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := filesystem.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var now atomic.Int64 // the replicas' clock; the index stamps pushes with the real one
	now.Store(time.Now().Unix())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var replicas []*httptest.Server
	var index *postgres.Store
	for i := range 3 {
		store, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		pt := pullthrough.New(store, sealer, pullthrough.Config{})
		if i == 0 {
			index = store
			if err := pt.SetCredential(t.Context(), "upstream", pullthrough.Credential{Username: upUser, Password: upPass}); err != nil {
				t.Fatal(err)
			}
			rules, _ := json.Marshal([]pullthrough.Rule{{Prefix: "hub", UpstreamURL: "http://" + upstream.host(), CredentialArn: credArn}})
			if err := store.PutSetting(t.Context(), pullthrough.RulesSetting, string(rules)); err != nil {
				t.Fatal(err)
			}
		}
		reg := registry.New(store, blobs, log, registry.Config{
			Upstream: pt, ImportDelay: time.Millisecond, RecheckInterval: time.Hour,
			Now: func() time.Time { return time.Unix(now.Load(), 0) },
		})
		t.Cleanup(func() { reg.Close(t.Context()) })
		srv := httptest.NewServer(reg)
		t.Cleanup(srv.Close)
		replicas = append(replicas, srv)
	}
	get := func(srv *httptest.Server) error {
		r, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/hub/team/app:v1")
		if err != nil {
			return err
		}
		_, err = remote.Get(r)
		return err
	}

	img, _ := random.Image(1024, 1)
	if err := remote.Write(ref(t, upstream, "team/app:v1"), img, upAuth); err != nil {
		t.Fatal(err)
	}
	if err := get(replicas[0]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := index.Manifest(t.Context(), "hub/team/app", "v1"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hub/team/app:v1 never cached")
		}
	}

	now.Add(int64(61 * time.Minute / time.Second))
	before := upstream.heads.Load()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, srv := range replicas {
		for range 4 {
			wg.Go(func() {
				<-start
				if err := get(srv); err != nil {
					t.Errorf("pull: %v", err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if n := upstream.heads.Load() - before; n != 1 {
		t.Errorf("the upstream was asked %d times for the tag; want once", n)
	}
}
