package metadata

import "context"

// Settings records registry-wide settings as opaque text by key (the ECR
// API keeps its registry policy, replication configuration, pull-through
// cache rules and account settings here, as JSON).
type Settings interface {
	// Setting returns the value of key, "" if it was never set.
	Setting(ctx context.Context, key string) (string, error)
	// PutSetting sets key to value; "" removes it.
	PutSetting(ctx context.Context, key, value string) error
}
