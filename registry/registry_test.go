package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

// testRegistry is a registry over a real SQLite index and filesystem blob
// store in temp directories, served by httptest.
type testRegistry struct {
	URL    string
	dir    string // holds blobs/ and berth.db
	config registry.Config
	store  *sqlite.Store
	reg    *registry.Registry
	server *httptest.Server
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	return newTestRegistryWith(t, registry.Config{CreateOnPush: true})
}

func newTestRegistryWith(t *testing.T, cfg registry.Config) *testRegistry {
	t.Helper()
	tr := &testRegistry{dir: t.TempDir(), config: cfg}
	tr.start(t)
	t.Cleanup(func() { tr.stop(t) })
	return tr
}

// start opens the store and blob store in tr.dir and serves a registry
// over them.
func (tr *testRegistry) start(t *testing.T) {
	t.Helper()
	blobs, err := filesystem.New(filepath.Join(tr.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	tr.store, err = sqlite.Open(t.Context(), filepath.Join(tr.dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr.reg = registry.New(tr.store, blobs, log, tr.config)
	tr.server = httptest.NewServer(tr.reg)
	tr.URL = tr.server.URL
}

// stop shuts the server, the registry and the store down, in that order;
// stopping twice is a no-op.
func (tr *testRegistry) stop(t *testing.T) {
	t.Helper()
	if tr.server == nil {
		return
	}
	tr.server.Close()
	// Not t.Context(): it is canceled before cleanups run.
	if err := tr.reg.Close(context.Background()); err != nil {
		t.Errorf("closing the registry: %v", err)
	}
	if err := tr.store.Close(); err != nil {
		t.Errorf("closing the store: %v", err)
	}
	tr.server = nil
}

// restart stops everything and starts a new registry and store on the same
// directories, as a process restart would.
func (tr *testRegistry) restart(t *testing.T) {
	t.Helper()
	tr.stop(t)
	tr.start(t)
}

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request to the registry; url is a path (and query) on it.
func (tr *testRegistry) do(t *testing.T, method, url string, header http.Header, body []byte) response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, tr.URL+url, r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := tr.server.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	if resp.StatusCode == http.StatusInternalServerError {
		t.Errorf("%s %s: 500 Internal Server Error: %s", method, url, b)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// expect checks a response's status and, for an error, that its body is
// the spec's error document with code.
func expect(t *testing.T, what string, resp response, wantStatus int, wantCode string) {
	t.Helper()
	if resp.Status != wantStatus {
		t.Fatalf("%s: status %d; want %d (body %s)", what, resp.Status, wantStatus, resp.Body)
	}
	if wantCode != "" {
		if got := errorCode(t, what, resp); got != wantCode {
			t.Fatalf("%s: error code %s; want %s", what, got, wantCode)
		}
	}
}

// errorCode checks that resp carries the spec's error body and returns its
// first code. A response to HEAD has no body, so its code is "".
func errorCode(t *testing.T, what string, resp response) string {
	t.Helper()
	if len(resp.Body) == 0 {
		return ""
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: error Content-Type %q; want application/json", what, ct)
	}
	var body struct {
		Errors []struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("%s: error body %q is not the spec's error document (%v)", what, resp.Body, err)
	}
	for _, e := range body.Errors {
		if e.Code == "" || e.Message == "" {
			t.Errorf("%s: error %+v lacks a code or message", what, e)
		}
	}
	return body.Errors[0].Code
}

// pushBlob uploads content to repo in one POST and returns its digest.
func (tr *testRegistry) pushBlob(t *testing.T, repo string, content []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(content)
	resp := tr.do(t, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), nil, content)
	expect(t, "pushing blob "+d.String(), resp, http.StatusCreated, "")
	return d
}

// pushManifest puts body as manifest reference of repo with its media type
// as Content-Type, and returns its digest.
func (tr *testRegistry) pushManifest(t *testing.T, repo, reference, mediaType string, body []byte) digest.Digest {
	t.Helper()
	resp := tr.do(t, "PUT", "/v2/"+repo+"/manifests/"+reference, contentType(mediaType), body)
	expect(t, "pushing manifest "+reference, resp, http.StatusCreated, "")
	return digest.Digest(resp.Header.Get("Docker-Content-Digest"))
}

// startUpload opens an upload session in repo and returns its Location.
func (tr *testRegistry) startUpload(t *testing.T, repo string) string {
	t.Helper()
	resp := tr.do(t, "POST", "/v2/"+repo+"/blobs/uploads/", nil, nil)
	expect(t, "starting an upload", resp, http.StatusAccepted, "")
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/") {
		t.Fatalf("upload Location %q is not under /v2/%s/blobs/uploads/", loc, repo)
	}
	return loc
}

func contentType(mediaType string) http.Header {
	if mediaType == "" {
		return nil
	}
	return http.Header{"Content-Type": {mediaType}}
}

// withQuery appends a query parameter to a Location, which may have a
// query already.
func withQuery(loc, key, value string) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + key + "=" + value
}

// Manifests are built from these types, so a test says what it changes.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       digest.Digest     `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Data         []byte            `json:"data,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     map[string]string `json:"platform,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType,omitempty"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        *descriptor       `json:"config,omitempty"`
	Layers        []descriptor      `json:"layers,omitempty"`
	Manifests     []descriptor      `json:"manifests,omitempty"`
	Subject       *descriptor       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func (m manifest) bytes() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func descriptorOf(mediaType string, content []byte) descriptor {
	return descriptor{MediaType: mediaType, Digest: digest.FromBytes(content), Size: int64(len(content))}
}

func ptr[T any](v T) *T { return &v }

// Media types used in tests.
const (
	ociManifest    = "application/vnd.oci.image.manifest.v1+json"
	ociIndex       = "application/vnd.oci.image.index.v1+json"
	ociConfig      = "application/vnd.oci.image.config.v1+json"
	ociLayer       = "application/vnd.oci.image.layer.v1.tar+gzip"
	ociEmpty       = "application/vnd.oci.empty.v1+json"
	dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	dockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	dockerConfig   = "application/vnd.docker.container.image.v1+json"
	dockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// The fixture every TestAPI case starts from: library/app holds a config
// and a layer and an OCI image of them tagged v1; other/repo holds a blob
// of its own. Each repository has an upload session open.
var (
	fixtureRepo   = "library/app"
	layerBlob     = []byte("layer bytes\n")
	configBlob    = []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	otherBlob     = []byte("a blob only other/repo holds")
	layerDigest   = digest.FromBytes(layerBlob)
	configDigest  = digest.FromBytes(configBlob)
	otherDigest   = digest.FromBytes(otherBlob)
	missingDigest = digest.FromString("never pushed")
	emptyDigest   = digest.FromBytes(nil)

	imageConfig   = descriptorOf(ociConfig, configBlob)
	imageLayer    = descriptorOf(ociLayer, layerBlob)
	fixtureImage  = manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig, Layers: []descriptor{imageLayer}}
	imageBytes    = fixtureImage.bytes()
	imageDigest   = digest.FromBytes(imageBytes)
	imageETag     = `"` + imageDigest.String() + `"`
	imageIndex    = manifest{SchemaVersion: 2, MediaType: ociIndex, Manifests: []descriptor{descriptorOf(ociManifest, imageBytes)}}
	missingLayer  = descriptor{MediaType: ociLayer, Digest: missingDigest, Size: 3}
	missingChild  = descriptor{MediaType: ociManifest, Digest: missingDigest, Size: 3}
	longName      = strings.Repeat("a", 256)
	longTag       = strings.Repeat("t", 128)
	largeManifest = padManifest(fixtureImage, 4<<20+1)
	limitManifest = padManifest(fixtureImage, 4<<20)
)

// padManifest returns m's JSON padded with spaces to size bytes.
func padManifest(m manifest, size int) []byte {
	b := m.bytes()
	return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
}

// fixture are the ids of the fixture's upload sessions.
type fixture struct {
	upload, otherUpload string
}

func (tr *testRegistry) pushFixture(t *testing.T) fixture {
	t.Helper()
	tr.pushBlob(t, fixtureRepo, configBlob)
	tr.pushBlob(t, fixtureRepo, layerBlob)
	tr.pushManifest(t, fixtureRepo, "v1", ociManifest, imageBytes)
	tr.pushBlob(t, "other/repo", otherBlob)
	return fixture{
		upload:      filepath.Base(tr.startUpload(t, fixtureRepo)),
		otherUpload: filepath.Base(tr.startUpload(t, "other/repo")),
	}
}

// apiTest is one request against a fresh registry holding the fixture.
// In url and wantHeader, {upload} and {otherUpload} stand for the
// fixture's upload ids. A wantHeader value ending in * matches as a prefix;
// an empty one asserts the header is absent.
type apiTest struct {
	name       string
	method     string
	url        string
	header     http.Header
	body       []byte
	wantStatus int
	wantCode   string // OCI error code
	wantHeader map[string]string
	wantBody   string // when set, the exact body
}

// TestAPI covers every route and every error the registry sends, one
// request each.
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md
func TestAPI(t *testing.T) {
	var tests []apiTest
	for _, group := range [][]apiTest{
		baseTests, nameTests, blobTests, uploadTests, manifestTests, tagTests, catalogTests, referrerTests,
	} {
		tests = append(tests, group...)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := newTestRegistry(t)
			fx := tr.pushFixture(t)
			ids := strings.NewReplacer("{upload}", fx.upload, "{otherUpload}", fx.otherUpload)
			resp := tr.do(t, tt.method, ids.Replace(tt.url), tt.header, tt.body)
			expect(t, tt.method+" "+tt.url, resp, tt.wantStatus, tt.wantCode)
			for k, want := range tt.wantHeader {
				want = ids.Replace(want)
				got, present := resp.Header.Get(k), len(resp.Header.Values(k)) > 0
				switch prefix, isPrefix := strings.CutSuffix(want, "*"); {
				case want == "" && present:
					t.Errorf("header %s = %q; want none", k, got)
				case isPrefix && (!present || !strings.HasPrefix(got, prefix)):
					t.Errorf("header %s = %q; want it to start with %q", k, got, prefix)
				case !isPrefix && got != want:
					t.Errorf("header %s = %q; want %q", k, got, want)
				}
			}
			if tt.method == "HEAD" && len(resp.Body) > 0 {
				t.Errorf("HEAD response has a body: %q", resp.Body)
			}
			if tt.wantBody != "" && string(resp.Body) != tt.wantBody {
				t.Errorf("body = %q; want %q", resp.Body, tt.wantBody)
			}
		})
	}
}

