package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Policy versions IAM accepts.
const (
	Version2012 = "2012-10-17" // current grammar; the one to write
	Version2008 = "2008-10-17" // legacy grammar, still accepted by IAM and ECR
)

// RepositoryPolicyMaxLength is the largest repository policy text ECR
// accepts, in characters (SetRepositoryPolicy's policyText).
const RepositoryPolicyMaxLength = 10240

// ErrInvalid matches every validation failure returned by [Parse] and
// [Policy.Validate] (errors.Is(err, ErrInvalid)).
var ErrInvalid = errors.New("invalid policy")

// ValidationError says what is wrong with a policy document and where.
type ValidationError struct {
	// Path locates the offending element, e.g. "Statement[1].Effect";
	// empty for the document as a whole.
	Path string
	// Reason says what is wrong, e.g. `must be "Allow" or "Deny", got "Permit"`.
	Reason string
}

// Error returns "Path: Reason", or Reason alone when Path is empty.
func (e *ValidationError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Is makes errors.Is(err, ErrInvalid) true for every *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(path, format string, args ...any) error {
	return &ValidationError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// Kind says where a policy is attached, which decides whether it may or
// must name a Principal.
type Kind int

const (
	// Identity is a policy attached to a principal (user, role, access
	// key). It must not contain Principal or NotPrincipal and must contain
	// Resource or NotResource.
	Identity Kind = iota
	// Resource is a resource-based policy such as a repository policy. It
	// must contain Principal or NotPrincipal; Resource is optional and
	// defaults to the resource the policy is attached to.
	Resource
)

// String returns "identity" or "resource".
func (k Kind) String() string {
	if k == Resource {
		return "resource"
	}
	return "identity"
}

// Options control [Parse].
type Options struct {
	// Kind is where the policy will be attached.
	Kind Kind
	// MaxLength is the largest accepted text in characters; 0 means no
	// limit. Repository policies use RepositoryPolicyMaxLength.
	MaxLength int
	// ConditionKeys, when set, reports whether a condition key is one the
	// evaluator supplies; a policy naming any other key is refused, since
	// a condition on a key that is never present silently never holds
	// (or always does, negated). Nil accepts every key.
	ConditionKeys func(key string) bool
}

// Effect is a statement's Effect.
type Effect string

// The two effects a statement can have.
const (
	EffectAllow Effect = "Allow"
	EffectDeny  Effect = "Deny"
)

// Policy is a parsed policy document. Policies returned by [Parse] are
// valid and normalised (single values become one-element lists, a single
// Statement object becomes a one-element list); a Policy built by hand
// should be checked with [Policy.Validate] before it is evaluated.
type Policy struct {
	Version    string      // Version2012, Version2008, or "" when omitted
	ID         string      // the optional Id element
	Statements []Statement // at least one
}

// Statement is one element of a policy's Statement list. Of each pair
// Principal/NotPrincipal, Action/NotAction and Resource/NotResource at
// most one is set; nil means the element is absent.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    *Principal
	NotPrincipal *Principal
	Action       []string // patterns such as "ecr:*", "ecr:Batch*", "*"
	NotAction    []string
	Resource     []string // ARN patterns with '*' and '?', or "*"
	NotResource  []string
	Conditions   []Condition // all must hold; sorted by Operator, then Key
}

// Principal is the value of a Principal or NotPrincipal element.
type Principal struct {
	// Any is the bare "*" form: every principal, including anonymous
	// callers.
	Any bool
	// AWS lists "*", 12-digit account ids, account root ARNs
	// (arn:aws:iam::123456789012:root; both forms mean every principal
	// of that account) and principal ARNs.
	AWS []string
	// Service lists AWS service principals such as "lambda.amazonaws.com".
	Service []string
}

// Condition is one key test of a statement's Condition block: Operator
// (e.g. "StringLike", "ForAnyValue:StringEquals", "IpAddressIfExists")
// applied to the request context values of Key against Values. Values are
// ORed (NORed for negated operators such as StringNotEquals).
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// ParseRepositoryPolicy parses repository policy text as ECR's
// SetRepositoryPolicy does: a resource-based policy of at most
// RepositoryPolicyMaxLength characters.
func ParseRepositoryPolicy(text string) (*Policy, error) {
	return Parse(text, Options{Kind: Resource, MaxLength: RepositoryPolicyMaxLength})
}

// Parse decodes and validates policy text. Every error it returns is a
// *ValidationError naming the offending element. Of several problems it
// names the same one every time: the members of each JSON object are
// decoded in the order of their names.
func Parse(text string, opts Options) (*Policy, error) {
	if strings.TrimSpace(text) == "" {
		return nil, invalid("", "policy text is empty")
	}
	if opts.MaxLength > 0 {
		if n := utf8.RuneCountInString(text); n > opts.MaxLength {
			return nil, invalid("", "policy text is %d characters, more than the limit of %d", n, opts.MaxLength)
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &top); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, invalid("", "policy is not valid JSON: %v (at offset %d)", err, syn.Offset)
		}
		return nil, invalid("", "policy is not a JSON object")
	}
	if top == nil {
		return nil, invalid("", "policy is not a JSON object")
	}
	p := &Policy{}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		raw := top[k]
		var err error
		switch k {
		case "Version":
			p.Version, err = decodeString(raw, "Version")
		case "Id":
			p.ID, err = decodeString(raw, "Id")
		case "Statement":
			p.Statements, err = decodeStatements(raw)
		default:
			err = invalid(k, "unknown policy element %q", k)
		}
		if err != nil {
			return nil, err
		}
	}
	if _, ok := top["Statement"]; !ok {
		return nil, invalid("Statement", "missing required element")
	}
	if err := p.Validate(opts.Kind); err != nil {
		return nil, err
	}
	if opts.ConditionKeys != nil {
		for i, st := range p.Statements {
			for _, c := range st.Conditions {
				if !opts.ConditionKeys(c.Key) {
					return nil, invalid(fmt.Sprintf("Statement[%d].Condition.%s.%s", i, c.Operator, c.Key),
						"condition key %q is not supported", c.Key)
				}
			}
		}
	}
	return p, nil
}

