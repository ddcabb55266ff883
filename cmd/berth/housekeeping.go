package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/output"
	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/storage"
)

// commandStore is what the commands that work on the index directly use
// of it: the scanner's reads and writes and the housekeepers'.
type commandStore interface {
	scanner.Store
	housekeepingStore
}

// withStores makes the RunE of a command that works on the index and the
// blob store directly, beside or instead of a running server.
func (f *configFlags) withStores(run func(cmd *cobra.Command, args []string, cfg *config.Config, store commandStore, blobs storage.Driver) error) func(*cobra.Command, []string) error {
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
		blobs, _, err := openStorage(cmd.Context(), cfg.Storage)
		if err != nil {
			return err
		}
		return run(cmd, args, cfg, store, blobs)
	}
}

// withHousekeepers is withStores with the lifecycle runner and the
// garbage collector over the stores, on clock now.
func (f *configFlags) withHousekeepers(now func() time.Time, run func(cmd *cobra.Command, args []string, runner *lifecycle.Runner, gc *lifecycle.Collector) error) func(*cobra.Command, []string) error {
	return f.withStores(func(cmd *cobra.Command, args []string, cfg *config.Config, store commandStore, blobs storage.Driver) error {
		runner, gc := housekeepers(cfg, store, blobs, newLogger(config.Log{Level: "warn", Format: "text"}), nil, lifecycle.WithClock(now))
		return run(cmd, args, runner, gc)
	})
}

func gcCommand(now func() time.Time) *cobra.Command {
	var cf configFlags
	var dryRun, walk bool
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Free the blob store of blobs no image uses and of abandoned uploads",
		Long: `Run one garbage collection pass over the registry's index and blob store,
safely beside a running berth serve (which also collects on its own
schedule, gc.interval).

A pass deletes the blobs that an earlier pass found unreferenced at least
the grace period (gc.grace) ago and that are still unreferenced, marks the
blobs unreferenced now, and purges uploads abandoned for gc.uploadTimeout.
So a blob is freed by the first pass after it has been unreferenced for the
grace period. --dry-run changes nothing and reports the blobs unreferenced
for longer than the grace period.

A pass reads only the index. --walk instead lists the whole blob store
(filesystem or S3) and deletes what the index does not know and that was
last written more than the grace period ago: bytes a crash left between
writing a blob and recording it. It is slow on a large store and rests
between batches so that a running berth serve is not starved; with
--dry-run it reports what it would delete.`,
		Example: `  berth gc --dry-run
  berth gc
  berth gc --walk --dry-run`,
		Args: cobra.NoArgs,
		RunE: cf.withHousekeepers(now, func(cmd *cobra.Command, _ []string, _ *lifecycle.Runner, gc *lifecycle.Collector) error {
			if cmd.Flags().Changed("grace") {
				gc.Grace = grace
			}
			if walk {
				rep, err := gc.Walk(cmd.Context(), dryRun)
				if err != nil {
					return err
				}
				verb := "deleted"
				if dryRun {
					verb = "would delete"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "walked %d objects; %s %d (%s) that the index does not know, written more than %s ago\n",
					rep.Objects, verb, rep.Orphans, bytesText(rep.Bytes), gc.Grace)
				return nil
			}
			rep, err := gc.Run(cmd.Context(), dryRun)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				fmt.Fprintf(out, "would free %d blobs (%s); unreferenced for more than %s\n", rep.Blobs, bytesText(rep.Bytes), gc.Grace)
				return nil
			}
			fmt.Fprintf(out, "freed %d blobs (%s), purged %d abandoned uploads; %d more blobs are unreferenced and go after %s\n",
				rep.Blobs, bytesText(rep.Bytes), rep.Uploads, rep.Marked, gc.Grace)
			return nil
		}),
	}
	cf.register(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be freed and change nothing")
	cmd.Flags().BoolVar(&walk, "walk", false, "list the blob store and delete what the index does not know (slow)")
	cmd.Flags().DurationVar(&grace, "grace", 0, "override gc.grace for this pass")
	return cmd
}

// bytesText is a byte count for people: "1.5 MiB (1572864 bytes)".
func bytesText(n int64) string {
	return fmt.Sprintf("%s (%d bytes)", sizeText(n), n)
}

