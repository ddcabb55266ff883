package metadatatest

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// Repositories keep their settings; create refuses a taken name, update
// changes settings in place, delete refuses a repository with images
// unless forced and takes its images with it.
func testRepositories(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	want := metadata.Repository{
		Name: "team/app", TagMutability: metadata.ImmutableWithExclusion, MutabilityExclusions: []string{"dev-*"},
		ScanOnPush: true, EncryptionType: "KMS", KMSKey: "arn:aws:kms:us-east-1:123456789012:key/x",
		Tags: []metadata.ResourceTag{{Key: "team", Value: "a"}, {Key: "env", Value: "prod"}},
	}
	if err := s.CreateRepository(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRepository(ctx, metadata.Repository{Name: "team/app"}); !errors.Is(err, metadata.ErrRepositoryExists) {
		t.Fatalf("CreateRepository twice: %v; want ErrRepositoryExists", err)
	}
	got, err := s.Repository(ctx, "team/app")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() {
		t.Errorf("CreatedAt not recorded")
	}
	got.CreatedAt = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Repository = %+v; want %+v", got, want)
	}
	if _, err := s.Repository(ctx, "nope"); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("Repository(nope): %v", err)
	}

	evaluated := time.Unix(1700000000, 5)
	updated, err := s.UpdateRepository(ctx, "team/app", func(r *metadata.Repository) error {
		r.TagMutability = metadata.Mutable
		r.Name = "renamed"
		r.LifecyclePolicy, r.LifecycleEvaluatedAt = `{"rules":[]}`, evaluated
		return nil
	})
	if err != nil || updated.Name != "team/app" || updated.TagMutability != metadata.Mutable || !updated.ScanOnPush {
		t.Fatalf("UpdateRepository = %+v, %v", updated, err)
	}
	if got, _ := s.Repository(ctx, "team/app"); got.LifecyclePolicy != `{"rules":[]}` || !got.LifecycleEvaluatedAt.Equal(evaluated) {
		t.Errorf("lifecycle settings = %q %v", got.LifecyclePolicy, got.LifecycleEvaluatedAt)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateRepository(ctx, "team/app", func(*metadata.Repository) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateRepository passing on an error: %v", err)
	}
	if _, err := s.UpdateRepository(ctx, "nope", func(*metadata.Repository) error { return nil }); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("UpdateRepository(nope): %v", err)
	}

	// A pushed-to repository exists with default settings and lists in order.
	mustPutBlob(t, s, "a/first", blob("x"))
	var names []string
	for last := ""; ; {
		page, err := s.ListRepositories(ctx, last, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		names = append(names, page[0].Name)
		last = page[0].Name
	}
	assertStrings(t, "ListRepositories", names, []string{"a/first", "team/app"})

	cfg, layer := blob("config"), blob("layer")
	mustPutBlob(t, s, "team/app", cfg, layer)
	mustPutManifest(t, s, manifest("team/app", "image", cfg.Digest, layer.Digest), "v1")
	if _, err := s.DeleteRepository(ctx, "team/app", false); !errors.Is(err, metadata.ErrRepositoryNotEmpty) {
		t.Fatalf("DeleteRepository of a repository with images: %v; want ErrRepositoryNotEmpty", err)
	}
	deleted, err := s.DeleteRepository(ctx, "team/app", true)
	if err != nil || deleted.Name != "team/app" || !deleted.ScanOnPush {
		t.Fatalf("DeleteRepository(force) = %+v, %v", deleted, err)
	}
	if _, err := s.Repository(ctx, "team/app"); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("after delete: %v", err)
	}
	if _, err := s.Manifest(ctx, "team/app", "v1"); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("manifest after delete: %v", err)
	}
	if _, err := s.Blob(ctx, "team/app", layer.Digest); !errors.Is(err, metadata.ErrBlobUnknown) {
		t.Errorf("blob link after delete: %v", err)
	}
	if _, err := s.DeleteRepository(ctx, "a/first", false); err != nil {
		t.Errorf("DeleteRepository of a repository with only blobs: %v", err)
	}
}

