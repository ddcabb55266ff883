package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const anonymousPull = `{
  "Version": "2012-10-17",
  "Statement": {
    "Sid": "AnonymousPull",
    "Effect": "Allow",
    "Principal": "*",
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
  }
}`

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		text string
		want *Policy
	}{
		{
			name: "single statement object, string values become lists",
			kind: Resource,
			text: anonymousPull,
			want: &Policy{Version: Version2012, Statements: []Statement{{
				Sid: "AnonymousPull", Effect: EffectAllow, Principal: &Principal{Any: true},
				Action: []string{"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"},
			}}},
		},
		{
			name: "account forms, user ARN, service, conditions of every value kind",
			kind: Resource,
			text: `{"Version":"2008-10-17","Id":"p1","Statement":[{
				"Effect":"Deny",
				"NotPrincipal":{"AWS":["123456789012","arn:aws:iam::210987654321:root","arn:aws:iam::123456789012:user/alice"],"Service":"codebuild.amazonaws.com"},
				"NotAction":"ecr:Describe*",
				"NotResource":["arn:aws:ecr:us-east-1:123456789012:repository/team/*"],
				"Condition":{
					"StringLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/ci-*"]},
					"Bool":{"aws:SecureTransport":false},
					"NumericLessThan":{"ecr:ImageCount":10},
					"ForAnyValue:StringEquals":{"aws:TagKeys":["team","env"]},
					"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"},
					"Null":{"ecr:ResourceTag/team":"true"}
				}}]}`,
			want: &Policy{Version: Version2008, ID: "p1", Statements: []Statement{{
				Effect: EffectDeny,
				NotPrincipal: &Principal{
					AWS:     []string{"123456789012", "arn:aws:iam::210987654321:root", "arn:aws:iam::123456789012:user/alice"},
					Service: []string{"codebuild.amazonaws.com"},
				},
				NotAction:   []string{"ecr:Describe*"},
				NotResource: []string{"arn:aws:ecr:us-east-1:123456789012:repository/team/*"},
				Conditions: []Condition{
					{"Bool", "aws:SecureTransport", []string{"false"}},
					{"ForAnyValue:StringEquals", "aws:TagKeys", []string{"team", "env"}},
					{"IpAddressIfExists", "aws:SourceIp", []string{"10.0.0.0/8"}},
					{"Null", "ecr:ResourceTag/team", []string{"true"}},
					{"NumericLessThan", "ecr:ImageCount", []string{"10"}},
					{"StringLike", "aws:PrincipalArn", []string{"arn:aws:iam::*:role/ci-*"}},
				},
			}}},
		},
		{
			name: "identity policy, no Version",
			kind: Identity,
			text: `{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}`,
			want: &Policy{Statements: []Statement{{Effect: EffectAllow, Action: []string{"ecr:*"}, Resource: []string{"*"}}}},
		},
		{
			name: "AWS wildcard principal",
			kind: Resource,
			text: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"ecr:BatchGetImage"}]}`,
			want: &Policy{Version: Version2012, Statements: []Statement{{Effect: EffectAllow, Principal: &Principal{AWS: []string{"*"}}, Action: []string{"ecr:BatchGetImage"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text, Options{Kind: tt.kind})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	const (
		allow = `"Effect":"Allow","Action":"ecr:*"`
		anyP  = `"Principal":"*"`
	)
	stmt := func(body string) string { return `{"Version":"2012-10-17","Statement":[{` + body + `}]}` }
	tests := []struct {
		name string
		kind Kind
		max  int
		text string
		want string // the full error message
	}{
		{"empty", Resource, 0, "  ", "policy text is empty"},
		{"not JSON", Resource, 0, "{", "policy is not valid JSON: unexpected end of JSON input (at offset 1)"},
		{"JSON array", Resource, 0, "[]", "policy is not a JSON object"},
		{"JSON syntax error", Resource, 0, `{"Statement": [}`, "policy is not valid JSON: invalid character '}' looking for beginning of value (at offset 16)"},
		{"JSON null", Resource, 0, "null", "policy is not a JSON object"},
		{"too long", Resource, 20, anonymousPull, "policy text is 225 characters, more than the limit of 20"},
		{"unknown top-level element", Resource, 0, `{"Statement":[],"Foo":1}`, `Foo: unknown policy element "Foo"`},
		{"element names are case-sensitive", Resource, 0, `{"statement":[]}`, `statement: unknown policy element "statement"`},
		{"missing Statement", Resource, 0, `{"Version":"2012-10-17"}`, "Statement: missing required element"},
		{"empty Statement", Resource, 0, `{"Version":"2012-10-17","Statement":[]}`, "Statement: must contain at least one statement"},
		{"Statement is a string", Resource, 0, `{"Statement":"x"}`, "Statement: must be an object or an array of objects"},
		{"bad Version", Resource, 0, `{"Version":"2020-01-01","Statement":[{` + anyP + `,` + allow + `}]}`, `Version: must be "2012-10-17" or "2008-10-17", got "2020-01-01"`},
		{"Version not a string", Resource, 0, `{"Version":2012,"Statement":[]}`, "Version: must be a string"},
		{"statement not an object", Resource, 0, `{"Statement":[1]}`, "Statement[0]: must be an object"},
		{"unknown statement element", Resource, 0, stmt(anyP + `,` + allow + `,"Actions":"x"`), `Statement[0].Actions: unknown statement element "Actions"`},
		{"missing Effect", Resource, 0, stmt(anyP + `,"Action":"ecr:*"`), "Statement[0].Effect: missing required element"},
		{"bad Effect", Resource, 0, stmt(anyP + `,"Effect":"Permit","Action":"ecr:*"`), `Statement[0].Effect: must be "Allow" or "Deny", got "Permit"`},
		{"Effect is case-sensitive", Resource, 0, stmt(anyP + `,"Effect":"allow","Action":"ecr:*"`), `Statement[0].Effect: must be "Allow" or "Deny", got "allow"`},
		{"duplicate Sid", Resource, 0, `{"Statement":[{"Sid":"a",` + anyP + `,` + allow + `},{"Sid":"a",` + anyP + `,` + allow + `}]}`, `Statement[1].Sid: "a" is already used by Statement[0]; statement ids must be unique`},
		{"resource policy without Principal", Resource, 0, stmt(allow), "Statement[0]: a resource policy statement must contain Principal or NotPrincipal"},
		{"identity policy with Principal", Identity, 0, stmt(anyP + `,` + allow + `,"Resource":"*"`), "Statement[0]: an identity policy must not contain Principal or NotPrincipal"},
		{"identity policy without Resource", Identity, 0, stmt(allow), "Statement[0]: an identity policy statement must contain Resource or NotResource"},
		{"Principal and NotPrincipal", Resource, 0, stmt(anyP + `,"NotPrincipal":"*",` + allow), "Statement[0]: has both Principal and NotPrincipal; use one"},
		{"Principal bare account string", Resource, 0, stmt(`"Principal":"123456789012",` + allow), `Statement[0].Principal: must be "*" or an object such as {"AWS": "..."}`},
		{"Principal unknown type", Resource, 0, stmt(`"Principal":{"Federated":"x"},` + allow), `Statement[0].Principal: unsupported principal type "Federated" (want AWS or Service)`},
		{"Principal empty object", Resource, 0, stmt(`"Principal":{},` + allow), "Statement[0].Principal: must name at least one principal"},
		{"Principal partial wildcard", Resource, 0, stmt(`"Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},` + allow), `Statement[0].Principal.AWS[0]: "arn:aws:iam::123456789012:user/*": wildcards are not allowed in a principal except the whole value "*"`},
		{"Principal not an ARN", Resource, 0, stmt(`"Principal":{"AWS":["123456789012","alice"]},` + allow), `Statement[0].Principal.AWS[1]: "alice" is not a 12-digit account id, an IAM/STS ARN, or "*"`},
		{"Principal short account", Resource, 0, stmt(`"Principal":{"AWS":"12345"},` + allow), `Statement[0].Principal.AWS[0]: "12345" is not a 12-digit account id, an IAM/STS ARN, or "*"`},
		{"Principal AWS not a string", Resource, 0, stmt(`"Principal":{"AWS":[1]},` + allow), "Statement[0].Principal.AWS[0]: must be a string"},
		{"no Action", Resource, 0, stmt(anyP + `,"Effect":"Allow"`), "Statement[0]: must contain Action or NotAction"},
		{"Action and NotAction", Resource, 0, stmt(anyP + `,` + allow + `,"NotAction":"ecr:PutImage"`), "Statement[0]: has both Action and NotAction; use one"},
		{"Action empty array", Resource, 0, stmt(anyP + `,"Effect":"Allow","Action":[]`), "Statement[0].Action: must not be an empty array"},
		{"Action null", Resource, 0, stmt(anyP + `,"Effect":"Allow","Action":null`), "Statement[0].Action: must be a string or an array of strings"},
		{"Action without service", Resource, 0, stmt(anyP + `,"Effect":"Allow","Action":"BatchGetImage"`), `Statement[0].Action[0]: "BatchGetImage" is not an action; want "service:Action" (e.g. "ecr:BatchGetImage") or "*"`},
		{"Action bad character", Resource, 0, stmt(anyP + `,"Effect":"Allow","Action":["ecr:*","ecr:Get Image"]`), `Statement[0].Action[1]: "ecr:Get Image" has an invalid character ' ' in the action name`},
		{"Action bad service", Resource, 0, stmt(anyP + `,"Effect":"Allow","Action":"e*r:Get"`), `Statement[0].Action[0]: "e*r:Get" has an invalid service prefix "e*r"`},
		{"Resource and NotResource", Resource, 0, stmt(anyP + `,` + allow + `,"Resource":"*","NotResource":"*"`), "Statement[0]: has both Resource and NotResource; use one"},
		{"Resource not an ARN", Resource, 0, stmt(anyP + `,` + allow + `,"Resource":"repository/team"`), `Statement[0].Resource[0]: "repository/team" is not an ARN (arn:partition:service:region:account:resource) or "*"`},
		{"NotResource short ARN", Resource, 0, stmt(anyP + `,` + allow + `,"NotResource":["arn:aws:ecr:*"]`), `Statement[0].NotResource[0]: "arn:aws:ecr:*" is not an ARN (arn:partition:service:region:account:resource) or "*"`},
		{"Condition not an object", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":[]`), "Statement[0].Condition: must be an object of condition operators"},
		{"unknown operator", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"StringMatches":{"k":"v"}}`), `Statement[0].Condition.StringMatches: unknown condition operator "StringMatches"`},
		{"NullIfExists", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"NullIfExists":{"k":"true"}}`), `Statement[0].Condition.NullIfExists: unknown condition operator "NullIfExists"`},
		{"operator is case-sensitive", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"stringequals":{"k":"v"}}`), `Statement[0].Condition.stringequals: unknown condition operator "stringequals"`},
		{"operator without keys", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"StringEquals":{}}`), "Statement[0].Condition.StringEquals: must name at least one condition key"},
		{"operator body not an object", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"StringEquals":"v"}`), "Statement[0].Condition.StringEquals: must be an object of condition keys"},
		{"empty key", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"StringEquals":{"":"v"}}`), "Statement[0].Condition.StringEquals.: condition key is empty"},
		{"empty values", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"StringEquals":{"k":[]}}`), "Statement[0].Condition.StringEquals.k: must not be an empty array"},
		{"object value", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"StringEquals":{"k":{"a":1}}}`), "Statement[0].Condition.StringEquals.k: must be a string, number, boolean or an array of them"},
		{"null in values", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"StringEquals":{"k":["a",null]}}`), "Statement[0].Condition.StringEquals.k[1]: must be a string, number or boolean"},
		{"bad CIDR", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`), `Statement[0].Condition.IpAddress.aws:SourceIp[0]: "10.0.0.0/33" is not an IP address or CIDR block`},
		{"bad Bool", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}`), `Statement[0].Condition.Bool.aws:SecureTransport[0]: "yes" is not true or false`},
		{"bad number", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"NumericEquals":{"n":"ten"}}`), `Statement[0].Condition.NumericEquals.n[0]: "ten" is not a number`},
		{"bad date", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}`), `Statement[0].Condition.DateLessThan.aws:CurrentTime[0]: "tomorrow" is not a date (ISO 8601 or epoch seconds)`},
		{"bad Null value", Resource, 0, stmt(anyP + `,` + allow + `,"Condition":{"Null":{"k":"maybe"}}`), `Statement[0].Condition.Null.k[0]: "maybe" is not true or false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.text, Options{Kind: tt.kind, MaxLength: tt.max})
			if err == nil {
				t.Fatalf("Parse accepted %s as %s", p, tt.kind)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("error %T is not a *ValidationError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
		})
	}
}

// A document with several problems gets the same error every time: the
// members of each object are checked in the order of their names, not in
// the order a map happens to iterate in.
func TestParseInvalidIsDeterministic(t *testing.T) {
	const allow = `"Principal":"*","Effect":"Allow","Action":"ecr:*"`
	tests := []struct{ text, want string }{
		{`{"Version":2012,"Statement":"x","Id":7}`, "Id: must be a string"},
		{`{"Statement":[{"Sid":1,"Principal":"x","Effect":7,"Action":[]}]}`, "Statement[0].Action: must not be an empty array"},
		{`{"Statement":[{"Principal":{"Service":[2],"AWS":[1],"Federated":"x"},"Effect":"Allow","Action":"ecr:*"}]}`, "Statement[0].Principal.AWS[0]: must be a string"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"k":[]},"Null":[],"Bool":"x"}}]}`, "Statement[0].Condition.Bool: must be an object of condition keys"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"k":[],"b":{},"a":[null]}}}]}`, "Statement[0].Condition.StringEquals.a[0]: must be a string, number or boolean"},
	}
	for _, tt := range tests {
		for range 100 {
			if _, err := Parse(tt.text, Options{Kind: Resource}); err == nil || err.Error() != tt.want {
				t.Fatalf("Parse(%s) = %v; want %q every time", tt.text, err, tt.want)
			}
		}
	}
}

func TestParseRepositoryPolicyLimit(t *testing.T) {
	pad := strings.Repeat(" ", RepositoryPolicyMaxLength-len(anonymousPull))
	if _, err := ParseRepositoryPolicy(anonymousPull + pad); err != nil {
		t.Fatalf("policy of exactly %d characters: %v", RepositoryPolicyMaxLength, err)
	}
	if _, err := ParseRepositoryPolicy(anonymousPull + pad + " "); err == nil {
		t.Fatalf("policy of %d characters accepted", RepositoryPolicyMaxLength+1)
	}
	// The limit counts characters, not bytes.
	multi := strings.Replace(anonymousPull, "AnonymousPull", strings.Repeat("é", 100), 1)
	if _, err := Parse(multi, Options{Kind: Resource, MaxLength: len([]rune(multi))}); err != nil {
		t.Fatalf("limit counted bytes: %v", err)
	}
}

func TestManagedPoliciesValidate(t *testing.T) {
	for name, p := range map[string]*Policy{"FullAccess": FullAccess(), "PowerUser": PowerUser(), "ReadOnly": ReadOnly()} {
		if err := p.Validate(Identity); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Parse(p.String(), Options{Kind: Identity}); err != nil {
			t.Errorf("%s does not re-parse: %v", name, err)
		}
	}
	// Each call returns a fresh copy.
	a := ReadOnly()
	a.Statements[0].Action[0] = "ecr:DeleteRepository"
	if ReadOnly().Statements[0].Action[0] != "ecr:GetAuthorizationToken" {
		t.Fatal("ReadOnly shares state between calls")
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		anonymousPull,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["123456789012"],"Service":"x.amazonaws.com"},"NotAction":"ecr:*","NotResource":"arn:aws:ecr:*:*:repository/*","Condition":{"NumericLessThan":{"n":1.50},"Bool":{"b":true}}}]}`,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*","b?"]}}}}`,
		`{"Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"ecr:*"},{"Sid":"a"}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}]}`,
		`[]`, `null`, `{"Statement":null}`, `{"Statement":[null]}`, `"x"`, `{}`,
	}
	for _, s := range seeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, text string, resource bool) {
		kind := Identity
		if resource {
			kind = Resource
		}
		p, err := Parse(text, Options{Kind: kind, MaxLength: 4 * RepositoryPolicyMaxLength})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal of accepted policy: %v", err)
		}
		q, err := Parse(string(out), Options{Kind: kind})
		if err != nil {
			t.Fatalf("re-marshalled policy rejected: %v\ninput:  %s\noutput: %s", err, text, out)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the policy\nfirst:  %#v\nsecond: %#v", p, q)
		}
		// Evaluating an accepted policy never panics.
		Evaluate([]*Policy{p}, p, Request{Principal: "arn:aws:iam::123456789012:user/a", Action: "ecr:PutImage",
			Resource: "arn:aws:ecr:us-east-1:123456789012:repository/x", Context: map[string][]string{"aws:SourceIp": {"10.1.2.3"}, "n": {"1"}}})
	})
}
