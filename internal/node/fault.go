package node

import (
	"io"
	"os"
	"syscall"
)

// Fault points: with ROAM_FAULT=<point> in its environment, a node process
// kills itself (SIGKILL, like kill -9) when it reaches that step of the
// migration protocol. The fault tests use them to kill either side at an
// exact step, which timing from outside cannot do reliably.
const (
	faultDestPrecopy        = "dest-precopy"         // destination: on the first pre-copy round
	faultDestStopCopy       = "dest-stopcopy"        // destination: halfway through receiving the final state
	faultDestBeforeAck      = "dest-before-ack"      // destination: prepared, before it answers
	faultSourceBeforeCommit = "source-before-commit" // source: move recorded, commit not sent
	faultSourceAfterCommit  = "source-after-commit"  // source: destination runs it, source not yet cleaned up
	faultDestAfterCommit    = "dest-after-commit"    // destination: commit acknowledged, no checkpoint yet
	faultSourcePrecopy      = "source-precopy"       // source: after the first pre-copy round
	faultSourceAfterPause   = "source-after-pause"   // source: guest paused, final state not sent
)

var fault = os.Getenv("ROAM_FAULT")

// faultPoint dies here if ROAM_FAULT names this point.
func faultPoint(point string) {
	if fault == point {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

// dieAfter reads n bytes of the final state, then dies (dest-stopcopy).
type dieAfter struct {
	r io.Reader
	n int
}

func (d *dieAfter) Read(p []byte) (int, error) {
	if d.n <= 0 {
		faultPoint(faultDestStopCopy)
	}
	k, err := d.r.Read(p[:min(len(p), max(d.n, 1))])
	d.n -= k
	return k, err
}
