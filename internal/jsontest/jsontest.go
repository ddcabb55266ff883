// Package jsontest reads decoded JSON documents in tests: the output of
// the aws CLI, of berth's commands, of an API.
package jsontest

import (
	"fmt"
	"testing"
)

// Field walks v, a value encoding/json decoded into an any, by member
// names (strings) and list indexes (ints). The test fails at a step that
// is not an object or has no such element; a member not there is nil.
func Field(t testing.TB, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q", v, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no element %d", v, k)
			}
			v = l[k]
		}
	}
	return v
}

// Expect fails the test unless the value at path in v prints as want
// does (fmt's %v), so that 1 matches a decoded 1.0 and a list its
// elements.
func Expect(t testing.TB, v any, want any, path ...any) {
	t.Helper()
	if got := Field(t, v, path...); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%v = %v; want %v", path, got, want)
	}
}
