package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/metadata"
)

// taskPage is one task: its states, why it stopped, its containers with
// their exits, health, ports and logs.
type taskPage struct {
	Cluster string
	ID      string
	Task    ecs.Task
	// Family and Revision name its task definition.
	Family   string
	Revision int
	// Containers are its containers with where their output goes.
	Containers []containerRow
	// CanStop shows the stop form (ecs:StopTask, and not stopped yet).
	CanStop    bool
	Changes    string
	EngineDown string
	Notice     string
	Error      string
}

// containerRow is a container of a task, with its awslogs stream.
type containerRow struct {
	ecs.Container
	// LogGroup and LogStream are where its output goes (awslogs); empty
	// when nowhere berth keeps.
	LogGroup, LogStream string
	// CanReadLog: the person may read the stream (logs:GetLogEvents).
	CanReadLog bool
}

// maxReasonLength is the longest stop reason StopTask takes.
const maxReasonLength = 255

// task shows a task as DescribeTasks describes it.
func (u *UI) task(w http.ResponseWriter, rq *request) error {
	return u.renderTask(w, rq, http.StatusOK, "")
}

func (u *UI) renderTask(w http.ResponseWriter, rq *request, status int, msg string) error {
	cluster, id := rq.PathValue("cluster"), rq.PathValue("task")
	taskARN := u.taskARN(cluster, id)
	if err := rq.requireOn("ecs:DescribeTasks", taskARN); err != nil {
		return err
	}
	t, err := u.clusterTask(rq, cluster, id)
	if err != nil {
		return err
	}
	p := taskPage{Cluster: cluster, ID: id, Task: t, Notice: taskNotices[rq.URL.Query().Get("done")], Error: msg,
		CanStop:    t.DesiredStatus != ecs.StatusStopped && rq.allowed("ecs:StopTask", taskARN),
		EngineDown: u.engineDown(rq),
		Changes:    "/ui/clusters/" + url.PathEscape(cluster) + "/changes?" + url.Values{"task": {id}}.Encode(),
	}
	p.Family, p.Revision = definitionOf(t.TaskDefinitionArn)
	// The definition says where each container's output goes; one
	// deregistered and purged since says nothing.
	def, defErr := u.cfg.TaskDefinitions.TaskDefinition(rq.Context(), t.TaskDefinitionArn)
	for _, c := range t.Containers {
		row := containerRow{Container: c}
		if defErr == nil {
			if group, stream, ok := ecs.LogStream(def, t, c.Name); ok {
				row.LogGroup, row.LogStream = group, stream
				row.CanReadLog = rq.allowed("logs:GetLogEvents", u.logARN(group, stream))
			}
		}
		p.Containers = append(p.Containers, row)
	}
	u.render(w, rq, status, "task", "Task "+id, p)
	return nil
}

// clusterTask reads task id of cluster; metadata.ErrTaskUnknown when
// there is none (or it is another cluster's).
func (u *UI) clusterTask(rq *request, cluster, id string) (ecs.Task, error) {
	t, err := u.cfg.Tasks.Task(rq.Context(), id)
	if err == nil && t.ClusterArn != u.clusterARN(cluster) {
		err = metadata.ErrTaskUnknown
	}
	return t, err
}

// stopTask stops a task as StopTask does: its containers get SIGTERM,
// then SIGKILL after their stop timeout, and it stops with the code
// UserInitiated and the reason given.
func (u *UI) stopTask(w http.ResponseWriter, rq *request) error {
	cluster, id := rq.PathValue("cluster"), rq.PathValue("task")
	if err := rq.requireOn("ecs:StopTask", u.taskARN(cluster, id)); err != nil {
		return err
	}
	reason := strings.TrimSpace(rq.PostForm.Get("reason"))
	if len(reason) > maxReasonLength {
		return u.renderTask(w, rq, http.StatusBadRequest, "A reason is at most 255 characters long.")
	}
	if reason == "" {
		reason = "Task stopped by user"
	}
	if _, err := u.activeCluster(rq, cluster); err != nil {
		return err
	}
	if _, err := u.clusterTask(rq, cluster, id); err != nil {
		return err
	}
	if err := u.requireEngine(rq); err != nil {
		return err
	}
	t, err := u.cfg.Tasks.StopTask(rq.Context(), cluster, id, ecs.StopUserInitiated, reason)
	if err != nil {
		return err
	}
	u.log.InfoContext(rq.Context(), "ui: stopped a task", "task", t.TaskArn, "user", rq.principal.User, "reason", reason)
	http.Redirect(w, rq.Request, "/ui/clusters/"+url.PathEscape(cluster)+"/tasks/"+url.PathEscape(id)+"?done=stopping", http.StatusSeeOther)
	return nil
}

// activeCluster reads cluster name, which must be active, as every ECS
// call that names a cluster requires.
func (u *UI) activeCluster(rq *request, name string) (metadata.Cluster, error) {
	c, err := u.store.Cluster(rq.Context(), name)
	if err == nil && c.Status != clusterActive {
		err = metadata.ErrClusterUnknown
	}
	if errors.Is(err, metadata.ErrClusterUnknown) {
		return c, &pageError{http.StatusNotFound, "Not found", "There is no active cluster named " + name + "."}
	}
	return c, err
}
