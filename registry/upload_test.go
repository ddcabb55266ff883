package registry_test

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
)

// chunk sends content[start:end] to an upload as a PATCH with its
// Content-Range and returns the response.
func (tr *testRegistry) chunk(t *testing.T, loc string, content []byte, start, end int) response {
	t.Helper()
	h := http.Header{"Content-Range": {fmt.Sprintf("%d-%d", start, end-1)}}
	return tr.do(t, "PATCH", loc, h, content[start:end])
}

// expectUpload checks the headers describing an upload session.
func expectUpload(t *testing.T, what string, resp response, loc string, size int) {
	t.Helper()
	wantRange := fmt.Sprintf("0-%d", max(size-1, 0))
	if got := resp.Header.Get("Range"); got != wantRange {
		t.Errorf("%s: Range %q; want %q", what, got, wantRange)
	}
	if got := resp.Header.Get("Location"); got != loc {
		t.Errorf("%s: Location %q; want %q", what, got, loc)
	}
}

// expectBlob checks that repo serves content as blob d.
func (tr *testRegistry) expectBlob(t *testing.T, repo string, d digest.Digest, content []byte) {
	t.Helper()
	resp := tr.do(t, "HEAD", "/v2/"+repo+"/blobs/"+d.String(), nil, nil)
	expect(t, "HEAD "+d.String(), resp, http.StatusOK, "")
	if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(content)) {
		t.Errorf("HEAD %s: Content-Length %s; want %d", d, got, len(content))
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
		t.Errorf("HEAD %s: Docker-Content-Digest %s", d, got)
	}
	resp = tr.do(t, "GET", "/v2/"+repo+"/blobs/"+d.String(), nil, nil)
	expect(t, "GET "+d.String(), resp, http.StatusOK, "")
	if !bytes.Equal(resp.Body, content) {
		t.Errorf("GET %s: %d bytes that differ from the %d pushed", d, len(resp.Body), len(content))
	}
}

