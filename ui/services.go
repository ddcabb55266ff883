package ui

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/launcher/ecs"
)

// servicesPerCluster is how many services a cluster page lists.
const servicesPerCluster = 100

// serviceRow is a service in its cluster's list.
type serviceRow struct {
	ecs.Service
	// CanDescribe: the person may describe it (ecs:DescribeServices), so
	// more than its name shows.
	CanDescribe bool
	// Rollout is the PRIMARY deployment's rollout state.
	Rollout string
}

// clusterServices lists a cluster's services as ListServices and
// DescribeServices do; nil when the person may not list them.
func (u *UI) clusterServices(rq *request, cluster string) (rows []serviceRow, canList bool, err error) {
	if u.cfg.Services == nil || !rq.allowed("ecs:ListServices", u.clusterARN(cluster)) {
		return nil, false, nil
	}
	services, err := u.cfg.Services.Services(rq.Context(), cluster, "", servicesPerCluster)
	if err != nil {
		return nil, true, err
	}
	for _, s := range services {
		row := serviceRow{Service: ecs.Service{ServiceName: s.ServiceName}}
		if row.CanDescribe = rq.allowed("ecs:DescribeServices", u.serviceARN(cluster, s.ServiceName)); row.CanDescribe {
			row.Service = s
			if len(s.Deployments) > 0 {
				row.Rollout = s.Deployments[0].RolloutState
			}
		}
		rows = append(rows, row)
	}
	return rows, true, nil
}

// servicePage is one service: its counts, deployments, events, listener
// and tasks.
type servicePage struct {
	Cluster string
	Service ecs.Service
	// Listeners are the addresses of its load balancer listeners, as
	// URLs.
	Listeners []string
	// Deployments name their task definitions by family and revision.
	Deployments []deploymentRow
	// Tasks are its tasks, newest first, stopped ones while kept.
	Tasks []taskRow
	// CanScale and CanDelete show the forms (ecs:UpdateService,
	// ecs:DeleteService, and the service not deleted).
	CanScale, CanDelete bool
	Changes             string
	EngineDown          string
	Notice, Error       string
}

// deploymentRow is a deployment with its task definition's family and
// revision.
type deploymentRow struct {
	ecs.Deployment
	Family   string
	Revision int
}

// maxServiceEventsShown is how many of a service's events its page shows.
const maxServiceEventsShown = 20

// service shows a service as DescribeServices describes it, with its
// tasks.
func (u *UI) service(w http.ResponseWriter, rq *request) error {
	return u.renderService(w, rq, http.StatusOK, "")
}

func (u *UI) renderService(w http.ResponseWriter, rq *request, status int, msg string) error {
	cluster, name := rq.PathValue("cluster"), rq.PathValue("service")
	serviceARN := u.serviceARN(cluster, name)
	if err := rq.requireOn("ecs:DescribeServices", serviceARN); err != nil {
		return err
	}
	if _, err := u.activeCluster(rq, cluster); err != nil {
		return err
	}
	s, err := u.cfg.Services.Service(rq.Context(), cluster, name)
	if err != nil {
		return err
	}
	active := s.Status == "ACTIVE"
	p := servicePage{Cluster: cluster, Service: s, Notice: serviceNotices[rq.URL.Query().Get("done")], Error: msg,
		CanScale:   active && rq.allowed("ecs:UpdateService", serviceARN),
		CanDelete:  active && rq.allowed("ecs:DeleteService", serviceARN),
		EngineDown: u.engineDown(rq),
		Changes:    "/ui/clusters/" + url.PathEscape(cluster) + "/changes",
	}
	if len(p.Service.Events) > maxServiceEventsShown {
		p.Service.Events = p.Service.Events[:maxServiceEventsShown]
	}
	for _, lb := range s.LoadBalancers {
		if lb.LoadBalancerName != "" {
			p.Listeners = append(p.Listeners, "http://"+lb.LoadBalancerName+"/")
		}
	}
	for _, d := range s.Deployments {
		row := deploymentRow{Deployment: d}
		row.Family, row.Revision = definitionOf(d.TaskDefinition)
		p.Deployments = append(p.Deployments, row)
	}
	if rq.allowed("ecs:ListTasks", u.clusterARN(cluster)) {
		tasks, err := u.cfg.Tasks.Tasks(rq.Context(), ecs.TaskFilter{Cluster: cluster, Group: "service:" + name})
		if err != nil {
			return err
		}
		slices.SortFunc(tasks, func(a, b ecs.Task) int {
			return cmp.Or(b.CreatedAt.Compare(a.CreatedAt.Time), strings.Compare(a.TaskArn, b.TaskArn))
		})
		for _, t := range tasks[:min(len(tasks), tasksPerPage)] {
			row := taskRow{Cluster: cluster, ID: t.ID(), CanDescribe: rq.allowed("ecs:DescribeTasks", u.taskARN(cluster, t.ID()))}
			if row.CanDescribe {
				row.Task = t
				row.Family, row.Revision = definitionOf(t.TaskDefinitionArn)
			}
			p.Tasks = append(p.Tasks, row)
		}
	}
	u.render(w, rq, status, "service", "Service "+name, p)
	return nil
}

