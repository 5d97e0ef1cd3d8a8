package node

import (
	"os"

	"github.com/roam-edge/roam/internal/engine"
	"path/filepath"
	"strings"
	"time"
)

// startJanitor forgets, now and then, what a long-lived node would keep
// for ever otherwise: instances that ended long ago (--keep-finished) and
// modules no instance uses (--module-grace).
func (n *Node) startJanitor() {
	every := time.Minute
	for _, d := range []time.Duration{n.cfg.KeepFinished, n.cfg.ModuleGrace} {
		if d > 0 {
			every = min(every, max(d/4, 10*time.Millisecond))
		}
	}
	n.every(every, func(now time.Time) {
		if n.cfg.KeepFinished > 0 {
			n.pruneFinished(now.Add(-n.cfg.KeepFinished))
		}
		if n.cfg.ModuleGrace > 0 {
			n.collectModules(now.Add(-n.cfg.ModuleGrace))
		}
	})
}

// pruneFinished forgets the instances that ended before cutoff: records,
// logs and anything else in their directories. Moved instances stay: they
// redirect clients and remember the epoch the instance left at.
func (n *Node) pruneFinished(cutoff time.Time) {
	n.mu.Lock()
	var old []*instance
	for id, in := range n.instances {
		rec := in.snapshotRecord()
		if rec.Status.Terminal() && !rec.EndedAt.IsZero() && rec.EndedAt.Before(cutoff) {
			delete(n.instances, id)
			old = append(old, in)
		}
	}
	n.mu.Unlock()
	for _, in := range old {
		in.stdout.close()
		in.stderr.close()
		if err := os.RemoveAll(n.instanceDir(in.rec.ID)); err != nil {
			n.logf("instance %s: prune: %v", in.rec.ID, err)
		}
	}
	// Commit markers of migrations into this node answer a source that
	// retries its commit after a restart; not an hour later.
	markers, _ := filepath.Glob(filepath.Join(n.cfg.Dir, "migrations", "*.committed"))
	for _, m := range markers {
		if fi, err := os.Stat(m); err == nil && fi.ModTime().Before(cutoff) && os.Remove(m) == nil {
			n.mu.Lock()
			delete(n.done, strings.TrimSuffix(filepath.Base(m), ".committed"))
			n.mu.Unlock()
		}
	}
}

// collectModules deletes the modules of the store that no instance uses
// and that were not put or used since cutoff, with their instrumented and
// compiled code. A module is in use while an instance that may run again
// holds it (running, paused, or moved but unconfirmed), while a migration
// into this node holds it, and while a start, restore or migration
// begin is loading it (pinned).
func (n *Node) collectModules(cutoff time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	used := map[engine.Digest]bool{}
	for d := range n.pins {
		used[d] = true
	}
	for key, l := range n.modules {
		select {
		case <-l.done:
		default:
			used[key.digest] = true // being loaded
		}
	}
	var recs []record
	for _, in := range n.instances {
		recs = append(recs, in.snapshotRecord())
	}
	for _, inc := range n.incoming {
		recs = append(recs, inc.in.snapshotRecord())
	}
	for _, rec := range recs {
		if d, err := parseDigest(rec.Module); err == nil && !rec.Status.Terminal() && (rec.Status != statusMoved || rec.CommitPending) {
			used[d] = true
		}
	}
	for _, m := range n.rt.Store().List() {
		if used[m.Digest] || !m.ModTime.Before(cutoff) {
			continue
		}
		delete(n.modules, moduleKey{m.Digest, true})
		delete(n.modules, moduleKey{m.Digest, false})
		if err := n.rt.Forget(m.Digest); err != nil {
			n.logf("module %s: delete: %v", m.Digest, err)
			continue
		}
		n.logf("module %s deleted: no instance used it for %v", m.Digest, n.cfg.ModuleGrace)
	}
}

// pin keeps module d from garbage collection until unpin, and marks it
// used now.
func (n *Node) pin(d engine.Digest) {
	n.mu.Lock()
	n.pins[d]++
	n.mu.Unlock()
	n.rt.Store().Touch(d)
}

func (n *Node) unpin(d engine.Digest) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pins[d]--; n.pins[d] <= 0 {
		delete(n.pins, d)
	}
}
