package ui

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/metadata"
)

// taskDefinitionsPage lists task definition revisions.
type taskDefinitionsPage struct {
	Rows []metadata.TaskDefinition
	// Family ("" for all) and Status (ACTIVE or INACTIVE) select them.
	Family, Status string
	Statuses       []column
	Next, First    string
}

const taskDefinitionsPerPage = 100

// taskDefinitions lists task definition revisions by family and
// revision, as ListTaskDefinitions does: the ACTIVE ones, or the
// INACTIVE (deregistered) ones, of one family or all.
func (u *UI) taskDefinitions(w http.ResponseWriter, rq *request) error {
	if err := rq.requireOn("ecs:ListTaskDefinitions", "*"); err != nil {
		return err
	}
	q := rq.URL.Query()
	p := taskDefinitionsPage{Family: strings.TrimSpace(q.Get("family")), Status: q.Get("status")}
	if p.Status != "INACTIVE" {
		p.Status = "ACTIVE"
	}
	link := func(status string, after string) string {
		v := url.Values{"status": {status}}
		if p.Family != "" {
			v.Set("family", p.Family)
		}
		if after != "" {
			v.Set("after", after)
		}
		return "?" + v.Encode()
	}
	for _, s := range []string{"ACTIVE", "INACTIVE"} {
		p.Statuses = append(p.Statuses, column{Label: strings.ToLower(s[:1]) + strings.ToLower(s[1:]), Href: link(s, ""), Current: s == p.Status})
	}
	query := metadata.TaskDefinitionQuery{Family: p.Family, Status: p.Status, Limit: taskDefinitionsPerPage + 1}
	if after := q.Get("after"); after != "" {
		family, rev, ok := strings.Cut(after, ":")
		n, err := strconv.Atoi(rev)
		if !ok || err != nil {
			return badRequest("The page link is damaged; start again from the first page.")
		}
		query.AfterFamily, query.AfterRevision = family, n
		p.First = link(p.Status, "")
	}
	rows, err := u.store.TaskDefinitions(rq.Context(), query)
	if err != nil {
		return err
	}
	if len(rows) > taskDefinitionsPerPage {
		rows = rows[:taskDefinitionsPerPage]
		last := rows[len(rows)-1]
		p.Next = link(p.Status, last.Family+":"+strconv.Itoa(last.Revision))
	}
	p.Rows = rows
	u.render(w, rq, http.StatusOK, "taskdefs", "Task definitions", p)
	return nil
}

// taskDefinitionPage is one task definition revision, and the form that
// runs it.
type taskDefinitionPage struct {
	Definition ecs.TaskDefinition
	// JSON is the definition as DescribeTaskDefinition answers with it.
	JSON string
	// CanRun shows the run form (ecs:RunTask on this revision, which is
	// ACTIVE); Clusters are the active clusters to run it in.
	CanRun      bool
	Clusters    []string
	LaunchTypes []string
	Run         runForm
	EngineDown  string
}

// runForm is what the run form was given, shown again with its error.
// Token is RunTask's client token: a form sent twice (a double click, a
// reload) starts its tasks once.
type runForm struct {
	Cluster, LaunchType string
	Count               int
	Token               string
	Error               string
}

// maxRunCount is the most tasks RunTask starts at once.
const maxRunCount = 10

// taskDefinition shows a revision as DescribeTaskDefinition does.
func (u *UI) taskDefinition(w http.ResponseWriter, rq *request) error {
	return u.renderTaskDefinition(w, rq, http.StatusOK, runForm{Cluster: "default", Count: 1})
}

func (u *UI) renderTaskDefinition(w http.ResponseWriter, rq *request, status int, run runForm) error {
	if err := rq.requireOn("ecs:DescribeTaskDefinition", "*"); err != nil {
		return err
	}
	td, err := u.revision(rq)
	if err != nil {
		return err
	}
	pretty, _ := json.MarshalIndent(td, "", "  ")
	run.Token = newRunToken()
	p := taskDefinitionPage{Definition: td, JSON: string(pretty), Run: run,
		CanRun: td.Status == "ACTIVE" && rq.allowed("ecs:RunTask", td.TaskDefinitionArn)}
	if p.CanRun {
		p.EngineDown = u.engineDown(rq)
		if p.Clusters, err = u.clusterNames(rq); err != nil {
			return err
		}
		for _, lt := range []string{"FARGATE", "EC2"} {
			if slices.Contains(td.Compatibilities, lt) {
				p.LaunchTypes = append(p.LaunchTypes, lt)
			}
		}
	}
	u.render(w, rq, status, "taskdef", td.Family+":"+strconv.Itoa(td.Revision), p)
	return nil
}

