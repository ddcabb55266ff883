package auth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/berth-dev/berth/auth/policy"
)

// LaunchTokenTTL is how long the registry token of a launch lives: long
// enough for the engine to pull a task's images, short enough to be
// worthless after.
const LaunchTokenTTL = 15 * time.Minute

// RegistryToken issues a short-lived registry password for the user who
// launched a container, by name and the access key that signed the
// launch, which the engine presents (as Basic "AWS:<token>") when it
// pulls the container's image: repository policies apply to launches as
// they do to pulls, and revoking the key or deleting the user stops it.
// It returns "" when access control is off.
func (a *Authority) RegistryToken(ctx context.Context, user, accessKeyID string) (string, error) {
	if a.cfg.Open {
		return "", nil
	}
	if user == "" || accessKeyID == "" {
		return "", errors.New("auth: a registry token needs the user and access key of the launch")
	}
	tok, _, err := a.tokens.Issue(ctx, user, accessKeyID, LaunchTokenTTL, nil)
	return tok, err
}

// AuthorizeResource returns an AccessDeniedException unless the caller
// in ctx may perform action on the resource ARN ("*" for none), by its
// identity policies: the launcher's resources have no resource policies.
func (a *Authority) AuthorizeResource(ctx context.Context, action, arn string) error {
	if a.cfg.Open {
		return nil
	}
	p := PrincipalFrom(ctx)
	req := policy.Request{Principal: p.ARN, Account: a.cfg.AccountID, Action: action, Resource: arn}
	if p.SourceIP != "" {
		req.Context = map[string][]string{"aws:SourceIp": {p.SourceIP}}
	}
	if !p.Anonymous() && !p.scoped && policy.Evaluate(p.policies, nil, req).Allowed() {
		return nil
	}
	who := p.ARN
	if p.Anonymous() {
		who = "anonymous"
	}
	return &AWSError{Type: "AccessDeniedException", Status: http.StatusBadRequest,
		Message: "User: " + who + " is not authorized to perform: " + action + " on resource: " + arn}
}
