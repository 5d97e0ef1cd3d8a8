package node

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasi"
)

// StartRequest asks for a new instance (docs/api.md).
type StartRequest = client.StartRequest

func parseDigest(s string) (engine.Digest, error) {
	var d engine.Digest
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(d) {
		return d, apiErrorf(codeBadRequest, "%q is not a sha256 digest in hex", s)
	}
	copy(d[:], b)
	return d, nil
}

// module loads a stored module, instrumenting and compiling it once: the
// first caller for a digest loads it, and callers that come meanwhile wait
// for that load instead of compiling it again. A failure is not kept.
func (n *Node) module(d engine.Digest, name string, migratable bool) (*engine.Module, error) {
	key := moduleKey{d, migratable}
	n.mu.Lock()
	l, ok := n.modules[key]
	if !ok {
		l = &moduleLoad{done: make(chan struct{})}
		n.modules[key] = l
	}
	n.mu.Unlock()
	if ok {
		<-l.done
		return l.m, l.err
	}
	l.m, l.err = n.load(d, name, migratable)
	if l.err != nil {
		n.mu.Lock()
		delete(n.modules, key)
		n.mu.Unlock()
	}
	close(l.done)
	return l.m, l.err
}

// moduleLoad is a module loaded, or being loaded, once for all its users.
type moduleLoad struct {
	done chan struct{} // closed when m or err is set
	m    *engine.Module
	err  error
}

func (n *Node) load(d engine.Digest, name string, migratable bool) (*engine.Module, error) {
	b, err := n.rt.Store().Get(d)
	if errors.Is(err, engine.ErrModuleNotFound) {
		return nil, apiErrorf(codeModuleNotFound, "module %s is not on node %s: upload it first", d, n.cfg.Name)
	}
	if err != nil {
		return nil, err
	}
	rt := n.rt
	if !migratable {
		rt = n.rtPlain
	}
	n.metrics.compiles.Inc()
	m, err := rt.Load(name, b, migratable)
	var refused *transform.Error
	if errors.As(err, &refused) {
		return nil, apiErrorf(codeInvalidModule, "module cannot be made migratable: %v (start it with migratable=false)", err)
	}
	if err != nil {
		return nil, apiErrorf(codeInvalidModule, "%v", err)
	}
	if err := rt.Compile(context.Background(), m); err != nil {
		return nil, apiErrorf(codeInvalidModule, "%v", err)
	}
	// Instrumenting and compiling take tens of MB that are garbage now; an
	// idle node would keep them until its next GC.
	debug.FreeOSMemory()
	return m, nil
}

// wasiConfig parses an instance's argv, environment and directories, which
// must be in this node's volumes.
func (n *Node) wasiConfig(args, env, dirs []string) (wasi.Config, error) {
	cfg, err := wasi.ParseVolumeConfig(args, env, dirs)
	if errors.Is(err, wasi.ErrBadDir) {
		return cfg, apiErrorf(codeBadRequest, "%v (node %s has volumes: %s)", err, n.cfg.Name, cmp.Or(strings.Join(n.cfg.Volumes.Names(), ", "), "none"))
	}
	if err != nil {
		return cfg, apiErrorf(codeBadRequest, "%v", err)
	}
	cfg.Volumes = n.cfg.Volumes
	if err := n.cfg.Volumes.Check(cfg.Preopens); err != nil {
		return cfg, n.dirError(err, codeBadRequest)
	}
	return cfg, nil
}

// dirError classifies a refused directory or file of an instance; other
// errors get code.
func (n *Node) dirError(err error, code string) *APIError {
	switch {
	case errors.Is(err, wasi.ErrUnknownVolume):
		code = codeUnknownVolume
	case errors.Is(err, wasi.ErrHostPath), errors.Is(err, wasi.ErrBadDir):
		code = codeBadRequest
	case errors.Is(err, wasi.ErrFileChanged):
		code = codeFileChanged
	case errors.Is(err, os.ErrNotExist):
		code = codeDirMissing
	}
	return apiErrorf(code, "node %s: %v", n.cfg.Name, err)
}

