package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is one registry process under test.
type server struct {
	label   string // column heading in the report
	base    string // http://127.0.0.1:PORT
	ready   string // path that answers 200 once the server is up
	dir     string // this server's temp root (storage, config, log)
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
	reg     *regClient
}

// freePort asks the kernel for an unused loopback port. There is a small
// window between closing the listener and the server binding it; start
// retries on a bind failure.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startOnFreePort starts a server with start on a free loopback address,
// retried on a new one if another process takes the port first.
func startOnFreePort(ctx context.Context, start func(addr string) (*server, error)) (*server, error) {
	return startWithRetry(ctx, func() (*server, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		return start(fmt.Sprintf("127.0.0.1:%d", port))
	})
}

// makeDataDir creates and returns root/data, a server's storage.
func makeDataDir(root string) (string, error) {
	data := filepath.Join(root, "data")
	return data, os.MkdirAll(data, 0o755)
}

// startBerth runs `berth serve --no-auth --listen 127.0.0.1:PORT --data-dir
// DIR`: open, like the reference registry it is compared with. The cost of
// authentication is measured on its own (auth.BenchmarkManifestHEAD).
func startBerth(ctx context.Context, label, bin, root string) (*server, error) {
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		data, err := makeDataDir(root)
		if err != nil {
			return nil, err
		}
		return spawnEnv(ctx, label, root, "/healthz", addr, berthEnv(), bin, "serve", "--no-auth", "--listen", addr, "--data-dir", data)
	})
}

// berthEnv is the environment of a berth the bench starts, plus extra: a
// push creates its repository, as it does on the reference registry (berth,
// like ECR, refuses it by default).
func berthEnv(extra ...string) []string {
	return childEnv(append([]string{"BERTH_REGISTRY_CREATE_ON_PUSH=true"}, extra...)...)
}

// distributionConfig is the reference registry's configuration around the
// section of its storage driver: deletes enabled, loopback only, no auth,
// warn-level logs, no access log, the stock in-memory blob descriptor cache
// (as in the Debian package's default config), no redis and no upload
// purging.
func distributionConfig(driver, addr string) string {
	return `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
` + driver + `  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ` + addr + `
  secret: berth-bench-not-a-secret
`
}

// startDistribution runs `docker-registry serve CONFIG.yml`.
func startDistribution(ctx context.Context, label, bin, root string) (*server, error) {
	return startOnFreePort(ctx, func(addr string) (*server, error) {
		data, err := makeDataDir(root)
		if err != nil {
			return nil, err
		}
		cfg := filepath.Join(root, "config.yml")
		driver := fmt.Sprintf("  filesystem:\n    rootdirectory: %s\n", data)
		if err := os.WriteFile(cfg, []byte(distributionConfig(driver, addr)), 0o644); err != nil {
			return nil, err
		}
		return spawn(ctx, label, root, "/v2/", addr, bin, "serve", cfg)
	})
}

// startWithRetry tries a start up to three times, for the rare case that
// another process took the port between freePort and the server's bind.
func startWithRetry(ctx context.Context, start func() (*server, error)) (*server, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var s *server
		s, err = start()
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			return nil, err
		}
	}
	return nil, err
}

var errExitedEarly = errors.New("server exited before it was ready")

func spawn(ctx context.Context, label, root, ready, addr, bin string, args ...string) (*server, error) {
	return spawnEnv(ctx, label, root, ready, addr, nil, bin, args...)
}

// spawnEnv starts bin with args in root, with environment env (nil: the
// bench's own), and waits until GET ready on addr answers 200.
func spawnEnv(ctx context.Context, label, root, ready, addr string, env []string, bin string, args ...string) (*server, error) {
	logPath := filepath.Join(root, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Own process group, so stop reaches any children; killed if the bench
	// itself dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{
		label:   label,
		base:    "http://" + addr,
		ready:   ready,
		dir:     root,
		logPath: logPath,
		cmd:     cmd,
		done:    make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	s.reg = newRegClient(s.base)
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls the readiness path every 50 ms, for at most timeout.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s: %w (%v); log tail:\n%s", s.label, errExitedEarly, s.waitErr, s.logTail(30))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+s.ready, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s: GET %s not 200 within %s; log tail:\n%s", s.label, s.ready, timeout, s.logTail(30))
}

// alive reports an error if the process has exited.
func (s *server) alive() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s exited (%v); log tail:\n%s", s.label, s.waitErr, s.logTail(30))
	default:
		return nil
	}
}

// stat names the server's process for /proc reads.
func (s *server) stat() procStat { return procStat{label: s.label, pid: s.cmd.Process.Pid} }

// peakRSS returns the server's VmHWM (peak resident set size) in KiB.
func (s *server) peakRSS() (int64, error) {
	if err := s.alive(); err != nil {
		return 0, err
	}
	return s.stat().peakRSS()
}

// stop sends SIGTERM to the server's process group, then SIGKILL after 10 s.
func (s *server) stop() {
	if s == nil || s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
	}
	s.reg.close()
}

// logTail returns the last n lines of the server's log.
func (s *server) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// childEnv is the bench's environment without settings meant for another
// berth, MinIO or S3 client, plus extra (whose keys replace the bench's).
func childEnv(extra ...string) []string {
	drop := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || strings.HasPrefix(k, "BERTH_") || strings.HasPrefix(k, "MINIO_") || strings.HasPrefix(k, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
