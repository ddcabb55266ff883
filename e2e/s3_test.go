package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/miniotest"
)

// s3Server starts berth with its data in dataDir and its blobs in bucket
// of m, with authentication off: these tests are about storage.
func s3Server(t *testing.T, m *miniotest.Server, dataDir, bucket string) *server {
	t.Helper()
	return startBerthIn(t, dataDir, "BERTH_AUTH_MODE=none",
		"BERTH_STORAGE_S3_ENDPOINT="+m.Endpoint,
		"BERTH_STORAGE_S3_BUCKET="+bucket,
		"BERTH_STORAGE_S3_ACCESS_KEY="+m.AccessKey,
		"BERTH_STORAGE_S3_SECRET_KEY="+m.SecretKey,
	)
}

// chunk returns n bytes of seeded random data.
func chunk(seed byte, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// send makes one request and returns the response with its body read.
func send(t *testing.T, method, url string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 2 * time.Minute} // a hang fails the test
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// An upload of several chunks started before a restart of berth completes
// after it: the multipart upload and the parts' state live in the session.
func TestS3UploadSurvivesRestart(t *testing.T) {
	m := miniotest.Shared(t)
	dataDir, bucket := t.TempDir(), m.NewBucket(t)
	first := s3Server(t, m, dataDir, bucket)

	a, b := chunk(1, 6<<20+3), chunk(2, 3<<20) // more than a part, then a tail
	blob := append(append([]byte{}, a...), b...)
	dgst := digest.FromBytes(blob)
	resp, _ := send(t, http.MethodPost, "http://"+first.Addr+"/v2/restart/app/blobs/uploads/", nil, nil)
	loc := resp.Header.Get("Location")
	resp, body := send(t, http.MethodPatch, "http://"+first.Addr+loc, a,
		map[string]string{"Content-Range": fmt.Sprintf("0-%d", len(a)-1)})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first PATCH: %s %s", resp.Status, body)
	}
	first.Stop(t)

	second := s3Server(t, m, dataDir, bucket)
	resp, body = send(t, http.MethodPatch, "http://"+second.Addr+loc, b,
		map[string]string{"Content-Range": fmt.Sprintf("%d-%d", len(a), len(blob)-1)})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH after restart: %s %s", resp.Status, body)
	}
	resp, body = send(t, http.MethodPut, "http://"+second.Addr+loc+"?digest="+dgst.String(), nil, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT after restart: %s %s", resp.Status, body)
	}
	resp, body = send(t, http.MethodGet, "http://"+second.Addr+"/v2/restart/app/blobs/"+dgst.String(), nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, blob) {
		t.Fatalf("GET blob after restart: %s, %d bytes, equal %v", resp.Status, len(body), bytes.Equal(body, blob))
	}
}

// MinIO stopped in the middle of a push: berth answers quickly with a
// retryable 503 in the spec's error format, nothing half-written becomes
// visible, and once MinIO is back both the interrupted upload and a fresh
// push of the same blob succeed.
func TestS3StorageOutageDuringPush(t *testing.T) {
	m := miniotest.Start(t) // our own: this test stops it
	srv := s3Server(t, m, t.TempDir(), m.NewBucket(t))
	base := "http://" + srv.Addr + "/v2/outage/app"

	a, b := chunk(3, 5<<20+1), chunk(4, 1<<20)
	blob := append(append([]byte{}, a...), b...)
	dgst := digest.FromBytes(blob)
	resp, _ := send(t, http.MethodPost, base+"/blobs/uploads/", nil, nil)
	loc := "http://" + srv.Addr + resp.Header.Get("Location")
	if resp, body := send(t, http.MethodPatch, loc, a, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH before the outage: %s %s", resp.Status, body)
	}

	m.Stop()
	start := time.Now()
	for _, req := range []struct {
		method, url string
		body        []byte
	}{
		{http.MethodPatch, loc, b},
		{http.MethodPut, loc + "?digest=" + dgst.String(), b}, // the last chunk with the commit
		{http.MethodPost, base + "/blobs/uploads/?digest=" + dgst.String(), blob},
	} {
		resp, body := send(t, req.method, req.url, req.body, nil)
		var e struct{ Errors []struct{ Code string } }
		json.Unmarshal(body, &e)
		if resp.StatusCode != http.StatusServiceUnavailable || len(e.Errors) != 1 || e.Errors[0].Code != "UNAVAILABLE" {
			t.Errorf("%s during the outage: %s %s; want 503 UNAVAILABLE", req.method, resp.Status, body)
		}
	}
	t.Logf("three requests during the outage answered in %v", time.Since(start).Round(time.Millisecond))
	if resp, _ := send(t, http.MethodHead, base+"/blobs/"+dgst.String(), nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD blob during the outage: %s; want 404 (nothing half-written is visible)", resp.Status)
	}

	m.Restart(t)
	// The interrupted upload resumes where the client was told it stands.
	resp, _ = send(t, http.MethodGet, loc, nil, nil)
	if got := resp.Header.Get("Range"); got != fmt.Sprintf("0-%d", len(a)-1) {
		t.Fatalf("upload status after the outage: Range %q; want 0-%d", got, len(a)-1)
	}
	if resp, body := send(t, http.MethodPatch, loc, b, nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH after the outage: %s %s", resp.Status, body)
	}
	if resp, body := send(t, http.MethodPut, loc+"?digest="+dgst.String(), nil, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT after the outage: %s %s", resp.Status, body)
	}
	// And a client that starts over succeeds too.
	if resp, body := send(t, http.MethodPost, base+"/blobs/uploads/?digest="+dgst.String(), blob, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("monolithic push after the outage: %s %s", resp.Status, body)
	}
	resp, body := send(t, http.MethodGet, base+"/blobs/"+dgst.String(), nil, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, blob) {
		t.Fatalf("GET blob after the outage: %s, %d bytes", resp.Status, len(body))
	}
}