func lifecycleCommand(now func() time.Time) *cobra.Command {
	var cf configFlags
	cmd := &cobra.Command{Use: "lifecycle", Short: "Apply or preview repositories' lifecycle policies",
		Example: `  berth lifecycle run
  berth lifecycle preview app --at 30d`,
	}

	run := &cobra.Command{
		Use:   "run [REPOSITORY]",
		Short: "Apply lifecycle policies now: one repository's, or every repository's",
		Example: `  berth lifecycle run
  berth lifecycle run app`,
		Args: cobra.MaximumNArgs(1),
		RunE: cf.withHousekeepers(now, func(cmd *cobra.Command, args []string, runner *lifecycle.Runner, _ *lifecycle.Collector) error {
			results := map[string][]lifecycle.Result{}
			var err error
			if len(args) == 1 {
				results[args[0]], err = runner.Run(cmd.Context(), args[0])
			} else {
				results, err = runner.RunAll(cmd.Context())
			}
			for repo, rs := range results {
				printResults(cmd, repo, rs)
			}
			return err
		}),
	}

	var policyFile, at string
	var asJSON bool
	preview := &cobra.Command{
		Use:   "preview REPOSITORY",
		Short: "Show what a lifecycle policy would do, now or at a later time",
		Long: `Evaluate the repository's lifecycle policy (or --policy FILE) against its
images as they are now, at the instant --at: an RFC 3339 time
(2027-01-01T00:00:00Z) or a time from now (36h, 30d). Nothing changes.`,
		Example: `  berth lifecycle preview app --at 30d
  berth lifecycle preview app --policy next.json --json`,
		Args: cobra.ExactArgs(1),
		RunE: cf.withHousekeepers(now, func(cmd *cobra.Command, args []string, runner *lifecycle.Runner, _ *lifecycle.Collector) error {
			when, err := parseWhen(at, now())
			if err != nil {
				return err
			}
			var p *lifecycle.Policy
			if policyFile != "" {
				text, err := os.ReadFile(policyFile)
				if err != nil {
					return err
				}
				if p, err = lifecycle.Parse(string(text)); err != nil {
					return err
				}
			}
			results, err := runner.Preview(cmd.Context(), args[0], p, when)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), newPreviewJSON(args[0], when, results))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "at %s:\n", when.UTC().Format(time.RFC3339))
			printResults(cmd, args[0], results)
			return nil
		}),
	}
	preview.Flags().StringVar(&policyFile, "policy", "", "evaluate this policy file instead of the repository's")
	preview.Flags().StringVar(&at, "at", "", "evaluate at this time: RFC 3339, or a duration from now such as 36h or 30d (default: now)")
	preview.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	cmd.AddCommand(run, preview)
	cf.register(cmd)
	return cmd
}

// previewJSON is what `berth lifecycle preview --json` prints: the members
// of ECR's GetLifecyclePolicyPreview answer that a local preview has, in
// its names and values, and the instant the policy was evaluated at; times
// as the aws CLI and berth's remote commands print them.
type previewJSON struct {
	RepositoryName string              `json:"repositoryName"`
	At             string              `json:"at"`
	PreviewResults []previewResultJSON `json:"previewResults"`
	Summary        previewSummaryJSON  `json:"summary"`
}

type previewResultJSON struct {
	ImageTags           []string          `json:"imageTags,omitempty"`
	ImageDigest         string            `json:"imageDigest"`
	ImagePushedAt       string            `json:"imagePushedAt"`
	Action              previewActionJSON `json:"action"`
	AppliedRulePriority int               `json:"appliedRulePriority"`
	StorageClass        string            `json:"storageClass"`
}

type previewActionJSON struct {
	Type               string `json:"type"`
	TargetStorageClass string `json:"targetStorageClass,omitempty"`
}

type previewSummaryJSON struct {
	ExpiringImageTotalCount       int                      `json:"expiringImageTotalCount"`
	TransitioningImageTotalCounts []transitioningCountJSON `json:"transitioningImageTotalCounts,omitempty"`
}

type transitioningCountJSON struct {
	TargetStorageClass string `json:"targetStorageClass"`
	ImageTotalCount    int    `json:"imageTotalCount"`
}

// newPreviewJSON shapes results as ECR does: enum values upper-case
// (EXPIRE, TRANSITION, ARCHIVE, STANDARD) and a summary of the actions.
func newPreviewJSON(repo string, at time.Time, results []lifecycle.Result) previewJSON {
	out := previewJSON{RepositoryName: repo, At: output.Timestamp(at), PreviewResults: []previewResultJSON{}}
	transitioning := map[string]int{}
	var classes []string
	for _, r := range results {
		action := previewActionJSON{Type: strings.ToUpper(r.Action.Type), TargetStorageClass: strings.ToUpper(r.Action.TargetStorageClass)}
		out.PreviewResults = append(out.PreviewResults, previewResultJSON{
			ImageTags: r.Tags, ImageDigest: r.Digest, ImagePushedAt: output.Timestamp(r.PushedAt),
			Action: action, AppliedRulePriority: r.RulePriority, StorageClass: strings.ToUpper(r.StorageClass),
		})
		if action.Type != "TRANSITION" {
			out.Summary.ExpiringImageTotalCount++
			continue
		}
		if transitioning[action.TargetStorageClass] == 0 {
			classes = append(classes, action.TargetStorageClass)
		}
		transitioning[action.TargetStorageClass]++
	}
	for _, c := range classes {
		out.Summary.TransitioningImageTotalCounts = append(out.Summary.TransitioningImageTotalCounts, transitioningCountJSON{c, transitioning[c]})
	}
	return out
}

// parseWhen reads --at: empty is now, an RFC 3339 time, or a duration from
// now with an optional day unit ("30d").
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil {
			return now.Add(time.Duration(n * float64(24*time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("--at %q: not an RFC 3339 time nor a duration such as 36h or 30d", s)
}

func printResults(cmd *cobra.Command, repo string, rs []lifecycle.Result) {
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "REPOSITORY\tDIGEST\tTAGS\tPUSHED\tACTION\tRULE\n")
	for _, r := range rs {
		action := r.Action.Type
		if r.Action.TargetStorageClass != "" {
			action += " to " + r.Action.TargetStorageClass
		}
		tags := strings.Join(r.Tags, ",")
		if tags == "" {
			tags = "<untagged>"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\n", repo, r.Digest, tags, r.PushedAt.UTC().Format(time.RFC3339), action, r.RulePriority)
	}
	w.Flush()
	fmt.Fprintf(cmd.OutOrStdout(), "%d images in %s\n", len(rs), repo)
}