// newRunToken returns a run form's client token.
func newRunToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// maxClusterChoices bounds the clusters the run form offers.
const maxClusterChoices = 500

// clusterNames are the active clusters' names, for the run form.
func (u *UI) clusterNames(rq *request) ([]string, error) {
	clusters, err := u.store.Clusters(rq.Context(), clusterActive, "", maxClusterChoices)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.Name
	}
	return names, nil
}

// revision reads the revision the path names.
func (u *UI) revision(rq *request) (ecs.TaskDefinition, error) {
	family := rq.PathValue("family")
	revision, err := strconv.Atoi(rq.PathValue("revision"))
	if err != nil || revision < 1 {
		return ecs.TaskDefinition{}, errNotFound
	}
	td, err := u.cfg.TaskDefinitions.TaskDefinition(rq.Context(), family+":"+strconv.Itoa(revision))
	if err != nil {
		// ECS's answer to a revision it does not have.
		return td, &pageError{http.StatusNotFound, "Not found", "There is no such task definition revision."}
	}
	return td, nil
}

// runTasks runs tasks of a revision as RunTask does, with the caller's
// registry credentials pulling the images.
func (u *UI) runTasks(w http.ResponseWriter, rq *request) error {
	family := rq.PathValue("family")
	revision, err := strconv.Atoi(rq.PathValue("revision"))
	if err != nil || revision < 1 {
		return errNotFound
	}
	if err := rq.requireOn("ecs:RunTask", u.taskDefinitionARN(family, revision)); err != nil {
		return err
	}
	f := runForm{Cluster: rq.PostForm.Get("cluster"), LaunchType: rq.PostForm.Get("launch_type")}
	f.Count, err = strconv.Atoi(strings.TrimSpace(rq.PostForm.Get("count")))
	again := func(status int, msg string) error {
		f.Error = msg
		return u.renderTaskDefinition(w, rq, status, f)
	}
	switch {
	case err != nil || f.Count < 1 || f.Count > maxRunCount:
		return again(http.StatusBadRequest, "Run 1 to 10 tasks at once.")
	case f.LaunchType != "" && f.LaunchType != "EC2" && f.LaunchType != "FARGATE":
		return again(http.StatusBadRequest, "The launch type is EC2 or FARGATE.")
	}
	td, err := u.revision(rq)
	if err != nil {
		return err
	}
	if td.Status != "ACTIVE" {
		return again(http.StatusBadRequest, "This revision is deregistered (INACTIVE): run an active one.")
	}
	if _, err := u.activeCluster(rq, f.Cluster); err != nil {
		var pe *pageError
		if errors.As(err, &pe) {
			return again(http.StatusBadRequest, pe.message)
		}
		return err
	}
	if err := u.requireEngine(rq); err != nil {
		return err
	}
	p := rq.principal
	tasks, err := u.cfg.Tasks.RunTasks(rq.Context(), ecs.RunInput{
		Cluster: f.Cluster, Definition: td, Count: f.Count, LaunchType: f.LaunchType,
		Caller:      ecs.Caller{User: p.User, ARN: p.ARN, AccessKeyID: p.AccessKeyID},
		ClientToken: rq.PostForm.Get("token"),
	})
	if ae := (*awserr.Error)(nil); errors.As(err, &ae) && ae.HTTPStatus() < http.StatusInternalServerError {
		return again(ae.HTTPStatus(), ae.Message)
	}
	if err != nil {
		return err
	}
	u.log.InfoContext(rq.Context(), "ui: ran tasks", "task_definition", td.TaskDefinitionArn, "cluster", f.Cluster, "tasks", len(tasks), "user", p.User)
	next := "/ui/clusters/" + url.PathEscape(f.Cluster) + "?done=started"
	if len(tasks) == 1 {
		next = "/ui/clusters/" + url.PathEscape(f.Cluster) + "/tasks/" + url.PathEscape(tasks[0].ID()) + "?done=started"
	}
	http.Redirect(w, rq.Request, next, http.StatusSeeOther)
	return nil
}
