package registry_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/registry"
)

// ReadBlob reads a small blob of a repository whole, and nothing larger
// than asked or held elsewhere.
func TestReadBlob(t *testing.T) {
	tr := newTestRegistry(t)
	config := []byte(`{"architecture":"amd64","os":"linux","history":[{"created_by":"RUN make"}]}`)
	dgst := tr.pushBlob(t, "team/app", config)
	got, err := tr.reg.ReadBlob(t.Context(), "team/app", dgst, 1<<20)
	if err != nil || !bytes.Equal(got, config) {
		t.Fatalf("ReadBlob = %q, %v; want the config", got, err)
	}
	if _, err := tr.reg.ReadBlob(t.Context(), "team/app", dgst, int64(len(config)-1)); !errors.Is(err, registry.ErrBlobTooLarge) {
		t.Errorf("ReadBlob over its limit: %v; want ErrBlobTooLarge", err)
	}
	if _, err := tr.reg.ReadBlob(t.Context(), "team/other", dgst, 1<<20); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("ReadBlob from a repository that does not hold it: %v; want ErrBlobUnknown", err)
	}
	if _, err := tr.reg.ReadBlob(t.Context(), "team/app", digest.FromString("never pushed"), 1<<20); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("ReadBlob of an unknown digest: %v; want ErrBlobUnknown", err)
	}
}
