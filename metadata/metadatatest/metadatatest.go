// Package metadatatest is the conformance suite every metadata.Store runs:
// the embedded SQLite index today, PostgreSQL for several replicas. A
// backend's test calls Run with a constructor for an empty database:
//
//	func TestStore(t *testing.T) {
//		metadatatest.Run(t, func(t *testing.T) metadatatest.Opener {
//			path := filepath.Join(t.TempDir(), "berth.db")
//			return func(ctx context.Context) (metadata.Store, error) {
//				return sqlite.Open(ctx, path)
//			}
//		})
//	}
//
// The suite checks the contract written on metadata.Store, including what
// the registry relies on without saying so: lexical order is byte order,
// failed writes store nothing, and everything survives a restart.
package metadatatest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// Opener opens the database under test. The suite calls it again after
// closing a store, to check what survives a restart.
type Opener func(ctx context.Context) (metadata.Store, error)

// Run runs the suite. newDatabase returns an Opener for a new, empty
// database; it is called once per subtest and should register its own
// cleanup.
func Run(t *testing.T, newDatabase func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s metadata.Store)
	}{
		{"BlobLinks", testBlobLinks},
		{"PutBlobKeepsEarlierLocation", testPutBlobKeepsEarlierLocation},
		{"UnlinkBlob", testUnlinkBlob},
		{"PutManifest", testPutManifest},
		{"PutManifestAgain", testPutManifestAgain},
		{"PutManifestPushedAt", testPutManifestPushedAt},
		{"MissingReferences", testMissingReferences},
		{"TagsRetarget", testTagsRetarget},
		{"DeleteManifest", testDeleteManifest},
		{"DeleteTag", testDeleteTag},
		{"TagsPaging", testTagsPaging},
		{"TagsOfUnknownRepository", testTagsOfUnknownRepository},
		{"RepositoriesPaging", testRepositoriesPaging},
		{"Referrers", testReferrers},
		{"RecordPulls", testRecordPulls},
		{"Uploads", testUploads},
		{"UploadCompareAndSet", testUploadCompareAndSet},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Users", testUsers},
		{"UserPolicies", testUserPolicies},
		{"AccessKeys", testAccessKeys},
		{"AccessKeyStatus", testAccessKeyStatus},
		{"TouchAccessKey", testTouchAccessKey},
		{"DeleteUserDeletesKeys", testDeleteUserDeletesKeys},
		{"RepositoryPolicy", testRepositoryPolicy},
		{"Repositories", testRepositories},
		{"Images", testImages},
		{"ImageFilter", testImageFilter},
		{"Settings", testSettings},
		{"Garbage", testGarbage},
		{"GarbageFollowsChanges", testGarbageFollowsChanges},
		{"Scans", testScans},
		{"LifecyclePreviews", testLifecyclePreviews},
		{"VulnDBGeneration", testVulnDBGeneration},
		{"UnknownObjects", testUnknownObjects},
		{"Sessions", testSessions},
		{"Statistics", testStatistics},
		{"Browsing", testBrowsing},
		{"Clusters", testClusters},
		{"TaskDefinitions", testTaskDefinitions},
		{"TaskDefinitionRevisionsConcurrent", testTaskDefinitionRevisionsConcurrent},
		{"Tasks", testTasks},
		{"Services", testServices},
		{"LogGroups", testLogGroups},
		{"LogStreams", testLogStreams},
		{"LogEvents", testLogEvents},
		{"FilterLogEvents", testFilterLogEvents},
		{"LogStreamCap", testLogStreamCap},
		{"ExpireLogEvents", testExpireLogEvents},
		{"Functions", testFunctions},
		{"FunctionVersions", testFunctionVersions},
		{"FunctionAliases", testFunctionAliases},
		{"LambdaEvents", testLambdaEvents},
		{"BatchResources", testBatchResources},
		{"BatchJobDefinitions", testBatchJobDefinitions},
		{"BatchJobs", testBatchJobs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, openStore(t, newDatabase(t)))
		})
	}
	t.Run("SurvivesReopen", func(t *testing.T) {
		testSurvivesReopen(t, newDatabase(t))
	})
	t.Run("IdentitiesSurviveReopen", func(t *testing.T) {
		testIdentitiesSurviveReopen(t, newDatabase(t))
	})
	t.Run("PreviewSurvivesReopen", func(t *testing.T) {
		testPreviewSurvivesReopen(t, newDatabase(t))
	})
	t.Run("SessionSurvivesReopen", func(t *testing.T) {
		testSessionSurvivesReopen(t, newDatabase(t))
	})
	t.Run("ECSSurvivesReopen", func(t *testing.T) {
		testECSSurvivesReopen(t, newDatabase(t))
	})
	t.Run("LogsSurviveReopen", func(t *testing.T) {
		testLogsSurviveReopen(t, newDatabase(t))
	})
	t.Run("FunctionsSurviveReopen", func(t *testing.T) {
		testFunctionsSurviveReopen(t, newDatabase(t))
	})
}

