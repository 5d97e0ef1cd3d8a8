package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasi"
)

// ErrPaused is what Run returns when the instance stopped at a safe point
// because of Pause; Capture then takes its state.
var ErrPaused = errors.New("paused")

// TrapError is a guest trap; its message holds wazero's Wasm stack trace.
type TrapError struct{ Err error }

func (e *TrapError) Error() string { return e.Err.Error() }
func (e *TrapError) Unwrap() error { return e.Err }

// Stdio are the streams of an instance.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Instance is one running (or paused) instantiation of a module.
type Instance struct {
	rt   *Runtime
	mod  *Module
	wz   wazero.Runtime
	inst api.Module
	wasi *wasi.Host
	// wasiFuncs are the functions of wasi that the host module calls,
	// in the order the host module was built with.
	wasiFuncs []wasi.Func
	plan      []string // exports run in order: the start function, then _start
	stage     int
	entry     string // the export running or paused

	mu         sync.Mutex // guards pauseReq, running, the PauseAfter timer and writes of the state global
	pauseReq   bool
	pauseAfter time.Duration
	pauseTimer *time.Timer
	running    bool
	pauseFlag  atomic.Bool
	skipPoll   bool   // interpreter: the next poll ignores a pending pause (see rewoundLoop)
	state      uint32 // last value written to the state global (runner's view)
	stateG     api.MutableGlobal

	// Yields of compiled code (see transform's emitPoll): the tick global
	// counts polls before the guest unwinds by itself, set to budget while
	// it runs (setStateLocked); Call rewinds it at once.
	tickG      api.MutableGlobal
	budget     int32
	yielding   bool          // the unwind under way is a yield (under mu)
	runSince   time.Time     // when the guest last started running
	unwindAt   time.Time     // when the yield's unwind began
	yieldStart time.Time     // when the yield's rewind began, less the unwind's time
	yieldCost  time.Duration // unwind and rewind of the last yield
	gosched    time.Time     // when a yield last let other goroutines run

	pending     []snapshot.Value // values of the frame being unwound
	frames      []snapshot.Frame // unwound frames, innermost first until Run returns
	unwound     bool
	recall      bool // the innermost frame is an interrupted blocking import
	rewind      []snapshot.Frame
	rewindPos   int
	rewinding   bool
	cur         []snapshot.Value
	droppedData []uint32
	droppedElem []uint32
	hostErr     error
	live        atomic.Pointer[[]byte] // current linear memory buffer (see LiveMemory)
	staged      bool                   // made by Stage, waiting for FinishRestore
}

// Start instantiates m with a fresh WASI host.
func (r *Runtime) Start(ctx context.Context, m *Module, cfg wasi.Config) (*Instance, error) {
	h, err := wasi.New(cfg)
	if err != nil {
		return nil, err
	}
	return r.instantiate(ctx, m, h)
}

// instantiate gives the instance a wazero runtime of its own, so a restore
// always starts fresh and host modules serve this instance only; compiled
// code is shared through the compilation cache.
func (r *Runtime) instantiate(ctx context.Context, m *Module, h *wasi.Host) (*Instance, error) {
	in := &Instance{rt: r, mod: m, wasi: h, wz: wazero.NewRuntimeWithConfig(ctx, r.wazeroConfig())}
	if err := in.setup(ctx); err != nil {
		in.wz.Close(ctx)
		return nil, err
	}
	return in, nil
}