// start creates and runs a new instance.
func (n *Node) start(req StartRequest) (*instance, error) {
	d, err := parseDigest(req.Module)
	if err != nil {
		return nil, err
	}
	if len(req.Args) == 0 {
		return nil, apiErrorf(codeBadRequest, "args must hold at least argv[0]")
	}
	migratable := req.Migratable == nil || *req.Migratable
	n.pin(d) // until the instance holds it
	defer n.unpin(d)
	if _, err := n.wasiConfig(req.Args, req.Env, req.Dirs); err != nil {
		return nil, err
	}
	if req.CheckpointEvery != "" {
		if _, err := parseEvery(req.CheckpointEvery); err != nil {
			return nil, err
		}
	}
	limit, err := n.memoryLimit(req.MemoryLimit)
	if err != nil {
		return nil, err
	}
	if _, err := n.module(d, req.Args[0], migratable); err != nil {
		return nil, err
	}
	rec := record{Instance: Instance{ID: newID("i-"), Module: d.String(), Name: req.Args[0], Args: req.Args,
		Status: statusRunning, Epoch: 1, Migratable: migratable, CreatedAt: time.Now().UTC(), MemoryLimit: limit},
		Env: req.Env, Dirs: req.Dirs, ResumeOnStart: true, CheckpointEvery: req.CheckpointEvery}
	in, err := n.newInstance(rec, true)
	if err != nil {
		return nil, err
	}
	if err := n.instantiate(in); err != nil {
		in.stdout.close()
		in.stderr.close()
		os.RemoveAll(n.instanceDir(rec.ID))
		return nil, err
	}
	if err := n.saveRecord(&in.rec); err != nil {
		in.eng.Close(context.Background())
		return nil, err
	}
	if err := n.add(in); err != nil {
		in.eng.Close(context.Background())
		return nil, err
	}
	in.startRun()
	n.logf("instance %s started: %s", rec.ID, strings.Join(rec.Args, " "))
	if !migratable {
		n.logf("instance %s is not migratable: it cannot be checkpointed, and a node killed with SIGKILL (or crashing) loses it", rec.ID)
	}
	return in, nil
}

// instantiate gives in a new engine instance of its module, from the
// start, with its arguments, environment, directories and memory limit.
func (n *Node) instantiate(in *instance) error {
	rec := in.rec
	cfg, err := n.wasiConfig(rec.Args, rec.Env, rec.Dirs)
	if err != nil {
		return err
	}
	d, err := parseDigest(rec.Module)
	if err != nil {
		return err
	}
	mod, err := n.module(d, rec.Args[0], rec.Migratable)
	if err != nil {
		return err
	}
	if err := checkInitialMemory(mod, rec.MemoryLimit); err != nil {
		return err
	}
	cfg.Stdout, cfg.Stderr = in.stdout, in.stderr
	eng, err := n.runtime(rec.Migratable, rec.MemoryLimit).Start(context.Background(), mod, cfg)
	if err != nil {
		return apiErrorf(codeInvalidModule, "%v", err)
	}
	in.eng, in.mod = eng, mod
	return nil
}

// runtime is the engine runtime for an instance: migratable or not, with
// its memory limit in bytes (0: none but the 4 GiB of 32-bit memories).
func (n *Node) runtime(migratable bool, limit uint64) *engine.Runtime {
	rt := n.rt
	if !migratable {
		rt = n.rtPlain
	}
	return rt.WithMemoryLimit(uint32(min(limit/snapshot.PageSize, engine.MaxMemoryPages)))
}

// memoryLimit is the memory limit of a new instance: the one asked for,
// which must not exceed the node's maximum, or that maximum.
func (n *Node) memoryLimit(asked uint64) (uint64, error) {
	switch {
	case asked == 0:
		return n.cfg.MaxMemory, nil
	case asked < snapshot.PageSize:
		return 0, apiErrorf(codeBadRequest, "memory_limit %d: want at least one 64 KiB page", asked)
	case asked > n.cfg.MaxMemory:
		return 0, n.overMaxMemory(asked)
	}
	return asked, nil
}

