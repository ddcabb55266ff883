package metadata

import (
	"context"
	"time"
)

// Session is a person's sign-in to the web UI. It lives in the index, not
// in a process, so any replica serves it and a restart keeps it.
type Session struct {
	// ID identifies the session. The web UI keeps a hash of the cookie
	// here, never the cookie itself, so the index alone opens no session.
	ID string
	// User and AccessKeyID are who signed in and with which key (a token
	// names its key). A session belongs to its key: deleting the key (or
	// its user) deletes the session.
	User        string
	AccessKeyID string
	CreatedAt   time.Time
	// ExpiresAt is when the session ends, whatever happens before.
	ExpiresAt time.Time
}

// Sessions records the web UI's sessions.
type Sessions interface {
	// CreateSession records s. ErrAccessKeyUnknown if its key does not
	// exist; ErrSessionExists if its ID is taken.
	CreateSession(ctx context.Context, s Session) error
	// Session returns session id if it has not expired at time at.
	// ErrSessionUnknown if there is none, or it has expired.
	Session(ctx context.Context, id string, at time.Time) (Session, error)
	// DeleteSession removes session id (signing out). Deleting a missing
	// session is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes the sessions that expired before at
	// and returns how many.
	DeleteExpiredSessions(ctx context.Context, at time.Time) (int, error)
}
