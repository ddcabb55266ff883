package ecs

import (
	"strings"
	"testing"
)

func TestCheckFargateSize(t *testing.T) {
	for _, c := range []struct{ cpu, memory, want string }{
		{"256", "512", ""},
		{".25 vCPU", "0.5GB", ""},
		{"1 vCPU", "3GB", ""},
		{"4096", "30720", ""},
		{"256", "4096", "no Fargate configuration exists for 256 CPU and 4096 MiB"},
		{"1024", "1024", "no Fargate configuration exists for 1024 CPU and 1024 MiB"},
		{"300", "512", "no Fargate configuration exists for 300 CPU"},
		{"lots", "512", `invalid cpu "lots"`},
		{"256", "-1", `invalid memory "-1"`},
	} {
		err := CheckFargateSize(c.cpu, c.memory)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckFargateSize(%q, %q) = %v; want %q", c.cpu, c.memory, err, c.want)
		}
	}
}
