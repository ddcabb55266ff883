package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	batchtypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/launcher/docker/dockertest"
)

// A Deny on aws:ResourceTag/<key> applies to the launcher's resources as
// to repositories: an ECS cluster, a log group and a Batch job queue
// tagged env=prod are refused to a user whose policy denies them, their
// untagged twins are not.
func TestLauncherResourceTagConditions(t *testing.T) {
	dockertest.Require(t)
	var dataDir string
	addr, _ := startServe(t, func(c *config.Config) {
		c.Auth.Mode = "keys"
		c.Launcher.SidecarPool = 0
		dataDir = c.DataDir
	})
	const policy = `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["ecs:*","logs:*","batch:*"],"Resource":"*"},
		{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}]}`
	devFile := filepath.Join(t.TempDir(), "dev-credentials")
	if _, stderr, err := runBerth(t, dataDir, "user", "create", "dev", "--policy", policy, "--with-key", "--credentials-file", devFile); err != nil {
		t.Fatalf("user create: %v %s", err, stderr)
	}
	as := func(credentials string) aws.Config {
		id, secret := readCredentialsFile(t, credentials)
		t.Setenv("BERTH_ACCESS_KEY_ID", id)
		t.Setenv("BERTH_SECRET_ACCESS_KEY", secret)
		c, err := client.New(t.Context(), client.Options{Endpoint: "http://" + addr})
		if err != nil {
			t.Fatal(err)
		}
		return c.AWSConfig()
	}
	ctx := context.Background()
	admin := as(filepath.Join(dataDir, "admin-credentials"))
	clusters, queues := map[string]string{}, map[string]string{}
	batchAPI := batch.NewFromConfig(admin)
	if _, err := batchAPI.CreateComputeEnvironment(ctx, &batch.CreateComputeEnvironmentInput{
		ComputeEnvironmentName: aws.String("ce"), Type: batchtypes.CETypeManaged,
		ComputeResources: &batchtypes.ComputeResource{Type: batchtypes.CRTypeFargate, MaxvCpus: aws.Int32(1), Subnets: []string{}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"prod", "dev"} {
		in := &ecs.CreateClusterInput{ClusterName: aws.String(name)}
		group := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/" + name)}
		queue := &batch.CreateJobQueueInput{JobQueueName: aws.String(name), Priority: aws.Int32(1),
			ComputeEnvironmentOrder: []batchtypes.ComputeEnvironmentOrder{{Order: aws.Int32(1), ComputeEnvironment: aws.String("ce")}}}
		if name == "prod" {
			in.Tags = []ecstypes.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}
			group.Tags = map[string]string{"env": "prod"}
			queue.Tags = map[string]string{"env": "prod"}
		}
		q, err := batchAPI.CreateJobQueue(ctx, queue)
		if err != nil {
			t.Fatal(err)
		}
		queues[name] = aws.ToString(q.JobQueueArn)
		out, err := ecs.NewFromConfig(admin).CreateCluster(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		clusters[name] = aws.ToString(out.Cluster.ClusterArn)
		if _, err := cloudwatchlogs.NewFromConfig(admin).CreateLogGroup(ctx, group); err != nil {
			t.Fatal(err)
		}
	}

	dev := as(devFile)
	denied := func(what string, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Errorf("%s: %v; want AccessDeniedException", what, err)
		}
	}
	_, err := ecs.NewFromConfig(dev).ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(clusters["prod"])})
	denied("ListTagsForResource of the prod cluster", err)
	if _, err := ecs.NewFromConfig(dev).ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(clusters["dev"])}); err != nil {
		t.Errorf("ListTagsForResource of the dev cluster: %v", err)
	}
	_, err = batch.NewFromConfig(dev).ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(queues["prod"])})
	denied("ListTagsForResource of the prod job queue", err)
	if _, err := batch.NewFromConfig(dev).ListTagsForResource(ctx, &batch.ListTagsForResourceInput{ResourceArn: aws.String(queues["dev"])}); err != nil {
		t.Errorf("ListTagsForResource of the dev job queue: %v", err)
	}
	_, err = cloudwatchlogs.NewFromConfig(dev).DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/prod")})
	denied("DescribeLogStreams of /prod", err)
	if _, err := cloudwatchlogs.NewFromConfig(dev).DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/dev")}); err != nil {
		t.Errorf("DescribeLogStreams of /dev: %v", err)
	}
}
