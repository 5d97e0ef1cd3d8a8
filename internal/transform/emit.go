package transform

import (
	"errors"
	"fmt"

	"github.com/roam-edge/roam/internal/wasm"
)

// fnT instruments one function that may unwind.
type fnT struct {
	t      *transformer
	orig   uint32 // original function index, recorded in frames
	sig    wasm.FuncType
	locals []wasm.ValType // params, declared locals, then ours
	saved  int            // locals [0, saved) and [firstTemp, len) are saved in frames
	live   map[int]bitset // safe point -> original locals live there

	v128tmp, i64tmp uint32
	firstTemp       int

	nextSP     int
	entrySP    int // safe point at the entry of a recursive function, or -1
	out        []wasm.Instr
	labels     []int // output label stack: original label id, or -1 for ours
	origLabels []int // original label stack
	nextLabel  int
}

// level describes one instruction sequence being emitted: the function body
// or the body of a block, loop or if branch.
type level struct {
	params    []wasm.ValType // the sequence's initial operand stack
	base      int            // where its values start in the full stack
	loop      bool
	fn        bool
	headerSP  int // loop header or function-entry safe point, or -1
	counter   int // loop whose body makes no call: local counting its polls, or -1
	countFrom int32
	loopLabel int // loop: index of its label in fnT.labels
	lo, hi    int // safe point numbers inside [lo, hi)
}

func (f *fnT) run(tree []node) error {
	f.entrySP = -1
	if f.t.an.entryPoll[f.orig-f.t.numImportedFuncs] {
		f.entrySP = f.nextSP
		f.nextSP++
	}
	if err := f.mark(tree); err != nil {
		return err
	}
	f.saved = len(f.locals)
	f.v128tmp = f.addLocal(wasm.V128)
	f.i64tmp = f.addLocal(wasm.I64)
	f.assignCounters(tree, -1)
	f.firstTemp = len(f.locals)
	if err := f.allocTemps(tree, 0); err != nil {
		return err
	}
	for i, l := range f.locals {
		if f.isSaved(i) && l.IsRef() {
			return fmt.Errorf("a reference-typed local (%d) would be live across a safe point; migratable mode cannot capture it", i)
		}
	}
	f.live = computeLiveness(tree, f.saved, f.entrySP)
	f.pushOrigLabel()
	f.emitLevel(tree, level{fn: true, headerSP: f.entrySP, counter: -1, lo: 0, hi: f.nextSP}, nil)
	f.out = append(f.out, wasm.Instr{Op: wasm.OpEnd})
	return nil
}

func (f *fnT) addLocal(t wasm.ValType) uint32 {
	f.locals = append(f.locals, t)
	return uint32(len(f.locals) - 1)
}

func (f *fnT) isSaved(i int) bool { return i < f.saved || i >= f.firstTemp }

