package ecs_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/docker"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/metadata/sqlite"
)

// apiServer serves the ECS API over its own index with an engine that
// does not answer: everything but running tasks works without one.
func apiServer(t *testing.T) *httptest.Server {
	t.Helper()
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	rt, err := docker.New(docker.WithHost("tcp://"+closed), docker.WithLogger(quietLog()))
	if err != nil {
		t.Fatal(err)
	}
	runner := ecs.NewRunner(rt, store, anonymous{}, sidecarImage{}, ecs.RunnerConfig{
		AccountID: "000000000000", Region: "us-east-1", Images: launcher.Images{Registry: "127.0.0.1:5000"},
		StateDir: t.TempDir(), Log: quietLog()})
	api, err := ecs.New(t.Context(), store, runner, ecs.Config{AccountID: "000000000000", Region: "us-east-1", Access: openAccess{}, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(awsjson.NewFront(mux, nil, quietLog()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// call sends one ECS operation and returns the status and decoded body.
func call(t *testing.T, srv *httptest.Server, op, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", ecs.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s answered %d %q: %v", op, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

// ok calls op and fails the test unless it succeeds.
func ok(t *testing.T, srv *httptest.Server, op, body string) map[string]any {
	t.Helper()
	status, out := call(t, srv, op, body)
	if status != 200 {
		t.Fatalf("%s %s = %d %v", op, body, status, out)
	}
	return out
}

// path walks a decoded JSON value.
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestClusters(t *testing.T) {
	t.Parallel()
	srv := apiServer(t)
	// The default cluster exists.
	out := ok(t, srv, "DescribeClusters", `{}`)
	if path(out, "clusters", 0, "clusterName") != "default" || path(out, "clusters", 0, "status") != "ACTIVE" {
		t.Fatalf("DescribeClusters = %v", out)
	}
	out = ok(t, srv, "CreateCluster", `{"clusterName":"dev","tags":[{"key":"team","value":"a"}]}`)
	arn := "arn:aws:ecs:us-east-1:000000000000:cluster/dev"
	if path(out, "cluster", "clusterArn") != arn || path(out, "cluster", "runningTasksCount") != 0.0 {
		t.Fatalf("CreateCluster = %v", out)
	}
	// Creating it again returns it.
	if out := ok(t, srv, "CreateCluster", `{"clusterName":"dev"}`); path(out, "cluster", "clusterArn") != arn {
		t.Errorf("CreateCluster again = %v", out)
	}
	out = ok(t, srv, "ListClusters", `{"maxResults":1}`)
	if path(out, "clusterArns", 0) != "arn:aws:ecs:us-east-1:000000000000:cluster/default" || path(out, "nextToken") == nil {
		t.Fatalf("ListClusters page 1 = %v", out)
	}
	out = ok(t, srv, "ListClusters", fmt.Sprintf(`{"maxResults":1,"nextToken":%q}`, path(out, "nextToken")))
	if path(out, "clusterArns", 0) != arn || path(out, "nextToken") != nil {
		t.Fatalf("ListClusters page 2 = %v", out)
	}
	out = ok(t, srv, "DescribeClusters", `{"clusters":["dev","nope"],"include":["TAGS"]}`)
	if path(out, "clusters", 0, "tags", 0, "value") != "a" || path(out, "failures", 0, "reason") != "MISSING" ||
		path(out, "failures", 0, "arn") != "arn:aws:ecs:us-east-1:000000000000:cluster/nope" {
		t.Fatalf("DescribeClusters = %v", out)
	}
	ok(t, srv, "TagResource", `{"resourceArn":"`+arn+`","tags":[{"key":"env","value":"dev"}]}`)
	ok(t, srv, "UntagResource", `{"resourceArn":"`+arn+`","tagKeys":["team"]}`)
	if out := ok(t, srv, "ListTagsForResource", `{"resourceArn":"`+arn+`"}`); fmt.Sprint(out["tags"]) != "[map[key:env value:dev]]" {
		t.Errorf("tags = %v", out["tags"])
	}
	if out := ok(t, srv, "DeleteCluster", `{"cluster":"`+arn+`"}`); path(out, "cluster", "status") != "INACTIVE" {
		t.Errorf("DeleteCluster = %v", out)
	}
	if out := ok(t, srv, "ListClusters", `{}`); len(out["clusterArns"].([]any)) != 1 {
		t.Errorf("ListClusters after delete = %v", out)
	}
	expectError(t, srv, "DeleteCluster", `{"cluster":"dev"}`, "ClusterNotFoundException")
	expectError(t, srv, "ListTasks", `{"cluster":"dev"}`, "ClusterNotFoundException")
}

// expectError calls op and checks that it fails with 400 and errorType.
func expectError(t *testing.T, srv *httptest.Server, op, body, errorType string) string {
	t.Helper()
	status, out := call(t, srv, op, body)
	if status != 400 || out["__type"] != errorType {
		t.Errorf("%s %s = %d %v; want 400 %s", op, body, status, out, errorType)
	}
	msg, _ := out["message"].(string)
	return msg
}

func TestTaskDefinitions(t *testing.T) {
	t.Parallel()
	srv := apiServer(t)
	register := `{"family":"web","cpu":"1 vCPU","memory":"2GB","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
		"containerDefinitions":[{"name":"app","image":"localhost:5000/app:1","portMappings":[{"containerPort":80}],
		"healthCheck":{"command":["CMD-SHELL","true"]}}],"tags":[{"key":"k","value":"v"}]}`
	out := ok(t, srv, "RegisterTaskDefinition", register)
	td := out["taskDefinition"]
	for _, want := range []struct {
		path []any
		v    any
	}{
		{[]any{"taskDefinitionArn"}, "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"},
		{[]any{"revision"}, 1.0},
		{[]any{"status"}, "ACTIVE"},
		{[]any{"cpu"}, "1024"},
		{[]any{"memory"}, "2048"},
		{[]any{"compatibilities", 1}, "FARGATE"},
		{[]any{"containerDefinitions", 0, "essential"}, true},
		{[]any{"containerDefinitions", 0, "portMappings", 0, "hostPort"}, 80.0},
		{[]any{"containerDefinitions", 0, "portMappings", 0, "protocol"}, "tcp"},
		{[]any{"containerDefinitions", 0, "healthCheck", "interval"}, 30.0},
		{[]any{"containerDefinitions", 0, "healthCheck", "retries"}, 3.0},
	} {
		if got := path(td, want.path...); got != want.v {
			t.Errorf("taskDefinition%v = %v; want %v", want.path, got, want.v)
		}
	}
	if _, isFloat := path(td, "registeredAt").(float64); !isFloat || path(out, "tags", 0, "key") != "k" {
		t.Errorf("registeredAt %v, tags %v", path(td, "registeredAt"), out["tags"])
	}
	if path(ok(t, srv, "RegisterTaskDefinition", register), "taskDefinition", "revision") != 2.0 {
		t.Error("second registration is not revision 2")
	}
	if path(ok(t, srv, "DescribeTaskDefinition", `{"taskDefinition":"web"}`), "taskDefinition", "revision") != 2.0 {
		t.Error("family describes its latest revision")
	}
	out = ok(t, srv, "DeregisterTaskDefinition", `{"taskDefinition":"web:2"}`)
	if path(out, "taskDefinition", "status") != "INACTIVE" || path(out, "taskDefinition", "deregisteredAt") == nil {
		t.Errorf("DeregisterTaskDefinition = %v", out)
	}
	if path(ok(t, srv, "DescribeTaskDefinition", `{"taskDefinition":"web"}`), "taskDefinition", "revision") != 1.0 {
		t.Error("family describes its latest ACTIVE revision")
	}
	out = ok(t, srv, "ListTaskDefinitions", `{}`)
	if fmt.Sprint(out["taskDefinitionArns"]) != "[arn:aws:ecs:us-east-1:000000000000:task-definition/web:1]" {
		t.Errorf("ListTaskDefinitions = %v", out)
	}
	out = ok(t, srv, "ListTaskDefinitions", `{"status":"INACTIVE","familyPrefix":"web"}`)
	if fmt.Sprint(out["taskDefinitionArns"]) != "[arn:aws:ecs:us-east-1:000000000000:task-definition/web:2]" {
		t.Errorf("ListTaskDefinitions INACTIVE = %v", out)
	}
	if out := ok(t, srv, "ListTagsForResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"}`); fmt.Sprint(out["tags"]) != "[map[key:k value:v]]" {
		t.Errorf("task definition tags %v", out)
	}
	expectError(t, srv, "DescribeTaskDefinition", `{"taskDefinition":"nope"}`, "ClientException")
	expectError(t, srv, "DeregisterTaskDefinition", `{"taskDefinition":"web:9"}`, "ClientException")
}

// TestRefusedTaskDefinitions: what ECS refuses gets ECS's
// ClientException, worded as ECS words it.
func TestRefusedTaskDefinitions(t *testing.T) {
	t.Parallel()
	srv := apiServer(t)
	app := `{"name":"app","image":"app:1"}`
	for _, tc := range []struct{ body, message string }{
		{`{"family":"f","containerDefinitions":[]}`, "Container list cannot be empty."},
		{`{"family":"f","cpu":"256","memory":"4096","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"containerDefinitions":[` + app + `]}`,
			"No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values."},
		{`{"family":"f","cpu":"256","memory":"512","requiresCompatibilities":["FARGATE"],"containerDefinitions":[` + app + `]}`,
			"Fargate only supports network mode 'awsvpc'."},
		{`{"family":"f","memory":"512","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"containerDefinitions":[` + app + `]}`,
			"Fargate requires that 'cpu' be defined at the task level."},
		{`{"family":"f","cpu":"lots","containerDefinitions":[` + app + `]}`, "Invalid 'cpu' setting for task."},
		{`{"family":"f","containerDefinitions":[` + app + `]}`,
			"Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{`{"family":"f","memory":"512","containerDefinitions":[{"name":"app"}]}`, "Container.image should not be null or empty."},
		{`{"family":"f","memory":"512","containerDefinitions":[{"image":"app"}]}`, "Container.name should not be null or empty."},
		{`{"family":"f","memory":"512","networkMode":"awsvpc","containerDefinitions":[{"name":"app","image":"app","portMappings":[{"containerPort":80,"hostPort":81}]}]}`,
			"When networkMode=awsvpc, the host ports and container ports in port mappings must match."},
		{`{"family":"f","memory":"512","containerDefinitions":[{"name":"a","image":"app","essential":false}]}`, "At least one essential container is required."},
		{`{"family":"f","memory":"512","containerDefinitions":[{"name":"a","image":"app","dependsOn":[{"containerName":"b","condition":"START"}]},{"name":"b","image":"app","dependsOn":[{"containerName":"a","condition":"START"}]}]}`,
			"The container dependencies of the task definition form a cycle."},
	} {
		if got := expectError(t, srv, "RegisterTaskDefinition", tc.body, "ClientException"); got != tc.message {
			t.Errorf("RegisterTaskDefinition %s:\n got %q\nwant %q", tc.body, got, tc.message)
		}
	}
	// Every valid Fargate size registers.
	for _, size := range [][2]string{{"256", "512"}, {"256", "2048"}, {"512", "4096"}, {"4096", "30720"}, {"8192", "61440"}, {"16384", "122880"}} {
		ok(t, srv, "RegisterTaskDefinition", fmt.Sprintf(`{"family":"f","cpu":%q,"memory":%q,"networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"containerDefinitions":[%s]}`, size[0], size[1], app))
	}
}

// TestBadRequests: bad input gets ECS's errors, never a server fault.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	srv := apiServer(t)
	ok(t, srv, "RegisterTaskDefinition", `{"family":"f","memory":"512","containerDefinitions":[{"name":"app","image":"app:1"}]}`)
	for _, tc := range []struct{ op, body, errorType string }{
		{"RunTask", `{"taskDefinition":"f","cluster":"nope"}`, "ClusterNotFoundException"},
		{"RunTask", `{"taskDefinition":"nope"}`, "InvalidParameterException"},
		{"RunTask", `{"taskDefinition":"f","count":11}`, "InvalidParameterException"},
		{"RunTask", `{"taskDefinition":"f","count":-1}`, "InvalidParameterException"},
		{"RunTask", `{"taskDefinition":"f","launchType":"FARGATE"}`, "InvalidParameterException"},
		{"RunTask", `{"taskDefinition":"f","overrides":{"containerOverrides":[{"name":"other"}]}}`, "InvalidParameterException"},
		{"RunTask", `{"taskDefinition":"f","count":"two"}`, "SerializationException"},
		{"RunTask", `{"taskDefinition":`, "SerializationException"},
		{"StopTask", `{"task":"0123456789abcdef0123456789abcdef"}`, "InvalidParameterException"},
		{"StopTask", `{"task":"../etc"}`, "InvalidParameterException"},
		{"DescribeTasks", `{"tasks":[]}`, "InvalidParameterException"},
		{"DescribeTasks", `{"tasks":[` + strings.Repeat(`"x",`, 100) + `"x"]}`, "InvalidParameterException"},
		{"DescribeTasks", `{"cluster":"nope","tasks":["x"]}`, "ClusterNotFoundException"},
		{"ListTasks", `{"desiredStatus":"DONE"}`, "InvalidParameterException"},
		{"ListTasks", `{"maxResults":0}`, "InvalidParameterException"},
		{"ListTasks", `{"nextToken":"forged"}`, "InvalidParameterException"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/nope","tags":[{"key":"k","value":"v"}]}`, "ClusterNotFoundException"},
		{"TagResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:cluster/default","tags":[{"key":"aws:x","value":"v"}]}`, "InvalidParameterException"},
		{"ListTagsForResource", `{"resourceArn":"arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef"}`, "ResourceNotFoundException"},
		{"CreateCluster", `{"clusterName":"bad name"}`, "InvalidParameterException"},
		{"NoSuchOperation", `{}`, "UnknownOperationException"},
	} {
		expectError(t, srv, tc.op, tc.body, tc.errorType)
	}
	// Unknown tasks are failures, not errors.
	out := ok(t, srv, "DescribeTasks", `{"tasks":["0123456789abcdef0123456789abcdef","not-a-task"]}`)
	if path(out, "failures", 0, "reason") != "MISSING" || path(out, "failures", 0, "arn") != "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef" ||
		path(out, "failures", 1, "arn") != "not-a-task" || len(out["tasks"].([]any)) != 0 {
		t.Errorf("DescribeTasks of unknown tasks = %v", out)
	}
	if out := ok(t, srv, "ListTasks", `{}`); len(out["taskArns"].([]any)) != 0 {
		t.Errorf("ListTasks = %v", out)
	}
}

// TestNoEngine: without a reachable engine, RunTask says so; the rest of
// the API works.
func TestNoEngine(t *testing.T) {
	t.Parallel()
	srv := apiServer(t)
	ok(t, srv, "RegisterTaskDefinition", `{"family":"f","memory":"512","containerDefinitions":[{"name":"app","image":"app:1"}]}`)
	status, out := call(t, srv, "RunTask", `{"taskDefinition":"f"}`)
	if status != 500 || out["__type"] != "ServerException" || !strings.Contains(out["message"].(string), "Docker Engine") {
		t.Errorf("RunTask without an engine = %d %v", status, out)
	}
}