func testBlobLinks(t *testing.T, s metadata.Store) {
	b := blob("layer")
	if got, err := s.PutBlob(t.Context(), "team/app", b); err != nil || got != b {
		t.Fatalf("PutBlob = %+v, %v; want %+v, nil", got, err, b)
	}
	if got, err := s.Blob(t.Context(), "team/app", b.Digest); err != nil || got != b {
		t.Errorf("Blob = %+v, %v; want %+v, nil", got, err, b)
	}
	if _, err := s.Blob(t.Context(), "team/other", b.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("Blob in a repository that does not hold it: err = %v; want ErrBlobUnknown", err)
	}
	if _, err := s.Blob(t.Context(), "team/app", blob("never put").Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("Blob of an unknown digest: err = %v; want ErrBlobUnknown", err)
	}
	got, repo, err := s.AnyBlob(t.Context(), b.Digest)
	if err != nil || got != b || repo != "team/app" {
		t.Errorf("AnyBlob = %+v, %q, %v; want %+v, team/app, nil", got, repo, err, b)
	}
	if _, _, err := s.AnyBlob(t.Context(), blob("never put").Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("AnyBlob of an unknown digest: err = %v; want ErrBlobUnknown", err)
	}
	// Linking a blob creates the repository.
	assertStrings(t, "Repositories", allRepositories(t, s), []string{"team/app"})
}

func testPutBlobKeepsEarlierLocation(t *testing.T, s metadata.Store) {
	first := blob("layer")
	mustPutBlob(t, s, "a", first)
	again := first
	again.Location = "somewhere/else"
	got, err := s.PutBlob(t.Context(), "b", again)
	if err != nil || got != first {
		t.Fatalf("PutBlob of a known digest = %+v, %v; want the earlier %+v", got, err, first)
	}
	if got, err := s.Blob(t.Context(), "b", first.Digest); err != nil || got != first {
		t.Errorf("Blob in the second repository = %+v, %v; want %+v", got, err, first)
	}
	// Putting it again into the same repository changes nothing.
	if got, err := s.PutBlob(t.Context(), "a", again); err != nil || got != first {
		t.Errorf("PutBlob into a repository already holding it = %+v, %v; want %+v", got, err, first)
	}
}

func testUnlinkBlob(t *testing.T, s metadata.Store) {
	b := blob("shared layer")
	mustPutBlob(t, s, "a", b)
	mustPutBlob(t, s, "b", b)
	if err := s.UnlinkBlob(t.Context(), "a", b.Digest); err != nil {
		t.Fatalf("UnlinkBlob: %v", err)
	}
	if _, err := s.Blob(t.Context(), "a", b.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("Blob after UnlinkBlob: err = %v; want ErrBlobUnknown", err)
	}
	if _, err := s.Blob(t.Context(), "b", b.Digest); err != nil {
		t.Errorf("Blob in the other repository after UnlinkBlob: %v", err)
	}
	if _, repo, err := s.AnyBlob(t.Context(), b.Digest); err != nil || repo != "b" {
		t.Errorf("AnyBlob after UnlinkBlob from a = %q, %v; want b, nil", repo, err)
	}
	for _, repo := range []string{"a", "never/created"} {
		if err := s.UnlinkBlob(t.Context(), repo, b.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
			t.Errorf("UnlinkBlob from %s, which does not hold it: err = %v; want ErrBlobUnknown", repo, err)
		}
	}
	if err := s.UnlinkBlob(t.Context(), "b", b.Digest); err != nil {
		t.Fatalf("UnlinkBlob from b: %v", err)
	}
	if _, _, err := s.AnyBlob(t.Context(), b.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("AnyBlob once no repository holds it: err = %v; want ErrBlobUnknown", err)
	}
}

