//go:build !linux

package miniotest

import "os/exec"

// setParentDeathSignal does nothing where the kernel has no parent-death
// signal; Stop, cleanups and Main still stop the server.
func setParentDeathSignal(cmd *exec.Cmd) {}
