package batch

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Bad input gets Batch's ClientException (400), never a server fault.
func TestBadInput(t *testing.T) {
	e := newEnv(t, false)
	e.queue("q", 4, 1)
	e.definition("d", []string{"exit", "0"}, nil)
	known := e.submit(map[string]any{"jobName": "known", "jobQueue": "q", "jobDefinition": "d"})
	for _, tt := range []struct {
		name, op string
		in       any
		want     string // in the message
	}{
		{"array of 1", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "arrayProperties": map[string]int{"size": 1}}, "between 2 and 10000"},
		{"array of 10,001", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "arrayProperties": map[string]int{"size": 10001}}, "between 2 and 10000"},
		{"unknown dependency", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "dependsOn": []map[string]string{{"jobId": "nope"}}}, "nope does not exist"},
		{"unknown queue", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "nope", "jobDefinition": "d"}, "nope does not exist"},
		{"unknown definition", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "nope:3"}, "does not exist"},
		{"N_TO_N on a single job", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "arrayProperties": map[string]int{"size": 2}, "dependsOn": []map[string]string{{"jobId": known, "type": "N_TO_N"}}}, "same size"},
		{"bad job name", "SubmitJob", map[string]any{"jobName": "a b", "jobQueue": "q", "jobDefinition": "d"}, "job name"},
		{"reserved variable", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "containerOverrides": map[string]any{"environment": []map[string]string{{"name": "AWS_BATCH_JOB_ID", "value": "x"}}}}, "reserved"},
		{"11 attempts", "SubmitJob", map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "retryStrategy": map[string]int{"attempts": 11}}, "between 1 and 10"},
		{"malformed JSON", "SubmitJob", `{"jobName":`, "not a valid JSON"},
		{"wrong type", "SubmitJob", `{"jobName": 5}`, "jobName"},
		{"multi-node listing", "ListJobs", map[string]any{"multiNodeJobId": known}, "multi-node parallel jobs are not supported"},
		{"list without queue", "ListJobs", map[string]any{}, "jobQueue"},
		{"bad filter", "ListJobs", map[string]any{"jobQueue": "q", "filters": []map[string]any{{"name": "COLOUR", "values": []string{"x"}}}}, "filter"},
		{"bad status", "ListJobs", map[string]any{"jobQueue": "q", "jobStatus": "DONE"}, "jobStatus"},
		{"bad nextToken", "ListJobs", map[string]any{"jobQueue": "q", "nextToken": "!!"}, "nextToken"},
		{"cancel unknown", "CancelJob", map[string]any{"jobId": "nope", "reason": "r"}, "does not exist"},
		{"terminate without reason", "TerminateJob", map[string]any{"jobId": known}, "reason"},
		{"multinode definition", "RegisterJobDefinition", map[string]any{"jobDefinitionName": "m", "type": "multinode"}, "multinode"},
		{"no memory", "RegisterJobDefinition", map[string]any{"jobDefinitionName": "m", "type": "container", "containerProperties": map[string]any{"image": "x", "vcpus": 1}}, "MEMORY"},
		{"GPU", "RegisterJobDefinition", map[string]any{"jobDefinitionName": "m", "type": "container", "containerProperties": map[string]any{"image": "x", "resourceRequirements": []map[string]string{{"type": "GPU", "value": "1"}}}}, "GPU"},
		{"short timeout", "RegisterJobDefinition", map[string]any{"jobDefinitionName": "m", "type": "container", "timeout": map[string]int{"attemptDurationSeconds": 0}, "containerProperties": map[string]any{"image": "x", "vcpus": 1, "memory": 8}}, "attemptDurationSeconds"},
		{"bad action", "RegisterJobDefinition", map[string]any{"jobDefinitionName": "m", "type": "container", "retryStrategy": map[string]any{"attempts": 2, "evaluateOnExit": []map[string]string{{"onExitCode": "1", "action": "MAYBE"}}}, "containerProperties": map[string]any{"image": "x", "vcpus": 1, "memory": 8}}, "action"},
		{"queue on unknown environment", "CreateJobQueue", map[string]any{"jobQueueName": "x", "priority": 1, "computeEnvironmentOrder": []map[string]any{{"order": 1, "computeEnvironment": "nope"}}}, "does not exist"},
		{"environment twice", "CreateComputeEnvironment", map[string]any{"computeEnvironmentName": "q", "type": "UNMANAGED"}, "already exists"},
		{"environment of no vCPUs", "CreateComputeEnvironment", map[string]any{"computeEnvironmentName": "z", "type": "MANAGED", "computeResources": map[string]any{"type": "EC2", "maxvCpus": 0}}, "maxvCpus"},
		{"delete enabled environment", "DeleteComputeEnvironment", map[string]any{"computeEnvironment": "q"}, "DISABLED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := e.call(tt.op, tt.in)
			if status != http.StatusBadRequest || out["__type"] != typeClient {
				t.Fatalf("%d %v; want 400 ClientException", status, out)
			}
			if msg, _ := out["message"].(string); !strings.Contains(strings.ToLower(msg), strings.ToLower(tt.want)) {
				t.Errorf("message %q; want it to mention %q", msg, tt.want)
			}
		})
	}
}

