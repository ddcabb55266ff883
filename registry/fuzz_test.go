package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/manifest/manifestlist"
	"github.com/distribution/distribution/v3/manifest/schema2"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/storage/filesystem"
)

// Fuzz tests for every parser of untrusted input. `go test` runs their
// seed corpora (and testdata/fuzz); look for new crashes with
//
//	go test -run='^$' -fuzz=FuzzParseRoute -fuzztime=30s ./registry/

var (
	seedDigest       = digest.FromString("seed")
	seedSHA512Digest = digest.SHA512.FromString("seed")
)

// formatRoute is parseRoute's inverse: the canonical path of a route.
func formatRoute(rt route) string {
	switch rt.kind {
	case routeBase:
		return "/v2/"
	case routeCatalog:
		return "/v2/_catalog"
	case routeTags:
		return "/v2/" + rt.name + "/tags/list"
	case routeManifest:
		return "/v2/" + rt.name + "/manifests/" + rt.arg
	case routeBlob:
		return "/v2/" + rt.name + "/blobs/" + rt.arg
	case routeUploadStart:
		return "/v2/" + rt.name + "/blobs/uploads/"
	case routeUpload:
		return "/v2/" + rt.name + "/blobs/uploads/" + rt.arg
	case routeReferrers:
		return "/v2/" + rt.name + "/referrers/" + rt.arg
	}
	return ""
}

// FuzzParseRoute: parsing any path never panics, a parsed route's name
// and argument are the path's own segments, and formatting a route and
// parsing it again gives the same route.
func FuzzParseRoute(f *testing.F) {
	for _, seed := range []string{
		"", "/", "/v2", "/v2/", "/v2/_catalog", "/v2/_catalog/", "/v3/", "/v2//",
		"/v2/library/app/tags/list",
		"/v2/library/app/manifests/latest",
		"/v2/library/app/manifests/" + seedDigest.String(),
		"/v2/library/app/blobs/" + seedDigest.String(),
		"/v2/library/app/blobs/uploads/",
		"/v2/library/app/blobs/uploads",
		"/v2/library/app/blobs/uploads/0123456789abcdef",
		"/v2/library/app/referrers/" + seedSHA512Digest.String(),
		"/v2/a/blobs/blobs/uploads/",
		"/v2/a/blobs/uploads/blobs/uploads/x",
		"/v2/a/tags/tags/list",
		"/v2/tags/list",
		"/v2/blobs/uploads/x",
		"/v2/a/../b/manifests/x",
		"/v2//blobs/uploads/",
		"/v2/a/manifests/list/tags/list",
		"/v2/" + strings.Repeat("a/", 200) + "tags/list",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt := parseRoute(path)
		_ = rt.kind.String()
		validName(rt.name)
		validTag(rt.arg)
		if rt.kind == routeNone {
			return
		}
		if rt.kind != routeBase && rt.kind != routeCatalog {
			if !strings.HasPrefix(path, "/v2/"+rt.name+"/") {
				t.Errorf("parseRoute(%q) name %q is not the path's start", path, rt.name)
			}
			if rt.arg != "" && !strings.HasSuffix(path, "/"+rt.arg) {
				t.Errorf("parseRoute(%q) argument %q is not the path's end", path, rt.arg)
			}
			if strings.Contains(rt.arg, "/") {
				t.Errorf("parseRoute(%q) argument %q spans segments", path, rt.arg)
			}
		}
		if again := parseRoute(formatRoute(rt)); again != rt {
			t.Errorf("parseRoute(%q) = %+v, but its canonical path %q parses to %+v", path, rt, formatRoute(rt), again)
		}
	})
}

