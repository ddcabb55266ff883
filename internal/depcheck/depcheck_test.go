// Package depcheck guards the arrows of DESIGN.md's package map: which of
// berth's packages may import which. A new import that breaks a rule fails
// here, so the layering is a decision, not an accident.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/berth-dev/berth"

// allowed maps a package prefix (relative to the module) to the berth
// packages it may import; a package may always import its own subtree.
// storage and metadata import nothing of ours; the registry builds on
// them; cmd wires everything.
var allowed = map[string][]string{
	"storage":   {"storage"},
	"metadata":  {"metadata"},
	"registry":  {"storage", "metadata", "internal/ocierr"},
	"auth":      {"auth", "metadata", "internal/arn", "internal/awserr", "internal/ocierr"},
	"ecr":       {"registry", "metadata", "lifecycle", "scanner", "pullthrough", "replication", "auth/secret", "internal/arn", "internal/awsjson", "internal/awserr", "internal/ocierr"},
	"lifecycle": {"storage", "metadata", "lifecycle"},
	"scanner":   {"storage", "metadata", "scanner"},
	// The web UI shows and changes what the API does through the layers
	// the API uses, not through the API; auth signs people in. The
	// launcher's pages read and drive it through its Go APIs (the ECS
	// runner, the task definitions, the Lambda and Batch APIs' Go
	// methods, the log store's pattern grammar), never its HTTP, and show
	// the AWS errors those return.
	"ui": {"registry", "lifecycle", "scanner", "metadata", "auth", "internal/arn", "internal/awserr", "launcher/ecs", "launcher/logs", "launcher/lambda", "launcher/batch"},
	// The launcher pulls images through the Docker Engine like any other
	// client; it needs identities (registry tokens) and the index only.
	"launcher":         {"auth", "metadata", "internal"},
	"internal/config":  nil,
	"internal/observe": nil,
	// One vocabulary of AWS errors, written by each protocol's writer in
	// awsjson: a leaf, so auth can return AWS errors without the wire.
	// The writer asks metadata (itself a leaf) only whether an error is
	// the index being unreachable, which every service answers with 503.
	"internal/awsjson": {"internal/awserr", "metadata"},
	"internal/awserr":  nil,
	// Tests of every package use the fake clock; it must stay a leaf.
	"internal/clocktest": nil,
	// The load balancer is a library the ECS emulation drives: plain
	// net/http, nothing of ours, so it can be tested and reused alone.
	"launcher/lb": nil,
	// The remote commands' plumbing talks to a server only through its
	// public APIs, never through berth's own packages, like any client.
	"internal/client":   nil,
	"internal/output":   nil,
	"internal/jsontest": nil,
	// The OCI error table and writer, below both the registry and auth
	// (whose refusals and token endpoint answer in OCI form).
	"internal/ocierr": nil,
	// ARNs of every service berth emulates, built and parsed in one place.
	"internal/arn": nil,
	// The log store and its CloudWatch Logs API, which ECS, Lambda and
	// Batch write to: the index and the AWS protocol's plumbing, not auth
	// (its Access interface is its own).
	"launcher/logs": {"metadata", "internal/arn", "internal/awsjson", "internal/awserr"},
	// The Lambda emulation: the launcher's runtime interface, the index
	// and the AWS protocol's plumbing; its access control and log sink
	// are its own interfaces, which cmd fills.
	"launcher/lambda": {"launcher", "metadata", "internal/arn", "internal/awsjson", "internal/awserr"},
	// The pull-through cache's upstreams: rules and sealed credentials in
	// the index, the registry's Upstream interface it implements.
	"pullthrough": {"registry", "metadata", "auth/secret"},
	// Replication reads images through the registry's HTTP handler in
	// process and keeps its queue in the index; nothing else of ours.
	"replication": {"metadata"},
	// The Batch emulation: likewise the runtime interface, the index and
	// the AWS plumbing; access control and the log sink are its own
	// interfaces, which cmd fills.
	"launcher/batch": {"launcher", "metadata", "internal/arn", "internal/awsjson", "internal/awserr"},
	// Test PostgreSQL servers: nothing of ours.
	"internal/pgtest": nil,
}

// forbidden are arrows that must never exist, whatever the rules above
// come to allow: the layers below the launcher and the UI know nothing of
// them, and the launcher reaches the registry only as the engine's client.
var forbidden = map[string][]string{
	"registry": {"launcher", "ui"},
	"storage":  {"launcher", "ui"},
	"metadata": {"launcher", "ui"},
	"launcher": {"ecr"},
	// Lambda drives the engine through launcher.Runtime only (tests give
	// it the real one), and knows nothing of ECS or of auth.
	"launcher/lambda": {"launcher/docker", "launcher/ecs", "launcher/logs", "auth"},
	// Batch, the same: the engine through launcher.Runtime only.
	"launcher/batch": {"launcher/docker", "launcher/ecs", "launcher/lambda", "launcher/logs", "auth"},
}

// forbiddenNames are package names that say nothing about what they hold.
var forbiddenNames = []string{"util", "utils", "common", "types", "helpers", "misc"}

func TestPackageDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		for _, part := range strings.Split(pkg, "/") {
			for _, bad := range forbiddenNames {
				if part == bad {
					t.Errorf("package %s: %q names no domain; name the package after what it owns", pkg, part)
				}
			}
		}
		for prefix, banned := range forbidden {
			if !within(pkg, prefix) {
				continue
			}
			for _, imp := range fields[1:] {
				if dep, ours := strings.CutPrefix(imp, module+"/"); ours && allowedDep(dep, banned) {
					t.Errorf("package %s imports %s; %s must never import %v", pkg, dep, prefix, banned)
				}
			}
		}
		rule, ok := ruleFor(pkg)
		if !ok {
			continue
		}
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module+"/")
			if !ours || within(dep, rule.self) {
				continue
			}
			if !allowedDep(dep, rule.deps) {
				t.Errorf("package %s imports %s; DESIGN.md's map allows it only %v", pkg, dep, rule.deps)
			}
		}
	}
}

type rule struct {
	self string
	deps []string
}

// ruleFor finds the most specific rule for pkg.
func ruleFor(pkg string) (rule, bool) {
	best, found := rule{}, false
	for prefix, deps := range allowed {
		if within(pkg, prefix) && len(prefix) >= len(best.self) {
			best, found = rule{self: prefix, deps: deps}, true
		}
	}
	return best, found
}

func allowedDep(dep string, deps []string) bool {
	for _, d := range deps {
		if within(dep, d) {
			return true
		}
	}
	return false
}

// within reports whether pkg is prefix or below it.
func within(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}
