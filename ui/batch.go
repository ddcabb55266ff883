package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/launcher/batch"
)

// Pages of AWS Batch: compute environments and job queues, a queue's
// jobs by status, and a job with its attempts, its array's children and
// their logs. Queue names have no slashes and job ids only a colon (an
// array child's), so both are path segments. Each page and the terminate
// form are authorized with the batch: action the Batch API authorizes the
// same call with, on the same ARN; the Batch API describes and lists on
// "*".

const jobsPerPage = 100

// batchPage is the compute environments and the job queues.
type batchPage struct {
	Environments []batch.ComputeEnvironment
	Queues       []batch.JobQueue
	Statuses     []string
	// CanEnvironments and CanQueues show those tables
	// (batch:DescribeComputeEnvironments, batch:DescribeJobQueues).
	CanEnvironments, CanQueues bool
}

// batchOverview lists the compute environments and the job queues, as
// DescribeComputeEnvironments and DescribeJobQueues do, with each
// queue's jobs counted by status.
func (u *UI) batchOverview(w http.ResponseWriter, rq *request) error {
	p := batchPage{Statuses: batch.Statuses(),
		CanEnvironments: rq.allowed("batch:DescribeComputeEnvironments", "*"),
		CanQueues:       rq.allowed("batch:DescribeJobQueues", "*")}
	if !p.CanEnvironments && !p.CanQueues {
		return rq.requireOn("batch:DescribeJobQueues", "*")
	}
	var err error
	if p.CanEnvironments {
		if p.Environments, err = u.cfg.Batch.ComputeEnvironments(rq.Context()); err != nil {
			return err
		}
	}
	if p.CanQueues {
		if p.Queues, err = u.cfg.Batch.JobQueues(rq.Context()); err != nil {
			return err
		}
	}
	u.render(w, rq, http.StatusOK, "batch", "Batch", p)
	return nil
}

// jobList is a page of jobs of one status: a queue's or an array's
// children.
type jobList struct {
	// Status is the status shown; Statuses link to each, with its count.
	Status   string
	Statuses []column
	Jobs     []batch.JobSummary
	// Total is how many jobs have Status; Page of Of is the page shown,
	// Prev and Next the queries of its neighbours.
	Total, Page, Of int
	Prev, Next      string
}

// listJobs fills l with the page of jobs q selects that the query asks
// for (?status=, ?page=), counts giving each status's number.
func (u *UI) listJobs(rq *request, q batch.JobQuery, counts map[string]int) (jobList, error) {
	v := rq.URL.Query()
	l := jobList{Status: v.Get("status")}
	if !slices.Contains(batch.Statuses(), l.Status) {
		l.Status = batch.StatusRunning
	}
	for _, s := range batch.Statuses() {
		l.Statuses = append(l.Statuses, column{Label: s + " " + strconv.Itoa(counts[s]),
			Href: "?" + url.Values{"status": {s}}.Encode(), Current: s == l.Status})
	}
	l.Page, _ = strconv.Atoi(v.Get("page"))
	l.Page = max(l.Page, 1)
	q.Status, q.Offset, q.Limit = l.Status, (l.Page-1)*jobsPerPage, jobsPerPage
	jobs, total, err := u.cfg.Batch.Jobs(rq.Context(), q)
	if err != nil {
		return l, err
	}
	l.Jobs, l.Total = jobs, total
	l.Of = max(1, (total+jobsPerPage-1)/jobsPerPage)
	link := func(n int) string { return "?" + url.Values{"status": {l.Status}, "page": {strconv.Itoa(n)}}.Encode() }
	if l.Page > 1 {
		l.Prev = link(l.Page - 1)
	}
	if l.Page < l.Of {
		l.Next = link(l.Page + 1)
	}
	return l, nil
}

// queuePage is a job queue and its jobs of one status.
type queuePage struct {
	Queue batch.JobQueue
	// CanList: the person may list its jobs (batch:ListJobs).
	CanList bool
	List    jobList
}