func testPutManifest(t *testing.T, s metadata.Store) {
	cfg, layer := blob("config"), blob("layer")
	mustPutBlob(t, s, "app", cfg, layer)
	m := manifest("app", "image", cfg.Digest, layer.Digest)
	m.ArtifactType = "application/vnd.example.config+json"
	m.Subject = digest.FromString("subject")
	before := time.Now()
	mustPutManifest(t, s, m, "v1", "latest")

	for _, ref := range []string{m.Digest.String(), "v1", "latest"} {
		got, err := s.Manifest(t.Context(), "app", ref)
		if err != nil {
			t.Fatalf("Manifest(%s): %v", ref, err)
		}
		if got.Repository != "app" || got.Digest != m.Digest || got.MediaType != m.MediaType ||
			got.ArtifactType != m.ArtifactType || string(got.Content) != string(m.Content) || got.Subject != m.Subject {
			t.Errorf("Manifest(%s) = %+v; want %+v", ref, got, m)
		}
		if got.PushedAt.Before(before.Add(-time.Minute)) || got.PushedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("Manifest(%s).PushedAt = %v; want about %v", ref, got.PushedAt, before)
		}
		if !got.LastPulledAt.IsZero() {
			t.Errorf("Manifest(%s).LastPulledAt = %v; want zero before any pull", ref, got.LastPulledAt)
		}
	}
	for _, tt := range []struct{ repo, ref string }{
		{"app", "v2"},
		{"app", digest.FromString("other").String()},
		{"other", "v1"},
		{"other", m.Digest.String()},
	} {
		if _, err := s.Manifest(t.Context(), tt.repo, tt.ref); !errors.Is(err, metadata.ErrManifestUnknown) {
			t.Errorf("Manifest(%s, %s): err = %v; want ErrManifestUnknown", tt.repo, tt.ref, err)
		}
	}
	assertStrings(t, "Tags", allTags(t, s, "app"), []string{"latest", "v1"})
}

// Pushing a manifest again (docker does, for every tag) keeps it and adds
// the new tags.
func testPutManifestAgain(t *testing.T, s metadata.Store) {
	mustPutBlob(t, s, "app", blob("config"))
	m := manifest("app", "image", blob("config").Digest)
	mustPutManifest(t, s, m, "v1")
	mustPutManifest(t, s, m, "v2")
	mustPutManifest(t, s, m)
	assertStrings(t, "Tags", allTags(t, s, "app"), []string{"v1", "v2"})
	if got, err := s.Manifest(t.Context(), "app", "v1"); err != nil || got.Digest != m.Digest {
		t.Errorf("Manifest(v1) = %s, %v; want %s", got.Digest, err, m.Digest)
	}
}

// A push time the caller gives is the one recorded; a manifest pushed
// again keeps its first.
func testPutManifestPushedAt(t *testing.T, s metadata.Store) {
	mustPutBlob(t, s, "app", blob("config"))
	m := manifest("app", "image", blob("config").Digest)
	m.PushedAt = time.Date(2021, 3, 4, 5, 6, 7, 8, time.UTC)
	mustPutManifest(t, s, m, "v1")
	again := m
	again.PushedAt = m.PushedAt.Add(time.Hour)
	mustPutManifest(t, s, again, "v2")
	for _, ref := range []string{"v1", "v2"} {
		if got, err := s.Manifest(t.Context(), "app", ref); err != nil || !got.PushedAt.Equal(m.PushedAt) {
			t.Errorf("Manifest(%s).PushedAt = %v, %v; want %v", ref, got.PushedAt, err, m.PushedAt)
		}
	}
}

