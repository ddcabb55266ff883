package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// The S3 part's measurements beyond the filesystem part's: pushes
// straight to MinIO, the big commit, and what the bucket holds.

// presigned is one blob of the pull image as an object in the bucket.
type presigned struct {
	url string
	key string // the object's key in bucket A
	d   descriptor
}

// presignImage finds the objects holding the image's config and layers in
// bucket A (by listing it for the upload ids that carried them to berth)
// and presigns a GET for each with the bench's own credentials.
func presignImage(ctx context.Context, m *minioServer, c *regClient, im *image) ([]presigned, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	commits := c.committedBlobs()
	ids := map[string]bool{}
	for _, cm := range commits {
		ids[cm.uploadID] = true
	}
	byID := map[string]string{} // upload id → the object key that names it
	for obj := range m.client.ListObjects(ctx, bucketBerth, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("listing bucket %s: %w", bucketBerth, obj.Err)
		}
		for _, part := range strings.Split(obj.Key, "/") {
			if !ids[part] {
				continue
			}
			if prev, dup := byID[part]; dup {
				return nil, fmt.Errorf("bucket %s: two objects for upload %s: %s and %s", bucketBerth, part, prev, obj.Key)
			}
			byID[part] = obj.Key
		}
	}
	var out []presigned
	for _, b := range append([]blob{im.config}, im.layers...) {
		cm, ok := commits[b.digest]
		if !ok {
			return nil, fmt.Errorf("no upload recorded for %s", b.digest)
		}
		key, ok := byID[cm.uploadID]
		if !ok {
			return nil, fmt.Errorf("bucket %s: no object for upload %s (blob %s)", bucketBerth, cm.uploadID, b.digest)
		}
		u, err := m.client.PresignedGetObject(ctx, bucketBerth, key, presignExpiry, url.Values{})
		if err != nil {
			return nil, fmt.Errorf("presigning %s: %w", key, err)
		}
		out = append(out, presigned{url: u.String(), key: key, d: descriptor{MediaType: b.mediaType, Digest: b.digest, Size: b.size}})
	}
	return out, nil
}

// measureDirectPush uploads the image's layers and config straight to
// bucketDirect with minio-go's PutObject (multipart, directPartSize parts,
// threads of them at a time) and returns MiB/s over the same bytes as a
// registry push, less the manifest.
func measureDirectPush(ctx context.Context, m *minioServer, im *image, prefix string, threads uint, limit time.Duration) (float64, error) {
	var total int64
	d, err := timed(ctx, limit, func(ctx context.Context) error {
		for _, b := range append(append([]blob(nil), im.layers...), im.config) {
			rc, err := b.open()
			if err != nil {
				return err
			}
			// A layer is an *os.File, whose parts minio-go reads with ReadAt.
			info, err := m.client.PutObject(ctx, bucketDirect, prefix+b.digest, rc, b.size, minio.PutObjectOptions{
				ContentType: "application/octet-stream",
				PartSize:    directPartSize,
				NumThreads:  threads,
			})
			rc.Close()
			if err != nil {
				return fmt.Errorf("PutObject %s/%s%s: %w", bucketDirect, prefix, b.digest, err)
			}
			if info.Size != b.size {
				return fmt.Errorf("PutObject %s/%s%s: stored %d bytes, want %d", bucketDirect, prefix, b.digest, info.Size, b.size)
			}
			total += info.Size
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return float64(total) / mib / d.Seconds(), nil
}

// measureCommit pushes one blob of size random bytes the docker way (POST,
// one PATCH streaming it, PUT ?digest=), hashing as it sends, and times
// only the final PUT. The blob is never stored on the client's disk.
func measureCommit(ctx context.Context, s *server, size int64, limit time.Duration) (commitResult, error) {
	res := commitResult{ran: true, size: size}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := s.reg
	repo := "bench/commit"

	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/v2/"+repo+"/blobs/uploads/"), nil)
	req.Header.Set("Content-Length", "0")
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return res, err
	}
	drain(resp)
	loc, err := c.resolve(resp)
	if err != nil {
		return res, err
	}

	h := sha256.New()
	body := io.TeeReader(io.LimitReader(newRNG(), size), h)
	req, _ = http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), body)
	req.ContentLength = -1 // chunked, as docker streams a layer
	req.Header.Set("Content-Type", "application/octet-stream")
	start := time.Now()
	resp, err = c.do(req, http.StatusAccepted)
	if err != nil {
		return res, err
	}
	drain(resp)
	res.pushMiBs = float64(size) / mib / time.Since(start).Seconds()
	if loc, err = c.resolve(resp); err != nil {
		return res, err
	}
	dgst := "sha256:" + hex.EncodeToString(h.Sum(nil))

	start = time.Now()
	res.uploadID, err = c.commitUpload(ctx, loc, dgst, size)
	res.ms = ms(time.Since(start))
	if err != nil {
		return res, err
	}

	// The blob is there, with its size.
	req, _ = http.NewRequestWithContext(ctx, http.MethodHead, c.url("/v2/"+repo+"/blobs/"+dgst), nil)
	resp, err = c.do(req, http.StatusOK)
	if err != nil {
		return res, err
	}
	drain(resp)
	if resp.ContentLength != size {
		return res, fmt.Errorf("HEAD blob %s: Content-Length %d, want %d", dgst, resp.ContentLength, size)
	}
	return res, nil
}

// inspect lists the bucket for the objects and unfinished multipart
// uploads whose keys name c's upload id.
func (c *commitResult) inspect(ctx context.Context, m *minioServer, bucket string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	names := func(key string) bool {
		for _, part := range strings.Split(key, "/") {
			if part == c.uploadID {
				return true
			}
		}
		return false
	}
	for obj := range m.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("listing bucket %s: %w", bucket, obj.Err)
		}
		if names(obj.Key) {
			c.objects++
			c.stored += obj.Size
		}
	}
	for up := range m.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			return fmt.Errorf("listing multipart uploads in %s: %w", bucket, up.Err)
		}
		if names(up.Key) {
			c.incomplete++
		}
	}
	return nil
}

// checkBucket totals bucket's objects and unfinished multipart uploads and
// compares them with the distinct blobs the clients committed (each
// berth process keeps one copy of each blob it was sent).
func checkBucket(ctx context.Context, m *minioServer, bucket string, clients ...*regClient) (bucketCheck, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var b bucketCheck
	for _, c := range clients {
		for _, cm := range c.committedBlobs() {
			b.blobs++
			b.want += cm.size
		}
	}
	for obj := range m.client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return b, fmt.Errorf("listing bucket %s: %w", bucket, obj.Err)
		}
		b.objects++
		b.bytes += obj.Size
	}
	for up := range m.client.ListIncompleteUploads(ctx, bucket, "", true) {
		if up.Err != nil {
			return b, fmt.Errorf("listing multipart uploads in %s: %w", bucket, up.Err)
		}
		b.incomplete++
	}
	b.done = true
	return b, nil
}
