package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/auth/token"
	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/metadata"
)

// openSealer returns the master key that seals access key secrets: from
// config, or from the key file (created on first use).
func openSealer(cfg config.Auth) (*secret.Sealer, error) {
	if cfg.MasterKey != "" {
		return secret.FromBase64(cfg.MasterKey)
	}
	return secret.LoadOrCreateMasterKey(cfg.MasterKeyFile)
}

// authorityStore is what access control uses of the index: the
// authority's own reads, and the identities Bootstrap creates.
type authorityStore interface {
	auth.Store
	metadata.Identities
}

// tagsOnly gives the authority the tags of a service's resources, for a
// service whose resources have no policies of their own.
type tagsOnly struct{ auth.ResourceTagger }

func (tagsOnly) ResourcePolicy(context.Context, arn.ARN) (string, error) { return "", nil }

// openAuthority wires the access-control pieces from config; resources
// finds each service's resource policies. In keys mode a registry with no
// users gets an administrator, whose key is printed to out once and
// written to the admin credentials file.
func openAuthority(ctx context.Context, cfg *config.Config, store authorityStore, resources map[string]auth.ResourcePolicies, out io.Writer, log *slog.Logger) (*auth.Authority, error) {
	keys, err := token.LoadOrCreate(cfg.Auth.SigningKeysDir)
	if err != nil {
		return nil, err
	}
	issuer, err := token.New(keys, cfg.Auth.Service)
	if err != nil {
		return nil, err
	}
	acfg := auth.Config{
		AccountID: cfg.AWS.AccountID, Region: cfg.AWS.Region,
		Service: cfg.Auth.Service, Challenge: cfg.Auth.Challenge,
		FailureBurst: cfg.Auth.FailureBurst, FailureWindow: cfg.Auth.FailureWindow,
		Open:          cfg.Auth.Mode == "none",
		AnonymousPull: cfg.Auth.Anonymous == "pull",
		Resources:     resources,
	}
	if acfg.Open {
		log.Warn("AUTHENTICATION IS OFF (auth: none): anyone who can reach this address may push, pull and delete every image. Use it only on a machine of your own.")
		return auth.New(store, nil, issuer, acfg, log), nil
	}
	sealer, err := openSealer(cfg.Auth)
	if err != nil {
		return nil, err
	}
	k, created, err := auth.Bootstrap(ctx, store, sealer, cfg.Auth.AdminCredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("creating the administrator: %w", err)
	}
	if created {
		login := fmt.Sprintf("AWS_SHARED_CREDENTIALS_FILE=%s aws ecr get-login-password --endpoint-url http://localhost%s | docker login --username AWS --password-stdin localhost%s",
			cfg.Auth.AdminCredentialsFile, portOf(cfg.Listen), portOf(cfg.Listen))
		if isTerminal(out) {
			fmt.Fprintf(out, `
berth created the administrator access key (shown once; also saved, readable only by you, in %s):

    AWS_ACCESS_KEY_ID=%s
    AWS_SECRET_ACCESS_KEY=%s

Log docker in with:
    %s

`, cfg.Auth.AdminCredentialsFile, k.ID, k.Secret, login)
		} else {
			// Not a terminal: stdout likely ends in a log collector, which
			// must never hold the secret. Say where it is instead.
			fmt.Fprintf(out, `
berth created the administrator access key %s; its secret is in %s (readable only by you).

Log docker in with:
    %s

`, k.ID, cfg.Auth.AdminCredentialsFile, login)
		}
		log.Info("created the administrator", "user", auth.AdminUser, "access_key_id", k.ID, "credentials_file", cfg.Auth.AdminCredentialsFile)
	}
	return auth.New(store, sealer, issuer, acfg, log), nil
}

// isTerminal reports whether w is a terminal (a character device), where
// a person, not a log collector, reads what berth prints.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// portOf returns ":port" of a listen address.
func portOf(listen string) string {
	for i := len(listen) - 1; i >= 0; i-- {
		if listen[i] == ':' {
			return listen[i:]
		}
	}
	return ""
}

// signingKeyCommand is `berth signing-key rotate`.
func signingKeyCommand() *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{Use: "signing-key", Short: "Manage the keys that sign registry tokens", Example: `  berth signing-key rotate`}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new token signing key; tokens signed by earlier keys stay valid until they expire",
		Long: `Create a new ES256 signing key and make it the active one. Earlier keys
keep verifying the tokens they signed until those expire (12 hours); keys
retired longer ago than that are deleted. A running berth signs with the
new key after its next start.`,
		Example: `  berth signing-key rotate --data-dir /var/lib/berth`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load(cmd, nil)
			if err != nil {
				return err
			}
			keys, err := token.LoadOrCreate(cfg.Auth.SigningKeysDir)
			if err != nil {
				return err
			}
			id, err := keys.Rotate()
			if err != nil {
				return err
			}
			pruned, err := keys.Prune(token.MaxTTL + token.DefaultLeeway)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new signing key %s; deleted %d retired key(s); restart berth to sign with it\n", id, len(pruned))
			return nil
		},
	}
	cmd.AddCommand(rotate)
	cf.register(cmd)
	return cmd
}