var baseTests = []apiTest{
	{name: "base", method: "GET", url: "/v2/", wantStatus: 200, wantBody: "{}",
		wantHeader: map[string]string{"Docker-Distribution-Api-Version": "registry/2.0", "Content-Type": "application/json"}},
	{name: "base HEAD", method: "HEAD", url: "/v2/", wantStatus: 200},
	{name: "base without slash", method: "GET", url: "/v2", wantStatus: 200},
	{name: "base wrong method", method: "DELETE", url: "/v2/", wantStatus: 405, wantCode: "UNSUPPORTED"},
	{name: "not the API", method: "GET", url: "/v1/_ping", wantStatus: 404, wantCode: "UNSUPPORTED"},
	{name: "unknown endpoint", method: "GET", url: "/v2/library/app/nothing/here", wantStatus: 404, wantCode: "UNSUPPORTED"},
	{name: "unknown endpoint without a name", method: "GET", url: "/v2/tags/list", wantStatus: 404, wantCode: "UNSUPPORTED"},
}

var nameTests = []apiTest{
	{name: "name upper case", method: "GET", url: "/v2/Library/app/tags/list", wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "name with ..", method: "GET", url: "/v2/library/../app/tags/list", wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "name with a..b", method: "PUT", url: "/v2/a..b/manifests/v1", body: imageBytes, wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "name of 257 characters", method: "GET", url: "/v2/" + longName + "a/tags/list", wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "name of 256 characters", method: "GET", url: "/v2/" + longName + "/tags/list", wantStatus: 404, wantCode: "NAME_UNKNOWN"},
	{name: "name with a leading separator", method: "GET", url: "/v2/-app/tags/list", wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "name with three underscores", method: "GET", url: "/v2/a___b/tags/list", wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "name with two underscores", method: "GET", url: "/v2/a__b/tags/list", wantStatus: 404, wantCode: "NAME_UNKNOWN"},
	{name: "name with an empty component", method: "GET", url: "/v2/library//app/tags/list", wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "empty name", method: "POST", url: "/v2//blobs/uploads/", wantStatus: 400, wantCode: "NAME_INVALID"},
	{name: "name invalid on HEAD", method: "HEAD", url: "/v2/UPPER/blobs/" + layerDigest.String(), wantStatus: 400},
	{name: "name invalid on upload", method: "POST", url: "/v2/BAD/blobs/uploads/", wantStatus: 400, wantCode: "NAME_INVALID"},
}