// Resources and jobs are described as Batch shows them: ARNs, revisions,
// epoch-millisecond times, ListJobs' default of RUNNING, filters, tags.
func TestDescribeAndList(t *testing.T) {
	e := newEnv(t, false)
	e.queue("q", 4, 1)
	e.definition("d", []string{"exit", "Ref::code"}, map[string]any{"parameters": map[string]string{"code": "0"}})
	out := e.must("RegisterJobDefinition", map[string]any{"jobDefinitionName": "d", "type": "container",
		"containerProperties": map[string]any{"image": "x", "vcpus": 2, "memory": 128}})
	if out["revision"] != float64(2) || out["jobDefinitionArn"] != "arn:aws:batch:us-east-1:000000000000:job-definition/d:2" {
		t.Errorf("second revision: %v", out)
	}
	e.must("DeregisterJobDefinition", map[string]any{"jobDefinition": "d:2"})
	defs := e.must("DescribeJobDefinitions", map[string]any{"jobDefinitionName": "d", "status": "ACTIVE"})["jobDefinitions"].([]any)
	if len(defs) != 1 || defs[0].(map[string]any)["revision"] != float64(1) {
		t.Errorf("ACTIVE revisions: %v", defs)
	}
	id := e.submit(map[string]any{"jobName": "named-1", "jobQueue": "arn:aws:batch:us-east-1:000000000000:job-queue/q", "jobDefinition": "d", "tags": map[string]string{"team": "a"}})
	j := e.describe(id)
	if j.Status != StatusSubmitted || j.JobDefinition != "arn:aws:batch:us-east-1:000000000000:job-definition/d:1" ||
		j.CreatedAt < 1_600_000_000_000 || strings.Join(j.Container.Command, " ") != "exit 0" {
		t.Errorf("submitted job: %+v", j)
	}
	if n := len(e.must("ListJobs", map[string]any{"jobQueue": "q"})["jobSummaryList"].([]any)); n != 0 {
		t.Errorf("ListJobs without a status lists %d jobs; only RUNNING ones are listed", n)
	}
	for _, f := range []map[string]any{{"name": "JOB_NAME", "values": []string{"named-*"}}, {"name": "AFTER_CREATED_AT", "values": []string{"1"}}} {
		list := e.must("ListJobs", map[string]any{"jobQueue": "q", "filters": []any{f}})["jobSummaryList"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["jobId"] != id {
			t.Errorf("ListJobs with filter %v: %v", f, list)
		}
	}
	if list := e.must("ListJobs", map[string]any{"jobQueue": "q", "filters": []any{map[string]any{"name": "JOB_NAME", "values": []string{"other"}}}})["jobSummaryList"].([]any); len(list) != 0 {
		t.Errorf("ListJobs with a name that matches nothing: %v", list)
	}
	e.must("CancelJob", map[string]any{"jobId": id, "reason": "changed my mind"})
	if j := e.describe(id); j.Status != StatusFailed || j.StatusReason != "changed my mind" || !j.IsCancelled {
		t.Errorf("cancelled job: %s (%s)", j.Status, j.StatusReason)
	}
	jobARN := "arn:aws:batch:us-east-1:000000000000:job/" + id
	status, _ := e.call("tags/"+jobARN, map[string]any{"tags": map[string]string{"stage": "dev"}})
	if status != 200 {
		t.Fatalf("TagResource: %d", status)
	}
	resp, err := http.Get(e.url + "/v1/tags/" + jobARN)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("ListTagsForResource: %d", resp.StatusCode)
	}
	if j := e.describe(id); j.Tags["team"] != "a" || j.Tags["stage"] != "dev" {
		t.Errorf("tags: %v", j.Tags)
	}
	ces := e.must("DescribeComputeEnvironments", map[string]any{"computeEnvironments": []string{"q"}})["computeEnvironments"].([]any)
	if len(ces) != 1 || ces[0].(map[string]any)["status"] != "VALID" || ces[0].(map[string]any)["state"] != "ENABLED" {
		t.Errorf("compute environment: %v", ces)
	}
}

// A job starts only while its environment's vCPUs and the host's memory
// stay within their caps.
func TestRoom(t *testing.T) {
	e := newEnv(t, false, func(c *Config) { c.HostMemoryMiB = 100 })
	e.queue("q", 2, 1)
	a := e.api
	q := a.queues["q"]
	first := &job{State: jobState{CE: "q", MilliCPU: 1000, MemoryMiB: 64}}
	if ce := a.room(q, 1000, 64); ce == nil {
		t.Fatal("no room in an idle environment")
	} else {
		a.hold(first, ce)
	}
	if a.room(q, 1000, 64) != nil {
		t.Error("room for 128 MiB on a host of 100 MiB")
	}
	if a.room(q, 1000, 30) == nil {
		t.Error("no room for a second vCPU and 30 MiB")
	}
	if a.room(q, 1500, 1) != nil {
		t.Error("room for 2.5 vCPUs in an environment of 2")
	}
	a.release(first)
	a.release(first) // twice is harmless
	if ce := a.envs["q"]; ce.usedMilliCPU != 0 || a.usedMemoryMiB != 0 {
		t.Errorf("after release: %d milli-vCPUs, %d MiB held", ce.usedMilliCPU, a.usedMemoryMiB)
	}
}