func testMissingReferences(t *testing.T, s metadata.Store) {
	held := blob("held")
	elsewhere := blob("held by another repository")
	mustPutBlob(t, s, "app", held)
	mustPutBlob(t, s, "other", elsewhere)
	child := manifest("app", "child", held.Digest)
	mustPutManifest(t, s, child)
	missing1, missing2 := digest.FromString("missing 1"), digest.FromString("missing 2")

	tests := []struct {
		name        string
		repo        string
		refs        []metadata.Reference
		wantMissing []digest.Digest
	}{
		{"blobs missing", "app", []metadata.Reference{
			blobRef(held.Digest), blobRef(missing1), blobRef(missing2),
		}, []digest.Digest{missing1, missing2}},
		{"a blob of another repository", "app", []metadata.Reference{
			blobRef(held.Digest), blobRef(elsewhere.Digest),
		}, []digest.Digest{elsewhere.Digest}},
		{"a child manifest missing", "app", []metadata.Reference{
			manifestRef(child.Digest), manifestRef(missing1),
		}, []digest.Digest{missing1}},
		{"a blob is not a child manifest", "app", []metadata.Reference{
			manifestRef(held.Digest),
		}, []digest.Digest{held.Digest}},
		{"the same digest twice", "app", []metadata.Reference{
			blobRef(missing1), blobRef(missing1),
		}, []digest.Digest{missing1}},
		{"in a new repository", "new/repo", []metadata.Reference{
			blobRef(held.Digest),
		}, []digest.Digest{held.Digest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := manifest(tt.repo, tt.name, digestsOf(tt.refs)...)
			m.References = tt.refs
			err := s.PutManifest(t.Context(), m, []string{"refused"})
			var missing *metadata.MissingReferencesError
			if !errors.As(err, &missing) {
				t.Fatalf("PutManifest: err = %v; want *MissingReferencesError", err)
			}
			got := slices.Clone(missing.Digests)
			slices.Sort(got)
			want := slices.Clone(tt.wantMissing)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("missing digests = %v; want %v", got, want)
			}
			if _, err := s.Manifest(t.Context(), tt.repo, m.Digest.String()); !errors.Is(err, metadata.ErrManifestUnknown) {
				t.Errorf("the refused manifest was stored: Manifest err = %v", err)
			}
			if _, err := s.Manifest(t.Context(), tt.repo, "refused"); !errors.Is(err, metadata.ErrManifestUnknown) {
				t.Errorf("the refused manifest's tag was stored: Manifest err = %v", err)
			}
		})
	}
	// Not even the repository of a refused manifest was created.
	assertStrings(t, "Repositories", allRepositories(t, s), []string{"app", "other"})
}

func testTagsRetarget(t *testing.T, s metadata.Store) {
	mustPutBlob(t, s, "app", blob("config"))
	m1 := manifest("app", "one", blob("config").Digest)
	m2 := manifest("app", "two", blob("config").Digest)
	mustPutManifest(t, s, m1, "latest", "v1")
	mustPutManifest(t, s, m2, "latest")
	for ref, want := range map[string]digest.Digest{"latest": m2.Digest, "v1": m1.Digest} {
		if got, err := s.Manifest(t.Context(), "app", ref); err != nil || got.Digest != want {
			t.Errorf("Manifest(%s) = %s, %v; want %s", ref, got.Digest, err, want)
		}
	}
	assertStrings(t, "Tags", allTags(t, s, "app"), []string{"latest", "v1"})
}

func testDeleteManifest(t *testing.T, s metadata.Store) {
	cfg := blob("config")
	mustPutBlob(t, s, "app", cfg)
	mustPutBlob(t, s, "other", cfg)
	m := manifest("app", "doomed", cfg.Digest)
	kept := manifest("app", "kept", cfg.Digest)
	mustPutManifest(t, s, m, "a", "b")
	mustPutManifest(t, s, kept, "c")
	sameInOther := m
	sameInOther.Repository = "other"
	mustPutManifest(t, s, sameInOther, "a")

	if err := s.DeleteManifest(t.Context(), "app", m.Digest); err != nil {
		t.Fatalf("DeleteManifest: %v", err)
	}
	for _, ref := range []string{m.Digest.String(), "a", "b"} {
		if _, err := s.Manifest(t.Context(), "app", ref); !errors.Is(err, metadata.ErrManifestUnknown) {
			t.Errorf("Manifest(%s) after DeleteManifest: err = %v; want ErrManifestUnknown", ref, err)
		}
	}
	assertStrings(t, "Tags", allTags(t, s, "app"), []string{"c"})
	if got, err := s.Manifest(t.Context(), "other", "a"); err != nil || got.Digest != m.Digest {
		t.Errorf("the same manifest in another repository: %s, %v; want it kept", got.Digest, err)
	}
	if err := s.DeleteManifest(t.Context(), "app", m.Digest); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("DeleteManifest again: err = %v; want ErrManifestUnknown", err)
	}
	if err := s.DeleteManifest(t.Context(), "never/created", m.Digest); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("DeleteManifest in an unknown repository: err = %v; want ErrManifestUnknown", err)
	}
	// A deleted manifest no longer satisfies an index, and pushing it
	// again restores it with its references.
	index := manifest("app", "index")
	index.References = []metadata.Reference{manifestRef(m.Digest)}
	var missing *metadata.MissingReferencesError
	if err := s.PutManifest(t.Context(), index, nil); !errors.As(err, &missing) {
		t.Errorf("PutManifest of an index of the deleted manifest: err = %v; want *MissingReferencesError", err)
	}
	mustPutManifest(t, s, m)
	mustPutManifest(t, s, index)
}

