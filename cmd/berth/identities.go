package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/auth"
	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/postgres"
	"github.com/berth-dev/berth/metadata/sqlite"
)

// configFlags are the flags of every command that reads berth's
// configuration: the file, and the data directory the other paths default
// from.
type configFlags struct {
	file    string
	dataDir string
}

// register adds --config and --data-dir to cmd and, for a command with
// subcommands, to each of them.
func (f *configFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.file, "config", "", "YAML configuration file (see config.example.yml)")
	cmd.PersistentFlags().StringVar(&f.dataDir, "data-dir", "", "directory for blobs and the index (default ./data)")
}

// load reads the configuration from defaults, the --config file, BERTH_*
// variables and --data-dir; edit, when not nil, applies the command's own
// flags. Validating fills in the paths derived from the data directory.
func (f *configFlags) load(cmd *cobra.Command, edit func(*config.Config)) (*config.Config, error) {
	file := f.file
	if file == "" {
		file = os.Getenv("BERTH_CONFIG") // a config file named in the environment
	}
	cfg, err := config.Load(file, os.Environ())
	if err != nil {
		return nil, err
	}
	if cmd.Flags().Changed("data-dir") {
		cfg.DataDir = f.dataDir
	}
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// identityRun is the body of a command that manages identities.
type identityRun func(cmd *cobra.Command, args []string, cfg *config.Config, ids metadata.Identities) error

// withIndex makes the RunE of an identity command: it loads the
// configuration and opens the index for run.
func (f *configFlags) withIndex(run identityRun) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := f.load(cmd, nil)
		if err != nil {
			return err
		}
		store, err := openIndex(cmd.Context(), cfg.Metadata)
		if err != nil {
			return err
		}
		defer store.Close()
		return run(cmd, args, cfg, store)
	}
}

// openIndex opens the configured index, which must exist: a mistyped
// --data-dir should fail, not start an empty registry. SQLite's WAL mode
// lets these commands share the file with a running server, which reads
// the index on every request, so their changes take effect at once; a
// PostgreSQL index is shared by design.
func openIndex(ctx context.Context, cfg config.Metadata) (metadata.Store, error) {
	if cfg.Postgres.Enabled() {
		return postgres.Open(ctx, cfg.Postgres.DSN)
	}
	path := cfg.SQLite.Path
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no registry index at %s: start berth serve once, or point --data-dir or --config at the registry", path)
	} else if err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, path)
}

// identityError turns the index's errors into the one line a person reads;
// subject is the user name or key ID the command was given.
func identityError(err error, subject string) error {
	switch {
	case errors.Is(err, metadata.ErrUserExists):
		return fmt.Errorf("user %q already exists", subject)
	case errors.Is(err, metadata.ErrUserUnknown):
		return fmt.Errorf("no user %q (berth user list shows them)", subject)
	case errors.Is(err, metadata.ErrAccessKeyUnknown):
		return fmt.Errorf("no access key %s (berth key list USER shows a user's keys)", subject)
	}
	return err
}

func userCommand() *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage users and their policies",
		Long: `Manage the users who may sign in, and their identity policies.

These commands change the registry's index directly; they are safe to run
while berth serve runs on the same data directory, and take effect at once.

A policy (--policy) is one of the ready-made ` + strings.Join(auth.ManagedPolicyNames(), ", ") + `,
the ARN of the AWS managed policy it stands for, an identity policy document
in JSON, or file://PATH to read such a document from a file.`,
		Example: `  berth user create ci --policy push-pull --with-key
  berth user list
  berth user delete ci`,
	}
	cf.register(cmd)
	cmd.AddCommand(userCreateCommand(&cf), userListCommand(&cf), userDeleteCommand(&cf), userSetPolicyCommand(&cf))
	return cmd
}

