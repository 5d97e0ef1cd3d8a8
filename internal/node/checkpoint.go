package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/roam-edge/roam/internal/snapshot"
)

// Durable checkpoints: every running migratable instance is paused now and
// then for a capture (a copy of its state in memory), goes on, and the copy
// is written to its directory while it runs. A node that is killed (or
// crashes) resumes each instance from its latest checkpoint when it starts
// again; what the guest printed after it, it prints again (the logs are cut
// back to their size at the checkpoint), and files it wrote under its
// preopened directories are not rolled back.

// checkpointRef names an instance's checkpoint file and the sizes of its
// logs when it was taken.
type checkpointRef struct {
	File   string    `json:"file"`
	Gen    uint64    `json:"gen"`
	Stdout int64     `json:"stdout"`
	Stderr int64     `json:"stderr"`
	At     time.Time `json:"at"`
}

// checkpointTick is how often the node looks for checkpoints that are due.
const checkpointTick = 200 * time.Millisecond

// checkpointsDue takes the periodic checkpoints that are due at now.
func (n *Node) checkpointsDue(now time.Time) {
	for _, in := range n.all() {
		if !in.checkpointDue(now) {
			continue
		}
		if err := in.checkpointNow(false); err != nil {
			n.logf("instance %s: checkpoint: %v", in.rec.ID, err)
		}
	}
}

// every runs f with the time every d until the node shuts down.
func (n *Node) every(d time.Duration, f func(now time.Time)) {
	n.background.Add(1)
	go func() {
		defer n.background.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-n.quit:
				return
			case now := <-t.C:
				f(now)
			}
		}
	}()
}

// all lists the instances the node holds or held.
func (n *Node) all() []*instance {
	n.mu.Lock()
	defer n.mu.Unlock()
	all := make([]*instance, 0, len(n.instances))
	for _, in := range n.instances {
		all = append(all, in)
	}
	return all
}

// checkpointEvery is the instance's period, from its start request or
// the node's flag; 0 means never.
func (in *instance) checkpointEvery() time.Duration {
	if s := in.rec.CheckpointEvery; s != "" {
		if d, err := parseEvery(s); err == nil {
			return d
		}
	}
	return in.n.cfg.CheckpointEvery
}

// parseEvery parses a checkpoint period: a Go duration, "0" for never.
func parseEvery(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, apiErrorf(codeBadRequest, "checkpoint_every %q: want a duration such as 30s (0: never)", s)
	}
	return d, nil
}

func (in *instance) checkpointDue(now time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rec.Status != statusRunning || !in.rec.Migratable {
		return false
	}
	every := in.checkpointEvery()
	return every > 0 && now.Sub(in.lastCheckpoint) >= every
}

// checkpointNow takes a durable checkpoint of a running instance. The
// guest stops only for the capture; encoding and writing happen while it
// runs. Nothing is written when its memory, globals and logs are as at
// the last checkpoint (resuming from that one is as good). Unless wait,
// it gives up at once when a control call or a move has the instance.
func (in *instance) checkpointNow(wait bool) error {
	snap, logs, seq, err := in.captureRunning(wait)
	if snap == nil || err != nil {
		in.countCheckpoint(err, "")
		return err
	}
	sum := fingerprint(snap, logs)
	in.ckptMu.Lock()
	same := in.snapshotRecord().Checkpoint != nil && sum == in.checkpointSum
	in.ckptMu.Unlock()
	if same {
		in.countCheckpoint(nil, "unchanged")
		return nil
	}
	err = in.saveCheckpoint(snap, logs, seq)
	in.countCheckpoint(err, "written")
	if err != nil {
		return err
	}
	in.ckptMu.Lock()
	if in.savedCapture == seq {
		in.checkpointSum = sum
	}
	in.ckptMu.Unlock()
	return nil
}