// FuzzNames: a valid repository name or tag has the shape the spec allows,
// and a valid name put into any route's path is parsed back out of it.
func FuzzNames(f *testing.F) {
	for _, seed := range [][2]string{
		{"library/app", "latest"},
		{"a", "v1.0.0"},
		{"a/blobs", "list"},
		{"a/blobs/uploads", "uploads"},
		{"x/tags", "manifests"},
		{"a__b/c-d/e.f", "_x"},
		{"a___b", "-x"},
		{"A/b", ".x"},
		{"a//b", strings.Repeat("t", 129)},
		{strings.Repeat("a", 256), strings.Repeat("t", 128)},
		{strings.Repeat("a", 257), "x:y"},
		{"a/..", "a/b"},
		{"-a", ""},
		{"a-", "é"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, tag string) {
		if validName(name) {
			if len(name) > maxNameLength || strings.Contains(name, "..") || strings.Contains(name, "//") ||
				strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.ToLower(name) != name {
				t.Errorf("validName(%q) = true", name)
			}
			ref := seedDigest.String()
			if validTag(tag) {
				ref = tag
			}
			for _, want := range []route{
				{kind: routeTags, name: name},
				{kind: routeManifest, name: name, arg: ref},
				{kind: routeManifest, name: name, arg: seedSHA512Digest.String()},
				{kind: routeBlob, name: name, arg: seedDigest.String()},
				{kind: routeUploadStart, name: name},
				{kind: routeUpload, name: name, arg: "0123456789abcdef0123456789abcdef"},
				{kind: routeReferrers, name: name, arg: seedDigest.String()},
			} {
				if got := parseRoute(formatRoute(want)); got != want {
					t.Errorf("parseRoute(%q) = %+v; want %+v", formatRoute(want), got, want)
				}
			}
		}
		if validTag(tag) {
			if len(tag) > 128 || strings.ContainsAny(tag, "/:@") || strings.HasPrefix(tag, ".") || strings.HasPrefix(tag, "-") {
				t.Errorf("validTag(%q) = true", tag)
			}
			if checkReference(tag) != nil {
				t.Errorf("checkReference(%q) refuses a valid tag", tag)
			}
		}
	})
}

// FuzzParseManifest: any body and Content-Type, never a panic; an accepted
// manifest has a supported media type (the Content-Type, when given),
// references of the right kind with valid digests, and a valid subject.
func FuzzParseManifest(f *testing.F) {
	cfg := `{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + seedDigest.String() + `","size":7}`
	layer := `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + seedSHA512Digest.String() + `","size":0}`
	child := `{"mediaType":"` + ocispec.MediaTypeImageManifest + `","digest":"` + seedDigest.String() + `","size":2,"platform":{"os":"linux"}}`
	seeds := []struct{ contentType, body string }{
		{ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `","config":` + cfg + `,"layers":[` + layer + `]}`},
		{"", `{"schemaVersion":2,"config":` + cfg + `,"layers":[]}`},
		{schema2.MediaTypeManifest, `{"schemaVersion":2,"mediaType":"` + schema2.MediaTypeManifest + `","config":` + cfg + `,"layers":[` + layer + `,` + layer + `]}`},
		{ocispec.MediaTypeImageIndex, `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[` + child + `]}`},
		{manifestlist.MediaTypeManifestList, `{"schemaVersion":2,"mediaType":"` + manifestlist.MediaTypeManifestList + `","manifests":[` + child + `]}`},
		{"", `{"schemaVersion":2,"manifests":[]}`},
		{ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"artifactType":"application/vnd.example","config":` + cfg + `,"subject":` + child + `,"annotations":{"a":"b"}}`},
		{ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + digest.FromString("{}").String() + `","size":2,"data":"e30="}}`},
		{ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"` + seedDigest.String() + `","size":2,"data":"e30="}}`},
		{ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:x","size":-1}}`},
		{ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"` + seedDigest.String() + `","size":1}],"config":` + cfg + `}`},
		{"application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1}`},
		{schema2.MediaTypeManifest, `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `"}`},
		{"text/plain", `{"schemaVersion":2}`},
		{"", `{"schemaVersion":2,"manifests":null,"config":null}`},
		{"", `{"schemaVersion":"2"}`},
		{"", `[]`},
		{"", `null`},
		{"", ``},
	}
	for _, s := range seeds {
		f.Add(s.contentType, []byte(s.body))
	}
	supported := map[string]bool{
		ocispec.MediaTypeImageManifest: true, ocispec.MediaTypeImageIndex: true, schema2.MediaTypeManifest: true, manifestlist.MediaTypeManifestList: true,
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		pm, err := parseManifest(contentType, body)
		if err != nil {
			if pm != nil {
				t.Errorf("parseManifest returned a manifest and error %v", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Errorf("parseManifest accepted invalid JSON %q", body)
		}
		if !supported[pm.MediaType] {
			t.Errorf("accepted media type %q", pm.MediaType)
		}
		if contentType != "" && pm.MediaType != contentType {
			t.Errorf("Content-Type %q, but the manifest was taken as %q", contentType, pm.MediaType)
		}
		if pm.Subject != "" && pm.Subject.Validate() != nil {
			t.Errorf("accepted subject %q", pm.Subject)
		}
		index := pm.MediaType == ocispec.MediaTypeImageIndex || pm.MediaType == manifestlist.MediaTypeManifestList
		if !index && len(pm.References) == 0 {
			t.Errorf("accepted an image manifest without a config")
		}
		for _, ref := range pm.References {
			if err := ref.Digest.Validate(); err != nil {
				t.Errorf("accepted reference %q: %v", ref.Digest, err)
			}
			if want := map[bool]metadata.RefKind{true: metadata.RefManifest, false: metadata.RefBlob}[index]; ref.Kind != want {
				t.Errorf("a %s references %s as kind %d", pm.MediaType, ref.Digest, ref.Kind)
			}
		}
	})
}

