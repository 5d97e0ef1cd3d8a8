package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/atomicfile"
	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/snapshot"
)

// beginRequest opens a migration on the destination.
type beginRequest struct {
	Migration string `json:"migration"`
	Source    string `json:"source"`
	Record    record `json:"instance"`
}

// incoming is a migration into this node.
type incoming struct {
	mu        sync.Mutex // one request of the migration at a time
	id        string
	source    string
	in        *instance // holds the logs as they arrive and the staged engine instance
	prepared  bool
	committed bool

	preparedAt time.Time
	inDoubt    bool // prepared for longer than cfg.InDoubtAfter without an outcome (inc.mu)
}

// preparedMarker is written when a migration is prepared, so that a
// restart knows what it held (its state was in memory only).
func (n *Node) preparedMarker(mid string) string {
	return filepath.Join(n.cfg.Dir, "migrations", mid+".json")
}

// begin checks that this node may take the instance, then fetches and
// compiles its module ahead while the source keeps running.
func (n *Node) begin(ctx context.Context, req beginRequest) error {
	rec := req.Record
	if req.Migration == "" || req.Source == "" || rec.ID == "" || rec.Epoch == 0 {
		return apiErrorf(codeBadRequest, "a migration needs an id, a source and an instance with an epoch")
	}
	if err := checkMigrationID(req.Migration); err != nil {
		return err
	}
	if err := checkInstanceID(rec.ID); err != nil {
		return err
	}
	// The source is called back (module, outcome) with the peer token.
	if !n.members.has(req.Source) {
		return notAPeer(req.Source, "source")
	}
	if err := n.replaceStale(rec.ID); err != nil {
		return err
	}
	if err := n.checkEpoch(rec.ID, rec.Epoch); err != nil {
		return err
	}
	if rec.MemoryLimit == 0 { // from a node without limits
		rec.MemoryLimit = n.cfg.MaxMemory
	}
	if rec.MemoryLimit > n.cfg.MaxMemory {
		return n.overMaxMemory(rec.MemoryLimit)
	}
	if _, err := n.wasiConfig(rec.Args, rec.Env, rec.Dirs); err != nil {
		return err
	}
	d, err := parseDigest(rec.Module)
	if err != nil {
		return err
	}
	n.pin(d) // until the migration holds it
	defer n.unpin(d)
	if err := n.fetchModule(ctx, req.Source, d); err != nil {
		return err
	}
	mod, err := n.module(d, rec.Name, true)
	if err != nil {
		return err
	}
	rec.Status, rec.MovedTo, rec.Migration, rec.CommitPending, rec.ResumeOnStart = statusPaused, "", "", false, false
	rec.Checkpoint, rec.CheckpointedAt = nil, time.Time{} // the source's
	rec.From, rec.Lost = req.Source, false
	if err := os.MkdirAll(n.instanceDir(rec.ID), 0o700); err != nil {
		return err
	}
	in, err := n.newInstance(rec, true)
	if err != nil {
		return err
	}
	// Instantiated now, so that memory goes straight into the instance.
	if in.eng, err = n.runtime(true, rec.MemoryLimit).Stage(context.Background(), mod); err != nil {
		in.stdout.close()
		in.stderr.close()
		return apiErrorf(codeInvalidModule, "%v", err)
	}
	in.mod = mod
	inc := &incoming{id: req.Migration, source: req.Source, in: in}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.shutting {
		in.eng.Close(context.Background())
		return apiErrorf(codeConflict, "node %s is shutting down", n.cfg.Name)
	}
	n.incoming[req.Migration] = inc
	n.watchOutcome(inc)
	return nil
}

// replaceStale drops an unprepared migration of the same instance: its
// source, which moves one instance at a time, has given it up (its abort
// was lost). A prepared one may still commit, so it blocks the new one.
func (n *Node) replaceStale(id string) error {
	n.mu.Lock()
	var stale *incoming
	for _, inc := range n.incoming {
		if inc.in.rec.ID == id {
			stale = inc
		}
	}
	n.mu.Unlock()
	if stale == nil {
		return nil
	}
	stale.mu.Lock()
	defer stale.mu.Unlock()
	if stale.prepared {
		return apiErrorf(codeConflict, "instance %s is already moving to node %s (prepared, waiting for its commit)", id, n.cfg.Name)
	}
	n.dropIncoming(stale)
	return nil
}