// Cancelling or terminating an array child before its turn fails it
// with the reason given, out of order; its parent counts it, ListJobs
// lists it, and a second call changes nothing.
func TestEndChildBeforeItsTurn(t *testing.T) {
	e := newEnv(t, false)
	e.queue("q", 2, 1)
	e.definition("d", []string{"exit", "0"}, nil)
	id := e.submit(map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "arrayProperties": map[string]int{"size": 5}})
	e.must("CancelJob", map[string]any{"jobId": childID(id, 3), "reason": "not this one"})
	e.must("TerminateJob", map[string]any{"jobId": childID(id, 1), "reason": "nor this"})
	e.must("CancelJob", map[string]any{"jobId": childID(id, 3), "reason": "again"})
	for i, reason := range map[int]string{3: "not this one", 1: "nor this"} {
		c := e.describe(childID(id, i))
		if c.Status != StatusFailed || c.StatusReason != reason || len(c.Attempts) != 0 || c.StartedAt != 0 {
			t.Errorf("child %d: %s (%s), %d attempts", i, c.Status, c.StatusReason, len(c.Attempts))
		}
	}
	if c := e.describe(childID(id, 3)); !c.IsCancelled || c.IsTerminated {
		t.Errorf("cancelled child: isCancelled %v, isTerminated %v", c.IsCancelled, c.IsTerminated)
	}
	if c := e.describe(childID(id, 1)); !c.IsTerminated {
		t.Error("terminated child: isTerminated false")
	}
	p := e.describe(id)
	if s := p.ArrayProperties.StatusSummary; s[StatusFailed] != 2 || s[StatusPending] != 3 {
		t.Errorf("parent's summary: %v", s)
	}
	out := e.must("ListJobs", map[string]any{"arrayJobId": id, "jobStatus": "FAILED"})
	if n := len(out["jobSummaryList"].([]any)); n != 2 {
		t.Errorf("ListJobs(FAILED) lists %d children; want 2", n)
	}
	a := e.api
	a.mu.Lock()
	defer a.mu.Unlock()
	if pj := a.jobs[id]; pj.next != 0 || pj.made() != 2 {
		t.Errorf("parent: next %d, made %d; want 0 and 2", pj.next, pj.made())
	}
}

// The host's memory is read from /proc/meminfo; where that is missing
// or malformed the error says so (and New caps by vCPUs only).
func TestHostMemory(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"good": "MemFree: 1 kB\nMemTotal:     2048000 kB\n", "none": "MemFree: 1 kB\n", "bad": "MemTotal: lots\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
	}
	if m, err := hostMemoryMiB(filepath.Join(dir, "good")); err != nil || m != 2000 {
		t.Errorf("good meminfo: %d MiB, %v", m, err)
	}
	for _, name := range []string{"none", "bad", "missing"} {
		if m, err := hostMemoryMiB(filepath.Join(dir, name)); err == nil || m != 0 {
			t.Errorf("%s meminfo: %d MiB, no error", name, m)
		}
	}
}

// ListJobs --array-job-id pages through children made and not made
// alike in index order, and its filters apply to both.
func TestListArrayPages(t *testing.T) {
	e := newEnv(t, false)
	e.queue("q", 2, 1)
	e.definition("d", []string{"exit", "0"}, nil)
	id := e.submit(map[string]any{"jobName": "a", "jobQueue": "q", "jobDefinition": "d", "arrayProperties": map[string]int{"size": 5},
		"dependsOn": []map[string]string{{"type": "SEQUENTIAL"}}})
	e.must("CancelJob", map[string]any{"jobId": childID(id, 3), "reason": "not this one"})
	var got []string
	for token := ""; ; {
		in := map[string]any{"arrayJobId": id, "filters": []any{map[string]any{"name": "JOB_NAME", "values": []string{"a"}}}, "maxResults": 2}
		if token != "" {
			in["nextToken"] = token
		}
		out := e.must("ListJobs", in)
		for _, s := range out["jobSummaryList"].([]any) {
			got = append(got, s.(map[string]any)["jobId"].(string)+" "+s.(map[string]any)["status"].(string))
		}
		if token, _ = out["nextToken"].(string); token == "" {
			break
		}
	}
	var want []string
	for i := range 5 {
		st := StatusPending
		if i == 3 {
			st = StatusFailed
		}
		want = append(want, childID(id, i)+" "+st)
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages: %q; want %q", got, want)
	}
	if list := e.must("ListJobs", map[string]any{"arrayJobId": id, "filters": []any{map[string]any{"name": "JOB_NAME", "values": []string{"b*"}}}})["jobSummaryList"].([]any); len(list) != 0 {
		t.Errorf("children of another name: %v", list)
	}
}
