package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/client"
	ecslauncher "github.com/berth-dev/berth/launcher/ecs"
)

// launch is what berth run was asked for, read from its flags and
// checked before anything is created on the server.
type launch struct {
	as    string
	image client.Image
	// local is IMAGE as written: the local Docker image --push pushes.
	local   string
	args    []string
	env     map[string]string
	envFile string
	envList []string
	ports   []portMapping
	publish []string
	cpu     string
	memory  string
	count   int32
	// stopTimeout is the container's stopTimeout: seconds from SIGTERM
	// to SIGKILL when the task is stopped (0: ECS's default, 30).
	stopTimeout int32
	name        string
	cluster     string
	detach      bool
	push        bool
	// account and digest are the registry's account and the image's
	// digest, from the registry's answer about the image.
	account, digest string

	// Lambda's.
	payload string
	url     bool

	// An ECS service's.
	service      string
	desired      int32
	loadBalanced int32

	// AWS Batch's.
	queue     string
	arraySize int32
	dependsOn []string
	retries   int32
	timeout   time.Duration
}

// portMapping is one -p HOST:CONTAINER.
type portMapping struct{ host, container int32 }

// kind is one thing berth run launches an image as. Each kind lives in
// its own file (run_ecs.go, run_lambda.go); a kind berth does not serve
// yet has no run and says so.
type kind struct {
	// check reads the kind's flags before anything is created.
	check func(l *launch) error
	// run launches and, unless detached, follows to the end.
	run func(r *remote, l *launch) error
}

// kinds are the values of --as.
var kinds = map[string]kind{
	"fargate": {check: checkTask, run: runTask},
	"ecs":     {check: checkTask, run: runTask},
	"lambda":  {check: checkFunction, run: runFunction},
	"batch":   {check: checkJob, run: runJob},
}

// notOffered are --as values berth will serve, and why it does not yet.
var notOffered = map[string]string{}