// checkEpoch refuses an instance this node holds, or an epoch it has seen.
func (n *Node) checkEpoch(id string, epoch uint64) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, ok := n.instances[id]
	if !ok {
		return nil
	}
	rec := old.snapshotRecord()
	switch {
	case rec.Status != statusMoved:
		return apiErrorf(codeConflict, "node %s already holds instance %s (%s)", n.cfg.Name, id, rec.Status)
	case epoch <= rec.Epoch:
		return apiErrorf(codeStaleEpoch, "instance %s was at epoch %d here; epoch %d is stale", id, rec.Epoch, epoch)
	}
	return nil
}

// epochHeader carries the migration's epoch on its prepare and commit
// steps (and pre-copy rounds), checked again at each: the instance may
// have reached this node at a higher epoch since the begin.
const epochHeader = "Roam-Epoch"

// checkStepEpoch refuses a step whose epoch is not the migration's or is
// no longer above the one this node has recorded for the instance. A step
// without the header (an older source) is checked by its migration id only.
func (n *Node) checkStepEpoch(inc *incoming, header string) error {
	if header == "" {
		return nil
	}
	e, err := strconv.ParseUint(header, 10, 64)
	if err != nil {
		return apiErrorf(codeBadRequest, "header %s: want an epoch", epochHeader)
	}
	if want := inc.in.rec.Epoch; e != want {
		return apiErrorf(codeStaleEpoch, "migration %s is at epoch %d, not %d", inc.id, want, e)
	}
	return n.checkEpoch(inc.in.rec.ID, e)
}

// fetchModule gets a module this node lacks from the source node.
func (n *Node) fetchModule(ctx context.Context, source string, d engine.Digest) error {
	if n.rt.Store().Has(d) {
		return nil
	}
	resp, err := n.send(ctx, http.MethodGet, source+"/v1/modules/"+d.String(), nil, nil)
	if err != nil {
		return fmt.Errorf("fetch module from %s: %w", source, err)
	}
	defer resp.Body.Close()
	_, _, err = n.rt.Store().PutStream(resp.Body, n.cfg.MaxModuleBytes, &d)
	var tooBig *engine.TooLargeError
	var mismatch *engine.DigestMismatchError
	switch {
	case errors.As(err, &tooBig) || errors.As(err, &mismatch):
		return n.storeError(err, "fetch module from "+source)
	case err != nil:
		return apiErrorf(codeUnreachable, "fetch module from %s: %v", source, err)
	}
	return nil
}

func (n *Node) incomingByID(mid string) (*incoming, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	inc, ok := n.incoming[mid]
	if !ok {
		return nil, apiErrorf(codeNotFound, "no migration %s on node %s", mid, n.cfg.Name)
	}
	return inc, nil
}

// receive appends the logs' new bytes and applies a delta onto the memory
// of the staged instance.
func (inc *incoming) receive(r *http.Request, lim snapshot.Limits) (*snapshot.Snapshot, error) {
	want, err := strconv.ParseUint(r.Header.Get("Roam-Logs-Crc32c"), 10, 32)
	if err != nil {
		return nil, apiErrorf(codeBadRequest, "header Roam-Logs-Crc32c: want a CRC-32C")
	}
	sum := crc32.New(castagnoli)
	for _, l := range []struct {
		header string
		log    *logFile
	}{{"Roam-Stdout", inc.in.stdout}, {"Roam-Stderr", inc.in.stderr}} {
		k, err := strconv.ParseInt(r.Header.Get(l.header+"-Length"), 10, 64)
		if err != nil || k < 0 {
			return nil, apiErrorf(codeBadRequest, "header %s-Length: want a length", l.header)
		}
		if err := receiveOffset(l.log, r.Header.Get(l.header+"-Offset")); err != nil {
			return nil, err
		}
		if _, err := io.CopyN(io.MultiWriter(l.log, sum), r.Body, k); err != nil {
			return nil, apiErrorf(codeInvalidSnapshot, "logs cut short: %v", err)
		}
	}
	if sum.Sum32() != uint32(want) {
		return nil, apiErrorf(codeInvalidSnapshot, "logs corrupt: checksum mismatch")
	}
	body := io.Reader(r.Body)
	if fault == faultDestStopCopy && strings.HasSuffix(r.URL.Path, "/prepare") {
		body = &dieAfter{r: body, n: 512}
	}
	s, err := snapshot.DecodeDeltaInto(body, inc.in.eng.StageMemory, lim)
	if err != nil {
		return nil, apiErrorf(codeInvalidSnapshot, "%v", err)
	}
	return s, nil
}

