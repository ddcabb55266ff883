package policy

import "strings"

// Request is one authorization question: may Principal perform Action on
// Resource?
type Request struct {
	// Principal is the caller's ARN, e.g.
	// "arn:aws:iam::123456789012:user/alice"; "" for an anonymous caller.
	Principal string
	// Account is the caller's 12-digit account id. When empty it is taken
	// from Principal.
	Account string
	// Action is the IAM action, e.g. "ecr:BatchGetImage".
	Action string
	// Resource is the target ARN, e.g.
	// "arn:aws:ecr:us-east-1:123456789012:repository/team/app".
	Resource string
	// Context holds condition key values such as "aws:SourceIp" or
	// "ecr:ResourceTag/team". Keys are matched case-insensitively.
	// aws:PrincipalArn and aws:PrincipalAccount are filled in from
	// Principal and Account when absent.
	Context map[string][]string
	// AnonymousGrant lets an Allow to "*" in the resource policy grant an
	// anonymous caller (Principal ""). Off, "*" means every authenticated
	// principal only, as on ECR. The caller decides which actions may be
	// granted this way (berth: pulls, when auth.anonymous is "pull").
	AnonymousGrant bool
}

// Result is the outcome of [Evaluate].
type Result int

const (
	// ImplicitDeny: no statement allowed the request (the default).
	ImplicitDeny Result = iota
	// Allow: a statement allowed the request and none denied it.
	Allow
	// ExplicitDeny: a Deny statement applied; nothing can override it.
	ExplicitDeny
)

