package lb

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"testing"
)

// streamSize is the size of each body TestStreamsLargeBodies moves.
const streamSize = 256 << 20

// stream is streamSize reproducible pseudo-random bytes, generated as they
// are read.
func stream() io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{'b', 'e', 'r', 't', 'h'}), streamSize)
}

// TestStreamsLargeBodies sends a 256 MiB body up through the listener and
// another down, each checked by its SHA-256 at the other end, and checks
// that the whole process (client, listener, target) allocated a small
// fraction of what it moved: bodies stream through the listener, none is
// held. Not parallel: it measures the process's allocations.
func TestStreamsLargeBodies(t *testing.T) {
	sum := sha256.New()
	io.Copy(sum, stream())
	want := hex.EncodeToString(sum.Sum(nil))

	target := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut:
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		case http.MethodGet:
			w.Header().Set("Content-Length", strconv.Itoa(streamSize))
			io.Copy(w, stream())
		}
	}))
	l := listen(t, Config{})
	healthy(t, l, target)
	c := newClient(t)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	// Up: a body of unknown length, sent chunked.
	req, _ := http.NewRequest(http.MethodPut, l.url("/blob"), stream())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != fmt.Sprintf("%d %s", streamSize, want) {
		t.Errorf("the target received %q, want %d bytes hashing to %s", got, streamSize, want)
	}

	// Down: a body with a Content-Length.
	resp, err = c.Get(l.url("/blob"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || n != streamSize || hex.EncodeToString(h.Sum(nil)) != want {
		t.Errorf("the client received %d bytes hashing to %x (%v), want %d hashing to %s", n, h.Sum(nil), err, streamSize, want)
	}

	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("moved %d MiB; the process allocated %d KiB, heap in use went from %d to %d KiB",
		2*streamSize>>20, allocated>>10, before.HeapInuse>>10, after.HeapInuse>>10)
	if allocated > streamSize/16 {
		t.Errorf("the process allocated %d MiB to move two %d MiB bodies: a body is held, not streamed", allocated>>20, streamSize>>20)
	}
}
