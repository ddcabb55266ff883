package registry_test

// Benchmarks of the OCI Distribution API, berth against the reference
// registry (distribution/distribution v3's handlers.App), both served by
// httptest in this process on filesystem storage in temporary directories,
// so their ratio comes from one process and one run:
//
//	go test -run='^$' -bench=. -count=5 ./registry/ > /tmp/gobench.txt
//	go run golang.org/x/perf/cmd/benchstat@latest /tmp/gobench.txt
//
// The client runs in the same process, so B/op and allocs/op include the
// client's share; it is the same code for both registries. Every request's
// status is checked, and every read's body length, so a broken server cannot
// look fast. Content is generated with the timer stopped. At the default
// -benchtime the -count=5 run takes about 4 minutes on 2 shared cores, most
// of it seeding the 1000 tags and 1000 repositories five times over.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // registers "filesystem"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sirupsen/logrus"

	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/storage/filesystem"
)

const (
	// bigLayerSize is the layer pushed and pulled by the layer benchmarks.
	bigLayerSize = 16 << 20
	// smallLayerSize is the one layer of BenchmarkPushSmallImage's images.
	smallLayerSize = 16 << 10
	// listSize is the number of tags, and of repositories, the listing
	// benchmarks read.
	listSize = 1000
	// catalogPage is the page size BenchmarkCatalog asks for.
	catalogPage = 100
)

// impl is a registry under benchmark.
type impl struct {
	name    string
	handler func(b *testing.B) http.Handler
}

var impls = []impl{
	{"berth", berthHandler},
	{"distribution", distributionHandler},
}

// berthHandler returns berth on SQLite and filesystem storage in temporary
// directories, logging errors only, to nowhere.
func berthHandler(b *testing.B) http.Handler {
	dir := b.TempDir()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "berth.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	blobs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	reg := registry.New(store, blobs, log, registry.Config{CreateOnPush: true})
	b.Cleanup(func() {
		if err := reg.Close(ctx); err != nil {
			b.Error(err)
		}
	})
	return reg
}

// distributionHandler returns the reference registry on its filesystem
// driver in a temporary directory, configured as its stock config.yml is
// (in-memory blob descriptor cache) with deletes enabled, no auth, no
// redis, no upload purging. NewApp leaves logging to its caller, so its
// logs are set here, process-wide on logrus: error level, to nowhere.
func distributionHandler(b *testing.B) http.Handler {
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.ErrorLevel)
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem":  configuration.Parameters{"rootdirectory": b.TempDir()},
			"delete":      configuration.Parameters{"enabled": true},
			"cache":       configuration.Parameters{"blobdescriptor": "inmemory"},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
		Catalog: configuration.Catalog{MaxEntries: listSize},
	}
	cfg.HTTP.Secret = "berth-benchmark-secret"
	app := handlers.NewApp(context.Background(), cfg)
	b.Cleanup(func() { app.Shutdown() })
	return app
}

// eachImpl runs fn as sub-benchmarks impl=berth and impl=distribution, each
// against a fresh server.
func eachImpl(b *testing.B, fn func(b *testing.B, c *client)) {
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			srv := httptest.NewServer(im.handler(b))
			b.Cleanup(srv.Close)
			base, err := url.Parse(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			fn(b, &client{base: base, http: srv.Client()})
		})
	}
}

// client speaks the distribution API to one server. Its methods return an
// error for any unexpected answer, so seeding can run them concurrently.
type client struct {
	base *url.URL
	http *http.Client
}

// do sends a request to ref (a path, or a Location the server returned)
// and checks its status is want. It reads and closes the body, returning
// its length; the returned response's Body must not be used.
func (c *client) do(method, ref string, header http.Header, body io.Reader, want int) (*http.Response, int64, error) {
	resp, data, err := c.send(method, ref, header, body, want, false)
	return resp, data.n, err
}

// read is do for a request without a body, returning the response body.
func (c *client) read(method, ref string, header http.Header, want int) (*http.Response, []byte, error) {
	resp, data, err := c.send(method, ref, header, nil, want, true)
	return resp, data.buf.Bytes(), err
}