func (in *Instance) setup(ctx context.Context) error {
	if err := in.instantiateWASI(ctx); err != nil {
		return err
	}
	if in.rt.setup != nil {
		if err := in.rt.setup(ctx, in.wz); err != nil {
			return err
		}
	}
	if in.mod.Migratable {
		if err := in.instantiateRoam(ctx); err != nil {
			return err
		}
	}
	compiled, err := compile(ctx, in.wz, in.mod)
	if err != nil {
		return err
	}
	in.inst, err = in.wz.InstantiateModule(in.withGuestMemory(ctx), compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return fmt.Errorf("instantiate %s: %w", in.mod.Name, err)
	}
	if in.mod.Migratable {
		in.stateG, _ = in.inst.ExportedGlobal(transform.ExportState).(api.MutableGlobal)
		tick, _ := in.inst.ExportedGlobal(transform.ExportTick).(api.MutableGlobal)
		if in.stateG == nil || tick == nil {
			return fmt.Errorf("instrumented module lacks the export %s or %s", transform.ExportState, transform.ExportTick)
		}
		if !in.rt.pollImport() {
			in.tickG, in.budget = tick, initialBudget
		}
	}
	return in.planEntries()
}

// planEntries lists the exports a WASI program runs: the start function
// (taken out of the start section by the transform), then _start.
func (in *Instance) planEntries() error {
	if in.mod.Migratable && in.inst.ExportedFunction(transform.ExportStart) != nil {
		in.plan = append(in.plan, transform.ExportStart)
	}
	switch {
	case in.inst.ExportedFunction("_start") != nil:
		in.plan = append(in.plan, "_start")
	case in.inst.ExportedFunction("_initialize") != nil:
		in.plan = append(in.plan, "_initialize")
	default:
		in.plan = nil // a library module: only Call applies
	}
	return nil
}

// Close frees the instance.
func (in *Instance) Close(ctx context.Context) error { return in.wz.Close(ctx) }

// setStateLocked writes the state global; in.mu must be held. Compiled
// code's polls see it through the tick global (emitPoll): 0 makes them
// stop, the budget lets them run.
func (in *Instance) setStateLocked(s uint32) {
	in.state = s
	in.stateG.Set(uint64(s))
	if in.tickG != nil {
		n := uint64(in.budget)
		if s != transform.StateRunning {
			n = 0
		}
		in.tickG.Set(n)
	}
}

func (in *Instance) setRunning(running bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.running = running
	if !running || !in.mod.Migratable {
		return
	}
	if in.tickG != nil {
		in.runSince = time.Now()
		if in.rewinding && in.yieldStart.IsZero() {
			// A resume: a first yield soon after it would unwind and rewind
			// a stack that may be deep, and can take as long as a whole
			// --migrate-every hop. The budget comes down at the first yield.
			in.budget = maxBudget
		}
	}
	switch {
	case in.rewinding:
		in.setStateLocked(transform.StateRewinding)
	case in.pauseReq && !in.rt.pollImport():
		in.setStateLocked(transform.StateUnwinding)
	default:
		in.setStateLocked(transform.StateRunning)
	}
}

func (r *Runtime) pollImport() bool { return r.kind == Interpreter }

// Pause asks the instance to stop at its next safe point. Any goroutine.
func (in *Instance) Pause() {
	in.mu.Lock()
	in.pauseReq = true
	if in.mod.Migratable {
		if in.rt.pollImport() {
			in.pauseFlag.Store(true)
		} else if in.running && in.state == transform.StateRunning {
			// Never over a rewind: the guest would take the state for a
			// fresh call and run the export again from its start (with
			// the zero arguments Resume passes). rewound switches to
			// unwinding when the rewind ends, since pauseReq is set.
			in.setStateLocked(transform.StateUnwinding)
			go in.hurry()
		}
	}
	in.mu.Unlock()
	in.wasi.Interrupt()
}

// hurry keeps a pause request in the tick global. Polls in loops that make
// calls and at the entry of recursive functions see a pause only there,
// and count the tick down with a load and a store: a 0 written between the
// two is overwritten (in go-bench, about one pause in ten), and the pause
// would then wait for the count to run out, up to a yield period. So the
// 0 is written again and again until the guest unwinds: busily for
// hurrySpin, since a sleep shorter than a millisecond lasts a whole one
// when the Go scheduler has nothing else to do, then every hurryEvery.
// Loops without calls read the state global as well and need no help.
func (in *Instance) hurry() {
	start := time.Now()
	for {
		switch d := time.Since(start); {
		case d > hurryFor:
			return
		case d > hurrySpin:
			time.Sleep(hurryEvery)
		default:
			runtime.Gosched()
		}
		in.mu.Lock()
		if !in.running || in.state != transform.StateUnwinding {
			in.mu.Unlock()
			return
		}
		in.tickG.Set(0)
		in.mu.Unlock()
	}
}

