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
// The suite checks the contract written on storage.Driver: the sizes and
// errors of Append, that an Upload value passed back continues the upload
// (as after a restart), that Commit keeps exactly Size bytes, that a
// committed blob reads back and seeks, and that removal is idempotent.
package storagetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strconv"
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
		{"ManyTinyAppends", testManyTinyAppends},
		{"AppendToMissingUpload", testAppendToMissingUpload},
		{"AppendAtZeroRestarts", testAppendAtZeroRestarts},
		{"InterruptedAppendIsDiscarded", testInterruptedAppendIsDiscarded},
		{"StaleUploadResumes", testStaleUploadResumes},
		{"CommitAndOpen", testCommitAndOpen},
		{"CommitEmptyBlob", testCommitEmptyBlob},
		{"CommitSameContentTwice", testCommitSameContentTwice},
		{"CommitMissingUpload", testCommitMissingUpload},
		{"OpenSeeks", testOpenSeeks},
		{"DeleteIsIdempotent", testDeleteIsIdempotent},
		{"AbortIsIdempotent", testAbortIsIdempotent},
		{"LargeBlobStreams", testLargeBlobStreams},
		{"ConcurrentUploads", testConcurrentUploads},
		{"ConcurrentCommitsOfOneDigest", testConcurrentCommitsOfOneDigest},
		{"ListsWhatItStores", testListsWhatItStores},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newDriver(t))
		})
	}
}

func testAppendAtZeroCreates(t *testing.T, d storage.Driver) {
	u, err := d.Append(t.Context(), storage.Upload{ID: NewUploadID(t)}, strings.NewReader("hello"))
	if err != nil || u.Size != 5 {
		t.Fatalf("Append = size %d, %v; want 5, nil", u.Size, err)
	}
	assertUpload(t, d, u, "hello")
}

func testAppendContinues(t *testing.T, d storage.Driver) {
	u := storage.Upload{ID: NewUploadID(t)}
	for _, chunk := range []string{"hello", ", ", "world"} {
		u = MustAppend(t, d, u, chunk)
	}
	assertUpload(t, d, u, "hello, world")
}

// Chunks far below any part size a driver may need, many times over.
func testManyTinyAppends(t *testing.T, d storage.Driver) {
	u := storage.Upload{ID: NewUploadID(t)}
	var want strings.Builder
	for i := range 200 {
		chunk := strconv.Itoa(i) + ","
		want.WriteString(chunk)
		u = MustAppend(t, d, u, chunk)
	}
	assertUpload(t, d, u, want.String())
}

func testAppendToMissingUpload(t *testing.T, d storage.Driver) {
	u := storage.Upload{ID: NewUploadID(t), Size: 3}
	if _, err := d.Append(t.Context(), u, strings.NewReader("x")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Append(size 3) to a missing upload: err = %v; want ErrNotFound", err)
	}
	if _, err := d.Commit(t.Context(), u); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the refused Append created the upload: Commit err = %v", err)
	}
}

func testAppendAtZeroRestarts(t *testing.T, d storage.Driver) {
	id := NewUploadID(t)
	MustAppend(t, d, storage.Upload{ID: id}, "a long first attempt")
	u := MustAppend(t, d, storage.Upload{ID: id}, "again")
	assertUpload(t, d, u, "again")
}

// An Append whose reader fails part way (the client hung up) may leave
// bytes behind; the next Append from the last good Upload must not keep
// them.
func testInterruptedAppendIsDiscarded(t *testing.T, d storage.Driver) {
	u := MustAppend(t, d, storage.Upload{ID: NewUploadID(t)}, "kept ")
	broken := io.MultiReader(strings.NewReader(strings.Repeat("lost ", 1000)), errReader{errors.New("client went away")})
	if _, err := d.Append(t.Context(), u, broken); err == nil {
		t.Fatal("Append from a failing reader succeeded")
	}
	u = MustAppend(t, d, u, "retried")
	assertUpload(t, d, u, "kept retried")
}

