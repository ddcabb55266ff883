package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/output"
	"github.com/berth-dev/berth/scanner/vulndb"
)

func imageCommand() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "image",
		Short: "List, describe, tag and delete images",
		Long: `Manage the images in the server's repositories through its ECR API.

An IMAGE is REPOSITORY:TAG or REPOSITORY@DIGEST, optionally after the
registry's address (localhost:5000/app:1) or as an ECR URI; with neither a
tag nor a digest it is REPOSITORY:latest.`,
		Example: `  berth image ls app
  berth image describe app:1
  berth image tag app:1 app:stable
  berth image rm app:old`,
	}
	rf.register(cmd, true)
	cmd.AddCommand(imageListCommand(&rf), imageDescribeCommand(&rf), imageTagCommand(&rf), imageRemoveCommand(&rf))
	return cmd
}

func imageListCommand(rf *remoteFlags) *cobra.Command {
	var tagged, untagged bool
	cmd := &cobra.Command{
		Use:     "ls REPOSITORY",
		Aliases: []string{"list"},
		Short:   "List a repository's images",
		Long: `List a repository's images with their tags, size, push time and scan
result (DescribeImages, every page).`,
		Example: `  berth image ls app
  berth image ls app --untagged
  berth image ls app -o json | jq -r '.imageDetails[].imageDigest'`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: rf.completeRepositories(false),
		RunE: rf.run(func(r *remote, args []string) error {
			if tagged && untagged {
				return errors.New("--tagged and --untagged: give one or neither")
			}
			in := &ecr.DescribeImagesInput{RepositoryName: aws.String(args[0])}
			switch {
			case tagged:
				in.Filter = &types.DescribeImagesFilter{TagStatus: types.TagStatusTagged}
			case untagged:
				in.Filter = &types.DescribeImagesFilter{TagStatus: types.TagStatusUntagged}
			}
			all := &ecr.DescribeImagesOutput{ImageDetails: []types.ImageDetail{}}
			for p := ecr.NewDescribeImagesPaginator(r.ecr(), in); p.HasMorePages(); {
				page, err := p.NextPage(r.ctx())
				if err != nil {
					return err
				}
				all.ImageDetails = append(all.ImageDetails, page.ImageDetails...)
			}
			return r.out.Print(all, func() error { return imageTable(r.out, all.ImageDetails) })
		}),
	}
	cmd.Flags().BoolVar(&tagged, "tagged", false, "only images with tags")
	cmd.Flags().BoolVar(&untagged, "untagged", false, "only images without tags")
	return cmd
}

func imageDescribeCommand(rf *remoteFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe IMAGE...",
		Short: "Show images in full",
		Long:  `Show each image's details (DescribeImages).`,
		Example: `  berth image describe app:1
  berth image describe localhost:5000/app@sha256:4f53... -o yaml`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: rf.completeImages(true),
		RunE: rf.run(func(r *remote, args []string) error {
			all := &ecr.DescribeImagesOutput{ImageDetails: []types.ImageDetail{}}
			err := forEachRepository(args, func(repo string, imgs []client.Image) error {
				resp, err := r.ecr().DescribeImages(r.ctx(), &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), ImageIds: imageIDs(imgs)})
				if err != nil {
					return fmt.Errorf("%s: %w", imgs[0], r.client.Explain(err))
				}
				all.ImageDetails = append(all.ImageDetails, resp.ImageDetails...)
				return nil
			})
			if err != nil {
				return err
			}
			return r.out.Print(all, func() error { return describeEach(r.out, all.ImageDetails, describeImage) })
		}),
	}
}

// manifestMediaTypes are the manifest types image tag accepts, so that it
// copies any image as it was pushed.
var manifestMediaTypes = []string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.docker.distribution.manifest.v1+prettyjws",
	"application/vnd.docker.distribution.manifest.v1+json",
}

