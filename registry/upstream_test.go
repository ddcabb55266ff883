package registry_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
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
