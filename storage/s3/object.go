package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/berth-dev/berth/storage"
)

// object is an open blob: the body of one GET, read as it arrives. A Seek
// away from where that body is drops it; the next Read starts a ranged GET
// from the new offset. So a whole-blob read (a pull) is one GET and no
// HEAD, and a Range request is one more GET.
//
// It reads the HTTP response body itself rather than through minio-go's
// *minio.Object, which hands every Read to a goroutine over channels and
// fills each caller's buffer whole before returning: a CPU profile of a
// streamed pull put that hand-off next to the copying itself.
type object struct {
	// ctx is the context of Open's caller: the request the blob is read
	// for. The GETs a Read starts after a Seek belong to it too, and a
	// Read has no context of its own to take.
	ctx  context.Context
	d    *Driver
	key  string
	size int64
	etag string // later GETs ask for this version (If-Match)

	offset int64         // where the next Read reads
	body   io.ReadCloser // nil: none open
	at     int64         // the offset of body's next byte
}

var _ storage.File = (*object)(nil)

// openObject GETs key and returns it open at offset 0. ErrNotFound if
// there is no such object.
func (d *Driver) openObject(ctx context.Context, key string) (*object, error) {
	body, info, _, err := d.core.GetObject(ctx, d.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, d.fail("opening blob", err)
	}
	return &object{ctx: ctx, d: d, key: key, size: info.Size, etag: info.ETag, body: body}, nil
}

// Read implements io.Reader. A body that ends before the object does is
// io.ErrUnexpectedEOF; a failing service is wrapped as ErrUnavailable.
func (o *object) Read(p []byte) (int, error) {
	if o.offset >= o.size {
		return 0, io.EOF
	}
	if o.body != nil && o.at != o.offset {
		o.body.Close()
		o.body = nil
	}
	if o.body == nil {
		if err := o.reopen(); err != nil {
			return 0, err
		}
	}
	if rest := o.size - o.offset; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := o.body.Read(p)
	o.offset += int64(n)
	o.at = o.offset
	switch {
	case err == io.EOF && o.offset < o.size:
		return n, fmt.Errorf("s3 reading blob (endpoint %s, bucket %s): %w after %d of %d bytes",
			o.d.cfg.Endpoint, o.d.cfg.Bucket, io.ErrUnexpectedEOF, o.offset, o.size)
	case err == io.EOF:
		return n, io.EOF
	case err != nil:
		return n, o.d.fail("reading blob", err)
	}
	return n, nil
}

// reopen GETs the object from o.offset to its end.
func (o *object) reopen() error {
	opts := minio.GetObjectOptions{}
	if o.offset > 0 { // SetRange(0, 0) would ask for the first byte only
		if err := opts.SetRange(o.offset, 0); err != nil {
			return err
		}
	}
	if err := opts.SetMatchETag(o.etag); err != nil {
		return err
	}
	body, _, _, err := o.d.core.GetObject(o.ctx, o.d.cfg.Bucket, o.key, opts)
	if err != nil {
		return o.d.fail("reading blob", err)
	}
	o.body, o.at = body, o.offset
	return nil
}

// errSeek is a Seek to before the start.
var errSeek = errors.New("s3: seek to a negative offset")

// Seek implements io.Seeker. It only moves the offset; the next Read
// fetches from there.
func (o *object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += o.offset
	case io.SeekEnd:
		offset += o.size
	case io.SeekStart:
	default:
		return o.offset, fmt.Errorf("s3: seek whence %d", whence)
	}
	if offset < 0 {
		return o.offset, errSeek
	}
	o.offset = offset
	return offset, nil
}

// Close implements io.Closer: it drops the body, if one is open.
func (o *object) Close() error {
	if o.body == nil {
		return nil
	}
	err := o.body.Close()
	o.body = nil
	return err
}
