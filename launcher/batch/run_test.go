package batch

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A job that exits 0 succeeds and one that exits 3 fails, each with its
// attempt, exit code, AWS's reason, AWS_BATCH_* variables and its output
// in /aws/batch/job under <definition>/default/<task id>.
func TestJobSucceedsOrFails(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 4, 1)
	e.definition("ok", []string{"env", "AWS_BATCH_JQ_NAME"}, nil)
	e.definition("bad", []string{"exit", "Ref::code"}, map[string]any{"parameters": map[string]string{"code": "9"}})
	ok := e.submit(map[string]any{"jobName": "ok", "jobQueue": "q", "jobDefinition": "ok"})
	bad := e.submit(map[string]any{"jobName": "bad", "jobQueue": "q", "jobDefinition": "bad", "parameters": map[string]string{"code": "3"}})

	j := e.wait(ok)
	if j.Status != StatusSucceeded || len(j.Attempts) != 1 || *j.Attempts[0].Container.ExitCode != 0 || j.StatusReason != reasonContainerExited {
		t.Fatalf("ok job: %+v", j)
	}
	stream := j.Attempts[0].Container.LogStreamName
	if !strings.HasPrefix(stream, "ok/default/") || j.Container.LogStreamName != stream {
		t.Errorf("log stream %q", stream)
	}
	if got := e.logs.lines(stream); !slices.Equal(got, []string{"q"}) {
		t.Errorf("the job's output: %q; want AWS_BATCH_JQ_NAME=q", got)
	}
	if j.StartedAt == 0 || j.StoppedAt < j.StartedAt || j.CreatedAt > j.StartedAt {
		t.Errorf("times: created %d started %d stopped %d", j.CreatedAt, j.StartedAt, j.StoppedAt)
	}
	j = e.wait(bad)
	if j.Status != StatusFailed || len(j.Attempts) != 1 || *j.Container.ExitCode != 3 || j.StatusReason != reasonContainerExited {
		t.Fatalf("bad job: %+v", j)
	}
	if !slices.Equal(j.Container.Command, []string{"exit", "3"}) {
		t.Errorf("command %q: Ref::code is the submitted parameter", j.Container.Command)
	}
}

// A job retried on its exit code succeeds on its second attempt; one
// told to EXIT on its code fails after the first, though it had
// attempts left.
func TestRetries(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 4, 1)
	e.definition("flaky", []string{"exit-unless-attempt", "2", "3"}, map[string]any{
		"retryStrategy": map[string]any{"attempts": 3, "evaluateOnExit": []map[string]string{
			{"onExitCode": "3", "action": "RETRY"}, {"onExitCode": "*", "action": "EXIT"}}}})
	retried := e.submit(map[string]any{"jobName": "retried", "jobQueue": "q", "jobDefinition": "flaky"})
	exited := e.submit(map[string]any{"jobName": "exited", "jobQueue": "q", "jobDefinition": "flaky",
		"retryStrategy": map[string]any{"attempts": 3, "evaluateOnExit": []map[string]string{{"onExitCode": "3", "action": "exit"}}}})

	j := e.wait(retried)
	if j.Status != StatusSucceeded || len(j.Attempts) != 2 {
		t.Fatalf("retried job: %s with %d attempts", j.Status, len(j.Attempts))
	}
	if *j.Attempts[0].Container.ExitCode != 3 || *j.Attempts[1].Container.ExitCode != 0 ||
		j.Attempts[0].Container.LogStreamName == j.Attempts[1].Container.LogStreamName {
		t.Errorf("attempts: %+v", j.Attempts)
	}
	j = e.wait(exited)
	if j.Status != StatusFailed || len(j.Attempts) != 1 || *j.Attempts[0].Container.ExitCode != 3 {
		t.Errorf("exited job: %s with %d attempts", j.Status, len(j.Attempts))
	}
}

// An attempt over its timeout is stopped and the job fails with AWS's
// reason, without a retry.
func TestTimeout(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 4, 1)
	e.definition("slow", []string{"sleep"}, map[string]any{"retryStrategy": map[string]any{"attempts": 2}})
	id := e.submit(map[string]any{"jobName": "slow", "jobQueue": "q", "jobDefinition": "slow",
		"timeout": map[string]int{"attemptDurationSeconds": 1}})
	j := e.wait(id)
	if j.Status != StatusFailed || j.StatusReason != reasonTimeout || len(j.Attempts) != 1 {
		t.Fatalf("timed-out job: %s (%s) with %d attempts", j.Status, j.StatusReason, len(j.Attempts))
	}
	if d := j.Attempts[0].StoppedAt - j.Attempts[0].StartedAt; d < 1000 || d > 20000 {
		t.Errorf("the attempt ran %d ms; its timeout is 1 s", d)
	}
}

