package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/output"
)

// The groups of commands in berth's help.
const (
	groupRemote = "remote"
	groupLocal  = "local"
)

func commandGroups() []*cobra.Group {
	return []*cobra.Group{
		{ID: groupRemote, Title: "Manage a berth server over its APIs (from any machine; --endpoint):"},
		{ID: groupLocal, Title: "Run berth, or work on its data directory (on the server's machine):"},
	}
}

// remoteCommands puts cmds in the group of commands that talk to a server.
func remoteCommands(cmds ...*cobra.Command) []*cobra.Command {
	for _, c := range cmds {
		c.GroupID = groupRemote
	}
	return cmds
}

// dataDirectoryNote ends the help of every command that opens the data
// directory itself.
const dataDirectoryNote = `This command opens berth's data directory (--data-dir, --config) itself,
so run it on the machine where berth serve keeps its data. The commands
that manage a server from elsewhere are login, repo, image, policy,
findings, run, ps, logs and stop.`

// localCommands puts cmds in the group of commands that work on the data
// directory, and says so in their help and their subcommands'.
func localCommands(cmds ...*cobra.Command) []*cobra.Command {
	var note func(c *cobra.Command)
	note = func(c *cobra.Command) {
		long := c.Long
		if long == "" {
			long = c.Short + "."
		}
		c.Long = strings.TrimRight(long, "\n") + "\n\n" + dataDirectoryNote
		for _, sub := range c.Commands() {
			note(sub)
		}
	}
	for _, c := range cmds {
		c.GroupID = groupLocal
		note(c)
	}
	return cmds
}

// remoteFlags are the flags of a command that talks to a berth server over
// its APIs: which server, what --output, and --debug.
type remoteFlags struct {
	endpoint   string
	output     string
	debug      bool
	printsData bool
}

// register adds the flags to cmd and its subcommands; printsData adds
// --output.
func (f *remoteFlags) register(cmd *cobra.Command, printsData bool) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.endpoint, "endpoint", "", "the berth server's URL (default $BERTH_ENDPOINT, else "+client.DefaultEndpoint+")")
	pf.BoolVar(&f.debug, "debug", false, "show every HTTP request and response on stderr, with secrets redacted")
	f.printsData = printsData
	if printsData {
		pf.StringVarP(&f.output, "output", "o", string(output.Table), "output format: table, json (the AWS API's shape) or yaml")
		cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	}
}

// newClient makes the client of the server the flags name.
func (f *remoteFlags) newClient(ctx context.Context, cmd *cobra.Command) (*client.Client, error) {
	opts := client.Options{Endpoint: f.endpoint}
	if f.debug {
		opts.Debug = cmd.ErrOrStderr()
	}
	return client.New(ctx, opts)
}

// remote is what the body of a remote command works with.
type remote struct {
	cmd    *cobra.Command
	client *client.Client
	out    *output.Printer
	debug  bool
}

// ctx is the command's context.
func (r *remote) ctx() context.Context { return r.cmd.Context() }

// ecr is the server's ECR API.
func (r *remote) ecr() *ecr.Client { return r.client.ECR() }

// progress returns progress bars on stderr, shown only on a terminal and
// not with --debug, whose lines they would draw over.
func (r *remote) progress() *output.Progress {
	if r.debug {
		return output.NewProgress(r.ctx(), io.Discard)
	}
	return output.NewProgress(r.ctx(), r.cmd.ErrOrStderr())
}

// run makes the RunE of a remote command: it reads --output, makes the
// client, runs body, and turns a failure into one line that starts with
// the command ("repo describe: RepositoryNotFoundException: ...").
func (f *remoteFlags) run(body func(r *remote, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		r, err := f.start(cmd)
		if err == nil {
			err = body(r, args)
		}
		if err == nil {
			return nil
		}
		if r != nil {
			err = r.client.Explain(err)
		}
		return oneLine{fmt.Errorf("%s: %w", strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" "), err)}
	}
}

// start makes what a remote command's body works with.
func (f *remoteFlags) start(cmd *cobra.Command) (*remote, error) {
	format := output.Table
	if f.printsData {
		var err error
		if format, err = output.ParseFormat(f.output); err != nil {
			return nil, err
		}
	}
	c, err := f.newClient(cmd.Context(), cmd)
	if err != nil {
		return nil, err
	}
	out := output.New(cmd.OutOrStdout(), format, output.Colorful(cmd.OutOrStdout()))
	return &remote{cmd: cmd, client: c, out: out, debug: f.debug}, nil
}

// oneLine is an error whose text is kept on one line, as the last line a
// person reads.
type oneLine struct{ err error }

func (e oneLine) Error() string { return strings.Join(strings.Fields(e.err.Error()), " ") }
func (e oneLine) Unwrap() error { return e.err }

// completionTimeout bounds the requests a shell's completion makes.
const completionTimeout = 5 * time.Second

// completeRepositories completes a REPOSITORY argument from the server's
// repositories; only the first argument unless many is set.
func (f *remoteFlags) completeRepositories(many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, err := f.repositoryNames(cmd, toComplete)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeImages completes IMAGE arguments: a repository and a colon,
// then that repository's tags. Only the first argument unless many is
// set.
func (f *remoteFlags) completeImages(many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		repo, tagPrefix, hasTag := strings.Cut(toComplete, ":")
		if !hasTag {
			names, err := f.repositoryNames(cmd, toComplete)
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			for i := range names {
				names[i] += ":"
			}
			return names, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
		tags, err := f.tags(cmd, repo, tagPrefix)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return tags, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionLimit bounds how many names a completion asks the server for.
const completionLimit = 1000

// repositoryNames lists the server's repositories that start with prefix.
func (f *remoteFlags) repositoryNames(cmd *cobra.Command, prefix string) ([]string, error) {
	return f.completionList(cmd, func(ctx context.Context, api *ecr.Client, add func(string) bool) error {
		p := ecr.NewDescribeRepositoriesPaginator(api, &ecr.DescribeRepositoriesInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, r := range page.Repositories {
				if name := aws.ToString(r.RepositoryName); strings.HasPrefix(name, prefix) && !add(name) {
					return nil
				}
			}
		}
		return nil
	})
}

// tags lists repo's tags that start with prefix, as repo:tag.
func (f *remoteFlags) tags(cmd *cobra.Command, repo, prefix string) ([]string, error) {
	return f.completionList(cmd, func(ctx context.Context, api *ecr.Client, add func(string) bool) error {
		p := ecr.NewListImagesPaginator(api, &ecr.ListImagesInput{
			RepositoryName: aws.String(repo),
			Filter:         &types.ListImagesFilter{TagStatus: types.TagStatusTagged},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, id := range page.ImageIds {
				if tag := aws.ToString(id.ImageTag); strings.HasPrefix(tag, prefix) && !add(repo+":"+tag) {
					return nil
				}
			}
		}
		return nil
	})
}

// completionList asks the server for the candidates of a completion, in
// completionTimeout: list calls add with each, until add says there are
// enough (completionLimit). They come back sorted.
func (f *remoteFlags) completionList(cmd *cobra.Command, list func(ctx context.Context, api *ecr.Client, add func(string) bool) error) ([]string, error) {
	ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
	defer cancel()
	c, err := f.newClient(ctx, cmd)
	if err != nil {
		return nil, err
	}
	var names []string
	err = list(ctx, c.ECR(), func(name string) bool {
		names = append(names, name)
		return len(names) < completionLimit
	})
	slices.Sort(names)
	return names, err
}