func (n *Node) overMaxMemory(limit uint64) error {
	return apiErrorf(codeTooLarge, "memory limit of %s is over the maximum of node %s, %s (--max-memory)",
		mib(limit), n.cfg.Name, mib(n.cfg.MaxMemory))
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// checkInitialMemory refuses a module whose memory starts above the limit.
func checkInitialMemory(mod *engine.Module, limit uint64) error {
	if need := mod.MinMemoryPages() * snapshot.PageSize; limit > 0 && need > limit {
		return apiErrorf(codeTooLarge, "module %s starts with %s of memory, over the instance's memory limit of %s",
			mod.Name, mib(need), mib(limit))
	}
	return nil
}

// add registers an instance unless the node is shutting down.
func (n *Node) add(in *instance) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.shutting {
		return apiErrorf(codeConflict, "node %s is shutting down", n.cfg.Name)
	}
	n.instances[in.rec.ID] = in
	return nil
}

// keepAll pauses every instance and writes its snapshot, for a restart.
func (n *Node) keepAll() {
	n.mu.Lock()
	all := make([]*instance, 0, len(n.instances))
	for _, in := range n.instances {
		all = append(all, in)
	}
	n.mu.Unlock()
	for _, in := range all {
		if err := in.keep(); err != nil {
			n.logf("instance %s: keep for restart: %v", in.rec.ID, err)
		}
	}
}

// keep pauses the instance (if it runs), writes its snapshot and record so
// that the next start of the node goes on with it, and frees it.
func (in *instance) keep() error {
	in.op.Lock()
	defer in.op.Unlock()
	in.mu.Lock()
	status, migratable, inDoubt := in.rec.Status, in.rec.Migratable, in.rec.CommitPending && in.eng != nil
	in.mu.Unlock()
	wasRunning := status == statusRunning
	switch {
	case inDoubt: // moved, unconfirmed: keep the state in case it comes back
	case status != statusRunning && status != statusPaused:
		return nil
	case !migratable:
		return in.stop()
	}
	if !inDoubt {
		if paused, err := in.halt(); err != nil || !paused {
			return err
		}
	}
	in.mu.Lock()
	if !inDoubt {
		in.rec.ResumeOnStart = wasRunning
	}
	restored := in.restored // not run since its checkpoint: that one is its state
	var snap *snapshot.Snapshot
	var err error
	if !restored {
		snap, err = in.eng.CaptureShared()
	}
	logs := in.logSizes()
	in.mu.Unlock()
	switch {
	case err != nil:
		return err
	case restored:
		in.mu.Lock()
		err = in.n.saveRecord(&in.rec)
		in.mu.Unlock()
	default:
		err = in.saveCheckpoint(snap, logs, in.nextCapture())
	}
	in.mu.Lock()
	in.closeEngineLocked()
	in.mu.Unlock()
	return err
}

// recover brings back the instances of a previous run from DIR/instances.
func (n *Node) recover() error {
	metas, err := filepath.Glob(filepath.Join(n.cfg.Dir, "instances", "*", "meta.json"))
	if err != nil {
		return err
	}
	n.removeOrphans()
	for _, path := range metas {
		rec, err := loadRecord(path)
		if err != nil {
			n.logf("skip %v", err)
			continue
		}
		if err := n.recoverOne(rec); err != nil {
			n.logf("instance %s: %v", rec.ID, err)
		}
	}
	return n.recoverPrepared()
}

// removeOrphans deletes instance directories without a record: logs of a
// migration into this node that the node's end interrupted before it was
// prepared.
func (n *Node) removeOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(n.cfg.Dir, "instances", "*"))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "meta.json")); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(d)
		}
	}
}

