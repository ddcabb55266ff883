package token

import (
	"strings"
	"time"
)

// Claims is what a verified token says: who it was issued to, for which
// registry, and until when.
type Claims struct {
	// Subject is the principal the token was issued to, e.g. a user name.
	Subject string
	// AccessKeyID is the access key whose SigV4 request obtained the token.
	AccessKeyID string
	// Audience is the registry (host or service name) the token is for.
	Audience string
	// IssuedAt is when the token was issued, to the second.
	IssuedAt time.Time
	// ExpiresAt is when the token stops being valid, to the second.
	ExpiresAt time.Time
	// ID is the token's unique ID (the JWT "jti"). It is safe to log.
	ID string
	// Scoped marks a Docker token-flow Bearer token: it grants only what
	// Scope lists (possibly nothing). An unscoped (ECR) token carries the
	// principal's full rights, which are checked against policies.
	Scoped bool
	// Scope lists the repository actions a scoped token grants.
	Scope []Access
}

// Access is one grant in a token's scope, in the shape of the Docker
// token specification's "access" claim:
// {"type":"repository","name":"team/app","actions":["pull","push"]}.
type Access struct {
	// Type is the resource type, usually "repository".
	Type string `json:"type"`
	// Name is the resource name, e.g. the repository "team/app".
	Name string `json:"name"`
	// Actions are the granted actions, e.g. "pull" and "push".
	Actions []string `json:"actions"`
}

// String returns the access in the Docker scope form,
// "repository:team/app:pull,push".
func (a Access) String() string {
	return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}