func imageTagCommand(rf *remoteFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give an image another tag",
		Long: `Tag the image SOURCE names as TARGET (REPOSITORY:TAG, or just TAG for
SOURCE's repository), as aws ecr put-image does: read SOURCE's manifest
(BatchGetImage) and put it again under the new tag (PutImage). Nothing is
downloaded or uploaded but the manifest. A tag already on the image is
left as it is.`,
		Example: `  berth image tag app:1 app:stable
  berth image tag app@sha256:4f53... v1.2.0`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: rf.completeImages(false),
		RunE: rf.run(func(r *remote, args []string) error {
			src, err := client.ParseImage(args[0])
			if err != nil {
				return err
			}
			target := args[1]
			if !strings.ContainsAny(target, ":/@") {
				target = src.Repository + ":" + target
			}
			dst, err := client.ParseImage(target)
			if err != nil {
				return err
			}
			if dst.Digest != "" || strings.LastIndex(target, ":") < strings.LastIndex(target, "/") {
				return fmt.Errorf("target %q: want REPOSITORY:TAG or TAG", args[1])
			}
			got, err := r.ecr().BatchGetImage(r.ctx(), &ecr.BatchGetImageInput{
				RepositoryName:     aws.String(src.Repository),
				ImageIds:           []types.ImageIdentifier{src.ID()},
				AcceptedMediaTypes: manifestMediaTypes,
			})
			if err != nil {
				return fmt.Errorf("%s: %w", src, r.client.Explain(err))
			}
			if err := imageFailures(src.Repository, got.Failures); err != nil {
				return err
			}
			if len(got.Images) == 0 {
				return fmt.Errorf("%s: the server returned no image", src)
			}
			image := got.Images[0]
			resp, err := r.ecr().PutImage(r.ctx(), &ecr.PutImageInput{
				RepositoryName:         aws.String(dst.Repository),
				ImageManifest:          image.ImageManifest,
				ImageManifestMediaType: image.ImageManifestMediaType,
				ImageDigest:            image.ImageId.ImageDigest,
				ImageTag:               aws.String(dst.Tag),
			})
			var exists *types.ImageAlreadyExistsException
			if errors.As(err, &exists) {
				// The tag is already on this image: nothing to do.
				resp, err = &ecr.PutImageOutput{Image: &types.Image{
					RegistryId: image.RegistryId, RepositoryName: aws.String(dst.Repository),
					ImageId:       &types.ImageIdentifier{ImageDigest: image.ImageId.ImageDigest, ImageTag: aws.String(dst.Tag)},
					ImageManifest: image.ImageManifest, ImageManifestMediaType: image.ImageManifestMediaType,
				}}, nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", dst, r.client.Explain(err))
			}
			return r.out.Print(resp, func() error {
				r.out.Linef("tagged %s@%s as %s", src.Repository, aws.ToString(image.ImageId.ImageDigest), dst)
				return nil
			})
		}),
	}
}

