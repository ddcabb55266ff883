package metadata

import (
	"context"
	"time"
)

// User is a person or machine that signs requests with access keys.
type User struct {
	// Name identifies the user, like an IAM user name. Users are listed in
	// byte order of their names.
	Name string
	// ARN is the user's ARN as principals in policies name it, e.g.
	// "arn:aws:iam::123456789012:user/alice"; empty if the caller derives
	// it from Name. The store keeps it as given.
	ARN string
	// CreatedAt is when the user was created; CreateUser records the time
	// of the call when it is zero.
	CreatedAt time.Time
	// Policies are the user's identity policies, in the order given. Each
	// entry is either the ARN of a managed policy
	// ("arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly") or an
	// inline policy document (JSON, starting with '{'). The store keeps
	// them as opaque strings; the auth package parses and evaluates them.
	Policies []string
}

// AccessKeyStatus says whether an access key may sign requests.
type AccessKeyStatus string

// Access key statuses, named as IAM names them.
const (
	AccessKeyActive   AccessKeyStatus = "Active"
	AccessKeyInactive AccessKeyStatus = "Inactive"
)

// Valid reports whether s is AccessKeyActive or AccessKeyInactive.
func (s AccessKeyStatus) Valid() bool {
	return s == AccessKeyActive || s == AccessKeyInactive
}

// AccessKey is a user's access key. Its secret is stored only sealed
// (encrypted and authenticated under berth's master key, bound to ID), so
// the index alone never reveals it; see package auth/secret.
type AccessKey struct {
	// ID is the public half, "AKIA" and 16 characters of [A-Z2-7], as
	// AWS's are.
	ID string
	// User is the name of the user the key belongs to.
	User string
	// SealedSecret is the secret access key as auth/secret sealed it.
	SealedSecret []byte
	// Status is AccessKeyActive or AccessKeyInactive; CreateAccessKey
	// records AccessKeyActive when it is empty.
	Status AccessKeyStatus
	// CreatedAt is when the key was created; CreateAccessKey records the
	// time of the call when it is zero.
	CreatedAt time.Time
	// LastUsedAt is the latest time given to TouchAccessKey; zero if the
	// key was never used.
	LastUsedAt time.Time
}

// Identities records users, their identity policies and their access
// keys. The request path needs only Credentials; the rest is for the
// people (and the CLI) who manage identities.
type Identities interface {
	Credentials
	// CreateUser records a new user. ErrUserExists if the name is taken.
	CreateUser(ctx context.Context, u User) error
	// Users lists every user in byte order of their names.
	Users(ctx context.Context) ([]User, error)
	// DeleteUser removes a user and all of its access keys.
	// ErrUserUnknown if there is no such user.
	DeleteUser(ctx context.Context, name string) error
	// PutUserPolicies replaces the policies of a user with policies.
	// ErrUserUnknown if there is no such user.
	PutUserPolicies(ctx context.Context, name string, policies []string) error
	// CreateAccessKey records a new access key of k.User. ErrUserUnknown
	// if the user does not exist, ErrAccessKeyExists if the ID is taken,
	// ErrAccessKeyStatus if k.Status is neither empty nor valid.
	CreateAccessKey(ctx context.Context, k AccessKey) error
	// AccessKeys lists the access keys of a user, oldest first.
	// ErrUserUnknown if there is no such user.
	AccessKeys(ctx context.Context, user string) ([]AccessKey, error)
	// SetAccessKeyStatus activates or deactivates a key.
	// ErrAccessKeyUnknown if there is no such key, ErrAccessKeyStatus if
	// status is not valid.
	SetAccessKeyStatus(ctx context.Context, id string, status AccessKeyStatus) error
	// DeleteAccessKey removes a key. ErrAccessKeyUnknown if there is no
	// such key.
	DeleteAccessKey(ctx context.Context, id string) error
}

// Credentials is what authenticating a request reads: the key that signed
// it and the user that owns it.
type Credentials interface {
	// AccessKey returns key id. ErrAccessKeyUnknown if there is none.
	AccessKey(ctx context.Context, id string) (AccessKey, error)
	// User returns the user name. ErrUserUnknown if there is none.
	User(ctx context.Context, name string) (User, error)
	// TouchAccessKey records that key id was used at a time. It is one
	// small write and never moves LastUsedAt back, so replicas may report
	// out of order; callers on the request path should still report a key
	// at most every minute or so. Touching a key that does not exist
	// (deleted meanwhile) is not an error.
	TouchAccessKey(ctx context.Context, id string, at time.Time) error
}