// receiveOffset places the bytes that come at their offset in the source's
// log: past the end when the source no longer kept the bytes between.
func receiveOffset(l *logFile, header string) error {
	if header == "" {
		return nil // they follow what came before
	}
	off, err := strconv.ParseInt(header, 10, 64)
	if size, _, _ := l.state(); err != nil || off < size {
		return apiErrorf(codeBadRequest, "log offset %q: want one at or past %d", header, size)
	}
	if err := l.skipTo(off); err != nil {
		return apiErrorf(codeInternal, "log: %v", err)
	}
	return nil
}

// precopyRound takes one pre-copy round.
func (n *Node) precopyRound(r *http.Request, mid string) error {
	inc, err := n.incomingByID(mid)
	if err != nil {
		return err
	}
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if inc.prepared {
		return apiErrorf(codeConflict, "migration %s is already prepared", mid)
	}
	faultPoint(faultDestPrecopy)
	if _, err := inc.receive(r, n.limits()); err != nil {
		n.dropIncoming(inc)
		return err
	}
	return nil
}

func (n *Node) limits() snapshot.Limits { return snapshot.Limits{MaxMemoryPages: n.cfg.MaxMemoryPages} }

// prepare restores the instance from the final delta and holds it paused
// until the source commits.
func (n *Node) prepare(r *http.Request, mid string) error {
	inc, err := n.incomingByID(mid)
	if err != nil {
		return err
	}
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if inc.prepared {
		return nil
	}
	if err := n.checkStepEpoch(inc, r.Header.Get(epochHeader)); err != nil {
		n.dropIncoming(inc)
		return err
	}
	if err := n.restoreIncoming(inc, r); err != nil {
		n.dropIncoming(inc)
		return err
	}
	// The marker only tells a restart what to clean up: it need not be
	// durable, so no fsync while the guest is stopped.
	marker, _ := json.Marshal(map[string]string{"instance": inc.in.rec.ID, "source": inc.source})
	if err := os.MkdirAll(filepath.Dir(n.preparedMarker(mid)), 0o700); err == nil {
		err = os.WriteFile(n.preparedMarker(mid), marker, 0o600)
	}
	if err != nil {
		n.dropIncoming(inc)
		return err
	}
	inc.prepared, inc.preparedAt = true, time.Now()
	faultPoint(faultDestBeforeAck)
	return nil
}

func (n *Node) restoreIncoming(inc *incoming, r *http.Request) error {
	s, err := inc.receive(r, n.limits())
	if err != nil {
		return err
	}
	in := inc.in
	if err := in.eng.FinishRestore(context.Background(), s, in.stdio()); err != nil {
		return n.restoreError(err)
	}
	in.restored = true
	return nil
}

// commitIncoming runs a prepared instance: from now on this node holds it.
// durable says whether a restart of this node would still have it (its
// first checkpoint here is written): until then the source keeps its copy.
func (n *Node) commitIncoming(mid, epoch string) (durable bool, err error) {
	inc, err := n.incomingByID(mid)
	if err != nil {
		if id, ok := n.committed(mid); ok {
			return n.heldDurably(mid, id) // a retry: commit is idempotent, across restarts too
		}
		return false, apiErrorf(codeGone, "node %s holds no prepared migration %s", n.cfg.Name, mid)
	}
	inc.mu.Lock()
	defer inc.mu.Unlock()
	switch {
	case inc.committed: // a retry that raced with the first commit
		return false, nil
	case !inc.prepared:
		return false, apiErrorf(codeConflict, "migration %s is not prepared", mid)
	}
	if err := n.checkStepEpoch(inc, epoch); err != nil {
		return false, err
	}
	inc.committed = true
	in := inc.in
	n.mu.Lock()
	delete(n.incoming, mid)
	n.instances[in.rec.ID] = in
	n.done[mid] = in.rec.ID
	n.mu.Unlock()
	in.startRun()
	n.logf("instance %s arrived from %s at epoch %d", in.rec.ID, inc.source, in.rec.Epoch)
	n.background.Add(1)
	go func() {
		defer n.background.Done()
		n.settleArrival(in, mid)
	}()
	n.metrics.received.Inc()
	return false, nil
}

