// Package storagetest is the conformance suite every storage.Driver runs.
// A backend's test calls Run with a constructor for an empty driver:
//
//	func TestDriver(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Driver {
//			d, err := filesystem.New(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return d
//		})
//	}
//
// The suite checks the contract written on storage.Driver: the offsets and
// errors of Append, that Commit keeps the first size bytes, that a committed
// blob reads back and seeks, and that removal is idempotent.
package storagetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/storage"
)

// Run runs the suite. newDriver returns a driver over empty storage; it is
// called once per subtest and should register its own cleanup.
func Run(t *testing.T, newDriver func(t *testing.T) storage.Driver) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d storage.Driver)
	}{
		{"AppendAtZeroCreates", testAppendAtZeroCreates},
		{"AppendContinues", testAppendContinues},
		{"AppendAtWrongOffset", testAppendAtWrongOffset},
		{"AppendToMissingUpload", testAppendToMissingUpload},
		{"AppendAtZeroRestarts", testAppendAtZeroRestarts},
		{"InterruptedAppendIsDiscarded", testInterruptedAppendIsDiscarded},
		{"ReadUploadMissing", testReadUploadMissing},
		{"CommitAndOpen", testCommitAndOpen},
		{"CommitKeepsFirstSizeBytes", testCommitKeepsFirstSizeBytes},
		{"CommitEmptyBlob", testCommitEmptyBlob},
		{"CommitSameDigestTwice", testCommitSameDigestTwice},
		{"CommitMissingUpload", testCommitMissingUpload},
		{"OpenSeeks", testOpenSeeks},
		{"DeleteIsIdempotent", testDeleteIsIdempotent},
		{"AbortIsIdempotent", testAbortIsIdempotent},
		{"LargeBlobStreams", testLargeBlobStreams},
		{"ConcurrentUploads", testConcurrentUploads},
		{"ConcurrentCommitsOfOneDigest", testConcurrentCommitsOfOneDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newDriver(t))
		})
	}
}

func testAppendAtZeroCreates(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	n, err := d.Append(t.Context(), id, 0, strings.NewReader("hello"))
	if err != nil || n != 5 {
		t.Fatalf("Append(0) = %d, %v; want 5, nil", n, err)
	}
	assertUpload(t, d, id, "hello")
}

func testAppendContinues(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	offset := int64(0)
	for _, chunk := range []string{"one ", "", "two ", "three"} {
		n, err := d.Append(t.Context(), id, offset, strings.NewReader(chunk))
		if err != nil || n != int64(len(chunk)) {
			t.Fatalf("Append(%d, %q) = %d, %v; want %d, nil", offset, chunk, n, err, len(chunk))
		}
		offset += n
	}
	assertUpload(t, d, id, "one two three")
}

func testAppendAtWrongOffset(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	MustAppend(t, d, id, 0, "hello")
	if _, err := d.Append(t.Context(), id, 6, strings.NewReader("x")); !errors.Is(err, storage.ErrOffsetMismatch) {
		t.Fatalf("Append past the end: err = %v; want ErrOffsetMismatch", err)
	}
	assertUpload(t, d, id, "hello")
}

func testAppendToMissingUpload(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	if _, err := d.Append(t.Context(), id, 3, strings.NewReader("x")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Append(3) to a missing upload: err = %v; want ErrNotFound", err)
	}
	if _, err := d.ReadUpload(t.Context(), id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the refused Append created the upload: ReadUpload err = %v", err)
	}
}

func testAppendAtZeroRestarts(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	MustAppend(t, d, id, 0, "a long first attempt")
	MustAppend(t, d, id, 0, "again")
	assertUpload(t, d, id, "again")
}

// An Append whose reader fails part way (the client hung up) may leave
// bytes behind; the next Append at the old offset must not keep them.
func testInterruptedAppendIsDiscarded(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	MustAppend(t, d, id, 0, "kept ")
	broken := io.MultiReader(strings.NewReader("partial bytes"), errReader{errors.New("connection reset")})
	if _, err := d.Append(t.Context(), id, 5, broken); err == nil {
		t.Fatal("Append from a failing reader succeeded")
	}
	MustAppend(t, d, id, 5, "retried")
	assertUpload(t, d, id, "kept retried")
}

func testReadUploadMissing(t *testing.T, d storage.Driver) {
	if _, err := d.ReadUpload(t.Context(), NewUploadID(t)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ReadUpload of a missing upload: err = %v; want ErrNotFound", err)
	}
}

func testCommitAndOpen(t *testing.T, d storage.Driver) {
	content := "committed content"
	loc := MustCommit(t, d, content)
	assertBlob(t, d, loc, content)
}

