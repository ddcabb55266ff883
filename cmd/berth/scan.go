package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/scanner/vulndb"
	"github.com/berth-dev/berth/storage"
)

// checkFailOn refuses a --fail-on value that is not a severity's name
// (in any case); "" is no threshold.
func checkFailOn(failOn string) error {
	if severities := vulndb.Severities(); failOn != "" && !slices.Contains(severities, strings.ToUpper(failOn)) {
		return fmt.Errorf("--fail-on %q: one of %s", failOn, strings.Join(severities, ", "))
	}
	return nil
}

// failOnUsage is the help of a --fail-on flag.
func failOnUsage() string {
	return "exit non-zero if a finding is at least this severe (" + strings.Join(vulndb.Severities()[2:], ", ") + ")"
}

// atLeast reports whether severity is at least as severe as failOn, a
// severity's name in any case.
func atLeast(severity, failOn string) bool {
	return vulndb.SeverityRank(severity) >= vulndb.SeverityRank(strings.ToUpper(failOn))
}

func scanCommand() *cobra.Command {
	var cf configFlags
	var asJSON bool
	var failOn string
	cmd := &cobra.Command{
		Use:   "scan IMAGE",
		Short: "Scan an image of the registry for known vulnerabilities",
		Long: `Scan an image (REPOSITORY:TAG or REPOSITORY@DIGEST, optionally with the
registry host in front) against the OSV database in scanning.osvDir, record
the result as ECR's DescribeImageScanFindings shows it, and print the
findings. With --fail-on SEVERITY the command exits non-zero when a
finding is at least that severe, for CI pipelines.`,
		Example: `  berth scan localhost:5000/app:1
  berth scan app:1 --fail-on HIGH --json`,
		Args:    cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error { return checkFailOn(failOn) },
		RunE: cf.withStores(func(cmd *cobra.Command, args []string, cfg *config.Config, store commandStore, blobs storage.Driver) error {
			repo, ref := parseImage(args[0])
			m, err := store.Manifest(cmd.Context(), repo, ref)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			s, err := scanner.New(cmd.Context(), store, blobs, cfg.Scanning.OSVDir, newLogger(cfg.Log))
			if err != nil {
				return err
			}
			sc, err := s.Scan(cmd.Context(), repo, m.Digest)
			if err != nil {
				return err
			}
			findings, err := scanner.Findings(sc)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{
					"repository": repo, "imageDigest": m.Digest, "status": sc.Status, "description": sc.Description,
					"findingSeverityCounts": scanner.SeverityCounts(findings), "findings": findings,
					"vulnerabilityDataGeneration": sc.VulnDBGeneration,
				}); err != nil {
					return err
				}
			} else {
				printFindings(cmd, repo, m.Digest, sc.Status, sc.Description, findings)
			}
			if failOn != "" {
				n := 0
				for _, f := range findings {
					if atLeast(f.Severity, failOn) {
						n++
					}
				}
				if n > 0 {
					return fmt.Errorf("%d findings at or above %s", n, strings.ToUpper(failOn))
				}
			}
			return nil
		}),
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&failOn, "fail-on", "", failOnUsage())
	return cmd
}

// parseImage splits an image reference into repository and tag or
// digest, dropping a registry host in front.
func parseImage(s string) (repo, ref string) {
	if first, rest, ok := strings.Cut(s, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		s = rest
	}
	if r, d, ok := strings.Cut(s, "@"); ok {
		return r, d
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return s[:i], s[i+1:]
	}
	return s, "latest"
}

func printFindings(cmd *cobra.Command, repo string, dgst digest.Digest, status, description string, findings []scanner.Finding) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s@%s: %s (%s)\n", repo, dgst, status, description)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SEVERITY\tNAME\tPACKAGE\tVERSION\tURI")
	for _, f := range findings {
		var pkg, version string
		for _, a := range f.Attributes {
			switch a.Key {
			case "package_name":
				pkg = a.Value
			case "package_version":
				version = a.Value
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Name, pkg, version, f.URI)
	}
	w.Flush()
	counts := scanner.SeverityCounts(findings)
	var parts []string
	for _, sev := range slices.Backward(vulndb.Severities()) {
		if n := counts[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	fmt.Fprintf(out, "%d findings: %s\n", len(findings), strings.Join(parts, ", "))
}

func vulndbCommand() *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{Use: "vulndb", Short: "Manage the offline vulnerability database", Example: `  berth vulndb import ~/Downloads/osv`}
	imp := &cobra.Command{
		Use:   "import PATH",
		Short: "Import OSV data (a <Ecosystem>/all.zip from osv.dev, or a directory of them) into scanning.osvDir",
		Long: `Copy OSV vulnerability data into scanning.osvDir after checking that it
loads, and record a new generation of the data in the registry's index.
PATH is a directory in the osv.dev bucket layout (<Ecosystem>/all.zip or
<Ecosystem>/*.json) or a single <Ecosystem>/all.zip file. A running berth
scans with the new data from its next scan on, and re-matches every stored
scan without reading layers again.`,
		Example: `  berth vulndb import ~/Downloads/osv
  berth vulndb import ~/Downloads/osv/Debian/all.zip`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.load(cmd, nil)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if _, err := os.Stat(cfg.Metadata.SQLite.Path); errors.Is(err, fs.ErrNotExist) {
				// No registry yet: it loads the data when it first starts.
				n, err := vulndb.Import(cmd.Context(), args[0], cfg.Scanning.OSVDir)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "imported %d vulnerability records into %s\n", n, cfg.Scanning.OSVDir)
				return nil
			}
			store, err := openIndex(cmd.Context(), cfg.Metadata)
			if err != nil {
				return err
			}
			defer store.Close()
			n, gen, err := scanner.Import(cmd.Context(), store, args[0], cfg.Scanning.OSVDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "imported %d vulnerability records into %s (generation %d)\n", n, cfg.Scanning.OSVDir, gen)
			return nil
		},
	}
	cmd.AddCommand(imp)
	cf.register(cmd)
	return cmd
}