func testDeleteTag(t *testing.T, s metadata.Store) {
	mustPutBlob(t, s, "app", blob("config"))
	m := manifest("app", "image", blob("config").Digest)
	mustPutManifest(t, s, m, "v1", "v2")
	if err := s.DeleteTag(t.Context(), "app", "v1"); err != nil {
		t.Fatalf("DeleteTag: %v", err)
	}
	if _, err := s.Manifest(t.Context(), "app", "v1"); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("Manifest(v1) after DeleteTag: err = %v; want ErrManifestUnknown", err)
	}
	for _, ref := range []string{"v2", m.Digest.String()} {
		if _, err := s.Manifest(t.Context(), "app", ref); err != nil {
			t.Errorf("Manifest(%s) after deleting another tag: %v", ref, err)
		}
	}
	for _, tt := range []struct{ repo, tag string }{{"app", "v1"}, {"app", "never"}, {"never/created", "v2"}} {
		if err := s.DeleteTag(t.Context(), tt.repo, tt.tag); !errors.Is(err, metadata.ErrTagUnknown) {
			t.Errorf("DeleteTag(%s, %s): err = %v; want ErrTagUnknown", tt.repo, tt.tag, err)
		}
	}
}

// pagingNames are in byte order, which is not the order of any natural
// language collation: upper case before '_' before lower case, and
// '-' < '.' < '/' < digits.
var pagingNames = []string{"B", "Z", "_x", "a", "a-b", "a.b", "a0", "a1", "a_b", "b"}

var pagingTests = []struct {
	last string
	n    int
	want []string
}{
	{"", -1, pagingNames},
	{"", 0, nil},
	{"", 3, pagingNames[:3]},
	{"Z", 2, []string{"_x", "a"}},
	{"a", -1, pagingNames[4:]},
	{"a00", 2, []string{"a1", "a_b"}}, // last need not exist
	{"a_b", 5, []string{"b"}},
	{"b", -1, nil},
	{"zzz", 10, nil},
}

func testTagsPaging(t *testing.T, s metadata.Store) {
	mustPutBlob(t, s, "app", blob("config"))
	m := manifest("app", "image", blob("config").Digest)
	for _, tag := range slices.Backward(pagingNames) {
		mustPutManifest(t, s, m, tag)
	}
	for _, tt := range pagingTests {
		got, err := s.Tags(t.Context(), "app", tt.last, tt.n)
		if err != nil {
			t.Fatalf("Tags(last=%q, n=%d): %v", tt.last, tt.n, err)
		}
		assertStrings(t, fmt.Sprintf("Tags(last=%q, n=%d)", tt.last, tt.n), got, tt.want)
	}
	// A repository holding only blobs has no tags.
	mustPutBlob(t, s, "blobs/only", blob("config"))
	assertStrings(t, "Tags of a repository without manifests", allTags(t, s, "blobs/only"), nil)
}

func testTagsOfUnknownRepository(t *testing.T, s metadata.Store) {
	if _, err := s.Tags(t.Context(), "never/created", "", -1); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Fatalf("Tags of an unknown repository: err = %v; want ErrRepositoryUnknown", err)
	}
}

func testRepositoriesPaging(t *testing.T, s metadata.Store) {
	for _, name := range slices.Backward(pagingNames) {
		mustPutBlob(t, s, name, blob("config"))
	}
	for _, tt := range pagingTests {
		got, err := s.Repositories(t.Context(), tt.last, tt.n)
		if err != nil {
			t.Fatalf("Repositories(last=%q, n=%d): %v", tt.last, tt.n, err)
		}
		assertStrings(t, fmt.Sprintf("Repositories(last=%q, n=%d)", tt.last, tt.n), got, tt.want)
	}
}

