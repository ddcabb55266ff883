package miniotest

import "testing"

// A server launched for a program that is not a test: it answers its
// client, has a process to read, and says when it is gone.
func TestLaunch(t *testing.T) {
	bin := requireMinio(t)
	s, err := Launch(bin, t.TempDir())
	if err != nil {
		t.Fatalf("Launch: %v\n%s", err, s.Output())
	}
	defer s.Kill()
	if s.Pid() == 0 || s.Alive() != nil {
		t.Fatalf("launched server: pid %d, alive %v", s.Pid(), s.Alive())
	}
	c, err := s.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListBuckets(t.Context()); err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	s.Kill()
	if s.Pid() != 0 || s.Alive() == nil {
		t.Errorf("killed server: pid %d, alive %v", s.Pid(), s.Alive())
	}
}