var blobTests = []apiTest{
	{name: "blob HEAD", method: "HEAD", url: "/v2/library/app/blobs/" + layerDigest.String(), wantStatus: 200,
		wantHeader: map[string]string{
			"Content-Length":        strconv.Itoa(len(layerBlob)),
			"Docker-Content-Digest": layerDigest.String(),
		}},
	{name: "blob GET", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String(), wantStatus: 200,
		wantBody: string(layerBlob),
		wantHeader: map[string]string{
			"Content-Type":          "application/octet-stream",
			"Docker-Content-Digest": layerDigest.String(),
			"ETag":                  `"` + layerDigest.String() + `"`,
		}},
	{name: "blob GET range", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String(),
		header:     http.Header{"Range": {"bytes=0-4"}},
		wantStatus: 206, wantBody: "layer",
		wantHeader: map[string]string{"Content-Range": "bytes 0-4/12", "Content-Length": "5"}},
	{name: "blob GET suffix range", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String(),
		header:     http.Header{"Range": {"bytes=-6"}},
		wantStatus: 206, wantBody: "bytes\n",
		wantHeader: map[string]string{"Content-Range": "bytes 6-11/12"}},
	{name: "blob GET unsatisfiable range", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String(),
		header:     http.Header{"Range": {"bytes=100-200"}},
		wantStatus: 416, wantCode: "UNSUPPORTED",
		wantHeader: map[string]string{"Content-Range": "bytes */12"}},
	{name: "blob GET malformed range", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String(),
		header:     http.Header{"Range": {"bytes=5-1"}},
		wantStatus: 416, wantCode: "UNSUPPORTED"},
	{name: "blob GET If-None-Match", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String(),
		header:     http.Header{"If-None-Match": {`"` + layerDigest.String() + `"`}},
		wantStatus: 304},
	{name: "blob GET If-Match fails", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String(),
		header:     http.Header{"If-Match": {`"sha256:other"`}},
		wantStatus: 412, wantCode: "UNSUPPORTED"},
	{name: "blob bad digest", method: "GET", url: "/v2/library/app/blobs/sha256:xyz", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "blob not a digest", method: "GET", url: "/v2/library/app/blobs/latest", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "blob short digest", method: "GET", url: "/v2/library/app/blobs/" + layerDigest.String()[:70], wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "blob upper-case digest", method: "GET", url: "/v2/library/app/blobs/" + strings.ToUpper(layerDigest.String()), wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "blob unsupported algorithm", method: "GET", url: "/v2/library/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "blob unknown", method: "GET", url: "/v2/library/app/blobs/" + missingDigest.String(), wantStatus: 404, wantCode: "BLOB_UNKNOWN"},
	{name: "blob unknown HEAD", method: "HEAD", url: "/v2/library/app/blobs/" + missingDigest.String(), wantStatus: 404},
	{name: "blob unknown sha512", method: "GET", url: "/v2/library/app/blobs/" + digest.SHA512.FromString("x").String(), wantStatus: 404, wantCode: "BLOB_UNKNOWN"},
	{name: "blob of another repository", method: "GET", url: "/v2/library/app/blobs/" + otherDigest.String(), wantStatus: 404, wantCode: "BLOB_UNKNOWN"},
	{name: "blob in an unknown repository", method: "GET", url: "/v2/no/such/repo/blobs/" + layerDigest.String(), wantStatus: 404, wantCode: "BLOB_UNKNOWN"},
	{name: "blob DELETE", method: "DELETE", url: "/v2/library/app/blobs/" + layerDigest.String(), wantStatus: 202},
	{name: "blob DELETE unknown", method: "DELETE", url: "/v2/library/app/blobs/" + missingDigest.String(), wantStatus: 404, wantCode: "BLOB_UNKNOWN"},
	{name: "blob DELETE bad digest", method: "DELETE", url: "/v2/library/app/blobs/sha256:xyz", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "blob PUT", method: "PUT", url: "/v2/library/app/blobs/" + layerDigest.String(), body: layerBlob, wantStatus: 405, wantCode: "UNSUPPORTED"},
	{name: "blob PATCH", method: "PATCH", url: "/v2/library/app/blobs/" + layerDigest.String(), wantStatus: 405, wantCode: "UNSUPPORTED"},
}

var uploadTests = []apiTest{
	{name: "upload start", method: "POST", url: "/v2/library/app/blobs/uploads/", wantStatus: 202,
		wantHeader: map[string]string{
			"Location": "/v2/library/app/blobs/uploads/*", "Range": "0-0",
			"Docker-Upload-UUID": "*", "Content-Length": "0",
		}},
	{name: "upload start without slash", method: "POST", url: "/v2/library/app/blobs/uploads", wantStatus: 202,
		wantHeader: map[string]string{"Location": "/v2/library/app/blobs/uploads/*"}},
	{name: "upload start in a new repository", method: "POST", url: "/v2/new/repo/blobs/uploads/", wantStatus: 202,
		wantHeader: map[string]string{"Location": "/v2/new/repo/blobs/uploads/*"}},
	{name: "upload monolithic", method: "POST", url: "/v2/library/app/blobs/uploads/?digest=" + otherDigest.String(),
		body: otherBlob, wantStatus: 201,
		wantHeader: map[string]string{
			"Location":              "/v2/library/app/blobs/" + otherDigest.String(),
			"Docker-Content-Digest": otherDigest.String(),
		}},
	{name: "upload monolithic empty blob", method: "POST", url: "/v2/library/app/blobs/uploads/?digest=" + emptyDigest.String(),
		wantStatus: 201, wantHeader: map[string]string{"Docker-Content-Digest": emptyDigest.String()}},
	{name: "upload monolithic wrong digest", method: "POST", url: "/v2/library/app/blobs/uploads/?digest=" + missingDigest.String(),
		body: otherBlob, wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "upload monolithic bad digest", method: "POST", url: "/v2/library/app/blobs/uploads/?digest=sha256:abc",
		body: otherBlob, wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "mount with from", method: "POST", url: "/v2/new/repo/blobs/uploads/?mount=" + layerDigest.String() + "&from=library/app",
		wantStatus: 201,
		wantHeader: map[string]string{
			"Location":              "/v2/new/repo/blobs/" + layerDigest.String(),
			"Docker-Content-Digest": layerDigest.String(),
		}},
	{name: "mount without from", method: "POST", url: "/v2/new/repo/blobs/uploads/?mount=" + otherDigest.String(),
		wantStatus: 201, wantHeader: map[string]string{"Location": "/v2/new/repo/blobs/" + otherDigest.String()}},
	{name: "mount unknown blob", method: "POST", url: "/v2/new/repo/blobs/uploads/?mount=" + missingDigest.String() + "&from=library/app",
		wantStatus: 202, wantHeader: map[string]string{"Location": "/v2/new/repo/blobs/uploads/*"}},
	{name: "mount from a repository without it", method: "POST", url: "/v2/new/repo/blobs/uploads/?mount=" + layerDigest.String() + "&from=other/repo",
		wantStatus: 202, wantHeader: map[string]string{"Location": "/v2/new/repo/blobs/uploads/*"}},
	{name: "mount from an invalid name", method: "POST", url: "/v2/new/repo/blobs/uploads/?mount=" + layerDigest.String() + "&from=Bad",
		wantStatus: 202, wantHeader: map[string]string{"Location": "/v2/new/repo/blobs/uploads/*"}},
	{name: "mount bad digest", method: "POST", url: "/v2/new/repo/blobs/uploads/?mount=sha256:xyz&from=library/app",
		wantStatus: 202, wantHeader: map[string]string{"Location": "/v2/new/repo/blobs/uploads/*"}},
	{name: "upload status", method: "GET", url: "/v2/library/app/blobs/uploads/{upload}", wantStatus: 204,
		wantHeader: map[string]string{
			"Location": "/v2/library/app/blobs/uploads/{upload}", "Range": "0-0", "Docker-Upload-UUID": "{upload}",
		}},
	{name: "upload status unknown", method: "GET", url: "/v2/library/app/blobs/uploads/0123456789abcdef", wantStatus: 404, wantCode: "BLOB_UPLOAD_UNKNOWN"},
	{name: "upload status of another repository", method: "GET", url: "/v2/library/app/blobs/uploads/{otherUpload}", wantStatus: 404, wantCode: "BLOB_UPLOAD_UNKNOWN"},
	{name: "upload PATCH stream", method: "PATCH", url: "/v2/library/app/blobs/uploads/{upload}", body: []byte("abc"), wantStatus: 202,
		wantHeader: map[string]string{"Range": "0-2", "Location": "/v2/library/app/blobs/uploads/{upload}"}},
	{name: "upload PATCH chunk", method: "PATCH", url: "/v2/library/app/blobs/uploads/{upload}", body: []byte("abc"),
		header: http.Header{"Content-Range": {"0-2"}}, wantStatus: 202, wantHeader: map[string]string{"Range": "0-2"}},
	{name: "upload PATCH chunk with unit", method: "PATCH", url: "/v2/library/app/blobs/uploads/{upload}", body: []byte("abc"),
		header: http.Header{"Content-Range": {"bytes 0-2"}}, wantStatus: 202, wantHeader: map[string]string{"Range": "0-2"}},
	{name: "upload PATCH out of order", method: "PATCH", url: "/v2/library/app/blobs/uploads/{upload}", body: []byte("abc"),
		header: http.Header{"Content-Range": {"5-7"}}, wantStatus: 416, wantCode: "BLOB_UPLOAD_INVALID",
		wantHeader: map[string]string{"Range": "0-0", "Location": "/v2/library/app/blobs/uploads/{upload}"}},
	{name: "upload PATCH bad Content-Range", method: "PATCH", url: "/v2/library/app/blobs/uploads/{upload}", body: []byte("abc"),
		header: http.Header{"Content-Range": {"three bytes"}}, wantStatus: 416, wantCode: "BLOB_UPLOAD_INVALID"},
	{name: "upload PATCH Content-Range longer than the body", method: "PATCH", url: "/v2/library/app/blobs/uploads/{upload}",
		body: []byte("abc"), header: http.Header{"Content-Range": {"0-9"}}, wantStatus: 416, wantCode: "BLOB_UPLOAD_INVALID"},
	{name: "upload PATCH unknown", method: "PATCH", url: "/v2/library/app/blobs/uploads/0123456789abcdef", body: []byte("abc"),
		wantStatus: 404, wantCode: "BLOB_UPLOAD_UNKNOWN"},
	{name: "upload PATCH of another repository", method: "PATCH", url: "/v2/library/app/blobs/uploads/{otherUpload}", body: []byte("abc"),
		wantStatus: 404, wantCode: "BLOB_UPLOAD_UNKNOWN"},
	{name: "upload PUT", method: "PUT", url: "/v2/library/app/blobs/uploads/{upload}?digest=" + otherDigest.String(), body: otherBlob,
		wantStatus: 201,
		wantHeader: map[string]string{
			"Location":              "/v2/library/app/blobs/" + otherDigest.String(),
			"Docker-Content-Digest": otherDigest.String(),
		}},
	{name: "upload PUT empty", method: "PUT", url: "/v2/library/app/blobs/uploads/{upload}?digest=" + emptyDigest.String(), wantStatus: 201},
	{name: "upload PUT without digest", method: "PUT", url: "/v2/library/app/blobs/uploads/{upload}", body: otherBlob, wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "upload PUT wrong digest", method: "PUT", url: "/v2/library/app/blobs/uploads/{upload}?digest=" + missingDigest.String(), body: otherBlob,
		wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "upload PUT bad digest", method: "PUT", url: "/v2/library/app/blobs/uploads/{upload}?digest=sha256:", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "upload PUT unknown", method: "PUT", url: "/v2/library/app/blobs/uploads/0123456789abcdef?digest=" + otherDigest.String(), body: otherBlob,
		wantStatus: 404, wantCode: "BLOB_UPLOAD_UNKNOWN"},
	{name: "upload DELETE", method: "DELETE", url: "/v2/library/app/blobs/uploads/{upload}", wantStatus: 204},
	{name: "upload DELETE unknown", method: "DELETE", url: "/v2/library/app/blobs/uploads/0123456789abcdef", wantStatus: 404, wantCode: "BLOB_UPLOAD_UNKNOWN"},
	{name: "upload DELETE of another repository", method: "DELETE", url: "/v2/library/app/blobs/uploads/{otherUpload}", wantStatus: 404, wantCode: "BLOB_UPLOAD_UNKNOWN"},
	{name: "upload POST to a session", method: "POST", url: "/v2/library/app/blobs/uploads/{upload}", wantStatus: 405, wantCode: "UNSUPPORTED"},
	{name: "upload GET without a session", method: "GET", url: "/v2/library/app/blobs/uploads/", wantStatus: 405, wantCode: "UNSUPPORTED"},
}

var manifestTests = []apiTest{
	{name: "manifest GET by tag", method: "GET", url: "/v2/library/app/manifests/v1", wantStatus: 200, wantBody: string(imageBytes),
		wantHeader: map[string]string{
			"Content-Type":          ociManifest,
			"Docker-Content-Digest": imageDigest.String(),
			"ETag":                  imageETag,
			"Content-Length":        strconv.Itoa(len(imageBytes)),
			"OCI-Subject":           "",
		}},
	{name: "manifest HEAD by digest", method: "HEAD", url: "/v2/library/app/manifests/" + imageDigest.String(), wantStatus: 200,
		wantHeader: map[string]string{
			"Content-Type":          ociManifest,
			"Docker-Content-Digest": imageDigest.String(),
			"Content-Length":        strconv.Itoa(len(imageBytes)),
		}},
	{name: "manifest If-None-Match", method: "GET", url: "/v2/library/app/manifests/v1",
		header: http.Header{"If-None-Match": {imageETag}}, wantStatus: 304},
	{name: "manifest If-None-Match another", method: "GET", url: "/v2/library/app/manifests/v1",
		header: http.Header{"If-None-Match": {`"sha256:other"`}}, wantStatus: 200},
	{name: "manifest unknown tag", method: "GET", url: "/v2/library/app/manifests/v2", wantStatus: 404, wantCode: "MANIFEST_UNKNOWN"},
	{name: "manifest unknown digest", method: "GET", url: "/v2/library/app/manifests/" + missingDigest.String(), wantStatus: 404, wantCode: "MANIFEST_UNKNOWN"},
	{name: "manifest unknown HEAD", method: "HEAD", url: "/v2/library/app/manifests/v2", wantStatus: 404},
	{name: "manifest in an unknown repository", method: "GET", url: "/v2/no/such/repo/manifests/v1", wantStatus: 404, wantCode: "MANIFEST_UNKNOWN"},
	{name: "manifest bad digest", method: "GET", url: "/v2/library/app/manifests/sha256:xyz", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "manifest bad tag", method: "GET", url: "/v2/library/app/manifests/-v1", wantStatus: 400, wantCode: "TAG_INVALID"},
	{name: "manifest PUT by tag", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest), body: imageBytes,
		wantStatus: 201,
		wantHeader: map[string]string{
			"Location":              "/v2/library/app/manifests/" + imageDigest.String(),
			"Docker-Content-Digest": imageDigest.String(),
			"OCI-Tag":               "",
		}},
	{name: "manifest PUT by digest", method: "PUT", url: "/v2/library/app/manifests/" + imageDigest.String(), header: contentType(ociManifest),
		body: imageBytes, wantStatus: 201, wantHeader: map[string]string{"Docker-Content-Digest": imageDigest.String()}},
	{name: "manifest PUT by the wrong digest", method: "PUT", url: "/v2/library/app/manifests/" + missingDigest.String(),
		header: contentType(ociManifest), body: imageBytes, wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "manifest PUT by a bad digest", method: "PUT", url: "/v2/library/app/manifests/sha256:xyz",
		header: contentType(ociManifest), body: imageBytes, wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "manifest PUT with tag parameters", method: "PUT", url: "/v2/library/app/manifests/" + imageDigest.String() + "?tag=a&tag=b",
		header: contentType(ociManifest), body: imageBytes, wantStatus: 201, wantHeader: map[string]string{"OCI-Tag": "a, b"}},
	{name: "manifest PUT with a bad tag parameter", method: "PUT", url: "/v2/library/app/manifests/" + imageDigest.String() + "?tag=ok&tag=.bad",
		header: contentType(ociManifest), body: imageBytes, wantStatus: 400, wantCode: "TAG_INVALID"},
	{name: "manifest PUT tag of 128 characters", method: "PUT", url: "/v2/library/app/manifests/" + longTag,
		header: contentType(ociManifest), body: imageBytes, wantStatus: 201},
	{name: "manifest PUT tag of 129 characters", method: "PUT", url: "/v2/library/app/manifests/" + longTag + "t",
		header: contentType(ociManifest), body: imageBytes, wantStatus: 400, wantCode: "TAG_INVALID"},
	{name: "manifest PUT without Content-Type", method: "PUT", url: "/v2/library/app/manifests/v2", body: imageBytes, wantStatus: 201},
	{name: "manifest PUT Content-Type with parameters", method: "PUT", url: "/v2/library/app/manifests/v2",
		header: contentType(ociManifest + "; charset=utf-8"), body: imageBytes, wantStatus: 201},
	{name: "manifest PUT missing layer", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig, Layers: []descriptor{imageLayer, missingLayer}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_BLOB_UNKNOWN"},
	{name: "manifest PUT missing config", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &descriptor{MediaType: ociConfig, Digest: otherDigest, Size: 3}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_BLOB_UNKNOWN"},
	{name: "manifest PUT index missing a child", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociIndex),
		body:       manifest{SchemaVersion: 2, MediaType: ociIndex, Manifests: []descriptor{descriptorOf(ociManifest, imageBytes), missingChild}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_BLOB_UNKNOWN"},
	{name: "manifest PUT nondistributable layer", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig, Layers: []descriptor{
			{MediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Digest: missingDigest, Size: 3},
		}}.bytes(),
		wantStatus: 201},
	{name: "manifest PUT bad JSON", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: []byte(`{"schemaVersion":2,`), wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT empty body", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT schemaVersion 1", method: "PUT", url: "/v2/library/app/manifests/v2",
		header: contentType("application/vnd.docker.distribution.manifest.v1+prettyjws"),
		body:   []byte(`{"schemaVersion":1,"name":"library/app","tag":"v2","fsLayers":[]}`), wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT without schemaVersion", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: []byte(`{"mediaType":"` + ociManifest + `","config":{}}`), wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT Content-Type and mediaType differ", method: "PUT", url: "/v2/library/app/manifests/v2",
		header: contentType(dockerManifest), body: imageBytes, wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT unsupported media type", method: "PUT", url: "/v2/library/app/manifests/v2",
		header:     contentType("application/json"),
		body:       manifest{SchemaVersion: 2, Config: &imageConfig, Layers: []descriptor{imageLayer}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT descriptor with a bad digest", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig, Layers: []descriptor{{MediaType: ociLayer, Digest: "sha256:abc", Size: 3}}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT descriptor with a negative size", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig, Layers: []descriptor{{MediaType: ociLayer, Digest: layerDigest, Size: -1}}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT descriptor without a size", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       []byte(`{"schemaVersion":2,"config":{"mediaType":"` + ociConfig + `","digest":"` + configDigest.String() + `"}}`),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT descriptor without a media type", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &descriptor{Digest: configDigest, Size: int64(len(configBlob))}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT data that does not match", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &descriptor{
			MediaType: ociConfig, Digest: configDigest, Size: int64(len(configBlob)), Data: bytes.ToUpper(configBlob),
		}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT data of the wrong size", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &descriptor{
			MediaType: ociConfig, Digest: configDigest, Size: 1, Data: configBlob,
		}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT data that matches", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &descriptor{
			MediaType: ociConfig, Digest: configDigest, Size: int64(len(configBlob)), Data: configBlob,
		}}.bytes(),
		wantStatus: 201},
	{name: "manifest PUT image without config", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: manifest{SchemaVersion: 2, MediaType: ociManifest, Layers: []descriptor{imageLayer}}.bytes(), wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT image with manifests", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig, Manifests: []descriptor{descriptorOf(ociManifest, imageBytes)}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT index with layers", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociIndex),
		body:       manifest{SchemaVersion: 2, MediaType: ociIndex, Layers: []descriptor{imageLayer}, Manifests: []descriptor{descriptorOf(ociManifest, imageBytes)}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT subject with a bad digest", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body:       manifest{SchemaVersion: 2, MediaType: ociManifest, Config: &imageConfig, Subject: &descriptor{MediaType: ociManifest, Digest: "sha256:1", Size: 1}}.bytes(),
		wantStatus: 400, wantCode: "MANIFEST_INVALID"},
	{name: "manifest PUT over 4 MiB", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: largeManifest, wantStatus: 413, wantCode: "SIZE_INVALID"},
	{name: "manifest PUT of exactly 4 MiB", method: "PUT", url: "/v2/library/app/manifests/v2", header: contentType(ociManifest),
		body: limitManifest, wantStatus: 201},
	{name: "manifest DELETE by tag", method: "DELETE", url: "/v2/library/app/manifests/v1", wantStatus: 202},
	{name: "manifest DELETE by digest", method: "DELETE", url: "/v2/library/app/manifests/" + imageDigest.String(), wantStatus: 202},
	{name: "manifest DELETE unknown tag", method: "DELETE", url: "/v2/library/app/manifests/v2", wantStatus: 404, wantCode: "MANIFEST_UNKNOWN"},
	{name: "manifest DELETE unknown digest", method: "DELETE", url: "/v2/library/app/manifests/" + missingDigest.String(), wantStatus: 404, wantCode: "MANIFEST_UNKNOWN"},
	{name: "manifest DELETE bad digest", method: "DELETE", url: "/v2/library/app/manifests/sha256:xyz", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "manifest DELETE bad tag", method: "DELETE", url: "/v2/library/app/manifests/.v1", wantStatus: 400, wantCode: "TAG_INVALID"},
	{name: "manifest PATCH", method: "PATCH", url: "/v2/library/app/manifests/v1", body: imageBytes, wantStatus: 405, wantCode: "UNSUPPORTED"},
	{name: "manifest POST", method: "POST", url: "/v2/library/app/manifests/v1", body: imageBytes, wantStatus: 405, wantCode: "UNSUPPORTED"},
}

