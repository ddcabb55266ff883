package ecs

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/arn"
)

// arns builds and reads the ARNs of ECS resources in one account and
// region (with package arn): clusters, task definitions, tasks and their
// containers.
type arns struct{ scope arn.Scope }

func newARNs(account, region string) arns {
	return arns{arn.Scope{Region: region, AccountID: account}}
}

func (a arns) cluster(name string) string { return a.scope.Cluster(name).String() }

func (a arns) taskDefinition(family string, revision int) string {
	return a.scope.TaskDefinition(family, revision).String()
}

func (a arns) task(cluster, id string) string { return a.scope.Task(cluster, id).String() }

func (a arns) service(cluster, name string) string { return a.scope.ECSService(cluster, name).String() }

// container is a task's container: container/<cluster>/<task>/<id>,
// which package arn does not build, since nothing is authorized on it.
func (a arns) container(cluster, task, id string) string {
	c := a.scope.Cluster(cluster)
	c.Resource = "container/" + cluster + "/" + task + "/" + id
	return c.String()
}

// resource splits an ECS ARN of this account and region into its
// resource type and the rest ("cluster", "default"); ok is false for
// anything else.
func (a arns) resource(s string) (kind, rest string, ok bool) {
	parsed, err := arn.Parse(s)
	if err != nil || parsed.Service != arn.ECS || parsed.Region != a.scope.Region || parsed.AccountID != a.scope.AccountID ||
		!strings.ContainsRune(parsed.Resource, '/') {
		return "", "", false
	}
	return parsed.Type(), parsed.ID(), true
}

// clusterName reads a cluster given by name or ARN, as every ECS call
// takes it; "" is the default cluster.
func (a arns) clusterName(s string) (string, bool) {
	if s == "" {
		return defaultCluster, true
	}
	if !strings.HasPrefix(s, "arn:") {
		return s, clusterNamePattern.MatchString(s)
	}
	kind, name, ok := a.resource(s)
	return name, ok && kind == "cluster" && clusterNamePattern.MatchString(name)
}

// taskDefinitionRef reads a task definition given as family, family:revision
// or ARN; revision is 0 when not given (the latest ACTIVE one).
func (a arns) taskDefinitionRef(s string) (family string, revision int, ok bool) {
	if strings.HasPrefix(s, "arn:") {
		kind, rest, ok := a.resource(s)
		if !ok || kind != "task-definition" {
			return "", 0, false
		}
		s = rest
	}
	family, rev, hasRev := strings.Cut(s, ":")
	if !familyPattern.MatchString(family) {
		return "", 0, false
	}
	if !hasRev {
		return family, 0, true
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return family, n, true
}

// taskRef reads a task given by id or ARN (of either format: with or
// without the cluster name).
func (a arns) taskRef(s string) (cluster, id string, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return "", s, taskIDPattern.MatchString(s)
	}
	cluster, id, ok = a.inCluster(s, "task")
	return cluster, id, ok && taskIDPattern.MatchString(id)
}

// serviceRef reads a service given by name or ARN (of either format:
// service/<cluster>/<name> or the old service/<name>).
func (a arns) serviceRef(s string) (cluster, name string, ok bool) {
	if !strings.HasPrefix(s, "arn:") {
		return "", s, clusterNamePattern.MatchString(s)
	}
	cluster, name, ok = a.inCluster(s, "service")
	return cluster, name, ok && clusterNamePattern.MatchString(name)
}

// inCluster reads an ARN of a resource of kind in a cluster, whose id is
// <cluster>/<id>, or <id> in the old format (cluster "").
func (a arns) inCluster(s, kind string) (cluster, id string, ok bool) {
	k, rest, ok := a.resource(s)
	if !ok || k != kind {
		return "", "", false
	}
	cluster, id, found := strings.Cut(rest, "/")
	if !found {
		return "", rest, true
	}
	return cluster, id, clusterNamePattern.MatchString(cluster)
}

var (
	// clusterNamePattern: up to 255 letters, numbers, underscores and hyphens.
	clusterNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// familyPattern: the same, for task definition families.
	familyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// taskIDPattern: the 32 hex digits berth gives tasks (ECS's own are the same).
	taskIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
)
