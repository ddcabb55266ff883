package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher/ecs"
	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite/sqlitetest"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/scanner/vulndb"
)

// severities are ECR's, as a scan counts them.
var severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"}

// benchImages is the size of the repository every page is rendered for.
const benchImages = 10_000

// seedIndex fills a new index with repository team/app of n images
// (each a config and three layers of its own, nine in ten tagged, every
// one scanned, half of them pulled, pushed over the last 60 days) and 99
// empty repositories, with raw SQL in one transaction: through the API
// it would take minutes.
func seedIndex(b *testing.B, path string, n int) {
	b.Helper()
	span := int64(60 * 24 * time.Hour)
	start := time.Now().Add(-time.Duration(span)).UnixNano()
	series := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM c WHERE i < %d) ", n-1)
	}
	layer := func(k int) string { return fmt.Sprintf("'sha256:%d' || printf('%%063x', i)", k) }
	stmts := []string{
		`INSERT INTO repositories(id, name, created_at, settings) VALUES (1, 'team/app', 0, '{"scanOnPush":true}')`,
		series(99) + `INSERT INTO repositories(id, name, created_at) SELECT i + 2, 'other/repo-' || printf('%02d', i), 0 FROM c`,
		series(n) + `INSERT INTO blobs(digest, size, location, created_at)
			SELECT ` + layer(0) + `, 1500, 'c' || i, 0 FROM c UNION ALL
			SELECT ` + layer(1) + `, 30000000, 'a' || i, 0 FROM c UNION ALL
			SELECT ` + layer(2) + `, 4000000, 'b' || i, 0 FROM c UNION ALL
			SELECT ` + layer(3) + `, 200000, 'd' || i, 0 FROM c`,
		`INSERT INTO repository_blobs(repository_id, digest, created_at) SELECT 1, digest, 0 FROM blobs`,
		series(n) + fmt.Sprintf(`INSERT INTO manifests(repository_id, digest, media_type, size, content, pushed_at, last_pulled_at)
			SELECT 1, 'sha256:' || printf('%%064x', i), 'application/vnd.oci.image.manifest.v1+json', 600,
				'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"' || %s || '","size":1500},"layers":[' ||
				'{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"' || %s || '","size":30000000},' ||
				'{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"' || %s || '","size":4000000},' ||
				'{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"' || %s || '","size":200000}]}',
				%d + i * %d, CASE WHEN i %% 2 = 0 THEN %d + i * %d + 3600000000000 ELSE 0 END FROM c`,
			layer(0), layer(1), layer(2), layer(3), start, span/int64(n), start, span/int64(n)),
		series(n) + `INSERT INTO manifest_references(repository_id, manifest_digest, digest, kind)
			SELECT 1, 'sha256:' || printf('%064x', i), ` + layer(0) + `, 0 FROM c UNION ALL
			SELECT 1, 'sha256:' || printf('%064x', i), ` + layer(1) + `, 0 FROM c UNION ALL
			SELECT 1, 'sha256:' || printf('%064x', i), ` + layer(2) + `, 0 FROM c UNION ALL
			SELECT 1, 'sha256:' || printf('%064x', i), ` + layer(3) + `, 0 FROM c`,
		series(n) + `INSERT INTO tags(repository_id, name, digest, updated_at)
			SELECT 1, CASE WHEN i % 100 = 0 THEN 'v1.' || (i / 100) ELSE 'build-' || i END, 'sha256:' || printf('%064x', i), 0 FROM c WHERE i % 10 <> 9`,
		series(n) + `INSERT INTO scans(repository_id, digest, status, started_at, completed_at, findings, severity_counts)
			SELECT 1, 'sha256:' || printf('%064x', i), 'COMPLETE', 1, 2, '[]', '{"CRITICAL":' || (i % 3) || ',"HIGH":4,"MEDIUM":9,"LOW":12}' FROM c`,
	}
	sqlitetest.Seed(b, path, stmts...)
}