// An array of 10: each child sees its own index, and the parent
// succeeds with all ten counted SUCCEEDED.
func TestArrayJob(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 4, 1)
	e.definition("fan", []string{"env", "AWS_BATCH_JOB_ARRAY_INDEX"}, nil)
	id := e.submit(map[string]any{"jobName": "fan", "jobQueue": "q", "jobDefinition": "fan", "arrayProperties": map[string]int{"size": 10}})
	p := e.wait(id)
	if p.Status != StatusSucceeded || p.ArrayProperties == nil || p.ArrayProperties.StatusSummary[StatusSucceeded] != 10 {
		t.Fatalf("parent: %s %+v", p.Status, p.ArrayProperties)
	}
	var seen []string
	for i := range 10 {
		c := e.describe(childID(id, i))
		if c.Status != StatusSucceeded || c.ArrayProperties == nil || *c.ArrayProperties.Index != i {
			t.Fatalf("child %d: %s %+v", i, c.Status, c.ArrayProperties)
		}
		seen = append(seen, e.logs.lines(c.Container.LogStreamName)...)
	}
	slices.Sort(seen)
	if want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; !slices.Equal(seen, want) {
		t.Errorf("indexes the children printed: %q", seen)
	}
	out := e.must("ListJobs", map[string]any{"arrayJobId": id, "jobStatus": "SUCCEEDED"})
	if n := len(out["jobSummaryList"].([]any)); n != 10 {
		t.Errorf("ListJobs(arrayJobId) lists %d children", n)
	}
}

// A job waits for the job it depends on; SEQUENTIAL children run one
// after another; N_TO_N children wait for their counterparts; a failed
// dependency fails its dependent.
func TestDependencies(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 8, 1)
	e.definition("nap", []string{"nap", "300ms"}, nil)
	e.definition("fail", []string{"exit", "1"}, nil)
	first := e.submit(map[string]any{"jobName": "first", "jobQueue": "q", "jobDefinition": "nap"})
	second := e.submit(map[string]any{"jobName": "second", "jobQueue": "q", "jobDefinition": "nap", "dependsOn": []map[string]string{{"jobId": first}}})
	seq := e.submit(map[string]any{"jobName": "seq", "jobQueue": "q", "jobDefinition": "nap",
		"arrayProperties": map[string]int{"size": 3}, "dependsOn": []map[string]string{{"type": "SEQUENTIAL"}}})
	nton := e.submit(map[string]any{"jobName": "nton", "jobQueue": "q", "jobDefinition": "nap",
		"arrayProperties": map[string]int{"size": 3}, "dependsOn": []map[string]string{{"jobId": seq, "type": "N_TO_N"}}})
	failing := e.submit(map[string]any{"jobName": "failing", "jobQueue": "q", "jobDefinition": "fail"})
	dependent := e.submit(map[string]any{"jobName": "dependent", "jobQueue": "q", "jobDefinition": "nap", "dependsOn": []map[string]string{{"jobId": failing}}})

	a, b := e.wait(first), e.wait(second)
	if b.Status != StatusSucceeded || b.StartedAt < a.StoppedAt {
		t.Errorf("second started at %d, before first stopped at %d", b.StartedAt, a.StoppedAt)
	}
	e.wait(seq)
	e.wait(nton)
	for i := range 3 {
		s, n := e.describe(childID(seq, i)), e.describe(childID(nton, i))
		if n.StartedAt < s.StoppedAt {
			t.Errorf("N_TO_N child %d started at %d, before its counterpart stopped at %d", i, n.StartedAt, s.StoppedAt)
		}
		if i > 0 {
			if prev := e.describe(childID(seq, i-1)); s.StartedAt < prev.StoppedAt {
				t.Errorf("SEQUENTIAL child %d started at %d, before child %d stopped at %d", i, s.StartedAt, i-1, prev.StoppedAt)
			}
		}
	}
	d := e.wait(dependent)
	if d.Status != StatusFailed || d.StatusReason != reasonDependency || len(d.Attempts) != 0 {
		t.Errorf("dependent of a failed job: %s (%s), %d attempts", d.Status, d.StatusReason, len(d.Attempts))
	}
}