// The Upload value is all a later request (or process) has: a copy taken
// between appends continues the upload exactly.
func testStaleUploadResumes(t *testing.T, d storage.Driver) {
	u := MustAppend(t, d, storage.Upload{ID: NewUploadID(t)}, "first;")
	saved := storage.Upload{ID: u.ID, Size: u.Size, State: bytes.Clone(u.State)}
	u = MustAppend(t, d, saved, "second")
	assertUpload(t, d, u, "first;second")
}

func testCommitAndOpen(t *testing.T, d storage.Driver) {
	content := "some blob bytes"
	assertBlob(t, d, MustCommit(t, d, content), content)
}

func testCommitEmptyBlob(t *testing.T, d storage.Driver) {
	assertBlob(t, d, MustCommit(t, d, ""), "")
}

func testCommitSameContentTwice(t *testing.T, d storage.Driver) {
	first := MustCommit(t, d, "same bytes")
	second := MustCommit(t, d, "same bytes")
	assertBlob(t, d, first, "same bytes")
	assertBlob(t, d, second, "same bytes")
}

func testCommitMissingUpload(t *testing.T, d storage.Driver) {
	_, err := d.Commit(t.Context(), storage.Upload{ID: NewUploadID(t)})
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
	u := MustAppend(t, d, storage.Upload{ID: NewUploadID(t)}, "to abort")
	for i := range 2 {
		if err := d.Abort(t.Context(), u); err != nil {
			t.Fatalf("Abort #%d: %v", i+1, err)
		}
	}
	if _, err := d.Append(t.Context(), u, strings.NewReader("x")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Append after Abort: err = %v; want ErrNotFound", err)
	}
	if _, err := d.Commit(t.Context(), u); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Commit after Abort: err = %v; want ErrNotFound", err)
	}
	if err := d.Abort(t.Context(), storage.Upload{ID: NewUploadID(t)}); err != nil {
		t.Fatalf("Abort of an upload never started: %v", err)
	}
}

// largeBlobSize is big enough to cross any buffer or part size a driver
// keeps in memory, small enough to stay quick.
const largeBlobSize = 32 << 20

