package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/metadata"
)

// localHost is the name the local registry goes by in references; requests
// to it never leave the process.
const localHost = "berth.local"

// copy copies image job.Digest of job.Repository, with everything it
// references, to the job's destination, and points its tags there.
func (r *Replicator) copy(ctx context.Context, job metadata.Replication) error {
	dest, ok := r.dests[job.Destination]
	if !ok {
		return fmt.Errorf("DESTINATION_UNKNOWN: no replication destination with region %s and registryId %s in berth's configuration", ParseName(job.Destination).Region, ParseName(job.Destination).RegistryID)
	}
	img, err := r.store.Image(ctx, job.Repository, job.Digest)
	if errors.Is(err, metadata.ErrManifestUnknown) || errors.Is(err, metadata.ErrRepositoryUnknown) {
		return nil // deleted since; deletes are not replicated
	}
	if err != nil {
		return err
	}
	u, err := url.Parse(dest.Endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("INVALID_DESTINATION: endpoint %q is not a URL", dest.Endpoint)
	}
	nameOpts := []name.Option{name.StrictValidation}
	if u.Scheme == "http" {
		nameOpts = append(nameOpts, name.Insecure)
	}
	dst, err := name.NewRepository(u.Host+"/"+job.Repository, nameOpts...)
	if err != nil {
		return err
	}
	src, err := name.NewRepository(localHost+"/"+job.Repository, name.Insecure)
	if err != nil {
		return err
	}
	if err := r.creator.create(ctx, dest, job.Repository); err != nil {
		return fmt.Errorf("CREATE_REPOSITORY_FAILED: %w", err)
	}
	c := copier{
		src: src, dst: dst,
		srcOpts: []remote.Option{remote.WithContext(ctx), remote.WithTransport(handlerTransport{r.local, r.cfg.Transport})},
		dstOpts: []remote.Option{remote.WithContext(ctx), remote.WithTransport(r.cfg.Transport), remote.WithAuth(&authn.Basic{Username: dest.Username, Password: dest.Password})},
	}
	raw, err := c.manifest(job.Digest)
	if err != nil {
		return err
	}
	for _, tag := range img.Tags {
		if err := remote.Put(dst.Tag(tag), raw, c.dstOpts...); err != nil {
			return fmt.Errorf("tagging %s: %w", tag, err)
		}
	}
	return nil
}

// copier copies manifests from src to dst.
type copier struct {
	src, dst         name.Repository
	srcOpts, dstOpts []remote.Option
}

// manifest copies manifest d: an index's children first, an image's blobs
// first (each skipped if the destination has it), then the manifest.
func (c copier) manifest(d digest.Digest) (rawManifest, error) {
	desc, err := remote.Get(c.src.Digest(d.String()), c.srcOpts...)
	if err != nil {
		return rawManifest{}, fmt.Errorf("reading %s: %w", d, err)
	}
	raw := rawManifest{desc.Manifest, desc.MediaType}
	if desc.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(strings.NewReader(string(desc.Manifest)))
		if err != nil {
			return raw, err
		}
		for _, m := range idx.Manifests {
			if _, err := c.manifest(digest.Digest(m.Digest.String())); err != nil {
				return raw, err
			}
		}
	} else {
		m, err := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
		if err != nil {
			return raw, err
		}
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if len(b.URLs) > 0 || b.Size == 0 && b.Digest.Hex == "" {
				continue // foreign layers live elsewhere
			}
			l, err := remote.Layer(c.src.Digest(b.Digest.String()), c.srcOpts...)
			if err != nil {
				return raw, err
			}
			if err := remote.WriteLayer(c.dst, l, c.dstOpts...); err != nil {
				return raw, fmt.Errorf("copying blob %s: %w", b.Digest, err)
			}
		}
	}
	if err := remote.Put(c.dst.Digest(d.String()), raw, c.dstOpts...); err != nil {
		return raw, fmt.Errorf("copying manifest %s: %w", d, err)
	}
	return raw, nil
}

// rawManifest is a manifest's bytes, for remote.Put.
type rawManifest struct {
	body      []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// handlerTransport sends requests for the local registry to its handler
// in process, streaming the response through a pipe, and any other
// request (a storage redirect) to next.
type handlerTransport struct {
	h    http.Handler
	next http.RoundTripper
}

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != localHost {
		return t.next.RoundTrip(req)
	}
	pr, pw := io.Pipe()
	w := &pipeResponse{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		defer pw.Close()
		defer w.WriteHeader(http.StatusOK) // a handler that wrote nothing
		t.h.ServeHTTP(w, req)
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
	n := int64(-1)
	if cl := w.header.Get("Content-Length"); cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil {
			n = v
		}
	}
	return &http.Response{StatusCode: w.status, Status: http.StatusText(w.status), Header: w.header, Body: pr, ContentLength: n, Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// pipeResponse is an http.ResponseWriter whose body goes into a pipe.
type pipeResponse struct {
	header http.Header
	pw     *io.PipeWriter
	status int
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeResponse) Header() http.Header { return w.header }

func (w *pipeResponse) WriteHeader(status int) {
	w.once.Do(func() {
		w.status = status
		w.header = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// repositoryCreator creates a repository at a destination before images
// are pushed into it.
type repositoryCreator interface {
	create(ctx context.Context, dest Destination, repo string) error
}

// ecrCreator creates destination repositories through the destination's
// ECR API (a berth serves it on the same endpoint), as ECR replication
// creates them. A destination without that API (a plain OCI registry) is
// left to create repositories on push.
type ecrCreator struct{ transport http.RoundTripper }

func (e ecrCreator) create(ctx context.Context, dest Destination, repo string) error {
	client := ecr.New(ecr.Options{
		Region:       dest.Region,
		BaseEndpoint: aws.String(dest.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(dest.Username, dest.Password, ""),
		HTTPClient:   &http.Client{Transport: e.transport},
	})
	_, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)})
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if err == nil || errors.As(err, &exists) {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnknownError" {
		return nil // an answer without an AWS error type: not an ECR endpoint
	}
	return err
}
