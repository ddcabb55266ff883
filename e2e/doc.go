// Package e2e holds berth's end-to-end tests. They build the berth binary,
// start it on a loopback port with a fresh data directory for each test, and
// drive it with real clients: the OCI distribution-spec conformance suite,
// skopeo, crane, the Docker Engine and the AWS CLI v2, logged in as ECR
// users log in, and a headless Chromium for the web UI. Nothing is mocked.
//
// The package has no code outside its tests. scripts/test installs every
// component the tests use; a test whose component is missing skips on a
// developer's machine and fails when the CI environment variable is set.
package e2e