// send is do, keeping the body when keep is set or the status is wrong
// (for the error); otherwise it only counts the body's bytes.
func (c *client) send(method, ref string, header http.Header, reqBody io.Reader, want int, keep bool) (*http.Response, *body, error) {
	got := new(body)
	u, err := c.base.Parse(ref)
	if err != nil {
		return nil, got, err
	}
	req, err := http.NewRequest(method, u.String(), reqBody)
	if err != nil {
		return nil, got, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, got, err
	}
	defer resp.Body.Close()
	if keep || resp.StatusCode != want {
		_, err = got.buf.ReadFrom(resp.Body)
		got.n = int64(got.buf.Len())
	} else {
		got.n, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return nil, got, fmt.Errorf("%s %s: reading body: %w", method, ref, err)
	}
	if resp.StatusCode != want {
		return nil, got, fmt.Errorf("%s %s: status %d, want %d: %.500s", method, ref, resp.StatusCode, want, got.buf.Bytes())
	}
	return resp, got, nil
}

// body is a response body: its length, and its bytes when kept.
type body struct {
	n   int64
	buf bytes.Buffer
}

// withDigest returns location with ?digest=d added to its query.
func (c *client) withDigest(location string, d digest.Digest) (string, error) {
	u, err := c.base.Parse(location)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("digest", d.String())
	u.RawQuery = q.Encode()
	return u.String(), nil
}

var octetStream = http.Header{"Content-Type": {"application/octet-stream"}}

// pushBlob uploads data unless the repository has it: HEAD, then POST and
// a PUT carrying the bytes, as crane and containerd send small blobs. It
// is 3 requests.
func (c *client) pushBlob(repo string, d digest.Digest, data []byte) error {
	if _, _, err := c.do(http.MethodHead, "/v2/"+repo+"/blobs/"+d.String(), nil, nil, http.StatusNotFound); err != nil {
		return err
	}
	resp, _, err := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	put, err := c.withDigest(resp.Header.Get("Location"), d)
	if err != nil {
		return err
	}
	resp, _, err = c.do(http.MethodPut, put, octetStream, bytes.NewReader(data), http.StatusCreated)
	if err != nil {
		return err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
		return fmt.Errorf("PUT blob: Docker-Content-Digest %q, want %s", got, d)
	}
	return nil
}

// streamBlob uploads data as docker does: POST, one PATCH streaming all of
// it without a length (chunked), and an empty PUT with the digest.
func (c *client) streamBlob(repo string, d digest.Digest, data []byte) error {
	resp, _, err := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
	if err != nil {
		return err
	}
	stream := struct{ io.Reader }{bytes.NewReader(data)} // hides the length
	resp, _, err = c.do(http.MethodPatch, resp.Header.Get("Location"), octetStream, stream, http.StatusAccepted)
	if err != nil {
		return err
	}
	put, err := c.withDigest(resp.Header.Get("Location"), d)
	if err != nil {
		return err
	}
	_, _, err = c.do(http.MethodPut, put, nil, nil, http.StatusCreated)
	return err
}

// mountBlob links blob d of repository from into repo.
func (c *client) mountBlob(repo, from string, d digest.Digest) error {
	q := url.Values{"mount": {d.String()}, "from": {from}}
	_, _, err := c.do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?"+q.Encode(), nil, nil, http.StatusCreated)
	return err
}

var manifestType = http.Header{"Content-Type": {ocispec.MediaTypeImageManifest}}

// putManifest tags img's manifest in repo.
func (c *client) putManifest(repo, tag string, img *image) error {
	resp, _, err := c.do(http.MethodPut, "/v2/"+repo+"/manifests/"+tag, manifestType,
		bytes.NewReader(img.manifest), http.StatusCreated)
	if err != nil {
		return err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != img.manifestDigest.String() {
		return fmt.Errorf("PUT manifest: Docker-Content-Digest %q, want %s", got, img.manifestDigest)
	}
	return nil
}

// requestsPerImage is the number of requests pushImage sends.
const requestsPerImage = 7

// pushImage pushes img to repo:tag as a client does on a first push.
func (c *client) pushImage(repo, tag string, img *image) error {
	if err := c.pushBlob(repo, img.layerDigest, img.layer); err != nil {
		return err
	}
	if err := c.pushBlob(repo, img.configDigest, img.config); err != nil {
		return err
	}
	return c.putManifest(repo, tag, img)
}

// parallel runs fn(0) to fn(n-1) on a few goroutines, so seeding a
// registry overlaps the servers' disk waits, and returns the first error.
func parallel(n int, fn func(i int) error) error {
	const workers = 8
	var (
		next    atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					errOnce.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// image is a one-layer OCI image.
type image struct {
	layer, config, manifest                   []byte
	layerDigest, configDigest, manifestDigest digest.Digest
}

// newImage returns an image whose layer is layer; its config names the
// layer, so a different layer makes a different image.
func newImage(b *testing.B, layer []byte) *image {
	img := &image{layer: layer, layerDigest: digest.FromBytes(layer)}
	var err error
	img.config, err = json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{Architecture: "amd64", OS: "linux"},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{img.layerDigest}},
	})
	if err != nil {
		b.Fatal(err)
	}
	img.configDigest = digest.FromBytes(img.config)
	img.manifest, err = json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{
			MediaType: ocispec.MediaTypeImageConfig, Digest: img.configDigest, Size: int64(len(img.config)),
		},
		Layers: []ocispec.Descriptor{{
			MediaType: ocispec.MediaTypeImageLayerGzip, Digest: img.layerDigest, Size: int64(len(layer)),
		}},
	})
	if err != nil {
		b.Fatal(err)
	}
	img.manifestDigest = digest.FromBytes(img.manifest)
	return img
}

