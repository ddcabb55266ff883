package ecs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/launcher/lb"
)

// wantError calls op and fails the test unless it answers 400 with ECS's
// error typ.
func wantError(t *testing.T, srv *httptest.Server, op, body, typ string) map[string]any {
	t.Helper()
	status, out := call(t, srv, op, body)
	if status != 400 || !strings.HasSuffix(fmt.Sprint(out["__type"]), typ) {
		t.Errorf("%s %s = %d %v; want 400 %s", op, body, status, out, typ)
	}
	return out
}

// TestServiceErrors: bad input to the service calls gets ECS's errors,
// and a service with tasks is deleted only with force.
func TestServiceErrors(t *testing.T) {
	t.Parallel()
	srv := apiServer(t)
	td := `{"family":"web","containerDefinitions":[{"name":"app","image":"localhost:5000/app:1","memory":64,"portMappings":[{"containerPort":8080}]}]}`
	ok(t, srv, "RegisterTaskDefinition", td)

	wantError(t, srv, "CreateService", `{"cluster":"nope","serviceName":"web","taskDefinition":"web","desiredCount":1}`, "ClusterNotFoundException")
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","desiredCount":-1}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","desiredCount":1000000}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"missing","desiredCount":1}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":"bad name!","taskDefinition":"web"}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","desiredCount":1,"loadBalancers":[{"containerName":"app","containerPort":9999}]}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","desiredCount":1,"loadBalancers":[{"containerName":"db","containerPort":8080}]}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","deploymentConfiguration":{"minimumHealthyPercent":100,"maximumPercent":100}}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","schedulingStrategy":"DAEMON"}`, "InvalidParameterException")
	wantError(t, srv, "CreateService", `{"serviceName":`, "SerializationException")

	out := ok(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","desiredCount":2}`)
	arn := "arn:aws:ecs:us-east-1:000000000000:service/default/web"
	if path(out, "service", "serviceArn") != arn || path(out, "service", "status") != "ACTIVE" ||
		path(out, "service", "deployments", 0, "status") != "PRIMARY" || path(out, "service", "deployments", 0, "rolloutState") != "IN_PROGRESS" ||
		path(out, "service", "taskDefinition") != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1" {
		t.Fatalf("CreateService = %v", out)
	}
	wantError(t, srv, "CreateService", `{"serviceName":"web","taskDefinition":"web","desiredCount":1}`, "InvalidParameterException")

	wantError(t, srv, "UpdateService", `{"service":"nope","desiredCount":1}`, "ServiceNotFoundException")
	wantError(t, srv, "UpdateService", `{"cluster":"nope","service":"web","desiredCount":1}`, "ClusterNotFoundException")
	wantError(t, srv, "UpdateService", `{"service":"web","desiredCount":-5}`, "InvalidParameterException")
	wantError(t, srv, "UpdateService", `{"service":"web","taskDefinition":"missing"}`, "InvalidParameterException")
	wantError(t, srv, "DeleteService", `{"service":"nope"}`, "ServiceNotFoundException")
	out = wantError(t, srv, "DeleteService", `{"service":"web"}`, "InvalidParameterException")
	if msg := fmt.Sprint(out["message"]); msg != "The service cannot be stopped while it is scaled above 0." {
		t.Errorf("DeleteService of a service scaled above 0: %q", msg)
	}
	wantError(t, srv, "DescribeServices", `{"services":[]}`, "InvalidParameterException")
	wantError(t, srv, "ListServices", `{"maxResults":1000}`, "InvalidParameterException")

	// A second revision rolls: a new PRIMARY, the first one ACTIVE.
	ok(t, srv, "RegisterTaskDefinition", td)
	out = ok(t, srv, "UpdateService", `{"service":"`+arn+`","taskDefinition":"web:2","desiredCount":3}`)
	if path(out, "service", "deployments", 0, "status") != "PRIMARY" || path(out, "service", "deployments", 0, "desiredCount") != 3.0 ||
		path(out, "service", "deployments", 1, "status") != "ACTIVE" || path(out, "service", "desiredCount") != 3.0 {
		t.Fatalf("UpdateService = %v", out)
	}
	out = ok(t, srv, "DescribeServices", `{"services":["web","nope"]}`)
	if path(out, "services", 0, "serviceName") != "web" || path(out, "failures", 0, "reason") != "MISSING" ||
		path(out, "failures", 0, "arn") != "arn:aws:ecs:us-east-1:000000000000:service/default/nope" {
		t.Fatalf("DescribeServices = %v", out)
	}
	ok(t, srv, "CreateService", `{"serviceName":"api","taskDefinition":"web"}`)
	out = ok(t, srv, "ListServices", `{"maxResults":1}`)
	if path(out, "serviceArns", 0) != "arn:aws:ecs:us-east-1:000000000000:service/default/api" || path(out, "nextToken") == nil {
		t.Fatalf("ListServices page 1 = %v", out)
	}
	out = ok(t, srv, "ListServices", fmt.Sprintf(`{"maxResults":1,"nextToken":%q}`, path(out, "nextToken")))
	if path(out, "serviceArns", 0) != arn || path(out, "nextToken") != nil {
		t.Fatalf("ListServices page 2 = %v", out)
	}

	out = ok(t, srv, "DeleteService", `{"service":"web","force":true}`)
	if path(out, "service", "status") != "DRAINING" || path(out, "service", "desiredCount") != 0.0 {
		t.Fatalf("DeleteService with force = %v", out)
	}
	wantError(t, srv, "UpdateService", `{"service":"web","desiredCount":1}`, "ServiceNotActiveException")
	if out := ok(t, srv, "DeleteService", `{"service":"api"}`); path(out, "service", "status") != "DRAINING" {
		t.Errorf("DeleteService of a service scaled to 0 = %v", out)
	}

	// A cluster with an active service counts it, and is not deleted.
	ok(t, srv, "CreateCluster", `{"clusterName":"dev"}`)
	ok(t, srv, "CreateService", `{"cluster":"dev","serviceName":"web","taskDefinition":"web","tags":[{"key":"team","value":"a"}]}`)
	if out := ok(t, srv, "DescribeClusters", `{"clusters":["dev"]}`); path(out, "clusters", 0, "activeServicesCount") != 1.0 {
		t.Errorf("DescribeClusters = %v", out)
	}
	wantError(t, srv, "DeleteCluster", `{"cluster":"dev"}`, "ClusterContainsServicesException")
	devARN := "arn:aws:ecs:us-east-1:000000000000:service/dev/web"
	ok(t, srv, "TagResource", `{"resourceArn":"`+devARN+`","tags":[{"key":"env","value":"dev"}]}`)
	if out := ok(t, srv, "ListTagsForResource", `{"resourceArn":"`+devARN+`"}`); fmt.Sprint(out["tags"]) != "[map[key:team value:a] map[key:env value:dev]]" {
		t.Errorf("service tags = %v", out["tags"])
	}
	wantError(t, srv, "ListTagsForResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:service/dev/nope"}`, "ResourceNotFoundException")
}

// do sends one ECS operation to e's API as the front door would.
func (e *env) do(op string, in any) (int, map[string]any) {
	e.t.Helper()
	body, _ := json.Marshal(in)
	mux := http.NewServeMux()
	e.api.Register(awsjson.NewFront(mux, nil, quietLog()))
	req := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
	req.Header.Set("X-Amz-Target", ecs.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		e.t.Fatalf("%s answered %d %q", op, w.Code, w.Body)
	}
	return w.Code, out
}

// must is do, failing the test unless op succeeds.
func (e *env) must(op string, in any) map[string]any {
	e.t.Helper()
	code, out := e.do(op, in)
	if code != 200 {
		e.t.Fatalf("%s %v = %d %v", op, in, code, out)
	}
	return out
}

// service describes a service through the API.
func (e *env) service(name string) ecs.Service {
	e.t.Helper()
	out := e.must("DescribeServices", map[string]any{"services": []string{name}})
	b, _ := json.Marshal(path(out, "services", 0))
	var s ecs.Service
	json.Unmarshal(b, &s)
	return s
}

// steady waits until service name has reached a steady state on its
// PRIMARY deployment of taskDefinition: desiredCount tasks running and
// healthy, no other deployment.
func (e *env) steady(name, taskDefinition string) ecs.Service {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		s := e.service(name)
		if len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED" && s.RunningCount == s.DesiredCount &&
			s.Deployments[0].TaskDefinition == taskDefinition {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("service %s not steady on %s within 3 minutes: %d running, deployments %+v, events %+v", name, taskDefinition, s.RunningCount, s.Deployments, s.Events)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serviceTasks returns the service's tasks that are RUNNING.
func (e *env) serviceTasks(name string) []ecs.Task {
	e.t.Helper()
	tasks, err := e.runner.Tasks(e.t.Context(), ecs.TaskFilter{Cluster: "default", Group: ecs.ServiceGroup(name), Live: true})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []ecs.Task
	for _, t := range tasks {
		if t.LastStatus == ecs.StatusRunning && t.DesiredStatus == ecs.StatusRunning {
			out = append(out, t)
		}
	}
	return out
}

// cleanupService stops berth when the test ends (so nothing replaces
// what is removed) and removes every container of the service's tasks.
func (e *env) cleanupService(name string) {
	e.t.Cleanup(func() {
		e.halt()
		tasks, err := e.runner.Tasks(context.Background(), ecs.TaskFilter{Cluster: "default", Group: ecs.ServiceGroup(name)})
		if err != nil {
			e.t.Errorf("listing the service's tasks: %v", err)
			return
		}
		for _, task := range tasks {
			list, err := e.rt.List(context.Background(), map[string]string{launcher.LabelTask: task.ID()})
			if err != nil {
				e.t.Errorf("listing task %s's containers: %v", task.ID(), err)
				continue
			}
			for _, c := range list {
				if err := e.rt.Remove(context.Background(), c.ID); err != nil && !errors.Is(err, launcher.ErrNotFound) {
					e.t.Errorf("removing %s: %v", c.ID, err)
				}
			}
		}
	})
}

// dockerKill kills a task's container as a user would.
func dockerKill(t *testing.T, task ecs.Task, name string) {
	t.Helper()
	if out, err := exec.Command("docker", "kill", container(task, name).RuntimeID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, out)
	}
}

// replaced waits until the service runs want tasks again, none of them
// gone.
func (e *env) replaced(name string, want int, gone string) []ecs.Task {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		tasks := e.serviceTasks(name)
		back := len(tasks) == want
		for _, t := range tasks {
			back = back && t.ID() != gone
		}
		if back {
			return tasks
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("service %s runs %d tasks 3 minutes after %s was killed; want %d", name, len(tasks), gone, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServiceReplacesKilledTask: a service of 3 whose container is killed
// with docker kill comes back to 3, and says so in its events.
func TestServiceReplacesKilledTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	td := e.definition(ecs.TaskDefinition{NetworkMode: "bridge", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "app", Command: []string{"sleep"}}}})
	e.cleanupService("sleepers")
	e.must("CreateService", map[string]any{"serviceName": "sleepers", "taskDefinition": td.TaskDefinitionArn, "desiredCount": 3})
	s := e.steady("sleepers", td.TaskDefinitionArn)
	if s.RunningCount != 3 || s.PendingCount != 0 {
		t.Fatalf("steady service: %d running, %d pending", s.RunningCount, s.PendingCount)
	}
	tasks := e.serviceTasks("sleepers")
	if len(tasks) != 3 {
		t.Fatalf("%d tasks running; want 3", len(tasks))
	}
	victim := tasks[1]
	dockerKill(t, victim, "app")
	stopped := e.stopped(victim.ID())
	if stopped.StopCode != string(ecs.StopEssentialContainerExited) || exitCode(stopped, "app") != 137 {
		t.Errorf("killed task: %s, exit %d", stopped.StopCode, exitCode(stopped, "app"))
	}
	e.replaced("sleepers", 3, victim.ID())
	s = e.steady("sleepers", td.TaskDefinitionArn)
	var started int
	for _, ev := range s.Events {
		if strings.Contains(ev.Message, "(service sleepers) has started 1 tasks: (task ") {
			started++
		}
	}
	if started == 0 {
		t.Errorf("no event tells of the replacement: %+v", s.Events)
	}
	// Scaling to 0 stops them all, with the scheduler's reason.
	e.must("UpdateService", map[string]any{"service": "sleepers", "desiredCount": 0})
	for _, task := range e.replaced("sleepers", 0, "") {
		t.Errorf("task %s still runs", task.ID())
	}
	done := e.stopped(tasks[0].ID())
	if done.StopCode != string(ecs.StopServiceSchedulerInitiated) {
		t.Errorf("task stopped by the scheduler: %s %q", done.StopCode, done.StoppedReason)
	}
	e.must("DeleteService", map[string]any{"service": "sleepers"})
	deadline := time.Now().Add(time.Minute)
	for e.service("sleepers").Status != "INACTIVE" {
		if time.Now().After(deadline) {
			t.Fatalf("deleted service is %s", e.service("sleepers").Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadBalanced is the service configuration of the load-balancing tests:
// short health checks and drains, as a test needs.
func loadBalanced(c *ecs.ServiceConfig) {
	c.DeregistrationDelay = 2 * time.Second
	c.HealthCheck = lb.HealthCheck{Interval: 500 * time.Millisecond, Timeout: 250 * time.Millisecond}
}

// serveDefinition is a task definition of a web server answering text
// on port 8080.
func (e *env) serveDefinition(text string) ecs.TaskDefinition {
	return e.definition(ecs.TaskDefinition{NetworkMode: "awsvpc", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "web", Command: []string{"serve", ":8080", text}, PortMappings: []ecs.PortMapping{{ContainerPort: 8080}}}}})
}

// load sends requests to url from workers until stop is closed (or
// limit requests, or a time bound), and counts them.
type load struct {
	requests, failures atomic.Int64
	mu                 sync.Mutex
	bodies             map[string]int
	firstErr           error
	stop               chan struct{}
	wg                 sync.WaitGroup
}

func startLoad(url string, workers int, limit int64, bound time.Duration) *load {
	l := &load{bodies: map[string]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(bound)
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for l.requests.Load() < limit && time.Now().Before(deadline) {
				select {
				case <-l.stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				l.requests.Add(1)
				resp, err := client.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
					}
				}
				l.mu.Lock()
				if err != nil {
					l.failures.Add(1)
					if l.firstErr == nil {
						l.firstErr = err
					}
				} else {
					l.bodies[string(body)]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) end() {
	close(l.stop)
	l.wg.Wait()
}

// TestServiceLoadBalancedRollingUpdate: a load-balanced service of 3
// answers a steady, bounded stream of requests through its listener
// while one of its tasks is killed and while it rolls to a new task
// definition, and fails none of them.
func TestServiceLoadBalancedRollingUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.svcCfg = ecs.ServiceConfig{}
	loadBalanced(&e.svcCfg)
	e.halt()
	e.start() // with the service configuration
	v1, v2 := e.serveDefinition("v1"), e.serveDefinition("v2")
	e.cleanupService("web")
	out := e.must("CreateService", map[string]any{"serviceName": "web", "taskDefinition": v1.TaskDefinitionArn, "desiredCount": 3,
		"loadBalancers":           []any{map[string]any{"containerName": "web", "containerPort": 8080}},
		"deploymentConfiguration": map[string]any{"minimumHealthyPercent": 100, "maximumPercent": 200}})
	if name, _ := path(out, "service", "loadBalancers", 0, "containerName").(string); name != "web" {
		t.Fatalf("CreateService's answer: %v", out)
	}
	// The listener's address: in CreateService's answer once the
	// scheduler runs, which a service created just after the start may
	// come before, so read from the steady service.
	addr := e.steady("web", v1.TaskDefinitionArn).LoadBalancers[0].LoadBalancerName
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("the listener's address: %q", addr)
	}

	l := startLoad("http://"+addr+"/", 4, 200_000, 4*time.Minute)
	defer func() {
		select {
		case <-l.stop:
		default:
			l.end()
		}
	}()
	time.Sleep(time.Second)
	tasks := e.serviceTasks("web")
	victim := tasks[0]
	dockerKill(t, victim, "web")
	e.replaced("web", 3, victim.ID())
	e.steady("web", v1.TaskDefinitionArn)
	time.Sleep(time.Second)

	e.must("UpdateService", map[string]any{"service": "web", "taskDefinition": v2.TaskDefinitionArn})
	s := e.steady("web", v2.TaskDefinitionArn)
	time.Sleep(time.Second)
	l.end()

	t.Logf("%d requests through the listener, %d failed; bodies %v", l.requests.Load(), l.failures.Load(), l.bodies)
	if l.failures.Load() != 0 {
		t.Errorf("%d of %d requests failed; first: %v", l.failures.Load(), l.requests.Load(), l.firstErr)
	}
	if l.bodies["v1"] == 0 || l.bodies["v2"] == 0 {
		t.Errorf("answers %v; want both revisions", l.bodies)
	}
	for _, task := range e.serviceTasks("web") {
		if task.TaskDefinitionArn != v2.TaskDefinitionArn {
			t.Errorf("task %s of %s still runs", task.ID(), task.TaskDefinitionArn)
		}
	}
	var drained bool
	for _, ev := range s.Events {
		drained = drained || strings.Contains(ev.Message, "has begun draining connections on")
	}
	if !drained {
		t.Errorf("no task was drained: %+v", s.Events)
	}
	// The old tasks were stopped by the scheduler.
	old, err := e.runner.Task(t.Context(), tasks[1].ID())
	if err != nil || old.StopCode != string(ecs.StopServiceSchedulerInitiated) || !strings.Contains(old.StoppedReason, "Scaling activity initiated by") {
		t.Errorf("old task: %s %q, %v", old.StopCode, old.StoppedReason, err)
	}
}

// TestServiceRestart: berth stops while a load-balanced service runs,
// and one of its containers is killed meanwhile. The next berth keeps
// the service, its listener's address and the task that survived, and
// brings the service back to its count.
func TestServiceRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.svcCfg = ecs.ServiceConfig{}
	loadBalanced(&e.svcCfg)
	e.halt()
	e.start()
	td := e.serveDefinition("hello")
	e.cleanupService("kept")
	e.must("CreateService", map[string]any{"serviceName": "kept", "taskDefinition": td.TaskDefinitionArn, "desiredCount": 2,
		"loadBalancers": []any{map[string]any{"containerName": "web", "containerPort": 8080}}})
	// The address from the steady service: a service created while the
	// scheduler is still starting gets its listener a moment after the
	// answer.
	addr := e.steady("kept", td.TaskDefinitionArn).LoadBalancers[0].LoadBalancerName
	tasks := e.serviceTasks("kept")
	if len(tasks) != 2 {
		t.Fatalf("%d tasks; want 2", len(tasks))
	}

	e.halt()
	if _, err := http.Get("http://" + addr + "/"); err == nil {
		t.Errorf("the listener still answers while berth is down")
	}
	dockerKill(t, tasks[0], "web")

	e.start()
	e.replaced("kept", 2, tasks[0].ID())
	s := e.steady("kept", td.TaskDefinitionArn)
	if s.LoadBalancers[0].LoadBalancerName != addr {
		t.Errorf("listener after the restart at %s; before %s", s.LoadBalancers[0].LoadBalancerName, addr)
	}
	if still, err := e.runner.Task(t.Context(), tasks[1].ID()); err != nil || still.LastStatus != ecs.StatusRunning {
		t.Errorf("the task that survived: %+v, %v", still.LastStatus, err)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("the listener after the restart: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Errorf("the listener after the restart: %d %q", resp.StatusCode, body)
	}
}

// TestServiceBackOff: a service whose tasks never start (their image
// does not exist) starts them again ever more slowly, counts them as
// failed and says why.
func TestServiceBackOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const delay = 300 * time.Millisecond
	e.svcCfg = ecs.ServiceConfig{RestartDelay: delay}
	e.halt()
	e.start()
	td := e.definition(ecs.TaskDefinition{NetworkMode: "bridge", ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "app", Image: "localhost:" + strings.Split(e.reg.host, ":")[1] + "/test/missing:1"}}})
	e.cleanupService("broken")
	e.must("CreateService", map[string]any{"serviceName": "broken", "taskDefinition": td.TaskDefinitionArn, "desiredCount": 1})
	deadline := time.Now().Add(2 * time.Minute)
	var s ecs.Service
	for {
		s = e.service("broken")
		if s.Deployments[0].FailedTasks >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failed tasks after 2 minutes: %d; events %+v", s.Deployments[0].FailedTasks, s.Events)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tasks, err := e.runner.Tasks(t.Context(), ecs.TaskFilter{Cluster: "default", Group: ecs.ServiceGroup("broken")})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(tasks, func(a, b ecs.Task) int { return a.CreatedAt.Compare(b.CreatedAt.Time) })
	for i, task := range tasks {
		if task.LastStatus == ecs.StatusStopped && task.StopCode != string(ecs.StopTaskFailedToStart) {
			t.Errorf("task %d: %s %q", i, task.StopCode, task.StoppedReason)
		}
		if i == 0 || i > 4 {
			continue
		}
		// Each start waits at least twice as long as the one before.
		if gap, least := task.CreatedAt.Sub(tasks[i-1].CreatedAt.Time), delay<<(i-1); gap < least {
			t.Errorf("task %d started %s after the one before; want at least %s", i, gap, least)
		}
	}
	var told bool
	for _, ev := range s.Events {
		told = told || strings.Contains(ev.Message, "(service broken) is unable to consistently start tasks successfully")
	}
	if !told {
		t.Errorf("no event tells of the back-off: %+v", s.Events)
	}
}
