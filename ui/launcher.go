package ui

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awserr"
)

// launcherRoutes maps the launcher's pages. Cluster names and task ids
// have no slashes, so they are path segments; log group and stream names
// do, and may hold any path component, so they are query parameters.
// ECS services, once they land, are pages under their cluster.
func (u *UI) launcherRoutes(mux *http.ServeMux) {
	mux.Handle("GET /ui/clusters", u.page(u.needsLauncher(u.clusters)))
	mux.Handle("GET /ui/clusters/{cluster}", u.page(u.needsLauncher(u.cluster)))
	mux.Handle("GET /ui/clusters/{cluster}/changes", u.page(u.needsLauncher(u.taskChanges)))
	mux.Handle("GET /ui/clusters/{cluster}/tasks/{task}", u.page(u.needsLauncher(u.task)))
	mux.Handle("POST /ui/clusters/{cluster}/tasks/{task}/stop", u.page(u.needsLauncher(u.stopTask)))
	if u.cfg.Services != nil {
		mux.Handle("GET /ui/clusters/{cluster}/services/{service}", u.page(u.needsLauncher(u.service)))
		mux.Handle("POST /ui/clusters/{cluster}/services/{service}/scale", u.page(u.needsLauncher(u.scaleService)))
		mux.Handle("POST /ui/clusters/{cluster}/services/{service}/delete", u.page(u.needsLauncher(u.deleteService)))
	}
	mux.Handle("GET /ui/task-definitions", u.page(u.needsLauncher(u.taskDefinitions)))
	mux.Handle("GET /ui/task-definitions/{family}/{revision}", u.page(u.needsLauncher(u.taskDefinition)))
	mux.Handle("POST /ui/task-definitions/{family}/{revision}/run", u.page(u.needsLauncher(u.runTasks)))
	mux.Handle("GET /ui/logs", u.page(u.logGroups))
	mux.Handle("GET /ui/logs/group", u.page(u.logGroup))
	mux.Handle("GET /ui/logs/stream", u.page(u.logStream))
	mux.Handle("GET /ui/logs/follow", u.page(u.followLog))
	if u.cfg.Functions != nil {
		mux.Handle("GET /ui/functions", u.page(u.functions))
		mux.Handle("GET /ui/functions/{function}", u.page(u.function))
		mux.Handle("POST /ui/functions/{function}/invoke", u.page(u.invokeFunction))
		mux.Handle("POST /ui/functions/{function}/configuration", u.page(u.configureFunction))
	}
	if u.cfg.Batch != nil {
		mux.Handle("GET "+batchHref, u.page(u.batchOverview))
		mux.Handle("GET "+batchHref+"/queues/{queue}", u.page(u.jobQueue))
		mux.Handle("GET "+batchHref+"/jobs/{job}", u.page(u.job))
		mux.Handle("POST "+batchHref+"/jobs/{job}/terminate", u.page(u.terminateJob))
	}
}

// errLauncherOff answers the ECS pages of a berth whose launcher is off.
var errLauncherOff = &pageError{http.StatusServiceUnavailable, "The launcher is off",
	"This berth runs no ECS tasks: its launcher is turned off (launcher.enabled: false, or BERTH_LAUNCHER_ENABLED=false). Turn it on and restart berth to run tasks here."}

// needsLauncher wraps a page of the ECS launcher: while the launcher is off, the
// page says so.
func (u *UI) needsLauncher(h func(http.ResponseWriter, *request) error) func(http.ResponseWriter, *request) error {
	return func(w http.ResponseWriter, rq *request) error {
		if u.cfg.Tasks == nil {
			return errLauncherOff
		}
		return h(w, rq)
	}
}

// engineTimeout bounds how long a page waits to learn whether the
// container engine answers.
const engineTimeout = 2 * time.Second

// engineDown is what the ECS pages say while the container engine does
// not answer (tasks can then neither start nor stop); "" while it does.
func (u *UI) engineDown(rq *request) string {
	ctx, cancel := context.WithTimeout(rq.Context(), engineTimeout)
	defer cancel()
	err := u.cfg.Tasks.Available(ctx)
	if err == nil {
		return ""
	}
	if ae := (*awserr.Error)(nil); errors.As(err, &ae) {
		return ae.Message + " Tasks can neither start nor stop until it answers."
	}
	return "The container engine does not answer, so tasks can neither start nor stop until it does."
}

// requireEngine refuses an action that needs the container engine while
// it does not answer.
func (u *UI) requireEngine(rq *request) error {
	if msg := u.engineDown(rq); msg != "" {
		return &pageError{http.StatusServiceUnavailable, "The container engine does not answer", msg}
	}
	return nil
}

// clusterARN, taskARN and taskDefinitionARN are the ARNs the ECS API
// authorizes its actions on; logARN the one the CloudWatch Logs API
// authorizes on (the stream's, with an empty stream for a group and an
// empty group too for every group).
func (u *UI) clusterARN(name string) string { return u.cfg.Scope.Cluster(name).String() }

func (u *UI) taskARN(cluster, id string) string { return u.cfg.Scope.Task(cluster, id).String() }

func (u *UI) serviceARN(cluster, name string) string {
	return u.cfg.Scope.ECSService(cluster, name).String()
}

func (u *UI) taskDefinitionARN(family string, revision int) string {
	return u.cfg.Scope.TaskDefinition(family, revision).String()
}

func (u *UI) logARN(group, stream string) string {
	return u.cfg.Scope.LogStream(group, stream).String()
}

// definitionOf reads the family and revision of a task definition ARN.
func definitionOf(taskDefinitionARN string) (family string, revision int) {
	a, err := arn.Parse(taskDefinitionARN)
	if err != nil {
		return "", 0
	}
	family, revision, _ = a.Revision()
	return family, revision
}
