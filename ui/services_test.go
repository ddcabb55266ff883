package ui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher/ecs"
)

// startServices runs the ECS API's service scheduler until the test ends
// and returns a server of its JSON API, to create services as a client
// does.
func (f *fixture) startServices() *httptest.Server {
	t := f.t
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.ecs.Run(ctx)
	}()
	mux := http.NewServeMux()
	f.ecs.Register(awsjson.NewFront(mux, nil, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return srv
}

// ecsCall calls op of the ECS API on srv with body and fails the test
// unless it succeeds.
func ecsCall(t *testing.T, srv *httptest.Server, op, body string) map[string]any {
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
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%s %s = %d %s", op, body, resp.StatusCode, raw)
	}
	return out
}

// serviceTaskLink is a link to a task of the default cluster.
var serviceTaskLink = regexp.MustCompile(`href="/ui/clusters/default/tasks/([0-9a-f]{32})"`)

// waitService waits until the service's page shows want, bounded.
func waitService(t *testing.T, b *browser, path string, want string) page {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p := b.expect(http.StatusOK, path)
		if strings.Contains(p.Body, want) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not show %q within 2 minutes\n%s", path, want, p.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServicePages: a load-balanced service shows on its cluster's page
// and on its own, with its deployment, events, listener and tasks; its
// desired count changes and it is deleted through the forms, which a
// forged token or a read-only person cannot send.
func TestServicePages(t *testing.T) {
	f := newFixture(t, options{launcher: true})
	srv := f.startServices()
	mem := 64
	if _, err := f.ecs.RegisterTaskDefinition(context.Background(), ecs.TaskDefinition{
		Family: "site", NetworkMode: "bridge",
		ContainerDefinitions: []ecs.ContainerDefinition{{Name: "web", Image: testImage, Memory: &mem,
			Command: []string{"serve", ":8080", "hello"}, PortMappings: []ecs.PortMapping{{ContainerPort: 8080}}}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	ecsCall(t, srv, "CreateService", `{"serviceName":"web-1","taskDefinition":"site","desiredCount":1,
		"loadBalancers":[{"containerName":"web","containerPort":8080}],"tags":[{"key":"owner","value":"<script>alert(1)</script>"}]}`)
	b := f.signedIn(f.user("admin", "admin"))
	path := "/ui/clusters/default/services/web-1"
	p := waitService(t, b, path, "has reached a steady state")
	contains(t, "the service", p.Body, "Service web-1", "PRIMARY", `href="/ui/task-definitions/site/1"`, "COMPLETED",
		"has reached a steady state", `id="listener"`, "http://127.0.0.1:", "container web, port 8080",
		`data-changes="/ui/clusters/default/changes"`, "Update service", "Delete service", "owner=&lt;script&gt;")
	lacks(t, "the service", p.Body, "<script>alert(1)")
	m := serviceTaskLink.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the service's page links no task\n%s", p.Body)
	}
	wellFormed(t, path, p)
	contains(t, "the service's task", b.expect(http.StatusOK, "/ui/clusters/default/tasks/"+m[1]).Body, "service:web-1")
	contains(t, "the cluster", b.expect(http.StatusOK, "/ui/clusters/default").Body,
		`href="/ui/clusters/default/services/web-1"`, "1 service")
	b.expect(http.StatusNotFound, "/ui/clusters/default/services/nope")
	lacks(t, "a hostile name's page", b.expect(http.StatusNotFound, "/ui/clusters/default/services/%3Cscript%3Ealert(1)%3C%2Fscript%3E").Body, "<script>alert(1)")

	// Bad or forged forms change nothing.
	if p := b.post(path+"/scale", url.Values{"desired": {"two"}}); p.Status != http.StatusBadRequest {
		t.Errorf("a desired count of two = %d; want 400", p.Status)
	}
	if p := b.post(path+"/scale", url.Values{"desired": {"2"}, "csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("scaling without the CSRF token = %d; want 403", p.Status)
	}
	if p := b.post(path+"/delete", url.Values{"confirm": {"web-1"}, "force": {"on"}, "csrf": {"forged"}}); p.Status != http.StatusForbidden {
		t.Errorf("deleting without the CSRF token = %d; want 403", p.Status)
	}
	if p := b.post(path+"/delete", url.Values{"confirm": {"web-2"}, "force": {"on"}}); p.Status != http.StatusBadRequest {
		t.Errorf("deleting without the name = %d; want 400", p.Status)
	}
	if p := b.post(path+"/delete", url.Values{"confirm": {"web-1"}}); p.Status != http.StatusBadRequest ||
		!strings.Contains(p.Body, "scaled above 0") {
		t.Errorf("deleting a scaled service without force = %d; want 400\n%s", p.Status, p.Body)
	}

	// A read-only person sees no forms and may send none.
	watcher := f.signedIn(f.user("watcher", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"}]}`))
	wp := watcher.expect(http.StatusOK, path)
	lacks(t, "the watcher's service page", wp.Body, "Update service", "Delete service")
	for _, tt := range []struct{ action, form string }{{"ecs:UpdateService", "scale"}, {"ecs:DeleteService", "delete"}} {
		p := watcher.post(path+"/"+tt.form, url.Values{"desired": {"0"}, "confirm": {"web-1"}, "force": {"on"}})
		want := "is not authorized to perform: " + tt.action + " on resource: arn:aws:ecs:" + region + ":" + account + ":service/default/web-1"
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, want) {
			t.Errorf("the watcher's %s = %d; want 403 saying %q", tt.form, p.Status, want)
		}
	}

	p = b.post(path+"/scale", url.Values{"desired": {"2"}})
	if p.Status != http.StatusSeeOther || p.Location != path+"?done=scaled" {
		t.Fatalf("scaling = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	waitService(t, b, path, "<strong>2</strong> running")

	p = b.post(path+"/delete", url.Values{"confirm": {"web-1"}, "force": {"on"}})
	if p.Status != http.StatusSeeOther || p.Location != path+"?done=deleting" {
		t.Fatalf("deleting = %d %q\n%s", p.Status, p.Location, p.Body)
	}
	p = waitService(t, b, path, `id="service-status">INACTIVE<`)
	lacks(t, "the deleted service", p.Body, "Update service", "Delete service")
}
