package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// logsCLI runs `aws logs` against one berth as one user.
type logsCLI struct{ awsCLI }

func (c logsCLI) json(args ...string) map[string]any {
	c.t.Helper()
	return c.serviceJSON("logs", args...)
}

func (c logsCLI) refused(errorType string, args ...string) {
	c.t.Helper()
	c.serviceRefused("logs", errorType, args...)
}

// messages lists the message of each event in a GetLogEvents or
// FilterLogEvents answer.
func messages(t *testing.T, out map[string]any) []string {
	t.Helper()
	var got []string
	events, _ := field(t, out, "events").([]any)
	for _, e := range events {
		got = append(got, fmt.Sprint(field(t, e, "message")))
	}
	return got
}

// putEvents puts messages into a stream, a millisecond apart from at.
func (c logsCLI) putEvents(group, stream string, at time.Time, messages ...string) {
	c.t.Helper()
	args := []string{"put-log-events", "--log-group-name", group, "--log-stream-name", stream, "--log-events"}
	for i, m := range messages {
		args = append(args, fmt.Sprintf("timestamp=%d,message=%s", at.UnixMilli()+int64(i), m))
	}
	out := c.json(args...)
	if _, rejected := out["rejectedLogEventsInfo"]; rejected {
		c.t.Fatalf("put-log-events rejected events: %v", out)
	}
}

// TestAWSLogsCLI is the CloudWatch Logs workflow with the real AWS CLI v2
// against berth, signed for the logs service by a user whose policy grants
// logs:*: groups and streams, events written and read back in both
// directions and by pattern, retention, errors in CloudWatch's words, and
// `aws logs tail --follow` printing lines appended while it runs.
func TestAWSLogsCLI(t *testing.T) {
	bin := requireAWSCLI(t)
	srv := startBerth(t)
	endpoint := "http://" + srv.Addr
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"}]}`
	out := run(t, time.Minute, berthBin, "user", "create", "logger", "--policy", policy, "--with-key", "--data-dir", srv.DataDir)
	key := parseKey(t, out)
	logs := logsCLI{awsCLI{t, bin, endpoint, key}}
	const group, stream = "/ecs/web", "ecs/app/task-1"

	logs.json("create-log-group", "--log-group-name", group)
	logs.refused("ResourceAlreadyExistsException", "create-log-group", "--log-group-name", group)
	logs.json("create-log-stream", "--log-group-name", group, "--log-stream-name", stream)
	logs.json("create-log-stream", "--log-group-name", group, "--log-stream-name", "ecs/db/task-2")
	now := time.Now()
	all := []string{"GET / 200", "GET /missing 404 ERROR", "POST /orders 201", "POST /orders 500 ERROR timeout", "GET /health 200"}
	logs.putEvents(group, stream, now.Add(-time.Minute), all...)
	logs.putEvents(group, "ecs/db/task-2", now.Add(-time.Minute).Add(2*time.Millisecond), "ERROR deadlock")

	// Forward from the head, two at a time, until the token comes back.
	var got []string
	page := logs.json("get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--start-from-head", "--limit", "2")
	for range 10 {
		got = append(got, messages(t, page)...)
		token := fmt.Sprint(field(t, page, "nextForwardToken"))
		page = logs.json("get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--limit", "2", "--next-token", token)
		if fmt.Sprint(field(t, page, "nextForwardToken")) == token {
			break
		}
	}
	if strings.Join(got, "|") != strings.Join(all, "|") {
		t.Errorf("get-log-events forward = %q; want %q", got, all)
	}
	// Backward from the tail: the latest first page, then older ones.
	got = nil
	page = logs.json("get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--limit", "2")
	for range 10 {
		got = append(messages(t, page), got...)
		token := fmt.Sprint(field(t, page, "nextBackwardToken"))
		page = logs.json("get-log-events", "--log-group-name", group, "--log-stream-name", stream, "--limit", "2", "--next-token", token)
		if fmt.Sprint(field(t, page, "nextBackwardToken")) == token {
			break
		}
	}
	if strings.Join(got, "|") != strings.Join(all, "|") {
		t.Errorf("get-log-events backward = %q; want %q", got, all)
	}

	// FilterLogEvents across the group's streams, by term and phrase.
	filtered := logs.json("filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR -deadlock")
	if got := strings.Join(messages(t, filtered), "|"); got != "GET /missing 404 ERROR|POST /orders 500 ERROR timeout" {
		t.Errorf("filter-log-events ERROR -deadlock = %s", got)
	}
	filtered = logs.json("filter-log-events", "--log-group-name", group, "--filter-pattern", `?deadlock ?"500 ERROR"`)
	if got := strings.Join(messages(t, filtered), "|"); got != "ERROR deadlock|POST /orders 500 ERROR timeout" {
		t.Errorf(`filter-log-events ?deadlock ?"500 ERROR" = %s`, got)
	}
	expectField(t, filtered, "ecs/db/task-2", "events", 0, "logStreamName")
	// The CLI pages through the results itself, one event at a time here.
	if n := len(messages(t, logs.json("filter-log-events", "--log-group-name", group, "--page-size", "1"))); n != 6 {
		t.Errorf("filter-log-events --page-size 1 returned %d events; want 6", n)
	}
	logs.refused("InvalidParameterException", "filter-log-events", "--log-group-name", group, "--filter-pattern", "{ $.level = \"error\" }")

	// Describe, retention.
	groups := logs.json("describe-log-groups", "--log-group-name-prefix", "/ecs/")
	expectField(t, groups, group, "logGroups", 0, "logGroupName")
	expectField(t, groups, "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*", "logGroups", 0, "arn")
	logs.json("put-retention-policy", "--log-group-name", group, "--retention-in-days", "7")
	expectField(t, logs.json("describe-log-groups", "--log-group-name-prefix", group), 7, "logGroups", 0, "retentionInDays")
	logs.refused("InvalidParameterException", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "2")
	streams := logs.json("describe-log-streams", "--log-group-name", group, "--order-by", "LastEventTime", "--descending")
	expectField(t, streams, stream, "logStreams", 0, "logStreamName")
	expectField(t, streams, "ecs/db/task-2", "logStreams", 1, "logStreamName")
	// JSON numbers decode as float64.
	expectField(t, streams, float64(now.Add(-time.Minute).UnixMilli()+4), "logStreams", 0, "lastEventTimestamp")
	logs.refused("ResourceNotFoundException", "get-log-events", "--log-group-name", "/ecs/nope", "--log-stream-name", stream)
	logs.refused("ResourceNotFoundException", "put-log-events", "--log-group-name", group, "--log-stream-name", "nope",
		"--log-events", fmt.Sprintf("timestamp=%d,message=x", now.UnixMilli()))

	// An ECR-only user may not read logs.
	viewer := logsCLI{awsCLI{t, bin, endpoint, parseKey(t, run(t, time.Minute, berthBin, "user", "create", "viewer", "--policy", "read-only", "--with-key", "--data-dir", srv.DataDir))}}
	viewer.refused("AccessDeniedException", "describe-log-groups")

	followLogs(t, logs, group, stream)
}

