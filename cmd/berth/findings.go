package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/output"
)

// scanPollInterval is how often findings asks whether a scan is done.
const scanPollInterval = time.Second

func findingsCommand() *cobra.Command {
	var rf remoteFlags
	var scan, wait bool
	var timeout time.Duration
	var failOn string
	cmd := &cobra.Command{
		Use:   "findings IMAGE",
		Short: "Show an image's vulnerability scan findings",
		Long: `Show the findings of an image's vulnerability scan
(DescribeImageScanFindings, every page). --scan starts a scan first
(StartImageScan; once a day per image, as in ECR). While a scan is pending
or running the command waits for it, with a progress line on a terminal,
unless --wait=false. With --fail-on SEVERITY it exits non-zero when a
finding is at least that severe, for CI pipelines.`,
		Example: `  berth findings app:1
  berth findings app:1 --scan --fail-on HIGH
  berth findings localhost:5000/app:1 -o json | jq '.imageScanFindings.findingSeverityCounts'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: rf.completeImages(false),
		PreRunE:           func(*cobra.Command, []string) error { return checkFailOn(failOn) },
		RunE: rf.run(func(r *remote, args []string) error {
			img, err := client.ParseImage(args[0])
			if err != nil {
				return err
			}
			id := img.ID()
			if scan {
				if _, err := r.ecr().StartImageScan(r.ctx(), &ecr.StartImageScanInput{RepositoryName: aws.String(img.Repository), ImageId: &id}); err != nil {
					return fmt.Errorf("%s: %w", img, r.client.Explain(err))
				}
			}
			if wait {
				ctx, cancel := context.WithTimeout(r.ctx(), timeout)
				defer cancel()
				if err := waitForScan(ctx, r, img, scan); err != nil {
					return err
				}
			}
			resp, err := allFindings(r.ctx(), r.ecr(), img)
			if err != nil {
				return fmt.Errorf("%s: %w", img, r.client.Explain(err))
			}
			if err := r.out.Print(resp, func() error { return findingsTable(r.out, img, resp) }); err != nil {
				return err
			}
			if failOn == "" || resp.ImageScanFindings == nil {
				return nil
			}
			n := 0
			for severity, count := range resp.ImageScanFindings.FindingSeverityCounts {
				if atLeast(severity, failOn) {
					n += int(count)
				}
			}
			if n > 0 {
				return fmt.Errorf("%s: %d findings at or above %s", img, n, strings.ToUpper(failOn))
			}
			return nil
		}),
	}
	rf.register(cmd, true)
	cmd.Flags().BoolVar(&scan, "scan", false, "start a scan of the image first")
	cmd.Flags().BoolVar(&wait, "wait", true, "wait for a pending or running scan to finish")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for a scan")
	cmd.Flags().StringVar(&failOn, "fail-on", "", failOnUsage())
	return cmd
}

// scanRunning reports whether a scan in status s is yet to finish.
func scanRunning(s types.ScanStatus) bool {
	return s == types.ScanStatusPending || s == types.ScanStatusInProgress
}

// waitForScan returns once img's scan is no longer pending or in
// progress, showing a progress line on a terminal meanwhile: for a scan
// the command started always, else only if there is one to wait for.
func waitForScan(ctx context.Context, r *remote, img client.Image, started bool) error {
	id := img.ID()
	in := &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String(img.Repository), ImageId: &id, MaxResults: aws.Int32(1)}
	resp, err := r.ecr().DescribeImageScanFindings(ctx, in)
	if err != nil {
		return fmt.Errorf("%s: %w", img, r.client.Explain(err))
	}
	status := scanStatus(resp)
	if !scanRunning(status) && !started {
		return nil
	}
	bars := r.progress()
	defer bars.Wait()
	task := bars.Waiting("scanning "+img.String(), string(status))
	tick := time.NewTicker(scanPollInterval)
	defer tick.Stop()
	for scanRunning(status) {
		select {
		case <-ctx.Done():
			if r.ctx().Err() == nil {
				return fmt.Errorf("%s: the scan is still %s after the --timeout", img, status)
			}
			return ctx.Err()
		case <-tick.C:
		}
		if resp, err = r.ecr().DescribeImageScanFindings(ctx, in); err != nil {
			return fmt.Errorf("%s: %w", img, r.client.Explain(err))
		}
		status = scanStatus(resp)
		task.SetStatus(string(status))
	}
	task.Done(string(status), status != types.ScanStatusFailed)
	return nil
}

func scanStatus(resp *ecr.DescribeImageScanFindingsOutput) types.ScanStatus {
	if resp.ImageScanStatus == nil {
		return ""
	}
	return resp.ImageScanStatus.Status
}

// allFindings reads every page of img's findings into one answer.
func allFindings(ctx context.Context, api *ecr.Client, img client.Image) (*ecr.DescribeImageScanFindingsOutput, error) {
	id := img.ID()
	var all *ecr.DescribeImageScanFindingsOutput
	p := ecr.NewDescribeImageScanFindingsPaginator(api, &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String(img.Repository), ImageId: &id})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = page
			continue
		}
		if page.ImageScanFindings != nil && all.ImageScanFindings != nil {
			all.ImageScanFindings.Findings = append(all.ImageScanFindings.Findings, page.ImageScanFindings.Findings...)
			all.ImageScanFindings.EnhancedFindings = append(all.ImageScanFindings.EnhancedFindings, page.ImageScanFindings.EnhancedFindings...)
		}
	}
	if all != nil {
		all.NextToken = nil
	}
	return all, nil
}

func findingsTable(out *output.Printer, img client.Image, resp *ecr.DescribeImageScanFindingsOutput) error {
	status, description := "", ""
	if resp.ImageScanStatus != nil {
		status, description = string(resp.ImageScanStatus.Status), aws.ToString(resp.ImageScanStatus.Description)
	}
	digest := img.Digest
	if resp.ImageId != nil {
		digest = aws.ToString(resp.ImageId.ImageDigest)
	}
	out.Linef("%s@%s: %s (%s)", img.Repository, digest, out.Paint(scanStatusStyle(status), status), description)
	if resp.ImageScanFindings == nil {
		return nil
	}
	t := output.NewTable("SEVERITY", "NAME", "PACKAGE", "VERSION", "URI")
	for _, f := range resp.ImageScanFindings.Findings {
		var pkg, version string
		for _, a := range f.Attributes {
			switch aws.ToString(a.Key) {
			case "package_name":
				pkg = aws.ToString(a.Value)
			case "package_version":
				version = aws.ToString(a.Value)
			}
		}
		t.Row(output.Styled(severityStyle(string(f.Severity)), string(f.Severity)), aws.ToString(f.Name), pkg, version, aws.ToString(f.Uri))
	}
	if t.Len() > 0 {
		if err := out.Table(t); err != nil {
			return err
		}
	}
	text, worst := severityText(resp.ImageScanFindings.FindingSeverityCounts)
	if text == "" {
		text = "none"
	}
	out.Linef("%d findings: %s", len(resp.ImageScanFindings.Findings), out.Paint(severityStyle(worst), text))
	return nil
}
