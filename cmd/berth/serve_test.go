package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/config"
)

// startServe runs serve on a free loopback port and returns its address
// and a function that stops it (as SIGTERM would) and returns serve's
// error.
func startServe(t *testing.T, edit func(*config.Config)) (addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	cfg := config.Defaults()
	cfg.Listen = addr
	cfg.DataDir = t.TempDir()
	cfg.Log.Level = "error"
	cfg.Auth.Mode = "none" // these tests are about serving; auth has its own
	cfg.Registry.CreateOnPush = true
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, &cfg) }()
	t.Cleanup(cancel)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr, func() error { cancel(); return <-errc }
}

func TestServeDrainsRequestsInFlight(t *testing.T) {
	addr, stop := startServe(t, nil)
	resp, err := http.Post("http://"+addr+"/v2/drain/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")

	// A PATCH whose body is still arriving when shutdown starts must
	// complete. "Expect: 100-continue" tells us when the handler is
	// running: the server sends 100 Continue when the handler first reads
	// the body.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "first half, second half"
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", loc, addr, len(body))
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	br.ReadString('\n') // the blank line after it
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Shutdown closes the listener first: once a dial fails, it is
	// draining, and our request is in flight.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server did not begin shutting down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	io.WriteString(conn, body)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Range") != "0-22" {
		t.Errorf("PATCH during shutdown: %s, Range %q; want 202, 0-22", resp.Status, resp.Header.Get("Range"))
	}
	resp.Body.Close()
	if err := <-stopped; err != nil {
		t.Errorf("serve returned %v after a clean drain", err)
	}
}

func TestServeTLSWithHTTP2(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	addr, stop := startServe(t, func(c *config.Config) {
		c.TLS.CertFile, c.TLS.KeyFile = certFile, keyFile
	})
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("GET /v2/ over TLS: %s %s; want 200 over HTTP/2", resp.Proto, resp.Status)
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

func TestServeOperationsEndpoints(t *testing.T) {
	addr, stop := startServe(t, nil)
	defer stop()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get(path); code != http.StatusOK {
			t.Errorf("%s: %d", path, code)
		}
	}
	get("/v2/nothing/manifests/latest")
	code, body := get("/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`berth_http_requests_total{method="GET",route="manifest",status="404"} 1`,
		`berth_http_request_duration_seconds_bucket{method="GET",route="base"`,
		`berth_http_response_bytes_total{route="manifest"}`,
		`go_goroutines`,
	} {
		if want == `berth_http_request_duration_seconds_bucket{method="GET",route="base"` {
			get("/v2/")
			_, body = get("/metrics")
		}
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "berth test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeMetricLabelsStayFixed sends requests with methods and paths of
// every shape a client can invent (issue 18: a raw method or path as a
// label value is a series that is never freed) and checks that a second
// round of new names adds no series to any request metric.
func TestServeMetricLabelsStayFixed(t *testing.T) {
	addr, stop := startServe(t, nil)
	defer stop()
	round := func(seed string) {
		long := strings.Repeat("M", 2048) + seed
		for i := range 20 {
			tag := fmt.Sprintf("%s%d", seed, i)
			for _, method := range []string{"GET", "X" + tag, long + tag} {
				for _, path := range []string{
					"/v2/",
					"/v2/" + tag + "/manifests/" + tag,
					"/v2/" + tag + "/blobs/uploads/",
					"/" + tag,
					"/" + strings.Repeat("p", 4096) + tag,
					"/healthz",
					"/",
				} {
					req, err := http.NewRequest(method, "http://"+addr+path, nil)
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("X-Amz-Target", "Service"+tag+".Op")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}
	}
	families := []string{
		"berth_http_requests_total",
		"berth_http_request_duration_seconds_count",
		"berth_http_request_bytes_total",
		"berth_http_response_bytes_total",
	}
	series := func() map[string]int {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n := map[string]int{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			for _, f := range families {
				if strings.HasPrefix(sc.Text(), f+"{") {
					n[f]++
				}
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	round("a")
	series() // the /metrics request itself is a route too
	before := series()
	round("b")
	after := series()
	for _, f := range families {
		if before[f] == 0 || after[f] != before[f] {
			t.Errorf("%s: %d series after the first round of odd requests, %d after the second; want the same, fixed number", f, before[f], after[f])
		}
	}
}
