package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"gopkg.in/yaml.v3"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/client/clienttest"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/internal/jsontest"
)

// remoteServer is a berth server with access keys on, whose administrator
// the remote commands run as (BERTH_ACCESS_KEY_ID and
// BERTH_SECRET_ACCESS_KEY, BERTH_ENDPOINT) for the rest of the test.
type remoteServer struct {
	addr       string
	id, secret string
}

func startRemote(t *testing.T) *remoteServer {
	t.Helper()
	clienttest.Isolate(t)
	var credentialsFile string
	addr, stop := startServe(t, func(c *config.Config) {
		c.Auth.Mode = "keys"
		credentialsFile = filepath.Join(c.DataDir, "admin-credentials")
		writeOSVData(t, filepath.Join(c.DataDir, "osv"))
	})
	t.Cleanup(func() { stop() })
	s := &remoteServer{addr: addr}
	s.id, s.secret = readCredentialsFile(t, credentialsFile)
	t.Setenv("BERTH_ENDPOINT", "http://"+addr)
	t.Setenv("BERTH_ACCESS_KEY_ID", s.id)
	t.Setenv("BERTH_SECRET_ACCESS_KEY", s.secret)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("NO_COLOR", "")
	return s
}

// writeOSVData writes an OSV database with one Debian record: an openssl
// CVE fixed after 3.0.11-1~deb12u1, CVSS 7.5 (HIGH).
func writeOSVData(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "Debian"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "Debian", "all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	w, _ := zw.Create("DEBIAN-CVE-2024-0001.json")
	io.WriteString(w, `{"id":"DEBIAN-CVE-2024-0001","modified":"2024-06-01T00:00:00Z","upstream":["CVE-2024-0001"],"details":"openssl crash",
	  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
	  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// debianFiles is an image with a Debian release and one vulnerable
// package, which the OSV data above finds.
var debianFiles = map[string][]byte{
	"etc/os-release":      []byte("ID=debian\nVERSION_ID=\"12\"\n"),
	"var/lib/dpkg/status": []byte("Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n"),
}

// push pushes a one-layer image of files to ref (REPOSITORY:TAG on the
// server) as the administrator, and returns its digest.
func (s *remoteServer) push(t *testing.T, ref string, files map[string][]byte) string {
	t.Helper()
	img, err := crane.Image(files)
	if err != nil {
		t.Fatal(err)
	}
	return s.pushImage(t, ref, img)
}

// pushImage pushes img to ref (REPOSITORY:TAG on the server) as the
// administrator, and returns its digest.
func (s *remoteServer) pushImage(t *testing.T, ref string, img v1.Image) string {
	t.Helper()
	c, err := client.New(t.Context(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Login(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := crane.Push(img, s.addr+"/"+ref, crane.Insecure, crane.WithAuth(&authn.Basic{Username: l.Username, Password: l.Password})); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// result is what one run of berth printed and returned.
type result struct {
	stdout, stderr string
	err            error
}

// line is the error as main prints it: "berth: " and the error.
func (r result) line() string {
	if r.err == nil {
		return ""
	}
	return "berth: " + r.err.Error()
}

// berth runs the berth command in-process with args and stdin.
func berth(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	root := rootCommand(time.Now)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return result{out.String(), errOut.String(), err}
}

// ok runs berth and fails the test unless it succeeds.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := berth(t, "", args...)
	if r.err != nil {
		t.Fatalf("berth %s: %v\n%s%s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "\x1b[") {
		t.Errorf("berth %s printed colour off a terminal: %q", strings.Join(args, " "), r.stdout)
	}
	return r.stdout
}

// fails runs berth and fails the test unless it fails with one line
// holding each of wants.
func fails(t *testing.T, args []string, wants ...string) {
	t.Helper()
	r := berth(t, "", args...)
	line := r.line()
	if r.err == nil || strings.Contains(line, "\n") {
		t.Errorf("berth %s: %q; want one line of error", strings.Join(args, " "), line)
		return
	}
	for _, want := range wants {
		if !strings.Contains(line, want) {
			t.Errorf("berth %s: %q; want it to say %q", strings.Join(args, " "), line, want)
		}
	}
}

// asJSON runs berth with -o json and decodes what it prints.
func asJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	return decoded(t, "json", json.Unmarshal, args)
}

// asYAML runs berth with -o yaml and decodes what it prints.
func asYAML(t *testing.T, args ...string) map[string]any {
	t.Helper()
	return decoded(t, "yaml", yaml.Unmarshal, args)
}

func decoded(t *testing.T, format string, unmarshal func([]byte, any) error, args []string) map[string]any {
	t.Helper()
	out := ok(t, append(args, "-o", format)...)
	var v map[string]any
	if err := unmarshal([]byte(out), &v); err != nil || v == nil {
		t.Fatalf("berth %s -o %s printed no %s object: %v\n%s", strings.Join(args, " "), format, format, err, out)
	}
	return v
}

func TestRepoCommands(t *testing.T) {
	s := startRemote(t)
	out := ok(t, "repo", "create", "app", "--scan-on-push", "--tag", "owner=team")
	for _, want := range []string{"Name:         app", "URI:          " + s.addr + "/app", "Scan on push: yes", "Tags:         mutable"} {
		if !strings.Contains(out, want) {
			t.Errorf("repo create printed\n%s\nwithout %q", out, want)
		}
	}
	created := asJSON(t, "repo", "create", "team/api", "--immutable-tags")
	jsontest.Expect(t, created, "team/api", "repository", "repositoryName")
	jsontest.Expect(t, created, "IMMUTABLE", "repository", "imageTagMutability")
	jsontest.Expect(t, created, "arn:aws:ecr:us-east-1:000000000000:repository/team/api", "repository", "repositoryArn")
	if at, err := time.Parse(time.RFC3339, fmt.Sprint(jsontest.Field(t, created, "repository", "createdAt"))); err != nil || time.Since(at) > time.Hour {
		t.Errorf("createdAt is %v (%v); want the time in ISO 8601, as the aws CLI prints it", jsontest.Field(t, created, "repository", "createdAt"), err)
	}
	jsontest.Expect(t, asYAML(t, "repo", "create", "web"), "web", "repository", "repositoryName")

	out = ok(t, "repo", "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(out, "team/api") || !strings.Contains(out, "immutable") {
		t.Errorf("repo ls:\n%s", out)
	}
	listed := asJSON(t, "repo", "ls")
	if n := len(jsontest.Field(t, listed, "repositories").([]any)); n != 3 {
		t.Errorf("repo ls -o json: %d repositories; want 3", n)
	}
	if got := asYAML(t, "repo", "ls", "team/"); len(jsontest.Field(t, got, "repositories").([]any)) != 1 {
		t.Errorf("repo ls team/ -o yaml: %v", got)
	}
	jsontest.Expect(t, asJSON(t, "repo", "ls", "nothing-like-it"), "[]", "repositories")

	described := asJSON(t, "repo", "describe", "app", "web")
	jsontest.Expect(t, described, "app", "repositories", 0, "repositoryName")
	jsontest.Expect(t, described, true, "repositories", 0, "imageScanningConfiguration", "scanOnPush")
	jsontest.Expect(t, described, "web", "repositories", 1, "repositoryName")
	jsontest.Expect(t, asYAML(t, "repo", "describe", "app"), s.addr+"/app", "repositories", 0, "repositoryUri")
	if out := ok(t, "repo", "describe", "app", "web"); strings.Count(out, "Name:") != 2 {
		t.Errorf("repo describe app web:\n%s", out)
	}
	fails(t, []string{"repo", "describe", "nope"}, "repo describe: RepositoryNotFoundException: The repository with name 'nope' does not exist")

	s.push(t, "app:1", map[string][]byte{"hello": []byte("hi")})
	fails(t, []string{"repo", "rm", "app"}, "repo rm: RepositoryNotEmptyException")
	jsontest.Expect(t, asJSON(t, "repo", "rm", "app", "--force"), "app", "repository", "repositoryName")
	if out := ok(t, "repo", "rm", "web"); out != "deleted repository web\n" {
		t.Errorf("repo rm web: %q", out)
	}
	jsontest.Expect(t, asYAML(t, "repo", "rm", "team/api"), "team/api", "repository", "repositoryName")
	fails(t, []string{"repo", "create", "Bad Name"}, "repo create: ValidationException: 1 validation error detected: Value 'Bad Name' at 'repositoryName'")
	fails(t, []string{"repo", "ls", "-o", "xml"}, `repo ls: --output "xml": one of table, json, yaml`)
}

func TestImageCommands(t *testing.T) {
	s := startRemote(t)
	ok(t, "repo", "create", "app")
	d1 := s.push(t, "app:1", map[string][]byte{"one": []byte("1")})
	d2 := s.push(t, "app:2", map[string][]byte{"two": []byte("2")})

	out := ok(t, "image", "ls", "app")
	if !strings.HasPrefix(out, "TAGS") || !strings.Contains(out, d1) || !strings.Contains(out, d2) {
		t.Errorf("image ls:\n%s", out)
	}
	listed := asJSON(t, "image", "ls", "app")
	details := jsontest.Field(t, listed, "imageDetails").([]any)
	if len(details) != 2 {
		t.Fatalf("image ls -o json: %v", listed)
	}
	for _, d := range details {
		for _, member := range []string{"imageDigest", "imageTags", "imagePushedAt", "imageSizeInBytes", "imageManifestMediaType", "registryId", "repositoryName"} {
			if _, ok := d.(map[string]any)[member]; !ok {
				t.Errorf("an image in image ls -o json lacks %s: %v", member, d)
			}
		}
	}
	if got := asYAML(t, "image", "ls", "app", "--tagged"); len(jsontest.Field(t, got, "imageDetails").([]any)) != 2 {
		t.Errorf("image ls --tagged -o yaml: %v", got)
	}
	jsontest.Expect(t, asJSON(t, "image", "ls", "app", "--untagged"), "[]", "imageDetails")

	// tag: the same image under another tag, by tag or by digest; again is
	// no error.
	tagged := asJSON(t, "image", "tag", "app:1", "stable")
	jsontest.Expect(t, tagged, "stable", "image", "imageId", "imageTag")
	jsontest.Expect(t, tagged, d1, "image", "imageId", "imageDigest")
	if out := ok(t, "image", "tag", "app@"+d1, "app:stable"); !strings.Contains(out, "tagged app@"+d1+" as app:stable") {
		t.Errorf("image tag again: %q", out)
	}
	jsontest.Expect(t, asYAML(t, "image", "tag", s.addr+"/app:2", "app:v2"), d2, "image", "imageId", "imageDigest")

	described := asJSON(t, "image", "describe", "app:1", "app:v2")
	jsontest.Expect(t, described, d1, "imageDetails", 0, "imageDigest")
	jsontest.Expect(t, described, "[1 stable]", "imageDetails", 0, "imageTags")
	jsontest.Expect(t, described, d2, "imageDetails", 1, "imageDigest")
	jsontest.Expect(t, asYAML(t, "image", "describe", "app@"+d2), "ACTIVE", "imageDetails", 0, "imageStatus")
	if out := ok(t, "image", "describe", "app:stable"); !strings.Contains(out, "Digest:        "+d1) || !strings.Contains(out, "Tags:          1,stable") {
		t.Errorf("image describe:\n%s", out)
	}
	fails(t, []string{"image", "describe", "app:nope"}, "image describe: app:nope: ImageNotFoundException")
	fails(t, []string{"image", "tag", "app:nope", "x"}, "image tag: app:nope: ImageNotFound: Requested image not found")
	fails(t, []string{"image", "tag", "app:1", "app@" + d2}, `image tag: target "app@`)

	// rm: a tag, then an image by digest; an unknown image fails after
	// the rest are deleted.
	removed := asJSON(t, "image", "rm", "app:stable")
	jsontest.Expect(t, removed, "stable", "imageIds", 0, "imageTag")
	jsontest.Expect(t, removed, "[]", "failures")
	r := berth(t, "", "image", "rm", "app@"+d2, "app:nope")
	if r.err == nil || r.line() != "berth: image rm: app:nope: ImageNotFound: Requested image not found" || !strings.Contains(r.stdout, "deleted app") {
		t.Errorf("image rm of one image there and one not: %q, printed %q", r.line(), r.stdout)
	}
	jsontest.Expect(t, asYAML(t, "image", "rm", "app:1"), d1, "imageIds", 0, "imageDigest")
	jsontest.Expect(t, asJSON(t, "image", "ls", "app"), "[]", "imageDetails")
	fails(t, []string{"image", "ls", "nope"}, "image ls: RepositoryNotFoundException")
	fails(t, []string{"image", "describe", "Not An Image"}, `image describe: image "Not An Image"`)
}

func TestPolicyCommands(t *testing.T) {
	startRemote(t)
	ok(t, "repo", "create", "app")
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage"]}]}`
	file := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(file, []byte(policy), 0o600)

	set := asJSON(t, "policy", "set", "app", file)
	jsontest.Expect(t, set, "app", "repositoryName")
	if out := ok(t, "policy", "get", "app"); !strings.Contains(out, `"Sid": "pull"`) {
		t.Errorf("policy get prints the document indented:\n%s", out)
	}
	got := asJSON(t, "policy", "get", "app")
	var doc map[string]any
	if err := json.Unmarshal([]byte(jsontest.Field(t, got, "policyText").(string)), &doc); err != nil {
		t.Errorf("policy get -o json: policyText %v: %v", got, err)
	}
	jsontest.Expect(t, asYAML(t, "policy", "get", "app"), "000000000000", "registryId")
	if out := ok(t, "policy", "rm", "app"); out != "removed the repository policy of app\n" {
		t.Errorf("policy rm: %q", out)
	}
	fails(t, []string{"policy", "get", "app"}, "policy get: RepositoryPolicyNotFoundException")
	fails(t, []string{"policy", "set", "app", `{"Version":"2012-10-17","Statement":[{"Effect":"Permit"}]}`}, "policy set: InvalidParameterException")
	fails(t, []string{"policy", "set", "app", filepath.Join(t.TempDir(), "absent.json")}, "policy set: policy: open ")

	lifecycle := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`
	r := berth(t, lifecycle, "policy", "set", "app", "--lifecycle", "-", "-o", "json")
	if r.err != nil {
		t.Fatalf("policy set --lifecycle -: %v", r.err)
	}
	var put map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &put); err != nil {
		t.Fatalf("policy set --lifecycle -o json: %v\n%s", err, r.stdout)
	}
	jsontest.Expect(t, put, lifecycle, "lifecyclePolicyText")
	jsontest.Expect(t, asJSON(t, "policy", "get", "app", "--lifecycle"), lifecycle, "lifecyclePolicyText")
	if out := ok(t, "policy", "get", "app", "--lifecycle"); !strings.Contains(out, `"countType": "sinceImagePushed"`) {
		t.Errorf("policy get --lifecycle:\n%s", out)
	}
	jsontest.Expect(t, asYAML(t, "policy", "rm", "app", "--lifecycle"), lifecycle, "lifecyclePolicyText")
	fails(t, []string{"policy", "get", "app", "--lifecycle"}, "policy get: LifecyclePolicyNotFoundException")
	if out := ok(t, "policy", "set", "app", "--lifecycle", "file://"+writeTemp(t, lifecycle)); out != "set the lifecycle policy of app\n" {
		t.Errorf("policy set --lifecycle file://: %q", out)
	}
	fails(t, []string{"policy", "set", "app", "--lifecycle", `{"rules":[]}`}, "policy set: InvalidParameterException")
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindingsCommand(t *testing.T) {
	s := startRemote(t)
	ok(t, "repo", "create", "debianish")
	s.push(t, "debianish:1", debianFiles)
	fails(t, []string{"findings", "debianish:1"}, "findings: debianish:1: ScanNotFoundException")

	// --scan starts the scan and waits for it; off a terminal, nothing
	// but the findings is printed.
	r := berth(t, "", "findings", "debianish:1", "--scan")
	if r.err != nil || r.stderr != "" {
		t.Fatalf("findings --scan: %v, stderr %q", r.err, r.stderr)
	}
	for _, want := range []string{": COMPLETE", "SEVERITY  NAME           PACKAGE  VERSION", "HIGH      CVE-2024-0001  libssl3  3.0.11-1~deb12u1", "1 findings: 1 HIGH"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("findings printed\n%s\nwithout %q", r.stdout, want)
		}
	}
	found := asJSON(t, "findings", "debianish:1")
	jsontest.Expect(t, found, "COMPLETE", "imageScanStatus", "status")
	jsontest.Expect(t, found, "1", "imageScanFindings", "findingSeverityCounts", "HIGH")
	jsontest.Expect(t, found, "CVE-2024-0001", "imageScanFindings", "findings", 0, "name")
	jsontest.Expect(t, found, "debianish", "repositoryName")
	jsontest.Expect(t, asYAML(t, "findings", "debianish:1"), "HIGH", "imageScanFindings", "findings", 0, "severity")

	fails(t, []string{"findings", "debianish:1", "--fail-on", "high"}, "findings: debianish:1: 1 findings at or above HIGH")
	ok(t, "findings", "debianish:1", "--fail-on", "CRITICAL")
	fails(t, []string{"findings", "debianish:1", "--fail-on", "dire"}, `--fail-on "dire": one of`)
	fails(t, []string{"findings", "debianish:1", "--scan"}, "findings: debianish:1: LimitExceededException")
	fails(t, []string{"findings", "debianish:nope"}, "findings: debianish:nope: ImageNotFoundException")
}

func TestLoginCommand(t *testing.T) {
	s := startRemote(t)
	dockerConfig := os.Getenv("DOCKER_CONFIG")

	out := ok(t, "login")
	if !strings.HasPrefix(out, "Login Succeeded: "+s.addr+" until ") || !strings.Contains(out, filepath.Join(dockerConfig, "config.json")) {
		t.Errorf("login printed %q", out)
	}
	var cf struct {
		Auths map[string]struct{ Auth string }
	}
	b, _ := os.ReadFile(filepath.Join(dockerConfig, "config.json"))
	json.Unmarshal(b, &cf)
	auth, _ := base64.StdEncoding.DecodeString(cf.Auths[s.addr].Auth)
	user, password, _ := strings.Cut(string(auth), ":")
	if user != "AWS" || catalogStatus(t, s.addr, user, password) != 200 {
		t.Errorf("the login in config.json (%s) is not one the registry accepts", b)
	}

	// --print is the password alone, as aws ecr get-login-password prints it.
	printed := strings.TrimSuffix(ok(t, "login", "--print"), "\n")
	if strings.Contains(printed, "\n") || catalogStatus(t, s.addr, "AWS", printed) != 200 {
		t.Errorf("login --print printed %q, not a password the registry accepts", printed)
	}

	// berth login REGISTRY talks to REGISTRY when nothing else names the
	// endpoint, and saves the login under that name.
	t.Setenv("BERTH_ENDPOINT", "")
	os.Unsetenv("BERTH_ENDPOINT")
	alias := strings.Replace(s.addr, "127.0.0.1", "localhost", 1)
	if out := ok(t, "login", alias); !strings.HasPrefix(out, "Login Succeeded: "+alias) {
		t.Errorf("login %s printed %q", alias, out)
	}
	b, _ = os.ReadFile(filepath.Join(dockerConfig, "config.json"))
	if !strings.Contains(string(b), `"`+alias+`"`) {
		t.Errorf("config.json after login %s: %s", alias, b)
	}
}

// TestRemoteErrors: what goes wrong most often, each said in one line that
// names what failed, with a failing exit.
func TestRemoteErrors(t *testing.T) {
	s := startRemote(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	fails(t, []string{"repo", "ls", "--endpoint", "http://" + closed}, "repo ls: cannot reach berth at http://"+closed+": connect: connection refused")
	fails(t, []string{"login", "--endpoint", "ftp://" + closed}, "login: endpoint: server URL")

	t.Setenv("BERTH_SECRET_ACCESS_KEY", "wrong"+s.secret[5:])
	fails(t, []string{"image", "ls", "app"}, "image ls: http://"+s.addr+" refused access key "+s.id+" (from BERTH_ACCESS_KEY_ID): InvalidSignatureException")
	t.Setenv("BERTH_ACCESS_KEY_ID", "AKIAAAAAAAAAAAAAAAAA")
	fails(t, []string{"repo", "ls"}, "refused access key AKIAAAAAAAAAAAAAAAAA", "UnrecognizedClientException: The security token included in the request is invalid.")
	t.Setenv("BERTH_ACCESS_KEY_ID", "")
	t.Setenv("BERTH_SECRET_ACCESS_KEY", "")
	fails(t, []string{"login", "--print"}, "login: http://"+s.addr+" refused a request with no credentials (found no credentials: set BERTH_ACCESS_KEY_ID", "MissingAuthenticationTokenException")
	t.Setenv("BERTH_ACCESS_KEY_ID", s.id)
	fails(t, []string{"repo", "ls"}, "set both BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY")
	t.Setenv("BERTH_SECRET_ACCESS_KEY", s.secret)

	ok(t, "repo", "create", "app")
	fails(t, []string{"image", "describe", "app:nope"}, "image describe: app:nope: ImageNotFoundException: The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'app'")
}

// TestJSONIsTheWire: -o json prints the members the API's own answer has,
// by the API's names, whatever the command made of pages and batches.
func TestJSONIsTheWire(t *testing.T) {
	s := startRemote(t)
	ok(t, "repo", "create", "app")
	s.push(t, "app:1", debianFiles)
	ok(t, "findings", "app:1", "--scan")
	ok(t, "policy", "set", "app", "--lifecycle", `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":5},"action":{"type":"expire"}}]}`)
	for _, args := range [][]string{
		{"repo", "describe", "app"},
		{"repo", "ls"},
		{"image", "describe", "app:1"},
		{"image", "ls", "app"},
		{"findings", "app:1"},
		{"policy", "get", "app", "--lifecycle"},
	} {
		r := berth(t, "", append(args, "-o", "json", "--debug")...)
		if r.err != nil {
			t.Fatalf("berth %s: %v", strings.Join(args, " "), r.err)
		}
		var printed, wire any
		json.Unmarshal([]byte(r.stdout), &printed)
		if err := json.Unmarshal([]byte(lastResponseBody(r.stderr)), &wire); err != nil {
			t.Fatalf("berth %s --debug: no response body shown: %v\n%s", strings.Join(args, " "), err, r.stderr)
		}
		if got, want := memberNames(printed, ""), memberNames(wire, ""); !slices.Equal(got, want) {
			t.Errorf("berth %s -o json has members\n%v\nthe API answered with\n%v", strings.Join(args, " "), got, want)
		}
	}
}

// lastResponseBody is the body of the last response --debug showed.
func lastResponseBody(debug string) string {
	var body string
	for line := range strings.Lines(debug) {
		if rest, ok := strings.CutPrefix(line, "< {"); ok {
			body = "{" + strings.TrimSpace(rest)
		}
	}
	return body
}

// memberNames lists the paths of every member of a JSON value, lists
// collapsed to their elements ("a[].b").
func memberNames(v any, prefix string) []string {
	var names []string
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "nextToken" {
				continue // the command reads every page
			}
			names = append(names, prefix+k)
			names = append(names, memberNames(e, prefix+k+".")...)
		}
	case []any:
		for _, e := range v {
			names = append(names, memberNames(e, strings.TrimSuffix(prefix, ".")+"[].")...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func TestDebugRedactsSecrets(t *testing.T) {
	s := startRemote(t)
	r := berth(t, "", "login", "--print", "--debug")
	if r.err != nil {
		t.Fatal(r.err)
	}
	password := strings.TrimSpace(r.stdout)
	token := base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
	for name, secret := range map[string]string{"password": password, "token": token, "secret key": s.secret} {
		if strings.Contains(r.stderr, secret) {
			t.Errorf("--debug showed the %s:\n%s", name, r.stderr)
		}
	}
	for _, want := range []string{"> POST /", "> Authorization: <redacted>", "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", "< HTTP/1.1 200 OK", `"authorizationToken":"<redacted>"`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("--debug lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestCompletion(t *testing.T) {
	s := startRemote(t)
	for _, repo := range []string{"app", "api", "web"} {
		ok(t, "repo", "create", repo)
	}
	s.push(t, "app:1", map[string][]byte{"a": []byte("1")})
	s.push(t, "app:2", map[string][]byte{"b": []byte("2")})
	complete := func(args ...string) []string {
		t.Helper()
		out := ok(t, append([]string{"__complete"}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[:len(lines)-1] // the last is the directive
	}
	if got := complete("repo", "describe", "a"); !slices.Equal(got, []string{"api", "app"}) {
		t.Errorf("completing repo describe a: %v", got)
	}
	if got := complete("image", "ls", ""); len(got) != 3 {
		t.Errorf("completing image ls: %v", got)
	}
	if got := complete("image", "describe", "w"); !slices.Equal(got, []string{"web:"}) {
		t.Errorf("completing image describe w: %v", got)
	}
	if got := complete("image", "rm", "app:"); !slices.Equal(got, []string{"app:1", "app:2"}) {
		t.Errorf("completing image rm app: %v", got)
	}
	if got := complete("findings", "app:2"); !slices.Equal(got, []string{"app:2"}) {
		t.Errorf("completing findings app:2: %v", got)
	}
	if got := complete("repo", "ls", "-o", ""); !slices.Equal(got, []string{"table", "json", "yaml"}) {
		t.Errorf("completing -o: %v", got)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if out := ok(t, "completion", shell); !strings.Contains(out, "__complete") {
			t.Errorf("completion %s printed no script calling berth __complete", shell)
		}
	}
}
