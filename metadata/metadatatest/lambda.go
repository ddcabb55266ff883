package metadatatest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// A function is created once, updated only from the revision it was read
// at, listed in name order and deleted with its versions and aliases.
func testFunctions(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	at := time.Unix(1_700_000_000, 0)
	if _, err := s.Function(ctx, "echo"); !errors.Is(err, metadata.ErrFunctionUnknown) {
		t.Fatalf("Function before any: %v", err)
	}
	f := metadata.Function{Name: "echo", CreatedAt: at, Document: []byte(`{"v":1}`)}
	if err := s.CreateFunction(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFunction(ctx, metadata.Function{Name: "echo", CreatedAt: at, Document: []byte(`{"other":1}`)}); !errors.Is(err, metadata.ErrFunctionExists) {
		t.Errorf("CreateFunction twice: %v; want ErrFunctionExists", err)
	}
	got, err := s.Function(ctx, "echo")
	if err != nil || got.Revision != 1 || string(got.Document) != `{"v":1}` || !got.CreatedAt.Equal(at) {
		t.Fatalf("Function = %+v, %v", got, err)
	}

	// Two writers read revision 1; the second to write loses.
	rev, err := s.UpdateFunction(ctx, metadata.Function{Name: "echo", Document: []byte(`{"v":2}`)}, 1)
	if err != nil || rev != 2 {
		t.Fatalf("UpdateFunction = %d, %v; want 2", rev, err)
	}
	if _, err := s.UpdateFunction(ctx, metadata.Function{Name: "echo", Document: []byte(`{"v":"lost"}`)}, 1); !errors.Is(err, metadata.ErrFunctionChanged) {
		t.Errorf("UpdateFunction from a stale revision: %v; want ErrFunctionChanged", err)
	}
	if _, err := s.UpdateFunction(ctx, metadata.Function{Name: "nope"}, 1); !errors.Is(err, metadata.ErrFunctionUnknown) {
		t.Errorf("UpdateFunction of an unknown function: %v; want ErrFunctionUnknown", err)
	}
	if got, _ := s.Function(ctx, "echo"); got.Revision != 2 || string(got.Document) != `{"v":2}` || !got.CreatedAt.Equal(at) {
		t.Errorf("Function after the update = %+v", got)
	}

	for _, name := range []string{"b", "a", "c"} {
		if err := s.CreateFunction(ctx, metadata.Function{Name: name, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.Functions(ctx, "", 2)
	if err != nil || len(page) != 2 || page[0].Name != "a" || page[1].Name != "b" {
		t.Fatalf("Functions first page = %v, %v", page, err)
	}
	page, err = s.Functions(ctx, "b", 10)
	if err != nil || len(page) != 2 || page[0].Name != "c" || page[1].Name != "echo" {
		t.Errorf("Functions after b = %v, %v", page, err)
	}

	if err := s.DeleteFunction(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFunction(ctx, "a"); !errors.Is(err, metadata.ErrFunctionUnknown) {
		t.Errorf("DeleteFunction twice: %v", err)
	}
	if _, err := s.Function(ctx, "a"); !errors.Is(err, metadata.ErrFunctionUnknown) {
		t.Errorf("Function after delete: %v", err)
	}
}

// Versions are numbered from 1 and never reuse a number while the
// function lives; a function created again starts at 1.
func testFunctionVersions(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	at := time.Unix(1_700_000_000, 0)
	if _, err := s.PublishFunctionVersion(ctx, metadata.FunctionVersion{Function: "nope"}); !errors.Is(err, metadata.ErrFunctionUnknown) {
		t.Errorf("PublishFunctionVersion of an unknown function: %v", err)
	}
	mustCreateFunction(t, s, "fn")
	for i := 1; i <= 3; i++ {
		v, err := s.PublishFunctionVersion(ctx, metadata.FunctionVersion{Function: "fn", CreatedAt: at, Document: fmt.Appendf(nil, `{"n":%d}`, i)})
		if err != nil || v.Version != i || v.Function != "fn" || string(v.Document) != fmt.Sprintf(`{"n":%d}`, i) || !v.CreatedAt.Equal(at) {
			t.Fatalf("PublishFunctionVersion #%d = %+v, %v", i, v, err)
		}
	}
	if err := s.DeleteFunctionVersion(ctx, "fn", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFunctionVersion(ctx, "fn", 3); !errors.Is(err, metadata.ErrFunctionVersionUnknown) {
		t.Errorf("DeleteFunctionVersion twice: %v", err)
	}
	if v, err := s.PublishFunctionVersion(ctx, metadata.FunctionVersion{Function: "fn", CreatedAt: at}); err != nil || v.Version != 4 {
		t.Errorf("PublishFunctionVersion after deleting the last = %+v, %v; want version 4", v, err)
	}
	if _, err := s.FunctionVersion(ctx, "fn", 3); !errors.Is(err, metadata.ErrFunctionVersionUnknown) {
		t.Errorf("FunctionVersion of a deleted version: %v", err)
	}
	if v, err := s.FunctionVersion(ctx, "fn", 2); err != nil || string(v.Document) != `{"n":2}` {
		t.Errorf("FunctionVersion(2) = %+v, %v", v, err)
	}
	// Its document (the version's state) changes in place; its number
	// and creation time stay.
	if err := s.UpdateFunctionVersion(ctx, metadata.FunctionVersion{Function: "fn", Version: 2, CreatedAt: at.Add(time.Hour), Document: []byte(`{"n":2,"active":true}`)}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.FunctionVersion(ctx, "fn", 2); err != nil || string(v.Document) != `{"n":2,"active":true}` || !v.CreatedAt.Equal(at) {
		t.Errorf("FunctionVersion(2) after the update = %+v, %v", v, err)
	}
	if v, err := s.FunctionVersion(ctx, "fn", 1); err != nil || string(v.Document) != `{"n":1}` {
		t.Errorf("FunctionVersion(1) after updating 2 = %+v, %v", v, err)
	}
	for _, v := range []metadata.FunctionVersion{{Function: "fn", Version: 3}, {Function: "nope", Version: 1}} {
		if err := s.UpdateFunctionVersion(ctx, v); !errors.Is(err, metadata.ErrFunctionVersionUnknown) {
			t.Errorf("UpdateFunctionVersion(%s, %d): %v; want ErrFunctionVersionUnknown", v.Function, v.Version, err)
		}
	}
	list, err := s.FunctionVersions(ctx, "fn", 1, 10)
	if err != nil || len(list) != 2 || list[0].Version != 2 || list[1].Version != 4 {
		t.Errorf("FunctionVersions after 1 = %+v, %v", list, err)
	}
	if list, err := s.FunctionVersions(ctx, "fn", 0, 1); err != nil || len(list) != 1 || list[0].Version != 1 {
		t.Errorf("FunctionVersions limited to 1 = %+v, %v", list, err)
	}

	// Deleting the function deletes its versions; a new function of the
	// same name starts again at 1.
	if err := s.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FunctionVersion(ctx, "fn", 1); !errors.Is(err, metadata.ErrFunctionVersionUnknown) {
		t.Errorf("FunctionVersion after the function went: %v", err)
	}
	mustCreateFunction(t, s, "fn")
	if v, err := s.PublishFunctionVersion(ctx, metadata.FunctionVersion{Function: "fn", CreatedAt: at}); err != nil || v.Version != 1 {
		t.Errorf("PublishFunctionVersion of a new function = %+v, %v; want version 1", v, err)
	}
}

// Aliases are unique per function, replaced in place, listed by name and
// deleted with their function.
func testFunctionAliases(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	live := metadata.FunctionAlias{Function: "fn", Name: "live", Version: "1", Document: []byte(`{"d":"x"}`)}
	if err := s.CreateFunctionAlias(ctx, live); !errors.Is(err, metadata.ErrFunctionUnknown) {
		t.Errorf("CreateFunctionAlias of an unknown function: %v", err)
	}
	mustCreateFunction(t, s, "fn")
	mustCreateFunction(t, s, "other")
	if err := s.CreateFunctionAlias(ctx, live); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFunctionAlias(ctx, live); !errors.Is(err, metadata.ErrFunctionAliasExists) {
		t.Errorf("CreateFunctionAlias twice: %v", err)
	}
	// The same name on another function is another alias.
	if err := s.CreateFunctionAlias(ctx, metadata.FunctionAlias{Function: "other", Name: "live", Version: "$LATEST"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFunctionAlias(ctx, metadata.FunctionAlias{Function: "fn", Name: "beta", Version: "$LATEST"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FunctionAlias(ctx, "fn", "live"); err != nil || got.Version != "1" || string(got.Document) != `{"d":"x"}` {
		t.Errorf("FunctionAlias = %+v, %v", got, err)
	}
	if err := s.PutFunctionAlias(ctx, metadata.FunctionAlias{Function: "fn", Name: "live", Version: "2", Document: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FunctionAlias(ctx, "fn", "live"); got.Version != "2" || string(got.Document) != `{}` {
		t.Errorf("FunctionAlias after Put = %+v", got)
	}
	if err := s.PutFunctionAlias(ctx, metadata.FunctionAlias{Function: "fn", Name: "nope", Version: "1"}); !errors.Is(err, metadata.ErrFunctionAliasUnknown) {
		t.Errorf("PutFunctionAlias of an unknown alias: %v", err)
	}
	list, err := s.FunctionAliases(ctx, "fn", "", 10)
	if err != nil || len(list) != 2 || list[0].Name != "beta" || list[1].Name != "live" || list[1].Function != "fn" {
		t.Errorf("FunctionAliases = %+v, %v", list, err)
	}
	if list, err := s.FunctionAliases(ctx, "fn", "beta", 10); err != nil || len(list) != 1 || list[0].Name != "live" {
		t.Errorf("FunctionAliases after beta = %+v, %v", list, err)
	}
	if err := s.DeleteFunctionAlias(ctx, "fn", "beta"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFunctionAlias(ctx, "fn", "beta"); !errors.Is(err, metadata.ErrFunctionAliasUnknown) {
		t.Errorf("DeleteFunctionAlias twice: %v", err)
	}
	if err := s.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FunctionAlias(ctx, "fn", "live"); !errors.Is(err, metadata.ErrFunctionAliasUnknown) {
		t.Errorf("FunctionAlias after the function went: %v", err)
	}
	if _, err := s.FunctionAlias(ctx, "other", "live"); err != nil {
		t.Errorf("another function's alias went with it: %v", err)
	}
}

// Functions, versions and aliases survive a restart.
func testFunctionsSurviveReopen(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	mustCreateFunction(t, s, "fn")
	if _, err := s.PublishFunctionVersion(t.Context(), metadata.FunctionVersion{Function: "fn", Document: []byte(`{"v":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFunctionAlias(t.Context(), metadata.FunctionAlias{Function: "fn", Name: "live", Version: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open)
	if f, err := s.Function(t.Context(), "fn"); err != nil || f.Revision != 1 {
		t.Errorf("Function after reopening = %+v, %v", f, err)
	}
	if v, err := s.FunctionVersion(t.Context(), "fn", 1); err != nil || string(v.Document) != `{"v":1}` {
		t.Errorf("FunctionVersion after reopening = %+v, %v", v, err)
	}
	if a, err := s.FunctionAlias(t.Context(), "fn", "live"); err != nil || a.Version != "1" {
		t.Errorf("FunctionAlias after reopening = %+v, %v", a, err)
	}
	if v, err := s.PublishFunctionVersion(t.Context(), metadata.FunctionVersion{Function: "fn"}); err != nil || v.Version != 2 {
		t.Errorf("PublishFunctionVersion after reopening = %+v, %v; want version 2", v, err)
	}
}

func mustCreateFunction(t *testing.T, s metadata.Store, name string) {
	t.Helper()
	if err := s.CreateFunction(t.Context(), metadata.Function{Name: name, CreatedAt: time.Unix(1_700_000_000, 0), Document: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
}

func testLambdaEvents(t *testing.T, s metadata.Store) {
	ctx := context.Background()
	if got, err := s.LambdaEvents(ctx, "", 10); err != nil || len(got) != 0 {
		t.Fatalf("LambdaEvents of an empty queue = %v, %v", got, err)
	}
	queued := time.Unix(1700000000, 123)
	for _, id := range []string{"c", "a", "b"} {
		if err := s.PutLambdaEvent(ctx, metadata.LambdaEvent{RequestID: id, QueuedAt: queued, Document: []byte(`{"try":0}`)}); err != nil {
			t.Fatal(err)
		}
	}
	// Put again replaces the document and keeps when it was queued.
	if err := s.PutLambdaEvent(ctx, metadata.LambdaEvent{RequestID: "b", QueuedAt: queued.Add(time.Hour), Document: []byte(`{"try":1}`)}); err != nil {
		t.Fatal(err)
	}
	page, err := s.LambdaEvents(ctx, "", 2)
	if err != nil || len(page) != 2 || page[0].RequestID != "a" || page[1].RequestID != "b" {
		t.Fatalf("first page = %+v, %v; want a, b", page, err)
	}
	if string(page[1].Document) != `{"try":1}` || !page[1].QueuedAt.Equal(queued) {
		t.Errorf("event b = %s queued %v; want the new document, queued %v", page[1].Document, page[1].QueuedAt, queued)
	}
	if err := s.DeleteLambdaEvent(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLambdaEvent(ctx, "a"); err != nil {
		t.Errorf("deleting an event again: %v; want no error", err)
	}
	rest, err := s.LambdaEvents(ctx, "a", 10)
	if err != nil || len(rest) != 2 || rest[0].RequestID != "b" || rest[1].RequestID != "c" {
		t.Errorf("after deleting a = %+v, %v; want b, c", rest, err)
	}
}
