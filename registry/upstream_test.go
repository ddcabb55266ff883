package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/registry"
)

// fakeUpstream covers every repository with a source that has nothing
// and counts the calls that reach it: pull-through authorization is
// decided before the upstream is asked.
type fakeUpstream struct{ calls int }

func (u *fakeUpstream) Source(context.Context, string) (registry.Source, error) { return u, nil }
func (u *fakeUpstream) Manifest(context.Context, string) (registry.UpstreamManifest, error) {
	u.calls++
	return registry.UpstreamManifest{}, registry.ErrUpstreamUnknown
}
func (u *fakeUpstream) Head(context.Context, string) (digest.Digest, error) {
	u.calls++
	return "", registry.ErrUpstreamUnknown
}
func (u *fakeUpstream) Blob(context.Context, digest.Digest) (io.ReadCloser, error) {
	u.calls++
	return nil, errors.New("upstream down")
}
func (u *fakeUpstream) String() string { return "fake" }
func (u *fakeUpstream) Checked(context.Context, string, string) (time.Time, error) {
	return time.Time{}, nil
}
func (u *fakeUpstream) MarkChecked(context.Context, string, string, time.Time) error { return nil }

// pullOnly lets every caller pull, and import from upstreams only if
// importer is set.
type pullOnly struct{ importer bool }

func (p pullOnly) Authorize(r *http.Request, _ string, _ []string) (context.Context, error) {
	return r.Context(), nil
}
func (p pullOnly) Permits(_ context.Context, _, action string) bool {
	return action != "ecr:BatchImportUpstreamImage" || p.importer
}

func TestPullThroughNeedsBatchImportUpstreamImage(t *testing.T) {
	for _, tc := range []struct {
		importer   bool
		wantStatus int
		wantCode   string
		wantCalls  int
	}{
		{false, http.StatusForbidden, "DENIED", 0},
		{true, http.StatusNotFound, "MANIFEST_UNKNOWN", 1},
	} {
		up := &fakeUpstream{}
		tr := newTestRegistryWith(t, registry.Config{Authorizer: pullOnly{tc.importer}, Upstream: up})
		resp := tr.do(t, http.MethodGet, "/v2/hub/app/manifests/v1", nil, nil)
		expect(t, "manifest pull through a rule", resp, tc.wantStatus, tc.wantCode)
		if up.calls != tc.wantCalls {
			t.Errorf("importer %v: the upstream was asked %d times; want %d", tc.importer, up.calls, tc.wantCalls)
		}
		resp = tr.do(t, http.MethodGet, "/v2/hub/app/blobs/"+digest.FromString("x").String(), nil, nil)
		if tc.importer {
			expect(t, "blob with the upstream down", resp, http.StatusServiceUnavailable, "UNAVAILABLE")
			if !strings.Contains(string(resp.Body), "unable to get the image from the upstream fake") {
				t.Errorf("blob error body: %s", resp.Body)
			}
		} else {
			expect(t, "blob pull through a rule", resp, http.StatusForbidden, "DENIED")
		}
	}
}

// blobUpstream serves one blob, its bytes as body makes them, and counts
// the reads.
type blobUpstream struct {
	fakeUpstream
	body func() io.Reader
}

func (u *blobUpstream) Source(context.Context, string) (registry.Source, error) { return u, nil }
func (u *blobUpstream) Blob(context.Context, digest.Digest) (io.ReadCloser, error) {
	u.calls++
	return io.NopCloser(u.body()), nil
}

// A blob is stored behind the stream to the client, a few chunks at a
// time: the client gets every byte, the blob is recorded only if the
// bytes are whole and match, and an upstream failing mid-blob or sending
// other bytes leaves nothing stored (the next pull asks the upstream
// again).
func TestPulledThroughBlobIsStoredOnlyWhole(t *testing.T) {
	blob := make([]byte, 5<<20+123) // more chunks than the stream holds
	for i := range blob {
		blob[i] = byte(i * 7)
	}
	dgst := digest.FromBytes(blob)
	other := bytes.Clone(blob)
	other[len(other)-1]++
	for _, tc := range []struct {
		name      string
		body      func() io.Reader
		wantWhole bool
	}{
		{"whole", func() io.Reader { return bytes.NewReader(blob) }, true},
		{"other bytes", func() io.Reader { return bytes.NewReader(other) }, false},
		{"cut mid-blob", func() io.Reader {
			return io.MultiReader(bytes.NewReader(blob[:3<<20]), iotest.ErrReader(errors.New("connection reset")))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := &blobUpstream{body: tc.body}
			tr := newTestRegistryWith(t, registry.Config{Authorizer: pullOnly{true}, Upstream: up})
			resp, err := http.Get(tr.URL + "/v2/hub/app/blobs/" + dgst.String())
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.wantWhole && (err != nil || !bytes.Equal(got, blob)) {
				t.Fatalf("first pull: %d bytes, %v; want the %d bytes", len(got), err, len(blob))
			}
			if !tc.wantWhole && err == nil && bytes.Equal(got, blob) {
				t.Fatalf("first pull got the whole blob from an upstream that sent it %s", tc.name)
			}
			tr.do(t, http.MethodHead, "/v2/hub/app/blobs/"+dgst.String(), nil, nil)
			want := 2 // not stored: the HEAD asks the upstream again
			if tc.wantWhole {
				want = 1
			}
			if up.calls != want {
				t.Errorf("the upstream was read %d times; want %d", up.calls, want)
			}
		})
	}
}