func imageRemoveCommand(rf *remoteFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "rm IMAGE...",
		Aliases: []string{"delete"},
		Short:   "Delete images, or remove tags",
		Long: `Delete images (BatchDeleteImage). REPOSITORY:TAG removes the tag, and the
image with it once it has no other tag; REPOSITORY@DIGEST deletes the
image and all its tags. The command fails, after deleting what it can,
when an image is not there.`,
		Example: `  berth image rm app:old
  berth image rm app@sha256:4f53... app:tmp`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: rf.completeImages(true),
		RunE: rf.run(func(r *remote, args []string) error {
			all := &ecr.BatchDeleteImageOutput{ImageIds: []types.ImageIdentifier{}, Failures: []types.ImageFailure{}}
			var deleted []string
			var failed []error
			err := forEachRepository(args, func(repo string, imgs []client.Image) error {
				for batch := range slices.Chunk(imgs, 100) {
					resp, err := r.ecr().BatchDeleteImage(r.ctx(), &ecr.BatchDeleteImageInput{RepositoryName: aws.String(repo), ImageIds: imageIDs(batch)})
					if err != nil {
						return fmt.Errorf("%s: %w", batch[0], r.client.Explain(err))
					}
					all.ImageIds = append(all.ImageIds, resp.ImageIds...)
					for _, id := range resp.ImageIds {
						deleted = append(deleted, repo+imageIDText(id))
					}
					all.Failures = append(all.Failures, resp.Failures...)
					if err := imageFailures(repo, resp.Failures); err != nil {
						failed = append(failed, err)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if err := r.out.Print(all, func() error {
				for _, d := range deleted {
					r.out.Linef("deleted %s", d)
				}
				return nil
			}); err != nil {
				return err
			}
			if len(failed) > 0 {
				return joinedErrors(failed)
			}
			return nil
		}),
	}
}

// forEachRepository parses images and calls fn once per repository with
// its images, in the order the repositories first appear.
func forEachRepository(images []string, fn func(repo string, imgs []client.Image) error) error {
	var repos []string
	byRepo := map[string][]client.Image{}
	for _, s := range images {
		img, err := client.ParseImage(s)
		if err != nil {
			return err
		}
		if _, ok := byRepo[img.Repository]; !ok {
			repos = append(repos, img.Repository)
		}
		byRepo[img.Repository] = append(byRepo[img.Repository], img)
	}
	for _, repo := range repos {
		if err := fn(repo, byRepo[repo]); err != nil {
			return err
		}
	}
	return nil
}

// imageIDs are imgs as ECR's imageIds member lists them.
func imageIDs(imgs []client.Image) []types.ImageIdentifier {
	ids := make([]types.ImageIdentifier, len(imgs))
	for i, img := range imgs {
		ids[i] = img.ID()
	}
	return ids
}

// describeEach prints each item in full with describe, a blank line
// between two.
func describeEach[T any](out *output.Printer, items []T, describe func(*output.Printer, T) error) error {
	for i, item := range items {
		if i > 0 {
			out.Linef("")
		}
		if err := describe(out, item); err != nil {
			return err
		}
	}
	return nil
}

// imageFailures turns the failures of a batch call into one error naming
// each image and why.
func imageFailures(repo string, failures []types.ImageFailure) error {
	var errs []error
	for _, f := range failures {
		id := ""
		if f.ImageId != nil {
			id = imageIDText(*f.ImageId)
		}
		errs = append(errs, fmt.Errorf("%s%s: %s: %s", repo, id, f.FailureCode, aws.ToString(f.FailureReason)))
	}
	if len(errs) == 0 {
		return nil
	}
	return joinedErrors(errs)
}

// joinedErrors is errors.Join on one line.
func joinedErrors(errs []error) error {
	return oneLine{errors.Join(errs...)}
}

// imageIDText is an image id as a reference suffix: ":TAG", "@DIGEST" or
// both.
func imageIDText(id types.ImageIdentifier) string {
	s := ""
	if id.ImageTag != nil {
		s += ":" + *id.ImageTag
	}
	if id.ImageDigest != nil {
		s += "@" + *id.ImageDigest
	}
	return s
}

func imageTable(out *output.Printer, images []types.ImageDetail) error {
	t := output.NewTable("TAGS", "DIGEST", "SIZE", "PUSHED", "SCAN")
	for _, d := range images {
		t.Row(tagsText(d.ImageTags), aws.ToString(d.ImageDigest), sizeText(aws.ToInt64(d.ImageSizeInBytes)),
			formatTime(aws.ToTime(d.ImagePushedAt)), scanCell(d))
	}
	return out.Table(t)
}

func describeImage(out *output.Printer, d types.ImageDetail) error {
	fields := [][2]string{
		{"Repository", aws.ToString(d.RepositoryName)},
		{"Digest", aws.ToString(d.ImageDigest)},
		{"Tags", tagsText(d.ImageTags)},
		{"Media type", aws.ToString(d.ImageManifestMediaType)},
	}
	if d.ArtifactMediaType != nil {
		fields = append(fields, [2]string{"Artifact type", *d.ArtifactMediaType})
	}
	if d.SubjectManifestDigest != nil {
		fields = append(fields, [2]string{"Subject", *d.SubjectManifestDigest})
	}
	fields = append(fields,
		[2]string{"Size", bytesText(aws.ToInt64(d.ImageSizeInBytes))},
		[2]string{"Pushed", formatTime(aws.ToTime(d.ImagePushedAt))},
		[2]string{"Last pulled", formatTime(aws.ToTime(d.LastRecordedPullTime))},
		[2]string{"Status", string(d.ImageStatus)},
		[2]string{"Scan", scanCell(d).Text},
	)
	return out.Fields(fields...)
}

func tagsText(tags []string) string {
	if len(tags) == 0 {
		return "<untagged>"
	}
	return strings.Join(tags, ",")
}

// scanCell is an image's scan for a table: its status and, once complete,
// its findings by severity, coloured by the worst.
func scanCell(d types.ImageDetail) output.Cell {
	if d.ImageScanStatus == nil {
		return output.Cell{Text: "-"}
	}
	status := string(d.ImageScanStatus.Status)
	if d.ImageScanFindingsSummary == nil {
		return output.Styled(scanStatusStyle(status), status)
	}
	counts := d.ImageScanFindingsSummary.FindingSeverityCounts
	text, worst := severityText(counts)
	if text == "" {
		return output.Styled(output.Green, status+": no findings")
	}
	return output.Styled(severityStyle(worst), status+": "+text)
}

// severityText is counts by severity, worst first ("1 CRITICAL, 2 LOW"),
// and the worst severity found.
func severityText(counts map[string]int32) (text, worst string) {
	var parts []string
	for _, sev := range slices.Backward(vulndb.Severities()) {
		if n := counts[sev]; n > 0 {
			parts = append(parts, strconv.Itoa(int(n))+" "+sev)
			if worst == "" {
				worst = sev
			}
		}
	}
	return strings.Join(parts, ", "), worst
}

func severityStyle(severity string) output.Style {
	switch severity {
	case "CRITICAL":
		return output.BoldRed
	case "HIGH":
		return output.Red
	case "MEDIUM":
		return output.Yellow
	case "LOW", "INFORMATIONAL", "UNDEFINED":
		return output.Dim
	}
	return output.Plain
}

func scanStatusStyle(status string) output.Style {
	switch types.ScanStatus(status) {
	case types.ScanStatusComplete:
		return output.Green
	case types.ScanStatusFailed, types.ScanStatusUnsupportedImage:
		return output.Red
	}
	return output.Plain
}

// sizeText is a byte count for a table: "1.5 MiB".
func sizeText(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
