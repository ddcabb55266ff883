package miniotest

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill the server when the thread that
// started it exits, so no server outlives a test binary that dies.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
