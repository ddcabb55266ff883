package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/metadata/postgres"
)

func migrateCommand() *cobra.Command {
	var cf configFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the PostgreSQL index's schema up to date",
		Long: `Apply the schema migrations the PostgreSQL index (metadata.postgres.dsn)
has not had yet, in order, each in its own transaction. berth serve does the
same when it starts, so this is needed only to migrate ahead of a rollout;
replicas that start at once wait for each other on an advisory lock and
apply each migration exactly once. --dry-run prints the migrations that
would be applied, with their SQL, and changes nothing.

The embedded SQLite index migrates itself whenever it is opened.`,
		Example: `  berth migrate --dry-run
  BERTH_METADATA_POSTGRES_DSN=postgres://berth@db/berth berth migrate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cf.load(cmd, nil)
			if err != nil {
				return err
			}
			if !cfg.Metadata.Postgres.Enabled() {
				return fmt.Errorf("no PostgreSQL index configured (metadata.postgres.dsn or BERTH_METADATA_POSTGRES_DSN); the SQLite index migrates itself when opened")
			}
			ms, err := postgres.Migrate(cmd.Context(), cfg.Metadata.Postgres.DSN, dryRun)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(ms) == 0 {
				fmt.Fprintln(out, "the schema is up to date")
				return nil
			}
			for _, m := range ms {
				if dryRun {
					fmt.Fprintf(out, "-- would apply migration %d\n%s\n", m.Version, m.SQL)
				} else {
					fmt.Fprintf(out, "applied migration %d\n", m.Version)
				}
			}
			return nil
		},
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the migrations that would be applied; change nothing")
	return cmd
}
