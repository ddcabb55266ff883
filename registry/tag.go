package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berth-dev/berth/internal/ocierr"
)

// tags serves GET /v2/<name>/tags/list with ?n= and ?last= paging.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags
func (reg *Registry) tags(w http.ResponseWriter, r *http.Request, rt route) error {
	n, last, err := pageParams(r, -1)
	if err != nil {
		return err
	}
	tags, err := reg.store.Tags(r.Context(), rt.name, last, fetchCount(n))
	if err != nil {
		return err
	}
	tags = setNextLink(w, r, tags, n)
	return writeJSON(w, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{rt.name, tags})
}

// catalog serves GET /v2/_catalog with the same paging as tags, from the
// index.
func (reg *Registry) catalog(w http.ResponseWriter, r *http.Request, _ route) error {
	n, last, err := pageParams(r, reg.config.CatalogPageSize)
	if err != nil {
		return err
	}
	repos, err := reg.visibleRepositories(r.Context(), last, fetchCount(n))
	if err != nil {
		return err
	}
	repos = setNextLink(w, r, repos, n)
	return writeJSON(w, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}

// visibleRepositories lists up to n repositories after last (n < 0: all)
// that the caller may see, reading the index a page at a time.
func (reg *Registry) visibleRepositories(ctx context.Context, last string, n int) ([]string, error) {
	if reg.auth == nil {
		return reg.store.Repositories(ctx, last, n)
	}
	const batch = 1000
	out := []string{}
	for n < 0 || len(out) < n {
		names, err := reg.store.Repositories(ctx, last, batch)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			if reg.visible(ctx, name) && (n < 0 || len(out) < n) {
				out = append(out, name)
			}
		}
		if len(names) < batch {
			break
		}
		last = names[len(names)-1]
	}
	return out, nil
}

// pageParams reads ?n= (def when absent; -1 means all) and ?last=.
func pageParams(r *http.Request, def int) (n int, last string, err error) {
	q := r.URL.Query()
	n = def
	if s := q.Get("n"); s != "" {
		v, perr := strconv.Atoi(s)
		if perr != nil || v < 0 {
			return 0, "", ocierr.New(ocierr.PaginationInvalid, "n must be a non-negative integer, not "+strconv.Quote(s), nil)
		}
		n = v
	}
	return n, q.Get("last"), nil
}

// fetchCount is how many rows to read for a page of n: one more, to learn
// whether a next page exists.
func fetchCount(n int) int {
	if n < 0 {
		return -1
	}
	return n + 1
}

// setNextLink trims a page read with fetchCount to n entries and, when more
// remain, sets the Link header to the next page.
func setNextLink(w http.ResponseWriter, r *http.Request, names []string, n int) []string {
	if n < 0 || len(names) <= n {
		return names
	}
	names = names[:n]
	if n > 0 {
		q := url.Values{}
		q.Set("n", strconv.Itoa(n))
		q.Set("last", names[n-1])
		w.Header().Set("Link", `<`+r.URL.Path+`?`+q.Encode()+`>; rel="next"`)
	}
	return names
}

// writeJSON sends v as a 200 response.
func writeJSON(w http.ResponseWriter, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}
