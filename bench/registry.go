package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	mediaOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIConfig   = "application/vnd.oci.image.config.v1+json"
	mediaOCILayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// dockerManifestAccept is what the docker CLI sends when it resolves a tag
// (one Accept header per type).
var dockerManifestAccept = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
}

// blob is content the bench pushes: either a file on disk (streamed, never
// loaded) or a small in-memory byte slice.
type blob struct {
	mediaType string
	digest    string // sha256:<hex>
	size      int64
	path      string // set for file-backed blobs
	data      []byte // set for in-memory blobs
}

func (b blob) open() (io.ReadCloser, error) {
	if b.path != "" {
		return os.Open(b.path)
	}
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

func memBlob(mediaType string, data []byte) blob {
	return blob{mediaType: mediaType, digest: sha256Digest(data), size: int64(len(data)), data: data}
}

func sha256Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// image is a manifest with its config and layers.
type image struct {
	repo, tag string
	config    blob
	layers    []blob
	manifest  []byte
	digest    string // manifest digest
}

func (im *image) bytes() int64 {
	n := im.config.size + int64(len(im.manifest))
	for _, l := range im.layers {
		n += l.size
	}
	return n
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type ociManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

// newImage builds a valid OCI image manifest over the given config and layers.
func newImage(repo, tag string, config blob, layers []blob) *image {
	m := ociManifest{
		SchemaVersion: 2,
		MediaType:     mediaOCIManifest,
		Config:        descriptor{MediaType: config.mediaType, Digest: config.digest, Size: config.size},
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, descriptor{MediaType: l.mediaType, Digest: l.digest, Size: l.size})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return &image{repo: repo, tag: tag, config: config, layers: layers, manifest: raw, digest: sha256Digest(raw)}
}

// imageConfig is a minimal but well-formed OCI image config.
func imageConfig(created time.Time, id string, layers []blob) []byte {
	diffIDs := make([]string, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.digest
	}
	cfg := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      created.UTC().Format(time.RFC3339Nano),
		"config":       map[string]any{"Env": []string{"BENCH_ID=" + id}, "Cmd": []string{"/bin/true"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	return raw
}

// regClient speaks the OCI Distribution API over a plain keep-alive client.
// It follows redirects as the docker CLI does (Go's default: up to 10, a
// 307 keeps the method), and sends no Authorization header anywhere.
type regClient struct {
	base *url.URL
	tr   *http.Transport
	hc   *http.Client

	// blobHost is the host:port blob GETs must end up at after redirects;
	// empty means the registry's own (no redirect). A blob served from
	// anywhere else fails the run, so a registry that was meant to
	// redirect cannot silently stream, nor the other way round.
	blobHost string

	mu      sync.Mutex
	commits map[string]committed // digest → the first upload committed for it
}

// committed is a blob this client pushed: the upload session that carried
// its first copy (the registry keeps that one and drops later duplicates).
type committed struct {
	uploadID string
	size     int64
}

func newRegClient(base string) *regClient {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	tr := &http.Transport{
		Proxy:                 nil, // loopback only; never route through a proxy
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 3 * time.Minute,
		DisableCompression:    true,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
	return &regClient{base: u, tr: tr, hc: &http.Client{Transport: tr}}
}

func (c *regClient) close() { c.tr.CloseIdleConnections() }

func (c *regClient) recordCommit(dgst, uploadID string, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commits == nil {
		c.commits = map[string]committed{}
	}
	if _, ok := c.commits[dgst]; !ok {
		c.commits[dgst] = committed{uploadID: uploadID, size: size}
	}
}

// committedBlobs returns a copy of what recordCommit kept.
func (c *regClient) committedBlobs() map[string]committed {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.commits)
}

// requestError is an unexpected response; it aborts the run.
type requestError struct {
	method, url string
	reqHeader   http.Header
	status      string
	respHeader  http.Header
	body        string
}

func (e *requestError) Error() string {
	var b strings.Builder
	headers := func(prefix string, h http.Header) {
		for _, k := range slices.Sorted(maps.Keys(h)) {
			fmt.Fprintf(&b, "  %s %s: %s\n", prefix, k, strings.Join(h[k], ", "))
		}
	}
	fmt.Fprintf(&b, "unexpected response to %s %s\n", e.method, e.url)
	headers(">", e.reqHeader)
	fmt.Fprintf(&b, "  < %s\n", e.status)
	headers("<", e.respHeader)
	fmt.Fprintf(&b, "  body: %q", e.body)
	return b.String()
}

// do sends req and returns the response if its status is one of want; any
// other status becomes a *requestError carrying the response body.
func (c *regClient) do(req *http.Request, want ...int) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, nil
		}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	resp.Body.Close()
	return nil, &requestError{
		method: req.Method, url: req.URL.String(), reqHeader: req.Header,
		status: resp.Status, respHeader: resp.Header, body: string(body),
	}
}

// drain reads and closes a response body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

func (c *regClient) url(path string) string {
	return c.base.String() + path
}

// resolve turns a Location header into an absolute URL.
func (c *regClient) resolve(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("%s %s: %s without Location header", resp.Request.Method, resp.Request.URL, resp.Status)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("%s %s: bad Location %q: %w", resp.Request.Method, resp.Request.URL, loc, err)
	}
	return resp.Request.URL.ResolveReference(u), nil
}

// checkDigestHeader verifies Docker-Content-Digest when the server sends it.
func checkDigestHeader(resp *http.Response, want string) error {
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != want {
		return fmt.Errorf("%s %s: Docker-Content-Digest %s, want %s", resp.Request.Method, resp.Request.URL, got, want)
	}
	return nil
}

// pushBlob uploads b the way the docker CLI does: optionally HEAD the blob
// first (skip if present), then POST to open an upload session, one PATCH
// that streams the whole blob (chunked, as docker streams), and PUT
// ?digest= to commit.
func (c *regClient) pushBlob(ctx context.Context, repo string, b blob, headFirst bool) error {
	if headFirst {
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, c.url("/v2/"+repo+"/blobs/"+b.digest), nil)
		resp, err := c.do(req, http.StatusOK, http.StatusNotFound)
		if err != nil {
			return err
		}
		drain(resp)
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v2/"+repo+"/blobs/uploads/"), nil)
	req.Header.Set("Content-Length", "0")
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return err
	}
	drain(resp)
	loc, err := c.resolve(resp)
	if err != nil {
		return err
	}

	body, err := b.open()
	if err != nil {
		return err
	}
	// Hide the concrete type so the transport cannot learn the length:
	// the docker CLI streams layers with chunked transfer encoding.
	req, _ = http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), struct{ io.Reader }{body})
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = c.do(req, http.StatusAccepted)
	body.Close()
	if err != nil {
		return err
	}
	drain(resp)
	loc, err = c.resolve(resp)
	if err != nil {
		return err
	}

	_, err = c.commitUpload(ctx, loc, b.digest, b.size)
	return err
}

