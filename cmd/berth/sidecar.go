package main

import (
	"github.com/berth-dev/berth/launcher/sidecar"
	"github.com/spf13/cobra"
)

// sidecarCommand is the program of the task sidecar, whose image is made
// of this executable; it is hidden, since only the sidecar's container
// runs it.
func sidecarCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "sidecar",
		Short:              "Hold an ECS task's network namespace and serve its metadata endpoint (run by the launcher)",
		Hidden:             true,
		DisableFlagParsing: true, // the sidecar's own flags
		RunE: func(cmd *cobra.Command, args []string) error {
			if sidecar.Main(args) != 0 {
				return errReported // Main said why on stderr
			}
			return nil
		},
	}
}
