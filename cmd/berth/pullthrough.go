package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/pullthrough"
)

// pullThroughCommand manages the upstream credentials of pull-through
// cache rules: what ECR keeps in Secrets Manager, berth keeps in its
// index sealed with its master key.
func pullThroughCommand() *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{
		Use:   "pull-through",
		Short: "Manage the upstream credentials of pull-through cache rules",
		Long: `Pull-through cache rules (aws ecr create-pull-through-cache-rule) name their
upstream credentials by a Secrets Manager ARN, as on ECR:

  arn:aws:secretsmanager:<region>:<account>:secret:ecr-pullthroughcache/<name>

berth keeps those credentials in its index, sealed with its master key; they
are never returned by an API or written to a log. Set them here, on the
server's machine, before creating the rule that names them.`,
		Example: `  berth pull-through credential set dockerhub --username me --password-stdin < password.txt`,
	}
	cf.register(cmd)
	cred := &cobra.Command{Use: "credential", Short: "Set or delete upstream credentials",
		Example: `  berth pull-through credential set dockerhub --username me --password-stdin < password.txt
  berth pull-through credential delete dockerhub`}
	var user string
	set := &cobra.Command{
		Use:   "set NAME --username USER --password-stdin",
		Short: "Seal and store the credentials of an upstream registry",
		Example: `  printf '%s' "$UPSTREAM_PASSWORD" | berth pull-through credential set dockerhub --username me --password-stdin
  aws ecr create-pull-through-cache-rule --ecr-repository-prefix hub \
    --upstream-registry-url registry-1.docker.io \
    --credential-arn arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache/dockerhub`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			return withCache(cmd, &cf, func(c *pullthrough.Cache) error {
				if err := c.SetCredential(cmd.Context(), args[0], pullthrough.Credential{Username: user, Password: password}); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "credentials %s%s set\n", pullthrough.SecretPrefix, strings.TrimPrefix(args[0], pullthrough.SecretPrefix))
				return nil
			})
		},
	}
	set.Flags().StringVar(&user, "username", "", "user name on the upstream registry")
	set.Flags().Bool("password-stdin", true, "read the password from standard input (the only way: never on the command line)")
	set.MarkFlagRequired("username")
	del := &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete the credentials of an upstream registry",
		Example: `  berth pull-through credential delete dockerhub`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withCache(cmd, &cf, func(c *pullthrough.Cache) error {
				return c.DeleteCredential(cmd.Context(), args[0])
			})
		},
	}
	cred.AddCommand(set, del)
	cmd.AddCommand(cred)
	return cmd
}

// withCache opens the index and the master key for run.
func withCache(cmd *cobra.Command, cf *configFlags, run func(*pullthrough.Cache) error) error {
	return cf.withIndex(func(cmd *cobra.Command, _ []string, cfg *config.Config, ids metadata.Identities) error {
		sealer, err := openSealer(cfg.Auth)
		if err != nil {
			return err
		}
		// The index keeps settings as well as identities.
		return run(pullthrough.New(ids.(pullthrough.Store), sealer, pullthrough.Config{}))
	})(cmd, nil)
}

// readPassword reads one line from r, without its line end.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
