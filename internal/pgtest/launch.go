package pgtest

import (
	"context"
	"fmt"
	"strings"
	"syscall"
)

// Launch starts a server for a caller that is not a test (the bench), as
// Start does for a test, then applies settings (name → value, written
// with ALTER SYSTEM) and restarts it when there are any, since some, like
// shared_preload_libraries, take effect only at start. The caller stops it
// with Stop, which also removes its cluster.
func Launch(settings map[string]string) (*Server, error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	s, err := start(bin)
	if err != nil {
		return nil, err
	}
	if len(settings) == 0 {
		return s, nil
	}
	for name, value := range settings {
		q := fmt.Sprintf("ALTER SYSTEM SET %s = '%s'", name, strings.ReplaceAll(value, "'", "''"))
		if err := s.exec(context.Background(), q); err != nil {
			s.Stop()
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	<-s.done
	s.cmd = nil
	if err := s.run(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// CreateDatabase creates an empty database called name and returns its
// connection string; Stop removes it with the cluster.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := s.exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return s.DSN(name), nil
}

// Pid is the postmaster's process id, which is also the process group
// of every backend it forks (the server runs in a group of its own).
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
