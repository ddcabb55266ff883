package e2e

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestLargeBlobBoundedMemory pushes and pulls a 2 GiB layer through one
// PATCH and one GET and checks that the server's peak RSS stays under
// 100 MiB: no upload or blob is ever held in memory. The bytes come from
// a seeded generator, so the test needs no 2 GiB file of its own.
func TestLargeBlobBoundedMemory(t *testing.T) {
	const size = 2 << 30
	const limitKiB = 100 << 10
	s := startBerth(t, "BERTH_AUTH_MODE=none") // memory, not access, is tested here
	base := "http://" + s.Addr + "/v2/big/layer"

	resp := do(t, http.MethodPost, base+"/blobs/uploads/", nil, -1, http.StatusAccepted)
	loc := resp.Header.Get("Location")

	h := sha256.New()
	body := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1}), size), h)
	resp = do(t, http.MethodPatch, "http://"+s.Addr+loc, body, size, http.StatusAccepted)
	if got := resp.Header.Get("Range"); got != fmt.Sprintf("0-%d", size-1) {
		t.Fatalf("Range after PATCH = %q", got)
	}
	dgst := digest.NewDigest(digest.SHA256, h)
	do(t, http.MethodPut, "http://"+s.Addr+resp.Header.Get("Location")+"?digest="+dgst.String(), nil, 0, http.StatusCreated)

	resp, err := http.Get(base + "/blobs/" + dgst.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	verifier := dgst.Verifier()
	n, err := io.Copy(verifier, resp.Body)
	if err != nil || n != size || !verifier.Verified() {
		t.Fatalf("pulled %d bytes (err %v), verified %v; want %d bytes of %s", n, err, verifier.Verified(), size, dgst)
	}

	peak := peakRSSKiB(t, s.cmd.Process.Pid)
	t.Logf("server peak RSS after pushing and pulling %d MiB: %.1f MiB", size>>20, float64(peak)/1024)
	if peak > limitKiB {
		t.Errorf("server peak RSS %d KiB exceeds %d KiB", peak, limitKiB)
	}
}

// do sends one request and fails the test unless it gets status want.
func do(t *testing.T, method, url string, body io.Reader, length int64, want int) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if length >= 0 {
		req.ContentLength = length
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s %s; want %d", method, url, resp.Status, b, want)
	}
	return resp
}

// peakRSSKiB reads a process's peak resident set size (VmHWM).
func peakRSSKiB(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kib
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
