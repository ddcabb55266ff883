package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/output"
)

func repoCommand() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "repo",
		Short: "Create, list, describe and delete repositories",
		Long: `Manage the server's repositories through its ECR API, as aws ecr
create-repository, describe-repositories and delete-repository do.`,
		Example: `  berth repo create app --scan-on-push
  berth repo ls
  berth repo describe app -o json
  berth repo rm app --force`,
	}
	rf.register(cmd, true)
	cmd.AddCommand(repoCreateCommand(&rf), repoListCommand(&rf), repoDescribeCommand(&rf), repoRemoveCommand(&rf))
	return cmd
}

func repoCreateCommand(rf *remoteFlags) *cobra.Command {
	var scanOnPush, immutable bool
	var tags []string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a repository",
		Long: `Create a repository (CreateRepository). Names are lower-case and may have
slashes: team/app.`,
		Example: `  berth repo create app
  berth repo create team/app --immutable-tags --scan-on-push --tag owner=team`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: rf.run(func(r *remote, args []string) error {
			in := &ecr.CreateRepositoryInput{
				RepositoryName:             aws.String(args[0]),
				ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: scanOnPush},
			}
			if immutable {
				in.ImageTagMutability = types.ImageTagMutabilityImmutable
			}
			for _, t := range tags {
				k, v, ok := strings.Cut(t, "=")
				if !ok || k == "" {
					return fmt.Errorf("--tag %q: want KEY=VALUE", t)
				}
				in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			resp, err := r.ecr().CreateRepository(r.ctx(), in)
			if err != nil {
				return err
			}
			return r.out.Print(resp, func() error { return describeRepository(r.out, *resp.Repository) })
		}),
	}
	cmd.Flags().BoolVar(&scanOnPush, "scan-on-push", false, "scan each image for vulnerabilities when it is pushed")
	cmd.Flags().BoolVar(&immutable, "immutable-tags", false, "refuse pushes that would move an existing tag")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "a resource tag KEY=VALUE (repeatable)")
	return cmd
}

func repoListCommand(rf *remoteFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "ls [PREFIX]",
		Aliases: []string{"list"},
		Short:   "List repositories",
		Long: `List the repositories you may see (DescribeRepositories, every page), or
those whose names start with PREFIX.`,
		Example: `  berth repo ls
  berth repo ls team/
  berth repo ls -o json | jq -r '.repositories[].repositoryUri'`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: rf.completeRepositories(false),
		RunE: rf.run(func(r *remote, args []string) error {
			all := &ecr.DescribeRepositoriesOutput{Repositories: []types.Repository{}}
			p := ecr.NewDescribeRepositoriesPaginator(r.ecr(), &ecr.DescribeRepositoriesInput{})
			for p.HasMorePages() {
				page, err := p.NextPage(r.ctx())
				if err != nil {
					return err
				}
				for _, repo := range page.Repositories {
					if len(args) == 0 || strings.HasPrefix(aws.ToString(repo.RepositoryName), args[0]) {
						all.Repositories = append(all.Repositories, repo)
					}
				}
			}
			return r.out.Print(all, func() error { return repositoryTable(r.out, all.Repositories) })
		}),
	}
}

func repoDescribeCommand(rf *remoteFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME...",
		Short: "Show repositories in full",
		Long:  `Show each named repository's settings (DescribeRepositories).`,
		Example: `  berth repo describe app
  berth repo describe app team/api -o yaml`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: rf.completeRepositories(true),
		RunE: rf.run(func(r *remote, args []string) error {
			resp, err := r.ecr().DescribeRepositories(r.ctx(), &ecr.DescribeRepositoriesInput{RepositoryNames: args})
			if err != nil {
				return err
			}
			return r.out.Print(resp, func() error { return describeEach(r.out, resp.Repositories, describeRepository) })
		}),
	}
}

func repoRemoveCommand(rf *remoteFlags) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"delete"},
		Short:   "Delete a repository",
		Long: `Delete a repository (DeleteRepository). A repository that holds images is
deleted only with --force, which deletes its images too.`,
		Example: `  berth repo rm app
  berth repo rm app --force`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: rf.completeRepositories(false),
		RunE: rf.run(func(r *remote, args []string) error {
			resp, err := r.ecr().DeleteRepository(r.ctx(), &ecr.DeleteRepositoryInput{RepositoryName: aws.String(args[0]), Force: force})
			if err != nil {
				return err
			}
			return r.out.Print(resp, func() error {
				r.out.Linef("deleted repository %s", aws.ToString(resp.Repository.RepositoryName))
				return nil
			})
		}),
	}
	cmd.Flags().BoolVar(&force, "force", false, "also delete the repository's images")
	return cmd
}

func repositoryTable(out *output.Printer, repos []types.Repository) error {
	t := output.NewTable("NAME", "URI", "TAGS", "SCAN ON PUSH", "CREATED")
	for _, r := range repos {
		t.Row(aws.ToString(r.RepositoryName), aws.ToString(r.RepositoryUri), tagMutability(r), yesNo(scanOnPush(r)), formatTime(aws.ToTime(r.CreatedAt)))
	}
	return out.Table(t)
}

func describeRepository(out *output.Printer, r types.Repository) error {
	return out.Fields(
		[2]string{"Name", aws.ToString(r.RepositoryName)},
		[2]string{"URI", aws.ToString(r.RepositoryUri)},
		[2]string{"ARN", aws.ToString(r.RepositoryArn)},
		[2]string{"Registry", aws.ToString(r.RegistryId)},
		[2]string{"Tags", tagMutability(r)},
		[2]string{"Scan on push", yesNo(scanOnPush(r))},
		[2]string{"Created", formatTime(aws.ToTime(r.CreatedAt))},
	)
}

// tagMutability says whether a repository's tags may move.
func tagMutability(r types.Repository) string {
	s := strings.ToLower(strings.ReplaceAll(string(r.ImageTagMutability), "_", " "))
	for i, f := range r.ImageTagMutabilityExclusionFilters {
		if i == 0 {
			s += " except "
		} else {
			s += ","
		}
		s += aws.ToString(f.Filter)
	}
	return s
}

func scanOnPush(r types.Repository) bool {
	return r.ImageScanningConfiguration != nil && r.ImageScanningConfiguration.ScanOnPush
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
