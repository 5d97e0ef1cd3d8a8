package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/roam-edge/roam/internal/snapshot"
	"github.com/roam-edge/roam/internal/transform"
	"github.com/roam-edge/roam/internal/wasi"
	"github.com/roam-edge/roam/internal/wasm"
)

// wasiSignatures lists the WASI functions; the host built here only serves
// for their names and signatures.
func wasiSignatures() []wasi.Func {
	h, err := wasi.New(wasi.Config{})
	if err != nil {
		panic(fmt.Sprintf("engine: empty WASI host: %v", err))
	}
	return h.Funcs()
}

func apiTypes(ts []wasm.ValType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}

// memory adapts the instance's linear memory to the WASI host.
type memory struct{ m api.Memory }

func (m memory) Read(off, n uint32) ([]byte, bool) { return m.m.Read(off, n) }
func (m memory) Write(off uint32, b []byte) bool   { return m.m.Write(off, b) }

// instantiateWASI registers the WASI host functions of this instance.
func (in *Instance) instantiateWASI(ctx context.Context) error {
	b := in.wz.NewHostModuleBuilder(wasi.ModuleName)
	in.wasiFuncs = in.wasi.Funcs()
	for i, f := range in.wasiFuncs {
		// Looked up at call time: a staged instance swaps its host.
		call := func(ctx context.Context, mod api.Module, stack []uint64) {
			in.callWASI(ctx, in.wasiFuncs[i], mod, stack)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(call), apiTypes(f.Params), apiTypes(f.Results)).Export(f.Name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

func (in *Instance) callWASI(ctx context.Context, f wasi.Func, mod api.Module, stack []uint64) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(*wasi.ExitError); ok {
				panic(sys.NewExitError(e.Code))
			}
			panic(r)
		}
	}()
	f.Call(ctx, memory{mod.Memory()}, stack)
	// Only a migratable instance unwinds here; another is interrupted only
	// when its context ends, and wazero then closes it at its next check.
	if f.Blocking && in.wasi.TakeInterrupted() && in.mod.Migratable {
		in.mu.Lock()
		in.recall = true
		in.setStateLocked(transform.StateUnwinding)
		in.mu.Unlock()
	}
}

