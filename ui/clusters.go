package ui

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/metadata"
)

// clusterActive is the status of a cluster that has not been deleted
// (ECS keeps describing a deleted one, INACTIVE, for a while).
const clusterActive = "ACTIVE"

// clusterRow is a cluster in the list, with its tasks counted as
// DescribeClusters counts them.
type clusterRow struct {
	Name      string
	CreatedAt time.Time
	// CanDescribe: the person may describe it (ecs:DescribeClusters), so
	// the counts show.
	CanDescribe      bool
	Running, Pending int
}

// clustersPage is the cluster list.
type clustersPage struct {
	Rows []clusterRow
	// Next and First are the queries of the next and the first page.
	Next, First string
	EngineDown  string
}

const clustersPerPage = 100

// taskCounts counts a task as DescribeClusters does: running, or pending
// (on its way to running).
func taskCounts(t metadata.Task) (running, pending int) {
	switch t.LastStatus {
	case ecs.StatusRunning:
		return 1, 0
	case ecs.StatusProvisioning, ecs.StatusPending, ecs.StatusActivating:
		return 0, 1
	}
	return 0, 0
}

// clusters lists the active clusters, as ListClusters does, with the
// tasks running and pending in each.
func (u *UI) clusters(w http.ResponseWriter, rq *request) error {
	if err := rq.requireOn("ecs:ListClusters", "*"); err != nil {
		return err
	}
	after := rq.URL.Query().Get("after")
	page, err := u.store.Clusters(rq.Context(), clusterActive, after, clustersPerPage+1)
	if err != nil {
		return err
	}
	live, err := u.store.Tasks(rq.Context(), metadata.TaskQuery{Live: true})
	if err != nil {
		return err
	}
	type counts struct{ running, pending int }
	byCluster := map[string]counts{}
	for _, t := range live {
		r, p := taskCounts(t)
		c := byCluster[t.Cluster]
		byCluster[t.Cluster] = counts{c.running + r, c.pending + p}
	}
	p := clustersPage{EngineDown: u.engineDown(rq)}
	if len(page) > clustersPerPage {
		page = page[:clustersPerPage]
		p.Next = "?" + url.Values{"after": {page[clustersPerPage-1].Name}}.Encode()
	}
	if after != "" {
		p.First = "/ui/clusters"
	}
	for _, c := range page {
		row := clusterRow{Name: c.Name, CreatedAt: c.CreatedAt, CanDescribe: rq.allowed("ecs:DescribeClusters", u.clusterARN(c.Name))}
		if row.CanDescribe {
			n := byCluster[c.Name]
			row.Running, row.Pending = n.running, n.pending
		}
		p.Rows = append(p.Rows, row)
	}
	u.render(w, rq, http.StatusOK, "clusters", "Clusters", p)
	return nil
}

// taskRow is a task in a cluster's list.
type taskRow struct {
	ecs.Task
	// Cluster and ID name it.
	Cluster, ID string
	// Family and Revision name its task definition.
	Family   string
	Revision int
	// CanDescribe: the person may describe it (ecs:DescribeTasks), so
	// more than its id shows.
	CanDescribe bool
}

// clusterPage is a cluster and its tasks.
type clusterPage struct {
	Name, ARN, Status string
	CreatedAt         time.Time
	// Running and Pending count the cluster's tasks as DescribeClusters
	// does.
	Running, Pending int
	// CanList: the person may list its tasks (ecs:ListTasks).
	CanList bool
	// Show selects the tasks by desired status: running, stopped or all.
	Show  string
	Shows []column
	Tasks []taskRow
	// Total is how many tasks Show selects; Page of Of is the page shown,
	// Prev and Next the queries of its neighbours.
	Total, Page, Of int
	Prev, Next      string
	// Changes is the live stream of the cluster's task changes.
	Changes    string
	EngineDown string
	Notice     string
	// Services are its services; CanListServices: the person may list
	// them (ecs:ListServices).
	Services        []serviceRow
	CanListServices bool
}

const tasksPerPage = 100