func runLaunchCommand() *cobra.Command {
	var rf remoteFlags
	l := launch{}
	cmd := &cobra.Command{
		Use:   "run IMAGE [flags] [-- ARGS...]",
		Short: "Run an image of berth's registry as an ECS task or service, a Lambda function or a Batch job",
		Long: `Run an image as AWS would, on berth's launcher: one command from an image
to a running thing, with its output on your terminal.

--as fargate (the default) or --as ecs registers a task definition for the
image (or reuses the last one, when it is the same), runs the task
(RunTask), prints its output as it comes (its awslogs stream in berth's log
store) until it stops, and exits with the exit code of its essential
container. --detach prints the task's id and returns at once.

With --service NAME the image runs as an ECS service instead: the service
is created (CreateService) or, when it exists, updated to the task
definition and --desired (UpdateService); its events are printed until it
is steady (--desired tasks running on one deployment), then its name, or
with --load-balanced PORT the URL of the listener berth puts on 127.0.0.1
in front of that container port of its tasks; --detach prints its name
once it is created or updated. berth stop NAME deletes it.

--as lambda creates the function from the image (or updates its code and
configuration), waits until it is Active, invokes it with --payload, and
prints the function's result on stdout and the REPORT line and the tail
of its log on stderr; it exits 1 when the function failed. --url gives the
function a URL (AuthType NONE) and prints it.

--as batch submits an AWS Batch job (SubmitJob) to --queue, or to the
queue berth, made with a compute environment of its name when missing;
its job definition is registered or reused as a task definition is. Each
state change of the job (and of an array's children) is printed on
stderr and its output on stdout (an array child's after [INDEX]) until it
ends; berth run exits 0 when it SUCCEEDED and with its container's exit
code (the first failed child's) when it FAILED. --array-size, --depends-on,
--retries and --timeout are SubmitJob's arrayProperties, dependsOn,
retryStrategy and timeout. --detach prints the job's id.

IMAGE is REPOSITORY:TAG or REPOSITORY@DIGEST, alone, after the registry's
host (localhost:5000/app:1) or as an ECR repository URI. It must be in
berth's registry; with --push a local Docker image of that name is pushed
first. ARGS after -- are the container's command (the function's
ImageConfig.Command).
`,
		Example: `  berth run app:1
  berth run app:1 --cpu 1024 --memory 2GB -e STAGE=dev -- serve --verbose
  berth run --as ecs -p 8080:80 --detach web:latest
  berth run --as lambda fn:1 --payload '{"name":"berth"}'
  berth run --as lambda fn:1 --url --payload @event.json
  berth run --push localhost:5000/app:dev
  berth run --as ecs web:1 --service web --desired 2 --load-balanced 8080
  berth run --as batch app:1 --array-size 3 --retries 2 -- process --shard-from-env
  berth run --as batch app:1 --depends-on 6f4c1d0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f --timeout 10m`,
		Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if cmd.ArgsLenAtDash() >= 0 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return rf.completeImages(false)(cmd, args, toComplete)
		},
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash > 1 || dash < 0 && len(args) > 1 {
				return oneLine{fmt.Errorf("run: one IMAGE, then -- and the container's arguments (got %q)", args)}
			}
			l.args = args[1:]
			if err := l.check(args[0]); err != nil {
				return oneLine{fmt.Errorf("run: %w", err)}
			}
			return nil
		},
		RunE: interruptible(rf.run(func(r *remote, _ []string) error {
			if err := ensureImage(r, &l); err != nil {
				return err
			}
			return kinds[l.as].run(r, &l)
		})),
	}
	rf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&l.as, "as", "fargate", "what to run the image as: fargate, ecs, lambda or batch")
	f.StringArrayVarP(&l.envList, "env", "e", nil, "set an environment variable, K=V (repeatable)")
	f.StringVar(&l.envFile, "env-file", "", "read environment variables from a file of K=V lines")
	f.StringArrayVarP(&l.publish, "publish", "p", nil, "publish a container port, HOST:CONTAINER or PORT (ECS tasks; repeatable)")
	f.StringVar(&l.cpu, "cpu", "", "the task's CPU units (256) or vCPUs (1 vCPU); Fargate's default 256")
	f.StringVar(&l.memory, "memory", "", "the task's memory in MiB (512) or GB (1GB); the function's MemorySize in MB")
	f.Int32Var(&l.count, "count", 1, "how many tasks to run (1-10)")
	f.Int32Var(&l.stopTimeout, "stop-timeout", 0, "seconds from SIGTERM to SIGKILL when the task is stopped (default 30; Fargate up to 120)")
	f.StringVar(&l.name, "name", "", "the task definition family or function name (default: from the repository)")
	f.StringVar(&l.cluster, "cluster", "", "the ECS cluster (default: default)")
	f.BoolVarP(&l.detach, "detach", "d", false, "start the task and print its id, without following it")
	f.BoolVar(&l.push, "push", false, "push the local Docker image IMAGE to berth first when berth does not have it")
	f.StringVar(&l.payload, "payload", "", "the function's event: JSON, or @FILE (Lambda; default {})")
	f.BoolVar(&l.url, "url", false, "give the function a URL and print it (Lambda)")
	f.StringVar(&l.service, "service", "", "run as an ECS service of this name, created or updated, until it is steady")
	f.Int32Var(&l.desired, "desired", 1, "the service's desired count of tasks (--service)")
	f.Int32Var(&l.loadBalanced, "load-balanced", 0, "put a listener on 127.0.0.1 in front of this container port of the service's tasks and print its URL (--service)")
	f.StringVar(&l.queue, "queue", "", "the Batch job queue (default: berth, created with its compute environment when missing)")
	f.Int32Var(&l.arraySize, "array-size", 0, "submit an array job of this many children, 2-10000 (Batch)")
	f.StringArrayVar(&l.dependsOn, "depends-on", nil, "a job id the job waits for (Batch; repeatable)")
	f.Int32Var(&l.retries, "retries", 0, "how many times a failed attempt is retried, 0-9 (Batch)")
	f.DurationVar(&l.timeout, "timeout", 0, "how long an attempt may run before it is stopped, at least 1m (Batch)")
	cmd.RegisterFlagCompletionFunc("as", cobra.FixedCompletions([]string{"fargate", "ecs", "lambda", "batch"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// check reads the flags and IMAGE, so that a mistake is said before
// anything is created on the server.
func (l *launch) check(image string) error {
	if why, ok := notOffered[l.as]; ok {
		return fmt.Errorf("--as %s: %s", l.as, why)
	}
	k, ok := kinds[l.as]
	if !ok {
		return fmt.Errorf("--as %q: one of fargate, ecs, lambda, batch", l.as)
	}
	if l.service != "" && l.as != "ecs" && l.as != "fargate" {
		return fmt.Errorf("--service is for --as ecs or fargate, not --as %s", l.as)
	}
	if l.as != "batch" && (l.queue != "" || l.arraySize != 0 || len(l.dependsOn) > 0 || l.retries != 0 || l.timeout != 0) {
		return fmt.Errorf("--queue, --array-size, --depends-on, --retries and --timeout are for --as batch, not --as %s", l.as)
	}
	img, err := client.ParseImage(image)
	if err != nil {
		return err
	}
	l.image, l.local = img, image
	if l.env, err = readEnv(l.envFile, l.envList); err != nil {
		return err
	}
	for _, p := range l.publish {
		m, err := parsePort(p)
		if err != nil {
			return err
		}
		l.ports = append(l.ports, m)
	}
	if l.name == "" {
		l.name = nameFrom(img.Repository)
	}
	return k.check(l)
}

// readEnv reads --env-file, then each -e K=V over it.
func readEnv(file string, list []string) (map[string]string, error) {
	env := map[string]string{}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--env-file %s line %d: %q is not K=V", file, n, line)
			}
			env[k] = v
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
	}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("-e %q: want K=V", kv)
		}
		env[k] = v
	}
	return env, nil
}