// The registry commits the bytes its session accounted for, which may be
// fewer than a failed last Append left behind.
func testCommitKeepsFirstSizeBytes(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	MustAppend(t, d, id, 0, "hello, world")
	loc, err := d.Commit(t.Context(), id, 5, digest.FromString("hello"))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	assertBlob(t, d, loc, "hello")
}

func testCommitEmptyBlob(t *testing.T, d storage.Driver) {
	loc := MustCommit(t, d, "")
	assertBlob(t, d, loc, "")
}

func testCommitSameDigestTwice(t *testing.T, d storage.Driver) {
	first := MustCommit(t, d, "same bytes")
	second := MustCommit(t, d, "same bytes")
	assertBlob(t, d, first, "same bytes")
	assertBlob(t, d, second, "same bytes")
}

func testCommitMissingUpload(t *testing.T, d storage.Driver) {
	_, err := d.Commit(t.Context(), NewUploadID(t), 0, digest.FromString(""))
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Commit of a missing upload: err = %v; want ErrNotFound", err)
	}
}

func testOpenSeeks(t *testing.T, d storage.Driver) {
	content := "0123456789abcdef"
	f := MustOpen(t, d, MustCommit(t, d, content))
	tests := []struct {
		offset int64
		whence int
		want   string // the rest of the blob from there
	}{
		{4, io.SeekStart, content[4:]},
		{-3, io.SeekEnd, content[13:]},
		{0, io.SeekEnd, ""},
		{0, io.SeekStart, content},
	}
	for _, tt := range tests {
		pos, err := f.Seek(tt.offset, tt.whence)
		if err != nil {
			t.Fatalf("Seek(%d, %d): %v", tt.offset, tt.whence, err)
		}
		if want := int64(len(content) - len(tt.want)); pos != want {
			t.Errorf("Seek(%d, %d) = %d; want %d", tt.offset, tt.whence, pos, want)
		}
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatalf("reading after Seek(%d, %d): %v", tt.offset, tt.whence, err)
		}
		if string(got) != tt.want {
			t.Errorf("after Seek(%d, %d) read %q; want %q", tt.offset, tt.whence, got, tt.want)
		}
	}
	// SeekCurrent from the middle, the way http.ServeContent finds sizes.
	f.Seek(2, io.SeekStart)
	if pos, err := f.Seek(3, io.SeekCurrent); err != nil || pos != 5 {
		t.Errorf("Seek(3, SeekCurrent) from 2 = %d, %v; want 5, nil", pos, err)
	}
}

func testDeleteIsIdempotent(t *testing.T, d storage.Driver) {
	loc := MustCommit(t, d, "to delete")
	for i := range 2 {
		if err := d.Delete(t.Context(), loc); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, err := d.Open(t.Context(), loc); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Open after Delete: err = %v; want ErrNotFound", err)
	}
}

func testAbortIsIdempotent(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	MustAppend(t, d, id, 0, "to abort")
	for i := range 2 {
		if err := d.Abort(t.Context(), id); err != nil {
			t.Fatalf("Abort #%d: %v", i+1, err)
		}
	}
	if _, err := d.ReadUpload(t.Context(), id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ReadUpload after Abort: err = %v; want ErrNotFound", err)
	}
	if _, err := d.Append(t.Context(), id, 8, strings.NewReader("x")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Append after Abort: err = %v; want ErrNotFound", err)
	}
	if err := d.Abort(t.Context(), NewUploadID(t)); err != nil {
		t.Fatalf("Abort of an upload never started: %v", err)
	}
}

// largeBlobSize is big enough to cross any buffer or part size a driver
// keeps in memory, small enough to stay quick.
const largeBlobSize = 32 << 20

// A large blob is generated, appended in uneven chunks and read back
// through hashes only: neither the driver nor the test holds it whole.
func testLargeBlobStreams(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	src := io.LimitReader(mrand.NewChaCha8([32]byte{1}), largeBlobSize)
	written := digest.Canonical.Digester()
	offset := int64(0)
	for _, size := range []int64{1, 5<<20 - 1, 11 << 20, largeBlobSize} {
		n, err := d.Append(t.Context(), id, offset, io.TeeReader(io.LimitReader(src, size), written.Hash()))
		if err != nil {
			t.Fatalf("Append at %d: %v", offset, err)
		}
		offset += n
	}
	if offset != largeBlobSize {
		t.Fatalf("appended %d bytes; want %d", offset, largeBlobSize)
	}
	dgst := written.Digest()

	rc, err := d.ReadUpload(t.Context(), id)
	if err != nil {
		t.Fatalf("ReadUpload: %v", err)
	}
	if got, n := hashAll(t, rc); got != dgst || n != largeBlobSize {
		t.Fatalf("ReadUpload: %d bytes with digest %s; want %d bytes with %s", n, got, largeBlobSize, dgst)
	}

	loc, err := d.Commit(t.Context(), id, offset, dgst)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got, n := hashAll(t, MustOpen(t, d, loc)); got != dgst || n != largeBlobSize {
		t.Fatalf("Open: %d bytes with digest %s; want %d bytes with %s", n, got, largeBlobSize, dgst)
	}
}