var tagTests = []apiTest{
	{name: "tags list", method: "GET", url: "/v2/library/app/tags/list", wantStatus: 200,
		wantBody: `{"name":"library/app","tags":["v1"]}`, wantHeader: map[string]string{"Content-Type": "application/json", "Link": ""}},
	{name: "tags list n=0", method: "GET", url: "/v2/library/app/tags/list?n=0", wantStatus: 200,
		wantBody: `{"name":"library/app","tags":[]}`},
	{name: "tags list of a repository without tags", method: "GET", url: "/v2/other/repo/tags/list", wantStatus: 200,
		wantBody: `{"name":"other/repo","tags":[]}`},
	{name: "tags list unknown repository", method: "GET", url: "/v2/no/such/repo/tags/list", wantStatus: 404, wantCode: "NAME_UNKNOWN"},
	{name: "tags list negative n", method: "GET", url: "/v2/library/app/tags/list?n=-1", wantStatus: 400, wantCode: "PAGINATION_NUMBER_INVALID"},
	{name: "tags list n not a number", method: "GET", url: "/v2/library/app/tags/list?n=ten", wantStatus: 400, wantCode: "PAGINATION_NUMBER_INVALID"},
	{name: "tags list n too large", method: "GET", url: "/v2/library/app/tags/list?n=99999999999999999999", wantStatus: 400, wantCode: "PAGINATION_NUMBER_INVALID"},
	{name: "tags list n the largest int", method: "GET", url: "/v2/library/app/tags/list?n=9223372036854775807", wantStatus: 200,
		wantBody: `{"name":"library/app","tags":["v1"]}`},
	{name: "tags list POST", method: "POST", url: "/v2/library/app/tags/list", wantStatus: 405, wantCode: "UNSUPPORTED"},
}

