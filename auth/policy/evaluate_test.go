package policy

import (
	"testing"
)

const (
	acct    = "123456789012"
	other   = "210987654321"
	alice   = "arn:aws:iam::123456789012:user/alice"
	bob     = "arn:aws:iam::123456789012:user/bob"
	mallory = "arn:aws:iam::210987654321:user/mallory"
	appRepo = "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
	libRepo = "arn:aws:ecr:us-east-1:123456789012:repository/lib/base"
)

func mustParse(t *testing.T, kind Kind, text string) *Policy {
	t.Helper()
	p, err := Parse(text, Options{Kind: kind})
	if err != nil {
		t.Fatalf("Parse(%s): %v", text, err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	identity := func(text string) *Policy { return mustParse(t, Identity, text) }
	resource := func(text string) *Policy { return mustParse(t, Resource, text) }

	pullTeam := identity(`{"Version":"2012-10-17","Statement":[{"Sid":"PullTeam","Effect":"Allow",
		"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],
		"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/team/*"}]}`)
	denyPush := identity(`{"Version":"2012-10-17","Statement":[{"Sid":"NoPush","Effect":"Deny",
		"Action":["ecr:PutImage","ecr:InitiateLayerUpload"],"Resource":"*"}]}`)
	anonPull := resource(anonymousPull)
	bobPush := resource(`{"Version":"2012-10-17","Statement":[{"Sid":"BobPush","Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"ecr:*"}]}`)
	accountRoot := resource(`{"Version":"2012-10-17","Statement":[{"Sid":"Acct","Effect":"Allow",
		"Principal":{"AWS":["arn:aws:iam::123456789012:root"]},"Action":"ecr:BatchGetImage"}]}`)
	accountDeny := resource(`{"Version":"2012-10-17","Statement":[{"Sid":"AcctDeny","Effect":"Deny",
		"Principal":{"AWS":"123456789012"},"Action":"ecr:BatchGetImage"}]}`)
	anon := func(r Request) Request { r.AnonymousGrant = true; return r }
	accountID := resource(`{"Version":"2012-10-17","Statement":[{"Sid":"Acct","Effect":"Allow",
		"Principal":{"AWS":"210987654321"},"Action":"ecr:BatchGetImage"}]}`)
	allButDelete := identity(`{"Version":"2012-10-17","Statement":[{"Sid":"AllButDelete","Effect":"Allow",
		"NotAction":["ecr:Delete*","ecr:SetRepositoryPolicy"],"Resource":"*"}]}`)
	notLib := identity(`{"Version":"2012-10-17","Statement":[{"Sid":"NotLib","Effect":"Allow","Action":"ecr:*",
		"NotResource":"arn:aws:ecr:*:*:repository/lib/*"}]}`)
	denyOutsideVPN := resource(`{"Version":"2012-10-17","Statement":[
		{"Sid":"All","Effect":"Allow","Principal":"*","Action":"ecr:*"},
		{"Sid":"VPN","Effect":"Deny","Principal":"*","Action":"ecr:*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`)
	denyAllButAlice := resource(`{"Version":"2012-10-17","Statement":[{"Sid":"OnlyAlice","Effect":"Deny",
		"NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"ecr:*"}]}`)
	tagged := identity(`{"Version":"2012-10-17","Statement":[{"Sid":"Tagged","Effect":"Allow","Action":"ecr:*","Resource":"*",
		"Condition":{"StringEquals":{"ecr:ResourceTag/team":"payments"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/a*"}}}]}`)
	notPrincipalAllow := resource(`{"Version":"2012-10-17","Statement":[{"Sid":"NP","Effect":"Allow",
		"NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":"ecr:*"}]}`)

	req := func(principal, action, res string) Request {
		return Request{Principal: principal, Action: action, Resource: res}
	}
	withCtx := func(r Request, kv ...string) Request {
		r.Context = map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			r.Context[kv[i]] = append(r.Context[kv[i]], kv[i+1])
		}
		return r
	}

	tests := []struct {
		name     string
		identity []*Policy
		resource *Policy
		req      Request
		want     Result
		wantSid  string
	}{
		{"no policies", nil, nil, req(alice, "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"identity allow", []*Policy{pullTeam}, nil, req(alice, "ecr:BatchGetImage", appRepo), Allow, "PullTeam"},
		{"action names are case-insensitive", []*Policy{pullTeam}, nil, req(alice, "ECR:batchgetimage", appRepo), Allow, "PullTeam"},
		{"identity allow, other repo", []*Policy{pullTeam}, nil, req(alice, "ecr:BatchGetImage", libRepo), ImplicitDeny, ""},
		{"identity allow, other action", []*Policy{pullTeam}, nil, req(alice, "ecr:PutImage", appRepo), ImplicitDeny, ""},
		{"deny wins over identity allow", []*Policy{FullAccess(), denyPush}, nil, req(alice, "ecr:PutImage", appRepo), ExplicitDeny, "NoPush"},
		{"deny wins over resource allow", []*Policy{denyPush}, bobPush, req(bob, "ecr:PutImage", appRepo), ExplicitDeny, "NoPush"},
		{"deny of other action leaves allow", []*Policy{FullAccess(), denyPush}, nil, req(alice, "ecr:BatchGetImage", appRepo), Allow, ""},
		{"resource policy allows named principal", nil, bobPush, req(bob, "ecr:PutImage", appRepo), Allow, "BobPush"},
		{"resource policy names someone else", nil, bobPush, req(alice, "ecr:PutImage", appRepo), ImplicitDeny, ""},
		{"anonymous not granted by Principal * unless opted in", nil, anonPull, req("", "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"anonymous pull via Principal *, opted in", nil, anonPull, anon(req("", "ecr:BatchGetImage", appRepo)), Allow, "AnonymousPull"},
		{"anonymous push not granted", nil, anonPull, req("", "ecr:PutImage", appRepo), ImplicitDeny, ""},
		{"anonymous ignores identity policies", []*Policy{FullAccess()}, nil, req("", "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"anonymous not granted by account principal", nil, accountRoot, req("", "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"anonymous not granted by NotPrincipal allow", nil, notPrincipalAllow, req("", "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"NotPrincipal allow grants others", nil, notPrincipalAllow, req(alice, "ecr:BatchGetImage", appRepo), Allow, "NP"},
		{"NotPrincipal allow excludes the named", nil, notPrincipalAllow, req(bob, "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"authenticated caller uses Principal * too", nil, anonPull, req(alice, "ecr:BatchGetImage", appRepo), Allow, "AnonymousPull"},
		{"account root principal delegates: alone grants nothing", nil, accountRoot, req(bob, "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"account root principal delegates: explicit Account", nil, accountRoot, Request{Principal: "arn:aws:sts::123456789012:assumed-role/ci/s1", Account: acct, Action: "ecr:BatchGetImage", Resource: appRepo}, ImplicitDeny, ""},
		{"account root principal delegates to the identity policy", []*Policy{ReadOnly()}, accountRoot, req(bob, "ecr:BatchGetImage", appRepo), Allow, ""},
		{"account id principal delegates too", nil, accountID, req(bob, "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"account principal Deny applies to its users", []*Policy{FullAccess()}, accountDeny, req(bob, "ecr:BatchGetImage", appRepo), ExplicitDeny, "AcctDeny"},
		{"account root, other account", nil, accountRoot, req(mallory, "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"cross-account: resource policy alone is not enough", nil, accountID, req(mallory, "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"cross-account: identity and resource both allow", []*Policy{ReadOnly()}, accountID, req(mallory, "ecr:BatchGetImage", appRepo), Allow, "Acct"},
		{"cross-account: identity alone is not enough", []*Policy{FullAccess()}, nil, req(mallory, "ecr:BatchGetImage", appRepo), ImplicitDeny, ""},
		{"NotAction allows the rest", []*Policy{allButDelete}, nil, req(alice, "ecr:PutImage", appRepo), Allow, "AllButDelete"},
		{"NotAction excludes listed", []*Policy{allButDelete}, nil, req(alice, "ecr:DeleteRepository", appRepo), ImplicitDeny, ""},
		{"NotResource allows elsewhere", []*Policy{notLib}, nil, req(alice, "ecr:PutImage", appRepo), Allow, "NotLib"},
		{"NotResource excludes listed", []*Policy{notLib}, nil, req(alice, "ecr:PutImage", libRepo), ImplicitDeny, ""},
		{"condition deny outside VPN", nil, denyOutsideVPN, withCtx(req(alice, "ecr:BatchGetImage", appRepo), "aws:SourceIp", "203.0.113.9"), ExplicitDeny, "VPN"},
		{"condition inside VPN", nil, denyOutsideVPN, withCtx(req(alice, "ecr:BatchGetImage", appRepo), "aws:SourceIp", "10.1.2.3"), Allow, "All"},
		{"condition key missing: negated operator applies", nil, denyOutsideVPN, req(alice, "ecr:BatchGetImage", appRepo), ExplicitDeny, "VPN"},
		{"condition keys are case-insensitive", nil, denyOutsideVPN, anon(withCtx(req("", "ecr:BatchGetImage", appRepo), "AWS:SOURCEIP", "10.1.2.3")), Allow, "All"},
		{"NotPrincipal deny spares the named", nil, denyAllButAlice, req(alice, "ecr:PutImage", appRepo), ImplicitDeny, ""},
		{"NotPrincipal deny hits others", []*Policy{FullAccess()}, denyAllButAlice, req(bob, "ecr:PutImage", appRepo), ExplicitDeny, "OnlyAlice"},
		{"NotPrincipal deny hits anonymous", nil, denyAllButAlice, req("", "ecr:PutImage", appRepo), ExplicitDeny, "OnlyAlice"},
		{"resource tag and principal ARN condition", []*Policy{tagged}, nil, withCtx(req(alice, "ecr:PutImage", appRepo), "ecr:ResourceTag/team", "payments"), Allow, "Tagged"},
		{"resource tag mismatch", []*Policy{tagged}, nil, withCtx(req(alice, "ecr:PutImage", appRepo), "ecr:ResourceTag/team", "search"), ImplicitDeny, ""},
		{"aws:PrincipalArn filled from Principal", []*Policy{tagged}, nil, withCtx(req(bob, "ecr:PutImage", appRepo), "ecr:ResourceTag/team", "payments"), ImplicitDeny, ""},
		{"unknown condition key does not match", []*Policy{tagged}, nil, req(alice, "ecr:PutImage", appRepo), ImplicitDeny, ""},
		{"ReadOnly cannot push", []*Policy{ReadOnly()}, nil, req(alice, "ecr:PutImage", appRepo), ImplicitDeny, ""},
		{"ReadOnly can pull", []*Policy{ReadOnly()}, nil, req(alice, "ecr:BatchGetImage", appRepo), Allow, ""},
		{"PowerUser can push", []*Policy{PowerUser()}, nil, req(alice, "ecr:PutImage", appRepo), Allow, ""},
		{"PowerUser cannot delete", []*Policy{PowerUser()}, nil, req(alice, "ecr:DeleteRepository", appRepo), ImplicitDeny, ""},
		{"PowerUser cannot set policy", []*Policy{PowerUser()}, nil, req(alice, "ecr:SetRepositoryPolicy", appRepo), ImplicitDeny, ""},
		{"FullAccess can delete", []*Policy{FullAccess()}, nil, req(alice, "ecr:DeleteRepository", appRepo), Allow, ""},
		{"nil identity policy skipped", []*Policy{nil, pullTeam}, nil, req(alice, "ecr:BatchGetImage", appRepo), Allow, "PullTeam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(tt.identity, tt.resource, tt.req)
			if d.Result != tt.want {
				t.Fatalf("Result = %v, want %v", d.Result, tt.want)
			}
			if d.Allowed() != (tt.want == Allow) {
				t.Errorf("Allowed() = %v", d.Allowed())
			}
			if tt.want == ImplicitDeny {
				if d.Statement != nil || d.Policy != nil {
					t.Errorf("ImplicitDeny carries statement %+v", d.Statement)
				}
				return
			}
			if d.Statement == nil || d.Policy == nil {
				t.Fatalf("%v without statement", d.Result)
			}
			if tt.wantSid != "" && d.Statement.Sid != tt.wantSid {
				t.Errorf("statement Sid = %q, want %q", d.Statement.Sid, tt.wantSid)
			}
		})
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Allow: "Allow", ExplicitDeny: "ExplicitDeny", ImplicitDeny: "ImplicitDeny"} {
		if r.String() != want {
			t.Errorf("%d.String() = %q", r, r.String())
		}
	}
}
