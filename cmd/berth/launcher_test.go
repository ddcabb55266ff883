package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/launcher/ecs"
)

// TestServeWithoutEngine: with no Docker Engine to reach, berth serves
// the registry and the ECS API; the calls that need the engine say so.
func TestServeWithoutEngine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nothing := l.Addr().String()
	l.Close()
	addr, stop := startServe(t, func(cfg *config.Config) { cfg.Launcher.DockerHost = "tcp://" + nothing })
	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ = %s", resp.Status)
	}
	call := func(op, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", ecs.TargetPrefix+"."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	if status, out := call("RegisterTaskDefinition", `{"family":"f","memory":"512","containerDefinitions":[{"name":"app","image":"app:1"}]}`); status != 200 {
		t.Fatalf("RegisterTaskDefinition = %d %v", status, out)
	}
	status, out := call("RunTask", `{"taskDefinition":"f"}`)
	if status != 500 || out["__type"] != "ServerException" || !strings.Contains(out["message"].(string), "Docker Engine") {
		t.Errorf("RunTask = %d %v", status, out)
	}
	if err := stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
}