// String returns "ImplicitDeny", "Allow" or "ExplicitDeny".
func (r Result) String() string {
	switch r {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Decision is the result of [Evaluate] and, for logging, the statement
// that decided it.
type Decision struct {
	Result Result
	// Policy and Statement decided the request; both nil for ImplicitDeny.
	// Statement points into Policy.Statements.
	Policy    *Policy
	Statement *Statement
}

// Allowed reports whether the request may proceed.
func (d Decision) Allowed() bool { return d.Result == Allow }

// Evaluate decides req against the caller's identity policies and the
// target's resource policy (either may be nil/empty), as IAM does:
//
//  1. An applicable Deny statement in any policy gives ExplicitDeny.
//  2. Otherwise, for a caller in the resource's account (or when the
//     resource ARN has no account), an Allow in an identity policy or in
//     the resource policy gives Allow. A caller from another account
//     needs an Allow from both, as in cross-account IAM.
//  3. Otherwise ImplicitDeny.
//
// In the resource policy, "*" (or {"AWS": "*"}) names every authenticated
// principal. An account principal (the 12-digit id or
// arn:aws:iam::ACCOUNT:root) delegates to that account's identity
// policies: its Allow counts only beside an identity Allow (which is what
// a cross-account caller needs), never as a grant to every user of the
// account by itself; its Deny applies to every principal of the account.
// An anonymous caller (Principal "") has no identity policies and is
// allowed only by an Allow to "*", and only when req.AnonymousGrant.
// Policies must be valid (from [Parse] or checked with [Policy.Validate]).
func Evaluate(identityPolicies []*Policy, resourcePolicy *Policy, req Request) Decision {
	if req.Account == "" {
		req.Account = arnAccount(req.Principal)
	}
	ctx := normalizeContext(req)
	anonymous := req.Principal == ""

	var identityAllow, resourceAllow, delegated Decision
	if !anonymous {
		for _, p := range identityPolicies {
			if p == nil {
				continue
			}
			if d := evalPolicy(p, req, ctx, identityBased); d.Result == ExplicitDeny {
				return d
			} else if d.Result == Allow && identityAllow.Result != Allow {
				identityAllow = d
			}
		}
	}
	if resourcePolicy != nil {
		// Denies and delegating Allows (account principals) first, then
		// the Allows that grant by themselves.
		delegated = evalPolicy(resourcePolicy, req, ctx, resourceDelegating)
		if delegated.Result == ExplicitDeny {
			return delegated
		}
		resourceAllow = evalPolicy(resourcePolicy, req, ctx, resourceGranting)
	}

	if resAcct := arnAccount(req.Resource); !anonymous && resAcct != "" && resAcct != req.Account {
		if identityAllow.Result == Allow && delegated.Result == Allow {
			return delegated
		}
		return Decision{}
	}
	if identityAllow.Result == Allow {
		return identityAllow
	}
	if resourceAllow.Result == Allow {
		return resourceAllow
	}
	return Decision{}
}

// pass says how a policy is read.
type pass int

const (
	identityBased pass = iota
	// resourceDelegating reads a resource policy counting Allows to
	// account principals, which hold only beside an identity Allow.
	resourceDelegating
	// resourceGranting reads a resource policy counting only Allows that
	// grant by themselves: to the caller's ARN, or "*".
	resourceGranting
)

// evalPolicy returns ExplicitDeny for the first applicable Deny, else
// Allow for the first applicable Allow, else ImplicitDeny.
func evalPolicy(p *Policy, req Request, ctx map[string][]string, mode pass) Decision {
	var allow Decision
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.applies(req, ctx, mode) {
			continue
		}
		if st.Effect == EffectDeny {
			return Decision{Result: ExplicitDeny, Policy: p, Statement: st}
		}
		if st.Effect == EffectAllow && allow.Result != Allow {
			allow = Decision{Result: Allow, Policy: p, Statement: st}
		}
	}
	return allow
}

// applies reports whether every element of st matches the request.
func (st *Statement) applies(req Request, ctx map[string][]string, mode pass) bool {
	if mode != identityBased {
		switch {
		case st.Principal != nil:
			if !st.Principal.matches(req) {
				return false
			}
			// Anonymous callers are only ever granted by a wildcard
			// principal, and only when the caller allows it.
			if req.Principal == "" && st.Effect == EffectAllow && (!st.Principal.isWildcard() || !req.AnonymousGrant) {
				return false
			}
			if mode == resourceGranting && st.Effect == EffectAllow && !st.Principal.grants(req) {
				return false
			}
		case st.NotPrincipal != nil:
			if st.NotPrincipal.matches(req) {
				return false
			}
			// NotPrincipal never grants to anonymous callers (see Evaluate).
			if req.Principal == "" && st.Effect == EffectAllow {
				return false
			}
		default:
			return false
		}
	}
	if st.Action != nil && !anyMatch(st.Action, req.Action, matchAction) {
		return false
	}
	if st.NotAction != nil && anyMatch(st.NotAction, req.Action, matchAction) {
		return false
	}
	if st.Resource != nil && !anyMatch(st.Resource, req.Resource, matchARN) {
		return false
	}
	if st.NotResource != nil && anyMatch(st.NotResource, req.Resource, matchARN) {
		return false
	}
	for _, c := range st.Conditions {
		values := ctx[strings.ToLower(c.Key)]
		if !c.holds(values, len(values) > 0) {
			return false
		}
	}
	return true
}

func anyMatch(patterns []string, s string, match func(pattern, s string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

func (p *Principal) isWildcard() bool {
	if p.Any {
		return true
	}
	for _, a := range p.AWS {
		if a == "*" {
			return true
		}
	}
	return false
}

// matches reports whether the caller is one of the principals p names.
func (p *Principal) matches(req Request) bool {
	if p.isWildcard() {
		return true
	}
	if req.Principal == "" {
		return false
	}
	for _, a := range p.AWS {
		if acct, ok := rootAccount(a); ok {
			if acct == req.Account {
				return true
			}
		} else if a == req.Principal {
			return true
		}
	}
	for _, s := range p.Service {
		if s == req.Principal {
			return true
		}
	}
	return false
}

// grants reports whether p names the caller itself, or "*": an Allow to
// it grants without an identity policy. An account principal does not.
func (p *Principal) grants(req Request) bool {
	if p.isWildcard() {
		return true
	}
	for _, a := range p.AWS {
		if _, ok := rootAccount(a); !ok && a == req.Principal {
			return true
		}
	}
	for _, s := range p.Service {
		if s == req.Principal {
			return true
		}
	}
	return false
}

// rootAccount recognises the two ways to name a whole account:
// "123456789012" and "arn:PARTITION:iam::123456789012:root".
func rootAccount(a string) (string, bool) {
	if isAccountID(a) {
		return a, true
	}
	parts := strings.SplitN(a, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[3] == "" && parts[5] == "root" {
		return parts[4], true
	}
	return "", false
}

// normalizeContext lower-cases keys (IAM condition keys are
// case-insensitive) and adds the principal keys IAM always supplies.
func normalizeContext(req Request) map[string][]string {
	ctx := make(map[string][]string, len(req.Context)+2)
	for k, v := range req.Context {
		lk := strings.ToLower(k)
		ctx[lk] = append(ctx[lk], v...)
	}
	if req.Principal != "" {
		if _, ok := ctx["aws:principalarn"]; !ok {
			ctx["aws:principalarn"] = []string{req.Principal}
		}
		if _, ok := ctx["aws:principalaccount"]; !ok && req.Account != "" {
			ctx["aws:principalaccount"] = []string{req.Account}
		}
	}
	return ctx
}