func testReferrers(t *testing.T, s metadata.Store) {
	mustPutBlob(t, s, "app", blob("config"))
	mustPutBlob(t, s, "other", blob("config"))
	subject := manifest("app", "subject", blob("config").Digest)
	mustPutManifest(t, s, subject)
	referrer := func(repo, content, artifactType string, annotations map[string]string) metadata.Manifest {
		m := manifest(repo, content, blob("config").Digest)
		m.Subject = subject.Digest
		m.ArtifactType = artifactType
		m.Annotations = annotations
		mustPutManifest(t, s, m)
		return m
	}
	sbom := referrer("app", "sbom", "application/vnd.example.sbom", map[string]string{"org.example.kind": "sbom"})
	sig := referrer("app", "signature", "application/vnd.example.sig", nil)
	referrer("other", "sbom elsewhere", "application/vnd.example.sbom", nil)
	// A referrer may be pushed before its subject.
	early := manifest("app", "early", blob("config").Digest)
	early.Subject = digest.FromString("not pushed yet")
	early.ArtifactType = "application/vnd.example.sbom"
	mustPutManifest(t, s, early)

	tests := []struct {
		name         string
		subject      digest.Digest
		artifactType string
		want         []metadata.Manifest
	}{
		{"all", subject.Digest, "", []metadata.Manifest{sbom, sig}},
		{"filtered", subject.Digest, "application/vnd.example.sbom", []metadata.Manifest{sbom}},
		{"filtered to nothing", subject.Digest, "application/vnd.example.none", nil},
		{"subject not pushed yet", early.Subject, "", []metadata.Manifest{early}},
		{"no referrers", sbom.Digest, "", nil},
		{"unknown digest", digest.FromString("unknown"), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Referrers(t.Context(), "app", tt.subject, tt.artifactType)
			if err != nil {
				t.Fatalf("Referrers: %v", err)
			}
			slices.SortFunc(got, byDigest)
			want := make([]metadata.Descriptor, len(tt.want))
			for i, m := range tt.want {
				want[i] = metadata.Descriptor{
					MediaType: m.MediaType, Digest: m.Digest, Size: int64(len(m.Content)),
					ArtifactType: m.ArtifactType, Annotations: m.Annotations,
				}
			}
			slices.SortFunc(want, byDigest)
			if !slices.EqualFunc(got, want, equalDescriptor) {
				t.Errorf("Referrers = %+v; want %+v", got, want)
			}
		})
	}
	if got, err := s.Referrers(t.Context(), "never/created", subject.Digest, ""); err != nil || len(got) != 0 {
		t.Errorf("Referrers in an unknown repository = %v, %v; want none", got, err)
	}
}

func testRecordPulls(t *testing.T, s metadata.Store) {
	mustPutBlob(t, s, "app", blob("config"))
	mustPutBlob(t, s, "other", blob("config"))
	m := manifest("app", "image", blob("config").Digest)
	mustPutManifest(t, s, m)
	inOther := m
	inOther.Repository = "other"
	mustPutManifest(t, s, inOther)

	later := time.Unix(1_700_000_100, 0)
	earlier := time.Unix(1_700_000_000, 0)
	for _, batch := range [][]metadata.Pull{
		{{Repository: "app", Digest: m.Digest, At: later}},
		// An older time arriving late (another replica's batch) is ignored;
		// pulls of manifests that do not exist are no error.
		{
			{Repository: "app", Digest: m.Digest, At: earlier},
			{Repository: "app", Digest: digest.FromString("gone"), At: later},
			{Repository: "never/created", Digest: m.Digest, At: later},
		},
		nil,
	} {
		if err := s.RecordPulls(t.Context(), batch); err != nil {
			t.Fatalf("RecordPulls(%v): %v", batch, err)
		}
	}
	if got, err := s.Manifest(t.Context(), "app", m.Digest.String()); err != nil || !got.LastPulledAt.Equal(later) {
		t.Errorf("LastPulledAt = %v, %v; want %v", got.LastPulledAt, err, later)
	}
	if got, err := s.Manifest(t.Context(), "other", m.Digest.String()); err != nil || !got.LastPulledAt.IsZero() {
		t.Errorf("LastPulledAt of the same digest in another repository = %v, %v; want zero", got.LastPulledAt, err)
	}
}

