package registry_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/registry"
)

// nextLink matches the Link header of a page with more after it.
var nextLink = regexp.MustCompile(`^<(/v2/[^>]+)>; rel="next"$`)

// pages follows url and its Link headers to the end, checking each page
// holds at most n names, and returns every name in order.
func (tr *testRegistry) pages(t *testing.T, url string, n int, names func(body []byte) []string) []string {
	t.Helper()
	var all []string
	for page := 1; url != ""; page++ {
		if page > 100 {
			t.Fatal("more than 100 pages: the Link headers loop")
		}
		resp := tr.do(t, "GET", url, nil, nil)
		expect(t, "GET "+url, resp, http.StatusOK, "")
		got := names(resp.Body)
		if n >= 0 && len(got) > n {
			t.Errorf("page %d (%s): %d names; want at most %d", page, url, len(got), n)
		}
		all = append(all, got...)
		url = ""
		if link := resp.Header.Get("Link"); link != "" {
			m := nextLink.FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("page %d: Link %q is not <url>; rel=\"next\"", page, link)
			}
			if len(got) != n {
				t.Errorf("page %d: %d names and a next page; want a full page of %d", page, len(got), n)
			}
			url = m[1]
		}
	}
	return all
}

func tagNames(t *testing.T) func([]byte) []string {
	return func(body []byte) []string {
		var list struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(body, &list); err != nil || list.Tags == nil {
			t.Fatalf("tags list %s: %v", body, err)
		}
		return list.Tags
	}
}

func repositoryNames(t *testing.T) func([]byte) []string {
	return func(body []byte) []string {
		var list struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.Unmarshal(body, &list); err != nil || list.Repositories == nil {
			t.Fatalf("catalog %s: %v", body, err)
		}
		return list.Repositories
	}
}

// Tags come in byte order, a page of n at a time, each page linking to the
// next until the last.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags
func TestTagsPaging(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushFixture(t)
	tags := []string{"A", "Z", "_x", "a", "a-b", "a.b", "a0", "a_b", "latest", "v1"}
	for i := range 14 {
		tags = append(tags, fmt.Sprintf("1.%02d", i))
	}
	url := "/v2/library/app/manifests/" + imageDigest.String() + "?tag=" + strings.Join(tags, "&tag=")
	expect(t, "tagging", tr.do(t, "PUT", url, contentType(ociManifest), imageBytes), http.StatusCreated, "")
	want := slices.Sorted(slices.Values(tags))

	for _, n := range []int{1, 5, 7, len(want) - 1, len(want), len(want) + 1} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			got := tr.pages(t, fmt.Sprintf("/v2/library/app/tags/list?n=%d", n), n, tagNames(t))
			if !slices.Equal(got, want) {
				t.Errorf("tags over pages of %d: %q; want %q", n, got, want)
			}
		})
	}
	t.Run("all", func(t *testing.T) {
		if got := tr.pages(t, "/v2/library/app/tags/list", -1, tagNames(t)); !slices.Equal(got, want) {
			t.Errorf("tags: %q; want %q", got, want)
		}
	})
	t.Run("after last", func(t *testing.T) {
		got := tr.pages(t, "/v2/library/app/tags/list?last=a_b", -1, tagNames(t))
		if !slices.Equal(got, []string{"latest", "v1"}) {
			t.Errorf("tags after a_b: %q; want [latest v1]", got)
		}
	})
}

// The catalog pages like tags do, and with no n it uses the configured
// page size.
func TestCatalogPaging(t *testing.T) {
	tr := newTestRegistryWith(t, registry.Config{CatalogPageSize: 4, CreateOnPush: true})
	var want []string
	for i := range 11 {
		repo := fmt.Sprintf("team%d/app", i)
		tr.pushBlob(t, repo, configBlob)
		want = append(want, repo)
	}
	slices.Sort(want)
	for _, n := range []int{1, 3, 11, 20} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			got := tr.pages(t, fmt.Sprintf("/v2/_catalog?n=%d", n), n, repositoryNames(t))
			if !slices.Equal(got, want) {
				t.Errorf("catalog over pages of %d: %q; want %q", n, got, want)
			}
		})
	}
	t.Run("configured page size", func(t *testing.T) {
		got := tr.pages(t, "/v2/_catalog", 4, repositoryNames(t))
		if !slices.Equal(got, want) {
			t.Errorf("catalog over default pages: %q; want %q", got, want)
		}
	})
}
