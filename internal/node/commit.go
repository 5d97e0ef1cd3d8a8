package node

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/roam-edge/roam/internal/snapshot"
)

// commit is the point of no return: once the record saying "moved to the
// destination at the new epoch" is durable, the instance belongs to the
// destination, which runs it on the commit message (or, if that is lost,
// when it asks this node for the outcome).
func (m *outMigration) commit(ctx context.Context) (*MigrateResult, error) {
	in := m.in
	in.mu.Lock()
	before := in.rec
	in.rec.Status, in.rec.MovedTo, in.rec.Epoch = statusMoved, m.to, m.rec.Epoch
	in.rec.Migrations, in.rec.Migration, in.rec.CommitPending = m.rec.Migrations, m.id, true
	err := m.n.saveRecord(&in.rec)
	if err != nil {
		in.rec = before
	}
	haltedAt := in.haltedAt
	in.mu.Unlock()
	if err != nil {
		m.abort()
		return nil, m.resumeHere(failed("record the move", err))
	}
	faultPoint(faultSourceBeforeCommit)
	// Past the record, a client that goes away must not cut the commit short.
	durable, err := m.n.sendCommit(context.WithoutCancel(ctx), m.to, m.id, m.rec.Epoch, 5*time.Second)
	if err == nil {
		faultPoint(faultSourceAfterCommit)
	}
	downtime := time.Since(haltedAt)
	switch {
	case err == nil && durable:
		m.n.finishMove(in)
	case err == nil:
		m.n.resolveLater(in) // keeps this copy until the destination has a durable one
	case isGone(err):
		return nil, m.n.revertMove(in, apiErrorf(codeMigrationFailed,
			"commit: the destination lost the prepared instance (%v); it runs on the source again", err))
	default:
		m.n.resolveLater(in)
		return nil, apiErrorf(codeMigrationFailed, "commit: the move to %s at epoch %d is recorded but %s has not confirmed it runs the instance (%v); it will run there as soon as it answers",
			m.to, m.rec.Epoch, m.to, err)
	}
	m.n.metrics.downtime.Observe(downtime.Seconds())
	return &MigrateResult{ID: m.rec.ID, To: m.to, Epoch: m.rec.Epoch, DowntimeMS: ms(downtime),
		Bytes: m.bytes, Rounds: m.rounds}, nil
}

// sendCommit tells the destination to run the instance, retrying for a
// while; durable: the destination says a restart of it would keep the
// instance (until then the source keeps its copy).
func (n *Node) sendCommit(ctx context.Context, to, mid string, epoch uint64, patience time.Duration) (durable bool, err error) {
	deadline := time.Now().Add(patience)
	h := http.Header{epochHeader: {strconv.FormatUint(epoch, 10)}}
	for {
		var out struct {
			Durable bool `json:"durable"`
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := n.call(cctx, http.MethodPost, to+"/v1/migrations/"+mid+"/commit", nil, h, &out)
		cancel()
		if err == nil || isGone(err) || time.Now().After(deadline) {
			return out.Durable, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// isGone: the destination does not hold the prepared instance (it restarted
// and lost it, or never prepared it), so it will never run it.
func isGone(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == codeGone || ae.Code == codeNotFound)
}

// finishMove drops the source's copy once the destination runs it.
func (n *Node) finishMove(in *instance) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closeEngineLocked()
	in.rec.CommitPending = false
	in.stdout.end()
	in.stderr.end()
	ckpt := in.rec.Checkpoint
	in.rec.Checkpoint = nil
	if err := n.saveRecord(&in.rec); err != nil {
		n.logf("instance %s: save record: %v", in.rec.ID, err)
	}
	in.removeCheckpointFile(ckpt)
	in.notifyLocked()
}

// revertMove takes back an instance whose destination will never run it:
// it runs here again, at an epoch above the one the move used.
func (n *Node) revertMove(in *instance, cause error) error {
	in.mu.Lock()
	in.rec.Status, in.rec.MovedTo, in.rec.Migration, in.rec.CommitPending = statusPaused, "", "", false
	in.rec.Epoch++
	in.rec.ResumeOnStart = true
	err := n.saveRecord(&in.rec)
	in.mu.Unlock()
	if err != nil {
		return errors.Join(cause, err)
	}
	if err := in.goOn(); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// resolveLater keeps asking the destination to run an instance whose move
// is recorded but unconfirmed, until it says it holds it durably, or that
// it cannot (it never got it, or restarted before its first checkpoint):
// then the instance runs here again. Meanwhile this node keeps the paused
// instance, in memory and as its checkpoint (the fallback).
func (n *Node) resolveLater(in *instance) {
	n.background.Add(1)
	go func() {
		defer n.background.Done()
		if err := in.saveFallback(); err != nil {
			n.logf("instance %s: write the fallback copy of a move: %v", in.rec.ID, err)
		}
		for {
			select {
			case <-n.quit:
				return
			case <-time.After(time.Second):
			}
			rec := in.snapshotRecord()
			durable, err := n.sendCommit(context.Background(), rec.MovedTo, rec.Migration, rec.Epoch, 0)
			switch {
			case err == nil && durable:
				n.finishMove(in)
				return
			case err == nil: // it runs there, not yet durably
			case isGone(err) && in.hasEngine():
				n.logf("instance %s: %v", rec.ID, n.revertMove(in, err))
				return
			case isGone(err):
				in.mu.Lock()
				in.endLocked(statusFailed, exitFailed, "lost: the destination of its move restarted before running it, and this node restarted too")
				in.mu.Unlock()
				return
			}
		}
	}()
}

// saveFallback writes the paused state of a moved instance as its
// checkpoint, so that a restart of this node still has it for as long as
// the destination does not hold it durably.
func (in *instance) saveFallback() error {
	in.op.Lock() // the move that recorded it has returned
	defer in.op.Unlock()
	in.mu.Lock()
	eng, restored, pending := in.eng, in.restored, in.rec.CommitPending
	var snap *snapshot.Snapshot
	var err error
	if eng != nil && !restored && pending {
		snap, err = eng.CaptureShared()
	}
	logs := in.logSizes()
	in.mu.Unlock()
	if snap == nil || err != nil {
		return err // already durable (restored from it), or settled
	}
	return in.saveCheckpoint(snap, logs, in.nextCapture())
}

func (in *instance) hasEngine() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.eng != nil
}
