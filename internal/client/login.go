package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
)

// Login is a registry login: what docker sends as Basic credentials.
type Login struct {
	Username, Password string
	ExpiresAt          time.Time
}

// Login asks the server for a registry password for the client's
// identity (ECR's GetAuthorizationToken), as `aws ecr get-login-password`
// does: a token valid for 12 hours, with user name AWS.
func (c *Client) Login(ctx context.Context) (Login, error) {
	resp, err := c.ECR().GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return Login{}, c.Explain(err)
	}
	if len(resp.AuthorizationData) == 0 || resp.AuthorizationData[0].AuthorizationToken == nil {
		return Login{}, fmt.Errorf("the authorization token from %s: the response holds none", c.endpoint)
	}
	data := resp.AuthorizationData[0]
	decoded, err := base64.StdEncoding.DecodeString(*data.AuthorizationToken)
	if err != nil {
		return Login{}, fmt.Errorf("the authorization token from %s: %w", c.endpoint, err)
	}
	user, password, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return Login{}, fmt.Errorf("the authorization token from %s: not user:password", c.endpoint)
	}
	l := Login{Username: user, Password: password}
	if data.ExpiresAt != nil {
		l.ExpiresAt = *data.ExpiresAt
	}
	return l, nil
}

// DockerConfigDir is where docker keeps its client configuration:
// DOCKER_CONFIG, else ~/.docker.
func DockerConfigDir() (string, error) {
	if dir := os.Getenv(dockerconfig.EnvOverrideConfigDir); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding docker's configuration: %w", err)
	}
	return filepath.Join(home, ".docker"), nil
}

// StoreDockerLogin saves l for registry (host[:port]) where docker looks
// for it, as `docker login` does: in the credential helper config.json
// names for the registry (credHelpers) or for all (credsStore), else in
// config.json itself; on a machine whose config.json holds no logins yet,
// in the platform's default store when its helper is installed. It
// returns where the login went, for a person to read.
func StoreDockerLogin(registry string, l Login) (where string, err error) {
	dir, err := DockerConfigDir()
	if err != nil {
		return "", err
	}
	// Load (not LoadDefaultConfigFile) fails on a config.json it cannot
	// parse, rather than overwrite it with an empty one.
	cf, err := dockerconfig.Load(dir)
	if err != nil {
		return "", fmt.Errorf("docker's configuration: %w", err)
	}
	if !cf.ContainsAuth() {
		cf.CredentialsStore = credentials.DetectDefaultStore(cf.CredentialsStore)
	}
	host := credentials.ConvertToHostname(registry)
	auth := types.AuthConfig{Username: l.Username, Password: l.Password, ServerAddress: host}
	if err := cf.GetCredentialsStore(host).Store(auth); err != nil {
		return "", fmt.Errorf("saving the login for %s in docker's configuration (%s): %w", host, cf.Filename, err)
	}
	if helper := credentialHelper(cf.CredentialHelpers, cf.CredentialsStore, host); helper != "" {
		return "docker-credential-" + helper, nil
	}
	return cf.Filename, nil
}

// credentialHelper is the helper docker uses for host: its own in
// credHelpers, else the credsStore.
func credentialHelper(helpers map[string]string, store, host string) string {
	if h, ok := helpers[host]; ok {
		return h
	}
	return store
}