// UsesConditionKey reports whether a condition of p names a key for which
// match is true: an evaluator asks it before it looks up costly keys.
func (p *Policy) UsesConditionKey(match func(key string) bool) bool {
	for _, st := range p.Statements {
		for _, c := range st.Conditions {
			if match(c.Key) {
				return true
			}
		}
	}
	return false
}

func decodeString(raw json.RawMessage, path string) (string, error) {
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		return "", invalid(path, "must be a string")
	}
	return s, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// decodeStringList accepts a string or a non-empty array of strings.
func decodeStringList(raw json.RawMessage, path string) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, invalid(path, "must be a string or an array of strings")
		}
		if len(list) == 0 {
			return nil, invalid(path, "must not be an empty array")
		}
		out := make([]string, len(list))
		for i, r := range list {
			s, err := decodeString(r, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	s, err := decodeString(raw, path)
	if err != nil {
		return nil, invalid(path, "must be a string or an array of strings")
	}
	return []string{s}, nil
}

func decodeStatements(raw json.RawMessage) ([]Statement, error) {
	raw = bytes.TrimSpace(raw)
	var objs []json.RawMessage
	switch {
	case len(raw) > 0 && raw[0] == '{':
		objs = []json.RawMessage{raw}
	case len(raw) > 0 && raw[0] == '[':
		if err := json.Unmarshal(raw, &objs); err != nil {
			return nil, invalid("Statement", "must be an object or an array of objects")
		}
	default:
		return nil, invalid("Statement", "must be an object or an array of objects")
	}
	out := make([]Statement, len(objs))
	for i, o := range objs {
		path := fmt.Sprintf("Statement[%d]", i)
		if err := decodeStatement(o, path, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeStatement(raw json.RawMessage, path string, st *Statement) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return invalid(path, "must be an object")
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		v := fields[k]
		fp := path + "." + k
		var err error
		switch k {
		case "Sid":
			st.Sid, err = decodeString(v, fp)
		case "Effect":
			var s string
			s, err = decodeString(v, fp)
			st.Effect = Effect(s)
		case "Principal":
			st.Principal, err = decodePrincipal(v, fp)
		case "NotPrincipal":
			st.NotPrincipal, err = decodePrincipal(v, fp)
		case "Action":
			st.Action, err = decodeStringList(v, fp)
		case "NotAction":
			st.NotAction, err = decodeStringList(v, fp)
		case "Resource":
			st.Resource, err = decodeStringList(v, fp)
		case "NotResource":
			st.NotResource, err = decodeStringList(v, fp)
		case "Condition":
			st.Conditions, err = decodeConditions(v, fp)
		default:
			err = invalid(fp, "unknown statement element %q", k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func decodePrincipal(raw json.RawMessage, path string) (*Principal, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s != "*" {
			return nil, invalid(path, `must be "*" or an object such as {"AWS": "..."}`)
		}
		return &Principal{Any: true}, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, invalid(path, `must be "*" or an object such as {"AWS": "..."}`)
	}
	p := &Principal{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		var err error
		switch k {
		case "AWS":
			p.AWS, err = decodeStringList(v, path+".AWS")
		case "Service":
			p.Service, err = decodeStringList(v, path+".Service")
		default:
			err = invalid(path, "unsupported principal type %q (want AWS or Service)", k)
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

func decodeConditions(raw json.RawMessage, path string) ([]Condition, error) {
	var ops map[string]json.RawMessage
	if json.Unmarshal(raw, &ops) != nil || ops == nil {
		return nil, invalid(path, "must be an object of condition operators")
	}
	var out []Condition
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		body := ops[op]
		opPath := path + "." + op
		var keys map[string]json.RawMessage
		if json.Unmarshal(body, &keys) != nil || keys == nil {
			return nil, invalid(opPath, "must be an object of condition keys")
		}
		if len(keys) == 0 {
			return nil, invalid(opPath, "must name at least one condition key")
		}
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			values, err := decodeConditionValues(keys[key], opPath+"."+key)
			if err != nil {
				return nil, err
			}
			out = append(out, Condition{Operator: op, Key: key, Values: values})
		}
	}
	return out, nil // in operator, then key order, as the loops go
}

// decodeConditionValues accepts a scalar (string, number, boolean) or a
// non-empty array of scalars, keeping numbers as written.
func decodeConditionValues(raw json.RawMessage, path string) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalid(path, "is not valid JSON")
	}
	scalar := func(v any) (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			return x.String(), true
		case bool:
			if x {
				return "true", true
			}
			return "false", true
		}
		return "", false
	}
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return nil, invalid(path, "must not be an empty array")
		}
		out := make([]string, len(list))
		for i, e := range list {
			s, ok := scalar(e)
			if !ok {
				return nil, invalid(fmt.Sprintf("%s[%d]", path, i), "must be a string, number or boolean")
			}
			out[i] = s
		}
		return out, nil
	}
	s, ok := scalar(v)
	if !ok {
		return nil, invalid(path, "must be a string, number, boolean or an array of them")
	}
	return []string{s}, nil
}

// Validate checks p against the policy grammar for a policy attached as
// kind. It returns the first problem found as a *ValidationError.
func (p *Policy) Validate(kind Kind) error {
	if p == nil {
		return invalid("", "policy is nil")
	}
	switch p.Version {
	case "", Version2012, Version2008:
	default:
		return invalid("Version", "must be %q or %q, got %q", Version2012, Version2008, p.Version)
	}
	if len(p.Statements) == 0 {
		return invalid("Statement", "must contain at least one statement")
	}
	sids := make(map[string]int)
	for i := range p.Statements {
		path := fmt.Sprintf("Statement[%d]", i)
		st := &p.Statements[i]
		if st.Sid != "" {
			if j, dup := sids[st.Sid]; dup {
				return invalid(path+".Sid", "%q is already used by Statement[%d]; statement ids must be unique", st.Sid, j)
			}
			sids[st.Sid] = i
		}
		if err := st.validate(path, kind); err != nil {
			return err
		}
	}
	return nil
}

func (st *Statement) validate(path string, kind Kind) error {
	switch st.Effect {
	case EffectAllow, EffectDeny:
	case "":
		return invalid(path+".Effect", "missing required element")
	default:
		return invalid(path+".Effect", `must be "Allow" or "Deny", got %q`, st.Effect)
	}

	switch {
	case st.Principal != nil && st.NotPrincipal != nil:
		return invalid(path, "has both Principal and NotPrincipal; use one")
	case kind == Identity && (st.Principal != nil || st.NotPrincipal != nil):
		return invalid(path, "an identity policy must not contain Principal or NotPrincipal")
	case kind == Resource && st.Principal == nil && st.NotPrincipal == nil:
		return invalid(path, "a resource policy statement must contain Principal or NotPrincipal")
	case st.Principal != nil:
		if err := st.Principal.validate(path + ".Principal"); err != nil {
			return err
		}
	case st.NotPrincipal != nil:
		if err := st.NotPrincipal.validate(path + ".NotPrincipal"); err != nil {
			return err
		}
	}

	switch {
	case st.Action != nil && st.NotAction != nil:
		return invalid(path, "has both Action and NotAction; use one")
	case st.Action == nil && st.NotAction == nil:
		return invalid(path, "must contain Action or NotAction")
	}
	if err := validateActions(st.Action, path+".Action"); err != nil {
		return err
	}
	if err := validateActions(st.NotAction, path+".NotAction"); err != nil {
		return err
	}

	switch {
	case st.Resource != nil && st.NotResource != nil:
		return invalid(path, "has both Resource and NotResource; use one")
	case kind == Identity && st.Resource == nil && st.NotResource == nil:
		return invalid(path, "an identity policy statement must contain Resource or NotResource")
	}
	if err := validateResources(st.Resource, path+".Resource"); err != nil {
		return err
	}
	if err := validateResources(st.NotResource, path+".NotResource"); err != nil {
		return err
	}

	seen := make(map[[2]string]bool)
	for _, c := range st.Conditions {
		cp := path + ".Condition." + c.Operator
		if seen[[2]string{c.Operator, c.Key}] {
			return invalid(cp+"."+c.Key, "condition key appears twice under the same operator")
		}
		seen[[2]string{c.Operator, c.Key}] = true
		if err := c.validate(cp); err != nil {
			return err
		}
	}
	return nil
}

func (p *Principal) validate(path string) error {
	if p.Any {
		if len(p.AWS) > 0 || len(p.Service) > 0 {
			return invalid(path, `"*" cannot be combined with other principals`)
		}
		return nil
	}
	if len(p.AWS) == 0 && len(p.Service) == 0 {
		return invalid(path, "must name at least one principal")
	}
	for i, a := range p.AWS {
		ip := fmt.Sprintf("%s.AWS[%d]", path, i)
		switch {
		case a == "*", isAccountID(a):
		case strings.ContainsAny(a, "*?"):
			return invalid(ip, "%q: wildcards are not allowed in a principal except the whole value \"*\"", a)
		case !isPrincipalARN(a):
			return invalid(ip, "%q is not a 12-digit account id, an IAM/STS ARN, or \"*\"", a)
		}
	}
	for i, s := range p.Service {
		if s == "" || strings.ContainsAny(s, "*? ") {
			return invalid(fmt.Sprintf("%s.Service[%d]", path, i), "%q is not a service principal such as \"lambda.amazonaws.com\"", s)
		}
	}
	return nil
}

// isPrincipalARN reports whether s looks like arn:PARTITION:iam|sts::ACCOUNT:NAME.
func isPrincipalARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" &&
		(parts[2] == "iam" || parts[2] == "sts") && parts[3] == "" &&
		isAccountID(parts[4]) && parts[5] != ""
}

