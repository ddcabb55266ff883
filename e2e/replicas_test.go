package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/batch"
	batchtypes "github.com/aws/aws-sdk-go-v2/service/batch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/miniotest"
	"github.com/berth-dev/berth/internal/pgtest"
)

// replicas starts three berth servers on one PostgreSQL index and one
// blob store (storage: the BERTH_* variables of a MinIO bucket, or of a
// filesystem root they share), sharing their master key and signing keys
// as the README says, and returns them with the environment the local
// commands need to reach the same index. The first starts alone,
// creating the administrator; the others join it.
func replicas(t *testing.T, storage []string) ([]*server, []string) {
	t.Helper()
	return replicasOn(t, pgtest.Start(t), storage)
}

// replicasOn is replicas on a database of pg, for a test that stops or
// restarts it.
func replicasOn(t *testing.T, pg *pgtest.Server, storage []string) ([]*server, []string) {
	t.Helper()
	dsn := pg.NewDatabase(t)
	master := make([]byte, 32)
	rand.Read(master)
	env := append([]string{
		"BERTH_METADATA_POSTGRES_DSN=" + dsn,
		"BERTH_AUTH_MASTER_KEY=" + base64.StdEncoding.EncodeToString(master),
		"BERTH_AUTH_SIGNING_KEYS_DIR=" + t.TempDir(),
	}, storage...)
	a := startBerth(t, env...)
	return []*server{a, startBerth(t, env...), startBerth(t, env...)}, env
}

// basic is an Authorization header of user and password.
func basic(user, password string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
}

// pushBlob uploads content monolithically through srv.
func pushBlob(t *testing.T, srv *server, auth map[string]string, repo string, content []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(content)
	resp, body := send(t, http.MethodPost, "http://"+srv.Addr+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), content, auth)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("monolithic upload to %s: %s %s", srv.Addr, resp.Status, body)
	}
	return d
}

// imageManifest is an OCI image manifest of config and one layer.
func imageManifest(config, layer digest.Digest, configSize, layerSize int) []byte {
	b, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": configSize},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layerSize}},
	})
	return b
}

// Any request can land on any replica: an upload begun on one continues
// on a second and completes on the third; a tag pushed through one is
// visible on the others at once; a token one issues the others accept,
// and a key deactivated is refused by all; two pushes of one tag at once
// through different replicas leave one winner that every replica shows.
func TestReplicas(t *testing.T) {
	t.Run("s3", func(t *testing.T) {
		m := miniotest.Shared(t)
		testReplicas(t, []string{
			"BERTH_STORAGE_S3_ENDPOINT=" + m.Endpoint,
			"BERTH_STORAGE_S3_BUCKET=" + m.NewBucket(t),
			"BERTH_STORAGE_S3_ACCESS_KEY=" + m.AccessKey,
			"BERTH_STORAGE_S3_SECRET_KEY=" + m.SecretKey,
		})
	})
	// One directory that every replica mounts (NFS, say).
	t.Run("shared-filesystem", func(t *testing.T) {
		testReplicas(t, []string{"BERTH_STORAGE_FILESYSTEM_ROOT=" + t.TempDir()})
	})
}