// A presigned URL goes only to a request for a blob its repository holds.
func TestS3RedirectOnlyForHeldBlobs(t *testing.T) {
	srv := startBerth(t, append(s3Env(t, true), "BERTH_AUTH_MODE=none")...)
	blob := chunk(5, 1000)
	dgst := digest.FromBytes(blob)
	resp, body := send(t, http.MethodPost, "http://"+srv.Addr+"/v2/owner/app/blobs/uploads/?digest="+dgst.String(), blob, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push: %s %s", resp.Status, body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for repo, want := range map[string]int{"owner/app": http.StatusTemporaryRedirect, "other/app": http.StatusNotFound} {
		resp, err := noFollow.Get("http://" + srv.Addr + "/v2/" + repo + "/blobs/" + dgst.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusNotFound) != (resp.Header.Get("Location") == "") {
			t.Errorf("GET from %s: %s, Location %q; want %d", repo, resp.Status, resp.Header.Get("Location"), want)
		}
	}
}

// Chunk patterns that never line up with S3's 5 MiB part minimum: one big
// PATCH, and a thousand PATCHes from 1 byte to 7 MiB. Each blob reads back
// byte for byte, and berth's memory stays bounded by its part buffers.
func TestS3ChunkPatterns(t *testing.T) {
	m := miniotest.Shared(t)
	srv := s3Server(t, m, t.TempDir(), m.NewBucket(t))
	idle := peakRSSKiB(t, srv.cmd.Process.Pid)
	sizes := map[string][]int{"one PATCH of 96 MiB": {96 << 20}}
	var many []int
	for i := range 1000 {
		switch {
		case i%250 == 0:
			many = append(many, 7<<20)
		case i%50 == 0:
			many = append(many, 1<<20+i)
		default:
			many = append(many, 1+i%7)
		}
	}
	sizes["1000 PATCHes of 1 byte to 7 MiB"] = many

	for name, chunks := range sizes {
		t.Run(name, func(t *testing.T) {
			resp, _ := send(t, http.MethodPost, "http://"+srv.Addr+"/v2/chunks/app/blobs/uploads/", nil, nil)
			loc := "http://" + srv.Addr + resp.Header.Get("Location")
			h := digest.Canonical.Digester()
			offset := 0
			for i, n := range chunks {
				c := chunk(byte(i), n)
				h.Hash().Write(c)
				resp, body := send(t, http.MethodPatch, loc, c,
					map[string]string{"Content-Range": fmt.Sprintf("%d-%d", offset, offset+n-1)})
				if resp.StatusCode != http.StatusAccepted {
					t.Fatalf("PATCH %d (%d bytes at %d): %s %s", i, n, offset, resp.Status, body)
				}
				offset += n
				loc = "http://" + srv.Addr + resp.Header.Get("Location")
			}
			dgst := h.Digest()
			if resp, body := send(t, http.MethodPut, loc+"?digest="+dgst.String(), nil, nil); resp.StatusCode != http.StatusCreated {
				t.Fatalf("PUT: %s %s", resp.Status, body)
			}
			resp, err := http.Get("http://" + srv.Addr + "/v2/chunks/app/blobs/" + dgst.String())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			v := dgst.Verifier()
			if n, err := io.Copy(v, resp.Body); err != nil || n != int64(offset) || !v.Verified() {
				t.Fatalf("GET: %d bytes (want %d), verified %v, %v", n, offset, v.Verified(), err)
			}
		})
	}
	peak := peakRSSKiB(t, srv.cmd.Process.Pid)
	t.Logf("berth peak RSS on S3: %.1f MiB started, %.1f MiB after these uploads", float64(idle)/1024, float64(peak)/1024)
	// What the uploads add, not the binary's own size (which grows as
	// berth does): a 96 MiB PATCH held whole would add at least its own
	// 96 MiB; streamed, the growth is the S3 part buffers and the GC's
	// slack (about 58 MiB when this was written).
	if grown := peak - idle; grown > 88<<10 {
		t.Errorf("the uploads grew berth's peak RSS by %d KiB, more than 88 MiB: is a PATCH held whole?", grown)
	}
}
