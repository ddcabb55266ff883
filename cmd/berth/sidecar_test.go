package main

import (
	"errors"
	"testing"
	"time"
)

// TestSidecarCommand: the sidecar image runs `berth sidecar <flags>`; the
// command is there, hidden, and hands its flags to the sidecar program.
func TestSidecarCommand(t *testing.T) {
	root := rootCommand(time.Now)
	cmd, _, err := root.Find([]string{"sidecar"})
	if err != nil || cmd.Name() != "sidecar" || !cmd.Hidden {
		t.Fatalf("sidecar command: %v %+v", err, cmd)
	}
	root.SetArgs([]string{"sidecar", "-no-such-flag"})
	root.SetErr(testWriter{t})
	if err := root.Execute(); !errors.Is(err, errReported) {
		t.Fatalf("berth sidecar -no-such-flag = %v; want the sidecar's flag error", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