func testReplicas(t *testing.T, storage []string) {
	srvs, env := replicas(t, storage)
	a, b, c := srvs[0], srvs[1], srvs[2]
	admin := a.adminKey(t)
	auth := basic(admin.ID, admin.Secret)
	const repo = "replicas/app"

	// A chunked upload across the three.
	first, second := chunk(11, 6<<20+3), chunk(12, 3<<20) // more than a part, then a tail
	layer := append(append([]byte{}, first...), second...)
	layerDigest := digest.FromBytes(layer)
	resp, body := send(t, http.MethodPost, "http://"+a.Addr+"/v2/"+repo+"/blobs/uploads/", nil, auth)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST upload on A: %s %s", resp.Status, body)
	}
	loc := resp.Header.Get("Location")
	resp, body = send(t, http.MethodPatch, "http://"+b.Addr+loc, first,
		merge(auth, map[string]string{"Content-Range": fmt.Sprintf("0-%d", len(first)-1)}))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH on B: %s %s", resp.Status, body)
	}
	resp, body = send(t, http.MethodPut, "http://"+c.Addr+withQuery(resp.Header.Get("Location"), "digest="+layerDigest.String()), second,
		merge(auth, map[string]string{"Content-Range": fmt.Sprintf("%d-%d", len(first), len(layer)-1)}))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT (last chunk) on C: %s %s", resp.Status, body)
	}
	for _, s := range srvs {
		resp, body := send(t, http.MethodGet, "http://"+s.Addr+"/v2/"+repo+"/blobs/"+layerDigest.String(), nil, auth)
		if resp.StatusCode != http.StatusOK || string(body) != string(layer) {
			t.Errorf("GET blob on %s: %s, %d bytes; want the %d bytes uploaded across three replicas", s.Addr, resp.Status, len(body), len(layer))
		}
	}

	// A tag pushed through A, read through B at once.
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	configDigest := pushBlob(t, a, auth, repo, config)
	manifest := imageManifest(configDigest, layerDigest, len(config), len(layer))
	mt := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
	if resp, body := send(t, http.MethodPut, "http://"+a.Addr+"/v2/"+repo+"/manifests/v1", manifest, merge(auth, mt)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT manifest on A: %s %s", resp.Status, body)
	}
	if resp, body := send(t, http.MethodGet, "http://"+b.Addr+"/v2/"+repo+"/manifests/v1", nil, auth); resp.StatusCode != http.StatusOK || string(body) != string(manifest) {
		t.Errorf("GET v1 on B right after the push on A: %s %s", resp.Status, body)
	}

	// A token from A works on B; a key deactivated (through the shared
	// index) is refused by every replica at once.
	token := registryToken(t, a.Addr, admin)
	if resp, body := send(t, http.MethodGet, "http://"+b.Addr+"/v2/"+repo+"/manifests/v1", nil, basic("AWS", token)); resp.StatusCode != http.StatusOK {
		t.Errorf("GET on B with a token from A: %s %s", resp.Status, body)
	}
	out := berthCLIEnv(t, env, "key", "create", "admin", "--data-dir", t.TempDir())
	key := parseKey(t, out)
	for _, s := range srvs {
		if resp, body := send(t, http.MethodGet, "http://"+s.Addr+"/v2/"+repo+"/manifests/v1", nil, basic(key.ID, key.Secret)); resp.StatusCode != http.StatusOK {
			t.Errorf("GET on %s with a key the CLI created in the index: %s %s", s.Addr, resp.Status, body)
		}
	}
	berthCLIEnv(t, env, "key", "deactivate", key.ID, "--data-dir", t.TempDir())
	for _, s := range srvs {
		if resp, _ := send(t, http.MethodGet, "http://"+s.Addr+"/v2/"+repo+"/manifests/v1", nil, basic(key.ID, key.Secret)); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET on %s with a deactivated key: %s; want 401", s.Addr, resp.Status)
		}
	}

	// The same tag pushed through all three at once: every push is
	// answered, and the replicas agree on the one that won.
	var wg sync.WaitGroup
	pushed := make([]digest.Digest, 6)
	for i := range pushed {
		s := srvs[i%3]
		cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","variant":"%d"}`, i))
		cd := pushBlob(t, s, auth, repo, cfg)
		m := imageManifest(cd, layerDigest, len(cfg), len(layer))
		pushed[i] = digest.FromBytes(m)
		wg.Go(func() {
			resp, _ := send(t, http.MethodPut, "http://"+s.Addr+"/v2/"+repo+"/manifests/race", m, merge(auth, mt))
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("concurrent PUT race on %s: %s", s.Addr, resp.Status)
			}
		})
	}
	wg.Wait()
	var winner string
	for _, s := range srvs {
		resp, _ := send(t, http.MethodHead, "http://"+s.Addr+"/v2/"+repo+"/manifests/race", nil, auth)
		got := resp.Header.Get("Docker-Content-Digest")
		if winner == "" {
			winner = got
		}
		if resp.StatusCode != http.StatusOK || got != winner {
			t.Errorf("HEAD race on %s: %s %s; want %s on every replica", s.Addr, resp.Status, got, winner)
		}
	}
	found := false
	for _, d := range pushed {
		found = found || d.String() == winner
	}
	if !found {
		t.Errorf("race resolves to %s, none of the pushed manifests %v", winner, pushed)
	}
}

// berthCLIEnv runs a local berth command with the extra environment env
// and returns its output.
func berthCLIEnv(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := execute(time.Minute, func(c *exec.Cmd) { c.Env = append(c.Environ(), env...) }, berthBin, args...)
	if err != nil {
		t.Fatalf("berth %v: %v\n%s", args, err, out)
	}
	return out
}

// withQuery adds a query parameter to an upload's location.
func withQuery(loc, kv string) string {
	if strings.Contains(loc, "?") {
		return loc + "&" + kv
	}
	return loc + "?" + kv
}

func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// awsCall is one call of an AWS API through its SDK, with at most
// attempts attempts; unavailable reports whether its error is the
// service's own server fault, the type its model declares.
type awsCall struct {
	name        string
	call        func(ctx context.Context, attempts int) error
	unavailable func(err error) bool
}

