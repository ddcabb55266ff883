package gotool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	if p, err := Find("go"); err != nil || filepath.Base(p) != "go" {
		t.Errorf("Find(go) = %q, %v", p, err)
	}
	if _, err := Find("no-such-program-berth"); err == nil || !strings.Contains(err.Error(), BinDir()) {
		t.Errorf("Find of a missing program: err = %v; want one naming %s", err, BinDir())
	}
}

func TestFindInGoBinDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOBIN", dir)
	t.Setenv("PATH", filepath.Dir(mustGo(t)))
	real := BinDir
	BinDir = func() string { return dir } // the cached value is the real one
	t.Cleanup(func() { BinDir = real })
	prog := filepath.Join(dir, "tool")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := Find("tool"); err != nil || p != prog {
		t.Errorf("Find(tool) = %q, %v; want %s", p, err, prog)
	}
}

func mustGo(t *testing.T) string {
	p, err := Find("go")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
