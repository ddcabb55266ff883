package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/spf13/cobra"
)

func policyCommand() *cobra.Command {
	var rf remoteFlags
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Get, set and remove repositories' access and lifecycle policies",
		Long: `Manage a repository's policies through the ECR API: its repository policy
(who may do what: SetRepositoryPolicy, GetRepositoryPolicy,
DeleteRepositoryPolicy), or with --lifecycle its lifecycle policy (which
images expire: PutLifecyclePolicy, GetLifecyclePolicy,
DeleteLifecyclePolicy). The server checks a policy before it keeps it.`,
		Example: `  berth policy set app policy.json
  berth policy get app
  berth policy set app --lifecycle keep-10.json
  berth policy get app --lifecycle -o json
  berth policy rm app --lifecycle`,
	}
	rf.register(cmd, true)
	cmd.AddCommand(policyGetCommand(&rf), policySetCommand(&rf), policyRemoveCommand(&rf))
	return cmd
}

// lifecycleFlag adds --lifecycle.
func lifecycleFlag(cmd *cobra.Command, lifecycle *bool) {
	cmd.Flags().BoolVar(lifecycle, "lifecycle", false, "the lifecycle policy, not the repository policy")
}

func policyGetCommand(rf *remoteFlags) *cobra.Command {
	var lifecycle bool
	cmd := &cobra.Command{
		Use:   "get REPOSITORY",
		Short: "Print a repository's policy",
		Long: `Print a repository's policy document, or with --lifecycle its lifecycle
policy; -o json prints the API's whole answer.`,
		Example: `  berth policy get app
  berth policy get app --lifecycle`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: rf.completeRepositories(false),
		RunE: rf.run(func(r *remote, args []string) error {
			repo := aws.String(args[0])
			if lifecycle {
				resp, err := r.ecr().GetLifecyclePolicy(r.ctx(), &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
				if err != nil {
					return err
				}
				return r.out.Print(resp, func() error { return printDocument(r, aws.ToString(resp.LifecyclePolicyText)) })
			}
			resp, err := r.ecr().GetRepositoryPolicy(r.ctx(), &ecr.GetRepositoryPolicyInput{RepositoryName: repo})
			if err != nil {
				return err
			}
			return r.out.Print(resp, func() error { return printDocument(r, aws.ToString(resp.PolicyText)) })
		}),
	}
	lifecycleFlag(cmd, &lifecycle)
	return cmd
}

func policySetCommand(rf *remoteFlags) *cobra.Command {
	var lifecycle, force bool
	cmd := &cobra.Command{
		Use:   "set REPOSITORY POLICY",
		Short: "Set a repository's policy",
		Long: `Set a repository's policy, or with --lifecycle its lifecycle policy, from
POLICY: a file, file://FILE as the aws CLI takes it, - for standard input,
or the JSON document itself.`,
		Example: `  berth policy set app policy.json
  berth policy set app --lifecycle file://keep-10.json
  echo '{"rules":[...]}' | berth policy set app --lifecycle -`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 1 {
				return nil, cobra.ShellCompDirectiveDefault // a file
			}
			return rf.completeRepositories(false)(cmd, args, toComplete)
		},
		RunE: rf.run(func(r *remote, args []string) error {
			text, err := readDocument(args[1], r.cmd.InOrStdin())
			if err != nil {
				return err
			}
			repo := aws.String(args[0])
			if lifecycle {
				resp, err := r.ecr().PutLifecyclePolicy(r.ctx(), &ecr.PutLifecyclePolicyInput{RepositoryName: repo, LifecyclePolicyText: aws.String(text)})
				if err != nil {
					return err
				}
				return r.out.Print(resp, func() error {
					r.out.Linef("set the lifecycle policy of %s", args[0])
					return nil
				})
			}
			resp, err := r.ecr().SetRepositoryPolicy(r.ctx(), &ecr.SetRepositoryPolicyInput{RepositoryName: repo, PolicyText: aws.String(text), Force: force})
			if err != nil {
				return err
			}
			return r.out.Print(resp, func() error {
				r.out.Linef("set the repository policy of %s", args[0])
				return nil
			})
		}),
	}
	lifecycleFlag(cmd, &lifecycle)
	cmd.Flags().BoolVar(&force, "force", false, "set a repository policy even if it would lock you out of the repository")
	return cmd
}

func policyRemoveCommand(rf *remoteFlags) *cobra.Command {
	var lifecycle bool
	cmd := &cobra.Command{
		Use:     "rm REPOSITORY",
		Aliases: []string{"delete"},
		Short:   "Remove a repository's policy",
		Long:    `Remove a repository's policy, or with --lifecycle its lifecycle policy.`,
		Example: `  berth policy rm app
  berth policy rm app --lifecycle`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: rf.completeRepositories(false),
		RunE: rf.run(func(r *remote, args []string) error {
			repo := aws.String(args[0])
			if lifecycle {
				resp, err := r.ecr().DeleteLifecyclePolicy(r.ctx(), &ecr.DeleteLifecyclePolicyInput{RepositoryName: repo})
				if err != nil {
					return err
				}
				return r.out.Print(resp, func() error {
					r.out.Linef("removed the lifecycle policy of %s", args[0])
					return nil
				})
			}
			resp, err := r.ecr().DeleteRepositoryPolicy(r.ctx(), &ecr.DeleteRepositoryPolicyInput{RepositoryName: repo})
			if err != nil {
				return err
			}
			return r.out.Print(resp, func() error {
				r.out.Linef("removed the repository policy of %s", args[0])
				return nil
			})
		}),
	}
	lifecycleFlag(cmd, &lifecycle)
	return cmd
}

// maxPolicyBytes bounds a policy read from a file or standard input; ECR
// takes documents of up to 30,720 characters.
const maxPolicyBytes = 1 << 20

// readDocument reads a policy argument: "-" for in, file://PATH or a path,
// or a JSON document given inline.
func readDocument(arg string, in io.Reader) (string, error) {
	trimmed := strings.TrimSpace(arg)
	if strings.HasPrefix(trimmed, "{") {
		return trimmed, nil
	}
	var r io.Reader
	name := arg
	if arg == "-" {
		r, name = in, "standard input"
	} else {
		f, err := os.Open(strings.TrimPrefix(arg, "file://"))
		if err != nil {
			return "", fmt.Errorf("policy: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPolicyBytes+1))
	if err != nil {
		return "", fmt.Errorf("policy from %s: %w", name, err)
	}
	if len(b) > maxPolicyBytes {
		return "", fmt.Errorf("policy from %s: more than %d bytes", name, maxPolicyBytes)
	}
	return strings.TrimSpace(string(b)), nil
}

// printDocument prints a policy document indented, for reading.
func printDocument(r *remote, text string) error {
	var b bytes.Buffer
	if json.Indent(&b, []byte(text), "", "  ") != nil {
		b.Reset()
		b.WriteString(text)
	}
	r.out.Linef("%s", b.String())
	return nil
}