// With maxvCpus 2, six one-vCPU jobs never run more than two at once;
// and with one vCPU, the higher-priority queue's job goes first.
func TestCapacityAndPriority(t *testing.T) {
	e := newEnv(t, true)
	e.queue("two", 2, 1)
	e.definition("nap", []string{"nap", "1s"}, nil)
	var ids []string
	for i := range 6 {
		ids = append(ids, e.submit(map[string]any{"jobName": "j" + string(rune('0'+i)), "jobQueue": "two", "jobDefinition": "nap"}))
	}
	var spans [][2]int64
	for _, id := range ids {
		j := e.wait(id)
		if j.Status != StatusSucceeded {
			t.Fatalf("job %s: %s (%s)", id, j.Status, j.StatusReason)
		}
		spans = append(spans, [2]int64{j.StartedAt, j.StoppedAt})
	}
	most := 0
	for _, s := range spans {
		n := 0
		for _, o := range spans {
			if o[0] <= s[0] && s[0] < o[1] {
				n++
			}
		}
		most = max(most, n)
	}
	t.Logf("most jobs running at once with maxvCpus 2: %d", most)
	if most > 2 || most < 2 {
		t.Errorf("%d jobs ran at once; want 2", most)
	}

	// Two queues on one disabled environment of 1 vCPU: the low one's job
	// is submitted first, but the high one's starts first.
	e.must("CreateComputeEnvironment", map[string]any{"computeEnvironmentName": "one", "type": "MANAGED", "state": "DISABLED",
		"computeResources": map[string]any{"type": "FARGATE", "maxvCpus": 1, "subnets": []string{}}})
	for name, prio := range map[string]int{"low": 1, "high": 10} {
		e.must("CreateJobQueue", map[string]any{"jobQueueName": name, "priority": prio,
			"computeEnvironmentOrder": []map[string]any{{"order": 1, "computeEnvironment": "one"}}})
	}
	low := e.submit(map[string]any{"jobName": "low", "jobQueue": "low", "jobDefinition": "nap"})
	high := e.submit(map[string]any{"jobName": "high", "jobQueue": "high", "jobDefinition": "nap"})
	time.Sleep(200 * time.Millisecond)
	e.must("UpdateComputeEnvironment", map[string]any{"computeEnvironment": "one", "state": "ENABLED"})
	l, h := e.wait(low), e.wait(high)
	if h.StartedAt > l.StartedAt || l.StartedAt < h.StoppedAt {
		t.Errorf("high-priority job ran %d–%d, low-priority %d–%d", h.StartedAt, h.StoppedAt, l.StartedAt, l.StoppedAt)
	}
}

// A job whose image the registry lacks fails at once with
// CannotPullContainerError, without hanging.
func TestMissingImage(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 4, 1)
	e.must("RegisterJobDefinition", map[string]any{"jobDefinitionName": "missing", "type": "container",
		"containerProperties": map[string]any{"image": "test/missing:1", "vcpus": 1, "memory": 64}})
	j := e.wait(e.submit(map[string]any{"jobName": "missing", "jobQueue": "q", "jobDefinition": "missing"}))
	if j.Status != StatusFailed || !strings.HasPrefix(j.StatusReason, "CannotPullContainerError: ") {
		t.Errorf("job of a missing image: %s (%s)", j.Status, j.StatusReason)
	}
}