// followLogs runs `aws logs tail --follow` and appends lines while it
// runs: each must be printed.
func followLogs(t *testing.T, logs logsCLI, group, stream string) {
	t.Helper()
	tail := tailFollow(t, logs.awsCLI, group)
	// What is there already, then lines appended while it follows.
	tail.waitFor("GET /health 200", "ERROR deadlock")
	logs.putEvents(group, stream, time.Now(), "live line 1", "live line 2")
	tail.waitFor("live line 1", "live line 2")
	logs.putEvents(group, "ecs/db/task-2", time.Now(), "live line 3")
	tail.waitFor(stream+" live line 2", "ecs/db/task-2 live line 3")
	if n := strings.Count(tail.out.String(), "live line 1"); n != 1 {
		t.Errorf("tail printed live line 1 %d times; want once:\n%s", n, tail.out.String())
	}
}

// follower is a running `aws logs tail --follow`.
type follower struct {
	t      *testing.T
	out    syncBuffer
	exited chan error
}

// tailFollow starts `aws logs tail GROUP --follow` signed by c's key; the
// test's cleanup stops it. The CLI polls every five seconds.
func tailFollow(t *testing.T, c awsCLI, group string) *follower {
	t.Helper()
	tail := exec.Command(c.bin, "logs", "tail", group, "--follow", "--since", "1h", "--endpoint-url", c.endpoint)
	tail.Env = awsEnv(c.key)
	f := &follower{t: t, exited: make(chan error, 1)}
	tail.Stdout, tail.Stderr = &f.out, &f.out
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.exited <- tail.Wait() }()
	t.Cleanup(func() {
		select {
		case <-f.exited:
		default:
			tail.Process.Kill()
			<-f.exited
		}
	})
	return f
}

// waitFor returns once the tail has printed every one of want, and fails
// the test if it exits first or has not within a minute.
func (f *follower) waitFor(want ...string) {
	f.t.Helper()
	deadline := time.After(time.Minute)
	for {
		printed := f.out.String()
		missing := 0
		for _, w := range want {
			if !strings.Contains(printed, w) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		select {
		case err := <-f.exited:
			f.t.Fatalf("aws logs tail --follow exited (%v) before printing %q:\n%s", err, want, printed)
		case <-deadline:
			f.t.Fatalf("aws logs tail --follow did not print %q within a minute:\n%s", want, printed)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
