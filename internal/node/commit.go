package node

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"
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
	err = m.n.sendCommit(context.WithoutCancel(ctx), m.to, m.id, 5*time.Second)
	if err == nil {
		faultPoint(faultSourceAfterCommit)
	}
	downtime := time.Since(haltedAt)
	switch {
	case err == nil:
		m.n.finishMove(in)
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

// sendCommit tells the destination to run the instance, retrying for a while.
func (n *Node) sendCommit(ctx context.Context, to, mid string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := n.call(cctx, http.MethodPost, to+"/v1/migrations/"+mid+"/commit", nil, nil, nil)
		cancel()
		if err == nil || isGone(err) || time.Now().After(deadline) {
			return err
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
	if err := n.saveRecord(&in.rec); err != nil {
		n.logf("instance %s: save record: %v", in.rec.ID, err)
	}
	os.Remove(n.snapshotPath(in.rec.ID))
	in.notifyLocked()
}

// revertMove takes back an instance whose destination will never run it:
// it runs here again, at an epoch above the one the move used.
func (n *Node) revertMove(in *instance, cause error) error {
	in.mu.Lock()
	in.rec.Status, in.rec.MovedTo, in.rec.Migration, in.rec.CommitPending = statusPaused, "", "", false
	in.rec.Epoch++
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
// is recorded but unconfirmed, until it does or says it cannot.
func (n *Node) resolveLater(in *instance) {
	n.background.Add(1)
	go func() {
		defer n.background.Done()
		for {
			select {
			case <-n.quit:
				return
			case <-time.After(time.Second):
			}
			rec := in.snapshotRecord()
			err := n.sendCommit(context.Background(), rec.MovedTo, rec.Migration, 0)
			switch {
			case err == nil:
				n.finishMove(in)
				return
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

func (in *instance) hasEngine() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.eng != nil
}
