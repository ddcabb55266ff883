package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The bench's client against its own minimal server: push, pull, resolve.
func TestPushPullAgainstMinimalServer(t *testing.T) {
	dir := t.TempDir()
	h, err := minimalHandler(dir + "/srv")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newRegClient(srv.URL)
	defer c.close()

	layers, err := makeLayerFiles(t.Context(), dir, 2, 1<<20+3)
	if err != nil {
		t.Fatal(err)
	}
	im := largeImage(layers, 0)
	if err := c.pushImage(t.Context(), im, true); err != nil {
		t.Fatal(err)
	}
	n, err := c.pullImage(t.Context(), im)
	if err != nil {
		t.Fatal(err)
	}
	if n != im.bytes() {
		t.Fatalf("pulled %d bytes, want %d", n, im.bytes())
	}
	if err := c.headManifest(t.Context(), im); err != nil {
		t.Fatal(err)
	}
	for _, small := range smallImages(0, 5) {
		if err := c.pushImage(t.Context(), small, true); err != nil {
			t.Fatal(err)
		}
	}
}

// An unexpected status comes back as a requestError with the request and
// the response body, which aborts the run.
func TestUnexpectedStatusCarriesRequestAndBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			w.Header().Set("Location", r.URL.Path+"abc")
			w.WriteHeader(http.StatusAccepted)
		default:
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}`, http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	c := newRegClient(srv.URL)
	defer c.close()

	err := c.pushBlob(t.Context(), "a/b", memBlob(mediaOCILayer, []byte("hello")), false)
	var re *requestError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a requestError", err)
	}
	msg := err.Error()
	for _, want := range []string{"PATCH", "/v2/a/b/blobs/uploads/abc", "500", "disk on fire"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 1000; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if got := percentile(d, 0.50); got != 500*time.Millisecond {
		t.Errorf("p50 = %v", got)
	}
	if got := percentile(d, 0.99); got != 990*time.Millisecond {
		t.Errorf("p99 = %v", got)
	}
	if got := percentile(d[:1], 0.99); got != time.Millisecond {
		t.Errorf("p99 of one = %v", got)
	}
}

func TestMedianAndPairedRatio(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median = %v", got)
	}
	if got := median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("median = %v", got)
	}
	m := &metric{target: 2}
	for _, v := range [][2]float64{{10, 5}, {30, 10}, {9, 9}} {
		m.add(slotBerth, v[0])
		m.add(slotDist, v[1])
	}
	// Per-run ratios 2, 3, 1: median 2, met at target 2.
	if got := m.ratio(); got != 2 || !m.met() {
		t.Errorf("ratio = %v, met = %v", got, m.met())
	}
}

func TestOrderRotates(t *testing.T) {
	who := []int{0, 1, 2}
	firsts := map[int]bool{}
	for run := 0; run < 3; run++ {
		o := order(who, 0, run)
		if len(o) != 3 {
			t.Fatalf("order = %v", o)
		}
		firsts[o[0]] = true
	}
	if len(firsts) != 3 {
		t.Errorf("not every server went first: %v", firsts)
	}
	if got := order([]int{0, 1}, 1, 0); !reflect.DeepEqual(got, []int{1, 0}) {
		t.Errorf("order = %v", got)
	}
}

// A registry that answers blob GETs with a 307 to another server: the
// client follows it, and the bytes count only when they come from the host
// it was told to expect.
func TestBlobRedirectIsFollowedAndChecked(t *testing.T) {
	data := []byte("layer bytes behind a presigned URL")
	d := descriptor{MediaType: mediaOCILayer, Digest: sha256Digest(data), Size: int64(len(data))}
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.URL.Query().Get("X-Amz-Signature") != "sig" {
			http.Error(w, "bad credentials", http.StatusForbidden)
			return
		}
		w.Write(data)
	}))
	defer store.Close()
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", store.URL+"/bucket/key?X-Amz-Signature=sig")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer reg.Close()

	c := newRegClient(reg.URL)
	defer c.close()
	c.blobHost = strings.TrimPrefix(store.URL, "http://")
	if n, err := c.getBlob(t.Context(), "a/b", d); err != nil || n != d.Size {
		t.Fatalf("redirected GET: %d bytes, %v", n, err)
	}
	c.blobHost = "" // expect the registry itself to serve the bytes
	if _, err := c.getBlob(t.Context(), "a/b", d); err == nil || !strings.Contains(err.Error(), "after redirects") {
		t.Fatalf("redirect to an unexpected host: got %v", err)
	}
}

func TestChildEnvDropsOtherSettings(t *testing.T) {
	t.Setenv("BERTH_STORAGE_S3_BUCKET", "elsewhere")
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("HOME", "/home/someone")
	env := strings.Join(childEnv("HOME=/tmp/m", "MINIO_ROOT_USER=u"), "\n")
	for _, bad := range []string{"BERTH_STORAGE_S3_BUCKET", "AWS_ACCESS_KEY_ID", "HOME=/home/someone"} {
		if strings.Contains(env, bad) {
			t.Errorf("child environment keeps %s", bad)
		}
	}
	for _, good := range []string{"HOME=/tmp/m", "MINIO_ROOT_USER=u"} {
		if !strings.Contains(env, good) {
			t.Errorf("child environment lacks %s", good)
		}
	}
}