// FuzzParseContentRange: never a panic; an accepted range is ordered and
// non-negative, and its canonical form parses to the same range.
func FuzzParseContentRange(f *testing.F) {
	for _, seed := range []string{
		"0-0", "0-1023", "bytes 0-1023", " 5-9 ", "1024-2047", "5-4", "-1-5", "0--1", "a-b", "",
		"-", "0-", "-0", "9223372036854775807-9223372036854775807", "0-9223372036854775808", "+1-+2", "bytes=0-1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, end, ok := parseContentRange(s)
		if !ok {
			if start != 0 || end != 0 {
				t.Errorf("parseContentRange(%q) refused but returned %d-%d", s, start, end)
			}
			return
		}
		if start < 0 || end < start {
			t.Errorf("parseContentRange(%q) = %d-%d", s, start, end)
		}
		for _, canonical := range []string{fmt.Sprintf("%d-%d", start, end), fmt.Sprintf("bytes %d-%d", start, end)} {
			if s2, e2, ok := parseContentRange(canonical); !ok || s2 != start || e2 != end {
				t.Errorf("parseContentRange(%q) = %d-%d, but %q parses to %d-%d, %v", s, start, end, canonical, s2, e2, ok)
			}
		}
	})
}

// FuzzParseDigest: never a panic; an accepted digest is valid, of an
// available algorithm, and exactly the string given; a refused one is
// DIGEST_INVALID.
func FuzzParseDigest(f *testing.F) {
	for _, seed := range []string{
		seedDigest.String(), seedSHA512Digest.String(), digest.SHA384.FromString("x").String(),
		"sha256:", "sha256", ":", "", "sha256:xyz", strings.ToUpper(seedDigest.String()),
		"md5:d41d8cd98f00b204e9800998ecf8427e", "blake3:" + strings.Repeat("a", 64),
		"sha256+b64:" + strings.Repeat("a", 43), seedDigest.String() + "\n", "SHA256:" + seedDigest.Encoded(),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDigest(s)
		if err != nil {
			var e *ocierr.Error
			if !errors.As(err, &e) || e.Code != ocierr.DigestInvalid {
				t.Errorf("parseDigest(%q) error %v is not DIGEST_INVALID", s, err)
			}
			return
		}
		if d.String() != s {
			t.Errorf("parseDigest(%q) = %q", s, d)
		}
		if err := d.Validate(); err != nil || !d.Algorithm().Available() {
			t.Errorf("parseDigest(%q) accepted an invalid digest: %v", s, err)
		}
		d.Algorithm().FromBytes([]byte("hashable")) // must not panic
	})
}

