package auth

import (
	"context"
	"errors"
	"time"
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
