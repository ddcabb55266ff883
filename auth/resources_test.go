package auth_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/internal/arn"
)

// functionPolicies is a Lambda-shaped resource policy lookup: policies by
// function ARN, and every ARN it was asked about.
type functionPolicies struct {
	policies map[string]string
	asked    *[]string
}

func (p functionPolicies) ResourcePolicy(ctx context.Context, resource arn.ARN) (string, error) {
	*p.asked = append(*p.asked, resource.String())
	return p.policies[resource.String()], nil
}

// TestAllowedAsksTheResourcesService checks that Allowed takes any
// resource's ARN and evaluates the policy the ARN's own service keeps:
// a function policy grants bob what no identity policy of his does, on
// that function only, and ECR's repository policies are not asked about
// functions.
func TestAllowedAsksTheResourcesService(t *testing.T) {
	scope := arn.Scope{Region: region, AccountID: account}
	hello, other := scope.Function("hello", ""), scope.Function("other", "")
	var asked []string
	lambda := functionPolicies{asked: &asked, policies: map[string]string{hello.String(): `{"Version":"2012-10-17","Statement":[{
		"Effect":"Allow","Principal":{"AWS":"` + scope.User("bob").String() + `"},
		"Action":"lambda:InvokeFunction","Resource":"` + hello.String() + `"}]}`}}
	f := newFixture(t, func(c *auth.Config) { c.Resources[arn.Lambda] = lambda })
	k := f.user("bob", "read-only")
	r := httptest.NewRequest("GET", "/v2/", nil)
	r.Header.Set("Authorization", keyBasic(k))
	ctx, err := f.auth.Authorize(r, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob := auth.PrincipalFrom(ctx)

	for _, tt := range []struct {
		action, resource string
		want             bool
	}{
		{"lambda:InvokeFunction", hello.String(), true},
		{"lambda:InvokeFunction", other.String(), false},
		{"lambda:DeleteFunction", hello.String(), false},
		{"ecr:BatchGetImage", scope.Repository("team/app").String(), true}, // read-only
		{"ecr:PutImage", scope.Repository("team/app").String(), false},
		{"ecr:GetAuthorizationToken", "", true},
	} {
		got, err := f.auth.Allowed(ctx, bob, tt.action, tt.resource)
		if err != nil || got != tt.want {
			t.Errorf("Allowed(bob, %s, %s) = %v, %v; want %v", tt.action, tt.resource, got, err, tt.want)
		}
	}
	if len(asked) != 3 || asked[0] != hello.String() || asked[1] != other.String() {
		t.Errorf("the Lambda lookup was asked about %v; want the three function ARNs only", asked)
	}
	if _, err := f.auth.Allowed(ctx, bob, "ecr:BatchGetImage", "repository/team/app"); err == nil {
		t.Error("Allowed took a resource that is not an ARN")
	}
	err = f.auth.AuthorizeAction(auth.WithPrincipal(ctx, bob), "lambda:InvokeFunction", other.String())
	if err == nil || err.Error() != "AccessDeniedException: User: "+scope.User("bob").String()+" is not authorized to perform: lambda:InvokeFunction on resource: "+other.String() {
		t.Errorf("AuthorizeAction on another function = %v", err)
	}
}
