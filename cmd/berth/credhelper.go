package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/spf13/cobra"
)

// credentialHelperName is the program name docker runs for
// {"credHelpers": {"localhost:5000": "berth"}}: "docker-credential-" and
// the helper's name. berth answers to it when a link of that name runs it.
const credentialHelperName = "docker-credential-berth"

// isCredentialHelper reports whether argv0, the name the program was run
// by, is credentialHelperName.
func isCredentialHelper(argv0 string) bool {
	return strings.TrimSuffix(filepath.Base(argv0), ".exe") == credentialHelperName
}

// errReported says a command already wrote its failure where its caller
// reads it; main exits 1 without printing it again.
var errReported = errors.New("error already reported")

// credentialHelperMain runs berth as docker-credential-berth with args
// (os.Args[1:]) and returns the exit code.
func credentialHelperMain(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(out, "Usage: %s <get|store|erase|list|version>\n", credentialHelperName)
		return 1
	}
	if err := credentialHelper(ctx, args[0], in, out, errOut); err != nil {
		return 1
	}
	return 0
}

func credentialHelperCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "credential-helper <get|store|erase|list|version>",
		Short: "Log docker in to berth with AWS credentials (docker's credential helper protocol)",
		Long: `Act as docker's credential helper for berth, as amazon-ecr-credential-helper
does for ECR: "get" reads a registry address on stdin and prints a fresh
authorization token from the registry's GetAuthorizationToken, signed with
the AWS credentials the AWS SDK finds (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
AWS_PROFILE). "store" and "erase" do nothing: nothing is stored.

To use it, put a link to berth named ` + credentialHelperName + ` on PATH
and name it in ~/.docker/config.json:

    ln -s "$(command -v berth)" /usr/local/bin/` + credentialHelperName + `
    {"credHelpers": {"localhost:5000": "berth"}}

The registry's API is at http://HOST for localhost and loopback addresses
and https://HOST otherwise; BERTH_ENDPOINT (a URL) overrides it.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{credentials.ActionGet, credentials.ActionStore, credentials.ActionErase, credentials.ActionList, credentials.ActionVersion},
		RunE: func(cmd *cobra.Command, args []string) error {
			return credentialHelper(cmd.Context(), args[0], cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// credentialHelper performs one action of docker's credential helper
// protocol (https://github.com/docker/docker-credential-helpers). As the
// protocol wants, a failure is written to out, not errOut: docker reads
// only stdout, and falls back to pulling anonymously when it reads
// "credentials not found in native keychain". It then returns errReported.
func credentialHelper(ctx context.Context, action string, in io.Reader, out, errOut io.Writer) error {
	if err := credentialAction(ctx, action, in, out, errOut); err != nil {
		fmt.Fprintln(out, err)
		return errReported
	}
	return nil
}

func credentialAction(ctx context.Context, action string, in io.Reader, out, errOut io.Writer) error {
	switch action {
	case credentials.ActionGet:
		serverURL, err := readServerURL(in)
		if err != nil {
			return err
		}
		user, password, err := fetchCredentials(ctx, serverURL, os.Getenv("BERTH_ENDPOINT"), errOut)
		if err != nil {
			return err
		}
		return json.NewEncoder(out).Encode(credentials.Credentials{ServerURL: serverURL, Username: user, Secret: password})
	case credentials.ActionStore, credentials.ActionErase:
		// Tokens expire; like amazon-ecr-credential-helper, ask for a
		// fresh one on every get rather than keep what docker login sent.
		_, err := io.Copy(io.Discard, in)
		return err
	case credentials.ActionList:
		_, err := io.WriteString(out, "{}\n")
		return err
	case credentials.ActionVersion:
		_, err := fmt.Fprintf(out, "%s (berth) %s\n", credentialHelperName, version)
		return err
	}
	return fmt.Errorf("%s: unknown action: %s", credentialHelperName, action)
}

func readServerURL(in io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(in, 4096))
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", credentials.NewErrCredentialsMissingServerURL()
	}
	return s, nil
}

// credentialTimeout bounds a get, so that docker never hangs on a
// registry that does not answer.
const credentialTimeout = 30 * time.Second

// fetchCredentials asks the berth that docker calls serverURL for an
// authorization token, signing with the AWS credentials the SDK finds, as
// amazon-ecr-credential-helper does, and returns the username and password
// it holds. endpoint, when not empty, is the API's URL. Notes for the
// person go to errOut, which docker shows.
func fetchCredentials(ctx context.Context, serverURL, endpoint string, errOut io.Writer) (user, password string, err error) {
	if endpoint == "" {
		if endpoint, err = registryEndpoint(serverURL); err != nil {
			return "", "", err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, credentialTimeout)
	defer cancel()
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithDefaultRegion("us-east-1"),
		// An instance role's credentials are AWS's, never berth's: do not
		// spend seconds asking the instance metadata service for them.
		awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	)
	if err != nil {
		return "", "", fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Credentials == nil {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		fmt.Fprintf(errOut, "%s: found no AWS credentials to log in to %s with (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE or AWS_PROFILE)\n", credentialHelperName, serverURL)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.BaseEndpoint = aws.String(endpoint) })
	resp, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", fmt.Errorf("getting an authorization token from %s: %w", endpoint, err)
	}
	if len(resp.AuthorizationData) == 0 || resp.AuthorizationData[0].AuthorizationToken == nil {
		return "", "", fmt.Errorf("getting an authorization token from %s: the response holds none", endpoint)
	}
	decoded, err := base64.StdEncoding.DecodeString(*resp.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		return "", "", fmt.Errorf("authorization token from %s: %w", endpoint, err)
	}
	user, password, ok := strings.Cut(string(decoded), ":")
	if !ok {
		return "", "", fmt.Errorf("authorization token from %s: not user:password", endpoint)
	}
	return user, password, nil
}

// registryEndpoint returns the URL of the API of the registry docker names
// serverURL ("localhost:5000", "https://registry.example.com", ...): its
// scheme and host. With no scheme it is http for loopback hosts, where
// berth serves plain HTTP by default, and https elsewhere, as docker
// itself assumes.
func registryEndpoint(serverURL string) (string, error) {
	s := serverURL
	if !strings.Contains(s, "://") {
		host, _, _ := strings.Cut(s, "/")
		scheme := "https"
		if isLoopback(host) {
			scheme = "http"
		}
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("server URL %q: not a registry address (host[:port] or an http(s) URL)", serverURL)
	}
	return u.Scheme + "://" + u.Host, nil
}

// isLoopback reports whether host (with or without a port) is localhost
// or a loopback address: 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
