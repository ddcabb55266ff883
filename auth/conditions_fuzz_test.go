package auth

import (
	"testing"

	"github.com/berth-dev/berth/auth/policy"
)

// Any policy text either is refused or names only condition keys berth
// supplies, and evaluates against a request carrying them without a panic.
func FuzzPolicyConditionKeys(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"ecr:ResourceTag/team":"a","AWS:ResourceTag/x":["1"]}}}}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}}}}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/x":"1"}}}}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{":ResourceTag/":"1"}}}}`,
	} {
		f.Add(s)
	}
	a := New(nil, nil, nil, Config{AccountID: "123456789012", Region: "us-east-1"}, nil)
	f.Fuzz(func(t *testing.T, text string) {
		p, err := policy.Parse(text, parseOptions(policy.Identity))
		if err != nil {
			return
		}
		for _, st := range p.Statements {
			for _, c := range st.Conditions {
				if !SupportedConditionKey(c.Key) {
					t.Fatalf("accepted unsupported key %q", c.Key)
				}
			}
		}
		pr := &Principal{User: "alice", ARN: "arn:aws:iam::123456789012:user/alice", SourceIP: "192.0.2.1", policies: []*policy.Policy{p}}
		if _, err := a.Allowed(t.Context(), pr, "ecr:BatchGetImage", "arn:aws:ecr:us-east-1:123456789012:repository/team/app"); err != nil {
			t.Fatal(err)
		}
	})
}