var catalogTests = []apiTest{
	{name: "catalog", method: "GET", url: "/v2/_catalog", wantStatus: 200,
		wantBody: `{"repositories":["library/app","other/repo"]}`, wantHeader: map[string]string{"Link": ""}},
	{name: "catalog n=1", method: "GET", url: "/v2/_catalog?n=1", wantStatus: 200,
		wantBody:   `{"repositories":["library/app"]}`,
		wantHeader: map[string]string{"Link": `</v2/_catalog?last=library%2Fapp&n=1>; rel="next"`}},
	{name: "catalog after last", method: "GET", url: "/v2/_catalog?last=library/app", wantStatus: 200,
		wantBody: `{"repositories":["other/repo"]}`},
	{name: "catalog bad n", method: "GET", url: "/v2/_catalog?n=1.5", wantStatus: 400, wantCode: "PAGINATION_NUMBER_INVALID"},
	{name: "catalog DELETE", method: "DELETE", url: "/v2/_catalog", wantStatus: 405, wantCode: "UNSUPPORTED"},
}

var referrerTests = []apiTest{
	{name: "referrers none", method: "GET", url: "/v2/library/app/referrers/" + imageDigest.String(), wantStatus: 200,
		wantBody:   `{"schemaVersion":2,"mediaType":"` + ociIndex + `","manifests":[]}`,
		wantHeader: map[string]string{"Content-Type": ociIndex, "OCI-Filters-Applied": ""}},
	{name: "referrers filtered", method: "GET", url: "/v2/library/app/referrers/" + imageDigest.String() + "?artifactType=application/vnd.example",
		wantStatus: 200, wantHeader: map[string]string{"OCI-Filters-Applied": "artifactType"}},
	{name: "referrers of an unknown digest", method: "GET", url: "/v2/library/app/referrers/" + missingDigest.String(), wantStatus: 200,
		wantBody: `{"schemaVersion":2,"mediaType":"` + ociIndex + `","manifests":[]}`},
	{name: "referrers in an unknown repository", method: "GET", url: "/v2/no/such/repo/referrers/" + imageDigest.String(), wantStatus: 200},
	{name: "referrers bad digest", method: "GET", url: "/v2/library/app/referrers/v1", wantStatus: 400, wantCode: "DIGEST_INVALID"},
	{name: "referrers DELETE", method: "DELETE", url: "/v2/library/app/referrers/" + imageDigest.String(), wantStatus: 405, wantCode: "UNSUPPORTED"},
}