// PauseAfter asks for a pause once the guest has run for d: the interval
// starts when the guest runs again, after the rewind of a restored instance,
// so that every hop makes progress however long the rewind takes. The
// returned function cancels the request if it has not fired.
func (in *Instance) PauseAfter(d time.Duration) (cancel func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.pauseAfter = d
	if !in.rewinding {
		in.armPauseLocked()
	}
	return func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		in.pauseAfter = 0
		if in.pauseTimer != nil {
			in.pauseTimer.Stop()
		}
	}
}

// armPauseLocked starts the PauseAfter timer; in.mu must be held.
func (in *Instance) armPauseLocked() {
	if in.pauseAfter > 0 && in.pauseTimer == nil {
		in.pauseTimer = time.AfterFunc(in.pauseAfter, in.Pause)
	}
}

// Run executes a WASI program until it exits, traps or pauses. It returns
// the guest's exit code, ErrPaused, a *TrapError, or a host failure.
func (in *Instance) Run(ctx context.Context) (uint32, error) {
	if in.plan == nil {
		return 0, fmt.Errorf("%s exports neither _start nor _initialize: not a WASI program", in.mod.Name)
	}
	for in.stage < len(in.plan) {
		var err error
		if in.rewinding {
			_, err = in.Resume(ctx)
		} else {
			_, err = in.Call(ctx, in.plan[in.stage])
		}
		var exit *sys.ExitError
		switch {
		case errors.As(err, &exit):
			return exit.ExitCode(), nil
		case err != nil:
			return 0, err
		}
		in.stage++
	}
	return 0, nil
}

// Call invokes an export until it returns, traps, exits (*sys.ExitError) or
// pauses (ErrPaused).
func (in *Instance) Call(ctx context.Context, name string, args ...uint64) ([]uint64, error) {
	fn := in.inst.ExportedFunction(name)
	if fn == nil {
		return nil, fmt.Errorf("%s has no export %q", in.mod.Name, name)
	}
	in.entry = name
	for {
		in.setRunning(true)
		res, err := fn.Call(ctx, args...)
		in.setRunning(false)
		if err != nil || !in.unwound || !in.takeYield() {
			return res, in.outcome(err)
		}
		// A yield: Go had its safe points on the way out; rewind at once.
		// Every goschedEvery, let the other goroutines have this P: the
		// scheduler would only take it back after a 10 ms time slice,
		// and a spinning guest would slow every request to the node.
		// Not at every yield: runtime.Gosched may move the guest to
		// another thread, at ten times the cost of the yield itself.
		in.unwound = false
		reverse(in.frames)
		in.rewind, in.frames, in.rewinding = in.frames, nil, true
		unwind := time.Since(in.unwindAt)
		if time.Since(in.gosched) > goschedEvery {
			runtime.Gosched()
			in.gosched = time.Now()
		}
		in.yieldStart = time.Now().Add(-unwind) // the yield's cost leaves Gosched out
		args = zeroArgs(fn)
	}
}

// Yield period of compiled code: about every yieldPeriod of guest time,
// longer where a yield (unwind and rewind of the whole stack) costs more
// than 1% of that, so a deep stack does not pay much more than a shallow
// one.
const (
	yieldPeriod   = 100 * time.Microsecond
	goschedEvery  = 2 * time.Millisecond
	hurrySpin     = 50 * time.Microsecond
	hurryEvery    = 100 * time.Microsecond
	hurryFor      = 2 * time.Millisecond
	initialBudget = 1 << 10
	maxBudget     = 1 << 24
)

