package ecs

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// FuzzTaskDefinition: whatever RegisterTaskDefinition is sent, validation
// answers without panicking, and what it accepts it accepts again
// unchanged (the index stores the normalised form, which RunTask
// normalises again with overrides).
func FuzzTaskDefinition(f *testing.F) {
	for _, s := range []string{
		`{"family":"web","memory":"512","containerDefinitions":[{"name":"app","image":"app:1"}]}`,
		`{"family":"f","cpu":".25 vCPU","memory":"0.5GB","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"containerDefinitions":[{"name":"a","image":"a","portMappings":[{"containerPort":80}],"healthCheck":{"command":["CMD","x"]}}]}`,
		`{"family":"f","memory":"512","containerDefinitions":[{"name":"a","image":"a","essential":false},{"name":"b","image":"b","dependsOn":[{"containerName":"a","condition":"SUCCESS"}]}]}`,
		`{"family":"f","containerDefinitions":[{"name":"a","image":"a","memory":5}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var td TaskDefinition
		if json.Unmarshal([]byte(body), &td) != nil {
			return
		}
		if err := td.normalise(); err != nil {
			if !strings.Contains(err.Error(), "ClientException") {
				t.Fatalf("refused with %v; want a ClientException", err)
			}
			return
		}
		first, _ := json.Marshal(td)
		var again TaskDefinition
		json.Unmarshal(first, &again)
		if err := again.normalise(); err != nil {
			t.Fatalf("accepted %s, then refused its normal form: %v", first, err)
		}
		if second, _ := json.Marshal(again); string(second) != string(first) {
			t.Fatalf("normalising twice changed it:\n%s\n%s", first, second)
		}
	})
}

// FuzzSizes: task cpu and memory strings read as whole positive numbers
// or not at all, and a number reads as itself.
func FuzzSizes(f *testing.F) {
	for _, s := range []string{"256", "1 vCPU", ".25 vcpu", "1GB", "0.5 GB", "512MB", "1e3", "-1", "NaN", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (int, bool){parseCPU, parseMemory} {
			n, ok := parse(s)
			if ok && n <= 0 {
				t.Fatalf("%q read as %d", s, n)
			}
			if ok {
				if m, ok := parse(strconv.Itoa(n)); !ok || m != n {
					t.Fatalf("%q read as %d, which reads as %d, %v", s, n, m, ok)
				}
			}
		}
	})
}

// FuzzReferences: a cluster, task definition, task or service named by a client
// reads as one that builds back to an ARN of this account, or not at
// all.
func FuzzReferences(f *testing.F) {
	a := newARNs("000000000000", "us-east-1")
	for _, s := range []string{"default", "web:3", "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
		"arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef",
		"arn:aws:ecs:us-east-1:000000000000:cluster/dev", "0123456789abcdef0123456789abcdef",
		"arn:aws:ecs:us-east-1:000000000000:service/default/web", "arn:aws:ecs:us-east-1:000000000000:service/web", "arn:aws:ecs:us-east-1:000000000000:service/../web", "arn:aws:ecs:eu-west-1:1:cluster/x", "../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if name, ok := a.clusterName(s); ok && (!clusterNamePattern.MatchString(name) || strings.Contains(a.cluster(name), "..")) {
			t.Fatalf("cluster %q read as %q", s, name)
		}
		if family, rev, ok := a.taskDefinitionRef(s); ok && (!familyPattern.MatchString(family) || rev < 0) {
			t.Fatalf("task definition %q read as %q:%d", s, family, rev)
		}
		if _, id, ok := a.taskRef(s); ok && !taskIDPattern.MatchString(id) {
			t.Fatalf("task %q read as id %q", s, id)
		}
		if cluster, name, ok := a.serviceRef(s); ok && (!clusterNamePattern.MatchString(name) || (cluster != "" && !clusterNamePattern.MatchString(cluster))) {
			t.Fatalf("service %q read as %q in cluster %q", s, name, cluster)
		}
	})
}
