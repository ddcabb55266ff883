package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/auth/secret"
	"github.com/berth-dev/berth/internal/config"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
)

// newDataDir returns a data directory holding an empty index, as berth
// serve leaves it on its first start.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

// runBerth runs a berth command line in-process against dataDir.
func runBerth(t *testing.T, dataDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runBerthAt(t, time.Now, dataDir, args...)
}

// runBerthAt is runBerth with the commands reading the time from now.
func runBerthAt(t *testing.T, now func() time.Time, dataDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := rootCommand(now)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(slices.Clone(args), "--data-dir", dataDir))
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// openTestIndex opens the index of dataDir for the test to inspect.
func openTestIndex(t *testing.T, dataDir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const (
	inlinePolicy  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}`
	invalidPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"ecr:*","Resource":"*"}]}`
)

func TestUserCommands(t *testing.T) {
	dir := newDataDir(t)
	policyFile := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policyFile, []byte(inlinePolicy+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The steps run in order against one index.
	steps := []struct {
		name    string
		args    []string
		wantErr string   // substring of the error; "" for success
		want    []string // substrings of stdout
	}{
		{"no policy", []string{"user", "create", "alice"}, "give at least one --policy: full-access, push-pull, read-only", nil},
		{"unknown policy name", []string{"user", "create", "alice", "--policy", "everything"}, `policy "everything": not one of full-access, push-pull, read-only`, nil},
		{"invalid document", []string{"user", "create", "alice", "--policy", "read-only", "--policy", invalidPolicy}, "--policy #2: invalid policy document: Statement[0].Effect", nil},
		{"bad name", []string{"user", "create", "al ice", "--policy", "read-only"}, `user name "al ice"`, nil},
		{"credentials file without key", []string{"user", "create", "alice", "--policy", "read-only", "--credentials-file", "x"}, "--credentials-file needs --with-key", nil},
		{"create", []string{"user", "create", "alice", "--policy", "push-pull"}, "", []string{"created user alice with policies push-pull"}},
		{"create existing", []string{"user", "create", "alice", "--policy", "read-only"}, `user "alice" already exists`, nil},
		{"create with ARN and documents", []string{"user", "create", "bob", "--policy", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", "--policy", inlinePolicy, "--policy", "file://" + policyFile}, "", []string{"created user bob with policies read-only,inline,inline"}},
		{"list", []string{"user", "list"}, "", []string{"NAME   POLICIES  ", "\nalice  push-pull ", "\nbob    read-only,inline,inline "}},
		{"set-policy", []string{"user", "set-policy", "alice", "--policy", "read-only", "--policy", "full-access"}, "", []string{"user alice now has policies read-only,full-access"}},
		{"set-policy unknown user", []string{"user", "set-policy", "nobody", "--policy", "read-only"}, `no user "nobody"`, nil},
		{"set-policy invalid", []string{"user", "set-policy", "alice", "--policy", "everything"}, `policy "everything": not one of`, nil},
		{"delete", []string{"user", "delete", "bob"}, "", []string{"deleted user bob and its 0 access key(s)"}},
		{"delete again", []string{"user", "delete", "bob"}, `no user "bob"`, nil},
	}
	for _, s := range steps {
		out, _, err := runBerth(t, dir, s.args...)
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%s: error %v; want one containing %q", s.name, err, s.wantErr)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", s.name, w, out)
			}
		}
	}

	users, err := openTestIndex(t, dir).Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Name != "alice" || !slices.Equal(users[0].Policies, []string{"read-only", "full-access"}) {
		t.Errorf("index holds %+v; want alice with read-only, full-access", users)
	}

	out, _, err := runBerth(t, dir, "user", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("user list --json: %v\n%s", err, out)
	}
	if len(listed) != 1 || listed[0]["UserName"] != "alice" || listed[0]["CreateDate"] == nil {
		t.Errorf("user list --json = %s", out)
	}
}

func TestUserCommandsNeedAnIndex(t *testing.T) {
	_, _, err := runBerth(t, filepath.Join(t.TempDir(), "typo"), "user", "list")
	if err == nil || !strings.Contains(err.Error(), "no registry index at") {
		t.Errorf("user list on an empty directory: %v; want no registry index", err)
	}
}

var keyLines = regexp.MustCompile(`^AWS_ACCESS_KEY_ID=(AKIA[A-Z2-7]{16})\nAWS_SECRET_ACCESS_KEY=([A-Za-z0-9+/]{40})\n$`)

