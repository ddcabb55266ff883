package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/client/clienttest"
)

// signer is an HTTP server that answers every ECR call with an ECR error
// and records the access key that signed each request ("" if unsigned).
type signer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []string
}

func newSigner(t *testing.T) *signer {
	s := &signer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := ""
		if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
			key, _, _ = strings.Cut(cred, "/")
		}
		s.mu.Lock()
		s.keys = append(s.keys, key)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"RepositoryNotFoundException","message":"The repository with name 'x' does not exist"}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *signer) lastKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

func TestCredentialsPrecedence(t *testing.T) {
	srv := newSigner(t)
	for _, c := range []struct {
		name    string
		env     map[string]string
		wantKey string
		wantErr string
	}{
		{name: "none", wantKey: ""},
		{name: "AWS", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIAAWSAWSAWSAWSAWS2", "AWS_SECRET_ACCESS_KEY": "s"}, wantKey: "AKIAAWSAWSAWSAWSAWS2"},
		{name: "BERTH before AWS", env: map[string]string{
			"AWS_ACCESS_KEY_ID": "AKIAAWSAWSAWSAWSAWS2", "AWS_SECRET_ACCESS_KEY": "s",
			"BERTH_ACCESS_KEY_ID": "AKIABERTHBERTHBERTH2", "BERTH_SECRET_ACCESS_KEY": "t",
		}, wantKey: "AKIABERTHBERTHBERTH2"},
		{name: "half of BERTH", env: map[string]string{"BERTH_ACCESS_KEY_ID": "AKIABERTHBERTHBERTH2"}, wantErr: "set both BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clienttest.Isolate(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			cl, err := New(t.Context(), Options{Endpoint: srv.URL})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("New: %v; want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (cl.Anonymous() != nil) != (c.wantKey == "") || (cl.Anonymous() != nil && !errors.Is(cl.Anonymous(), ErrNoCredentials)) {
				t.Errorf("Anonymous() = %v with key %q", cl.Anonymous(), c.wantKey)
			}
			cl.ECR().DescribeRepositories(t.Context(), &ecr.DescribeRepositoriesInput{})
			if got := srv.lastKey(); got != c.wantKey {
				t.Errorf("signed by %q; want %q", got, c.wantKey)
			}
		})
	}
}

func TestEndpointResolution(t *testing.T) {
	clienttest.Isolate(t)
	for _, c := range []struct{ flag, env, want string }{
		{"", "", "http://localhost:5000"},
		{"", "http://10.0.0.1:5000", "http://10.0.0.1:5000"},
		{"registry.example.com", "http://10.0.0.1:5000", "https://registry.example.com"},
		{"127.0.0.1:5001", "", "http://127.0.0.1:5001"},
	} {
		t.Setenv("BERTH_ENDPOINT", c.env)
		cl, err := New(t.Context(), Options{Endpoint: c.flag})
		if err != nil || cl.Endpoint() != c.want || cl.AWSConfig().BaseEndpoint == nil || *cl.AWSConfig().BaseEndpoint != c.want {
			t.Errorf("endpoint %q, BERTH_ENDPOINT %q: %v, %v; want %s", c.flag, c.env, cl, err, c.want)
		}
	}
	if _, err := New(t.Context(), Options{Endpoint: "ftp://x"}); err == nil {
		t.Errorf("an ftp endpoint was accepted")
	}
}

func TestRegistry(t *testing.T) {
	clienttest.Isolate(t)
	cl, err := New(t.Context(), Options{Endpoint: "https://registry.example.com:8443"})
	if err != nil || cl.Registry() != "registry.example.com:8443" {
		t.Errorf("Registry() = %q, %v", cl.Registry(), err)
	}
}

func TestExplain(t *testing.T) {
	clienttest.Isolate(t)
	t.Setenv("BERTH_ACCESS_KEY_ID", "AKIABERTHBERTHBERTH2")
	t.Setenv("BERTH_SECRET_ACCESS_KEY", "secret")
	call := func(endpoint string) error {
		cl, err := New(t.Context(), Options{Endpoint: endpoint})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cl.ECR().DescribeRepositories(t.Context(), &ecr.DescribeRepositoriesInput{})
		return cl.Explain(err)
	}

	apiErr := call(newSigner(t).URL)
	var api smithy.APIError
	if apiErr.Error() != "RepositoryNotFoundException: The repository with name 'x' does not exist" || !errors.As(apiErr, &api) {
		t.Errorf("an API error reads %q (and unwraps to an APIError: %v)", apiErr, errors.As(apiErr, &api))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	if err := call(closed); err.Error() != "cannot reach berth at "+closed+": connect: connection refused" {
		t.Errorf("a closed port: %q", err)
	}

	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<html>not here</html>", http.StatusNotFound)
	}))
	defer web.Close()
	if err := call(web.URL); !strings.HasPrefix(err.Error(), web.URL+" answered HTTP 404, not as berth's API answers") {
		t.Errorf("a web server: %q", err)
	}

	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}`))
	}))
	defer refused.Close()
	want := refused.URL + " refused access key AKIABERTHBERTHBERTH2 (from BERTH_ACCESS_KEY_ID): UnrecognizedClientException: The security token included in the request is invalid."
	if err := call(refused.URL); err.Error() != want {
		t.Errorf("refused credentials: %q\nwant %q", err, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cl, _ := New(t.Context(), Options{Endpoint: refused.URL})
	_, err = cl.ECR().DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err := cl.Explain(err); err.Error() != "interrupted" || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v", err)
	}
	plain := errors.New("plain")
	if cl.Explain(plain) != plain || cl.Explain(nil) != nil {
		t.Errorf("Explain changed an error that is not the SDK's")
	}
}

func TestLoginDecodesTheToken(t *testing.T) {
	clienttest.Isolate(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"authorizationData": []map[string]any{{
			"authorizationToken": "QVdTOnBhc3N3b3Jk", // AWS:password
			"expiresAt":          1796432449.5,
			"proxyEndpoint":      "http://" + r.Host,
		}}})
	}))
	defer srv.Close()
	cl, err := New(t.Context(), Options{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	l, err := cl.Login(t.Context())
	if err != nil || l.Username != "AWS" || l.Password != "password" || l.ExpiresAt.Unix() != 1796432449 {
		t.Errorf("Login() = %+v, %v", l, err)
	}
}
