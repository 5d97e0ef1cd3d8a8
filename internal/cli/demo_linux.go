package cli

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel send SIGTERM to a node process when the
// demo dies, even by a signal it cannot catch, so that no node outlives it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
