package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/auth/policy"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/metadata"
)

// The ready-made identity policies, by the ARN AWS gives them and by
// berth's short name.
var managed = []struct {
	arn, short string
	policy     *policy.Policy
}{
	{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess", "full-access", policy.FullAccess()},
	{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser", "push-pull", policy.PowerUser()},
	{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", "read-only", policy.ReadOnly()},
	{"arn:aws:iam::aws:policy/AmazonECS_FullAccess", "ecs-full-access", policy.ECSFullAccess()},
	{"arn:aws:iam::aws:policy/AWSLambda_FullAccess", "lambda-full-access", policy.LambdaFullAccess()},
	{"arn:aws:iam::aws:policy/AWSBatchFullAccess", "batch-full-access", policy.BatchFullAccess()},
	{"arn:aws:iam::aws:policy/CloudWatchLogsFullAccess", "logs-full-access", policy.LogsFullAccess()},
	{"arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess", "logs-read-only", policy.LogsReadOnlyAccess()},
	{"arn:aws:iam::aws:policy/AdministratorAccess", "admin", policy.AdministratorAccess()},
}

// ManagedPolicy returns the ready-made policy that name (an ARN or a short
// name: full-access, push-pull, read-only, ecs-full-access,
// lambda-full-access, batch-full-access, logs-full-access, logs-read-only, admin) names. The policy is shared:
// do not modify it.
func ManagedPolicy(name string) (*policy.Policy, bool) {
	for _, m := range managed {
		if name == m.arn || name == m.short {
			return m.policy, true
		}
	}
	return nil, false
}

// ManagedPolicyNames lists the short names ManagedPolicy accepts.
func ManagedPolicyNames() []string {
	var names []string
	for _, m := range managed {
		names = append(names, m.short)
	}
	return names
}

// userName is IAM's user name grammar.
var userName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// CreateUser validates and records a new user with identity policies:
// ready-made ones by name or ARN, or inline JSON documents.
func CreateUser(ctx context.Context, ids metadata.Identities, name string, policies []string) error {
	if !userName.MatchString(name) {
		return fmt.Errorf("user name %q: use 1 to 64 letters, digits and +=,.@_-", name)
	}
	if err := ValidatePolicies(policies); err != nil {
		return err
	}
	return ids.CreateUser(ctx, metadata.User{Name: name, Policies: policies})
}

// ValidatePolicies checks that each entry names a ready-made policy or is
// a valid identity policy document.
func ValidatePolicies(policies []string) error {
	for _, text := range policies {
		if _, ok := ManagedPolicy(text); ok {
			continue
		}
		if !strings.HasPrefix(strings.TrimSpace(text), "{") {
			return fmt.Errorf("policy %q: not one of %s and not a JSON document", text, strings.Join(ManagedPolicyNames(), ", "))
		}
		if _, err := policy.Parse(text, parseOptions(policy.Identity)); err != nil {
			return err
		}
	}
	return nil
}

// CreateAccessKey makes a new access key for user and records it with its
// secret sealed. The returned key holds the secret: show it once.
func CreateAccessKey(ctx context.Context, ids metadata.Identities, sealer *secret.Sealer, user string) (secret.AccessKey, error) {
	k, err := secret.NewAccessKey()
	if err != nil {
		return secret.AccessKey{}, err
	}
	sealed, err := sealer.SealAccessKey(k)
	if err != nil {
		return secret.AccessKey{}, err
	}
	err = ids.CreateAccessKey(ctx, metadata.AccessKey{ID: k.ID, User: user, SealedSecret: sealed, Status: metadata.AccessKeyActive})
	if err != nil {
		return secret.AccessKey{}, err
	}
	return k, nil
}

// AdminUser is the user Bootstrap creates.
const AdminUser = "admin"

// Bootstrap gives a registry with no users an administrator: the user
// "admin" with AdministratorAccess (every action of every service berth
// serves) and an access key, written to credentialsFile
// (readable by the owner only) in the AWS shared-credentials format. It
// returns the new key, or ok false when users already exist, so the key
// is shown only on the first start.
func Bootstrap(ctx context.Context, ids metadata.Identities, sealer *secret.Sealer, credentialsFile string) (k secret.AccessKey, ok bool, err error) {
	users, err := ids.Users(ctx)
	if err != nil || len(users) > 0 {
		return secret.AccessKey{}, false, err
	}
	if err := CreateUser(ctx, ids, AdminUser, []string{"admin"}); err != nil {
		if errors.Is(err, metadata.ErrUserExists) { // another process won the race
			return secret.AccessKey{}, false, nil
		}
		return secret.AccessKey{}, false, err
	}
	k, err = CreateAccessKey(ctx, ids, sealer, AdminUser)
	if err != nil {
		return secret.AccessKey{}, false, err
	}
	if err := WriteCredentialsFile(credentialsFile, k); err != nil {
		return secret.AccessKey{}, false, err
	}
	return k, true, nil
}

// WriteCredentialsFile writes k as the default profile of an AWS shared
// credentials file, mode 0600, so that
// AWS_SHARED_CREDENTIALS_FILE=<path> aws ecr ... signs with it.
func WriteCredentialsFile(path string, k secret.AccessKey) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	body := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", k.ID, k.Secret)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // an older file may have had another mode
		f.Close()
		return err
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
