package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/engine"
)

// instance is one instance held by this node.
type instance struct {
	n  *Node
	op sync.Mutex // one control operation at a time: pause, resume, stop, checkpoint, migrate

	mu       sync.Mutex
	rec      record
	eng      *engine.Instance // nil once the instance ended or left
	mod      *engine.Module
	restored bool          // eng comes from a snapshot and has not run yet
	runDone  chan struct{} // closed when the run goroutine returns
	cancel   context.CancelFunc
	stopping bool
	changed  chan struct{} // closed and replaced at every status change
	haltedAt time.Time     // when the guest last stopped at a safe point
	// capturing: a checkpoint holds the guest paused for a moment. The
	// API shows it running: nobody asked for that pause.
	capturing bool

	lastCheckpoint time.Time  // last periodic checkpoint, or when the instance came here
	captures       uint64     // captures taken for checkpoints (in.op held)
	ckptMu         sync.Mutex // one checkpoint write at a time; guards the two below
	savedCapture   uint64     // the capture of the checkpoint written last
	checkpointSum  uint64     // fingerprint of the last checkpoint's state

	stdout, stderr *logFile

	// memMu keeps the engine instance open while pre-copy reads its memory
	// from another goroutine: closing takes it exclusively.
	memMu sync.RWMutex
}

func (n *Node) newInstance(rec record, truncateLogs bool) (*instance, error) {
	in := &instance{n: n, rec: rec, changed: make(chan struct{}), lastCheckpoint: time.Now()}
	var err error
	dir := n.instanceDir(rec.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if in.stdout, err = openLog(filepath.Join(dir, "stdout"), truncateLogs, n.cfg.MaxLogBytes); err != nil {
		return nil, err
	}
	if in.stderr, err = openLog(filepath.Join(dir, "stderr"), truncateLogs, n.cfg.MaxLogBytes); err != nil {
		in.stdout.close()
		return nil, err
	}
	return in, nil
}

// stdio are the streams of the instance: its logs, and no stdin.
func (in *instance) stdio() engine.Stdio { return engine.Stdio{Stdout: in.stdout, Stderr: in.stderr} }

// view returns a copy of the instance as the API shows it.
func (in *instance) view() Instance {
	in.mu.Lock()
	defer in.mu.Unlock()
	v := in.rec.Instance
	v.Node = in.n.cfg.Name
	if in.capturing && v.Status == statusPaused {
		v.Status = statusRunning
	}
	return v
}

func (in *instance) snapshotRecord() record {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rec
}

// notifyLocked wakes waiters after a status change; in.mu must be held.
func (in *instance) notifyLocked() {
	close(in.changed)
	in.changed = make(chan struct{})
}

// startRun runs the guest in its own goroutine until it ends or pauses.
func (in *instance) startRun() {
	ctx, cancel := context.WithCancel(context.Background())
	in.mu.Lock()
	in.cancel, in.runDone = cancel, make(chan struct{})
	in.rec.Status = statusRunning
	in.restored = false
	eng, done := in.eng, in.runDone
	in.notifyLocked()
	in.mu.Unlock()
	go func() {
		code, err := eng.Run(ctx)
		in.finishRun(code, err)
		cancel()
		close(done)
	}()
}

func (in *instance) finishRun(code uint32, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if errors.Is(err, engine.ErrPaused) {
		in.haltedAt = time.Now()
		in.rec.Status = statusPaused
		in.notifyLocked()
		return
	}
	var trap *engine.TrapError
	switch {
	case in.stopping:
		in.endLocked(statusStopped, exitStopped, "")
	case errors.As(err, &trap):
		in.endLocked(statusExited, exitTrap, trap.Error())
		fmt.Fprintln(in.stderr, trap.Error())
	case err != nil:
		in.endLocked(statusFailed, exitFailed, err.Error())
	default:
		in.endLocked(statusExited, int(code), "")
	}
}

// endLocked records the end of the instance on this node and frees its
// engine instance; in.mu must be held.
func (in *instance) endLocked(status client.Status, code int, msg string) {
	in.rec.Status, in.rec.ExitCode, in.rec.Error = status, code, msg
	in.rec.EndedAt = time.Now().UTC()
	in.n.logf("instance %s %s (exit code %d)", in.rec.ID, status, code)
	in.rec.ResumeOnStart = false
	in.closeEngineLocked()
	in.stdout.end()
	in.stderr.end()
	ckpt := in.rec.Checkpoint
	in.rec.Checkpoint = nil
	if err := in.n.saveRecord(&in.rec); err != nil {
		in.n.logf("instance %s: save record: %v", in.rec.ID, err)
	}
	in.removeCheckpointFile(ckpt)
	in.notifyLocked()
}

// closeEngineLocked detaches the engine instance and closes it once no
// pre-copy round reads its memory any more (memMu), without holding in.mu
// meanwhile: a round can take as long as the network does.
func (in *instance) closeEngineLocked() {
	eng := in.eng
	if eng == nil {
		return
	}
	in.eng = nil
	in.n.background.Add(1)
	go func() {
		defer in.n.background.Done()
		in.memMu.Lock()
		defer in.memMu.Unlock()
		eng.Close(context.Background())
	}()
}

// halt stops a running guest at its next safe point and waits for it. It
// returns false when the guest ended instead.
func (in *instance) halt() (bool, error) {
	in.mu.Lock()
	status, eng, done, migratable := in.rec.Status, in.eng, in.runDone, in.rec.Migratable
	in.mu.Unlock()
	switch {
	case status == statusPaused:
		return true, nil
	case status != statusRunning:
		return false, apiErrorf(codeConflict, "instance %s is %s", in.rec.ID, status)
	case !migratable:
		return false, apiErrorf(codeConflict, "instance %s is not migratable: it cannot pause", in.rec.ID)
	}
	eng.Pause()
	<-done
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rec.Status == statusPaused, nil
}

// goOn runs a paused instance again, in place or from its restored state.
func (in *instance) goOn() error {
	in.mu.Lock()
	eng, restored, status := in.eng, in.restored, in.rec.Status
	in.mu.Unlock()
	if status != statusPaused || eng == nil {
		return apiErrorf(codeConflict, "instance %s is %s", in.rec.ID, status)
	}
	if !restored {
		if err := eng.Continue(); err != nil {
			return err
		}
	}
	in.startRun()
	return nil
}

// stop ends the instance: a migratable one stops at a safe point, another
// through its context (the runtime was made with CloseOnCancel).
func (in *instance) stop() error {
	in.mu.Lock()
	status, migratable, cancel, done := in.rec.Status, in.rec.Migratable, in.cancel, in.runDone
	in.stopping = true
	in.mu.Unlock()
	switch {
	case status == statusRunning && !migratable:
		cancel()
		select {
		case <-done:
			return nil
		case <-time.After(10 * time.Second):
			return apiErrorf(codeInternal, "instance %s did not stop within 10 s of its cancellation", in.rec.ID)
		}
	case status == statusRunning:
		if _, err := in.halt(); err != nil {
			return err
		}
	case status != statusPaused:
		return apiErrorf(codeConflict, "instance %s is %s", in.rec.ID, status)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rec.Status == statusPaused {
		in.endLocked(statusStopped, exitStopped, "")
	}
	return nil
}

// wait blocks until the instance is terminal or moved, or ctx ends.
func (in *instance) wait(ctx context.Context) (Instance, error) {
	for {
		in.mu.Lock()
		done := in.rec.Status.Terminal() || in.rec.Status == statusMoved
		ch := in.changed
		in.mu.Unlock()
		if done {
			return in.view(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Instance{}, ctx.Err()
		}
	}
}
