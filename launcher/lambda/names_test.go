package lambda

import (
	"strings"
	"testing"
)

func TestParseFunctionName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want functionRef
		ok   bool
	}{
		{"echo", functionRef{Name: "echo"}, true},
		{"echo:live", functionRef{Name: "echo", Qualifier: "live"}, true},
		{"echo:$LATEST", functionRef{Name: "echo", Qualifier: "$LATEST"}, true},
		{"123456789012:function:echo", functionRef{Name: "echo", Account: "123456789012"}, true},
		{"arn:aws:lambda:eu-west-1:123456789012:function:echo:7", functionRef{Name: "echo", Qualifier: "7", Region: "eu-west-1", Account: "123456789012"}, true},
		{"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:my_fn-2", functionRef{Name: "my_fn-2", Region: "us-gov-west-1", Account: "123456789012"}, true},
		{"", functionRef{}, false},
		{"has space", functionRef{}, false},
		{"echo:", functionRef{}, false},
		{"echo:a:b", functionRef{}, false},
		{"arn:aws:lambda:eu-west-1:123:function:echo", functionRef{}, false},
		{"arn:aws:s3:::bucket", functionRef{}, false},
		{strings.Repeat("a", 65), functionRef{}, false},
		{"echo:$latest", functionRef{}, false},
	} {
		got, err := parseFunctionName(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseFunctionName(%q) = %+v, %v; want %+v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseFunctionName(f *testing.F) {
	for _, s := range []string{"echo", "echo:live", "123456789012:function:echo", "arn:aws:lambda:eu-west-1:123456789012:function:echo:7", "a:b:c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseFunctionName(s)
		if err != nil {
			return
		}
		// What is accepted is a valid name and qualifier, and writing it
		// back in the form it came in gives the input again.
		if r.Name == "" || len(r.Name) > 64 || strings.ContainsAny(r.Name, ":/ ") || strings.ContainsAny(r.Qualifier, ":/ ") {
			t.Fatalf("%q → %+v", s, r)
		}
		back := r.Name
		if r.Qualifier != "" {
			back += ":" + r.Qualifier
		}
		if r.Account != "" {
			back = r.Account + ":function:" + back
		}
		if !strings.HasSuffix(s, back) {
			t.Fatalf("%q → %+v, which reads back as %q", s, r, back)
		}
	})
}
