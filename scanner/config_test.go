package scanner_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/storage/filesystem"
)

// earlierSetting is a scanning configuration as the ECR API stored it
// before the scanner owned it: PutRegistryScanningConfiguration's request,
// under the same key.
const earlierSetting = `{"scanType":"ENHANCED","rules":[` +
	`{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filterType":"WILDCARD","filter":"prod/*"}]},` +
	`{"scanFrequency":"CONTINUOUS_SCAN","repositoryFilters":[{"filterType":"WILDCARD","filter":"team-*"},{"filterType":"WILDCARD","filter":"web"}]}]}`

func openIndex(t *testing.T) *sqlite.Store {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// A configuration stored by an earlier berth reads back whole, and what
// this one saves is in the same form, so an earlier berth reads it too.
func TestConfigurationStoredEarlier(t *testing.T) {
	ctx := t.Context()
	store := openIndex(t)
	if got, err := scanner.LoadConfiguration(ctx, store); err != nil || !reflect.DeepEqual(got, scanner.DefaultConfiguration()) {
		t.Fatalf("LoadConfiguration of a new index = %+v, %v; want the default", got, err)
	}
	if err := store.PutSetting(ctx, "ecr.registryScanningConfiguration", earlierSetting); err != nil {
		t.Fatal(err)
	}
	want := scanner.Configuration{ScanType: scanner.ScanTypeEnhanced, Rules: []scanner.Rule{
		{Frequency: scanner.FrequencyScanOnPush, RepositoryFilters: []string{"prod/*"}},
		{Frequency: scanner.FrequencyContinuous, RepositoryFilters: []string{"team-*", "web"}},
	}}
	got, err := scanner.LoadConfiguration(ctx, store)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadConfiguration = %+v, %v; want %+v", got, err, want)
	}

	if err := scanner.SaveConfiguration(ctx, store, want); err != nil {
		t.Fatal(err)
	}
	saved, err := store.Setting(ctx, "ecr.registryScanningConfiguration")
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal([]byte(saved), &a); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(earlierSetting), &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("saved %s; want the earlier form %s", saved, earlierSetting)
	}
}

func TestFrequency(t *testing.T) {
	c := scanner.Configuration{ScanType: scanner.ScanTypeBasic, Rules: []scanner.Rule{
		{Frequency: scanner.FrequencyContinuous, RepositoryFilters: []string{"team-*"}},
		{Frequency: scanner.FrequencyScanOnPush, RepositoryFilters: []string{"prod/*", "team-b"}},
	}}
	for _, tt := range []struct {
		repo       string
		scanOnPush bool
		want       string
		applied    []string
		onPush     bool
	}{
		{"dev/app", false, scanner.FrequencyManual, nil, false},
		{"dev/app", true, scanner.FrequencyScanOnPush, nil, true},
		{"prod/app", false, scanner.FrequencyScanOnPush, []string{"prod/*"}, true},
		{"prod/team/app", false, scanner.FrequencyManual, nil, false}, // '*' stops at '/'
		{"team-a", false, scanner.FrequencyContinuous, []string{"team-*"}, true},
		{"team-b", false, scanner.FrequencyScanOnPush, []string{"team-*", "team-b"}, true},
	} {
		got, applied := c.Frequency(tt.repo, tt.scanOnPush)
		if got != tt.want || !slices.Equal(applied, tt.applied) || c.ScansOnPush(tt.repo, tt.scanOnPush) != tt.onPush {
			t.Errorf("Frequency(%s, %v) = %s %v, on push %v; want %s %v, %v", tt.repo, tt.scanOnPush, got, applied,
				c.ScansOnPush(tt.repo, tt.scanOnPush), tt.want, tt.applied, tt.onPush)
		}
	}
}

// OnPush queues a scan (a PENDING one in the index) exactly when the
// repository or a rule stored by an earlier berth asks for it.
func TestOnPush(t *testing.T) {
	ctx := t.Context()
	store := openIndex(t)
	blobs, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := scanner.New(ctx, store, blobs, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutSetting(ctx, "ecr.registryScanningConfiguration", earlierSetting); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateRepository(ctx, metadata.Repository{Name: "own", ScanOnPush: true}); err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]bool{"prod/app": true, "web": true, "own": true, "dev/app": false} {
		body := []byte(`{"schemaVersion":2,"repo":"` + repo + `"}`)
		m := metadata.Manifest{Repository: repo, Digest: digest.FromBytes(body), MediaType: "application/vnd.oci.image.manifest.v1+json", Content: body}
		if err := store.PutManifest(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.OnPush(ctx, repo, m.Digest); err != nil {
			t.Fatalf("OnPush(%s): %v", repo, err)
		}
		sc, err := store.Scan(ctx, repo, m.Digest)
		switch {
		case want && (err != nil || sc.Status != scanner.StatusPending):
			t.Errorf("%s: scan after the push = %+v, %v; want PENDING", repo, sc, err)
		case !want && !errors.Is(err, metadata.ErrScanUnknown):
			t.Errorf("%s: scan after the push = %+v, %v; want none", repo, sc, err)
		}
	}
	if err := s.OnPush(ctx, "gone", digest.FromString("x")); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("OnPush to an unknown repository: %v", err)
	}
}