// takeYield reports whether the unwind that just ended is a yield, not a
// pause (a pause that came during a yield makes it one), and adapts the
// budget of the next run: it doubles while runs end faster than half the
// period and scales down at once when they last more than twice it (a
// blocking call counts as running here).
func (in *Instance) takeYield() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	y := in.yielding && !in.pauseReq
	in.yielding = false
	if !y {
		return false
	}
	period, ran := max(yieldPeriod, 100*in.yieldCost), in.unwindAt.Sub(in.runSince)
	switch {
	case ran < period/2:
		in.budget = int32(min(2*int64(in.budget), maxBudget))
	case ran > 2*period:
		in.budget = int32(max(int64(in.budget)*int64(period)/int64(ran), 1))
	}
	return true
}

// Resume continues a restored instance: it re-enters the export that was
// running, which rewinds to where the snapshot was taken.
func (in *Instance) Resume(ctx context.Context) ([]uint64, error) {
	fn := in.inst.ExportedFunction(in.entry)
	if fn == nil {
		return nil, fmt.Errorf("%s has no export %q", in.mod.Name, in.entry)
	}
	return in.Call(ctx, in.entry, zeroArgs(fn)...)
}

func (in *Instance) outcome(err error) error {
	var exit *sys.ExitError
	switch {
	case err == nil && in.unwound:
		in.unwound = false
		reverse(in.frames)
		in.wasi.PauseClock() // the guest never sees time spent paused
		return ErrPaused
	case err == nil:
		return nil
	case errors.As(err, &exit):
		return exit
	case in.hostErr != nil:
		return in.hostErr
	}
	return &TrapError{Err: err}
}

func reverse(fs []snapshot.Frame) {
	for i, j := 0, len(fs)-1; i < j; i, j = i+1, j-1 {
		fs[i], fs[j] = fs[j], fs[i]
	}
}

// Continue makes a paused instance go on in place, without a snapshot: the
// pause request is cleared and the next Run rewinds the frames it unwound
// into this same instance.
func (in *Instance) Continue() error {
	if len(in.frames) == 0 {
		return errors.New("instance is not paused")
	}
	in.mu.Lock()
	in.pauseReq = false
	in.pauseFlag.Store(false)
	in.mu.Unlock()
	in.wasi.ClearInterrupt()
	in.wasi.ResumeClock()
	in.rewind, in.frames, in.rewinding = in.frames, nil, true
	return nil
}

// PausedAt names the function the instance paused in.
func (in *Instance) PausedAt() string {
	if len(in.frames) == 0 {
		return "?"
	}
	return in.mod.FuncName(in.frames[len(in.frames)-1].Func)
}

// Capture copies the state of a paused instance into a snapshot.
func (in *Instance) Capture() (*snapshot.Snapshot, error) { return in.capture(true) }

// CaptureShared is Capture without copying memory: the snapshot's Memory is
// the paused instance's own, valid until the instance runs again or closes.
// Migration sends from it only the chunks that changed since pre-copy.
func (in *Instance) CaptureShared() (*snapshot.Snapshot, error) { return in.capture(false) }

func (in *Instance) capture(clone bool) (*snapshot.Snapshot, error) {
	if len(in.frames) == 0 {
		return nil, errors.New("instance is not paused")
	}
	ws, err := in.wasi.Save()
	if err != nil {
		return nil, fmt.Errorf("save WASI state: %w", err)
	}
	s := &snapshot.Snapshot{
		ModuleDigest: in.mod.Digest, ModuleName: in.mod.Name, TransformVersion: transform.Version,
		TakenAt: time.Now(), Engine: string(in.rt.kind), Stage: uint32(in.stage), Entry: in.entry,
		Frames: in.frames, WASI: ws, FuncNames: map[uint32]string{},
		DroppedData: in.droppedData, DroppedElem: in.droppedElem,
	}
	if mem := in.memory(); mem != nil {
		s.Memory, _ = mem.Read(0, mem.Size())
		if clone {
			s.Memory = bytes.Clone(s.Memory)
		}
		s.MemoryPages = mem.Size() / 65536
	}
	for g := uint32(0); g < in.mod.numGlobals(); g++ {
		v, err := in.global(g)
		if err != nil {
			return nil, err
		}
		s.Globals = append(s.Globals, v)
	}
	for _, f := range s.Frames {
		s.FuncNames[f.Func] = in.mod.FuncName(f.Func)
	}
	return s, nil
}

