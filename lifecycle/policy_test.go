package lifecycle

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const msgPrefix = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "

// policyText wraps rule objects into a policy and pads it with trailing
// blanks to ECR's 100-character minimum, so tests can state short rules.
func policyText(rules ...string) string {
	s := `{"rules":[` + strings.Join(rules, ",") + `]}`
	if len(s) < MinTextLength {
		s += strings.Repeat(" ", MinTextLength-len(s))
	}
	return s
}

const (
	selAny       = `"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}`
	actExpire    = `"action":{"type":"expire"}`
	actArchive   = `"action":{"type":"transition","targetStorageClass":"archive"}`
	ruleAnyLast  = `{"rulePriority":9,` + selAny + `,` + actExpire + `}`
	ruleUntagged = `{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},` + actExpire + `}`
)

func rule(priority, selection, action string) string {
	return `{"rulePriority":` + priority + `,"selection":{` + selection + `},"action":{` + action + `}}`
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		text string
		want *Policy
	}{
		{"untagged since pushed", policyText(ruleUntagged), &Policy{Rules: []Rule{{
			RulePriority: 1,
			Selection:    Selection{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: 14},
			Action:       Action{Type: "expire"},
		}}}},
		{"prefix list with description", policyText(`{"rulePriority":1,"description":"keep 3 prod","selection":{"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":3},` + actExpire + `}`),
			&Policy{Rules: []Rule{{
				RulePriority: 1, Description: "keep 3 prod",
				Selection: Selection{TagStatus: "tagged", TagPrefixList: []string{"prod"}, CountType: "imageCountMoreThan", CountNumber: 3},
				Action:    Action{Type: "expire"},
			}}}},
		{"four wildcards, the documented valid example", policyText(rule("1", `"tagStatus":"tagged","tagPatternList":["*test*1*2*3","test*1*2*3*"],"countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)),
			&Policy{Rules: []Rule{{
				RulePriority: 1,
				Selection:    Selection{TagStatus: "tagged", TagPatternList: []string{"*test*1*2*3", "test*1*2*3*"}, CountType: "imageCountMoreThan", CountNumber: 1},
				Action:       Action{Type: "expire"},
			}}}},
		{"archive transition then archive expiry, any per storage class", policyText(
			rule("1", `"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30`, `"type":"transition","targetStorageClass":"archive"`),
			rule("2", `"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, `"type":"expire"`)),
			&Policy{Rules: []Rule{
				{RulePriority: 1, Selection: Selection{TagStatus: "any", CountType: "sinceImagePulled", CountUnit: "days", CountNumber: 30}, Action: Action{Type: "transition", TargetStorageClass: "archive"}},
				{RulePriority: 2, Selection: Selection{TagStatus: "any", StorageClass: "archive", CountType: "sinceImageTransitioned", CountUnit: "days", CountNumber: 90}, Action: Action{Type: "expire"}},
			}}},
		{"untagged once per storage class", policyText(ruleUntagged,
			rule("2", `"tagStatus":"untagged","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":100`, `"type":"expire"`)), nil},
		{"same prefix in different storage classes", policyText(
			rule("1", `"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":5`, `"type":"expire"`),
			rule("2", `"tagStatus":"tagged","tagPrefixList":["v"],"storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, `"type":"expire"`)), nil},
		{"explicit standard storage class, sparse priorities", policyText(
			rule("5", `"tagStatus":"tagged","tagPatternList":["prod*"],"storageClass":"standard","countType":"sinceImagePushed","countUnit":"days","countNumber":1`, `"type":"transition","targetStorageClass":"archive"`),
			ruleAnyLast), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.text)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tagged := func(list string) string {
		return `"tagStatus":"tagged",` + list + `,"countType":"imageCountMoreThan","countNumber":1`
	}
	tests := []struct {
		name string
		text string
		want string // the constraint after "Lifecycle policy validation failure: "
	}{
		{"not JSON", policyText() + "x", "unexpected data after the policy object"},
		{"malformed", `{"rules":[` + strings.Repeat(" ", 100), "malformed JSON: unexpected EOF"},
		{"not an object", `[` + strings.Repeat(" ", 100) + `]`, "the policy must be a JSON object"},
		{"unknown top-level member", `{"version":1,"rules":[` + ruleAnyLast + `]}`, `unknown member "version"`},
		{"rules missing", `{"rulez":[]}` + strings.Repeat(" ", 100), `unknown member "rulez"`},
		{"rules null", `{"rules":null}` + strings.Repeat(" ", 100), "rules is required"},
		{"rules empty", policyText(), "rules must contain at least one rule"},
		{"priority missing", policyText(`{"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},` + actExpire + `}`), "rules[0].rulePriority is required"},
		{"priority zero", policyText(rule("0", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), "rules[0].rulePriority must be an integer greater than or equal to 1, got 0"},
		{"priority not integer", policyText(rule("1.5", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), "rules.rulePriority has the wrong type: got number 1.5, want integer"},
		{"priority a string", policyText(rule(`"1"`, `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), "rules.rulePriority has the wrong type: got string, want integer"},
		{"selection missing", policyText(`{"rulePriority":1,` + actExpire + `}`), "rules[0].selection is required"},
		{"action missing", policyText(`{"rulePriority":1,` + selAny + `}`), "rules[0].action is required"},
		{"unknown selection member", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1,"tagList":["a"]`, `"type":"expire"`)), `unknown member "tagList"`},
		{"tagStatus missing", policyText(rule("1", `"countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), "rules[0].selection.tagStatus is required"},
		{"tagStatus bad", policyText(rule("1", `"tagStatus":"TAGGED","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), `rules[0].selection.tagStatus must be one of tagged, untagged, any; got "TAGGED"`},
		{"tagged without list", policyText(rule("1", `"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), "rules[0].selection: tagStatus tagged requires tagPrefixList or tagPatternList"},
		{"tagged with both lists", policyText(rule("1", tagged(`"tagPrefixList":["a"],"tagPatternList":["b*"]`), `"type":"expire"`)), "rules[0].selection: specify only one of tagPrefixList and tagPatternList"},
		{"tagged with empty list", policyText(rule("1", tagged(`"tagPrefixList":[]`), `"type":"expire"`)), "rules[0].selection.tagPrefixList must contain at least one entry"},
		{"empty prefix", policyText(rule("1", tagged(`"tagPrefixList":["a",""]`), `"type":"expire"`)), "rules[0].selection.tagPrefixList[1] must not be empty"},
		{"five wildcards", policyText(rule("1", tagged(`"tagPatternList":["test*1*2*3*4*5*6"]`), `"type":"expire"`)), `rules[0].selection.tagPatternList[0] "test*1*2*3*4*5*6" has more than 4 wildcards (*)`},
		{"untagged with list", policyText(rule("1", `"tagStatus":"untagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), "rules[0].selection: tagPrefixList and tagPatternList are allowed only with tagStatus tagged, not untagged"},
		{"any with list", policyText(rule("1", `"tagStatus":"any","tagPatternList":["a*"],"countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), "rules[0].selection: tagPrefixList and tagPatternList are allowed only with tagStatus tagged, not any"},
		{"storage class bad", policyText(rule("1", `"tagStatus":"any","storageClass":"glacier","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)), `rules[0].selection.storageClass must be one of standard, archive; got "glacier"`},
		{"countType missing", policyText(rule("1", `"tagStatus":"any","countNumber":1`, `"type":"expire"`)), "rules[0].selection.countType is required"},
		{"countType bad", policyText(rule("1", `"tagStatus":"any","countType":"sinceImageBuilt","countUnit":"days","countNumber":1`, `"type":"expire"`)), `rules[0].selection.countType must be one of imageCountMoreThan, sinceImagePushed, sinceImagePulled, sinceImageTransitioned; got "sinceImageBuilt"`},
		{"countUnit with count", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countUnit":"days","countNumber":1`, `"type":"expire"`)), "rules[0].selection.countUnit is not allowed with countType imageCountMoreThan"},
		{"countUnit missing with age", policyText(rule("1", `"tagStatus":"any","countType":"sinceImagePushed","countNumber":1`, `"type":"expire"`)), "rules[0].selection.countUnit is required with countType sinceImagePushed"},
		{"countUnit hours", policyText(rule("1", `"tagStatus":"any","countType":"sinceImagePushed","countUnit":"hours","countNumber":1`, `"type":"expire"`)), `rules[0].selection.countUnit must be days; got "hours"`},
		{"countNumber missing", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan"`, `"type":"expire"`)), "rules[0].selection.countNumber is required"},
		{"countNumber zero", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0`, `"type":"expire"`)), "rules[0].selection.countNumber must be an integer greater than or equal to 1, got 0"},
		{"action type missing", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, ``)), "rules[0].action.type is required"},
		{"action type bad", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"delete"`)), `rules[0].action.type must be one of expire, transition; got "delete"`},
		{"transition without target", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"transition"`)), "rules[0].action.targetStorageClass is required with action type transition"},
		{"target null", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"transition","targetStorageClass":null`)), "rules[0].action.targetStorageClass must not be null"},
		{"target null with expire", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire","targetStorageClass":null`)), "rules[0].action.targetStorageClass must not be null"},
		{"target with expire", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"expire","targetStorageClass":"archive"`)), "rules[0].action.targetStorageClass is allowed only with action type transition"},
		{"target standard", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"transition","targetStorageClass":"standard"`)), `rules[0].action.targetStorageClass must be archive; got "standard"`},
		{"target a number", policyText(rule("1", `"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1`, `"type":"transition","targetStorageClass":7`)), "rules[0].action.targetStorageClass has the wrong type: want string"},
		{"sinceImagePulled with expire", policyText(rule("1", `"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":1`, `"type":"expire"`)), "rules[0]: countType sinceImagePulled is allowed only with action type transition"},
		{"sinceImageTransitioned with transition", policyText(rule("1", `"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, `"type":"transition","targetStorageClass":"archive"`)), "rules[0]: countType sinceImageTransitioned is allowed only with action type expire"},
		{"sinceImageTransitioned on standard", policyText(rule("1", `"tagStatus":"any","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, `"type":"expire"`)), "rules[0]: countType sinceImageTransitioned requires selection.storageClass archive"},
		{"archive with push age", policyText(rule("1", `"tagStatus":"any","storageClass":"archive","countType":"sinceImagePushed","countUnit":"days","countNumber":90`, `"type":"expire"`)), "rules[0]: selection.storageClass archive is allowed only with countType sinceImageTransitioned"},
		{"archive under 90 days", policyText(rule("1", `"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":89`, `"type":"expire"`)), "rules[0].selection.countNumber must be at least 90 for countType sinceImageTransitioned, got 89"},
		{"duplicate priority", policyText(ruleUntagged, rule("1", tagged(`"tagPrefixList":["a"]`), `"type":"expire"`)), "rulePriority 1 is used by more than one rule"},
		{"any not last", policyText(ruleAnyLast, rule("10", tagged(`"tagPrefixList":["a"]`), `"type":"expire"`)), "the rule with tagStatus any (rulePriority 9) must have the highest rulePriority among standard rules, but rulePriority 10 is higher"},
		{"two untagged rules", policyText(ruleUntagged, rule("2", `"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":3`, `"type":"expire"`)), "only one rule per storage class may select untagged images; rulePriority 1 and 2 both select untagged standard images"},
		{"prefix reused", policyText(rule("1", tagged(`"tagPrefixList":["prod","dev"]`), `"type":"expire"`), rule("2", tagged(`"tagPrefixList":["dev"]`), `"type":"expire"`)), `tag prefix "dev" must be unique within storage class standard, but rulePriority 1 and 2 both use it`},
		{"prefix repeated in a rule", policyText(rule("1", tagged(`"tagPrefixList":["x","x"]`), `"type":"expire"`)), `tag prefix "x" must be unique within storage class standard, but rulePriority 1 and 1 both use it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.text)
			if err == nil {
				t.Fatalf("Parse accepted %s as %+v", tt.text, p)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error %T %v, want *ValidationError", err, err)
			}
			if ve.ErrorCode() != "InvalidParameterException" {
				t.Errorf("ErrorCode = %q", ve.ErrorCode())
			}
			if want := msgPrefix + tt.want + "'"; err.Error() != want {
				t.Errorf("Parse error\n got %s\nwant %s", err, want)
			}
		})
	}
}

func TestParseLength(t *testing.T) {
	lengthMsg := func(n int) string {
		return "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Member must have length between 100 and 30720, got " + itoa(n) + "'"
	}
	empty := `{"rules":[]}`
	for _, tt := range []struct {
		text string
		want string
	}{
		{"", lengthMsg(0)},
		{empty + strings.Repeat(" ", 99-len(empty)), lengthMsg(99)},
		{empty + strings.Repeat(" ", 100-len(empty)), msgPrefix + "rules must contain at least one rule'"},
	} {
		if _, err := Parse(tt.text); err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%d chars) = %v, want %s", len(tt.text), err, tt.want)
		}
	}
	// The limit counts characters, not bytes.
	withDescription := func(n int) string {
		return `{"rules":[{"rulePriority":9,"description":"` + strings.Repeat("é", n) + `",` + selAny + `,` + actExpire + `}]}`
	}
	overhead := len(withDescription(0))
	if _, err := Parse(withDescription(MaxTextLength - overhead)); err != nil {
		t.Errorf("30720 characters (%d bytes): %v", 2*MaxTextLength-overhead, err)
	}
	if _, err := Parse(withDescription(MaxTextLength - overhead + 1)); err == nil || err.Error() != lengthMsg(MaxTextLength+1) {
		t.Errorf("30721 characters: got %v", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// FuzzParse checks that Parse never panics, refuses only with
// *ValidationError, and that an accepted policy survives a round trip.
func FuzzParse(f *testing.F) {
	f.Add(policyText(ruleUntagged, ruleAnyLast))
	f.Add(policyText(rule("1", `"tagStatus":"tagged","tagPatternList":["*test*1*2*3"],"countType":"imageCountMoreThan","countNumber":1`, `"type":"expire"`)))
	f.Add(policyText(
		rule("1", `"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30`, `"type":"transition","targetStorageClass":"archive"`),
		rule("2", `"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90`, `"type":"expire"`)))
	f.Add(policyText(rule("1", `"tagStatus":"tagged","tagPrefixList":["a","b"],"countType":"imageCountMoreThan","countNumber":1`, `"type":"transition","targetStorageClass":null`)))
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T %v is not a *ValidationError", err, err)
			}
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again := buf.String()
		if n := len([]rune(again)); n < MinTextLength {
			again += strings.Repeat(" ", MinTextLength-n)
		}
		p2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the policy:\n%+v\n%+v", p, p2)
		}
	})
}
