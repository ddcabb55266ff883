package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/storage"
)

// pushChunked uploads b to repo in chunks, as docker does for big layers:
// POST, a PATCH per chunk, then PUT with the digest.
func (g *gcRig) pushChunked(repo string, b []byte, chunks int) error {
	req, _ := http.NewRequest("POST", g.srv.URL+"/v2/"+repo+"/blobs/uploads/", nil)
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		return fmt.Errorf("start upload to %s: %s", repo, resp.Status)
	}
	step := (len(b) + chunks - 1) / chunks
	for off := 0; off < len(b); off += step {
		chunk := b[off:min(off+step, len(b))]
		req, _ := http.NewRequest("PATCH", g.srv.URL+loc, bytes.NewReader(chunk))
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", off, off+len(chunk)-1))
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("PATCH %s at %d: %s", repo, off, resp.Status)
		}
		loc = resp.Header.Get("Location")
	}
	sep := "?"
	if bytes.ContainsRune([]byte(loc), '?') {
		sep = "&"
	}
	status, body, err := g.do("PUT", loc+sep+"digest="+digest.FromBytes(b).String(), nil, "")
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("PUT %s: %d %s %v", repo, status, body, err)
	}
	return nil
}

// plant writes a file into the blob store's root as a crash would leave
// it, last written an hour ago.
func (g *gcRig) plant(t *testing.T, rel, content string) string {
	t.Helper()
	p := filepath.Join(g.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, past, past); err != nil {
		t.Fatal(err)
	}
	return p
}

// A walk deletes the bytes the index does not know (a blob committed but
// never recorded, an upload file whose session is gone) once they are
// older than the grace period; a dry run only counts them; files that are
// not laid out as the driver writes them are never touched.
func TestGCWalkFindsOrphans(t *testing.T) {
	g := newGCRig(t, 30*time.Minute, time.Now) // the walk compares the files' real times
	im := newImage([]byte(`{"config":"walk"}`), bytes.Repeat([]byte("l"), 5000))
	if err := g.push("app", "v1", im, ""); err != nil {
		t.Fatal(err)
	}
	committed := g.plant(t, "blobs/cr/crashed-after-commit", "bytes nobody recorded")
	upload := g.plant(t, "uploads/session-gone", "half an upload")
	young := g.plant(t, "blobs/yo/young", "maybe a request is on it")
	now := time.Now()
	os.Chtimes(young, now, now)
	foreign := g.plant(t, "blobs/not-ours.txt", "someone else's file")
	orphanBytes := int64(len("bytes nobody recorded") + len("half an upload"))

	dry, err := g.gc.Walk(t.Context(), true)
	if err != nil || dry.Orphans != 2 || dry.Bytes != orphanBytes {
		t.Fatalf("dry walk = %+v, %v; want the 2 old orphans, %d bytes", dry, err, orphanBytes)
	}
	if _, err := os.Stat(committed); err != nil {
		t.Fatalf("a dry walk deleted %s: %v", committed, err)
	}
	rep, err := g.gc.Walk(t.Context(), false)
	if err != nil || rep != dry {
		t.Fatalf("walk = %+v, %v; want what the dry run found, %+v", rep, err, dry)
	}
	for _, p := range []string{committed, upload} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	for _, p := range []string{young, foreign} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was deleted: %v", p, err)
		}
	}
	if err := g.pull("app", "v1", im); err != nil {
		t.Errorf("after the walk: %v", err)
	}

	// A driver that cannot list cannot be walked.
	blind := lifecycle.NewCollector(g.store, struct{ storage.Driver }{g.blobs}, nil)
	if _, err := blind.Walk(t.Context(), false); !errors.Is(err, lifecycle.ErrCannotWalk) {
		t.Errorf("Walk over a driver that cannot list: %v; want ErrCannotWalk", err)
	}
}

// Walks without pause and without a grace period, beside clients that
// push (monolithic and chunked uploads), pull and abandon uploads: no
// request fails and every image pulls byte for byte afterwards, because
// the index alone tells what is in use; the planted orphans are gone.
func TestGCWalkBesideRequests(t *testing.T) {
	const clients, duration = 4, 4 * time.Second
	g := newGCRig(t, time.Hour, time.Now)
	walker := lifecycle.NewCollector(g.store, g.blobs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	walker.Grace, walker.Pace = 0, 1
	orphans := []string{
		g.plant(t, "blobs/or/orphan-blob", "committed, never recorded"),
		g.plant(t, "uploads/orphan-upload", "its session is gone"),
	}

	ctx, stop := context.WithCancel(t.Context())
	var walks, deleted int
	walked := make(chan struct{})
	go func() {
		defer close(walked)
		for ctx.Err() == nil {
			rep, err := walker.Walk(ctx, false)
			if err != nil && ctx.Err() == nil {
				t.Errorf("walk: %v", err)
				return
			}
			walks++
			deleted += rep.Orphans
		}
	}()

	var mu sync.Mutex
	pushed := map[string]image{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 11))
			for n := 0; ctx.Err() == nil; n++ {
				layer := make([]byte, 20000+rng.IntN(50000))
				for i := range layer {
					layer[i] = byte(rng.IntN(256))
				}
				im := newImage([]byte(fmt.Sprintf(`{"client":%d,"n":%d}`, c, n)), layer)
				repo, tag := fmt.Sprintf("c%d", c), fmt.Sprintf("t%d", n)
				switch n % 3 {
				case 0: // an upload abandoned half way: its session stays
					status, _, err := g.do("POST", "/v2/"+repo+"/blobs/uploads/", nil, "")
					if err != nil || status != http.StatusAccepted {
						t.Errorf("client %d: start upload: %d %v", c, status, err)
						return
					}
					fallthrough
				case 1:
					if err := g.pushChunked(repo, layer, 1+rng.IntN(4)); err != nil {
						t.Errorf("client %d: %v", c, err)
						return
					}
				}
				if err := g.push(repo, tag, im, ""); err != nil {
					t.Errorf("client %d: %v", c, err)
					return
				}
				if err := g.pull(repo, tag, im); err != nil {
					t.Errorf("client %d: %v", c, err)
					return
				}
				mu.Lock()
				pushed[repo+":"+tag] = im
				mu.Unlock()
			}
		})
	}
	time.AfterFunc(duration, stop)
	wg.Wait()
	stop()
	<-walked
	if t.Failed() {
		return
	}
	for key, im := range pushed {
		repo, tag := splitRef(key)
		if err := g.pull(repo, tag, im); err != nil {
			t.Errorf("after the walks: %v", err)
		}
	}
	for _, p := range orphans {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the orphan %s is still there: %v", p, err)
		}
	}
	// What is left is what the index knows.
	if rep, err := walker.Walk(t.Context(), true); err != nil || rep.Orphans != 0 {
		t.Errorf("a last dry walk finds %+v, %v; want no orphan", rep, err)
	}
	t.Logf("%d clients pushed %d images beside %d walks, which deleted %d objects", clients, len(pushed), walks, deleted)
	if walks < 2 {
		t.Errorf("only %d walks ran beside the requests", walks)
	}
}