// commitUpload sends the final PUT ?digest= of the upload at loc and
// returns the upload id (the last element of its path).
func (c *regClient) commitUpload(ctx context.Context, loc *url.URL, dgst string, size int64) (string, error) {
	q := loc.Query()
	q.Set("digest", dgst)
	loc.RawQuery = q.Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), http.NoBody)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return "", err
	}
	drain(resp)
	if err := checkDigestHeader(resp, dgst); err != nil {
		return "", err
	}
	id := path.Base(loc.Path)
	c.recordCommit(dgst, id, size)
	return id, nil
}

// putManifest uploads the image manifest under its tag.
func (c *regClient) putManifest(ctx context.Context, im *image) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, c.url("/v2/"+im.repo+"/manifests/"+im.tag), bytes.NewReader(im.manifest))
	req.Header.Set("Content-Type", mediaOCIManifest)
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	drain(resp)
	return checkDigestHeader(resp, im.digest)
}

// pushImage pushes every blob (sequentially) and then the manifest.
func (c *regClient) pushImage(ctx context.Context, im *image, headFirst bool) error {
	for _, l := range im.layers {
		if err := c.pushBlob(ctx, im.repo, l, headFirst); err != nil {
			return err
		}
	}
	if err := c.pushBlob(ctx, im.repo, im.config, headFirst); err != nil {
		return err
	}
	return c.putManifest(ctx, im)
}

