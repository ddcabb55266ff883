// Package pgtest runs real PostgreSQL servers for the tests of berth's
// PostgreSQL index: each server is its own cluster, made by initdb in a
// temporary directory and run by the postgres program on 127.0.0.1 on a
// free port, so nothing depends on a system service.
//
// PostgreSQL refuses to run as root. When the tests run as root (as on
// the test machine) the cluster belongs to the postgres account that
// Debian's package creates, and initdb and postgres run as it.
//
// Shared gives every test of a test binary the same server, started once;
// such tests keep apart by using their own databases (NewDatabase). A
// package that calls Shared runs its tests through Main:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The programs are looked up in PATH and then in Debian's
// /usr/lib/postgresql/*/bin, where scripts/test installs them. When they
// are missing a test is skipped, or failed when the CI environment
// variable is set, since CI must run every test.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// readyTimeout bounds how long a start may take: a second or two, with a
// margin for a machine busy with parallel test binaries.
const readyTimeout = 60 * time.Second

// superuser is the role initdb makes; the tests connect as it.
const superuser = "berth"

// Server is one running PostgreSQL cluster.
type Server struct {
	dir  string // the cluster's data and log, removed by Stop
	port int
	bin  string              // the postgres program
	cred *syscall.Credential // whom it runs as; nil: this process's user
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	inMain     bool
)

// Shared returns the test binary's server, starting it on first use. It
// stays up until Main stops it after the last test.
func Shared(t testing.TB) *Server {
	t.Helper()
	if !inMain {
		t.Fatal("pgtest.Shared needs the package's tests to run through pgtest.Main: add func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	bin := requirePostgres(t)
	sharedOnce.Do(func() { shared, sharedErr = start(bin) })
	if sharedErr != nil {
		t.Fatalf("starting PostgreSQL: %v", sharedErr)
	}
	return shared
}

// Start gives the test a server of its own, stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := start(requirePostgres(t))
	if err != nil {
		t.Fatalf("starting PostgreSQL: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Main runs the tests, stops the shared server if one was started, removes
// its cluster, and exits with the tests' exit code. Call it from TestMain.
func Main(m interface{ Run() int }) {
	inMain = true
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// NewDatabase creates an empty database on the server and returns its
// connection string; the database is dropped when the test ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "test_" + randomHex(8)
	if err := s.exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE: a store the test forgot to close must not keep it.
		if err := s.exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// DSN is the connection string of database name on the server.
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, name)
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *Server) exec(ctx context.Context, query string) error {
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, query)
	return err
}

// Stop shuts the server down (a fast shutdown: sessions are ended) and
// removes its cluster.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
		s.cmd = nil
	}
	os.RemoveAll(s.dir)
}

// Restart stops the server's process and starts it again on the same port
// and cluster: what a replica sees when its database restarts.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Down(t)
	s.Up(t)
}

// Down stops the server's process (a fast shutdown), keeping its cluster
// for Up: the database is gone until then.
func (s *Server) Down(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGINT)
		<-s.done
		s.cmd = nil
	}
}

// Up starts the server's process again after Down, on the same port.
func (s *Server) Up(t testing.TB) {
	t.Helper()
	if err := s.run(); err != nil {
		t.Fatalf("restarting PostgreSQL: %v", err)
	}
}

// start makes a new cluster and runs a server on it.
func start(bin string) (*Server, error) {
	owner, err := clusterOwner()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "berth-pgtest-")
	if err != nil {
		return nil, err
	}
	if owner != nil {
		if err := os.Chown(dir, int(owner.Uid), int(owner.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s := &Server{dir: dir, bin: filepath.Join(bin, "postgres"), cred: owner}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", s.data(), "-U", superuser,
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: owner}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if s.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.run(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// run starts the postgres process and waits until it accepts connections.
func (s *Server) run() error {
	log, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin, "-D", s.data(), "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		// A throwaway cluster: durability buys nothing, speed does.
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()

	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := s.exec(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited: %s", s.Output())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %v\n%s", readyTimeout, err, s.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Output is the server's log so far, for a failure message.
func (s *Server) Output() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return string(b)
}

// clusterOwner is the account initdb and postgres run as: nil (this one)
// unless this is root, which PostgreSQL refuses; then Debian's postgres.
func clusterOwner() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and no postgres account to run PostgreSQL as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// requirePostgres returns the directory of initdb and postgres. If there
// is none, it skips the test, or fails it when CI is set.
func requirePostgres(t testing.TB) string {
	t.Helper()
	dir, err := findPostgres()
	if err != nil {
		if inCI() {
			t.Fatalf("%v; scripts/test installs it (CI is set, so every component is required)", err)
		}
		t.Skipf("%v; scripts/test installs it", err)
	}
	return dir
}

// findPostgres finds the directory that holds both initdb and postgres:
// Debian keeps them out of PATH, in /usr/lib/postgresql/VERSION/bin (the
// newest version wins).
var findPostgres = sync.OnceValues(func() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return version(b) - version(a) })
	dirs = append(dirs, versions...)
	for _, d := range dirs {
		if executable(filepath.Join(d, "initdb")) && executable(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL (initdb and postgres) not found in PATH or /usr/lib/postgresql/*/bin")
})

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// inCI reports whether the CI environment variable asks for the strict mode
// in which a missing component fails a test instead of skipping it.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}