// Images come with their tags and sizes (an index: its largest child);
// ImageTags has a row per tag and one per untagged image, pages by
// (digest, tag) and filters; ManifestParents finds the indexes.
// threeImages puts into repository app a config, a small and a big
// layer, and three images of them: a (tagged v1 and latest) and b (v2)
// of the config and one layer each, and one untagged of the config
// alone, pushed in that order.
func threeImages(t *testing.T, s metadata.Store) (cfg, small, big metadata.Blob, a, b, untagged metadata.Manifest) {
	t.Helper()
	cfg, small, big = blob("config"), blob("small layer"), blob("a much bigger layer")
	mustPutBlob(t, s, "app", cfg, small, big)
	a = manifest("app", "a", cfg.Digest, small.Digest)
	b = manifest("app", "b", cfg.Digest, big.Digest)
	untagged = manifest("app", "untagged", cfg.Digest)
	mustPutManifest(t, s, a, "v1", "latest")
	mustPutManifest(t, s, b, "v2")
	mustPutManifest(t, s, untagged)
	return cfg, small, big, a, b, untagged
}

func testImages(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	cfg, small, big, a, b, untagged := threeImages(t, s)
	index := manifest("app", "index")
	index.MediaType = "application/vnd.oci.image.index.v1+json"
	index.References = []metadata.Reference{manifestRef(a.Digest), manifestRef(b.Digest)}
	mustPutManifest(t, s, index, "multi")

	sizes := map[digest.Digest]int64{
		a.Digest: cfg.Size + small.Size, b.Digest: cfg.Size + big.Size,
		untagged.Digest: cfg.Size, index.Digest: cfg.Size + big.Size,
	}
	tags := map[digest.Digest][]string{a.Digest: {"latest", "v1"}, b.Digest: {"v2"}, index.Digest: {"multi"}}
	var seen []digest.Digest
	for last := digest.Digest(""); ; {
		page, err := s.Images(ctx, "app", metadata.AnyImage(), last, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range page {
			seen = append(seen, im.Digest)
			if im.Size != sizes[im.Digest] || !slices.Equal(im.Tags, tags[im.Digest]) || im.PushedAt.IsZero() {
				t.Errorf("image %s: size %d tags %v pushed %v; want %d %v", im.Digest, im.Size, im.Tags, im.PushedAt, sizes[im.Digest], tags[im.Digest])
			}
		}
		if len(page) < 3 {
			break
		}
		last = page[len(page)-1].Digest
	}
	if len(seen) != 4 || !slices.IsSorted(seen) {
		t.Errorf("Images pages gave %v; want the 4 images in digest order", seen)
	}
	facts, err := s.ImageFacts(ctx, "app", "", 10)
	if err != nil || len(facts) != 4 {
		t.Fatalf("ImageFacts = %v, %v", facts, err)
	}
	for _, f := range facts {
		if !slices.Equal(f.Tags, tags[f.Digest]) || f.PushedAt.IsZero() || f.Size != 0 {
			t.Errorf("ImageFacts %s: tags %v pushed %v size %d", f.Digest, f.Tags, f.PushedAt, f.Size)
		}
	}
	im, err := s.Image(ctx, "app", index.Digest)
	if err != nil || im.MediaType != index.MediaType || im.Size != cfg.Size+big.Size {
		t.Errorf("Image(index) = %+v, %v", im, err)
	}
	if _, err := s.Image(ctx, "app", digest.FromString("none")); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("Image(unknown): %v", err)
	}
	if _, err := s.Images(ctx, "nope", metadata.AnyImage(), "", 10); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("Images(nope): %v", err)
	}

	rows := func(tagged, untagged bool, pageSize int) []string {
		var out []string
		last := metadata.ImageTag{}
		for {
			page, err := s.ImageTags(ctx, "app", last, pageSize, tagged, untagged)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				out = append(out, fmt.Sprintf("%s:%s", r.Digest, r.Tag))
			}
			if len(page) < pageSize {
				return out
			}
			last = page[len(page)-1]
		}
	}
	var all, onlyTagged []string
	for _, d := range seen {
		if len(tags[d]) == 0 {
			all = append(all, string(d)+":")
		}
		for _, tag := range tags[d] {
			all = append(all, string(d)+":"+tag)
			onlyTagged = append(onlyTagged, string(d)+":"+tag)
		}
	}
	for _, pageSize := range []int{1, 2, 100} {
		assertStrings(t, fmt.Sprintf("ImageTags(any, page %d)", pageSize), rows(true, true, pageSize), all)
	}
	assertStrings(t, "ImageTags(tagged)", rows(true, false, 2), onlyTagged)
	assertStrings(t, "ImageTags(untagged)", rows(false, true, 2), []string{string(untagged.Digest) + ":"})

	parents, err := s.ManifestParents(ctx, "app", a.Digest)
	if err != nil || !slices.Equal(parents, []digest.Digest{index.Digest}) {
		t.Errorf("ManifestParents(a) = %v, %v; want the index", parents, err)
	}
	if parents, _ := s.ManifestParents(ctx, "app", untagged.Digest); len(parents) != 0 {
		t.Errorf("ManifestParents(untagged) = %v; want none", parents)
	}
	if im, _ := s.Image(ctx, "app", a.Digest); im.Parents != 1 {
		t.Errorf("Image(a).Parents = %d; want 1", im.Parents)
	}

	// Archiving and restoring move the storage class and record when.
	at := time.Unix(1700000000, 0)
	if err := s.SetStorageClass(ctx, "app", b.Digest, metadata.StorageClassArchive, at); err != nil {
		t.Fatal(err)
	}
	im, _ = s.Image(ctx, "app", b.Digest)
	m, _ := s.Manifest(ctx, "app", "v2")
	if im.StorageClass != metadata.StorageClassArchive || !im.ArchivedAt.Equal(at) || !im.ActivatedAt.IsZero() || m.StorageClass != metadata.StorageClassArchive {
		t.Errorf("archived image = %+v, manifest class %q", im, m.StorageClass)
	}
	if err := s.SetStorageClass(ctx, "app", b.Digest, "", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if im, _ := s.Image(ctx, "app", b.Digest); im.StorageClass != "" || !im.ActivatedAt.Equal(at.Add(time.Hour)) || !im.ArchivedAt.Equal(at) {
		t.Errorf("restored image = %+v", im)
	}
	if err := s.SetStorageClass(ctx, "app", digest.FromString("none"), "", at); !errors.Is(err, metadata.ErrManifestUnknown) {
		t.Errorf("SetStorageClass(unknown): %v", err)
	}
}