func testConcurrentUploads(t *testing.T, d storage.Driver) {
	const uploads, chunks = 8, 16
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			id := NewUploadID(t)
			var want bytes.Buffer
			offset := int64(0)
			for c := range chunks {
				chunk := strings.Repeat(fmt.Sprintf("upload %d chunk %d;", i, c), 100)
				want.WriteString(chunk)
				n, err := d.Append(t.Context(), id, offset, strings.NewReader(chunk))
				if err != nil {
					t.Errorf("upload %d: Append at %d: %v", i, offset, err)
					return
				}
				offset += n
			}
			loc, err := d.Commit(t.Context(), id, offset, digest.FromBytes(want.Bytes()))
			if err != nil {
				t.Errorf("upload %d: Commit: %v", i, err)
				return
			}
			assertBlob(t, d, loc, want.String())
		})
	}
	wg.Wait()
}

// Two clients pushing the same layer at once both commit it.
func testConcurrentCommitsOfOneDigest(t *testing.T, d storage.Driver) {
	const content = "a popular base layer"
	var wg sync.WaitGroup
	locations := make([]string, 8)
	for i := range locations {
		wg.Go(func() {
			id := NewUploadID(t)
			if _, err := d.Append(t.Context(), id, 0, strings.NewReader(content)); err != nil {
				t.Errorf("Append: %v", err)
				return
			}
			loc, err := d.Commit(t.Context(), id, int64(len(content)), digest.FromString(content))
			if err != nil {
				t.Errorf("Commit: %v", err)
				return
			}
			locations[i] = loc
		})
	}
	wg.Wait()
	for _, loc := range locations {
		if loc != "" {
			assertBlob(t, d, loc, content)
		}
	}
}

// NewUploadID returns a fresh upload id of the shape the registry makes.
func NewUploadID(t testing.TB) string {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MustAppend appends s to upload id at offset.
func MustAppend(t testing.TB, d storage.Driver, id string, offset int64, s string) {
	t.Helper()
	n, err := d.Append(t.Context(), id, offset, strings.NewReader(s))
	if err != nil || n != int64(len(s)) {
		t.Fatalf("Append(%s, %d, %d bytes) = %d, %v", id, offset, len(s), n, err)
	}
}

// MustCommit uploads content in one Append, commits it and returns its
// location.
func MustCommit(t testing.TB, d storage.Driver, content string) string {
	t.Helper()
	id := NewUploadID(t)
	MustAppend(t, d, id, 0, content)
	loc, err := d.Commit(t.Context(), id, int64(len(content)), digest.FromString(content))
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return loc
}

// MustOpen opens the blob at loc and closes it when the test ends.
func MustOpen(t testing.TB, d storage.Driver, loc string) storage.File {
	t.Helper()
	f, err := d.Open(t.Context(), loc)
	if err != nil {
		t.Fatalf("Open(%q): %v", loc, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func assertUpload(t *testing.T, d storage.Driver, id, want string) {
	t.Helper()
	rc, err := d.ReadUpload(t.Context(), id)
	if err != nil {
		t.Fatalf("ReadUpload(%s): %v", id, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading upload %s: %v", id, err)
	}
	if string(got) != want {
		t.Fatalf("upload %s holds %q; want %q", id, got, want)
	}
}

func assertBlob(t *testing.T, d storage.Driver, loc, want string) {
	t.Helper()
	f, err := d.Open(t.Context(), loc)
	if err != nil {
		t.Errorf("Open(%q): %v", loc, err)
		return
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Errorf("reading %q: %v", loc, err)
	}
	if string(got) != want {
		t.Errorf("blob %q holds %q; want %q", loc, got, want)
	}
}

func hashAll(t *testing.T, r io.ReadCloser) (digest.Digest, int64) {
	t.Helper()
	defer r.Close()
	h := digest.Canonical.Digester()
	n, err := io.Copy(h.Hash(), r)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	return h.Digest(), n
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