// mark numbers the safe points in pre-order and records which constructs
// contain some.
func (f *fnT) mark(seq []node) error {
	for i := range seq {
		n := &seq[i]
		if !n.reach {
			continue
		}
		switch n.in.Op {
		case wasm.OpCall, wasm.OpCallIndirect:
			if f.isSafeCall(n) {
				n.sp = f.nextSP
				f.nextSP++
				if err := checkNoRefs(n.stack); err != nil {
					return err
				}
			}
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			n.lo = f.nextSP
			if n.in.Op == wasm.OpLoop {
				f.nextSP++
			}
			if err := f.mark(n.body); err != nil {
				return err
			}
			n.mid = f.nextSP
			if err := f.mark(n.els); err != nil {
				return err
			}
			n.hi = f.nextSP
			n.hasSP = n.hi > n.lo
			if n.hasSP {
				if err := checkNoRefs(n.stack); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkNoRefs(stack []wasm.ValType) error {
	for _, t := range stack {
		if t.IsRef() {
			return errors.New("a reference-typed value would be live across a safe point; migratable mode cannot capture it")
		}
		if t == wasm.Unknown {
			return errors.New("operand stack type unknown at a safe point")
		}
	}
	return nil
}

func (f *fnT) isSafeCall(n *node) bool {
	t := f.t
	if n.in.Op == wasm.OpCallIndirect {
		return int(n.in.Imm) < len(t.m.Types) && t.spCalls[sigKey(t.m.Types[n.in.Imm])]
	}
	callee := uint32(n.in.Imm)
	if callee < t.numImportedFuncs {
		n.import_ = t.blocking[callee]
		return n.import_
	}
	return t.an.mayUnwind[callee-t.numImportedFuncs]
}

// calleeSig returns the signature of the function a call node calls.
func (f *fnT) calleeSig(n *node) wasm.FuncType {
	if n.in.Op == wasm.OpCallIndirect {
		return f.t.m.Types[n.in.Imm]
	}
	sig, _ := f.t.m.FuncTypeOf(f.t.newFuncIndex(uint32(n.in.Imm)))
	return sig
}

// callArgs is what a call takes from the stack: the callee's params, then
// the table index of call_indirect.
func (f *fnT) callArgs(n *node) []wasm.ValType {
	args := append([]wasm.ValType(nil), f.calleeSig(n).Params...)
	if n.in.Op == wasm.OpCallIndirect {
		args = append(args, wasm.I32)
	}
	return args
}

// allocTemps gives locals to the values that must leave the operand stack:
// the values below a construct that contains safe points (so that only the
// innermost sequence's values are on the stack at a safe point), and the
// arguments of blocking imports and indirect calls (a re-executed call needs
// them: the same import arguments, the same table slot).
func (f *fnT) allocTemps(seq []node, base int) error {
	for i := range seq {
		n := &seq[i]
		switch {
		case n.sp >= 0 && (n.import_ || n.in.Op == wasm.OpCallIndirect):
			n.argTemps = f.addLocals(f.callArgs(n))
		case n.hasSP:
			ins, outs, err := f.constructIO(n)
			if err != nil {
				return err
			}
			inner := len(n.stack) - len(ins)
			below := n.stack[base:inner]
			if len(below) > 0 {
				n.below = f.addLocals(below)
				n.inTemps = f.addLocals(ins)
				n.outTemps = f.addLocals(outs)
			}
			if err := f.allocTemps(n.body, inner); err != nil {
				return err
			}
			if err := f.allocTemps(n.els, inner); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fnT) addLocals(ts []wasm.ValType) []uint32 {
	out := make([]uint32, len(ts))
	for i, t := range ts {
		out[i] = f.addLocal(t)
	}
	return out
}

// constructIO returns what a construct takes from the stack (its params,
// then the condition of an if) and what it leaves (its results).
func (f *fnT) constructIO(n *node) (ins, outs []wasm.ValType, err error) {
	params, results, err := f.t.m.BlockSig(n.in.Block)
	if err != nil {
		return nil, nil, err
	}
	ins = append([]wasm.ValType(nil), params...)
	if n.in.Op == wasm.OpIf {
		ins = append(ins, wasm.I32)
	}
	return ins, results, nil
}

// assignCounters gives every loop that contains no call a local that counts
// its header polls down (see emitPrologue), so that its iterations touch no
// memory; loops nested in such a loop share its local. The local is dead
// outside the nest, where calls are, so the compiler has no reason to keep
// it in memory. Both variants have the locals, so frames look the same.
func (f *fnT) assignCounters(seq []node, counter int) {
	for i := range seq {
		n := &seq[i]
		if !n.hasSP {
			continue
		}
		c := counter
		if n.in.Op == wasm.OpLoop {
			if c < 0 && !makesCalls(n.body) {
				c = int(f.addLocal(wasm.I32))
				n.newCounter = true
			}
			n.counter = c
			if c >= 0 {
				n.countFrom = countFrom(size(n.body))
			}
		}
		f.assignCounters(n.body, c)
		f.assignCounters(n.els, c)
	}
}

func makesCalls(seq []node) bool {
	for i := range seq {
		switch seq[i].in.Op {
		case wasm.OpCall, wasm.OpCallIndirect:
			return true
		}
		if makesCalls(seq[i].body) || makesCalls(seq[i].els) {
			return true
		}
	}
	return false
}

// size is the number of instructions of a sequence, nested ones included;
// a bulk memory instruction counts as a whole count of polls (countFrom).
func size(seq []node) int {
	n := len(seq)
	for i := range seq {
		n += size(seq[i].body) + size(seq[i].els)
		switch seq[i].in.Op {
		case wasm.OpMemoryFill, wasm.OpMemoryCopy, wasm.OpMemoryInit:
			n += pollWork
		}
	}
	return n
}
