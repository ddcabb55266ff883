package metadatatest

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// Images page in each order from any cursor, filtered by tag; an index
// names its platforms; repositories carry their totals; the overview's
// figures add up.
func testBrowsing(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	cfg, small, big, a, b, untagged := threeImages(t, s)
	mustPutBlob(t, s, "empty", blob("unreferenced"))
	index := metadata.Manifest{Repository: "app", MediaType: "application/vnd.oci.image.index.v1+json",
		References: []metadata.Reference{manifestRef(a.Digest), manifestRef(b.Digest)}}
	index.Content = fmt.Appendf(nil, `{"schemaVersion":2,"manifests":[
		{"digest":%q,"platform":{"os":"linux","architecture":"amd64"}},
		{"digest":%q,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
		{"digest":%q}]}`, a.Digest, b.Digest, untagged.Digest)
	index.Digest = digest.FromBytes(index.Content)
	mustPutManifest(t, s, index, "multi-v3")
	at := time.Unix(1_700_000_000, 0)
	if err := s.RecordPulls(ctx, []metadata.Pull{{Repository: "app", Digest: b.Digest, At: at}, {Repository: "app", Digest: untagged.Digest, At: at}}); err != nil {
		t.Fatal(err)
	}

	all, err := s.Images(ctx, "app", metadata.AnyImage(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	orders := map[metadata.ImageOrder]func(x, y metadata.Image) int{
		metadata.NewestFirst: func(x, y metadata.Image) int {
			return cmp.Or(y.PushedAt.Compare(x.PushedAt), cmp.Compare(y.Digest, x.Digest))
		},
		metadata.OldestFirst: func(x, y metadata.Image) int {
			return cmp.Or(x.PushedAt.Compare(y.PushedAt), cmp.Compare(x.Digest, y.Digest))
		},
		metadata.RecentlyPulledFirst: func(x, y metadata.Image) int {
			return cmp.Or(y.LastPulledAt.Compare(x.LastPulledAt), cmp.Compare(y.Digest, x.Digest))
		},
	}
	cursorOf := func(o metadata.ImageOrder, im metadata.Image) metadata.ImageCursor {
		if o == metadata.RecentlyPulledFirst {
			return metadata.ImageCursor{At: im.LastPulledAt, Digest: im.Digest}
		}
		return metadata.ImageCursor{At: im.PushedAt, Digest: im.Digest}
	}
	pages := func(o metadata.ImageOrder, tag string, n int) []metadata.Image {
		var out []metadata.Image
		q := metadata.ImageQuery{Order: o, TagContains: tag, N: n}
		for {
			page, err := s.ImagePage(ctx, "app", q)
			if err != nil {
				t.Fatalf("ImagePage(%+v): %v", q, err)
			}
			out = append(out, page...)
			if len(page) < n {
				return out
			}
			q.After = cursorOf(o, page[len(page)-1])
		}
	}
	digests := func(ims []metadata.Image) []string {
		var out []string
		for _, im := range ims {
			out = append(out, im.Digest.String())
		}
		return out
	}
	for o, order := range orders {
		want := slices.Clone(all)
		slices.SortFunc(want, order)
		for _, n := range []int{1, 3, 100} {
			assertStrings(t, fmt.Sprintf("ImagePage(order %d, pages of %d)", o, n), digests(pages(o, "", n)), digests(want))
		}
		var tagged []metadata.Image
		for _, im := range want {
			if slices.ContainsFunc(im.Tags, func(tag string) bool { return tag[0] == 'v' || tag == "multi-v3" }) {
				tagged = append(tagged, im)
			}
		}
		assertStrings(t, fmt.Sprintf("ImagePage(order %d, tag v)", o), digests(pages(o, "v", 2)), digests(tagged))
	}
	for _, im := range pages(metadata.NewestFirst, "", 10) {
		full, err := s.Image(ctx, "app", im.Digest)
		if err != nil || im.Size != full.Size || !slices.Equal(im.Tags, full.Tags) || !im.LastPulledAt.Equal(full.LastPulledAt) {
			t.Errorf("ImagePage describes %s as %+v; Image says %+v, %v", im.Digest, im, full, err)
		}
		want := []string(nil)
		if im.Digest == index.Digest {
			want = []string{"linux/amd64", "linux/arm64/v8"}
		}
		assertStrings(t, "platforms of "+im.Digest.String(), im.Platforms, want)
	}
	if page, err := s.ImagePage(ctx, "app", metadata.ImageQuery{TagContains: "nothing like it", N: 10}); err != nil || len(page) != 0 {
		t.Errorf("ImagePage(no tag matches) = %v, %v", page, err)
	}
	if _, err := s.ImagePage(ctx, "nope", metadata.ImageQuery{N: 10}); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("ImagePage(unknown repository): %v", err)
	}
	for tag, want := range map[string]int{"": 4, "v": 3, "latest": 1, "%": 0} {
		if n, err := s.CountImages(ctx, "app", tag); err != nil || n != want {
			t.Errorf("CountImages(%q) = %d, %v; want %d", tag, n, err, want)
		}
	}
	if _, err := s.CountImages(ctx, "nope", ""); !errors.Is(err, metadata.ErrRepositoryUnknown) {
		t.Errorf("CountImages(unknown repository): %v", err)
	}

	summaries, err := s.RepositorySummaries(ctx)
	if err != nil || len(summaries) != 2 {
		t.Fatalf("RepositorySummaries = %+v, %v", summaries, err)
	}
	newest := slices.MaxFunc(all, func(x, y metadata.Image) int { return x.PushedAt.Compare(y.PushedAt) })
	if app := summaries[0]; app.Name != "app" || app.Images != 4 || app.Size != cfg.Size+small.Size+big.Size || !app.LastPushedAt.Equal(newest.PushedAt) {
		t.Errorf("summary of app = %+v; want 4 images, %d bytes, last pushed %v", app, cfg.Size+small.Size+big.Size, newest.PushedAt)
	}
	if empty := summaries[1]; empty.Name != "empty" || empty.Images != 0 || empty.Size != blob("unreferenced").Size || !empty.LastPushedAt.IsZero() {
		t.Errorf("summary of empty = %+v", empty)
	}

	pushes, err := s.PushesPerDay(ctx, newest.PushedAt.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range pushes {
		if p.Repository != "app" || !p.Day.Equal(metadata.Day(p.Day)) {
			t.Errorf("PushesPerDay row %+v", p)
		}
		total += p.Count
	}
	if total != 4 {
		t.Errorf("PushesPerDay = %+v; want 4 pushes", pushes)
	}
	if later, err := s.PushesPerDay(ctx, newest.PushedAt.Add(time.Hour)); err != nil || len(later) != 0 {
		t.Errorf("PushesPerDay(after the last push) = %v, %v", later, err)
	}

	for _, sc := range []metadata.Scan{
		{Repository: "app", Digest: a.Digest, Status: "COMPLETE", SeverityCounts: map[string]int{"HIGH": 2, "LOW": 1}},
		{Repository: "app", Digest: b.Digest, Status: "COMPLETE", SeverityCounts: map[string]int{"HIGH": 1}},
		{Repository: "app", Digest: untagged.Digest, Status: "IN_PROGRESS"},
	} {
		if err := s.PutScan(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := s.SeverityCounts(ctx)
	if err != nil || len(counts) != 1 || !maps.Equal(counts["app"], map[string]int{"HIGH": 3, "LOW": 1}) {
		t.Errorf("SeverityCounts = %v, %v; want app: HIGH 3, LOW 1", counts, err)
	}
	if n, err := s.StoredBytes(ctx); err != nil || n != cfg.Size+small.Size+big.Size+blob("unreferenced").Size {
		t.Errorf("StoredBytes = %d, %v", n, err)
	}

	// A repository's size follows its blob links: a blob counts once in
	// each repository holding it, however many images use it.
	mustPutBlob(t, s, "empty", small, small)
	if err := s.UnlinkBlob(ctx, "app", big.Digest); err != nil {
		t.Fatal(err)
	}
	summaries, err = s.RepositorySummaries(ctx)
	if err != nil || len(summaries) != 2 || summaries[0].Size != cfg.Size+small.Size || summaries[1].Size != small.Size+blob("unreferenced").Size {
		t.Errorf("summaries after linking and unlinking = %+v, %v", summaries, err)
	}
}