// BenchmarkPages renders every page of the UI, server-side (the handler
// alone, no network), for a repository of 10,000 images. The goal is
// under 100 ms a page.
//
//	go test -run '^$' -bench Pages -benchtime 20x ./ui/
func BenchmarkPages(b *testing.B) {
	path := filepath.Join(b.TempDir(), "berth.db")
	seedIndex(b, path, benchImages)
	f := newFixture(b, options{db: path})
	ctx := context.Background()
	admin := f.user("admin", "full-access")
	// One real image on top, with a config to read, layers and a scan.
	d := f.pushScanned("team/app", "v2.0")
	if _, err := f.store.UpdateRepository(ctx, "team/app", func(r *metadata.Repository) error {
		r.LifecyclePolicy = expireMonthOld
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	// A finished preview of the policy: half the images expire.
	if _, err := f.previews.StartAt(ctx, "team/app", expireMonthOld, time.Time{}); err != nil {
		b.Fatal(err)
	}
	if n, err := f.previews.RunPending(ctx); n != 1 || err != nil {
		b.Fatalf("RunPending = %d, %v", n, err)
	}
	if err := f.store.SetStatistic(ctx, "storage.bytes", time.Now(), 1<<40); err != nil {
		b.Fatal(err)
	}
	// A big image's scan: 2,000 findings in 1,500 packages.
	heavy := digest.Digest("sha256:" + strings.Repeat("0", 61) + "123")
	var findings []scanner.Finding
	var packages []vulndb.Package
	for i := range 2000 {
		findings = append(findings, scanner.Finding{Name: fmt.Sprintf("CVE-2026-%05d", i), Severity: severities[i%len(severities)],
			URI: fmt.Sprintf("https://security-tracker.debian.org/tracker/CVE-2026-%05d", i), Description: strings.Repeat("a flaw in parsing ", 12),
			Attributes: []scanner.Attribute{{Key: "package_name", Value: fmt.Sprintf("lib%d", i%1500)}, {Key: "package_version", Value: "1.2.3-4"}}})
	}
	for i := range 1500 {
		packages = append(packages, vulndb.Package{Ecosystem: "Debian:12", Name: fmt.Sprintf("src%d", i), Version: "1.2.3-4", DisplayName: fmt.Sprintf("lib%d", i), DisplayVersion: "1.2.3-4"})
	}
	fj, _ := json.Marshal(findings)
	pj, _ := json.Marshal(packages)
	if err := f.store.PutScan(ctx, metadata.Scan{Repository: "team/app", Digest: heavy, Status: "COMPLETE", Findings: string(fj), Inventory: string(pj),
		SeverityCounts: scanner.SeverityCounts(findings)}); err != nil {
		b.Fatal(err)
	}
	browser := f.signedIn(admin)
	cookies := browser.c.Jar.Cookies(mustURL(f.srv.URL + "/ui/"))
	// The link to the page after the first 200 images, for pages of 50.
	first := browser.expect(http.StatusOK, "/ui/repositories/team/app?n=200")
	next := first.Body[strings.Index(first.Body, `<a href="?`)+9:]
	next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
	next = strings.Replace(next, "n=200", "n=50", 1)

	for _, page := range []struct{ name, path string }{
		{"Overview", "/ui/"},
		{"Repositories", "/ui/repositories"},
		{"Images", "/ui/repositories/team/app"},
		{"ImagesAfter200", "/ui/repositories/team/app" + next},
		{"ImagesByTag", "/ui/repositories/team/app?tag=v1.9"},
		{"ImagesByPull", "/ui/repositories/team/app?sort=pulled"},
		{"Images200", "/ui/repositories/team/app?n=200"},
		{"Settings", "/ui/repositories/team/app/-/settings"},
		{"Policy", "/ui/repositories/team/app/-/policy"},
		{"Lifecycle", "/ui/repositories/team/app/-/lifecycle"},
		{"Preview", "/ui/repositories/team/app/-/lifecycle/preview"},
		{"Image", "/ui/repositories/team/app/-/images/" + d.String()},
		{"Image2000Findings", "/ui/repositories/team/app/-/images/" + heavy.String()},
		{"DeleteRepository", "/ui/repositories/team/app/-/delete"},
	} {
		b.Run(page.name, func(b *testing.B) { renderPage(b, f, cookies, page.path) })
	}
}

// renderPage renders the page at path for the browser with cookies, the
// handler alone, b.N times, and reports the time a page takes.
func renderPage(b *testing.B, f *fixture, cookies []*http.Cookie, path string) {
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		f.ui.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s = %d\n%s", path, w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
}

// benchTasks and benchEvents are the sizes the launcher's pages are
// rendered for: a cluster of 1,000 tasks, a log stream of 100,000 events.
const (
	benchTasks  = 1_000
	benchEvents = 100_000
)

// BenchmarkLauncherPages renders the launcher's pages, server-side, for a
// cluster of 1,000 tasks (a tenth of them running, the rest stopped
// within the hour, each of two containers) and a log stream of 100,000
// events. The goal is under 100 ms a page. The tasks are written to the
// index as the runner keeps them; the engine is not needed to read them.
//
//	go test -run '^$' -bench LauncherPages -benchtime 20x ./ui/
func BenchmarkLauncherPages(b *testing.B) {
	f := newFixture(b, options{deadEngine: true})
	ctx := context.Background()
	mem := 128
	td, err := f.ecs.RegisterTaskDefinition(ctx, ecs.TaskDefinition{Family: "web", NetworkMode: "bridge",
		ContainerDefinitions: []ecs.ContainerDefinition{
			{Name: "app", Image: "team/app:1", Memory: &mem, LogConfiguration: &ecs.LogConfiguration{LogDriver: "awslogs",
				Options: map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"}}},
			{Name: "proxy", Image: "team/proxy:1", Memory: &mem},
		}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	var last string
	for i := range benchTasks {
		id := fmt.Sprintf("%032x", i+1)
		task := ecs.Task{TaskArn: scope.Task("default", id).String(), ClusterArn: scope.Cluster("default").String(),
			TaskDefinitionArn: td.TaskDefinitionArn, LaunchType: "EC2", Group: "family:web", StartedBy: "bench",
			LastStatus: ecs.StatusStopped, DesiredStatus: ecs.StatusStopped, HealthStatus: "UNKNOWN",
			CreatedAt: awsjson.NewTime(now.Add(-time.Duration(benchTasks-i) * time.Second)), StopCode: string(ecs.StopEssentialContainerExited),
			StoppedReason: "Essential container in task exited", StoppedAt: awsjson.NewTime(now)}
		if i%10 == 0 { // the 100 running tasks are service web-00's
			task.LastStatus, task.DesiredStatus, task.StopCode, task.StoppedReason, task.StoppedAt = ecs.StatusRunning, ecs.StatusRunning, "", "", awsjson.Time{}
			task.Group, task.StartedBy = "service:web-00", "ecs-svc/0000000000000000001"
		}
		for _, name := range []string{"app", "proxy"} {
			code := 0
			task.Containers = append(task.Containers, ecs.Container{Name: name, Image: "team/" + name + ":1", LastStatus: task.LastStatus, ExitCode: &code,
				RuntimeID: fmt.Sprintf("%064x", i), NetworkBindings: []ecs.NetworkBinding{{BindIP: "127.0.0.1", ContainerPort: 8080, HostPort: 30000 + i, Protocol: "tcp"}}})
		}
		doc, _ := json.Marshal(map[string]any{"task": task, "cluster": "default", "definition": td})
		if err := f.store.PutTask(ctx, metadata.Task{ID: id, Cluster: "default", Family: "web", Revision: 1, Group: task.Group, StartedBy: task.StartedBy,
			LastStatus: task.LastStatus, DesiredStatus: task.DesiredStatus, CreatedAt: task.CreatedAt.Time, StoppedAt: task.StoppedAt.Time, Document: doc}); err != nil {
			b.Fatal(err)
		}
		last = id
	}
	seedServices(b, f, td.TaskDefinitionArn, now)
	// A stream of 100,000 events, appended as the log store's writer does,
	// in batches.
	if err := f.store.CreateLogGroup(ctx, metadata.LogGroup{Name: "/ecs/web", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	stream := "web/app/" + last
	if err := f.store.CreateLogStream(ctx, metadata.LogStream{Group: "/ecs/web", Name: stream, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	start := now.Add(-time.Hour).UnixMilli()
	for batch := 0; batch < benchEvents; batch += 10_000 {
		events := make([]metadata.LogEvent, 10_000)
		for i := range events {
			n := batch + i
			events[i] = metadata.LogEvent{Time: start + int64(n)*30, Ingested: start + int64(n)*30,
				Message: fmt.Sprintf("%s GET /api/items/%d 200 %dms user-agent=Mozilla/5.0 request-id=%08x", time.UnixMilli(start+int64(n)*30).UTC().Format(time.RFC3339), n, n%97, n)}
		}
		if err := f.store.AppendLogEvents(ctx, "/ecs/web", stream, events, 0); err != nil {
			b.Fatal(err)
		}
	}
	browser := f.signedIn(f.user("admin", "admin"))
	cookies := browser.c.Jar.Cookies(mustURL(f.srv.URL + "/ui/"))
	streamPath := "/ui/logs/stream?" + url.Values{"group": {"/ecs/web"}, "stream": {stream}}.Encode()
	for _, page := range []struct{ name, path string }{
		{"Clusters", "/ui/clusters"},
		{"Tasks1000Running", "/ui/clusters/default"},
		{"Tasks1000All", "/ui/clusters/default?show=all"},
		{"Tasks1000AllPage10", "/ui/clusters/default?show=all&page=10"},
		{"Task", "/ui/clusters/default/tasks/" + last},
		{"Service100Tasks", "/ui/clusters/default/services/web-00"},
		{"TaskDefinitions", "/ui/task-definitions"},
		{"TaskDefinition", "/ui/task-definitions/web/1"},
		{"LogGroups", "/ui/logs"},
		{"LogGroup", "/ui/logs/group?name=%2Fecs%2Fweb"},
		{"LogSearch100k", "/ui/logs/group?name=%2Fecs%2Fweb&pattern=%22GET+%2Fapi%2Fitems%2F99999%22"},
		{"LogStream100k", streamPath},
		{"LogStream100kOldest", streamPath + "&oldest"},
		{"LogStream100kMiddle", streamPath + "&before=" + strconv.FormatInt(start+int64(benchEvents/2)*30, 10) + ".0.0"},
	} {
		b.Run(page.name, func(b *testing.B) { renderPage(b, f, cookies, page.path) })
	}
}

// benchServices is how many services the cluster page lists.
const benchServices = 50

// seedServices writes benchServices services of the default cluster to
// the index, as ECS's API keeps them, each with two deployments (one
// rolling in) and its 100 newest events.
func seedServices(b *testing.B, f *fixture, taskDefinition string, now time.Time) {
	for i := range benchServices {
		name := fmt.Sprintf("web-%02d", i)
		s := ecs.Service{ServiceArn: scope.ECSService("default", name).String(), ServiceName: name, ClusterArn: scope.Cluster("default").String(),
			Status: "ACTIVE", DesiredCount: 100, RunningCount: 100, TaskDefinition: taskDefinition, LaunchType: "EC2",
			LoadBalancers: []ecs.ServiceLoadBalancer{{LoadBalancerName: fmt.Sprintf("127.0.0.1:%d", 40000+i), ContainerName: "app", ContainerPort: 8080}},
			CreatedAt:     awsjson.NewTime(now.Add(-time.Hour))}
		for d := range 2 {
			s.Deployments = append(s.Deployments, ecs.Deployment{ID: fmt.Sprintf("ecs-svc/%019d", d+1), Status: []string{"PRIMARY", "ACTIVE"}[d],
				TaskDefinition: taskDefinition, DesiredCount: 100, RunningCount: 50, RolloutState: "IN_PROGRESS", CreatedAt: awsjson.NewTime(now), UpdatedAt: awsjson.NewTime(now)})
		}
		for e := range 100 {
			s.Events = append(s.Events, ecs.ServiceEvent{ID: fmt.Sprintf("%d-%d", i, e), CreatedAt: awsjson.NewTime(now.Add(-time.Duration(e) * time.Minute)),
				Message: "(service " + name + ") has started 1 tasks: (task " + fmt.Sprintf("%032x", e) + ")."})
		}
		doc, _ := json.Marshal(map[string]any{"service": s, "cluster": "default"})
		if err := f.store.PutService(context.Background(), metadata.Service{Cluster: "default", Name: name, Status: s.Status, CreatedAt: s.CreatedAt.Time, Document: doc}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchFunctions, benchVersions and benchReports are the sizes the
// functions' pages are rendered for.
const (
	benchFunctions = 120
	benchVersions  = 20
	benchReports   = 10_000
)

// BenchmarkFunctionPages renders the functions' pages, server-side: the
// list (its first page of 50, each with its usage) of 120 functions made
// through the Lambda API on the machine's engine, and a function with 20
// versions, 10 aliases, a URL, usage on every function and three log
// streams of 30,000 lines, 10,000 of them REPORT lines. The goal is under
// 100 ms a page.
//
//	go test -run '^$' -bench FunctionPages -benchtime 20x ./ui/
func BenchmarkFunctionPages(b *testing.B) {
	f := newFixture(b, options{lambda: true})
	ctx := context.Background()
	names := make([]string, benchFunctions)
	for i := range names {
		names[i] = fmt.Sprintf("fn-%04d", i)
		f.startFunction(names[i], lambdasdk.CreateFunctionInput{Description: aws.String("function " + names[i])})
	}
	for _, name := range names {
		f.waitActive(name)
		for range 30 {
			f.meter.Observe(lambda.Observation{Function: name, Duration: 12 * time.Millisecond, Billed: 13 * time.Millisecond, MemorySize: 128})
		}
	}
	f.meter.Flush(ctx)
	fn := aws.String(names[0])
	for i := range benchVersions {
		if _, err := f.lambdaClient.UpdateFunctionConfiguration(ctx, &lambdasdk.UpdateFunctionConfigurationInput{FunctionName: fn, Description: aws.String(fmt.Sprint("revision ", i))}); err != nil {
			b.Fatal(err)
		}
		if _, err := f.lambdaClient.PublishVersion(ctx, &lambdasdk.PublishVersionInput{FunctionName: fn}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 10 {
		if _, err := f.lambdaClient.CreateAlias(ctx, &lambdasdk.CreateAliasInput{FunctionName: fn, Name: aws.String(fmt.Sprint("alias-", i)), FunctionVersion: aws.String(strconv.Itoa(i + 1))}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := f.lambdaClient.CreateFunctionUrlConfig(ctx, &lambdasdk.CreateFunctionUrlConfigInput{FunctionName: fn, AuthType: "NONE"}); err != nil {
		b.Fatal(err)
	}
	group := lambda.LogGroup(names[0])
	now := time.Now()
	if err := f.store.CreateLogGroup(ctx, metadata.LogGroup{Name: group, CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	start := now.Add(-time.Hour).UnixMilli()
	for s := range 3 {
		stream := lambda.LogStreamName(now, "$LATEST", fmt.Sprintf("%032x", s))
		if err := f.store.CreateLogStream(ctx, metadata.LogStream{Group: group, Name: stream, CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		events := make([]metadata.LogEvent, 0, 3*benchReports/3)
		for i := range benchReports / 3 {
			at := start + int64(i)*100
			id := fmt.Sprintf("%08x-0000-4000-8000-%012x", s, i)
			for j, line := range []string{"START RequestId: " + id + " Version: $LATEST", "handling " + id,
				"REPORT RequestId: " + id + "\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t"} {
				events = append(events, metadata.LogEvent{Time: at + int64(j), Ingested: at + int64(j), Message: line})
			}
		}
		if err := f.store.AppendLogEvents(ctx, group, stream, events, 0); err != nil {
			b.Fatal(err)
		}
	}
	browser := f.signedIn(f.user("admin", "admin"))
	cookies := browser.c.Jar.Cookies(mustURL(f.srv.URL + "/ui/"))
	for _, page := range []struct{ name, path string }{
		{"Functions120", "/ui/functions"},
		{"Functions120Page3", "/ui/functions?after=fn-0099"},
		{"Function", "/ui/functions/" + names[0]},
		{"FunctionUnused", "/ui/functions/" + names[1]},
	} {
		b.Run(page.name, func(b *testing.B) { renderPage(b, f, cookies, page.path) })
	}
}
