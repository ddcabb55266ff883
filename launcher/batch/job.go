package batch

import (
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/launcher"
)

// job is a job as the scheduler holds it: its AWS shape and what berth
// needs beside it, stored together as the job's document in the index.
type job struct {
	JobDetail
	State jobState `json:"berth"`

	// For an array parent, in memory only (rebuilt on load): the children
	// made so far, by index, the lowest index not made yet (a child
	// cancelled before its turn is made out of order, failed), and how
	// many of them have finished (and failed); live are those made that
	// have not finished, so that the summary, shown on every DescribeJobs
	// of the parent, need not walk all 10,000.
	children       map[int]*job
	live           map[int]*job
	next           int
	childrenDone   int
	childrenFailed int
	// parent is an array child's parent.
	parent *job
	// createdNs orders jobs FIFO.
	createdNs int64
	// holds says the running attempt counts against its compute
	// environment's vCPUs (from STARTING until its container stops).
	holds bool
}

// jobState is what berth keeps of a job beyond its AWS shape.
type jobState struct {
	Queue     string          `json:"queue"`
	DefName   string          `json:"definition"`
	MilliCPU  int64           `json:"milliCpu"`
	MemoryMiB int64           `json:"memoryMiB"`
	Caller    launcher.Caller `json:"caller"`
	// Parent and Index place an array child.
	Parent string `json:"parent,omitempty"`
	Index  int    `json:"index,omitempty"`
	// Released says an array parent's dependencies are met, so its
	// children may be made.
	Released bool `json:"released,omitempty"`
	// Closed is why the children an array parent has not made yet fail
	// (it was cancelled, or a SEQUENTIAL child failed).
	Closed string `json:"closed,omitempty"`
	// Sequential says the children of an array run one after another;
	// NToN is the array job whose child of the same index each child
	// waits for.
	Sequential bool   `json:"sequential,omitempty"`
	NToN       string `json:"nToN,omitempty"`
	// The running attempt: its compute environment, ECS task id (the log
	// stream's last part), container and when it started.
	CE             string    `json:"ce,omitempty"`
	TaskID         string    `json:"taskId,omitempty"`
	ContainerID    string    `json:"containerId,omitempty"`
	AttemptStarted time.Time `json:"attemptStarted,omitzero"`
	// Terminating is the reason TerminateJob gave for a running attempt.
	Terminating string `json:"terminating,omitempty"`
	// TimedOut says the running attempt was stopped for its timeout.
	TimedOut bool `json:"timedOut,omitempty"`
	// Finished is when the job reached SUCCEEDED or FAILED.
	Finished time.Time `json:"finished,omitzero"`
}

// isArray reports whether j is an array parent.
func (j *job) isArray() bool {
	return j.ArrayProperties != nil && j.ArrayProperties.Size > 0 && j.State.Parent == ""
}

// size is an array parent's number of children.
func (j *job) size() int { return j.ArrayProperties.Size }

// made is how many children an array parent has made: indexes 0 to
// next-1, and those cancelled before their turn.
func (j *job) made() int { return len(j.children) }

// advance moves next past the children made.
func (j *job) advance() {
	for j.children[j.next] != nil {
		j.next++
	}
}

// maxAttempts is how many attempts the job may make.
func (j *job) maxAttempts() int {
	if j.RetryStrategy != nil && j.RetryStrategy.Attempts > 0 {
		return j.RetryStrategy.Attempts
	}
	return 1
}

// unmadeStatus is the status of an array child not made yet.
func (p *job) unmadeStatus() string {
	switch {
	case p.State.Closed != "":
		return StatusFailed
	case !p.State.Released || p.State.Sequential || p.State.NToN != "":
		return StatusPending
	}
	return StatusRunnable
}

// summary counts an array parent's children by status.
func (p *job) summary() map[string]int {
	s := map[string]int{}
	for _, st := range statuses {
		s[st] = 0
	}
	s[StatusSucceeded] = p.childrenDone - p.childrenFailed
	s[StatusFailed] = p.childrenFailed
	for _, c := range p.live {
		s[c.Status]++
	}
	s[p.unmadeStatus()] += p.size() - p.made()
	return s
}

// childID is the id of child i of array parent id.
func childID(parent string, i int) string { return parent + ":" + strconv.Itoa(i) }

// splitChild splits an array child's id into its parent's id and index.
func splitChild(id string) (parent string, index int, ok bool) {
	p, i, found := strings.Cut(id, ":")
	if !found {
		return "", 0, false
	}
	n, err := strconv.Atoi(i)
	if err != nil || n < 0 || strconv.Itoa(n) != i {
		return "", 0, false
	}
	return p, n, true
}

// detail is j as DescribeJobs shows it.
func (j *job) detail() JobDetail {
	d := j.JobDetail
	if d.Attempts == nil {
		d.Attempts = []AttemptDetail{}
	}
	if d.DependsOn == nil {
		d.DependsOn = []JobDependency{}
	}
	if j.isArray() {
		d.ArrayProperties = &ArrayPropertiesDetail{Size: j.size(), StatusSummary: j.summary()}
	}
	if d.Container != nil {
		c := *d.Container
		d.Container = &c
	}
	return d
}

// summaryOf is j as ListJobs shows it.
func (j *job) summaryOf() JobSummary {
	s := JobSummary{JobArn: j.JobArn, JobID: j.JobID, JobName: j.JobName, CreatedAt: j.CreatedAt, Status: j.Status,
		StatusReason: j.StatusReason, StartedAt: j.StartedAt, StoppedAt: j.StoppedAt, JobDefinition: j.JobDefinition}
	if c := j.Container; c != nil && (c.ExitCode != nil || c.Reason != "") {
		s.Container = &ContainerSummary{ExitCode: c.ExitCode, Reason: c.Reason}
	}
	if j.isArray() {
		s.ArrayProperties = &ArrayPropertiesSummary{Size: j.size()}
	} else if j.State.Parent != "" {
		i := j.State.Index
		s.ArrayProperties = &ArrayPropertiesSummary{Index: &i}
	}
	return s
}

// unmade is child i of array parent p before it is made: the parent's
// shape with the child's id, index and status.
func (p *job) unmade(i int) *job {
	c := &job{JobDetail: p.JobDetail, State: p.State, parent: p, createdNs: p.createdNs}
	c.JobID = childID(p.JobID, i)
	c.JobArn = strings.TrimSuffix(p.JobArn, p.JobID) + c.JobID
	idx := i
	c.ArrayProperties = &ArrayPropertiesDetail{Index: &idx}
	c.Status = p.unmadeStatus()
	c.StatusReason = ""
	if c.Status == StatusFailed {
		c.StatusReason = p.State.Closed
	}
	c.Attempts = nil
	c.StartedAt, c.StoppedAt = 0, 0
	c.DependsOn = nil
	if p.State.Sequential && i > 0 {
		c.DependsOn = []JobDependency{{JobID: childID(p.JobID, i-1), Type: "SEQUENTIAL"}}
	} else if p.State.NToN != "" {
		c.DependsOn = []JobDependency{{JobID: childID(p.State.NToN, i), Type: "N_TO_N"}}
	}
	c.State.Parent, c.State.Index = p.JobID, i
	c.State.Released, c.State.Closed, c.State.Sequential, c.State.NToN = false, "", false, ""
	c.Tags = nil
	if c.Container != nil {
		cc := *c.Container
		cc.Environment = append([]KeyValuePair(nil), cc.Environment...)
		c.Container = &cc
	}
	return c
}