// settleArrival makes an instance that arrived durable, after the guest
// runs again (out of the downtime): its record, the committed marker, then
// its first checkpoint here. A restart between the record and the
// checkpoint finds an arrival without a checkpoint and gives it up (the
// source, which kept its copy, hears "gone" and runs it again). The record
// is written under in.mu, so an end of the guest that happens first is
// never overwritten by this older status.
func (n *Node) settleArrival(in *instance, mid string) {
	in.mu.Lock()
	if !in.rec.Status.Terminal() {
		in.rec.ResumeOnStart = true
	}
	if err := n.saveRecord(&in.rec); err != nil {
		n.logf("instance %s: save record: %v", in.rec.ID, err)
	}
	in.mu.Unlock()
	// Remembered durably: a source that restarts before it heard the
	// answer commits again and must hear "done", not "gone".
	if err := atomicfile.WriteBytes(n.committedMarker(mid), []byte(in.rec.ID)); err != nil {
		n.logf("migration %s: %v", mid, err)
	}
	os.Remove(n.preparedMarker(mid))
	if err := in.checkpointNow(true); err != nil {
		n.logf("instance %s: first checkpoint after its arrival: %v", in.rec.ID, err)
	}
}

// committed says whether migration mid committed here, and of which instance.
func (n *Node) committed(mid string) (string, bool) {
	n.mu.Lock()
	id, done := n.done[mid]
	n.mu.Unlock()
	if done {
		return id, true
	}
	b, err := os.ReadFile(n.committedMarker(mid))
	return string(b), err == nil
}

// heldDurably answers a repeated commit: whether the instance that came by
// mid is durable here; gone if this node lost it (it restarted before the
// instance's first checkpoint here).
func (n *Node) heldDurably(mid, id string) (bool, error) {
	in, ok := n.instance(id)
	if !ok {
		return true, nil // a marker of an older format: the node kept it
	}
	rec := in.snapshotRecord()
	switch {
	case rec.Lost:
		return false, apiErrorf(codeGone, "node %s lost instance %s of migration %s: it restarted before its first checkpoint", n.cfg.Name, id, mid)
	case rec.Status.Terminal() || rec.Status == statusMoved || rec.Checkpoint != nil:
		return true, nil
	}
	return false, nil
}

func (n *Node) committedMarker(mid string) string {
	return filepath.Join(n.cfg.Dir, "migrations", mid+".committed")
}

// abortIncoming drops a migration the source gave up.
func (n *Node) abortIncoming(mid string) error {
	inc, err := n.incomingByID(mid)
	if err != nil {
		return err
	}
	inc.mu.Lock()
	defer inc.mu.Unlock()
	n.dropIncoming(inc)
	return nil
}

// dropIncoming forgets a migration and what it received; inc.mu is held.
func (n *Node) dropIncoming(inc *incoming) {
	n.mu.Lock()
	if n.incoming[inc.id] != inc {
		n.mu.Unlock()
		return
	}
	delete(n.incoming, inc.id)
	_, tombstone := n.instances[inc.in.rec.ID]
	n.mu.Unlock()
	inc.in.mu.Lock()
	inc.in.closeEngineLocked()
	inc.in.mu.Unlock()
	inc.in.stdout.close()
	inc.in.stderr.close()
	if !tombstone {
		os.RemoveAll(n.instanceDir(inc.in.rec.ID))
	}
	os.Remove(n.preparedMarker(inc.id))
}

// watchOutcome asks the source what became of a migration that stalls
// (no step for a while, as when the source died or its abort was lost):
// it runs a prepared instance if the source recorded the move, drops the
// migration if the source gave up, and keeps asking otherwise.
func (n *Node) watchOutcome(inc *incoming) {
	n.background.Add(1)
	go func() {
		defer n.background.Done()
		for wait := min(10*time.Second, n.cfg.InDoubtAfter); ; wait = min(2*time.Second, n.cfg.InDoubtAfter) {
			select {
			case <-n.quit:
				return
			case <-time.After(wait):
			}
			if _, err := n.incomingByID(inc.id); err != nil {
				return // committed or dropped
			}
			n.markInDoubt(inc)
			out, err := n.askOutcome(inc)
			switch {
			case err != nil || out == "pending":
			case out == "committed":
				_, _ = n.commitIncoming(inc.id, "")
				return
			default:
				_ = n.abortIncoming(inc.id)
				return
			}
		}
	}()
}