// captureRunning pauses a running instance, copies its state and lets it
// go on. It holds in.op only meanwhile, so that a control call or a move
// need not wait for the checkpoint's write. A nil snapshot: nothing to do.
func (in *instance) captureRunning(wait bool) (*snapshot.Snapshot, [2]int64, uint64, error) {
	if wait {
		in.op.Lock()
	} else if !in.op.TryLock() {
		return nil, [2]int64{}, 0, nil // the next tick tries again
	}
	defer in.op.Unlock()
	in.mu.Lock()
	in.lastCheckpoint = time.Now()
	running := in.rec.Status == statusRunning
	in.capturing = running
	in.mu.Unlock()
	if !running {
		return nil, [2]int64{}, 0, nil
	}
	defer func() {
		in.mu.Lock()
		in.capturing = false
		in.mu.Unlock()
	}()
	start := time.Now()
	paused, err := in.halt()
	if err != nil || !paused {
		return nil, [2]int64{}, 0, err
	}
	in.mu.Lock()
	snap, err := in.eng.Capture()
	logs := in.logSizes()
	in.mu.Unlock()
	if goErr := in.goOn(); goErr != nil {
		return nil, logs, 0, errors.Join(err, goErr)
	}
	in.n.metrics.checkpointPause.Observe(time.Since(start).Seconds())
	return snap, logs, in.nextCapture(), err
}

// countCheckpoint counts a checkpoint's result: failed on err, else ok
// (nothing when ok is empty: there was nothing to checkpoint).
func (in *instance) countCheckpoint(err error, ok string) {
	switch {
	case err != nil:
		in.n.metrics.checkpoints.WithLabelValues("failed").Inc()
	case ok != "":
		in.n.metrics.checkpoints.WithLabelValues(ok).Inc()
	}
}

// nextCapture numbers a capture taken for a checkpoint; in.op is held.
func (in *instance) nextCapture() uint64 {
	in.captures++
	return in.captures
}

// fingerprint sums what changes as a guest makes progress.
func fingerprint(s *snapshot.Snapshot, logs [2]int64) uint64 {
	d := xxhash.New()
	_, _ = d.Write(s.Memory)
	var b [16]byte
	for _, g := range s.Globals {
		binary.LittleEndian.PutUint64(b[:8], g.Lo)
		binary.LittleEndian.PutUint64(b[8:], g.Hi)
		_, _ = d.Write(b[:])
	}
	binary.LittleEndian.PutUint64(b[:8], uint64(logs[0]))
	binary.LittleEndian.PutUint64(b[8:], uint64(logs[1]))
	_, _ = d.Write(b[:])
	return d.Sum64()
}

// logSizes are the sizes of the instance's logs.
func (in *instance) logSizes() [2]int64 {
	out, _, _ := in.stdout.state()
	errN, _, _ := in.stderr.state()
	return [2]int64{out, errN}
}

// saveCheckpoint writes snap (capture number seq, taken when the logs had
// the sizes logs) as the instance's checkpoint, then the record that names
// it, then removes the previous one: a crash at any point leaves one
// complete checkpoint named by the record. A capture older than the last
// one written is dropped.
func (in *instance) saveCheckpoint(snap *snapshot.Snapshot, logs [2]int64, seq uint64) error {
	in.ckptMu.Lock()
	defer in.ckptMu.Unlock()
	if seq <= in.savedCapture {
		return nil
	}
	in.mu.Lock()
	gen := uint64(1)
	if in.rec.Checkpoint != nil {
		gen = in.rec.Checkpoint.Gen + 1
	}
	in.mu.Unlock()
	ref := &checkpointRef{File: fmt.Sprintf("checkpoint-%d", gen), Gen: gen, Stdout: logs[0], Stderr: logs[1], At: time.Now().UTC()}
	path := filepath.Join(in.n.instanceDir(in.rec.ID), ref.File)
	if err := snapshot.WriteFile(path, snap); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rec.Status.Terminal() || (in.rec.Status == statusMoved && !in.rec.CommitPending) { // ended or left meanwhile
		os.Remove(path)
		return nil
	}
	old := in.rec.Checkpoint
	in.rec.Checkpoint, in.rec.CheckpointedAt = ref, ref.At
	if err := in.n.saveRecord(&in.rec); err != nil {
		in.rec.Checkpoint = old
		os.Remove(path)
		return err
	}
	in.removeCheckpointFile(old)
	in.savedCapture, in.checkpointSum = seq, 0
	return nil
}

