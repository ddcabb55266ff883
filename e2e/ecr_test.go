package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/jsontest"
)

// awsCLI runs the AWS CLI v2 against one berth as one user.
type awsCLI struct {
	t        *testing.T
	bin      string
	endpoint string
	key      accessKey
}

// json runs `aws ecr ARGS --output json` and decodes what it prints; the
// test fails unless the CLI exits 0.
func (c awsCLI) json(args ...string) map[string]any {
	c.t.Helper()
	return c.serviceJSON("ecr", args...)
}

// serviceJSON runs `aws SERVICE ARGS --output json` and decodes what it
// prints; the test fails unless the CLI exits 0.
func (c awsCLI) serviceJSON(service string, args ...string) map[string]any {
	c.t.Helper()
	v, err := c.try(service, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return v
}

// try is serviceJSON returning the CLI's failure instead of failing the
// test.
func (c awsCLI) try(service string, args ...string) (map[string]any, error) {
	out, err := execute(time.Minute, func(cmd *exec.Cmd) { cmd.Env = awsEnv(c.key) }, c.bin,
		append(append([]string{service}, args...), "--endpoint-url", c.endpoint, "--output", "json")...)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if strings.TrimSpace(out) == "" {
		return v, nil
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, fmt.Errorf("aws %s %s printed no JSON: %v\n%s", service, strings.Join(args, " "), err, out)
	}
	return v, nil
}

// refused runs `aws ecr ARGS` and checks that the CLI exits 254 (a service
// error) naming errorType.
func (c awsCLI) refused(errorType string, args ...string) {
	c.t.Helper()
	c.serviceRefused("ecr", errorType, args...)
}

// serviceRefused runs `aws SERVICE ARGS` and checks that the CLI exits
// 254 (a service error) naming errorType.
func (c awsCLI) serviceRefused(service, errorType string, args ...string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(append([]string{service}, args...), "--endpoint-url", c.endpoint)...)
	cmd.Env = awsEnv(c.key)
	out, err := cmd.CombinedOutput()
	exit, _ := err.(*exec.ExitError)
	if exit == nil || exit.ExitCode() != 254 || !strings.Contains(string(out), "("+errorType+")") {
		c.t.Errorf("aws %s %s: %v\n%s\nwant exit 254 with %s", service, strings.Join(args, " "), err, out, errorType)
	}
}

// field and expectField read the aws CLI's JSON.
var (
	field       = jsontest.Field
	expectField = jsontest.Expect
)

