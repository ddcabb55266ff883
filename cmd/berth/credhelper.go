package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
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
		Use:     "credential-helper <get|store|erase|list|version>",
		Short:   "Log docker in to berth with AWS credentials (docker's credential helper protocol)",
		Example: `  echo localhost:5000 | berth credential-helper get`,
		Long: `Act as docker's credential helper for berth, as amazon-ecr-credential-helper
does for ECR: "get" reads a registry address on stdin and prints a fresh
authorization token from the registry's GetAuthorizationToken, signed with
the AWS credentials the AWS SDK finds (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
AWS_PROFILE; BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY before them,
as for berth's other remote commands). "store" and "erase" do nothing:
nothing is stored.

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
// authorization token, signing with the credentials berth's other remote
// commands use (BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY, else the
// AWS SDK's default chain), as amazon-ecr-credential-helper does, and
// returns the username and password it holds. endpoint, when not empty,
// is the API's URL. Notes for the person go to errOut, which docker shows.
func fetchCredentials(ctx context.Context, serverURL, endpoint string, errOut io.Writer) (user, password string, err error) {
	if endpoint == "" {
		endpoint = serverURL
	}
	ctx, cancel := context.WithTimeout(ctx, credentialTimeout)
	defer cancel()
	c, err := client.New(ctx, client.Options{Endpoint: endpoint})
	if err != nil {
		return "", "", err
	}
	if c.Anonymous() != nil {
		fmt.Fprintf(errOut, "%s: found no AWS credentials to log in to %s with (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_SHARED_CREDENTIALS_FILE or AWS_PROFILE)\n", credentialHelperName, serverURL)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	l, err := c.Login(ctx)
	if err != nil {
		return "", "", fmt.Errorf("getting an authorization token from %s: %w", c.Endpoint(), err)
	}
	return l.Username, l.Password, nil
}
