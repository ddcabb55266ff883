package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// accessKey is an access key id and secret.
type accessKey struct{ ID, Secret string }

var credentialLine = regexp.MustCompile(`(?m)^\s*(?:aws_access_key_id = |aws_secret_access_key = |AWS_ACCESS_KEY_ID=|AWS_SECRET_ACCESS_KEY=)(\S+)$`)

// parseKey finds an access key id and secret in text: an AWS shared
// credentials file or berth's first-start banner.
func parseKey(t *testing.T, text string) accessKey {
	t.Helper()
	m := credentialLine.FindAllStringSubmatch(text, 2)
	if len(m) != 2 {
		t.Fatalf("no access key in:\n%s", text)
	}
	return accessKey{m[0][1], m[1][1]}
}

// adminKey is the administrator key berth wrote on its first start.
func (s *server) adminKey(t *testing.T) accessKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, "admin-credentials"))
	if err != nil {
		t.Fatal(err)
	}
	return parseKey(t, string(b))
}

// registryToken asks the ECR API at addr for a docker password with the
// real AWS SDK, as `aws ecr get-login-password` does.
func registryToken(t *testing.T, addr string, k accessKey) string {
	t.Helper()
	client := ecr.New(ecr.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + addr),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret}, nil
		}),
	})
	out, err := client.GetAuthorizationToken(t.Context(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatalf("GetAuthorizationToken from %s: %v", addr, err)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	_, password, _ := strings.Cut(string(raw), ":")
	return password
}

// login logs the test's clients in to addr as k: it writes a docker
// config.json holding the token and points docker and crane
// (DOCKER_CONFIG) and skopeo (REGISTRY_AUTH_FILE) at it for the rest of
// the test.
func login(t *testing.T, addr string, k accessKey) {
	t.Helper()
	loginBasic(t, addr, "AWS", registryToken(t, addr, k))
}

// loginBasic is login with a user and password as given, e.g. an access
// key id and its secret, which berth's registry also accepts.
func loginBasic(t *testing.T, addr, user, password string) {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	config, _ := json.Marshal(map[string]any{"auths": map[string]any{addr: map[string]string{"auth": auth}}})
	write(t, filepath.Join(dir, "config.json"), string(config))
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "config.json"))
}

// requireAWSCLI returns the AWS CLI v2 (Debian's awscli package, which
// scripts/test installs): a CLI v1 elsewhere on PATH speaks differently.
func requireAWSCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/aws", "aws"} {
		if out, err := execute(time.Minute, nil, p, "--version"); err == nil && strings.HasPrefix(out, "aws-cli/2") {
			return p
		}
	}
	missing(t, "the AWS CLI v2 is not installed (Debian package awscli); scripts/test installs it")
	return ""
}

