package batch

import (
	"net/http"
	"strings"
	"testing"
)

// Ref:: substitution never panics, leaves text without placeholders as
// it is, and replaces every placeholder of a known name.
func FuzzSubstitute(f *testing.F) {
	for _, s := range []string{"Ref::a", "x-Ref::a-y", "Ref::", "Ref::Ref::a", "Ref::ab", "plain", "Ref::a::Ref::b"} {
		f.Add(s, "a", "v")
	}
	f.Fuzz(func(t *testing.T, arg, name, value string) {
		params := map[string]string{name: value}
		got := substitute(arg, params)
		if !strings.Contains(arg, "Ref::") && got != arg {
			t.Fatalf("substitute(%q) = %q; no placeholder to fill", arg, got)
		}
		if name != "" && !strings.Contains(value, "Ref::") && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == "" {
			if strings.Contains(got, "Ref::"+name) && !strings.Contains(arg, "Ref::"+name) {
				t.Fatalf("substitute(%q) = %q made a placeholder", arg, got)
			}
		}
	})
}

// No request body makes the API answer with a server fault.
func FuzzRequestBodies(f *testing.F) {
	e := newEnv(f, false)
	e.queue("q", 4, 1)
	e.definition("d", []string{"exit", "0"}, nil)
	ops := []string{"SubmitJob", "ListJobs", "DescribeJobs", "RegisterJobDefinition", "CreateJobQueue", "CreateComputeEnvironment", "TerminateJob"}
	for _, s := range []string{`{}`, `{"jobName":"a","jobQueue":"q","jobDefinition":"d","arrayProperties":{"size":3}}`,
		`{"jobQueue":"q","filters":[{"name":"BEFORE_CREATED_AT","values":["x"]}]}`, `[`, `{"jobs":["a:1"]}`, `{"jobDefinitionName":"x","type":"container","containerProperties":{"image":"i","resourceRequirements":[{"type":"VCPU","value":"NaN"}]}}`} {
		for i := range ops {
			f.Add(i, s)
		}
	}
	f.Fuzz(func(t *testing.T, op int, body string) {
		if op < 0 {
			op = -op
		}
		status, out := e.post(t, ops[op%len(ops)], body)
		if status >= 500 {
			t.Fatalf("%s %q: %d %v", ops[op%len(ops)], body, status, out)
		}
		if status != http.StatusOK && out["__type"] != typeClient {
			t.Fatalf("%s %q: %d %v; want ClientException", ops[op%len(ops)], body, status, out)
		}
	})
}
