package main

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
)

func loginCommand() *cobra.Command {
	var rf remoteFlags
	var print bool
	cmd := &cobra.Command{
		Use:   "login [REGISTRY]",
		Short: "Log docker in to a berth registry with your AWS credentials",
		Long: `Get a registry password from berth (GetAuthorizationToken, signed with
your credentials) and save it where docker looks for it, as
aws ecr get-login-password | docker login does in one step. REGISTRY is
the address in image names (localhost:5000, registry.example.com); it
defaults to the --endpoint's, and without --endpoint or BERTH_ENDPOINT the
API asked is REGISTRY's own.

The login goes where docker login would put it: in the credential helper
docker's config.json names for the registry (credHelpers) or for all
registries (credsStore), else in config.json itself, in $DOCKER_CONFIG or
~/.docker. The password is valid for 12 hours.

Credentials come from BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY when
set, else from the AWS SDK's default chain (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials). With --print the
password is printed instead, for other clients.`,
		Example: `  # docker on this machine, to the berth on this machine
  berth login
  # a team's berth over TLS
  berth login registry.example.com
  # other clients: print the password, as aws ecr get-login-password does
  berth login --print | skopeo login --username AWS --password-stdin localhost:5000`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		PreRun: func(_ *cobra.Command, args []string) {
			// berth login REGISTRY talks to REGISTRY unless told otherwise.
			if len(args) == 1 && rf.endpoint == "" && os.Getenv("BERTH_ENDPOINT") == "" {
				rf.endpoint = args[0]
			}
		},
		RunE: rf.run(func(r *remote, args []string) error {
			registry := r.client.Registry()
			if len(args) == 1 {
				registry = args[0]
			}
			l, err := r.client.Login(r.ctx())
			if err != nil {
				return err
			}
			if print {
				r.out.Linef("%s", l.Password)
				return nil
			}
			where, err := client.StoreDockerLogin(registry, l)
			if err != nil {
				return err
			}
			r.out.Linef("Login Succeeded: %s until %s (saved in %s)", registry, l.ExpiresAt.Local().Format(time.DateTime), where)
			return nil
		}),
	}
	rf.register(cmd, false)
	cmd.Flags().BoolVar(&print, "print", false, "print the password instead of saving it for docker")
	return cmd
}