// getManifest fetches and verifies a manifest by tag.
func (c *regClient) getManifest(ctx context.Context, repo, tag, wantDigest string) (*ociManifest, int64, error) {
	u := c.url("/v2/" + repo + "/manifests/" + tag)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	for _, a := range dockerManifestAccept {
		req.Header.Add("Accept", a)
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20+1))
	resp.Body.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	if got := sha256Digest(raw); got != wantDigest {
		return nil, 0, fmt.Errorf("GET %s: manifest body digest %s, want %s", u, got, wantDigest)
	}
	if err := checkDigestHeader(resp, wantDigest); err != nil {
		return nil, 0, err
	}
	if ct := resp.Header.Get("Content-Type"); ct != mediaOCIManifest {
		return nil, 0, fmt.Errorf("GET %s: Content-Type %q, want %q", u, ct, mediaOCIManifest)
	}
	var m ociManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	return &m, int64(len(raw)), nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// getBlob streams a blob into a hash and discards it, then verifies the
// digest and the size.
func (c *regClient) getBlob(ctx context.Context, repo string, d descriptor) (int64, error) {
	return c.fetchBlob(ctx, c.url("/v2/"+repo+"/blobs/"+d.Digest), d)
}

// fetchBlob GETs u, following redirects, checks that the bytes came from
// c.blobHost, and verifies them against d.
func (c *regClient) fetchBlob(ctx context.Context, u string, d descriptor) (int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	want := c.blobHost
	if want == "" {
		want = c.base.Host
	}
	if got := resp.Request.URL.Host; got != want {
		return 0, fmt.Errorf("GET %s: served by %s after redirects, want %s", u, got, want)
	}
	h := sha256.New()
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(h, resp.Body, *buf)
	copyBufs.Put(buf)
	if err != nil {
		return n, fmt.Errorf("GET %s: after %d bytes: %w", u, n, err)
	}
	if n != d.Size {
		return n, fmt.Errorf("GET %s: got %d bytes, want %d", u, n, d.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.Digest {
		return n, fmt.Errorf("GET %s: body digest %s, want %s", u, got, d.Digest)
	}
	return n, nil
}

// pullImage fetches the manifest, then the config and every layer in
// order, verifying each; it returns the bytes transferred.
func (c *regClient) pullImage(ctx context.Context, im *image) (int64, error) {
	m, total, err := c.getManifest(ctx, im.repo, im.tag, im.digest)
	if err != nil {
		return 0, err
	}
	if len(m.Layers) != len(im.layers) {
		return 0, fmt.Errorf("manifest %s:%s has %d layers, want %d", im.repo, im.tag, len(m.Layers), len(im.layers))
	}
	for _, d := range append([]descriptor{m.Config}, m.Layers...) {
		n, err := c.getBlob(ctx, im.repo, d)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// headManifest is docker's tag resolution: HEAD with docker's Accept list.
func (c *regClient) headManifest(ctx context.Context, im *image) error {
	u := c.url("/v2/" + im.repo + "/manifests/" + im.tag)
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	for _, a := range dockerManifestAccept {
		req.Header.Add("Accept", a)
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	drain(resp)
	if got := resp.Header.Get("Docker-Content-Digest"); got != im.digest {
		return fmt.Errorf("HEAD %s: Docker-Content-Digest %q, want %s", u, got, im.digest)
	}
	if resp.ContentLength != int64(len(im.manifest)) {
		return fmt.Errorf("HEAD %s: Content-Length %d, want %d", u, resp.ContentLength, len(im.manifest))
	}
	return nil
}