// FuzzPageParams: never a panic; an accepted n is the default or a
// non-negative number; a refused one is PAGINATION_NUMBER_INVALID.
func FuzzPageParams(f *testing.F) {
	for _, seed := range []struct {
		query string
		def   int
	}{
		{"", -1}, {"n=10", 1000}, {"n=0&last=a", -1}, {"n=-1", 1000}, {"n=ten", 1000}, {"n=1.5", 1000},
		{"n=99999999999999999999", 1000}, {"n=9223372036854775807", 1000}, {"n=+5", 1000}, {"n=", 1000},
		{"last=library%2Fapp&n=2", 1000}, {"n=1&n=2", -1}, {"%zz", 1000}, {"last=%00", -1},
	} {
		f.Add(seed.query, seed.def)
	}
	f.Fuzz(func(t *testing.T, query string, def int) {
		r := &http.Request{URL: &url.URL{Path: "/v2/_catalog", RawQuery: query}}
		n, last, err := pageParams(r, def)
		if err != nil {
			var e *ocierr.Error
			if !errors.As(err, &e) || e.Code != ocierr.PaginationInvalid {
				t.Errorf("pageParams(%q) error %v is not PAGINATION_NUMBER_INVALID", query, err)
			}
			return
		}
		if n != def && n < 0 {
			t.Errorf("pageParams(%q) n = %d", query, n)
		}
		if want := r.URL.Query().Get("last"); last != want {
			t.Errorf("pageParams(%q) last = %q; want %q", query, last, want)
		}
		// The page and its Link never fail, whatever the store returns.
		names := []string{"a", "b", "c"}
		w := httptest.NewRecorder()
		page := setNextLink(w, r, names, n)
		if n >= 0 && len(page) > n {
			t.Errorf("a page of n=%d holds %d names", n, len(page))
		}
	})
}