func testUploads(t *testing.T, s metadata.Store) {
	started := time.Unix(1_700_000_000, 0)
	u := metadata.Upload{
		ID: "4f0c6c1e9e7b4b8a", Repository: "team/app", Algorithm: digest.SHA256,
		StartedAt: started, UpdatedAt: started,
	}
	if err := s.CreateUpload(t.Context(), u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	assertUpload(t, s, u)

	next := u
	next.Size = 1024
	next.HashState = []byte("hash state after 1024 bytes")
	next.StorageState = []byte("multipart upload 7, parts 1-2")
	if err := s.UpdateUpload(t.Context(), next, 0); err != nil {
		t.Fatalf("UpdateUpload: %v", err)
	}
	assertUpload(t, s, next)

	// The algorithm may change: a client that names a sha512 digest.
	last := next
	last.Size = 2048
	last.Algorithm = digest.SHA512
	last.HashState = []byte("sha512 state")
	if err := s.UpdateUpload(t.Context(), last, 1024); err != nil {
		t.Fatalf("UpdateUpload: %v", err)
	}
	assertUpload(t, s, last)

	if _, err := s.Upload(t.Context(), "unknown"); !errors.Is(err, metadata.ErrUploadUnknown) {
		t.Errorf("Upload(unknown): err = %v; want ErrUploadUnknown", err)
	}
	for i := range 2 {
		if err := s.DeleteUpload(t.Context(), u.ID); err != nil {
			t.Fatalf("DeleteUpload #%d: %v", i+1, err)
		}
	}
	if _, err := s.Upload(t.Context(), u.ID); !errors.Is(err, metadata.ErrUploadUnknown) {
		t.Errorf("Upload after DeleteUpload: err = %v; want ErrUploadUnknown", err)
	}
	if err := s.UpdateUpload(t.Context(), last, 2048); !errors.Is(err, metadata.ErrUploadUnknown) {
		t.Errorf("UpdateUpload after DeleteUpload: err = %v; want ErrUploadUnknown", err)
	}
}

// Two requests that read an upload at the same size race to write it:
// exactly one wins, the others learn of the conflict.
func testUploadCompareAndSet(t *testing.T, s metadata.Store) {
	u := metadata.Upload{ID: "race", Repository: "app", Algorithm: digest.SHA256, StartedAt: time.Now(), UpdatedAt: time.Now()}
	if err := s.CreateUpload(t.Context(), u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	if err := s.UpdateUpload(t.Context(), withSize(u, 5), 3); !errors.Is(err, metadata.ErrUploadConflict) {
		t.Fatalf("UpdateUpload from a stale size: err = %v; want ErrUploadConflict", err)
	}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			err := s.UpdateUpload(t.Context(), withSize(u, int64(10+i)), 0)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, metadata.ErrUploadConflict):
				conflicts.Add(1)
			default:
				t.Errorf("UpdateUpload: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 7 {
		t.Errorf("%d updates won and %d conflicted; want 1 and 7", wins.Load(), conflicts.Load())
	}
}

// Writers never see a "database is busy" error, whatever their number.
func testConcurrentWrites(t *testing.T, s metadata.Store) {
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			repo := fmt.Sprintf("repo%02d", i%4)
			b := blob(fmt.Sprintf("layer %d", i))
			if _, err := s.PutBlob(t.Context(), repo, b); err != nil {
				t.Errorf("PutBlob: %v", err)
				return
			}
			m := manifest(repo, fmt.Sprintf("image %d", i), b.Digest)
			if err := s.PutManifest(t.Context(), m, []string{fmt.Sprintf("v%d", i)}); err != nil {
				t.Errorf("PutManifest: %v", err)
			}
			if _, err := s.Tags(t.Context(), repo, "", -1); err != nil {
				t.Errorf("Tags: %v", err)
			}
		})
	}
	wg.Wait()
	assertStrings(t, "Repositories", allRepositories(t, s), []string{"repo00", "repo01", "repo02", "repo03"})
}