func (n *Node) recoverOne(rec *record) error {
	in, err := n.newInstance(*rec, false)
	if err != nil {
		return err
	}
	n.instances[rec.ID] = in
	switch {
	case rec.Status.Terminal():
		in.stdout.end()
		in.stderr.end()
		return nil
	case rec.Status == statusMoved:
		in.stdout.end()
		in.stderr.end()
		if rec.CommitPending {
			_ = in.restoreDurable() // without it, only the destination can go on
			in.rec.Status = statusMoved
			n.resolveLater(in)
		}
		return nil
	}
	err = in.restoreDurable()
	if errors.Is(err, errLostArrival) {
		return in.backToSource()
	}
	if err != nil {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.endLocked(statusFailed, exitFailed, fmt.Sprintf("lost when node %s stopped: %v", n.cfg.Name, err))
		return err
	}
	if rec.ResumeOnStart {
		in.startRun()
	}
	return nil
}

// restoreFrom gives the instance an engine instance restored from snap,
// paused until startRun.
func (in *instance) restoreFrom(snap *snapshot.Snapshot) error {
	in.n.pin(snap.ModuleDigest) // until the instance holds it
	defer in.n.unpin(snap.ModuleDigest)
	preopens := savedPreopens(snap.WASI)
	if err := in.n.cfg.Volumes.Check(preopens); err != nil {
		return in.n.dirError(fmt.Errorf("restore: %w", err), codeInvalidSnapshot)
	}
	mod, err := in.n.module(engine.Digest(snap.ModuleDigest), snap.ModuleName, true)
	if err != nil {
		return err
	}
	if limit := in.rec.MemoryLimit; limit > 0 && uint64(snap.MemoryPages)*snapshot.PageSize > limit {
		return apiErrorf(codeTooLarge, "snapshot memory of %s is over the instance's memory limit of %s",
			mib(uint64(snap.MemoryPages)*snapshot.PageSize), mib(limit))
	}
	eng, err := in.n.runtime(true, in.rec.MemoryLimit).Restore(context.Background(), mod, snap, in.stdio())
	if err != nil {
		return in.n.restoreError(err)
	}
	in.eng, in.mod, in.restored = eng, mod, true
	in.rec.Dirs = nil
	for _, p := range preopens {
		in.rec.Dirs = append(in.rec.Dirs, p.Spec())
	}
	in.rec.Status = statusPaused
	return nil
}

// restoreError classifies a refusal of a snapshot.
func (n *Node) restoreError(err error) error {
	var deep *engine.DepthError
	if errors.As(err, &deep) {
		return apiErrorf(codeTooDeep, "%v", err)
	}
	return n.dirError(fmt.Errorf("restore: %w", err), codeInvalidSnapshot)
}

// savedPreopens are a saved state's directories: checked before anything
// else of a snapshot, and kept in the record as a start request names them,
// so that a migration checks them on its destination before the instance
// pauses. A state that does not decode has none here; restoring it fails.
func savedPreopens(state []byte) []wasi.Preopen {
	sum, err := wasi.Describe(state)
	if err != nil {
		return nil
	}
	return sum.Preopens
}

// restoreNew makes a new instance (new id) from a snapshot a client sent.
func (n *Node) restoreNew(snap *snapshot.Snapshot, paused bool) (*instance, error) {
	rec := record{Instance: Instance{ID: newID("i-"), Module: engine.Digest(snap.ModuleDigest).String(), Name: snap.ModuleName,
		Status: statusPaused, Epoch: 1, Migratable: true, CreatedAt: time.Now().UTC(), MemoryLimit: n.cfg.MaxMemory},
		ResumeOnStart: !paused}
	in, err := n.newInstance(rec, true)
	if err != nil {
		return nil, err
	}
	if err := in.restoreFrom(snap); err != nil {
		in.stdout.close()
		in.stderr.close()
		os.RemoveAll(n.instanceDir(rec.ID))
		return nil, err
	}
	// Its first checkpoint is the snapshot it came from (also saves the record).
	in.op.Lock()
	err = in.saveCheckpoint(snap, [2]int64{}, in.nextCapture())
	in.op.Unlock()
	if err != nil {
		return nil, err
	}
	if err := n.add(in); err != nil {
		return nil, err
	}
	if !paused {
		in.startRun()
	}
	return in, nil
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("node: marshal %T: %v", v, err)) // only our own types
	}
	return bytes.NewReader(b)
}
