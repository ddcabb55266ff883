package policy

import "testing"

func TestConditionHolds(t *testing.T) {
	absent := []string(nil)
	tests := []struct {
		op     string
		values []string // policy values
		req    []string // request context values; nil means the key is absent
		want   bool
	}{
		{"StringEquals", []string{"a", "b"}, []string{"b"}, true}, // policy values are ORed
		{"StringEquals", []string{"a"}, []string{"A"}, false},     // case-sensitive
		{"StringEquals", []string{"a"}, absent, false},            // absent key fails a positive operator
		{"StringEqualsIgnoreCase", []string{"a"}, []string{"A"}, true},
		{"StringNotEquals", []string{"a", "b"}, []string{"c"}, true},
		{"StringNotEquals", []string{"a", "b"}, []string{"b"}, false}, // NOR
		{"StringNotEquals", []string{"a"}, absent, true},              // absent key satisfies a negated operator
		{"StringNotEqualsIgnoreCase", []string{"a"}, []string{"A"}, false},
		{"StringLike", []string{"team-*"}, []string{"team-app"}, true},
		{"StringLike", []string{"team-?"}, []string{"team-ab"}, false},
		{"StringNotLike", []string{"team-*"}, []string{"other"}, true},
		{"StringNotLike", []string{"team-*"}, []string{"team-x"}, false},
		{"ArnLike", []string{"arn:aws:iam::123456789012:role/ci-*"}, []string{"arn:aws:iam::123456789012:role/ci-deploy"}, true},
		{"ArnEquals", []string{"arn:aws:iam::*:role/ci"}, []string{"arn:aws:iam::123456789012:role/ci"}, true},
		{"ArnLike", []string{"arn:aws:iam::123456789012:role/ci-*"}, []string{"arn:aws:iam::123456789012:user/ci-x"}, false},
		{"ArnNotLike", []string{"arn:aws:iam::123456789012:role/*"}, []string{"arn:aws:iam::123456789012:user/bob"}, true},
		{"Bool", []string{"true"}, []string{"True"}, true},
		{"Bool", []string{"false"}, []string{"true"}, false},
		{"IpAddress", []string{"10.0.0.0/8", "192.168.1.1"}, []string{"10.20.30.40"}, true},
		{"IpAddress", []string{"192.168.1.1"}, []string{"192.168.1.1"}, true},
		{"IpAddress", []string{"10.0.0.0/8"}, []string{"11.0.0.1"}, false},
		{"IpAddress", []string{"10.0.0.0/8"}, []string{"::ffff:10.0.0.1"}, true}, // IPv4-mapped
		{"IpAddress", []string{"2001:db8::/32"}, []string{"2001:db8::1"}, true},
		{"IpAddress", []string{"10.0.0.0/8"}, []string{"not-an-ip"}, false},
		{"IpAddress", []string{"10.0.0.0/8"}, absent, false},
		{"NotIpAddress", []string{"10.0.0.0/8"}, []string{"11.0.0.1"}, true},
		{"NotIpAddress", []string{"10.0.0.0/8"}, []string{"10.0.0.1"}, false},
		{"NotIpAddress", []string{"10.0.0.0/8"}, absent, true},
		{"NumericLessThan", []string{"10"}, []string{"9.5"}, true},
		{"NumericGreaterThanEquals", []string{"10"}, []string{"9"}, false},
		{"DateLessThan", []string{"2030-01-01T00:00:00Z"}, []string{"2026-11-28T13:00:00Z"}, true},
		{"DateGreaterThan", []string{"2030-01-01"}, []string{"1700000000"}, false},
		{"StringEqualsIfExists", []string{"a"}, absent, true},
		{"StringEqualsIfExists", []string{"a"}, []string{"b"}, false},
		{"Null", []string{"true"}, absent, true},
		{"Null", []string{"true"}, []string{"x"}, false},
		{"Null", []string{"false"}, []string{"x"}, true},
		{"Null", []string{"false"}, absent, false},
		// Multi-valued keys.
		{"ForAnyValue:StringEquals", []string{"team"}, []string{"env", "team"}, true},
		{"ForAnyValue:StringEquals", []string{"team"}, []string{"env"}, false},
		{"ForAnyValue:StringEquals", []string{"team"}, absent, false},
		{"ForAllValues:StringEquals", []string{"team", "env"}, []string{"env", "team"}, true},
		{"ForAllValues:StringEquals", []string{"team"}, []string{"env", "team"}, false},
		{"ForAllValues:StringEquals", []string{"team"}, absent, true}, // vacuously true
		{"ForAllValues:StringNotEquals", []string{"secret"}, []string{"env", "team"}, true},
		{"StringEquals", []string{"team"}, []string{"env", "team"}, true},     // unqualified positive: any value
		{"StringNotEquals", []string{"team"}, []string{"env", "team"}, false}, // unqualified negated: no value may match
		{"NoSuchOperator", []string{"x"}, []string{"x"}, false},               // never grants
	}
	for _, tt := range tests {
		c := Condition{Operator: tt.op, Key: "k", Values: tt.values}
		if got := c.holds(tt.req, tt.req != nil); got != tt.want {
			t.Errorf("%s %q with request %q: got %v, want %v", tt.op, tt.values, tt.req, got, tt.want)
		}
	}
}