// storedFiles lists the files in the blob store: staged uploads and blobs.
func (tr *testRegistry) storedFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	root := filepath.Join(tr.dir, "blobs")
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// A chunked upload: PATCHes with Content-Range, a status check, a chunk
// sent again (416 with the range to resume from), and a PUT carrying the
// last chunk.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-a-blob-in-chunks
func TestChunkedUpload(t *testing.T) {
	tr := newTestRegistry(t)
	content := bytes.Repeat([]byte("0123456789"), 1000)
	d := digest.FromBytes(content)

	loc := tr.startUpload(t, "library/app")
	resp := tr.chunk(t, loc, content, 0, 4000)
	expect(t, "first chunk", resp, http.StatusAccepted, "")
	expectUpload(t, "first chunk", resp, loc, 4000)
	loc = resp.Header.Get("Location")

	resp = tr.chunk(t, loc, content, 4000, 9000)
	expect(t, "second chunk", resp, http.StatusAccepted, "")
	expectUpload(t, "second chunk", resp, loc, 9000)

	resp = tr.do(t, "GET", loc, nil, nil)
	expect(t, "status", resp, http.StatusNoContent, "")
	expectUpload(t, "status", resp, loc, 9000)

	for _, r := range [][2]int{{4000, 9000}, {9500, 10000}, {0, 10000}} {
		resp = tr.chunk(t, loc, content, r[0], r[1])
		expect(t, fmt.Sprintf("chunk %d-%d out of order", r[0], r[1]-1), resp, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID")
		expectUpload(t, "chunk out of order", resp, loc, 9000)
	}

	h := http.Header{"Content-Range": {"9000-9999"}}
	resp = tr.do(t, "PUT", withQuery(loc, "digest", d.String()), h, content[9000:])
	expect(t, "last chunk", resp, http.StatusCreated, "")
	if got := resp.Header.Get("Location"); got != "/v2/library/app/blobs/"+d.String() {
		t.Errorf("Location %q; want the blob's URL", got)
	}
	tr.expectBlob(t, "library/app", d, content)

	resp = tr.do(t, "GET", loc, nil, nil)
	expect(t, "status of a finished upload", resp, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
}

// A PATCH without Content-Range streams the whole blob; the PUT then has
// no body.
func TestStreamedUpload(t *testing.T) {
	tr := newTestRegistry(t)
	content := []byte("streamed in one PATCH")
	d := digest.FromBytes(content)
	loc := tr.startUpload(t, "library/app")
	resp := tr.do(t, "PATCH", loc, http.Header{"Content-Type": {"application/octet-stream"}}, content)
	expect(t, "PATCH", resp, http.StatusAccepted, "")
	expectUpload(t, "PATCH", resp, loc, len(content))
	resp = tr.do(t, "PUT", withQuery(resp.Header.Get("Location"), "digest", d.String()), nil, nil)
	expect(t, "PUT", resp, http.StatusCreated, "")
	tr.expectBlob(t, "library/app", d, content)
}

func TestCancelUpload(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload(t, "library/app")
	expect(t, "PATCH", tr.do(t, "PATCH", loc, nil, []byte("abc")), http.StatusAccepted, "")
	expect(t, "DELETE", tr.do(t, "DELETE", loc, nil, nil), http.StatusNoContent, "")
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		expect(t, method+" after DELETE", tr.do(t, method, loc, nil, []byte("def")), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	}
	resp := tr.do(t, "PUT", withQuery(loc, "digest", digest.FromString("abc").String()), nil, nil)
	expect(t, "PUT after DELETE", resp, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
	if files := tr.storedFiles(t); len(files) != 0 {
		t.Errorf("files left in the blob store: %q", files)
	}
}

// A wrong digest stores nothing: neither digest is a blob afterwards, the
// session is over and its bytes are gone.
func TestDigestMismatchStoresNothing(t *testing.T) {
	content := []byte("the bytes actually sent")
	actual := digest.FromBytes(content)
	claimed := digest.FromString("the bytes the client claims")
	tests := []struct {
		name string
		push func(t *testing.T, tr *testRegistry) (resp response, loc string)
	}{
		{"monolithic POST", func(t *testing.T, tr *testRegistry) (response, string) {
			return tr.do(t, "POST", "/v2/library/app/blobs/uploads/?digest="+claimed.String(), nil, content), ""
		}},
		{"PUT with the last chunk", func(t *testing.T, tr *testRegistry) (response, string) {
			loc := tr.startUpload(t, "library/app")
			return tr.do(t, "PUT", withQuery(loc, "digest", claimed.String()), nil, content), loc
		}},
		{"PUT after chunks", func(t *testing.T, tr *testRegistry) (response, string) {
			loc := tr.startUpload(t, "library/app")
			expect(t, "chunk", tr.chunk(t, loc, content, 0, len(content)), http.StatusAccepted, "")
			return tr.do(t, "PUT", withQuery(loc, "digest", claimed.String()), nil, nil), loc
		}},
		{"sha512 PUT after chunks", func(t *testing.T, tr *testRegistry) (response, string) {
			loc := tr.startUpload(t, "library/app")
			expect(t, "chunk", tr.chunk(t, loc, content, 0, len(content)), http.StatusAccepted, "")
			wrong := digest.SHA512.FromString("not the content")
			return tr.do(t, "PUT", withQuery(loc, "digest", wrong.String()), nil, nil), loc
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			resp, loc := tt.push(t, tr)
			expect(t, "push", resp, http.StatusBadRequest, "DIGEST_INVALID")
			for _, d := range []digest.Digest{actual, claimed} {
				expect(t, "HEAD "+d.String(), tr.do(t, "HEAD", "/v2/library/app/blobs/"+d.String(), nil, nil), http.StatusNotFound, "")
			}
			if loc != "" {
				expect(t, "upload status", tr.do(t, "GET", loc, nil, nil), http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
			}
			if files := tr.storedFiles(t); len(files) != 0 {
				t.Errorf("files left in the blob store: %q", files)
			}
		})
	}
}

// An upload outlives the process: chunks sent to one registry are finished
// on a new registry and store opened on the same directories.
func TestUploadResumesAfterRestart(t *testing.T) {
	tr := newTestRegistry(t)
	content := bytes.Repeat([]byte("resumable "), 5000)
	d := digest.FromBytes(content)
	loc := tr.startUpload(t, "library/app")
	expect(t, "first chunk", tr.chunk(t, loc, content, 0, 30000), http.StatusAccepted, "")

	tr.restart(t)

	resp := tr.do(t, "GET", loc, nil, nil)
	expect(t, "status after restart", resp, http.StatusNoContent, "")
	expectUpload(t, "status after restart", resp, loc, 30000)
	expect(t, "second chunk", tr.chunk(t, loc, content, 30000, 45000), http.StatusAccepted, "")
	h := http.Header{"Content-Range": {fmt.Sprintf("45000-%d", len(content)-1)}}
	resp = tr.do(t, "PUT", withQuery(loc, "digest", d.String()), h, content[45000:])
	expect(t, "PUT after restart", resp, http.StatusCreated, "")
	tr.expectBlob(t, "library/app", d, content)
}

// sha512 blobs: pushed in one POST, and chunked with the digest named only
// by the final PUT (the session hashed sha256 until then).
func TestSHA512Blobs(t *testing.T) {
	content := bytes.Repeat([]byte("sha512 "), 3000)
	d := digest.SHA512.FromBytes(content)
	tests := []struct {
		name string
		push func(t *testing.T, tr *testRegistry) response
	}{
		{"monolithic", func(t *testing.T, tr *testRegistry) response {
			return tr.do(t, "POST", "/v2/library/app/blobs/uploads/?digest="+d.String(), nil, content)
		}},
		{"chunked, digest at the end", func(t *testing.T, tr *testRegistry) response {
			loc := tr.startUpload(t, "library/app")
			expect(t, "chunk", tr.chunk(t, loc, content, 0, 10000), http.StatusAccepted, "")
			expect(t, "chunk", tr.chunk(t, loc, content, 10000, len(content)), http.StatusAccepted, "")
			return tr.do(t, "PUT", withQuery(loc, "digest", d.String()), nil, nil)
		}},
		{"chunked, last chunk in the PUT", func(t *testing.T, tr *testRegistry) response {
			loc := tr.startUpload(t, "library/app")
			expect(t, "chunk", tr.chunk(t, loc, content, 0, 10000), http.StatusAccepted, "")
			return tr.do(t, "PUT", withQuery(loc, "digest", d.String()), nil, content[10000:])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRegistry(t)
			resp := tt.push(t, tr)
			expect(t, "push", resp, http.StatusCreated, "")
			if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
				t.Errorf("Docker-Content-Digest %s; want %s", got, d)
			}
			tr.expectBlob(t, "library/app", d, content)
			// The blob is known by the digest it was pushed with only.
			sha256 := digest.FromBytes(content)
			expect(t, "HEAD by sha256", tr.do(t, "HEAD", "/v2/library/app/blobs/"+sha256.String(), nil, nil), http.StatusNotFound, "")
		})
	}
}

// Cross-repository mounts, with and without from; a mount the registry
// cannot do starts an ordinary upload instead.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#mounting-a-blob-from-another-repository
func TestMount(t *testing.T) {
	tr := newTestRegistry(t)
	content := []byte("a shared base layer")
	d := tr.pushBlob(t, "library/base", content)

	for _, url := range []string{
		"/v2/team/a/blobs/uploads/?mount=" + d.String() + "&from=library/base",
		"/v2/team/b/blobs/uploads/?mount=" + d.String(),
	} {
		resp := tr.do(t, "POST", url, nil, nil)
		expect(t, "POST "+url, resp, http.StatusCreated, "")
	}
	tr.expectBlob(t, "team/a", d, content)
	tr.expectBlob(t, "team/b", d, content)

	// Unknown: the 202 is an upload session like any other.
	other := []byte("not mounted but uploaded")
	od := digest.FromBytes(other)
	resp := tr.do(t, "POST", "/v2/team/c/blobs/uploads/?mount="+od.String()+"&from=library/base", nil, nil)
	expect(t, "mount of an unknown blob", resp, http.StatusAccepted, "")
	resp = tr.do(t, "PUT", withQuery(resp.Header.Get("Location"), "digest", od.String()), nil, other)
	expect(t, "PUT to the session", resp, http.StatusCreated, "")
	tr.expectBlob(t, "team/c", od, other)

	// The mounted blob is one blob: deleting it from one repository leaves
	// the others' copies.
	expect(t, "DELETE", tr.do(t, "DELETE", "/v2/team/a/blobs/"+d.String(), nil, nil), http.StatusAccepted, "")
	expect(t, "HEAD after DELETE", tr.do(t, "HEAD", "/v2/team/a/blobs/"+d.String(), nil, nil), http.StatusNotFound, "")
	tr.expectBlob(t, "library/base", d, content)
	tr.expectBlob(t, "team/b", d, content)
}

// The same blob pushed twice, to two repositories, is stored once.
func TestBlobPushedTwiceIsStoredOnce(t *testing.T) {
	tr := newTestRegistry(t)
	content := []byte("pushed twice")
	d := tr.pushBlob(t, "team/a", content)
	loc := tr.startUpload(t, "team/b")
	expect(t, "PUT", tr.do(t, "PUT", withQuery(loc, "digest", d.String()), nil, content), http.StatusCreated, "")
	tr.expectBlob(t, "team/a", d, content)
	tr.expectBlob(t, "team/b", d, content)
	if files := tr.storedFiles(t); len(files) != 1 {
		t.Errorf("files in the blob store: %q; want the one blob", files)
	}
}

// A deleted blob no longer satisfies a manifest.
func TestDeletedBlobIsNotReferenced(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushFixture(t)
	expect(t, "DELETE", tr.do(t, "DELETE", "/v2/library/app/blobs/"+layerDigest.String(), nil, nil), http.StatusAccepted, "")
	resp := tr.do(t, "PUT", "/v2/library/app/manifests/v2", contentType(ociManifest), imageBytes)
	expect(t, "PUT of a manifest of the deleted blob", resp, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	if !bytes.Contains(resp.Body, []byte(layerDigest.String())) {
		t.Errorf("error %s does not name the missing %s", resp.Body, layerDigest)
	}
}

// The index and the blob store can disagree (bytes removed by hand, a
// restore from an older backup): the blob is then unknown, not an error.
func TestBlobMissingFromStorage(t *testing.T) {
	tr := newTestRegistry(t)
	d := tr.pushBlob(t, "library/app", layerBlob)
	for _, f := range tr.storedFiles(t) {
		if err := os.Remove(filepath.Join(tr.dir, "blobs", filepath.FromSlash(f))); err != nil {
			t.Fatal(err)
		}
	}
	resp := tr.do(t, "GET", "/v2/library/app/blobs/"+d.String(), nil, nil)
	expect(t, "GET of a blob whose bytes are gone", resp, http.StatusNotFound, "BLOB_UNKNOWN")
}

// A manifest sent without a Content-Length is cut off at the limit too.
func TestManifestTooLargeWithoutLength(t *testing.T) {
	tr := newTestRegistry(t)
	tr.pushFixture(t)
	body := io.MultiReader(bytes.NewReader(largeManifest)) // hides the length: chunked encoding
	req, err := http.NewRequestWithContext(t.Context(), "PUT", tr.URL+"/v2/library/app/manifests/big", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ociManifest)
	resp, err := tr.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	expect(t, "PUT", response{resp.StatusCode, resp.Header, b}, http.StatusRequestEntityTooLarge, "SIZE_INVALID")
}