// awsCalls are calls of each AWS API berth serves at addr that need the
// index: ECR and ECS (AWS JSON 1.1, ServerException), CloudWatch Logs
// (ServiceUnavailableException), Lambda (REST-JSON, ServiceException) and
// Batch (REST-JSON, ServerException).
func awsCalls(addr string) []awsCall {
	endpoint := aws.String("http://" + addr)
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secretEXAMPLE", "")
	const region = "us-east-1"
	return []awsCall{
		{"ECR DescribeRepositories", func(ctx context.Context, n int) error {
			c := ecr.New(ecr.Options{Region: region, BaseEndpoint: endpoint, Credentials: creds, RetryMaxAttempts: n})
			_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
			return err
		}, func(err error) bool { var e *ecrtypes.ServerException; return errors.As(err, &e) }},
		{"ECS ListClusters", func(ctx context.Context, n int) error {
			c := ecs.New(ecs.Options{Region: region, BaseEndpoint: endpoint, Credentials: creds, RetryMaxAttempts: n})
			_, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
			return err
		}, func(err error) bool { var e *ecstypes.ServerException; return errors.As(err, &e) }},
		{"Logs DescribeLogGroups", func(ctx context.Context, n int) error {
			c := cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: endpoint, Credentials: creds, RetryMaxAttempts: n})
			_, err := c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
			return err
		}, func(err error) bool { var e *logstypes.ServiceUnavailableException; return errors.As(err, &e) }},
		{"Lambda ListFunctions", func(ctx context.Context, n int) error {
			c := lambda.New(lambda.Options{Region: region, BaseEndpoint: endpoint, Credentials: creds, RetryMaxAttempts: n})
			_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return err
		}, func(err error) bool { var e *lambdatypes.ServiceException; return errors.As(err, &e) }},
		// Batch answers its reads from memory; a registration writes.
		{"Batch RegisterJobDefinition", func(ctx context.Context, n int) error {
			c := batch.New(batch.Options{Region: region, BaseEndpoint: endpoint, Credentials: creds, RetryMaxAttempts: n})
			_, err := c.RegisterJobDefinition(ctx, &batch.RegisterJobDefinitionInput{
				JobDefinitionName: aws.String("outage"), Type: batchtypes.JobDefinitionTypeContainer,
				ContainerProperties: &batchtypes.ContainerProperties{Image: aws.String("scratch"), ResourceRequirements: []batchtypes.ResourceRequirement{
					{Type: batchtypes.ResourceTypeVcpu, Value: aws.String("1")}, {Type: batchtypes.ResourceTypeMemory, Value: aws.String("64")},
				}},
			})
			return err
		}, func(err error) bool { var e *batchtypes.ServerException; return errors.As(err, &e) }},
	}
}

// A replica that loses its PostgreSQL index answers 503 (which clients
// retry): UNAVAILABLE on the registry, each AWS API's own server fault on
// the AWS APIs. It says so on /readyz without naming the database, and
// serves again by itself once the index is back.
func TestReplicaIndexOutage(t *testing.T) {
	pg := pgtest.Start(t)
	srv := startBerth(t, "BERTH_AUTH_MODE=none", "BERTH_LAUNCHER_SIDECAR_POOL=0", "BERTH_METADATA_POSTGRES_DSN="+pg.NewDatabase(t))
	ctx := context.Background()
	calls := awsCalls(srv.Addr)
	for _, r := range calls {
		if err := r.call(ctx, 1); err != nil {
			t.Fatalf("%s with the index up: %v", r.name, err)
		}
	}
	const repo = "outage/app"
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := chunk(21, 1000)
	cd, ld := pushBlob(t, srv, nil, repo, config), pushBlob(t, srv, nil, repo, layer)
	manifest := imageManifest(cd, ld, len(config), len(layer))
	mt := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
	if resp, body := send(t, http.MethodPut, "http://"+srv.Addr+"/v2/"+repo+"/manifests/v1", manifest, mt); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT manifest: %s %s", resp.Status, body)
	}

	pg.Down(t)
	for _, path := range []string{"/v2/" + repo + "/manifests/v1", "/v2/" + repo + "/tags/list"} {
		resp, body := send(t, http.MethodGet, "http://"+srv.Addr+path, nil, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "UNAVAILABLE") {
			t.Errorf("GET %s with the index down: %s %s; want 503 UNAVAILABLE", path, resp.Status, body)
		}
	}
	for _, r := range calls {
		// Retries off: the SDK would retry the 503 and hide it.
		err := r.call(ctx, 1)
		var respErr *awshttp.ResponseError
		if !r.unavailable(err) || !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusServiceUnavailable {
			t.Errorf("%s with the index down: %v; want the service's server fault with 503", r.name, err)
		} else if msg := respErr.Error(); strings.Contains(msg, pg.Addr()) || strings.Contains(msg, "test_") {
			t.Errorf("%s with the index down names the database: %v", r.name, err)
		}
	}
	resp, body := send(t, http.MethodGet, "http://"+srv.Addr+"/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "test_") {
		t.Errorf("/readyz with the index down: %s %q; want 503 naming no database", resp.Status, body)
	}

	pg.Up(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, body := send(t, http.MethodGet, "http://"+srv.Addr+"/v2/"+repo+"/manifests/v1", nil, nil)
		if resp.StatusCode == http.StatusOK && string(body) == string(manifest) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET after the index came back: %s %s", resp.Status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if resp, _ := send(t, http.MethodGet, "http://"+srv.Addr+"/readyz", nil, nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz after the index came back: %s", resp.Status)
	}
	for _, r := range calls {
		// The SDK's own retries (3 attempts) ride out a pool still
		// reconnecting.
		if err := r.call(ctx, 3); err != nil {
			t.Errorf("%s after the index came back: %v", r.name, err)
		}
	}
}
