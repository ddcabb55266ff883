// Package clienttest keeps a test's remote commands and clients to what
// the test sets.
package clienttest

import (
	"os"
	"path/filepath"
	"testing"
)

// Isolate clears, for the rest of the test, every variable the AWS SDK
// reads credentials, region or endpoints from, berth's BERTH_* settings of
// its client, and docker's configuration directory, so that only what the
// test sets counts and the machine's own setup never leaks in.
func Isolate(t testing.TB) {
	t.Helper()
	nowhere := filepath.Join(t.TempDir(), "absent")
	t.Setenv("AWS_CONFIG_FILE", nowhere)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", nowhere)
	for _, k := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"BERTH_ENDPOINT", "BERTH_ACCESS_KEY_ID", "BERTH_SECRET_ACCESS_KEY", "BERTH_SESSION_TOKEN",
		"DOCKER_CONFIG", "DOCKER_AUTH_CONFIG",
	} {
		t.Setenv(k, "") // restores the old value after the test
		os.Unsetenv(k)
	}
}