// createKey runs args (a command that prints a new key) and returns the key.
func createKey(t *testing.T, dir string, args ...string) secret.AccessKey {
	t.Helper()
	out, errOut, err := runBerth(t, dir, args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	// user create --with-key says which user it created first.
	_, keyOut, _ := strings.Cut(out, "AWS_ACCESS_KEY_ID=")
	m := keyLines.FindStringSubmatch("AWS_ACCESS_KEY_ID=" + keyOut)
	if m == nil {
		t.Fatalf("%v printed %q; want the two AWS_ variable lines", args, out)
	}
	if strings.Contains(errOut, m[2]) {
		t.Errorf("%v wrote the secret to stderr", args)
	}
	return secret.AccessKey{ID: m[1], Secret: m[2]}
}

func TestKeyCommands(t *testing.T) {
	ctx := context.Background()
	dir := newDataDir(t)
	if _, _, err := runBerth(t, dir, "user", "create", "alice", "--policy", "push-pull"); err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(t.TempDir(), "aws", "credentials")
	k := createKey(t, dir, "key", "create", "alice", "--credentials-file", credsFile)

	// The index holds the key, sealed under the master key, for alice.
	index := openTestIndex(t, dir)
	stored, err := index.AccessKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.DataDir = dir
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sealer, err := openSealer(cfg.Auth)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := sealer.OpenAccessKey(stored.ID, stored.SealedSecret)
	if err != nil || opened.Secret != k.Secret || stored.User != "alice" || stored.Status != metadata.AccessKeyActive {
		t.Errorf("index holds %+v (opens to the printed secret: %v, %v); want alice's active key", stored, opened.Secret == k.Secret, err)
	}
	creds, err := os.ReadFile(credsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(creds), "aws_access_key_id = "+k.ID) || !strings.Contains(string(creds), "aws_secret_access_key = "+k.Secret) {
		t.Errorf("credentials file holds %q", creds)
	}

	steps := []struct {
		name    string
		args    []string
		wantErr string
		want    []string
		notWant []string
		status  metadata.AccessKeyStatus // of k afterwards; "" for deleted
	}{
		{"create for unknown user", []string{"key", "create", "nobody"}, `no user "nobody"`, nil, nil, metadata.AccessKeyActive},
		{"list", []string{"key", "list", "alice"}, "", []string{"ID                    STATUS  CREATED", "LAST USED", "\n" + k.ID + "  Active  ", " never\n"}, nil, metadata.AccessKeyActive},
		{"list JSON", []string{"key", "list", "alice", "--json"}, "", []string{`"AccessKeyId": "` + k.ID + `"`, `"Status": "Active"`}, nil, metadata.AccessKeyActive},
		{"list unknown user", []string{"key", "list", "nobody"}, `no user "nobody"`, nil, nil, metadata.AccessKeyActive},
		{"deactivate", []string{"key", "deactivate", k.ID}, "", []string{"access key " + k.ID + " is Inactive"}, nil, metadata.AccessKeyInactive},
		{"list inactive", []string{"key", "list", "alice"}, "", []string{k.ID + "  Inactive  "}, nil, metadata.AccessKeyInactive},
		{"activate", []string{"key", "activate", k.ID}, "", []string{"access key " + k.ID + " is Active"}, nil, metadata.AccessKeyActive},
		{"not an ID", []string{"key", "revoke", "alice"}, `"alice" is not an access key ID`, nil, nil, metadata.AccessKeyActive},
		{"unknown key", []string{"key", "deactivate", "AKIAAAAAAAAAAAAAAAAA"}, "no access key AKIAAAAAAAAAAAAAAAAA", nil, nil, metadata.AccessKeyActive},
		{"revoke", []string{"key", "revoke", k.ID}, "", []string{"revoked access key " + k.ID}, nil, ""},
		{"revoke again", []string{"key", "revoke", k.ID}, "no access key " + k.ID, nil, nil, ""},
		{"list after revoke", []string{"key", "list", "alice"}, "", []string{"ID "}, []string{k.ID}, ""},
	}
	for _, s := range steps {
		out, errOut, err := runBerth(t, dir, s.args...)
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%s: error %v; want one containing %q", s.name, err, s.wantErr)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", s.name, w, out)
			}
		}
		if strings.Contains(out+errOut, k.Secret) {
			t.Errorf("%s printed the secret", s.name)
		}
		for _, w := range s.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%s: output shows %q:\n%s", s.name, w, out)
			}
		}
		got, err := index.AccessKey(ctx, k.ID)
		switch {
		case s.status == "" && !errors.Is(err, metadata.ErrAccessKeyUnknown):
			t.Errorf("after %s: key %+v, %v; want it deleted", s.name, got, err)
		case s.status != "" && (err != nil || got.Status != s.status):
			t.Errorf("after %s: key status %q, %v; want %q", s.name, got.Status, err, s.status)
		}
	}

	// user create --with-key; user delete deletes the user's keys too.
	bk := createKey(t, dir, "user", "create", "bob", "--policy", "read-only", "--with-key")
	if got, err := index.AccessKey(ctx, bk.ID); err != nil || got.User != "bob" {
		t.Errorf("bob's key: %+v, %v", got, err)
	}
	out, _, err := runBerth(t, dir, "user", "delete", "bob")
	if err != nil || !strings.Contains(out, "deleted user bob and its 1 access key(s)") {
		t.Errorf("user delete bob: %q, %v", out, err)
	}
	if _, err := index.AccessKey(ctx, bk.ID); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
		t.Errorf("bob's key after deleting bob: %v; want ErrAccessKeyUnknown", err)
	}
}

// TestKeyChangesReachRunningServer changes keys beside a running server:
// it checks the index on every request, so they take effect at once.
func TestKeyChangesReachRunningServer(t *testing.T) {
	var dir string
	addr, stop := startServe(t, func(c *config.Config) { c.Auth.Mode, dir = "keys", c.DataDir })
	defer stop()
	k := createKey(t, dir, "key", "create", "admin")
	catalog := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/_catalog", nil)
		req.SetBasicAuth(k.ID, k.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, s := range []struct {
		args []string
		want int
	}{
		{nil, http.StatusOK},
		{[]string{"key", "deactivate", k.ID}, http.StatusUnauthorized},
		{[]string{"key", "activate", k.ID}, http.StatusOK},
		{[]string{"key", "revoke", k.ID}, http.StatusUnauthorized},
	} {
		if s.args != nil {
			if _, _, err := runBerth(t, dir, s.args...); err != nil {
				t.Fatalf("%v: %v", s.args, err)
			}
		}
		if got := catalog(); got != s.want {
			t.Errorf("after %v: GET /v2/_catalog with the key: %d; want %d", s.args, got, s.want)
		}
	}
}