// askOutcome asks the source of an incoming migration what became of it.
func (n *Node) askOutcome(inc *incoming) (string, error) {
	var out struct {
		Outcome string `json:"outcome"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := n.call(ctx, http.MethodGet, inc.source+"/v1/migrations/"+inc.id, nil, nil, &out)
	return out.Outcome, err
}

// markInDoubt lists a migration prepared for too long without an outcome
// as in doubt: an operator who knows its source is gone resolves it.
func (n *Node) markInDoubt(inc *incoming) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if inc.prepared && !inc.inDoubt && time.Since(inc.preparedAt) >= n.cfg.InDoubtAfter {
		inc.inDoubt = true
		n.logf("migration %s of instance %s from %s is in doubt: prepared %s ago, no outcome from its source (roam resolve %s --commit|--abort)",
			inc.id, inc.in.rec.ID, inc.source, time.Since(inc.preparedAt).Round(time.Second), inc.in.rec.ID)
	}
}

// inDoubt lists the instances of in-doubt migrations as the API shows them.
func (n *Node) inDoubt() []Instance {
	n.mu.Lock()
	all := make([]*incoming, 0, len(n.incoming))
	for _, inc := range n.incoming {
		all = append(all, inc)
	}
	n.mu.Unlock()
	var out []Instance
	for _, inc := range all {
		inc.mu.Lock()
		if inc.inDoubt && !inc.committed {
			v := inc.in.view()
			v.Status = client.StatusInDoubt
			out = append(out, v)
		}
		inc.mu.Unlock()
	}
	return out
}

// resolve settles the in-doubt migration of instance id as the operator
// says (commit or abort), unless its source answers: then the source's
// outcome applies and the operator's call is refused.
func (n *Node) resolve(id string, commit bool) (string, error) {
	inc := n.incomingOf(id)
	if inc == nil {
		return "", apiErrorf(codeNotFound, "node %s has no migration of instance %s waiting for an outcome", n.cfg.Name, id)
	}
	inc.mu.Lock()
	inDoubt := inc.inDoubt
	inc.mu.Unlock()
	if !inDoubt {
		return "", apiErrorf(codeConflict, "the migration of instance %s is not in doubt: its source still moves it (in doubt after %s prepared without an outcome, --in-doubt-after)",
			id, n.cfg.InDoubtAfter)
	}
	out, err := n.askOutcome(inc)
	if err == nil {
		return "", n.applyOutcome(inc, out)
	}
	if commit {
		_, err = n.commitIncoming(inc.id, "")
		n.logf("instance %s: migration %s committed by an operator (source %s unreachable: %v)", id, inc.id, inc.source, err)
		return "committed", err
	}
	n.logf("instance %s: migration %s aborted by an operator (source %s unreachable)", id, inc.id, inc.source)
	return "aborted", n.abortIncoming(inc.id)
}

// applyOutcome applies what a reachable source said of a migration and
// refuses the operator's call.
func (n *Node) applyOutcome(inc *incoming, out string) error {
	switch out {
	case "committed":
		if _, err := n.commitIncoming(inc.id, ""); err != nil {
			return err
		}
	case "aborted":
		if err := n.abortIncoming(inc.id); err != nil {
			return err
		}
	default:
		return apiErrorf(codeConflict, "source %s is reachable and says migration %s is %s: not resolved", inc.source, inc.id, out)
	}
	return apiErrorf(codeConflict, "source %s is reachable and says migration %s %s; that outcome was applied, not the one asked for",
		inc.source, inc.id, out)
}

func (n *Node) incomingOf(id string) *incoming {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, inc := range n.incoming {
		if inc.in.rec.ID == id {
			return inc
		}
	}
	return nil
}

// outcome answers a destination asking about a migration from this node.
func (n *Node) outcome(mid string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.outgoing[mid]; ok {
		return "pending"
	}
	for _, in := range n.instances {
		in.mu.Lock()
		moved := in.rec.Status == statusMoved && in.rec.Migration == mid
		in.mu.Unlock()
		if moved {
			return "committed"
		}
	}
	return "aborted"
}

// recoverPrepared forgets migrations that were prepared when the node
// stopped: their state was in memory only, so they are gone (their
// directories went with the orphans), and a source that commits one hears
// so and runs the instance itself.
func (n *Node) recoverPrepared() error {
	markers, err := filepath.Glob(filepath.Join(n.cfg.Dir, "migrations", "*.json"))
	for _, path := range markers {
		os.Remove(path)
	}
	return err
}
