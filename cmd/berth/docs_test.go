package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

var update = flag.Bool("update", false, "rewrite docs/cli from the commands")

// referenceDir is where the command reference lives, from this package.
var referenceDir = filepath.Join("..", "..", "docs", "cli")

// writeReference writes the markdown reference of every command into dir,
// one page per command, as cobra's generator makes it.
func writeReference(dir string) error {
	root := rootCommand(time.Now)
	root.DisableAutoGenTag = true // no date: the pages change only with the commands
	root.InitDefaultCompletionCmd()
	return doc.GenMarkdownTree(root, dir)
}

// TestCLIReference fails when docs/cli is not what the commands generate.
// Regenerate it with: go test ./cmd/berth -run TestCLIReference -update
func TestCLIReference(t *testing.T) {
	if *update {
		old, _ := filepath.Glob(filepath.Join(referenceDir, "*.md"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.MkdirAll(referenceDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := writeReference(referenceDir); err != nil {
			t.Fatal(err)
		}
	}
	fresh := t.TempDir()
	if err := writeReference(fresh); err != nil {
		t.Fatal(err)
	}
	pages := func(dir string) []string {
		files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		for i, f := range files {
			files[i] = filepath.Base(f)
		}
		slices.Sort(files)
		return files
	}
	want, have := pages(fresh), pages(referenceDir)
	const regenerate = "; regenerate it with: go test ./cmd/berth -run TestCLIReference -update"
	if !slices.Equal(want, have) {
		t.Fatalf("docs/cli has pages %v; the commands make %v%s", have, want, regenerate)
	}
	for _, page := range want {
		w, _ := os.ReadFile(filepath.Join(fresh, page))
		h, _ := os.ReadFile(filepath.Join(referenceDir, page))
		if string(w) != string(h) {
			t.Errorf("docs/cli/%s is stale%s", page, regenerate)
		}
	}
}

// TestEveryCommandHelps: each command berth defines has an example, and
// each that opens the data directory says so.
func TestEveryCommandHelps(t *testing.T) {
	root := rootCommand(time.Now)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		top := c
		for top.HasParent() && top.Parent() != root {
			top = top.Parent()
		}
		local := top.GroupID == groupLocal
		if says := strings.Contains(c.Long, dataDirectoryNote); says != local {
			t.Errorf("%s: says it opens the data directory: %v; does: %v", c.CommandPath(), says, local)
		}
		if top.GroupID == groupRemote && c.PersistentFlags().Lookup("endpoint") == nil && c.InheritedFlags().Lookup("endpoint") == nil {
			t.Errorf("%s talks to a server but has no --endpoint", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		walk(c)
	}
	for _, name := range []string{"serve", "gc", "vulndb", "user", "key", "signing-key", "lifecycle", "scan"} {
		c, _, err := root.Find([]string{name})
		if err != nil || c.GroupID != groupLocal {
			t.Errorf("%s is not among the commands that open the data directory", name)
		}
	}
}
