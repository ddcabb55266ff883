package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/internal/arn"
)

// failingPolicies is an index that cannot read repository policies.
type failingPolicies struct{ fail *bool }

func (p failingPolicies) ResourcePolicy(ctx context.Context, resource arn.ARN) (string, error) {
	if *p.fail {
		return "", errors.New("metadata: database is locked")
	}
	return "", nil
}

// A repository policy that cannot be read may hold a Deny: the request is
// refused (a server error, logged), never allowed. Before, the error read
// as "no policy" and the push went through.
func TestFailsClosedOnPolicyReadError(t *testing.T) {
	fail := false
	f := newFixture(t, func(c *auth.Config) {
		c.Resources = map[string]auth.ResourcePolicies{arn.ECR: failingPolicies{&fail}}
	})
	admin := basic(f.token(f.user("admin", "full-access")))
	f.push(admin, "team/app", "v1")
	fail = true
	f.expect(http.StatusInternalServerError, "GET", "/v2/team/app/manifests/v1", admin, nil)
	if _, body := f.expect(http.StatusOK, "GET", "/v2/_catalog", admin, nil); strings.Contains(body, "team/app") {
		t.Errorf("catalog with unreadable policies = %s; want team/app hidden", body)
	}
	if !strings.Contains(f.logs.String(), "database is locked") {
		t.Errorf("the failure was not logged:\n%s", f.logs)
	}
}

// An identity policy that no longer parses (written before a stricter
// release, or edited in the database) refuses every request of its user:
// it may have held a Deny. Before, it was skipped and the user's other
// policies granted full access.
func TestFailsClosedOnBrokenIdentityPolicy(t *testing.T) {
	f := newFixture(t)
	k := f.user("mallory", "full-access")
	tok := basic(f.token(k))
	f.push(tok, "team/app", "v1")
	broken := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:*","Resource":"*","Bogus":1}]}`
	if err := f.store.PutUserPolicies(t.Context(), "mallory", []string{"full-access", broken}); err != nil {
		t.Fatal(err)
	}
	f.expect(http.StatusForbidden, "GET", "/v2/team/app/manifests/v1", tok, nil)
	_, err := f.ecrClient(k.ID, k.Secret).DescribeRepositories(t.Context(), &sdkecr.DescribeRepositoriesInput{RepositoryNames: []string{"team/app"}})
	assertAPIError(t, err, "AccessDeniedException")
	_, err = f.ecrClient(k.ID, k.Secret).CreateRepository(t.Context(), &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("new")})
	assertAPIError(t, err, "AccessDeniedException")
	if !strings.Contains(f.logs.String(), "does not parse") {
		t.Errorf("the broken policy was not logged:\n%s", f.logs)
	}
}