func validateActions(actions []string, path string) error {
	for i, a := range actions {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if a == "*" {
			continue
		}
		service, name, ok := strings.Cut(a, ":")
		if !ok || service == "" || name == "" {
			return invalid(ip, "%q is not an action; want \"service:Action\" (e.g. \"ecr:BatchGetImage\") or \"*\"", a)
		}
		for _, c := range service {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return invalid(ip, "%q has an invalid service prefix %q", a, service)
			}
		}
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '*' || c == '?' || c == '-' || c == '_') {
				return invalid(ip, "%q has an invalid character %q in the action name", a, c)
			}
		}
	}
	return nil
}

func validateResources(resources []string, path string) error {
	for i, r := range resources {
		if r == "*" {
			continue
		}
		parts := strings.SplitN(r, ":", 6)
		if len(parts) < 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
			return invalid(fmt.Sprintf("%s[%d]", path, i), "%q is not an ARN (arn:partition:service:region:account:resource) or \"*\"", r)
		}
	}
	return nil
}

// MarshalJSON writes p in canonical form: Statement, Action, Resource and
// principal lists always as arrays, conditions grouped by operator. The
// output parses back to an equal Policy.
func (p *Policy) MarshalJSON() ([]byte, error) {
	type wireStatement struct {
		Sid          string                         `json:"Sid,omitempty"`
		Effect       Effect                         `json:"Effect"`
		Principal    *Principal                     `json:"Principal,omitempty"`
		NotPrincipal *Principal                     `json:"NotPrincipal,omitempty"`
		Action       []string                       `json:"Action,omitempty"`
		NotAction    []string                       `json:"NotAction,omitempty"`
		Resource     []string                       `json:"Resource,omitempty"`
		NotResource  []string                       `json:"NotResource,omitempty"`
		Condition    map[string]map[string][]string `json:"Condition,omitempty"`
	}
	type wirePolicy struct {
		Version   string          `json:"Version,omitempty"`
		ID        string          `json:"Id,omitempty"`
		Statement []wireStatement `json:"Statement"`
	}
	w := wirePolicy{Version: p.Version, ID: p.ID, Statement: make([]wireStatement, len(p.Statements))}
	for i, st := range p.Statements {
		ws := wireStatement{
			Sid: st.Sid, Effect: st.Effect, Principal: st.Principal, NotPrincipal: st.NotPrincipal,
			Action: st.Action, NotAction: st.NotAction, Resource: st.Resource, NotResource: st.NotResource,
		}
		for _, c := range st.Conditions {
			if ws.Condition == nil {
				ws.Condition = make(map[string]map[string][]string)
			}
			if ws.Condition[c.Operator] == nil {
				ws.Condition[c.Operator] = make(map[string][]string)
			}
			ws.Condition[c.Operator][c.Key] = c.Values
		}
		w.Statement[i] = ws
	}
	return json.Marshal(w)
}

// MarshalJSON writes "*" for Any, otherwise {"AWS": [...], "Service": [...]}.
func (p *Principal) MarshalJSON() ([]byte, error) {
	if p.Any {
		return []byte(`"*"`), nil
	}
	return json.Marshal(struct {
		AWS     []string `json:"AWS,omitempty"`
		Service []string `json:"Service,omitempty"`
	}{p.AWS, p.Service})
}

// String returns the canonical JSON text of p.
func (p *Policy) String() string {
	b, err := p.MarshalJSON()
	if err != nil {
		return fmt.Sprintf("<policy: %v>", err)
	}
	return string(b)
}