// TestAWSCLIWorkflow is the ECR workflow of a CI pipeline with the real
// AWS CLI v2 and docker, against berth with ECR's push rules (no
// createOnPush): every call's JSON is checked field by field and every
// refusal exits 254 with ECR's error name.
func TestAWSCLIWorkflow(t *testing.T) {
	requireDocker(t)
	bin := requireAWSCLI(t)
	srv := startBerth(t, "BERTH_REGISTRY_CREATE_ON_PUSH=false")
	admin := srv.adminKey(t)
	aws := awsCLI{t, bin, "http://" + srv.Addr, admin}
	const account = "000000000000"
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	image := func(repo, tag string) string { return srv.Addr + "/" + repo + ":" + tag }

	// Repositories, mutable and immutable.
	created := aws.json("create-repository", "--repository-name", "team/app", "--image-scanning-configuration", "scanOnPush=true",
		"--tags", "Key=team,Value=platform")
	expectField(t, created, "arn:aws:ecr:us-east-1:"+account+":repository/team/app", "repository", "repositoryArn")
	expectField(t, created, account, "repository", "registryId")
	expectField(t, created, srv.Addr+"/team/app", "repository", "repositoryUri")
	expectField(t, created, "MUTABLE", "repository", "imageTagMutability")
	expectField(t, created, true, "repository", "imageScanningConfiguration", "scanOnPush")
	expectField(t, created, "AES256", "repository", "encryptionConfiguration", "encryptionType")
	// The CLI prints ECR's epoch-seconds timestamps as ISO 8601.
	if at, err := time.Parse("2006-01-02T15:04:05.999999-07:00", fmt.Sprint(field(t, created, "repository", "createdAt"))); err != nil || time.Since(at) > time.Minute {
		t.Errorf("createdAt = %v (%v)", field(t, created, "repository", "createdAt"), err)
	}
	immutable := aws.json("create-repository", "--repository-name", "team/frozen", "--image-tag-mutability", "IMMUTABLE")
	expectField(t, immutable, "IMMUTABLE", "repository", "imageTagMutability")
	aws.refused("RepositoryAlreadyExistsException", "create-repository", "--repository-name", "team/app")

	described := aws.json("describe-repositories")
	if repos := field(t, described, "repositories").([]any); len(repos) != 2 {
		t.Errorf("describe-repositories listed %d repositories; want 2", len(repos))
	}
	expectField(t, aws.json("describe-repositories", "--repository-names", "team/frozen"), "team/frozen", "repositories", 0, "repositoryName")
	aws.refused("RepositoryNotFoundException", "describe-repositories", "--repository-names", "nope")

	// docker login with the CLI's password; push two tags.
	loginCmd := fmt.Sprintf("%s ecr get-login-password --endpoint-url http://%s | docker login --username AWS --password-stdin %s", bin, srv.Addr, srv.Addr)
	runWith(t, dockerTimeout, func(c *exec.Cmd) { c.Env = append(awsEnv(admin), "DOCKER_CONFIG="+os.Getenv("DOCKER_CONFIG")) }, "sh", "-c", loginCmd)
	build := helloContext(t, "ecr workflow")
	for _, ref := range []string{image("team/app", "v1"), image("team/app", "latest"), image("team/frozen", "v1"), image("nowhere/app", "v1")} {
		t.Cleanup(func() { removeImage(t, ref) })
		run(t, dockerTimeout, "docker", "build", "-t", ref, build)
	}
	run(t, dockerTimeout, "docker", "push", image("team/app", "v1"))
	run(t, dockerTimeout, "docker", "push", image("team/app", "latest"))
	digest := strings.TrimPrefix(strings.SplitN(repoDigest(t, image("team/app", "v1")), "@", 2)[1], "")

	// A push into a repository nobody created is refused in ECR's words.
	_, err := execute(dockerTimeout, nil, "docker", "push", image("nowhere/app", "v1"))
	if err == nil || !strings.Contains(err.Error(), "name unknown: The repository with name 'nowhere/app' does not exist in the registry with id '"+account+"'") {
		t.Errorf("docker push to a missing repository: %v", err)
	}

	// Images.
	images := aws.json("describe-images", "--repository-name", "team/app")
	expectField(t, images, digest, "imageDetails", 0, "imageDigest")
	tags := field(t, images, "imageDetails", 0, "imageTags").([]any)
	if fmt.Sprint(tags) != "[latest v1]" {
		t.Errorf("imageTags = %v", tags)
	}
	expectField(t, images, "application/vnd.docker.distribution.manifest.v2+json", "imageDetails", 0, "imageManifestMediaType")
	expectField(t, images, "application/vnd.docker.container.image.v1+json", "imageDetails", 0, "artifactMediaType")
	if size, ok := field(t, images, "imageDetails", 0, "imageSizeInBytes").(float64); !ok || size < 100 {
		t.Errorf("imageSizeInBytes = %v", field(t, images, "imageDetails", 0, "imageSizeInBytes"))
	}
	listed := field(t, aws.json("list-images", "--repository-name", "team/app"), "imageIds").([]any)
	var listedTags []string
	for _, id := range listed {
		expectField(t, id, digest, "imageDigest")
		listedTags = append(listedTags, fmt.Sprint(field(t, id, "imageTag")))
	}
	slices.Sort(listedTags)
	if fmt.Sprint(listedTags) != "[latest v1]" {
		t.Errorf("list-images tags = %v; want one entry per tag", listedTags)
	}
	got := aws.json("batch-get-image", "--repository-name", "team/app", "--image-ids", "imageTag=v1", "imageTag=v9")
	manifest := field(t, got, "images", 0, "imageManifest").(string)
	expectField(t, got, digest, "images", 0, "imageId", "imageDigest")
	expectField(t, got, "ImageNotFound", "failures", 0, "failureCode")

	// Retag with put-image, then again: already exists.
	put := aws.json("put-image", "--repository-name", "team/app", "--image-tag", "stable", "--image-manifest", manifest)
	expectField(t, put, digest, "image", "imageId", "imageDigest")
	expectField(t, put, "stable", "image", "imageId", "imageTag")
	aws.refused("ImageAlreadyExistsException", "put-image", "--repository-name", "team/app", "--image-tag", "stable", "--image-manifest", manifest)
	t.Cleanup(func() { removeImage(t, image("team/app", "stable")) })
	run(t, dockerTimeout, "docker", "pull", image("team/app", "stable"))

	// Immutable tags hold on the API and on docker push.
	run(t, dockerTimeout, "docker", "push", image("team/frozen", "v1"))
	// Rebuilt below, the pushed image keeps only its digest reference.
	t.Cleanup(func() {
		refs := run(t, dockerTimeout, "docker", "images", "--digests", "--format", "{{.Repository}}@{{.Digest}}", srv.Addr+"/team/frozen")
		for _, ref := range strings.Fields(refs) {
			if !strings.HasSuffix(ref, "@<none>") {
				removeImage(t, ref)
			}
		}
	})
	other := helloContext(t, "rebuilt")
	run(t, dockerTimeout, "docker", "build", "-t", image("team/frozen", "v1"), other)
	_, err = execute(dockerTimeout, nil, "docker", "push", image("team/frozen", "v1"))
	if err == nil || !strings.Contains(err.Error(), "tag invalid: The image tag 'v1' already exists in the 'team/frozen' repository and cannot be overwritten because the repository is immutable.") {
		t.Errorf("docker push over an immutable tag: %v", err)
	}
	run(t, dockerTimeout, "docker", "tag", image("team/frozen", "v1"), image("team/frozen", "v2"))
	t.Cleanup(func() { removeImage(t, image("team/frozen", "v2")) })
	run(t, dockerTimeout, "docker", "push", image("team/frozen", "v2"))
	rebuilt := field(t, aws.json("batch-get-image", "--repository-name", "team/frozen", "--image-ids", "imageTag=v2"), "images", 0, "imageManifest").(string)
	aws.refused("ImageTagAlreadyExistsException", "put-image", "--repository-name", "team/frozen", "--image-tag", "v1", "--image-manifest", rebuilt)
	mut := aws.json("put-image-tag-mutability", "--repository-name", "team/frozen", "--image-tag-mutability", "MUTABLE")
	expectField(t, mut, "MUTABLE", "imageTagMutability")
	run(t, dockerTimeout, "docker", "push", image("team/frozen", "v1"))

	// Delete by tag.
	deleted := aws.json("batch-delete-image", "--repository-name", "team/app", "--image-ids", "imageTag=latest", "imageTag=v9")
	expectField(t, deleted, "latest", "imageIds", 0, "imageTag")
	expectField(t, deleted, "ImageNotFound", "failures", 0, "failureCode")

	// Repository policy, tags.
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
	set := aws.json("set-repository-policy", "--repository-name", "team/app", "--policy-text", policy)
	expectField(t, set, policy, "policyText")
	expectField(t, aws.json("get-repository-policy", "--repository-name", "team/app"), policy, "policyText")
	aws.refused("RepositoryPolicyNotFoundException", "get-repository-policy", "--repository-name", "team/frozen")
	aws.refused("InvalidParameterException", "set-repository-policy", "--repository-name", "team/frozen", "--policy-text", `{"Statement":"nope"}`)
	arn := "arn:aws:ecr:us-east-1:" + account + ":repository/team/app"
	aws.json("tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=prod")
	tagList := aws.json("list-tags-for-resource", "--resource-arn", arn)
	expectField(t, tagList, "team", "tags", 0, "Key")
	expectField(t, tagList, "prod", "tags", 1, "Value")

	// Delete the repository: refused while it holds images, unless forced.
	aws.refused("RepositoryNotEmptyException", "delete-repository", "--repository-name", "team/app")
	expectField(t, aws.json("delete-repository", "--repository-name", "team/app", "--force"), "team/app", "repository", "repositoryName")
	aws.refused("RepositoryNotFoundException", "describe-images", "--repository-name", "team/app")

	// A read-only user is refused writes in IAM's words.
	out := run(t, time.Minute, berthBin, "user", "create", "viewer", "--policy", "read-only", "--with-key", "--data-dir", srv.DataDir)
	viewer := awsCLI{t, bin, aws.endpoint, parseKey(t, out)}
	viewer.json("describe-repositories", "--repository-names", "team/frozen")
	viewer.refused("AccessDeniedException", "create-repository", "--repository-name", "team/other")
}