func (in *instance) removeCheckpointFile(ref *checkpointRef) {
	if ref != nil {
		os.Remove(filepath.Join(in.n.instanceDir(in.rec.ID), ref.File))
	}
}

// pauseDurably makes a paused instance durable before its pause is
// acknowledged: its checkpoint is its paused state and its record says
// that a restart keeps it paused. in.op must be held.
func (in *instance) pauseDurably() error {
	in.mu.Lock()
	in.rec.ResumeOnStart = false
	if in.restored || in.eng == nil { // not run since its checkpoint: that one is its state
		err := in.n.saveRecord(&in.rec)
		in.mu.Unlock()
		return err
	}
	snap, err := in.eng.CaptureShared()
	logs := in.logSizes()
	in.mu.Unlock()
	if err != nil {
		return err
	}
	return in.saveCheckpoint(snap, logs, in.nextCapture())
}

// runDurably records that the instance runs: a restart runs it again.
func (in *instance) runDurably() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rec.Status.Terminal() {
		return nil
	}
	in.rec.ResumeOnStart = true
	return in.n.saveRecord(&in.rec)
}

// adoptLegacySnapshot turns the snapshot a node of an earlier version
// kept at its SIGTERM (DIR/instances/ID/snapshot, taken with the logs as
// they are) into the instance's checkpoint.
func (in *instance) adoptLegacySnapshot() error {
	legacy := filepath.Join(in.n.instanceDir(in.rec.ID), "snapshot")
	if in.rec.Checkpoint != nil {
		return nil
	}
	if _, err := os.Stat(legacy); err != nil {
		return nil
	}
	logs := in.logSizes()
	ref := &checkpointRef{File: "checkpoint-1", Gen: 1, Stdout: logs[0], Stderr: logs[1], At: time.Now().UTC()}
	if err := os.Rename(legacy, filepath.Join(in.n.instanceDir(in.rec.ID), ref.File)); err != nil {
		return err
	}
	in.rec.Checkpoint = ref
	return in.n.saveRecord(&in.rec)
}

// errLostArrival: the instance arrived by a migration and the node stopped
// before its first checkpoint here; its source kept a copy.
var errLostArrival = errors.New("arrived by a migration, lost before its first checkpoint here")

// backToSource records that a lost arrival belongs to the node it came
// from again, which runs it from the copy it kept: this node redirects
// there and refuses the epoch it had.
func (in *instance) backToSource() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rec.Status, in.rec.MovedTo, in.rec.Lost, in.rec.ResumeOnStart = statusMoved, in.rec.From, true, false
	in.stdout.end()
	in.stderr.end()
	in.n.logf("instance %s: %v; it goes back to %s", in.rec.ID, errLostArrival, in.rec.From)
	return in.n.saveRecord(&in.rec)
}

// restoreDurable brings the instance back from its latest checkpoint, its
// logs cut back to what they held then; a migratable instance without a
// checkpoint starts again from the beginning (its logs emptied).
func (in *instance) restoreDurable() error {
	if err := in.adoptLegacySnapshot(); err != nil {
		return err
	}
	if ref := in.rec.Checkpoint; ref != nil {
		snap, err := snapshot.ReadFile(filepath.Join(in.n.instanceDir(in.rec.ID), ref.File))
		if err != nil {
			return fmt.Errorf("no checkpoint to resume from: %w", err)
		}
		if err := in.stdout.truncate(ref.Stdout); err != nil {
			return err
		}
		if err := in.stderr.truncate(ref.Stderr); err != nil {
			return err
		}
		return in.restoreFrom(snap)
	}
	if !in.rec.Migratable {
		return errors.New("not migratable, so never checkpointed: it was lost when the node stopped")
	}
	if in.rec.From != "" {
		return errLostArrival
	}
	if len(in.rec.Args) == 0 {
		return errors.New("restored from a snapshot and lost before its first checkpoint")
	}
	if err := in.stdout.truncate(0); err != nil {
		return err
	}
	if err := in.stderr.truncate(0); err != nil {
		return err
	}
	if err := in.n.instantiate(in); err != nil {
		return err
	}
	in.restored, in.rec.Status = true, statusPaused // not run yet: startRun runs it
	return nil
}