// Restore instantiates m from a snapshot; Run then continues it where it
// paused. The WASI host reopens its files; stdio come from the caller.
func (r *Runtime) Restore(ctx context.Context, m *Module, s *snapshot.Snapshot, stdio Stdio) (*Instance, error) {
	if err := r.checkSnapshot(m, s); err != nil {
		return nil, err
	}
	h, err := wasi.Restore(wasi.Config{Stdin: stdio.Stdin, Stdout: stdio.Stdout, Stderr: stdio.Stderr, Volumes: r.volumes}, s.WASI)
	if err != nil {
		return nil, fmt.Errorf("restore WASI state: %w", err)
	}
	in, err := r.instantiate(ctx, m, h)
	if err != nil {
		return nil, err
	}
	if err := in.load(ctx, s, true); err != nil {
		in.Close(ctx)
		return nil, err
	}
	return in, nil
}

// checkSnapshot refuses a snapshot of another module or instrumentation.
func (r *Runtime) checkSnapshot(m *Module, s *snapshot.Snapshot) error {
	if Digest(s.ModuleDigest) != m.Digest {
		return fmt.Errorf("snapshot is for module %s, not %s (%s)", Digest(s.ModuleDigest), m.Name, m.Digest)
	}
	if s.TransformVersion != transform.Version {
		return fmt.Errorf("snapshot was taken with instrumentation version %d; this build uses %d", s.TransformVersion, transform.Version)
	}
	if !m.Migratable {
		return errors.New("a snapshot can only be restored in migratable mode")
	}
	if limit := r.MaxFrames(); limit > 0 && len(s.Frames) > limit {
		return &DepthError{Frames: len(s.Frames), Limit: limit, Kind: r.kind}
	}
	return nil
}

// interpreterCallFrames is the call stack ceiling of wazero v1.12.0's
// interpreter (callStackCeiling in internal/engine/interpreter), counted in
// frames, host function calls included: one more call past it traps with
// "stack overflow". It is a package variable of an internal package and an
// int, so neither an option nor -ldflags -X can raise it. The compiler has
// no frame limit: its stack may grow to 400 MB.
const interpreterCallFrames = 2000

// MaxFrames is the deepest snapshot, in frames, this runtime can resume,
// or 0 when no frame count limits it. A resumed guest calls a host
// function (its blocking WASI call, or the next one) from its innermost
// frame, which takes one frame more.
func (r *Runtime) MaxFrames() int {
	if r.kind == Interpreter {
		return interpreterCallFrames - 1
	}
	return 0
}

// DepthError: a snapshot deeper than the engine can resume.
type DepthError struct {
	Frames, Limit int
	Kind          Kind
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("the instance is %d calls deep; the %s engine resumes at most %d", e.Frames, e.Kind, e.Limit)
}

// load puts a snapshot's state into the instance; withMemory copies its
// memory in (a staged instance has it already).
func (in *Instance) load(ctx context.Context, s *snapshot.Snapshot, withMemory bool) error {
	if in.plan != nil && (int(s.Stage) >= len(in.plan) || in.plan[s.Stage] != s.Entry) {
		return fmt.Errorf("snapshot entry %q (stage %d) does not match the module", s.Entry, s.Stage)
	}
	in.stage, in.entry = int(s.Stage), s.Entry
	if withMemory {
		if err := in.loadMemory(s); err != nil {
			return err
		}
	}
	for g, v := range s.Globals {
		if err := in.setGlobal(uint32(g), v); err != nil {
			return err
		}
	}
	if err := in.replayDrops(ctx, transform.ExportData, s.DroppedData); err != nil {
		return err
	}
	if err := in.replayDrops(ctx, transform.ExportElem, s.DroppedElem); err != nil {
		return err
	}
	in.droppedData, in.droppedElem = s.DroppedData, s.DroppedElem
	in.rewind, in.rewinding = s.Frames, len(s.Frames) > 0
	return nil
}