// Images selects by tags, storage class and digest in the query that
// pages, and carries each image's scan without its findings.
func testImageFilter(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	cfg := blob("config")
	mustPutBlob(t, s, "app", cfg)
	images := map[string]metadata.Manifest{}
	for _, name := range []string{"tagged", "untagged", "archived-tagged", "archived-untagged", "scanned"} {
		m := manifest("app", name, cfg.Digest)
		images[name] = m
		var tags []string
		if !strings.Contains(name, "untagged") {
			tags = []string{name}
		}
		mustPutManifest(t, s, m, tags...)
	}
	at := time.Unix(1700000000, 0)
	for _, name := range []string{"archived-tagged", "archived-untagged"} {
		if err := s.SetStorageClass(ctx, "app", images[name].Digest, metadata.StorageClassArchive, at); err != nil {
			t.Fatal(err)
		}
	}
	scan := metadata.Scan{Repository: "app", Digest: images["scanned"].Digest, Status: "COMPLETE", Description: "done",
		StartedAt: at, CompletedAt: at.Add(time.Minute), SourceUpdatedAt: at.Add(-time.Hour),
		Findings: `[{"name":"CVE-1","severity":"HIGH"}]`, Inventory: `{"packages":[]}`, SeverityCounts: map[string]int{"HIGH": 1}}
	if err := s.PutScan(ctx, scan); err != nil {
		t.Fatal(err)
	}
	names := map[digest.Digest]string{}
	for name, m := range images {
		names[m.Digest] = name
	}
	// list pages through the filter two at a time and names what it got.
	list := func(f metadata.ImageFilter) []string {
		var out []string
		for last := digest.Digest(""); ; {
			page, err := s.Images(ctx, "app", f, last, 2)
			if err != nil {
				t.Fatalf("Images(%+v): %v", f, err)
			}
			for _, im := range page {
				out = append(out, names[im.Digest])
			}
			if len(page) < 2 {
				break
			}
			last = page[len(page)-1].Digest
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		filter metadata.ImageFilter
		want   []string
	}{
		{metadata.AnyImage(), []string{"archived-tagged", "archived-untagged", "scanned", "tagged", "untagged"}},
		{metadata.ImageFilter{Tagged: true, Untagged: true, Standard: true}, []string{"scanned", "tagged", "untagged"}},
		{metadata.ImageFilter{Tagged: true, Standard: true}, []string{"scanned", "tagged"}},
		{metadata.ImageFilter{Untagged: true, Standard: true}, []string{"untagged"}},
		{metadata.ImageFilter{Tagged: true, Untagged: true, Archived: true}, []string{"archived-tagged", "archived-untagged"}},
		{metadata.ImageFilter{Untagged: true, Archived: true}, []string{"archived-untagged"}},
		{metadata.ImageFilter{}, nil},
		{metadata.ImageFilter{Tagged: true, Untagged: true, Standard: true, Archived: true,
			Digests: []digest.Digest{images["untagged"].Digest, images["archived-tagged"].Digest, digest.FromString("none")}},
			[]string{"archived-tagged", "untagged"}},
		{metadata.ImageFilter{Tagged: true, Standard: true, Digests: []digest.Digest{images["untagged"].Digest, images["tagged"].Digest}}, []string{"tagged"}},
	} {
		assertStrings(t, fmt.Sprintf("Images(%+v)", tt.filter), list(tt.filter), tt.want)
	}

	all, err := s.Images(ctx, "app", metadata.AnyImage(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range all {
		if names[im.Digest] != "scanned" {
			if im.Scan != nil {
				t.Errorf("image %s was never scanned; Scan = %+v", names[im.Digest], im.Scan)
			}
			continue
		}
		got := im.Scan
		if got == nil || got.Repository != "app" || got.Digest != scan.Digest || got.Status != scan.Status || got.Description != scan.Description ||
			!got.StartedAt.Equal(scan.StartedAt) || !got.CompletedAt.Equal(scan.CompletedAt) || !got.SourceUpdatedAt.Equal(scan.SourceUpdatedAt) ||
			!maps.Equal(got.SeverityCounts, scan.SeverityCounts) || got.Findings != "" || got.Inventory != "" {
			t.Errorf("Images: scan of the scanned image = %+v; want %+v without findings and inventory", got, scan)
		}
	}
	if im, err := s.Image(ctx, "app", scan.Digest); err != nil || im.Scan == nil || !maps.Equal(im.Scan.SeverityCounts, scan.SeverityCounts) {
		t.Errorf("Image(scanned) = %+v, %v; want its scan", im, err)
	}
	facts, err := s.ImageFacts(ctx, "app", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range facts {
		if im.Scan != nil {
			t.Errorf("ImageFacts %s has a scan %+v", names[im.Digest], im.Scan)
		}
	}
}
