// Command berth is a self-hosted, AWS-compatible container platform: an OCI
// registry that behaves like Amazon ECR. This package holds commands and
// wiring only.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

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
	if err := rootCommand().Execute(); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "berth:", err)
		}
		os.Exit(1)
	}
}

// rootCommand is berth with all its commands.
func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "berth",
		Short:         "A self-hosted registry and local cloud that behaves like Amazon ECR",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCommand(), userCommand(), keyCommand(), credentialHelperCommand(), signingKeyCommand(),
		lifecycleCommand(), gcCommand(), scanCommand(), vulndbCommand(), versionCommand(), sidecarCommand())
	return root
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print berth's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "berth", version)
		},
	}
}