// randomBytes returns n bytes from a ChaCha8 stream seeded with seed, so
// every run pushes the same content.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	buf := make([]byte, n)
	rand.NewChaCha8(key).Read(buf)
	return buf
}

// stamp makes data unique to op by writing op over its first 8 bytes.
func stamp(data []byte, op int) {
	binary.LittleEndian.PutUint64(data, uint64(op))
}

// BenchmarkPushSmallImage pushes a new one-layer image per op: for the
// layer and the config HEAD, POST and PUT, then the manifest by tag.
func BenchmarkPushSmallImage(b *testing.B) {
	eachImpl(b, func(b *testing.B, c *client) {
		const repo = "bench/small"
		layer := randomBytes(1, smallLayerSize)
		b.ReportAllocs()
		op := 0
		for b.Loop() {
			b.StopTimer()
			op++
			stamp(layer, op)
			img := newImage(b, bytes.Clone(layer))
			b.StartTimer()
			if err := c.pushImage(repo, fmt.Sprintf("v%d", op), img); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*requestsPerImage), "ns/req")
	})
}

// BenchmarkPushLayer pushes a new 16 MiB layer per op as docker does.
func BenchmarkPushLayer(b *testing.B) {
	eachImpl(b, func(b *testing.B, c *client) {
		const repo = "bench/layer"
		layer := randomBytes(2, bigLayerSize)
		b.SetBytes(bigLayerSize)
		b.ReportAllocs()
		op := 0
		for b.Loop() {
			b.StopTimer()
			op++
			stamp(layer, op)
			d := digest.FromBytes(layer)
			b.StartTimer()
			if err := c.streamBlob(repo, d, layer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPullLayer downloads a 16 MiB layer per op.
func BenchmarkPullLayer(b *testing.B) {
	eachImpl(b, func(b *testing.B, c *client) {
		const repo = "bench/pull"
		layer := randomBytes(3, bigLayerSize)
		d := digest.FromBytes(layer)
		path := "/v2/" + repo + "/blobs/" + d.String()
		if err := c.streamBlob(repo, d, layer); err != nil {
			b.Fatal(err)
		}
		if _, got, err := c.read(http.MethodGet, path, nil, http.StatusOK); err != nil || digest.FromBytes(got) != d {
			b.Fatalf("GET blob: content does not match %s (%v)", d, err)
		}
		b.SetBytes(bigLayerSize)
		b.ReportAllocs()
		for b.Loop() {
			if _, n, err := c.do(http.MethodGet, path, nil, nil, http.StatusOK); err != nil || n != bigLayerSize {
				b.Fatalf("GET blob: %d bytes, want %d (%v)", n, bigLayerSize, err)
			}
		}
	})
}

var acceptManifest = http.Header{"Accept": {ocispec.MediaTypeImageManifest + ", " + ocispec.MediaTypeImageIndex}}

// pushedImage pushes a small image to repo:tag and returns it.
func pushedImage(b *testing.B, c *client, repo, tag string) *image {
	img := newImage(b, randomBytes(4, smallLayerSize))
	if err := c.pushImage(repo, tag, img); err != nil {
		b.Fatal(err)
	}
	_, got, err := c.read(http.MethodGet, "/v2/"+repo+"/manifests/"+tag, acceptManifest, http.StatusOK)
	if err != nil || !bytes.Equal(got, img.manifest) {
		b.Fatalf("GET manifest: got %.200s (%v), want the pushed manifest", got, err)
	}
	return img
}

// BenchmarkManifestHead asks for a manifest by tag with HEAD, as docker
// pull does first.
func BenchmarkManifestHead(b *testing.B) {
	eachImpl(b, func(b *testing.B, c *client) {
		const path = "/v2/bench/manifest/manifests/latest"
		img := pushedImage(b, c, "bench/manifest", "latest")
		want := img.manifestDigest.String()
		b.ReportAllocs()
		for b.Loop() {
			resp, _, err := c.do(http.MethodHead, path, acceptManifest, nil, http.StatusOK)
			if err != nil {
				b.Fatal(err)
			}
			if got := resp.Header.Get("Docker-Content-Digest"); got != want {
				b.Fatalf("HEAD manifest: Docker-Content-Digest %q, want %s", got, want)
			}
		}
	})
}

// BenchmarkManifestGet gets a manifest by tag.
func BenchmarkManifestGet(b *testing.B) {
	eachImpl(b, func(b *testing.B, c *client) {
		const path = "/v2/bench/manifest/manifests/latest"
		img := pushedImage(b, c, "bench/manifest", "latest")
		b.ReportAllocs()
		for b.Loop() {
			if _, n, err := c.do(http.MethodGet, path, acceptManifest, nil, http.StatusOK); err != nil || n != int64(len(img.manifest)) {
				b.Fatalf("GET manifest: %d bytes, want %d (%v)", n, len(img.manifest), err)
			}
		}
	})
}

// BenchmarkTagsList lists the 1000 tags of a repository in one response.
func BenchmarkTagsList(b *testing.B) {
	eachImpl(b, func(b *testing.B, c *client) {
		const repo = "bench/tags"
		const path = "/v2/" + repo + "/tags/list"
		img := pushedImage(b, c, repo, tagName(0))
		if err := parallel(listSize-1, func(i int) error { return c.putManifest(repo, tagName(i+1), img) }); err != nil {
			b.Fatal(err)
		}
		_, first, err := c.read(http.MethodGet, path, nil, http.StatusOK)
		if err != nil {
			b.Fatal(err)
		}
		var list struct{ Tags []string }
		if err := json.Unmarshal(first, &list); err != nil || len(list.Tags) != listSize {
			b.Fatalf("tags list: %d tags (%v), want %d", len(list.Tags), err, listSize)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, n, err := c.do(http.MethodGet, path, nil, nil, http.StatusOK); err != nil || n != int64(len(first)) {
				b.Fatalf("tags list: %d bytes, want %d (%v)", n, len(first), err)
			}
		}
	})
}

func tagName(i int) string {
	return fmt.Sprintf("t%04d", i)
}

// BenchmarkCatalog reads the first page of 100 of a catalog of 1000
// repositories, each holding one image.
func BenchmarkCatalog(b *testing.B) {
	eachImpl(b, func(b *testing.B, c *client) {
		path := fmt.Sprintf("/v2/_catalog?n=%d", catalogPage)
		img := pushedImage(b, c, repoName(0), "latest")
		err := parallel(listSize-1, func(i int) error {
			repo := repoName(i + 1)
			if err := c.mountBlob(repo, repoName(0), img.layerDigest); err != nil {
				return err
			}
			if err := c.mountBlob(repo, repoName(0), img.configDigest); err != nil {
				return err
			}
			return c.putManifest(repo, "latest", img)
		})
		if err != nil {
			b.Fatal(err)
		}
		resp, first, err := c.read(http.MethodGet, path, nil, http.StatusOK)
		if err != nil {
			b.Fatal(err)
		}
		var list struct{ Repositories []string }
		if err := json.Unmarshal(first, &list); err != nil || len(list.Repositories) != catalogPage {
			b.Fatalf("catalog: %d repositories (%v), want %d", len(list.Repositories), err, catalogPage)
		}
		if resp.Header.Get("Link") == "" {
			b.Fatal("catalog: no Link to the next page")
		}
		b.ReportAllocs()
		for b.Loop() {
			resp, n, err := c.do(http.MethodGet, path, nil, nil, http.StatusOK)
			if err != nil || n != int64(len(first)) || resp.Header.Get("Link") == "" {
				b.Fatalf("catalog: %d bytes, want %d, and a Link (%v)", n, len(first), err)
			}
		}
	})
}

func repoName(i int) string {
	return fmt.Sprintf("bench/repo-%04d", i)
}
