// Command berth is a self-hosted, AWS-compatible container platform: an OCI
// registry that behaves like Amazon ECR. This package holds commands and
// wiring only.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/scanner/inventory"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// berth reads rpm databases in a copy of itself; in that copy this
	// does the reading and exits.
	inventory.RunHelper()
	if isCredentialHelper(os.Args[0]) {
		os.Exit(credentialHelperMain(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if err := rootCommand(time.Now).Execute(); err != nil {
		// berth run ends as what it ran ended: a task that exited 7
		// makes it exit 7, having said nothing more.
		var status exitStatus
		if errors.As(err, &status) {
			os.Exit(int(status))
		}
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "berth:", err)
		}
		os.Exit(1)
	}
}

// rootCommand is berth with all its commands. Those that decide by time
// (gc's grace period, lifecycle rules) read it from now.
func rootCommand(now func() time.Time) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth",
		Short: "A self-hosted registry and local cloud that behaves like Amazon ECR",
		Long: `berth is a self-hosted, AWS-compatible container platform in one binary:
an OCI registry that behaves like Amazon ECR, for docker, the aws CLI and
the AWS SDKs.

The commands that manage a server (login, repo, image, policy, findings)
and run its images (run, ps, logs, stop) talk to it over its APIs from any machine: --endpoint or BERTH_ENDPOINT
names it (default ` + client.DefaultEndpoint + `), and requests are signed with
BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY when set, else with the
AWS credentials the AWS SDK finds (AWS_ACCESS_KEY_ID, AWS_PROFILE,
~/.aws/credentials). The others run the server or open its data directory
on the server's own machine.`,
		Example: `  berth serve
  berth login
  berth repo create app
  docker push localhost:5000/app:1
  berth image ls app
  berth run app:1
  source <(berth completion bash)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddGroup(commandGroups()...)
	root.AddCommand(remoteCommands(loginCommand(), repoCommand(), imageCommand(), policyCommand(), findingsCommand())...)
	root.AddCommand(remoteCommands(runLaunchCommand(), psCommand(), logsCommand(), stopCommand())...)
	root.AddCommand(localCommands(serveCommand(), userCommand(), keyCommand(), signingKeyCommand(),
		lifecycleCommand(now), gcCommand(now), scanCommand(), vulndbCommand(), pullThroughCommand(), migrateCommand())...)
	root.AddCommand(credentialHelperCommand(), versionCommand(), sidecarCommand())
	return root
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print berth's version",
		Example: `  berth version`,
		Args:    cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "berth", version)
		},
	}
}
