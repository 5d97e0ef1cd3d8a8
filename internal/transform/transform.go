// Package transform rewrites a WebAssembly module so that its call stack can
// be unwound into a portable record and rewound later (DESIGN.md section 2).
//
// Safe points are loop headers, the entry of recursive functions that may
// recurse outside a loop, calls that may unwind and calls to blocking
// imports. At a safe point, a pause request makes every frame save its
// locals and live operand-stack values through small host imports (module
// "roam") and return; a rewind re-enters the entry export and each frame
// jumps back to where it was. Functions that can reach no safe point are
// left untouched. The output is deterministic.
//
// It must not depend on any engine, on HTTP or on orchestration code.
package transform

import (
	"fmt"

	"github.com/roam-edge/roam/internal/wasm"
)

// Version identifies the instrumentation scheme; snapshots record it and a
// resume refuses a snapshot taken with another one.
//
// History: 1 (2026-11-26) first scheme; 2 (2026-11-26) integer remainders
// rewritten as divisions (avoidRemainders); 3 (2026-12-04) compiled code
// counts its polls and yields to Go when the count runs out (emitPoll);
// 4 (2026-12-05) memory.fill and memory.copy run in chunks (chunkBulkMemory),
// so their sites are calls and safe points are numbered anew; 5 (2026-12-05)
// no entry poll in a recursive function whose calls into its own cycle are
// all in loops (callsOwnCycleOutsideLoops); small loops without calls
// unrolled (unrollLoops).
const Version = 5

// HostModule is the import module of the functions the instrumented code calls.
const HostModule = "roam"

// Names of the exports the transform adds.
const (
	ExportState = "roam.state" // i32 global: 0 running, 1 unwinding, 2 rewinding
	ExportTick  = "roam.tick"  // i32 global: polls left before compiled code yields (see emitPoll)
	ExportStart = "roam.start" // the module's start function, taken out of the start section
	ExportData  = "roam.data_drop"
	ExportElem  = "roam.elem_drop"
	MetaSection = "roam.meta"
)

// State values of the ExportState global.
const (
	StateRunning   = 0
	StateUnwinding = 1
	StateRewinding = 2
)

// Safe point kinds, as passed to roam.unwind.
const (
	KindLoop   = 0 // a loop header or the entry of a recursive function
	KindCall   = 1 // after a call that may unwind
	KindImport = 2 // around a call to a blocking import
)

// GlobalExport names the export that exposes global idx.
func GlobalExport(idx uint32) string { return fmt.Sprintf("roam.g%d", idx) }

// GlobalGetter and GlobalSetter name the functions that read and write a
// mutable v128 global idx as two i64 halves (low, high).
func GlobalGetter(idx uint32) string { return fmt.Sprintf("roam.gget%d", idx) }
func GlobalSetter(idx uint32) string { return fmt.Sprintf("roam.gset%d", idx) }

// Options select a variant of the instrumentation. Every variant has the same
// function indices and safe points, so a snapshot moves between them.
type Options struct {
	// PollImport polls the pause flag through the roam.poll import instead of
	// reading the state global; an interpreter needs it to stay race-free.
	PollImport bool
	// Blocking reports whether an imported function may block; calls to it
	// become interruptible safe points.
	Blocking func(module, name string) bool
}

// Error is a refusal: the module uses something migratable mode cannot
// capture. The module may still run with migratable mode off.
type Error struct {
	Func    uint32 // function index, when the refusal is about one function
	Name    string // the function's name from the name section, if any
	Feature string
	inFunc  bool // Func is meaningful even when it is 0
}

func (e *Error) Error() string {
	if e.Func == 0 && e.Name == "" && !e.inFunc {
		return e.Feature
	}
	if e.Name != "" {
		return fmt.Sprintf("function %d (%s): %s", e.Func, e.Name, e.Feature)
	}
	return fmt.Sprintf("function %d: %s", e.Func, e.Feature)
}

// Instrument rewrites a copy of m. The input module is not modified.
func Instrument(m *wasm.Module, opts Options) (*wasm.Module, error) {
	out := cloneModule(m)
	if err := refuseUnsupported(out); err != nil {
		return nil, err
	}
	avoidRemainders(out)
	chunkBulkMemory(out)
	unrollLoops(out)
	t, err := newTransformer(out, opts)
	if err != nil {
		return nil, err
	}
	if err := t.run(); err != nil {
		return nil, err
	}
	return out, nil
}