// taskShows are the task lists a cluster page offers, by desired status
// as ListTasks filters them: RUNNING (its default), STOPPED, or either.
var taskShows = []struct{ key, label, desired string }{
	{"running", "Running", ecs.StatusRunning},
	{"stopped", "Stopped", ecs.StatusStopped},
	{"all", "All", ""},
}

// cluster shows a cluster (as DescribeClusters does) and its tasks (as
// ListTasks and DescribeTasks do), newest first, a page at a time.
func (u *UI) cluster(w http.ResponseWriter, rq *request) error {
	name := rq.PathValue("cluster")
	clusterARN := u.clusterARN(name)
	if err := rq.requireOn("ecs:DescribeClusters", clusterARN); err != nil {
		return err
	}
	c, err := u.store.Cluster(rq.Context(), name)
	if err != nil {
		return err
	}
	q := rq.URL.Query()
	p := clusterPage{Name: c.Name, ARN: clusterARN, Status: c.Status, CreatedAt: c.CreatedAt, Show: q.Get("show"),
		CanList: rq.allowed("ecs:ListTasks", clusterARN), Notice: taskNotices[q.Get("done")], EngineDown: u.engineDown(rq)}
	desired, ok := "", false
	for _, s := range taskShows {
		if s.key == p.Show {
			desired, ok = s.desired, true
		}
	}
	if !ok {
		p.Show, desired = "running", ecs.StatusRunning
	}
	for _, s := range taskShows {
		p.Shows = append(p.Shows, column{Label: s.label, Href: "?show=" + s.key, Current: s.key == p.Show})
	}
	live, err := u.store.Tasks(rq.Context(), metadata.TaskQuery{Cluster: name, Live: true})
	if err != nil {
		return err
	}
	for _, t := range live {
		r, pending := taskCounts(t)
		p.Running, p.Pending = p.Running+r, p.Pending+pending
	}
	if p.Services, p.CanListServices, err = u.clusterServices(rq, name); err != nil {
		return err
	}
	if !p.CanList {
		u.render(w, rq, http.StatusOK, "cluster", "Cluster "+name, p)
		return nil
	}
	p.Changes = "/ui/clusters/" + url.PathEscape(name) + "/changes"
	// The index's columns select, order and count the tasks; only the
	// page's documents are decoded.
	shown, err := u.store.Tasks(rq.Context(), metadata.TaskQuery{Cluster: name, DesiredStatus: desired})
	if err != nil {
		return err
	}
	slices.SortFunc(shown, func(a, b metadata.Task) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	p.Total = len(shown)
	p.Of = max(1, (p.Total+tasksPerPage-1)/tasksPerPage)
	p.Page, _ = strconv.Atoi(q.Get("page"))
	p.Page = min(max(p.Page, 1), p.Of)
	link := func(n int) string { return "?" + url.Values{"show": {p.Show}, "page": {strconv.Itoa(n)}}.Encode() }
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Of {
		p.Next = link(p.Page + 1)
	}
	for _, mt := range shown[(p.Page-1)*tasksPerPage : min(p.Page*tasksPerPage, p.Total)] {
		row := taskRow{Cluster: name, ID: mt.ID, CanDescribe: rq.allowed("ecs:DescribeTasks", u.taskARN(name, mt.ID))}
		if row.CanDescribe {
			// The listing read the task's document: decoding it costs
			// no second read of the index.
			t, err := ecs.TaskOf(mt)
			if err != nil {
				return err
			}
			row.Task = t
			row.Family, row.Revision = definitionOf(t.TaskDefinitionArn)
		}
		p.Tasks = append(p.Tasks, row)
	}
	u.render(w, rq, http.StatusOK, "cluster", "Cluster "+name, p)
	return nil
}

// taskNotices are the messages the task pages show after a form sent the
// browser there (?done=...).
var taskNotices = map[string]string{
	"started":  "Tasks started. They go on to RUNNING, or stop with a reason, as this page shows.",
	"stopping": "Stopping the task: its containers get SIGTERM, and SIGKILL after their stop timeout.",
}