// sortedKeys are m's keys in order, so that the same flags make the same
// task definition.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parsePort reads -p HOST:CONTAINER or -p PORT (the same on both sides).
func parsePort(s string) (portMapping, error) {
	host, container, found := strings.Cut(s, ":")
	if !found {
		container = host
	}
	h, err1 := strconv.ParseUint(host, 10, 16)
	c, err2 := strconv.ParseUint(container, 10, 16)
	if err1 != nil || err2 != nil || c == 0 {
		return portMapping{}, fmt.Errorf("-p %q: want HOST:CONTAINER or PORT, ports 1-65535", s)
	}
	return portMapping{host: int32(h), container: int32(c)}, nil
}

// nameInvalid are the characters a task definition family or a function
// name may not have.
var nameInvalid = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// nameFrom makes a family and function name of a repository: team/app
// becomes team-app.
func nameFrom(repository string) string {
	name := strings.Trim(nameInvalid.ReplaceAllString(repository, "-"), "-")
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}

// checkTask checks the flags of an ECS task: a Fargate task's size is one
// of Fargate's, and its ports are published at their own numbers, as
// awsvpc networking has them.
func checkTask(l *launch) error {
	if l.payload != "" || l.url {
		return fmt.Errorf("--payload and --url are for --as lambda, not --as %s", l.as)
	}
	if l.service == "" && l.loadBalanced != 0 {
		return errors.New("--load-balanced is for a service: add --service NAME")
	}
	if l.service != "" {
		if err := checkService(l); err != nil {
			return err
		}
	}
	if l.count < 1 || l.count > 10 {
		return fmt.Errorf("--count %d: from 1 to 10 tasks, as RunTask starts", l.count)
	}
	if l.as != "fargate" {
		return nil
	}
	if l.cpu == "" {
		l.cpu = "256"
	}
	if l.memory == "" {
		l.memory = "512"
	}
	if err := ecslauncher.CheckFargateSize(l.cpu, l.memory); err != nil {
		return fmt.Errorf("--cpu %s --memory %s: %w", l.cpu, l.memory, err)
	}
	for _, p := range l.ports {
		if p.host != p.container {
			return fmt.Errorf("-p %d:%d: a Fargate task (awsvpc) publishes a port at its own number; use -p %d, or --as ecs", p.host, p.container, p.container)
		}
	}
	return nil
}

// ensureImage checks that berth has the image (and learns its account
// from the answer), pushing the local Docker image first with --push.
func ensureImage(r *remote, l *launch) error {
	id := l.image.ID()
	in := &ecr.DescribeImagesInput{RepositoryName: aws.String(l.image.Repository), ImageIds: []types.ImageIdentifier{id}}
	out, err := r.ecr().DescribeImages(r.ctx(), in)
	if err != nil && l.push && isMissingImage(err) {
		if err = pushLocal(r, l.local, l.image); err == nil {
			out, err = r.ecr().DescribeImages(r.ctx(), in)
		}
	}
	if err != nil && !l.push && isMissingImage(err) {
		return fmt.Errorf("%s: %w (--push pushes a local Docker image of that name first)", l.image, r.client.Explain(err))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", l.image, r.client.Explain(err))
	}
	l.account = "000000000000"
	if len(out.ImageDetails) > 0 {
		d := out.ImageDetails[0]
		l.account = aws.ToString(d.RegistryId)
		l.digest = aws.ToString(d.ImageDigest)
	}
	return nil
}

// isMissingImage reports whether err says berth has no such image or
// repository.
func isMissingImage(err error) bool {
	var image *types.ImageNotFoundException
	var repo *types.RepositoryNotFoundException
	return errors.As(err, &image) || errors.As(err, &repo)
}

// interruptible runs a command's RunE with a context that ends on Ctrl-C
// (SIGINT) or SIGTERM, so that the command ends what it follows, or
// stops what it started, rather than dying with it.
func interruptible(runE func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		cmd.SetContext(ctx)
		return runE(cmd, args)
	}
}

// exitStatus ends berth with the status of what it ran: a task's
// essential container's exit code. It prints nothing: the task's output
// said what happened.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
