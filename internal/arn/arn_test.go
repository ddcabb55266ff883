package arn

import (
	"errors"
	"strings"
	"testing"
)

func TestBuildAndParse(t *testing.T) {
	s := Scope{Region: "eu-west-1", AccountID: "123456789012"}
	tests := []struct {
		arn      ARN
		text     string
		service  string
		typ, id  string
		function [2]string // name, qualifier
		revision int
		cluster  string
	}{
		{arn: s.User("alice"), text: "arn:aws:iam::123456789012:user/alice", service: IAM, typ: "user", id: "alice"},
		{arn: s.Repository("team/app"), text: "arn:aws:ecr:eu-west-1:123456789012:repository/team/app", service: ECR, typ: "repository", id: "team/app"},
		{arn: s.Cluster("default"), text: "arn:aws:ecs:eu-west-1:123456789012:cluster/default", service: ECS, typ: "cluster", id: "default"},
		{arn: s.TaskDefinition("web", 3), text: "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3", service: ECS, typ: "task-definition", id: "web:3", revision: 3},
		{arn: s.Task("default", "abc123"), text: "arn:aws:ecs:eu-west-1:123456789012:task/default/abc123", service: ECS, typ: "task", id: "default/abc123", cluster: "default"},
		{arn: s.ECSService("default", "web"), text: "arn:aws:ecs:eu-west-1:123456789012:service/default/web", service: ECS, typ: "service", id: "default/web", cluster: "default"},
		{arn: s.ContainerInstance("default", "i-1"), text: "arn:aws:ecs:eu-west-1:123456789012:container-instance/default/i-1", service: ECS, typ: "container-instance", id: "default/i-1", cluster: "default"},
		{arn: s.LogGroup("/aws/lambda/hello"), text: "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hello", service: Logs, typ: "log-group", id: "/aws/lambda/hello"},
		{arn: s.LogStream("/ecs/web", "ecs/app/1"), text: "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/web:log-stream:ecs/app/1", service: Logs, typ: "log-group", id: "/ecs/web:log-stream:ecs/app/1"},
		{arn: s.LogStream("", ""), text: "arn:aws:logs:eu-west-1:123456789012:log-group::log-stream:", service: Logs, typ: "log-group", id: ":log-stream:"},
		{arn: s.Function("hello", ""), text: "arn:aws:lambda:eu-west-1:123456789012:function:hello", service: Lambda, typ: "function", id: "hello", function: [2]string{"hello", ""}},
		{arn: s.Function("hello", "prod"), text: "arn:aws:lambda:eu-west-1:123456789012:function:hello:prod", service: Lambda, typ: "function", id: "hello:prod", function: [2]string{"hello", "prod"}},
		{arn: s.ComputeEnvironment("local"), text: "arn:aws:batch:eu-west-1:123456789012:compute-environment/local", service: Batch, typ: "compute-environment", id: "local"},
		{arn: s.JobQueue("high"), text: "arn:aws:batch:eu-west-1:123456789012:job-queue/high", service: Batch, typ: "job-queue", id: "high"},
		{arn: s.JobDefinition("train", 12), text: "arn:aws:batch:eu-west-1:123456789012:job-definition/train:12", service: Batch, typ: "job-definition", id: "train:12", revision: 12},
		{arn: s.Job("0f3c"), text: "arn:aws:batch:eu-west-1:123456789012:job/0f3c", service: Batch, typ: "job", id: "0f3c"},
	}
	for _, tt := range tests {
		if got := tt.arn.String(); got != tt.text {
			t.Errorf("built %s, want %s", got, tt.text)
		}
		a, err := Parse(tt.text)
		if err != nil || a != tt.arn {
			t.Errorf("Parse(%s) = %+v, %v; want %+v", tt.text, a, err, tt.arn)
		}
		if a.Service != tt.service || a.Type() != tt.typ || a.ID() != tt.id {
			t.Errorf("%s: service %q type %q id %q", tt.text, a.Service, a.Type(), a.ID())
		}
		name, qualifier, ok := a.Function()
		if ok != (tt.function[0] != "") || name != tt.function[0] || qualifier != tt.function[1] {
			t.Errorf("%s: Function() = %q, %q, %v", tt.text, name, qualifier, ok)
		}
		_, rev, ok := a.Revision()
		if ok != (tt.revision != 0) || rev != tt.revision {
			t.Errorf("%s: Revision() = %d, %v", tt.text, rev, ok)
		}
		cluster, _, ok := a.InCluster()
		if ok != (tt.cluster != "") || cluster != tt.cluster {
			t.Errorf("%s: InCluster() = %q, %v", tt.text, cluster, ok)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{
		"", "arn", "arn:aws:ecr:eu-west-1:123456789012", "urn:aws:ecr:eu-west-1:123456789012:repository/x",
		"arn::ecr:eu-west-1:123456789012:repository/x", "arn:aws::eu-west-1:123456789012:repository/x",
		"arn:AWS:ecr:eu-west-1:123456789012:repository/x", "arn:aws:ecr:EU:123456789012:repository/x",
		"arn:aws:ecr:eu-west-1:12345:repository/x", "arn:aws:ecr:eu-west-1:12345678901a:repository/x",
		"arn:aws:ecr:eu-west-1:123456789012:",
	} {
		if a, err := Parse(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrMalformed", s, a, err)
		}
	}
	for _, s := range []string{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", "arn:aws:s3:::bucket/key:with:colons"} {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	if _, err := Parse("arn:aws:ecr:eu-west-1:12345:repository/secret-name"); strings.Contains(err.Error(), "secret-name") {
		t.Errorf("error quotes the input: %v", err)
	}
	for _, s := range []string{"arn:aws:ecs:r:123456789012:task-definition/web", "arn:aws:ecs:r:123456789012:task-definition/web:0", "arn:aws:ecs:r:123456789012:task-definition/web:03", "arn:aws:ecs:r:123456789012:task-definition/:3"} {
		a, _ := Parse(s)
		if _, _, ok := a.Revision(); ok {
			t.Errorf("Revision() of %s ok", s)
		}
	}
	old, _ := Parse("arn:aws:ecs:r:123456789012:task/abc")
	if c, id, ok := old.InCluster(); c != "" || id != "abc" || !ok {
		t.Errorf("InCluster() of the old task form = %q, %q, %v", c, id, ok)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"arn:aws:ecr:eu-west-1:123456789012:repository/team/app",
		"arn:aws:lambda:us-east-1:123456789012:function:hello:prod",
		"arn:aws:logs:us-east-1:123456789012:log-group:/aws/x:*",
		"arn:aws:iam::aws:policy/x", "arn:aws:ecs:r:123456789012:task-definition/web:3", "arn:::::", "arn:a:b:c:d:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q): %v does not wrap ErrMalformed", s, err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, a.String())
		}
		if again, err := Parse(a.String()); err != nil || again != a {
			t.Fatalf("Parse(String()) = %+v, %v; want %+v", again, err, a)
		}
		typ, id := a.Type(), a.ID()
		whole := typ == a.Resource && id == ""
		split := len(typ) < len(a.Resource) && strings.IndexByte("/:", a.Resource[len(typ)]) >= 0 && a.Resource[len(typ)+1:] == id
		if !whole && !split {
			t.Fatalf("Type %q and ID %q do not make up resource %q", typ, id, a.Resource)
		}
		a.Function()
		a.Revision()
		a.InCluster()
	})
}