// Everything, upload sessions included, survives closing the store and
// opening it again: an upload started before a restart resumes after it.
func testSurvivesReopen(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	b := blob("layer")
	mustPutBlob(t, s, "app", b)
	m := manifest("app", "image", b.Digest)
	mustPutManifest(t, s, m, "v1")
	u := metadata.Upload{
		ID: "resumed", Repository: "app", Size: 10, Algorithm: digest.SHA256, HashState: []byte("state"),
		StartedAt: time.Unix(1_700_000_000, 0), UpdatedAt: time.Unix(1_700_000_000, 0),
	}
	if err := s.CreateUpload(t.Context(), u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	for range 2 {
		s = mustOpen(t, open)
		if got, err := s.Blob(t.Context(), "app", b.Digest); err != nil || got != b {
			t.Errorf("Blob after reopening = %+v, %v; want %+v", got, err, b)
		}
		if got, err := s.Manifest(t.Context(), "app", "v1"); err != nil || string(got.Content) != string(m.Content) {
			t.Errorf("Manifest(v1) after reopening = %q, %v; want %q", got.Content, err, m.Content)
		}
		assertUpload(t, s, u)
		next := withSize(u, u.Size+5)
		if err := s.UpdateUpload(t.Context(), next, u.Size); err != nil {
			t.Fatalf("UpdateUpload after reopening: %v", err)
		}
		u = next
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func withSize(u metadata.Upload, size int64) metadata.Upload {
	u.Size = size
	u.HashState = fmt.Appendf(nil, "state at %d", size)
	u.StorageState = fmt.Appendf(nil, "storage at %d", size)
	return u
}

func mustOpen(t *testing.T, open Opener) metadata.Store {
	t.Helper()
	s, err := open(t.Context())
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	return s
}

func openStore(t *testing.T, open Opener) metadata.Store {
	t.Helper()
	s := mustOpen(t, open)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// blob returns the blob of content, at a location derived from it.
func blob(content string) metadata.Blob {
	d := digest.FromString(content)
	return metadata.Blob{Digest: d, Size: int64(len(content)), Location: "blobs/" + d.Encoded()}
}

// manifest returns a manifest of repo whose bytes are a JSON document made
// from content, referencing blobs.
func manifest(repo, content string, blobs ...digest.Digest) metadata.Manifest {
	body := fmt.Appendf(nil, `{"schemaVersion":2,"content":%q}`, content)
	m := metadata.Manifest{
		Repository: repo,
		Digest:     digest.FromBytes(body),
		MediaType:  "application/vnd.oci.image.manifest.v1+json",
		Content:    body,
	}
	for _, b := range blobs {
		m.References = append(m.References, blobRef(b))
	}
	return m
}

func blobRef(d digest.Digest) metadata.Reference {
	return metadata.Reference{Digest: d, Kind: metadata.RefBlob}
}

func manifestRef(d digest.Digest) metadata.Reference {
	return metadata.Reference{Digest: d, Kind: metadata.RefManifest}
}

func digestsOf(refs []metadata.Reference) []digest.Digest {
	var ds []digest.Digest
	for _, r := range refs {
		ds = append(ds, r.Digest)
	}
	return ds
}

func mustPutBlob(t *testing.T, s metadata.Store, repo string, blobs ...metadata.Blob) {
	t.Helper()
	for _, b := range blobs {
		if _, err := s.PutBlob(t.Context(), repo, b); err != nil {
			t.Fatalf("PutBlob(%s, %s): %v", repo, b.Digest, err)
		}
	}
}

func mustPutManifest(t *testing.T, s metadata.Store, m metadata.Manifest, tags ...string) {
	t.Helper()
	if err := s.PutManifest(t.Context(), m, tags); err != nil {
		t.Fatalf("PutManifest(%s, %s, %v): %v", m.Repository, m.Digest, tags, err)
	}
}

func assertUpload(t *testing.T, s metadata.Store, want metadata.Upload) {
	t.Helper()
	got, err := s.Upload(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Upload(%s): %v", want.ID, err)
	}
	if got.ID != want.ID || got.Repository != want.Repository || got.Size != want.Size ||
		got.Algorithm != want.Algorithm || string(got.HashState) != string(want.HashState) ||
		string(got.StorageState) != string(want.StorageState) ||
		!got.StartedAt.Equal(want.StartedAt) {
		t.Errorf("Upload(%s) = %+v; want %+v", want.ID, got, want)
	}
}

// assertStrings compares lists, a nil want meaning empty.
func assertStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q; want %q", what, got, want)
	}
}

func allTags(t *testing.T, s metadata.Store, repo string) []string {
	t.Helper()
	tags, err := s.Tags(t.Context(), repo, "", -1)
	if err != nil {
		t.Fatalf("Tags(%s): %v", repo, err)
	}
	return tags
}

func allRepositories(t *testing.T, s metadata.Store) []string {
	t.Helper()
	repos, err := s.Repositories(t.Context(), "", -1)
	if err != nil {
		t.Fatalf("Repositories: %v", err)
	}
	return repos
}

func byDigest(a, b metadata.Descriptor) int { return cmp.Compare(a.Digest, b.Digest) }

func equalDescriptor(a, b metadata.Descriptor) bool {
	return a.MediaType == b.MediaType && a.Digest == b.Digest && a.Size == b.Size &&
		a.ArtifactType == b.ArtifactType && maps.Equal(a.Annotations, b.Annotations)
}
