package s3

import (
	"bytes"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/berth-dev/berth/internal/miniotest"
	"github.com/berth-dev/berth/storage/storagetest"
)

// A part whose bytes changed after their checksum was taken (a part buffer
// written to while it waits to be sent) is refused by the service rather
// than stored; the same bytes with their own checksum are accepted. This
// is what makes a shared part buffer fail an upload instead of committing
// a blob its digest does not describe.
func TestChangedPartIsRefused(t *testing.T) {
	srv := miniotest.Shared(t)
	d, err := New(t.Context(), Config{
		Endpoint: srv.Endpoint, Bucket: srv.NewBucket(t), AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := storagetest.NewUploadID(t)
	mid, err := d.core.NewMultipartUpload(t.Context(), d.cfg.Bucket, d.blobKey(id), minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.core.AbortMultipartUpload(t.Context(), d.cfg.Bucket, d.blobKey(id), mid) })

	data := bytes.Repeat([]byte("part bytes;"), minPartSize/10)
	sum := checksum(data)
	data[len(data)/2] ^= 0xff
	_, err = d.putPart(t.Context(), id, mid, 1, data, sum)
	if code := minio.ToErrorResponse(err).Code; code != "XAmzContentSHA256Mismatch" {
		t.Errorf("uploading a part changed after hashing: %v (code %q); want it refused with XAmzContentSHA256Mismatch", err, code)
	}
	parts, err := d.core.ListObjectParts(t.Context(), d.cfg.Bucket, d.blobKey(id), mid, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts.ObjectParts) != 0 {
		t.Errorf("the refused part was stored: %+v", parts.ObjectParts)
	}

	if _, err := d.putPart(t.Context(), id, mid, 1, data, checksum(data)); err != nil {
		t.Errorf("uploading the same bytes with their own checksum: %v", err)
	}
}