// awsEnv is the environment the aws CLI runs with: k's credentials and
// nothing from the machine's own AWS configuration.
func awsEnv(k accessKey) []string {
	return append(environWithout("AWS_"),
		"AWS_ACCESS_KEY_ID="+k.ID, "AWS_SECRET_ACCESS_KEY="+k.Secret,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

// TestDockerLoginWithAWSCLI is the ECR workflow with real clients:
// `aws ecr get-login-password | docker login --password-stdin`, then docker
// push and pull; skopeo login; and each client without logging in is
// refused.
func TestDockerLoginWithAWSCLI(t *testing.T) {
	requireDocker(t)
	awsCLI := requireAWSCLI(t)
	skopeo := requireTool(t, "skopeo")
	srv := startBerth(t)
	admin := srv.adminKey(t)
	if strings.Contains(srv.log.String(), admin.Secret) || !strings.Contains(srv.log.String(), "admin-credentials") {
		t.Errorf("the first start, stdout not a terminal, printed the secret or not the credentials file:\n%s", srv.log.String())
	}
	if info, err := os.Stat(filepath.Join(srv.DataDir, "admin-credentials")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("admin-credentials: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	tag := srv.Addr + "/e2e/login:1"
	t.Cleanup(func() { removeImage(t, tag) })
	run(t, dockerTimeout, "docker", "build", "-t", tag, helloContext(t, "logged in"))

	// Not logged in: docker is refused.
	if out, err := execute(dockerTimeout, nil, "docker", "push", tag); err == nil || !strings.Contains(err.Error(), "no basic auth credentials") {
		t.Errorf("docker push without login: %v\n%s\nwant no basic auth credentials", err, out)
	}

	loginCmd := fmt.Sprintf("%s ecr get-login-password --endpoint-url http://%s | docker login --username AWS --password-stdin %s", awsCLI, srv.Addr, srv.Addr)
	out := runWith(t, dockerTimeout, func(c *exec.Cmd) { c.Env = append(awsEnv(admin), "DOCKER_CONFIG="+os.Getenv("DOCKER_CONFIG")) }, "sh", "-c", loginCmd+" 2>&1")
	if !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login printed %q", out)
	}
	run(t, dockerTimeout, "docker", "push", tag)
	pushed := repoDigest(t, tag)
	run(t, dockerTimeout, "docker", "rmi", tag)
	run(t, dockerTimeout, "docker", "pull", tag)
	if pulled := repoDigest(t, tag); pulled != pushed {
		t.Errorf("pulled %s, pushed %s", pulled, pushed)
	}

	// A wrong password is refused by docker login itself.
	if out, err := execute(dockerTimeout, func(c *exec.Cmd) { c.Stdin = strings.NewReader("not-a-token\n") },
		"docker", "login", "--username", "AWS", "--password-stdin", srv.Addr); err == nil {
		t.Errorf("docker login with a wrong password succeeded:\n%s", out)
	}

	// The CLI's signatures with a wrong secret or an unknown key are refused
	// in AWS's terms.
	for k, want := range map[accessKey]string{
		{admin.ID, "wrong-secret"}:             "InvalidSignatureException",
		{"AKIAAAAAAAAAAAAAAAAA", admin.Secret}: "UnrecognizedClientException",
	} {
		_, err := execute(time.Minute, func(c *exec.Cmd) { c.Env = awsEnv(k) }, awsCLI, "ecr", "get-login-password", "--endpoint-url", "http://"+srv.Addr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("aws ecr get-login-password as %s: %v; want %s", k.ID, err, want)
		}
	}

	// skopeo login with the CLI's password, then a copy out.
	authFile := filepath.Join(t.TempDir(), "auth.json")
	password := runWith(t, time.Minute, func(c *exec.Cmd) { c.Env = awsEnv(admin) }, awsCLI, "ecr", "get-login-password", "--endpoint-url", "http://"+srv.Addr)
	out = runWith(t, time.Minute, func(c *exec.Cmd) { c.Stdin = strings.NewReader(password) },
		skopeo, "login", "--authfile", authFile, "--tls-verify=false", "--username", "AWS", "--password-stdin", srv.Addr)
	if !strings.Contains(out, "Login Succeeded") {
		t.Errorf("skopeo login printed %q", out)
	}
	tags := run(t, time.Minute, skopeo, "list-tags", "--authfile", authFile, "--tls-verify=false", "docker://"+tag[:strings.LastIndex(tag, ":")])
	if !strings.Contains(tags, `"1"`) {
		t.Errorf("skopeo list-tags after login: %s", tags)
	}
	if out, err := execute(time.Minute, func(c *exec.Cmd) { c.Stdin = strings.NewReader("wrong\n") },
		skopeo, "login", "--authfile", authFile, "--tls-verify=false", "--username", "AWS", "--password-stdin", srv.Addr); err == nil {
		t.Errorf("skopeo login with a wrong password succeeded:\n%s", out)
	}
}

// TestPresignedURLNeedsAccess: with blobs redirected to presigned S3 URLs,
// a caller who may not read a repository never gets a URL for its blobs.
func TestPresignedURLNeedsAccess(t *testing.T) {
	srv := startBerth(t, s3Env(t, true)...)
	admin := "AWS:" + registryToken(t, srv.Addr, srv.adminKey(t))
	layer := []byte("a layer only the admin may read")
	dgst := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	resp, _ := send(t, "POST", "http://"+srv.Addr+"/v2/secret/app/blobs/uploads/?digest="+dgst, layer,
		map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(admin))})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push: %s", resp.Status)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(authorization string) *http.Response {
		req, _ := http.NewRequest("GET", "http://"+srv.Addr+"/v2/secret/app/blobs/"+dgst, nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get("Basic " + base64.StdEncoding.EncodeToString([]byte(admin))); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("admin GET: %s; want 307", resp.Status)
	}
	for name, authorization := range map[string]string{
		"anonymous":    "",
		"bad token":    "Basic " + base64.StdEncoding.EncodeToString([]byte("AWS:forged.token.value")),
		"bad password": "Basic " + base64.StdEncoding.EncodeToString([]byte(srv.adminKey(t).ID+":wrong")),
	} {
		if resp := get(authorization); resp.StatusCode < 400 || resp.Header.Get("Location") != "" {
			t.Errorf("%s GET: %s with Location %q; want a refusal and no URL", name, resp.Status, resp.Header.Get("Location"))
		}
	}
}

// TestCredentialHelper: with docker-credential-berth configured in
// docker's config.json and the user's AWS credentials in the environment,
// docker pushes and pulls with no login step. A pull-only user made with
// `berth user create` is refused a push in ECR's words.
func TestCredentialHelper(t *testing.T) {
	requireDocker(t)
	srv := startBerth(t)
	admin := srv.adminKey(t)

	bin := t.TempDir()
	if err := os.Symlink(berthBin, filepath.Join(bin, "docker-credential-berth")); err != nil {
		t.Fatal(err)
	}
	dockerConfig := t.TempDir()
	write(t, filepath.Join(dockerConfig, "config.json"), fmt.Sprintf(`{"credHelpers":{%q:"berth"}}`, srv.Addr))
	as := func(k accessKey) func(*exec.Cmd) {
		return func(c *exec.Cmd) {
			c.Env = append(awsEnv(k), "DOCKER_CONFIG="+dockerConfig, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		}
	}

	tag := srv.Addr + "/e2e/helper:1"
	t.Cleanup(func() { removeImage(t, tag) })
	run(t, dockerTimeout, "docker", "build", "-t", tag, helloContext(t, "no login step"))
	runWith(t, dockerTimeout, as(admin), "docker", "push", tag)
	run(t, dockerTimeout, "docker", "rmi", tag)
	runWith(t, dockerTimeout, as(admin), "docker", "pull", tag)

	out := run(t, time.Minute, berthBin, "user", "create", "reader", "--policy", "read-only", "--with-key", "--data-dir", srv.DataDir)
	reader := parseKey(t, out)
	runWith(t, dockerTimeout, as(reader), "docker", "pull", tag)
	out, err := execute(dockerTimeout, as(reader), "docker", "push", tag)
	if err == nil || !strings.Contains(err.Error(), "denied: User: arn:aws:iam::000000000000:user/reader is not authorized to perform: ecr:PutImage") {
		t.Errorf("pull-only push: %v\n%s\nwant denied: User: ... is not authorized", err, out)
	}

	// Revoking the key stops the helper's logins at once.
	run(t, time.Minute, berthBin, "key", "revoke", reader.ID, "--data-dir", srv.DataDir)
	if out, err := execute(dockerTimeout, as(reader), "docker", "pull", tag); err == nil {
		t.Errorf("pull with a revoked key succeeded:\n%s", out)
	}
}
