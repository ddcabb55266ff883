package metadata

import (
	"context"
	"errors"
	"time"
)

// Errors returned by the ECS families.
var (
	ErrClusterUnknown        = errors.New("metadata: cluster unknown")
	ErrTaskDefinitionUnknown = errors.New("metadata: task definition unknown")
	ErrTaskUnknown           = errors.New("metadata: task unknown")
)

// Cluster is an ECS cluster. Document is the launcher's JSON of it
// (settings, tags), opaque to the index.
type Cluster struct {
	Name string
	// Status is ACTIVE, or INACTIVE once deleted (ECS keeps describing a
	// deleted cluster for a while).
	Status    string
	CreatedAt time.Time
	Document  []byte
}

// Clusters records ECS clusters by name.
type Clusters interface {
	// PutCluster creates c, or replaces the cluster of that name.
	PutCluster(ctx context.Context, c Cluster) error
	// Cluster returns the cluster name; ErrClusterUnknown if there is none.
	Cluster(ctx context.Context, name string) (Cluster, error)
	// Clusters lists up to n clusters of status ("" for any) whose names
	// come after after, in byte order.
	Clusters(ctx context.Context, status, after string, n int) ([]Cluster, error)
}

// TaskDefinition is one revision of an ECS task definition family.
// Document is the launcher's JSON of it; the index keeps it opaque and
// owns the fields below it, which the launcher reads back over the
// document's.
type TaskDefinition struct {
	Family   string
	Revision int
	// Status is ACTIVE or INACTIVE (deregistered).
	Status         string
	RegisteredAt   time.Time
	DeregisteredAt time.Time // zero while ACTIVE
	Document       []byte
	// Tags are the revision's tags, the one thing about it that changes
	// after it is registered.
	Tags map[string]string
}

// TaskDefinitionQuery selects task definitions, ordered by family and
// then revision.
type TaskDefinitionQuery struct {
	// Family ("" for any) and Status ("" for any) restrict the result.
	Family, Status string
	// Descending orders from the last family and revision to the first.
	Descending bool
	// AfterFamily and AfterRevision are where the previous page ended (in
	// the query's order); AfterFamily "" starts at the beginning.
	AfterFamily   string
	AfterRevision int
	Limit         int
}

// TaskDefinitions records ECS task definitions: families of numbered
// revisions, each ACTIVE until deregistered.
type TaskDefinitions interface {
	// RegisterTaskDefinition stores td (its Family, RegisteredAt,
	// Document and Tags) as its family's next revision, one more than the highest
	// ever registered, ACTIVE, and returns it with its revision.
	RegisterTaskDefinition(ctx context.Context, td TaskDefinition) (TaskDefinition, error)
	// TaskDefinition returns revision of family, or with revision 0 the
	// family's highest ACTIVE revision. ErrTaskDefinitionUnknown if there
	// is none.
	TaskDefinition(ctx context.Context, family string, revision int) (TaskDefinition, error)
	// TaskDefinitions lists what q selects.
	TaskDefinitions(ctx context.Context, q TaskDefinitionQuery) ([]TaskDefinition, error)
	// DeregisterTaskDefinition makes revision of family INACTIVE at time
	// at (a revision already INACTIVE keeps its first time) and returns
	// it. ErrTaskDefinitionUnknown if there is no such revision.
	DeregisterTaskDefinition(ctx context.Context, family string, revision int, at time.Time) (TaskDefinition, error)
	// SetTaskDefinitionTags replaces the tags of revision of family.
	// ErrTaskDefinitionUnknown if there is no such revision.
	SetTaskDefinitionTags(ctx context.Context, family string, revision int, tags map[string]string) error
}

// Task is an ECS task. Document is the launcher's JSON of it (its
// containers, their engine ids and exit codes, reasons, tags); the
// columns beside it are what tasks are looked up by.
type Task struct {
	// ID is the task id, unique across clusters.
	ID       string
	Cluster  string
	Family   string
	Revision int
	// Group and StartedBy are RunTask's (a service's tasks share the group
	// "service:<name>").
	Group     string
	StartedBy string
	// LastStatus is where the task is in its life (PROVISIONING ...
	// STOPPED), DesiredStatus RUNNING or STOPPED.
	LastStatus    string
	DesiredStatus string
	CreatedAt     time.Time
	// StoppedAt is when it reached STOPPED; zero before.
	StoppedAt time.Time
	Document  []byte
}

// TaskQuery selects tasks, ordered by id.
type TaskQuery struct {
	// Cluster, Family, Group, StartedBy, DesiredStatus and LastStatus
	// restrict the result to tasks with those values; "" for any.
	Cluster, Family, Group, StartedBy string
	DesiredStatus, LastStatus         string
	// StoppedSince leaves out tasks that stopped before it; zero keeps
	// them all. Live leaves out every stopped task.
	StoppedSince time.Time
	Live         bool
	// After is the id the previous page ended with.
	After string
	// Limit bounds the page; 0 or less for no bound.
	Limit int
}

// Tasks records ECS tasks, running and stopped, until they are purged.
type Tasks interface {
	// PutTask creates t, or replaces the task of that id.
	PutTask(ctx context.Context, t Task) error
	// Task returns task id; ErrTaskUnknown if there is none.
	Task(ctx context.Context, id string) (Task, error)
	// Tasks lists what q selects.
	Tasks(ctx context.Context, q TaskQuery) ([]Task, error)
	// DeleteStoppedTasks deletes the tasks that stopped before before and
	// returns how many it deleted.
	DeleteStoppedTasks(ctx context.Context, before time.Time) (int, error)
}

// ErrServiceUnknown: no service of that name in that cluster.
var ErrServiceUnknown = errors.New("metadata: service unknown")

// Service is an ECS service. Document is the launcher's JSON of it (its
// configuration, deployments, events and load balancer), opaque to the
// index.
type Service struct {
	Cluster, Name string
	// Status is ACTIVE, DRAINING while it is being deleted, or INACTIVE
	// once deleted (ECS keeps describing a deleted service for a while).
	Status    string
	CreatedAt time.Time
	Document  []byte
}

// ServiceQuery selects services, ordered by cluster and name.
type ServiceQuery struct {
	// Cluster and Status ("" for any) restrict the result.
	Cluster, Status string
	// AfterCluster and AfterName are where the previous page ended.
	AfterCluster, AfterName string
	// Limit bounds the page; 0 or less for no bound.
	Limit int
}

// Services records ECS services by cluster and name.
type Services interface {
	// PutService creates s, or replaces the service of that cluster and name.
	PutService(ctx context.Context, s Service) error
	// Service returns service name of cluster; ErrServiceUnknown if there
	// is none.
	Service(ctx context.Context, cluster, name string) (Service, error)
	// Services lists what q selects.
	Services(ctx context.Context, q ServiceQuery) ([]Service, error)
	// DeleteService forgets service name of cluster; deleting one that
	// does not exist is no error.
	DeleteService(ctx context.Context, cluster, name string) error
}