// jobQueue shows a queue as DescribeJobQueues does and its jobs of one
// status as ListJobs does, newest first.
func (u *UI) jobQueue(w http.ResponseWriter, rq *request) error {
	if err := rq.requireOn("batch:DescribeJobQueues", "*"); err != nil {
		return err
	}
	name := rq.PathValue("queue")
	queues, err := u.cfg.Batch.JobQueues(rq.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(queues, func(q batch.JobQueue) bool { return q.Name == name })
	if i < 0 {
		return errJobQueueUnknown
	}
	p := queuePage{Queue: queues[i], CanList: rq.allowed("batch:ListJobs", "*")}
	if p.CanList {
		if p.List, err = u.listJobs(rq, batch.JobQuery{Queue: name}, p.Queue.Jobs); err != nil {
			return err
		}
	}
	u.render(w, rq, http.StatusOK, "jobqueue", "Job queue "+name, p)
	return nil
}

var (
	errJobQueueUnknown = &pageError{http.StatusNotFound, "Not found", "There is no such job queue."}
	errJobUnknown      = &pageError{http.StatusNotFound, "Not found", "There is no such job (finished jobs are kept for a day)."}
)

// jobPage is a job: its facts, attempts with their logs, an array's
// children and the terminate form.
type jobPage struct {
	Job   batch.JobDetail
	Queue string
	// Parent is an array child's parent's id.
	Parent string
	// Attempts are its attempts, the running one last.
	Attempts []attemptRow
	// Summary counts an array's children by status; CanList shows them
	// (batch:ListJobs).
	Summary []statusCount
	CanList bool
	List    jobList
	// CanTerminate shows the terminate form (batch:TerminateJob, and not
	// finished yet).
	CanTerminate bool
	Notice       string
	Error        string
}

// statusCount is how many children of an array have a status.
type statusCount struct {
	Status string
	N      int
}

// attemptRow is an attempt and where its output is.
type attemptRow struct {
	batch.AttemptDetail
	// Running: the attempt has not ended.
	Running bool
	// LogGroup holds its stream.
	LogGroup string
	// CanReadLog: the person may read its stream (logs:GetLogEvents).
	CanReadLog bool
}

// maxJobReasonLength bounds the reason the terminate form sends (Batch
// documents none; it shows in every listing of the job).
const maxJobReasonLength = 1024

// job shows a job as DescribeJobs does.
func (u *UI) job(w http.ResponseWriter, rq *request) error {
	return u.renderJob(w, rq, http.StatusOK, "")
}

func (u *UI) renderJob(w http.ResponseWriter, rq *request, status int, msg string) error {
	if err := rq.requireOn("batch:DescribeJobs", "*"); err != nil {
		return err
	}
	id := rq.PathValue("job")
	j, queue, err := u.cfg.Batch.Job(rq.Context(), id)
	if err != nil {
		return err
	}
	p := jobPage{Job: j, Queue: queue, Error: msg, Notice: jobNotices[rq.URL.Query().Get("done")],
		CanTerminate: j.Status != batch.StatusSucceeded && j.Status != batch.StatusFailed &&
			rq.allowed("batch:TerminateJob", u.cfg.Scope.Job(id).String())}
	if a := j.ArrayProperties; a != nil && a.Index != nil {
		p.Parent, _, _ = strings.Cut(id, ":")
	}
	for _, a := range j.Attempts {
		p.Attempts = append(p.Attempts, u.attemptRow(rq, a, false))
	}
	if c := j.Container; c != nil && c.LogStreamName != "" && (j.Status == batch.StatusStarting || j.Status == batch.StatusRunning) {
		running := batch.AttemptDetail{StartedAt: j.StartedAt, Container: batch.AttemptContainerDetail{LogStreamName: c.LogStreamName}}
		p.Attempts = append(p.Attempts, u.attemptRow(rq, running, true))
	}
	if a := j.ArrayProperties; a != nil && a.StatusSummary != nil {
		for _, s := range batch.Statuses() {
			p.Summary = append(p.Summary, statusCount{s, a.StatusSummary[s]})
		}
		if p.CanList = rq.allowed("batch:ListJobs", "*"); p.CanList {
			if p.List, err = u.listJobs(rq, batch.JobQuery{ArrayJob: id}, a.StatusSummary); err != nil {
				return err
			}
		}
	}
	u.render(w, rq, status, "job", "Job "+j.JobName, p)
	return nil
}

func (u *UI) attemptRow(rq *request, a batch.AttemptDetail, running bool) attemptRow {
	row := attemptRow{AttemptDetail: a, Running: running, LogGroup: batch.LogGroup}
	if s := a.Container.LogStreamName; s != "" {
		row.CanReadLog = rq.allowed("logs:GetLogEvents", u.logARN(batch.LogGroup, s))
	}
	return row
}

// jobNotices are the messages the job page shows after a form sent the
// browser there (?done=...).
var jobNotices = map[string]string{
	"terminating": "Terminating the job: a running container gets SIGTERM, and SIGKILL after 30 seconds; the job fails with the reason given.",
}

// terminateJob fails a job as TerminateJob does, whatever its state.
func (u *UI) terminateJob(w http.ResponseWriter, rq *request) error {
	id := rq.PathValue("job")
	if err := rq.requireOn("batch:TerminateJob", u.cfg.Scope.Job(id).String()); err != nil {
		return err
	}
	reason := strings.TrimSpace(rq.PostForm.Get("reason"))
	if len(reason) > maxJobReasonLength {
		return u.renderJob(w, rq, http.StatusBadRequest, "A reason is at most 1024 characters long.")
	}
	if reason == "" {
		reason = "Terminated in berth's web UI"
	}
	if err := u.cfg.Batch.TerminateJob(rq.Context(), id, reason); err != nil {
		return err
	}
	u.log.InfoContext(rq.Context(), "ui: terminated a job", "job", id, "user", rq.principal.User, "reason", reason)
	http.Redirect(w, rq.Request, jobURL(id)+"?done=terminating", http.StatusSeeOther)
	return nil
}

// jobURL and jobQueueURL are the paths of a job's and a queue's pages.
func jobURL(id string) string { return batchHref + "/jobs/" + url.PathEscape(id) }

func jobQueueURL(name string) string { return batchHref + "/queues/" + url.PathEscape(name) }