func userCreateCommand(cf *configFlags) *cobra.Command {
	var policies []string
	var withKey bool
	var credentialsFile string
	cmd := &cobra.Command{
		Use:   "create NAME --policy POLICY... [--with-key [--credentials-file PATH]]",
		Short: "Create a user with identity policies",
		Example: `  berth user create ci --policy push-pull --with-key --credentials-file ci.credentials
  berth user create viewer --policy read-only
  berth user create deployer --policy file://deployer-policy.json`,
		Args: cobra.ExactArgs(1),
		RunE: cf.withIndex(func(cmd *cobra.Command, args []string, cfg *config.Config, ids metadata.Identities) error {
			name := args[0]
			if credentialsFile != "" && !withKey {
				return errors.New("--credentials-file needs --with-key")
			}
			docs, err := readPolicies(policies)
			if err != nil {
				return err
			}
			// Open the master key first: a key that cannot be made must not
			// leave a user behind.
			var sealer *secret.Sealer
			if withKey {
				if sealer, err = openSealer(cfg.Auth); err != nil {
					return err
				}
			}
			if err := auth.CreateUser(cmd.Context(), ids, name, docs); err != nil {
				return identityError(err, name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s with policies %s\n", name, policyLabels(docs))
			if !withKey {
				return nil
			}
			k, err := auth.CreateAccessKey(cmd.Context(), ids, sealer, name)
			if err != nil {
				return fmt.Errorf("created user %s, but not its access key: %w", name, err)
			}
			return showAccessKey(cmd, k, credentialsFile)
		}),
	}
	policyFlag(cmd, &policies)
	cmd.Flags().BoolVar(&withKey, "with-key", false, "also create an access key and print it (once)")
	cmd.Flags().StringVar(&credentialsFile, "credentials-file", "", "also write the access key to PATH as an AWS shared credentials file (mode 0600)")
	return cmd
}

func userListCommand(cf *configFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List users and their policies",
		Example: `  berth user list
  berth user list --json`,
		Args: cobra.NoArgs,
		RunE: cf.withIndex(func(cmd *cobra.Command, _ []string, _ *config.Config, ids metadata.Identities) error {
			users, err := ids.Users(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeUsersJSON(cmd.OutOrStdout(), users)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPOLICIES\tCREATED")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, policyLabels(u.Policies), formatTime(u.CreatedAt))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON, with inline policy documents in full")
	return cmd
}

func userDeleteCommand(cf *configFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a user and all of its access keys",
		Example: `  berth user delete viewer`,
		Args:    cobra.ExactArgs(1),
		RunE: cf.withIndex(func(cmd *cobra.Command, args []string, _ *config.Config, ids metadata.Identities) error {
			name := args[0]
			keys, err := ids.AccessKeys(cmd.Context(), name)
			if err != nil {
				return identityError(err, name)
			}
			if err := ids.DeleteUser(cmd.Context(), name); err != nil {
				return identityError(err, name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted user %s and its %d access key(s)\n", name, len(keys))
			return nil
		}),
	}
}

func userSetPolicyCommand(cf *configFlags) *cobra.Command {
	var policies []string
	cmd := &cobra.Command{
		Use:     "set-policy NAME --policy POLICY...",
		Short:   "Replace a user's identity policies",
		Example: `  berth user set-policy ci --policy read-only --policy file://extra.json`,
		Args:    cobra.ExactArgs(1),
		RunE: cf.withIndex(func(cmd *cobra.Command, args []string, _ *config.Config, ids metadata.Identities) error {
			name := args[0]
			docs, err := readPolicies(policies)
			if err != nil {
				return err
			}
			if err := ids.PutUserPolicies(cmd.Context(), name, docs); err != nil {
				return identityError(err, name)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s now has policies %s\n", name, policyLabels(docs))
			return nil
		}),
	}
	policyFlag(cmd, &policies)
	return cmd
}

// policyFlag adds the repeatable --policy flag.
func policyFlag(cmd *cobra.Command, policies *[]string) {
	cmd.Flags().StringArrayVar(policies, "policy", nil, "identity policy (repeatable): "+strings.Join(auth.ManagedPolicyNames(), ", ")+", a managed policy ARN, a JSON document or file://PATH")
}

// readPolicies reads the --policy values, loading file:// documents, and
// validates each, naming the one that is wrong.
func readPolicies(values []string) ([]string, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("give at least one --policy: %s, a managed policy ARN, a JSON document or file://PATH", strings.Join(auth.ManagedPolicyNames(), ", "))
	}
	docs := make([]string, 0, len(values))
	for i, v := range values {
		where := fmt.Sprintf("--policy #%d", i+1)
		if path, ok := strings.CutPrefix(v, "file://"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			v, where = strings.TrimSpace(string(b)), path
		}
		if err := auth.ValidatePolicies([]string{v}); err != nil {
			if isDocument(v) {
				return nil, fmt.Errorf("%s: invalid policy document: %w", where, err)
			}
			return nil, err // names the policy and lists the ready-made ones
		}
		docs = append(docs, v)
	}
	return docs, nil
}

func isDocument(policy string) bool { return strings.HasPrefix(strings.TrimSpace(policy), "{") }

// policyLabels is how a person reads a user's policies: the short name of
// each ready-made one, whether stored by short name or ARN, and "inline"
// for a document.
func policyLabels(policies []string) string {
	if len(policies) == 0 {
		return "none"
	}
	labels := make([]string, len(policies))
	for i, p := range policies {
		labels[i] = p
		if isDocument(p) {
			labels[i] = "inline"
			continue
		}
		// ManagedPolicy returns the same shared policy for an ARN and its
		// short name.
		if m, ok := auth.ManagedPolicy(p); ok {
			for _, short := range auth.ManagedPolicyNames() {
				if s, _ := auth.ManagedPolicy(short); s == m {
					labels[i] = short
					break
				}
			}
		}
	}
	return strings.Join(labels, ",")
}

// userJSON is a user as `berth user list --json` prints it, in the field
// names of IAM's ListUsers.
type userJSON struct {
	UserName   string
	ARN        string `json:"Arn,omitempty"`
	Policies   []string
	CreateDate time.Time
}

func writeUsersJSON(w io.Writer, users []metadata.User) error {
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, userJSON{UserName: u.Name, ARN: u.ARN, Policies: append([]string{}, u.Policies...), CreateDate: u.CreatedAt.UTC()})
	}
	return writeJSON(w, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func keyCommand() *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage users' access keys",
		Long: `Manage the access keys users sign requests with.

These commands change the registry's index directly; they are safe to run
while berth serve runs on the same data directory. The server checks the
index on every request, so a revoked or deactivated key stops working at
once. A key's secret is shown only when the key is created.`,
		Example: `  berth key create ci
  berth key list ci
  berth key deactivate AKIAIOSFODNN7EXAMPLE
  berth key revoke AKIAIOSFODNN7EXAMPLE`,
	}
	cf.register(cmd)
	cmd.AddCommand(
		keyCreateCommand(&cf), keyListCommand(&cf), keyRevokeCommand(&cf),
		keyStatusCommand(&cf, "deactivate", metadata.AccessKeyInactive, "Stop an access key from signing requests, keeping it to activate later"),
		keyStatusCommand(&cf, "activate", metadata.AccessKeyActive, "Let a deactivated access key sign requests again"),
	)
	return cmd
}

func keyCreateCommand(cf *configFlags) *cobra.Command {
	var credentialsFile string
	cmd := &cobra.Command{
		Use:   "create USER [--credentials-file PATH]",
		Short: "Create an access key for a user and print it (once)",
		Example: `  berth key create ci
  berth key create ci --credentials-file ci.credentials`,
		Args: cobra.ExactArgs(1),
		RunE: cf.withIndex(func(cmd *cobra.Command, args []string, cfg *config.Config, ids metadata.Identities) error {
			user := args[0]
			sealer, err := openSealer(cfg.Auth)
			if err != nil {
				return err
			}
			k, err := auth.CreateAccessKey(cmd.Context(), ids, sealer, user)
			if err != nil {
				return identityError(err, user)
			}
			return showAccessKey(cmd, k, credentialsFile)
		}),
	}
	cmd.Flags().StringVar(&credentialsFile, "credentials-file", "", "also write the key to PATH as an AWS shared credentials file (mode 0600)")
	return cmd
}

// showAccessKey prints a new key, its secret only to stdout, as lines a
// shell or an env file reads; notes go to stderr.
func showAccessKey(cmd *cobra.Command, k secret.AccessKey, credentialsFile string) error {
	if credentialsFile != "" {
		if err := auth.WriteCredentialsFile(credentialsFile, k); err != nil {
			return fmt.Errorf("created access key %s, but could not write it to %s: %w", k.ID, credentialsFile, err)
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", k.ID, k.Secret)
	if credentialsFile != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "The secret access key is shown only this once; it is also in %s.\n", credentialsFile)
	} else {
		fmt.Fprintln(cmd.ErrOrStderr(), "The secret access key is shown only this once.")
	}
	return nil
}

func keyListCommand(cf *configFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list USER [--json]",
		Short: "List a user's access keys (never their secrets)",
		Example: `  berth key list ci
  berth key list ci --json`,
		Args: cobra.ExactArgs(1),
		RunE: cf.withIndex(func(cmd *cobra.Command, args []string, _ *config.Config, ids metadata.Identities) error {
			keys, err := ids.AccessKeys(cmd.Context(), args[0])
			if err != nil {
				return identityError(err, args[0])
			}
			if asJSON {
				return writeAccessKeysJSON(cmd.OutOrStdout(), keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tCREATED\tLAST USED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Status, formatTime(k.CreatedAt), formatTime(k.LastUsedAt))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// accessKeyJSON is an access key as `berth key list --json` prints it, in
// the field names of IAM's ListAccessKeys. It has no field for the secret.
type accessKeyJSON struct {
	ID           string `json:"AccessKeyId"`
	UserName     string
	Status       metadata.AccessKeyStatus
	CreateDate   time.Time
	LastUsedDate time.Time `json:",omitzero"`
}

func writeAccessKeysJSON(w io.Writer, keys []metadata.AccessKey) error {
	out := make([]accessKeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, accessKeyJSON{ID: k.ID, UserName: k.User, Status: k.Status, CreateDate: k.CreatedAt.UTC(), LastUsedDate: k.LastUsedAt.UTC()})
	}
	return writeJSON(w, out)
}

func keyRevokeCommand(cf *configFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "revoke ID",
		Short:   "Delete an access key; it stops working at once",
		Example: `  berth key revoke AKIAIOSFODNN7EXAMPLE`,
		Args:    cobra.ExactArgs(1),
		RunE: cf.withIndex(func(cmd *cobra.Command, args []string, _ *config.Config, ids metadata.Identities) error {
			id := args[0]
			if err := checkAccessKeyID(id); err != nil {
				return err
			}
			if err := ids.DeleteAccessKey(cmd.Context(), id); err != nil {
				return identityError(err, id)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked access key %s\n", id)
			return nil
		}),
	}
}

func keyStatusCommand(cf *configFlags, verb string, status metadata.AccessKeyStatus, short string) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " ID",
		Short:   short,
		Example: "  berth key " + verb + " AKIAIOSFODNN7EXAMPLE",
		Args:    cobra.ExactArgs(1),
		RunE: cf.withIndex(func(cmd *cobra.Command, args []string, _ *config.Config, ids metadata.Identities) error {
			id := args[0]
			if err := checkAccessKeyID(id); err != nil {
				return err
			}
			if err := ids.SetAccessKeyStatus(cmd.Context(), id, status); err != nil {
				return identityError(err, id)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "access key %s is %s\n", id, status)
			return nil
		}),
	}
}

func checkAccessKeyID(id string) error {
	if !secret.ValidAccessKeyID(id) {
		return fmt.Errorf("%q is not an access key ID (AKIA and 16 characters of A-Z and 2-7)", id)
	}
	return nil
}