// serviceNotices are the messages a service page shows after a form
// sent the browser there (?done=...).
var serviceNotices = map[string]string{
	"scaled":   "Desired count changed: the scheduler starts or stops tasks to match, as this page shows.",
	"deleting": "Deleting the service: it drains (its tasks stop), then turns INACTIVE.",
}

// scaleService sets a service's desired count as UpdateService does.
func (u *UI) scaleService(w http.ResponseWriter, rq *request) error {
	cluster, name := rq.PathValue("cluster"), rq.PathValue("service")
	if err := rq.requireOn("ecs:UpdateService", u.serviceARN(cluster, name)); err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(rq.PostForm.Get("desired")))
	if err != nil || n < 0 {
		return u.renderService(w, rq, http.StatusBadRequest, "The desired count is a whole number, 0 or more.")
	}
	if _, err := u.activeCluster(rq, cluster); err != nil {
		return err
	}
	p := rq.principal
	s, err := u.cfg.Services.ScaleService(rq.Context(), ecs.Caller{User: p.User, ARN: p.ARN, AccessKeyID: p.AccessKeyID}, cluster, name, n)
	if ae := (*awserr.Error)(nil); errors.As(err, &ae) && ae.HTTPStatus() < http.StatusInternalServerError {
		return u.renderService(w, rq, ae.HTTPStatus(), ae.Message)
	}
	if err != nil {
		return err
	}
	u.log.InfoContext(rq.Context(), "ui: scaled a service", "service", s.ServiceArn, "user", p.User, "desired", n)
	http.Redirect(w, rq.Request, "/ui/clusters/"+url.PathEscape(cluster)+"/services/"+url.PathEscape(name)+"?done=scaled", http.StatusSeeOther)
	return nil
}

// deleteService deletes a service as DeleteService does, with force
// when the form says so (a service scaled above 0 needs it).
func (u *UI) deleteService(w http.ResponseWriter, rq *request) error {
	cluster, name := rq.PathValue("cluster"), rq.PathValue("service")
	if err := rq.requireOn("ecs:DeleteService", u.serviceARN(cluster, name)); err != nil {
		return err
	}
	if rq.PostForm.Get("confirm") != name {
		return u.renderService(w, rq, http.StatusBadRequest, "Type the service's name to delete it.")
	}
	if _, err := u.activeCluster(rq, cluster); err != nil {
		return err
	}
	s, err := u.cfg.Services.DeleteService(rq.Context(), cluster, name, rq.PostForm.Get("force") == "on")
	if ae := (*awserr.Error)(nil); errors.As(err, &ae) && ae.HTTPStatus() < http.StatusInternalServerError {
		return u.renderService(w, rq, ae.HTTPStatus(), ae.Message)
	}
	if err != nil {
		return err
	}
	u.log.InfoContext(rq.Context(), "ui: deleted a service", "service", s.ServiceArn, "user", rq.principal.User)
	http.Redirect(w, rq.Request, "/ui/clusters/"+url.PathEscape(cluster)+"/services/"+url.PathEscape(name)+"?done=deleting", http.StatusSeeOther)
	return nil
}
