package metadatatest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// Clusters are created, replaced and listed by name, filtered by status.
func testClusters(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 5)
	if _, err := s.Cluster(ctx, "default"); !errors.Is(err, metadata.ErrClusterUnknown) {
		t.Fatalf("Cluster(missing): %v; want ErrClusterUnknown", err)
	}
	for i, name := range []string{"b", "a", "c"} {
		c := metadata.Cluster{Name: name, Status: "ACTIVE", CreatedAt: t0.Add(time.Duration(i) * time.Second), Document: []byte(`{"n":"` + name + `"}`)}
		if err := s.PutCluster(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Cluster(ctx, "a")
	if err != nil || got.Name != "a" || got.Status != "ACTIVE" || !got.CreatedAt.Equal(t0.Add(time.Second)) || string(got.Document) != `{"n":"a"}` {
		t.Fatalf("Cluster(a) = %+v, %v", got, err)
	}
	// Replacing keeps one cluster of the name.
	if err := s.PutCluster(ctx, metadata.Cluster{Name: "b", Status: "INACTIVE", CreatedAt: t0, Document: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	names := func(status, after string, n int) []string {
		t.Helper()
		cs, err := s.Clusters(ctx, status, after, n)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+"="+c.Status)
		}
		return out
	}
	assertStrings(t, "Clusters()", names("", "", 10), []string{"a=ACTIVE", "b=INACTIVE", "c=ACTIVE"})
	assertStrings(t, "Clusters(ACTIVE)", names("ACTIVE", "", 10), []string{"a=ACTIVE", "c=ACTIVE"})
	assertStrings(t, "Clusters(after a, 1)", names("", "a", 1), []string{"b=INACTIVE"})
	assertStrings(t, "Clusters(after c)", names("", "c", 10), nil)
}

// Each registration is its family's next revision, even after the latest
// was deregistered; revision 0 reads the latest ACTIVE one.
func testTaskDefinitions(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	register := func(family, doc string) metadata.TaskDefinition {
		t.Helper()
		td, err := s.RegisterTaskDefinition(ctx, metadata.TaskDefinition{Family: family, RegisteredAt: t0, Document: []byte(doc)})
		if err != nil {
			t.Fatalf("RegisterTaskDefinition(%s): %v", family, err)
		}
		return td
	}
	if _, err := s.TaskDefinition(ctx, "web", 0); !errors.Is(err, metadata.ErrTaskDefinitionUnknown) {
		t.Fatalf("TaskDefinition(missing family): %v", err)
	}
	for i := 1; i <= 3; i++ {
		td := register("web", fmt.Sprintf(`{"r":%d}`, i))
		if td.Family != "web" || td.Revision != i || td.Status != "ACTIVE" || !td.RegisteredAt.Equal(t0) ||
			!td.DeregisteredAt.IsZero() || string(td.Document) != fmt.Sprintf(`{"r":%d}`, i) {
			t.Fatalf("registration %d = %+v", i, td)
		}
	}
	if td := register("api", `{}`); td.Revision != 1 {
		t.Fatalf("first revision of another family = %d", td.Revision)
	}
	t1 := t0.Add(time.Hour)
	td, err := s.DeregisterTaskDefinition(ctx, "web", 3, t1)
	if err != nil || td.Status != "INACTIVE" || !td.DeregisteredAt.Equal(t1) || td.Revision != 3 {
		t.Fatalf("DeregisterTaskDefinition = %+v, %v", td, err)
	}
	// Deregistering again keeps the first time.
	if td, err := s.DeregisterTaskDefinition(ctx, "web", 3, t1.Add(time.Hour)); err != nil || !td.DeregisteredAt.Equal(t1) {
		t.Fatalf("DeregisterTaskDefinition again = %+v, %v", td, err)
	}
	if _, err := s.DeregisterTaskDefinition(ctx, "web", 9, t1); !errors.Is(err, metadata.ErrTaskDefinitionUnknown) {
		t.Fatalf("DeregisterTaskDefinition(missing): %v", err)
	}
	if latest, err := s.TaskDefinition(ctx, "web", 0); err != nil || latest.Revision != 2 {
		t.Fatalf("latest ACTIVE = %+v, %v; want revision 2", latest, err)
	}
	if inactive, err := s.TaskDefinition(ctx, "web", 3); err != nil || inactive.Status != "INACTIVE" {
		t.Fatalf("TaskDefinition(web, 3) = %+v, %v", inactive, err)
	}
	if td := register("web", `{}`); td.Revision != 4 {
		t.Fatalf("revision after a deregistered one = %d; want 4", td.Revision)
	}
	tagged, err := s.RegisterTaskDefinition(ctx, metadata.TaskDefinition{Family: "tagged", RegisteredAt: t0, Document: []byte(`{}`), Tags: map[string]string{"team": "a"}})
	if err != nil || !maps.Equal(tagged.Tags, map[string]string{"team": "a"}) {
		t.Fatalf("RegisterTaskDefinition with tags = %+v, %v", tagged, err)
	}
	if err := s.SetTaskDefinitionTags(ctx, "tagged", 1, map[string]string{"team": "b", "env": "dev"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TaskDefinition(ctx, "tagged", 1); err != nil || !maps.Equal(got.Tags, map[string]string{"team": "b", "env": "dev"}) {
		t.Fatalf("tags after SetTaskDefinitionTags = %+v, %v", got, err)
	}
	if got, err := s.TaskDefinition(ctx, "web", 1); err != nil || len(got.Tags) != 0 {
		t.Fatalf("tags of an untagged revision = %+v, %v", got.Tags, err)
	}
	if err := s.SetTaskDefinitionTags(ctx, "tagged", 2, nil); !errors.Is(err, metadata.ErrTaskDefinitionUnknown) {
		t.Fatalf("SetTaskDefinitionTags(missing): %v", err)
	}

	list := func(q metadata.TaskDefinitionQuery) []string {
		t.Helper()
		tds, err := s.TaskDefinitions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, td := range tds {
			out = append(out, fmt.Sprintf("%s:%d", td.Family, td.Revision))
		}
		return out
	}
	assertStrings(t, "all", list(metadata.TaskDefinitionQuery{}), []string{"api:1", "tagged:1", "web:1", "web:2", "web:3", "web:4"})
	assertStrings(t, "ACTIVE", list(metadata.TaskDefinitionQuery{Status: "ACTIVE"}), []string{"api:1", "tagged:1", "web:1", "web:2", "web:4"})
	assertStrings(t, "web DESC", list(metadata.TaskDefinitionQuery{Family: "web", Descending: true}), []string{"web:4", "web:3", "web:2", "web:1"})
	assertStrings(t, "page after web:1", list(metadata.TaskDefinitionQuery{AfterFamily: "web", AfterRevision: 1, Limit: 2}), []string{"web:2", "web:3"})
	assertStrings(t, "DESC page after web:2", list(metadata.TaskDefinitionQuery{Descending: true, AfterFamily: "web", AfterRevision: 2}), []string{"web:1", "tagged:1", "api:1"})
	assertStrings(t, "INACTIVE", list(metadata.TaskDefinitionQuery{Status: "INACTIVE"}), []string{"web:3"})
}

// RegisterTaskDefinition gives concurrent registrations of one family
// distinct revisions.
func testTaskDefinitionRevisionsConcurrent(t *testing.T, s metadata.Store) {
	const n = 8
	var wg sync.WaitGroup
	revs := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			td, err := s.RegisterTaskDefinition(t.Context(), metadata.TaskDefinition{Family: "f", RegisteredAt: time.Unix(1, 0), Document: []byte(`{}`)})
			revs[i], errs[i] = td.Revision, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.Sort(revs)
	for i, r := range revs {
		if r != i+1 {
			t.Fatalf("revisions %v; want 1..%d", revs, n)
		}
	}
}

// Tasks are replaced by id, selected by every indexed column, paged by
// id, and purged once stopped long enough.
func testTasks(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	if _, err := s.Task(ctx, "nope"); !errors.Is(err, metadata.ErrTaskUnknown) {
		t.Fatalf("Task(missing): %v", err)
	}
	tasks := []metadata.Task{
		{ID: "a1", Cluster: "default", Family: "web", Revision: 1, Group: "service:web", StartedBy: "ecs-svc/1", LastStatus: "RUNNING", DesiredStatus: "RUNNING"},
		{ID: "a2", Cluster: "default", Family: "web", Revision: 2, Group: "service:web", StartedBy: "ecs-svc/1", LastStatus: "PENDING", DesiredStatus: "RUNNING"},
		{ID: "b1", Cluster: "default", Family: "job", Revision: 1, Group: "family:job", StartedBy: "me", LastStatus: "STOPPED", DesiredStatus: "STOPPED", StoppedAt: t0.Add(time.Minute)},
		{ID: "c1", Cluster: "other", Family: "web", Revision: 1, LastStatus: "STOPPED", DesiredStatus: "STOPPED", StoppedAt: t0.Add(time.Hour)},
	}
	for i, task := range tasks {
		task.CreatedAt = t0.Add(time.Duration(i) * time.Second)
		task.Document = []byte(`{"id":"` + task.ID + `"}`)
		tasks[i] = task
		if err := s.PutTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Task(ctx, "b1")
	if err != nil || !sameTask(got, tasks[2]) {
		t.Fatalf("Task(b1) = %+v, %v; want %+v", got, err, tasks[2])
	}
	// Replacing updates every column.
	moved := tasks[1]
	moved.LastStatus, moved.DesiredStatus, moved.StoppedAt, moved.Document = "STOPPED", "STOPPED", t0.Add(2*time.Hour), []byte(`{"stopped":true}`)
	if err := s.PutTask(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Task(ctx, "a2"); err != nil || !sameTask(got, moved) {
		t.Fatalf("Task(a2) after PutTask = %+v, %v; want %+v", got, err, moved)
	}

	ids := func(q metadata.TaskQuery) []string {
		t.Helper()
		ts, err := s.Tasks(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, task := range ts {
			out = append(out, task.ID)
		}
		return out
	}
	assertStrings(t, "all", ids(metadata.TaskQuery{}), []string{"a1", "a2", "b1", "c1"})
	assertStrings(t, "cluster", ids(metadata.TaskQuery{Cluster: "default"}), []string{"a1", "a2", "b1"})
	assertStrings(t, "family", ids(metadata.TaskQuery{Cluster: "default", Family: "web"}), []string{"a1", "a2"})
	assertStrings(t, "group", ids(metadata.TaskQuery{Group: "service:web"}), []string{"a1", "a2"})
	assertStrings(t, "startedBy", ids(metadata.TaskQuery{StartedBy: "me"}), []string{"b1"})
	assertStrings(t, "desired RUNNING", ids(metadata.TaskQuery{DesiredStatus: "RUNNING"}), []string{"a1"})
	assertStrings(t, "last STOPPED", ids(metadata.TaskQuery{LastStatus: "STOPPED"}), []string{"a2", "b1", "c1"})
	assertStrings(t, "stopped since", ids(metadata.TaskQuery{StoppedSince: t0.Add(time.Hour)}), []string{"a1", "a2", "c1"})
	assertStrings(t, "live", ids(metadata.TaskQuery{Live: true}), []string{"a1"})
	assertStrings(t, "page", ids(metadata.TaskQuery{After: "a1", Limit: 2}), []string{"a2", "b1"})

	n, err := s.DeleteStoppedTasks(ctx, t0.Add(time.Hour+time.Second))
	if err != nil || n != 2 {
		t.Fatalf("DeleteStoppedTasks = %d, %v; want 2", n, err)
	}
	assertStrings(t, "after purge", ids(metadata.TaskQuery{}), []string{"a1", "a2"})
	if _, err := s.Task(ctx, "b1"); !errors.Is(err, metadata.ErrTaskUnknown) {
		t.Fatalf("Task(purged): %v", err)
	}
}

func sameTask(a, b metadata.Task) bool {
	return a.ID == b.ID && a.Cluster == b.Cluster && a.Family == b.Family && a.Revision == b.Revision &&
		a.Group == b.Group && a.StartedBy == b.StartedBy && a.LastStatus == b.LastStatus &&
		a.DesiredStatus == b.DesiredStatus && a.CreatedAt.Equal(b.CreatedAt) && a.StoppedAt.Equal(b.StoppedAt) &&
		string(a.Document) == string(b.Document)
}

// Clusters, task definitions and tasks survive a restart.
func testECSSurvivesReopen(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := t.Context()
	at := time.Unix(1_700_000_000, 0)
	if err := s.PutCluster(ctx, metadata.Cluster{Name: "default", Status: "ACTIVE", CreatedAt: at, Document: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RegisterTaskDefinition(ctx, metadata.TaskDefinition{Family: "web", RegisteredAt: at, Document: []byte(`{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	task := metadata.Task{ID: "t1", Cluster: "default", Family: "web", Revision: 1, LastStatus: "RUNNING", DesiredStatus: "RUNNING", CreatedAt: at, Document: []byte(`{"t":1}`)}
	if err := s.PutTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := s.PutService(ctx, metadata.Service{Cluster: "default", Name: "web", Status: "ACTIVE", CreatedAt: at, Document: []byte(`{"s":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open)
	if c, err := s.Cluster(ctx, "default"); err != nil || c.Status != "ACTIVE" {
		t.Errorf("Cluster after reopen = %+v, %v", c, err)
	}
	if td, err := s.TaskDefinition(ctx, "web", 1); err != nil || string(td.Document) != `{"x":1}` {
		t.Errorf("TaskDefinition after reopen = %+v, %v", td, err)
	}
	if td, err := s.RegisterTaskDefinition(ctx, metadata.TaskDefinition{Family: "web", RegisteredAt: at, Document: []byte(`{}`)}); err != nil || td.Revision != 2 {
		t.Errorf("next revision after reopen = %+v, %v", td, err)
	}
	if got, err := s.Task(ctx, "t1"); err != nil || !sameTask(got, task) {
		t.Errorf("Task after reopen = %+v, %v", got, err)
	}
	if got, err := s.Service(ctx, "default", "web"); err != nil || string(got.Document) != `{"s":1}` || !got.CreatedAt.Equal(at) {
		t.Errorf("Service after reopen = %+v, %v", got, err)
	}
}

// Services are created, replaced, listed by cluster and name (filtered
// by cluster and status, in pages) and deleted.
func testServices(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	if _, err := s.Service(ctx, "default", "web"); !errors.Is(err, metadata.ErrServiceUnknown) {
		t.Fatalf("Service(missing): %v; want ErrServiceUnknown", err)
	}
	put := func(cluster, name, status string) {
		t.Helper()
		doc := []byte(`{"n":"` + cluster + "/" + name + `"}`)
		if err := s.PutService(ctx, metadata.Service{Cluster: cluster, Name: name, Status: status, CreatedAt: t0, Document: doc}); err != nil {
			t.Fatal(err)
		}
	}
	put("default", "web", "ACTIVE")
	put("default", "api", "ACTIVE")
	put("other", "web", "ACTIVE")
	put("default", "old", "INACTIVE")
	got, err := s.Service(ctx, "other", "web")
	if err != nil || got.Cluster != "other" || got.Name != "web" || got.Status != "ACTIVE" || string(got.Document) != `{"n":"other/web"}` || !got.CreatedAt.Equal(t0) {
		t.Fatalf("Service(other, web) = %+v, %v", got, err)
	}
	put("default", "web", "DRAINING") // replaces
	if got, _ := s.Service(ctx, "default", "web"); got.Status != "DRAINING" {
		t.Errorf("replaced service has status %q", got.Status)
	}
	names := func(q metadata.ServiceQuery) []string {
		t.Helper()
		list, err := s.Services(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, svc := range list {
			out = append(out, svc.Cluster+"/"+svc.Name)
		}
		return out
	}
	for _, tt := range []struct {
		q    metadata.ServiceQuery
		want []string
	}{
		{metadata.ServiceQuery{}, []string{"default/api", "default/old", "default/web", "other/web"}},
		{metadata.ServiceQuery{Cluster: "default"}, []string{"default/api", "default/old", "default/web"}},
		{metadata.ServiceQuery{Status: "ACTIVE"}, []string{"default/api", "other/web"}},
		{metadata.ServiceQuery{Limit: 2}, []string{"default/api", "default/old"}},
		{metadata.ServiceQuery{AfterCluster: "default", AfterName: "old", Limit: 2}, []string{"default/web", "other/web"}},
		{metadata.ServiceQuery{Cluster: "default", AfterCluster: "default", AfterName: "web"}, nil},
	} {
		if got := names(tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("Services(%+v) = %q; want %q", tt.q, got, tt.want)
		}
	}
	if err := s.DeleteService(ctx, "default", "old"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteService(ctx, "default", "old"); err != nil {
		t.Errorf("deleting a deleted service: %v", err)
	}
	if _, err := s.Service(ctx, "default", "old"); !errors.Is(err, metadata.ErrServiceUnknown) {
		t.Errorf("deleted service: %v; want ErrServiceUnknown", err)
	}
}