// memory returns the instance's memory, or nil when the module has none
// (wazero then returns a typed nil pointer inside the interface).
func (in *Instance) memory() api.Memory {
	mem := in.inst.Memory()
	if mem == nil || reflect.ValueOf(mem).IsNil() {
		return nil
	}
	return mem
}

func (in *Instance) loadMemory(s *snapshot.Snapshot) error {
	mem := in.memory()
	if mem == nil {
		if s.MemoryPages != 0 {
			return errors.New("snapshot has memory but the module has none")
		}
		return nil
	}
	cur := mem.Size() / 65536
	if s.MemoryPages < cur {
		return fmt.Errorf("snapshot memory (%d pages) is smaller than the module's initial memory (%d)", s.MemoryPages, cur)
	}
	if _, ok := mem.Grow(s.MemoryPages - cur); !ok {
		return fmt.Errorf("cannot grow memory to %d pages", s.MemoryPages)
	}
	if !mem.Write(0, s.Memory) {
		return errors.New("snapshot memory does not fit")
	}
	return nil
}

func (in *Instance) replayDrops(ctx context.Context, export string, idx []uint32) error {
	if len(idx) == 0 {
		return nil
	}
	fn := in.inst.ExportedFunction(export)
	if fn == nil {
		return fmt.Errorf("snapshot drops segments but the module has no %s", export)
	}
	for _, i := range idx {
		if _, err := fn.Call(ctx, uint64(i)); err != nil {
			return fmt.Errorf("replay drop of segment %d: %w", i, err)
		}
	}
	return nil
}

// global reads global g through the exports the transform added; globals
// that cannot change (immutable v128 and references) read as zero values.
func (in *Instance) global(g uint32) (snapshot.Value, error) {
	if gl := in.inst.ExportedGlobal(transform.GlobalExport(g)); gl != nil {
		return snapshot.Value{Type: byte(gl.Type()), Lo: gl.Get()}, nil
	}
	if get := in.inst.ExportedFunction(transform.GlobalGetter(g)); get != nil {
		r, err := get.Call(context.Background())
		if err != nil {
			return snapshot.Value{}, fmt.Errorf("read v128 global %d: %w", g, err)
		}
		return snapshot.Value{Type: snapshot.TypeV128, Lo: r[0], Hi: r[1]}, nil
	}
	// An immutable global the host cannot read (a reference, a v128):
	// instantiation gives it its value and restore leaves it, so only its
	// type is recorded (a typeless value would not encode).
	if int(g) < len(in.mod.gTypes) {
		return snapshot.Value{Type: byte(in.mod.gTypes[g])}, nil
	}
	return snapshot.Value{}, nil
}

// setGlobal restores a mutable global; others are as instantiation made them.
func (in *Instance) setGlobal(g uint32, v snapshot.Value) error {
	if gl, ok := in.inst.ExportedGlobal(transform.GlobalExport(g)).(api.MutableGlobal); ok {
		if byte(gl.Type()) != v.Type {
			return fmt.Errorf("snapshot global %d has type 0x%x, the module's is 0x%x", g, v.Type, byte(gl.Type()))
		}
		gl.Set(v.Lo)
		return nil
	}
	if set := in.inst.ExportedFunction(transform.GlobalSetter(g)); set != nil {
		if v.Type != snapshot.TypeV128 {
			return fmt.Errorf("snapshot global %d has type 0x%x, the module's is v128", g, v.Type)
		}
		if _, err := set.Call(context.Background(), v.Lo, v.Hi); err != nil {
			return fmt.Errorf("restore v128 global %d: %w", g, err)
		}
	}
	return nil
}
