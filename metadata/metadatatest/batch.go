package metadatatest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// Compute environments and job queues are kept apart by kind, replaced
// whole, listed by name and deleted.
func testBatchResources(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	for _, r := range []metadata.BatchResource{
		{Kind: metadata.BatchComputeEnvironment, Name: "b", Document: []byte(`{"v":1}`)},
		{Kind: metadata.BatchComputeEnvironment, Name: "a", Document: []byte(`{"v":1}`)},
		{Kind: metadata.BatchJobQueue, Name: "a", Document: []byte(`{"q":1}`)},
		{Kind: metadata.BatchComputeEnvironment, Name: "b", Document: []byte(`{"v":2}`)},
	} {
		if err := s.PutBatchResource(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ces, err := s.BatchResources(ctx, metadata.BatchComputeEnvironment)
	if err != nil || len(ces) != 2 || ces[0].Name != "a" || string(ces[1].Document) != `{"v":2}` {
		t.Fatalf("BatchResources = %+v, %v", ces, err)
	}
	if err := s.DeleteBatchResource(ctx, metadata.BatchComputeEnvironment, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBatchResource(ctx, metadata.BatchComputeEnvironment, "a"); !errors.Is(err, metadata.ErrBatchResourceUnknown) {
		t.Errorf("deleting twice: %v; want ErrBatchResourceUnknown", err)
	}
	qs, err := s.BatchResources(ctx, metadata.BatchJobQueue)
	if err != nil || len(qs) != 1 || string(qs[0].Document) != `{"q":1}` {
		t.Errorf("the queue of the same name: %+v, %v", qs, err)
	}
}

// Job definition revisions count up per name, the number passed to the
// document's writer; a failing writer stores nothing.
func testBatchJobDefinitions(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	for want := 1; want <= 3; want++ {
		d, err := s.RegisterBatchJobDefinition(ctx, "etl", func(rev int) ([]byte, error) {
			return fmt.Appendf(nil, `{"revision":%d}`, rev), nil
		})
		if err != nil || d.Revision != want || string(d.Document) != fmt.Sprintf(`{"revision":%d}`, want) {
			t.Fatalf("RegisterBatchJobDefinition = %+v, %v; want revision %d", d, err, want)
		}
	}
	boom := errors.New("boom")
	if _, err := s.RegisterBatchJobDefinition(ctx, "other", func(int) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failing writer: %v", err)
	}
	if _, err := s.RegisterBatchJobDefinition(ctx, "other", func(int) ([]byte, error) { return []byte(`{}`), nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBatchJobDefinition(ctx, metadata.BatchJobDefinition{Name: "etl", Revision: 2, Document: []byte(`{"status":"INACTIVE"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBatchJobDefinition(ctx, metadata.BatchJobDefinition{Name: "etl", Revision: 9}); !errors.Is(err, metadata.ErrBatchJobDefinitionUnknown) {
		t.Errorf("PutBatchJobDefinition of no revision: %v", err)
	}
	etl, err := s.BatchJobDefinitions(ctx, "etl")
	if err != nil || len(etl) != 3 || string(etl[1].Document) != `{"status":"INACTIVE"}` {
		t.Fatalf("BatchJobDefinitions(etl) = %+v, %v", etl, err)
	}
	all, err := s.BatchJobDefinitions(ctx, "")
	if err != nil || len(all) != 4 || all[0].Name != "etl" || all[3].Name != "other" || all[3].Revision != 1 {
		t.Errorf("BatchJobDefinitions() = %+v, %v", all, err)
	}
}

// Jobs are replaced by id, listed in id order a page at a time and
// deleted in bulk.
func testBatchJobs(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	at := time.Unix(1_700_000_000, 5)
	for i := range 5 {
		j := metadata.BatchJob{ID: fmt.Sprintf("job-%d", i), Status: "SUBMITTED", CreatedAt: at, Document: []byte(`{}`)}
		if err := s.PutBatchJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutBatchJob(ctx, metadata.BatchJob{ID: "job-1", Status: "RUNNING", CreatedAt: at, Document: []byte(`{"s":1}`)}); err != nil {
		t.Fatal(err)
	}
	page, err := s.BatchJobs(ctx, "", 2)
	if err != nil || len(page) != 2 || page[1].ID != "job-1" || page[1].Status != "RUNNING" || string(page[1].Document) != `{"s":1}` || !page[1].CreatedAt.Equal(at) {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	rest, err := s.BatchJobs(ctx, "job-1", 10)
	if err != nil || len(rest) != 3 || rest[0].ID != "job-2" {
		t.Fatalf("after job-1 = %+v, %v", rest, err)
	}
	if err := s.DeleteBatchJobs(ctx, []string{"job-0", "job-3", "nope"}); err != nil {
		t.Fatal(err)
	}
	left, err := s.BatchJobs(ctx, "", 10)
	if err != nil || len(left) != 3 || left[0].ID != "job-1" || left[2].ID != "job-4" {
		t.Errorf("after deleting = %+v, %v", left, err)
	}
}
