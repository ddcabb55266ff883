package scanner_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to cut a replica off
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/postgres"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/scanner/scannertest"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// starts counts, per image, the scans begun (IN_PROGRESS recorded) by
// any replica, and per replica its sweeps for unfinished scans.
type starts struct {
	mu     sync.Mutex
	by     map[digest.Digest][]int // the replicas that began a scan of the image
	sweeps map[int]int
}

// replicaStore is one replica's own connection pool to the shared index,
// counting what the test watches; the index's claims are its own.
type replicaStore struct {
	*postgres.Store
	id     int
	starts *starts
}

func (r replicaStore) PutScan(ctx context.Context, sc metadata.Scan) error {
	err := r.Store.PutScan(ctx, sc)
	if err == nil && sc.Status == scanner.StatusInProgress {
		r.starts.mu.Lock()
		r.starts.by[sc.Digest] = append(r.starts.by[sc.Digest], r.id)
		r.starts.mu.Unlock()
	}
	return err
}

func (r replicaStore) UnfinishedScans(ctx context.Context, repo string, dgst digest.Digest, n int) ([]metadata.Scan, error) {
	r.starts.mu.Lock()
	r.starts.sweeps[r.id]++
	r.starts.mu.Unlock()
	return r.Store.UnfinishedScans(ctx, repo, dgst, n)
}

// stuckBlobs holds every read until the reader's context ends, as a
// replica that stops mid-scan would; reached tells when one began.
type stuckBlobs struct {
	storage.Driver
	reached chan struct{}
}

func (s *stuckBlobs) Open(ctx context.Context, location string) (storage.File, error) {
	s.reached <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// replica is one berth replica's scanner over the shared index.
type replica struct {
	scan   *scanner.Scanner
	store  *postgres.Store
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startReplica opens its own pool to the index at dsn and runs a scanner
// that scans its queue and, like every replica here (not only the one
// holding the "rescan" lock, to test the claims alone), resumes the
// index's unfinished scans every few milliseconds.
func startReplica(t *testing.T, dsn string, id int, st *starts, blobs storage.Driver) *replica {
	t.Helper()
	store, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := scanner.New(t.Context(), replicaStore{store, id, st}, blobs, filepath.Join(t.TempDir(), "osv"), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	r := &replica{scan: s, store: store, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		var wg sync.WaitGroup
		wg.Go(func() { s.Run(ctx, 2) })
		wg.Go(func() { s.Resume(ctx, 20*time.Millisecond) })
		wg.Wait()
	}()
	t.Cleanup(r.stop)
	return r
}

// stop stops the replica as a shutdown does and closes its connections.
func (r *replica) stop() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		r.store.Close()
	})
}

func waitComplete(t *testing.T, store *postgres.Store, repo string, dgst digest.Digest) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		sc, err := store.Scan(t.Context(), repo, dgst)
		if err == nil && sc.Status == scanner.StatusComplete {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan of %s: %s %s, %v; want COMPLETE", dgst, sc.Status, sc.Description, err)
		}
	}
}

// Three replicas share one PostgreSQL index and blob store; images are
// pushed through each of them in turn, and every replica also sweeps the
// index for unfinished scans all the time, so all three see every scan.
// Each image is scanned exactly once.
func TestReplicasScanEachImageOnce(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	blobs, err := filesystem.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	st := &starts{by: map[digest.Digest][]int{}, sweeps: map[int]int{}}
	replicas := make([]*replica, 3)
	for i := range replicas {
		replicas[i] = startReplica(t, dsn, i, st, blobs)
	}
	const images = 24
	var pushed []digest.Digest
	for i := range images {
		d := scannertest.PutDebianImage(t, replicas[0].store, blobs, "app", fmt.Sprintf("v%d", i))
		if err := replicas[i%3].scan.Enqueue(t.Context(), "app", d); err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, d)
	}
	for _, d := range pushed {
		waitComplete(t, replicas[0].store, "app", d)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	used := map[int]bool{}
	for _, d := range pushed {
		if by := st.by[d]; len(by) != 1 {
			t.Errorf("image %s: scans begun by replicas %v; want one", d, by)
		} else {
			used[by[0]] = true
		}
	}
	t.Logf("scans spread over %d replicas; sweeps %v", len(used), st.sweeps)
}

// A replica that stops mid-scan leaves the scan IN_PROGRESS; the other
// replicas, sweeping for unfinished scans, leave it alone while its
// holder lives and take it over once the holder is gone: shut down, or
// cut off from PostgreSQL as a replica killed outright is (its server
// ends its connections, and with them its claims, while the holder itself
// has not noticed yet).
func TestScanTakenOverFromStoppedReplica(t *testing.T) {
	for _, tc := range []struct {
		name string
		gone func(t *testing.T, holder *replica, dsn string)
	}{
		{"shut down", func(t *testing.T, holder *replica, _ string) { holder.stop() }},
		{"cut off", func(t *testing.T, _ *replica, dsn string) {
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'holder'`).Scan(&n); err != nil || n == 0 {
				t.Fatalf("ending the holder's connections: %d, %v", n, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.Shared(t).NewDatabase(t)
			fs, err := filesystem.New(filepath.Join(t.TempDir(), "blobs"))
			if err != nil {
				t.Fatal(err)
			}
			st := &starts{by: map[digest.Digest][]int{}, sweeps: map[int]int{}}
			setup, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer setup.Close()
			d := scannertest.PutDebianImage(t, setup, fs, "app", "stuck")
			stuck := &stuckBlobs{Driver: fs, reached: make(chan struct{}, 1)}
			holder := startReplica(t, dsn+"&application_name=holder", 0, st, stuck)
			if err := holder.scan.Enqueue(t.Context(), "app", d); err != nil {
				t.Fatal(err)
			}
			<-stuck.reached // the holder is reading the layer

			others := []*replica{startReplica(t, dsn, 1, st, fs), startReplica(t, dsn, 2, st, fs)}
			for swept := false; !swept; time.Sleep(10 * time.Millisecond) {
				st.mu.Lock()
				swept = st.sweeps[1] >= 3 && st.sweeps[2] >= 3
				st.mu.Unlock()
			}
			if sc, err := setup.Scan(t.Context(), "app", d); err != nil || sc.Status != scanner.StatusInProgress {
				t.Fatalf("while its holder lives the scan is %s, %v; want IN_PROGRESS", sc.Status, err)
			}
			st.mu.Lock()
			if by := st.by[d]; len(by) != 1 || by[0] != 0 {
				t.Errorf("while its holder lives, scans begun by replicas %v; want only the holder, 0", by)
			}
			st.mu.Unlock()

			tc.gone(t, holder, dsn)
			waitComplete(t, others[0].store, "app", d)
			holder.stop() // a holder cut off ends its scan without recording it
			if sc, err := setup.Scan(t.Context(), "app", d); err != nil || sc.Status != scanner.StatusComplete {
				t.Errorf("after the holder stopped the scan is %s, %v; want COMPLETE", sc.Status, err)
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			if by := st.by[d]; len(by) != 2 || by[1] == 0 {
				t.Errorf("scans begun by replicas %v; want the holder's and then one other's", by)
			}
		})
	}
}