// instantiateRoam registers the functions instrumented code calls to save
// and restore frames.
func (in *Instance) instantiateRoam(ctx context.Context) error {
	fns := map[string]api.GoModuleFunc{
		"poll":         in.poll,
		"unwind":       in.unwind,
		"rewind":       in.rewindFrame,
		"rewound":      in.rewound,
		"rewound_loop": in.rewoundLoop,
		"push_i32":     in.pusher(wasm.I32),
		"push_i64":     in.pusher(wasm.I64),
		"push_f32":     in.pusher(wasm.F32),
		"push_f64":     in.pusher(wasm.F64),
		"pop_i32":      in.popper(wasm.I32),
		"pop_i64":      in.popper(wasm.I64),
		"pop_f32":      in.popper(wasm.F32),
		"pop_f64":      in.popper(wasm.F64),
		"data_dropped": func(_ context.Context, _ api.Module, s []uint64) {
			in.droppedData = append(in.droppedData, uint32(s[0]))
		},
		"elem_dropped": func(_ context.Context, _ api.Module, s []uint64) {
			in.droppedElem = append(in.droppedElem, uint32(s[0]))
		},
	}
	b := in.wz.NewHostModuleBuilder(transform.HostModule)
	sigs := transform.HostFuncs()
	for i, name := range transform.HostFuncNames() {
		if fns[name] == nil {
			return fmt.Errorf("engine: no host function for %s.%s", transform.HostModule, name)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(fns[name], apiTypes(sigs[i].Params), apiTypes(sigs[i].Results)).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// poll is the interpreter's pause check: the request arrives through an
// atomic flag, never by writing the global from another goroutine.
// Compiled code counts the tick global down instead, and yields when it
// runs out (see unwind and Call).
func (in *Instance) poll(_ context.Context, _ api.Module, stack []uint64) {
	if in.skipPoll {
		in.skipPoll = false
		stack[0] = uint64(in.state)
		return
	}
	if in.pauseFlag.Load() && in.state == transform.StateRunning {
		in.mu.Lock()
		in.setStateLocked(transform.StateUnwinding)
		in.mu.Unlock()
	}
	stack[0] = uint64(in.state)
}

// unwind closes the frame whose values were just pushed. The first frame of
// an unwind is the innermost: after a call it resumes after the call (the
// callee returned), unless a blocking import was interrupted and must run again.
func (in *Instance) unwind(_ context.Context, _ api.Module, stack []uint64) {
	fn, site, kind := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	mode := uint32(0)
	if len(in.frames) == 0 {
		if kind == transform.KindCall || (kind == transform.KindImport && !in.recall) {
			mode = 1
		}
		in.recall = false // consumed: a later pause must not call a completed import again
		in.mu.Lock()
		if in.state == transform.StateRunning && in.tickG != nil {
			// Compiled code whose poll count ran out: the callers unwind
			// too, and Call rewinds at once unless a pause came meanwhile.
			in.yielding = true
			in.unwindAt = time.Now()
			in.setStateLocked(transform.StateUnwinding)
		}
		in.mu.Unlock()
	}
	in.frames = append(in.frames, snapshot.Frame{Func: fn, Site: 2*site + mode, Values: in.pending})
	in.pending = nil
	in.unwound = true
}

func (in *Instance) pusher(t wasm.ValType) api.GoModuleFunc {
	return func(_ context.Context, _ api.Module, stack []uint64) {
		v := stack[0]
		if t == wasm.I32 || t == wasm.F32 {
			v = uint64(uint32(v))
		}
		in.pending = append(in.pending, snapshot.Value{Type: byte(t), Lo: v})
	}
}

// rewindFrame starts restoring the next frame, outermost first, and returns
// its landing id.
func (in *Instance) rewindFrame(_ context.Context, _ api.Module, stack []uint64) {
	fn := uint32(stack[0])
	if in.rewindPos >= len(in.rewind) {
		in.fail(fmt.Errorf("snapshot has %d frames but the module asked for more", len(in.rewind)))
	}
	f := in.rewind[in.rewindPos]
	if f.Func != fn {
		in.fail(fmt.Errorf("snapshot frame %d is function %d but the module entered function %d", in.rewindPos, f.Func, fn))
	}
	in.rewindPos++
	in.cur = append(in.cur[:0], f.Values...)
	stack[0] = uint64(f.Site)
}

func (in *Instance) popper(t wasm.ValType) api.GoModuleFunc {
	return func(_ context.Context, _ api.Module, stack []uint64) {
		if len(in.cur) == 0 {
			in.fail(fmt.Errorf("snapshot frame %d has too few values", in.rewindPos-1))
		}
		v := in.cur[len(in.cur)-1]
		in.cur = in.cur[:len(in.cur)-1]
		if v.Type != byte(t) {
			in.fail(fmt.Errorf("snapshot frame %d: value of type 0x%x where 0x%x was expected", in.rewindPos-1, v.Type, byte(t)))
		}
		stack[0] = v.Lo
	}
}

// rewound ends a rewind: the innermost frame reached its safe point.
func (in *Instance) rewound(_ context.Context, _ api.Module, _ []uint64) {
	in.endRewind(false)
}

// rewoundLoop ends a rewind that goes back to a loop header, whose poll
// runs again. A pause already pending must not fire at that same poll, or
// the instance would stop where it started: that poll is skipped (on
// compiled code, the tick global lets rewoundLoopPolls polls through).
const rewoundLoopPolls = 16

func (in *Instance) rewoundLoop(_ context.Context, _ api.Module, _ []uint64) {
	in.endRewind(true)
}

func (in *Instance) endRewind(loop bool) {
	if in.rewindPos != len(in.rewind) || len(in.cur) != 0 {
		in.fail(fmt.Errorf("snapshot frames do not match the module's call stack"))
	}
	in.rewind, in.rewindPos = nil, 0
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rewinding = false // under mu: PauseAfter reads it from other goroutines
	in.armPauseLocked()
	switch {
	case !in.pauseReq:
		in.setStateLocked(transform.StateRunning)
	case !loop:
		in.setStateLocked(transform.StateUnwinding)
	case in.tickG != nil:
		// Compiled code: the pause lands a few polls later.
		in.setStateLocked(transform.StateRunning)
		in.tickG.Set(rewoundLoopPolls)
	default:
		in.setStateLocked(transform.StateRunning)
		in.skipPoll = true
	}
	if in.tickG != nil {
		in.runSince = time.Now()
		if !in.yieldStart.IsZero() {
			in.yieldCost, in.yieldStart = in.runSince.Sub(in.yieldStart), time.Time{}
		}
	}
}

// fail aborts the guest with a host error that Run reports as is.
func (in *Instance) fail(err error) {
	in.hostErr = err
	panic(err)
}

// zeroArgs returns zero arguments for an exported function.
func zeroArgs(fn api.Function) []uint64 { return make([]uint64, len(fn.Definition().ParamTypes())) }