// A large blob is generated, appended in uneven chunks and read back
// through hashes only: neither the driver nor the test holds it whole.
func testLargeBlobStreams(t *testing.T, d storage.Driver) {
	u := storage.Upload{ID: NewUploadID(t)}
	src := io.LimitReader(mrand.NewChaCha8([32]byte{1}), largeBlobSize)
	written := digest.Canonical.Digester()
	for _, size := range []int64{1, 5<<20 - 1, 11 << 20, largeBlobSize} {
		var err error
		if u, err = d.Append(t.Context(), u, io.TeeReader(io.LimitReader(src, size), written.Hash())); err != nil {
			t.Fatalf("Append at %d: %v", u.Size, err)
		}
	}
	if u.Size != largeBlobSize {
		t.Fatalf("appended %d bytes; want %d", u.Size, largeBlobSize)
	}
	dgst := written.Digest()

	loc, err := d.Commit(t.Context(), u)
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
			u := storage.Upload{ID: NewUploadID(t)}
			var want bytes.Buffer
			for c := range chunks {
				chunk := strings.Repeat(fmt.Sprintf("upload %d chunk %d;", i, c), 100)
				want.WriteString(chunk)
				var err error
				if u, err = d.Append(t.Context(), u, strings.NewReader(chunk)); err != nil {
					t.Errorf("upload %d: Append at %d: %v", i, u.Size, err)
					return
				}
			}
			loc, err := d.Commit(t.Context(), u)
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
			u, err := d.Append(t.Context(), storage.Upload{ID: NewUploadID(t)}, strings.NewReader(content))
			if err != nil {
				t.Errorf("Append: %v", err)
				return
			}
			loc, err := d.Commit(t.Context(), u)
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

// A Lister lists every committed blob under its location and the bytes of
// every upload in progress, each with its upload id, and removes what it
// lists, nothing else. Drivers that are not Listers skip this test.
func testListsWhatItStores(t *testing.T, d storage.Driver) {
	lister, ok := d.(storage.Lister)
	if !ok {
		t.Skip("not a storage.Lister")
	}
	blob := storage.Upload{ID: NewUploadID(t)}
	blob = MustAppend(t, d, blob, "committed bytes")
	loc, err := d.Commit(t.Context(), blob)
	if err != nil {
		t.Fatal(err)
	}
	open := MustAppend(t, d, storage.Upload{ID: NewUploadID(t)}, "uploading")
	open = MustAppend(t, d, open, ", still")

	list := func() map[string][]storage.Object {
		t.Helper()
		byUpload := map[string][]storage.Object{}
		err := lister.List(t.Context(), func(o storage.Object) error {
			byUpload[o.Upload] = append(byUpload[o.Upload], o)
			return nil
		})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		return byUpload
	}
	got := list()
	if len(got) != 2 {
		t.Errorf("List found objects of %d uploads; want 2: %v", len(got), got)
	}
	if objs := got[blob.ID]; len(objs) != 1 || objs[0].Key != loc || objs[0].Size != blob.Size || objs[0].Modified.IsZero() {
		t.Errorf("List gave the committed blob as %+v; want one object at %s of %d bytes, with its time", objs, loc, blob.Size)
	}
	var size int64
	for _, o := range got[open.ID] {
		size += o.Size
	}
	if len(got[open.ID]) == 0 || size < open.Size {
		t.Errorf("List gave the upload in progress as %+v; want objects holding its %d bytes", got[open.ID], open.Size)
	}

	// Stopping early returns fn's error.
	stop := errors.New("enough")
	if err := lister.List(t.Context(), func(storage.Object) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("List with fn failing: %v; want fn's error", err)
	}

	for _, key := range []string{"", ".", "..", "../x", "/etc/passwd", "uploads", "blobs/", "other/" + blob.ID} {
		if err := lister.Remove(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Remove(%q) of a key List never gives: %v; want ErrNotFound", key, err)
		}
	}
	for _, objs := range got {
		for _, o := range objs {
			for range 2 {
				if err := lister.Remove(t.Context(), o.Key); err != nil {
					t.Fatalf("Remove(%q): %v", o.Key, err)
				}
			}
		}
	}
	if left := list(); len(left) != 0 {
		t.Errorf("after deleting every listed object, List finds %v", left)
	}
	if _, err := d.Open(t.Context(), loc); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open of the deleted blob: %v; want ErrNotFound", err)
	}
	if _, err := d.Append(t.Context(), open, strings.NewReader("more")); err == nil {
		t.Errorf("Append to the upload whose bytes were deleted succeeded")
	}
}

// NewUploadID returns a fresh upload id of the shape the registry makes.
func NewUploadID(t testing.TB) string {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// MustAppend appends s to upload u and returns the upload after it.
func MustAppend(t testing.TB, d storage.Driver, u storage.Upload, s string) storage.Upload {
	t.Helper()
	next, err := d.Append(t.Context(), u, strings.NewReader(s))
	if err != nil || next.Size != u.Size+int64(len(s)) {
		t.Fatalf("Append(%s at %d, %d bytes) = size %d, %v", u.ID, u.Size, len(s), next.Size, err)
	}
	return next
}

// MustCommit uploads content in one Append, commits it and returns its
// location.
func MustCommit(t testing.TB, d storage.Driver, content string) string {
	t.Helper()
	u := MustAppend(t, d, storage.Upload{ID: NewUploadID(t)}, content)
	loc, err := d.Commit(t.Context(), u)
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

// assertUpload commits u and checks it holds want.
func assertUpload(t *testing.T, d storage.Driver, u storage.Upload, want string) {
	t.Helper()
	loc, err := d.Commit(t.Context(), u)
	if err != nil {
		t.Fatalf("Commit(%s): %v", u.ID, err)
	}
	assertBlob(t, d, loc, want)
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