// fuzzRegistry is a registry over real storage with a small fixture, shared
// by the inputs of one fuzz process.
func fuzzRegistry(f *testing.F) *Registry {
	dir := f.TempDir()
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		f.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "berth.db"))
	if err != nil {
		f.Fatal(err)
	}
	reg := New(store, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{CreateOnPush: true})
	f.Cleanup(func() {
		reg.Close(context.Background())
		store.Close()
	})
	push := func(method, path, contentType string, body []byte) {
		r := httptest.NewRequest(method, path, bytes.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		reg.ServeHTTP(w, r)
		if w.Code != http.StatusCreated {
			f.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
	}
	push("POST", "/v2/library/app/blobs/uploads/?digest="+fuzzConfigDigest.String(), "", fuzzConfig)
	push("PUT", "/v2/library/app/manifests/v1", ocispec.MediaTypeImageManifest, fuzzManifest)
	return reg
}

// fuzzUploadID names an upload session the fuzzer can find: real ids are
// random.
const fuzzUploadID = "f0220000000000000000000000000000"

// ensureFuzzUpload opens session fuzzUploadID in library/app unless it is
// open, so every input can reach the chunk and commit handlers.
func ensureFuzzUpload(t *testing.T, reg *Registry) {
	ctx := context.Background()
	if _, err := reg.store.Upload(ctx, fuzzUploadID); err == nil {
		return
	}
	u := metadata.Upload{ID: fuzzUploadID, Repository: "library/app", Algorithm: digest.Canonical}
	if err := reg.store.CreateUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
}

var (
	fuzzConfig         = []byte(`{"architecture":"amd64","os":"linux"}`)
	fuzzConfigDigest   = digest.FromBytes(fuzzConfig)
	fuzzManifest       = []byte(`{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + fuzzConfigDigest.String() + `","size":` + fmt.Sprint(len(fuzzConfig)) + `}}`)
	fuzzManifestDigest = digest.FromBytes(fuzzManifest)
)

// FuzzHandler sends arbitrary requests to the whole handler: it never
// answers 500 and every error has the spec's error body.
func FuzzHandler(f *testing.F) {
	blob := "/v2/library/app/blobs/" + fuzzConfigDigest.String()
	upload := "/v2/library/app/blobs/uploads/" + fuzzUploadID
	seeds := []struct {
		method, path, query, header string
		body                        []byte
	}{
		{"GET", "/v2/", "", "", nil},
		{"GET", "/v2/_catalog", "n=1&last=a", "", nil},
		{"GET", "/v2/library/app/tags/list", "n=-1", "", nil},
		{"GET", "/v2/library/app/manifests/v1", "", "If-None-Match: \"" + fuzzManifestDigest.String() + "\"", nil},
		{"HEAD", "/v2/library/app/manifests/" + fuzzManifestDigest.String(), "", "", nil},
		{"PUT", "/v2/library/app/manifests/v2", "tag=a&tag=b", "Content-Type: " + ocispec.MediaTypeImageManifest, fuzzManifest},
		{"PUT", "/v2/library/app/manifests/" + fuzzManifestDigest.String(), "", "Content-Type: " + schema2.MediaTypeManifest, fuzzManifest},
		{"PUT", "/v2/library/app/manifests/v3", "", "Content-Type: " + ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"a/b","digest":"` + fuzzManifestDigest.String() + `","size":1}]}`)},
		{"DELETE", "/v2/library/app/manifests/v1", "", "", nil},
		{"GET", blob, "", "Range: bytes=0-3", nil},
		{"GET", blob, "", "Range: bytes=100-", nil},
		{"GET", blob, "", "If-Match: \"x\"\nRange: bytes=0-0,2-3", nil},
		{"HEAD", blob, "", "", nil},
		{"DELETE", blob, "", "", nil},
		{"POST", "/v2/library/app/blobs/uploads/", "", "", nil},
		{"POST", "/v2/library/app/blobs/uploads/", "digest=" + digest.FromString("x").String(), "", []byte("x")},
		{"POST", "/v2/library/app/blobs/uploads/", "digest=" + digest.SHA512.FromString("y").String(), "", []byte("x")},
		{"POST", "/v2/other/blobs/uploads/", "mount=" + fuzzConfigDigest.String() + "&from=library/app", "", nil},
		{"POST", "/v2/other/blobs/uploads/", "mount=" + fuzzConfigDigest.String(), "", nil},
		{"PATCH", "/v2/library/app/blobs/uploads/0123456789abcdef", "", "Content-Range: 0-2", []byte("abc")},
		{"GET", upload, "", "", nil},
		{"PATCH", upload, "", "Content-Range: 0-2", []byte("abc")},
		{"PATCH", upload, "", "Content-Range: 3-5", []byte("abc")},
		{"PATCH", upload, "", "", []byte("streamed")},
		{"PUT", upload, "digest=" + digest.FromString("abc").String(), "", []byte("abc")},
		{"PUT", upload, "digest=" + digest.SHA512.FromString("abc").String(), "Content-Range: 0-2", []byte("abc")},
		{"PUT", upload, "digest=" + digest.FromString("").String(), "", nil},
		{"DELETE", upload, "", "", nil},
		{"GET", "/v2/other/blobs/uploads/" + fuzzUploadID, "", "", nil},
		{"GET", "/v2/library/app/referrers/" + fuzzManifestDigest.String(), "artifactType=a/b", "", nil},
		{"OPTIONS", "/v2/library/app/tags/list", "", "", nil},
		{"GET", "/v2/Library/app/tags/list", "", "", nil},
		{"", "", "", "", nil},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.header, s.body)
	}
	reg := fuzzRegistry(f)
	f.Fuzz(func(t *testing.T, method, path, query, header string, body []byte) {
		ensureFuzzUpload(t, reg)
		r := httptest.NewRequest("GET", "/", bytes.NewReader(body))
		r.Method = method
		r.URL.Path = path
		r.URL.RawQuery = query
		for line := range strings.Lines(header) {
			if k, v, ok := strings.Cut(line, ":"); ok {
				r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		w := httptest.NewRecorder()
		reg.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s answered %d: %s", method, path, query, w.Code, w.Body)
		}
		if w.Code < 400 || method == http.MethodHead {
			return
		}
		var e struct {
			Errors []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Code == "" {
			t.Fatalf("%s %s?%s answered %d with %q, not the spec's error body", method, path, query, w.Code, w.Body)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s?%s answered %d with Content-Type %q", method, path, query, w.Code, ct)
		}
	})
}
