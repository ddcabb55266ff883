package ecs_test

import (
	"testing"

	"github.com/berth-dev/berth/launcher/ecs"
)

// LogStream names the stream a container's awslogs output goes to as
// the runner names it: <prefix>/<container>/<task id>, or the engine's
// container id without a prefix; nothing for other drivers.
func TestLogStream(t *testing.T) {
	awslogs := func(opts map[string]string) *ecs.LogConfiguration {
		return &ecs.LogConfiguration{LogDriver: "awslogs", Options: opts}
	}
	def := ecs.TaskDefinition{ContainerDefinitions: []ecs.ContainerDefinition{
		{Name: "app", LogConfiguration: awslogs(map[string]string{"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "web"})},
		{Name: "bare", LogConfiguration: awslogs(map[string]string{"awslogs-group": "/ecs/bare"})},
		{Name: "quiet", LogConfiguration: &ecs.LogConfiguration{LogDriver: "json-file"}},
		{Name: "none"},
	}}
	task := ecs.Task{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef",
		Containers: []ecs.Container{{Name: "app", RuntimeID: "c1"}, {Name: "bare", RuntimeID: "c2"}}}
	for _, tt := range []struct {
		container, group, stream string
		ok                       bool
	}{
		{"app", "/ecs/web", "web/app/0123456789abcdef0123456789abcdef", true},
		{"bare", "/ecs/bare", "c2", true},
		{"quiet", "", "", false},
		{"none", "", "", false},
		{"missing", "", "", false},
	} {
		group, stream, ok := ecs.LogStream(def, task, tt.container)
		if group != tt.group || stream != tt.stream || ok != tt.ok {
			t.Errorf("LogStream(%s) = %q, %q, %v; want %q, %q, %v", tt.container, group, stream, ok, tt.group, tt.stream, tt.ok)
		}
	}
	// Before the engine made the container, an unprefixed stream has no name.
	task.Containers[1].RuntimeID = ""
	if _, _, ok := ecs.LogStream(def, task, "bare"); ok {
		t.Error("LogStream named a stream for a container not created yet")
	}
}
