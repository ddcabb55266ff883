package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/berth-dev/berth/internal/client/clienttest"
	"github.com/berth-dev/berth/internal/config"
)

// startAuthServe starts berth with access keys on, and returns its address
// and the administrator's AWS shared credentials file.
func startAuthServe(t *testing.T) (addr, credentialsFile string) {
	t.Helper()
	addr, stop := startServe(t, func(c *config.Config) {
		c.Auth.Mode = "keys"
		credentialsFile = filepath.Join(c.DataDir, "admin-credentials")
	})
	t.Cleanup(func() { stop() })
	return addr, credentialsFile
}

// readCredentialsFile returns the key in an AWS shared credentials file.
func readCredentialsFile(t *testing.T, path string) (id, secret string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " = ")
		switch k {
		case "aws_access_key_id":
			id = v
		case "aws_secret_access_key":
			secret = v
		}
	}
	if id == "" || secret == "" {
		t.Fatalf("%s holds no access key", path)
	}
	return id, secret
}

// catalogStatus is the status of GET /v2/_catalog with Basic user:password.
func catalogStatus(t *testing.T, addr, user, password string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/_catalog", nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCredentialHelperGet(t *testing.T) {
	addr, adminCreds := startAuthServe(t)
	id, secret := readCredentialsFile(t, adminCreds)
	for _, c := range []struct {
		name      string
		env       map[string]string
		serverURL string // stdin
		wantErr   string // the failure written to stdout; "" for success
	}{
		{name: "shared credentials file", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": adminCreds}, serverURL: addr + "\n"},
		{name: "environment", env: map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret}, serverURL: addr},
		{name: "http URL", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": adminCreds}, serverURL: "http://" + addr},
		{name: "BERTH_ENDPOINT", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": adminCreds, "BERTH_ENDPOINT": "http://" + addr}, serverURL: "registry.example.com"},
		{name: "no credentials", serverURL: addr, wantErr: "credentials not found in native keychain\n"},
		{name: "no server URL", env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": adminCreds}, serverURL: " \n", wantErr: "no credentials server URL\n"},
		{name: "unknown key", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAAAAAAAAAAAAAAAAA", "AWS_SECRET_ACCESS_KEY": secret}, serverURL: addr, wantErr: "UnrecognizedClientException"},
		{name: "wrong secret", env: map[string]string{"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": "x" + secret[1:]}, serverURL: addr, wantErr: "getting an authorization token from http://" + addr},
	} {
		t.Run(c.name, func(t *testing.T) {
			clienttest.Isolate(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			err := credentialHelper(context.Background(), "get", strings.NewReader(c.serverURL), &out, &errOut)
			if c.wantErr != "" {
				if !errors.Is(err, errReported) || !strings.Contains(out.String(), c.wantErr) {
					t.Errorf("get: %v, stdout %q; want errReported and %q", err, out.String(), c.wantErr)
				}
				if strings.Contains(out.String()+errOut.String(), secret) {
					t.Errorf("get printed the secret access key")
				}
				return
			}
			if err != nil {
				t.Fatalf("get: %v; stdout %q, stderr %q", err, out.String(), errOut.String())
			}
			var got credentials.Credentials
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("get printed %q: %v", out.String(), err)
			}
			if got.ServerURL != strings.TrimSpace(c.serverURL) || got.Username != "AWS" || got.Secret == "" {
				t.Fatalf("get = %+v; want ServerURL %q, Username AWS and a token", got, c.serverURL)
			}
			if code := catalogStatus(t, addr, "AWS", got.Secret); code != http.StatusOK {
				t.Errorf("GET /v2/_catalog with the token: %d; want 200", code)
			}
		})
	}
	if code := catalogStatus(t, addr, "AWS", "not-a-token"); code != http.StatusUnauthorized {
		t.Errorf("GET /v2/_catalog with a wrong token: %d; want 401", code)
	}
}

func TestCredentialHelperOtherActions(t *testing.T) {
	for _, c := range []struct {
		action, in, want string
		fails            bool
	}{
		{action: "list", want: "{}\n"},
		{action: "store", in: `{"ServerURL":"localhost:5000","Username":"AWS","Secret":"token"}`},
		{action: "erase", in: "localhost:5000\n"},
		{action: "version", want: credentialHelperName + " (berth) " + version + "\n"},
		{action: "bogus", want: credentialHelperName + ": unknown action: bogus\n", fails: true},
	} {
		var out bytes.Buffer
		err := credentialHelper(context.Background(), c.action, strings.NewReader(c.in), &out, &bytes.Buffer{})
		if out.String() != c.want || (err != nil) != c.fails {
			t.Errorf("%s: %q, %v; want %q (fails: %v)", c.action, out.String(), err, c.want, c.fails)
		}
	}
}

// TestCredentialHelperProgram builds berth, links it as
// docker-credential-berth and drives it with the client docker uses.
func TestCredentialHelperProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the berth binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build berth with")
	}
	dir := t.TempDir()
	berth := filepath.Join(dir, "berth")
	if out, err := exec.Command(goBin, "build", "-o", berth, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	helper := filepath.Join(dir, credentialHelperName)
	if err := os.Symlink(berth, helper); err != nil {
		t.Fatal(err)
	}
	program := client.NewShellProgramFunc(helper)
	addr, adminCreds := startAuthServe(t)
	clienttest.Isolate(t)

	if got, err := client.List(program); err != nil || len(got) != 0 {
		t.Errorf("list: %v, %v; want an empty map", got, err)
	}
	if err := client.Store(program, &credentials.Credentials{ServerURL: addr, Username: "AWS", Secret: "token"}); err != nil {
		t.Errorf("store: %v", err)
	}
	if err := client.Erase(program, addr); err != nil {
		t.Errorf("erase: %v", err)
	}
	// With no AWS credentials docker must learn "not found", and so pull
	// anonymously.
	if _, err := client.Get(program, addr); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("get with no AWS credentials: %v; want credentials not found", err)
	}
	// The same, through `berth credential-helper`: the message on stdout
	// only, exit status 1.
	cmd := exec.Command(berth, "credential-helper", "get")
	cmd.Stdin = strings.NewReader(addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || string(out) != "credentials not found in native keychain\n" || strings.Contains(stderr.String(), "berth: credentials") {
		t.Errorf("berth credential-helper get: %v, stdout %q, stderr %q; want exit 1 and docker's not-found message on stdout only", err, out, stderr.String())
	}

	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", adminCreds)
	got, err := client.Get(program, addr)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Username != "AWS" || catalogStatus(t, addr, got.Username, got.Secret) != http.StatusOK {
		t.Errorf("get = user %q; want AWS and a token the registry accepts", got.Username)
	}
}