// Restarting berth loses no job: a running job is reattached, one that
// exited meanwhile gets its real exit code, a queued one runs.
func TestRestart(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 2, 1)
	e.definition("nap", []string{"nap", "4s"}, nil)
	e.definition("quick", []string{"nap", "1s", "5"}, nil)
	long := e.submit(map[string]any{"jobName": "long", "jobQueue": "q", "jobDefinition": "nap"})
	quick := e.submit(map[string]any{"jobName": "quick", "jobQueue": "q", "jobDefinition": "quick"})
	queued := e.submit(map[string]any{"jobName": "queued", "jobQueue": "q", "jobDefinition": "nap"})
	deadline := time.Now().Add(time.Minute)
	for e.describe(long).Status != StatusRunning || e.describe(quick).Status != StatusRunning {
		if time.Now().After(deadline) {
			t.Fatal("the jobs did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.halt()
	time.Sleep(2 * time.Second) // quick exits while berth is down
	e.start(dockerEngine(t))
	if j := e.wait(quick); j.Status != StatusFailed || j.Container.ExitCode == nil || *j.Container.ExitCode != 5 {
		t.Errorf("job that exited during the restart: %s, exit %v", j.Status, j.Container.ExitCode)
	}
	for _, id := range []string{long, queued} {
		if j := e.wait(id); j.Status != StatusSucceeded || len(j.Attempts) != 1 {
			t.Errorf("job %s after the restart: %s (%s), %d attempts", j.JobName, j.Status, j.StatusReason, len(j.Attempts))
		}
	}
}

// An array on one vCPU: while a child runs, the parent is PENDING (AWS
// gives a parent SUBMITTED, PENDING, SUCCEEDED or FAILED only) and its
// summary counts the running child; a child terminated before its turn
// never runs, the others do, and the parent then fails with all three
// counted.
func TestArrayParentStatus(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 1, 1)
	e.definition("nap", []string{"nap", "1s"}, nil)
	id := e.submit(map[string]any{"jobName": "arr", "jobQueue": "q", "jobDefinition": "nap", "arrayProperties": map[string]int{"size": 3}})
	e.must("TerminateJob", map[string]any{"jobId": childID(id, 2), "reason": "skip the last"})
	e.waitFor(childID(id, 0), StatusRunning)
	p := e.describe(id)
	s := p.ArrayProperties.StatusSummary
	if p.Status != StatusPending || s[StatusRunning]+s[StatusSucceeded] < 1 || s[StatusFailed] != 1 {
		t.Errorf("parent while child 0 runs: %s %v", p.Status, s)
	}
	p = e.wait(id)
	s = p.ArrayProperties.StatusSummary
	if p.Status != StatusFailed || s[StatusSucceeded] != 2 || s[StatusFailed] != 1 {
		t.Errorf("parent at the end: %s %v", p.Status, s)
	}
	if c := e.describe(childID(id, 2)); c.StatusReason != "skip the last" || len(c.Attempts) != 0 {
		t.Errorf("terminated child: %s (%s), %d attempts", c.Status, c.StatusReason, len(c.Attempts))
	}
}

// An array whose dependency fails fails with all its children counted
// FAILED, those cancelled before included.
func TestArrayOfFailedDependency(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 2, 1)
	e.definition("fail", []string{"exit", "1"}, nil)
	e.definition("nap", []string{"nap", "100ms"}, nil)
	failing := e.submit(map[string]any{"jobName": "failing", "jobQueue": "q", "jobDefinition": "fail"})
	id := e.submit(map[string]any{"jobName": "arr", "jobQueue": "q", "jobDefinition": "nap",
		"arrayProperties": map[string]int{"size": 4}, "dependsOn": []map[string]string{{"jobId": failing}}})
	e.must("CancelJob", map[string]any{"jobId": childID(id, 2), "reason": "not needed"})
	p := e.wait(id)
	if s := p.ArrayProperties.StatusSummary; p.Status != StatusFailed || p.StatusReason != reasonDependency || s[StatusFailed] != 4 {
		t.Errorf("array of a failed dependency: %s (%s) %v", p.Status, p.StatusReason, s)
	}
	if c := e.describe(childID(id, 2)); c.StatusReason != "not needed" {
		t.Errorf("the child cancelled first: %s (%s)", c.Status, c.StatusReason)
	}
}

// A child cancelled before its turn (out of order) stays FAILED with its
// reason across a restart and is never run; the others run, and the
// parent counts it before and after the restart, fails with it, and
// stays so once reloaded again.
func TestRestartKeepsChildEndedBeforeItsTurn(t *testing.T) {
	e := newEnv(t, true)
	e.queue("q", 1, 1)
	e.definition("nap", []string{"nap", "1s"}, nil)
	id := e.submit(map[string]any{"jobName": "arr", "jobQueue": "q", "jobDefinition": "nap", "arrayProperties": map[string]int{"size": 4}})
	e.must("CancelJob", map[string]any{"jobId": childID(id, 2), "reason": "not this one"})
	e.waitFor(childID(id, 0), StatusRunning)
	e.halt()
	e.start(dockerEngine(t))
	if s := e.describe(id).ArrayProperties.StatusSummary; s[StatusFailed] != 1 || s[StatusSucceeded]+s[StatusRunning]+s[StatusStarting]+s[StatusRunnable] != 3 {
		t.Errorf("parent's summary after the restart: %v", s)
	}
	p := e.wait(id)
	if s := p.ArrayProperties.StatusSummary; p.Status != StatusFailed || s[StatusSucceeded] != 3 || s[StatusFailed] != 1 {
		t.Errorf("parent at the end: %s %v", p.Status, s)
	}
	check := func(when string) {
		t.Helper()
		for i := range 4 {
			c := e.describe(childID(id, i))
			if i == 2 {
				if c.Status != StatusFailed || c.StatusReason != "not this one" || !c.IsCancelled || len(c.Attempts) != 0 || c.StartedAt != 0 {
					t.Errorf("%s: the cancelled child: %s (%s), cancelled %v, %d attempts, started %d", when, c.Status, c.StatusReason, c.IsCancelled, len(c.Attempts), c.StartedAt)
				}
				continue
			}
			if c.Status != StatusSucceeded || len(c.Attempts) != 1 {
				t.Errorf("%s: child %d: %s (%s), %d attempts", when, i, c.Status, c.StatusReason, len(c.Attempts))
			}
		}
	}
	check("after the run")
	e.halt()
	e.start(dockerEngine(t))
	p = e.describe(id)
	if s := p.ArrayProperties.StatusSummary; p.Status != StatusFailed || s[StatusSucceeded] != 3 || s[StatusFailed] != 1 {
		t.Errorf("parent reloaded: %s %v", p.Status, s)
	}
	check("reloaded")
}
