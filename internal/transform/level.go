package transform

import (
	"github.com/roam-edge/roam/internal/wasm"
)

// Case kinds of a rewind dispatch.
const (
	caseTrap   = iota
	caseHeader // land at the loop header or function entry
	caseEnter  // enter the nested construct node
	caseRecall // re-execute the call node (its callee rewinds, or the import runs again)
	caseAfter  // continue after the call node with its saved results
)

type rewindCase struct {
	kind  int
	scope int // which scope of the dispatch's chain the node belongs to
	node  int
	cond  int32 // caseEnter on an if: 1 for the then branch, 0 for else
}

// scope is a sequence being emitted, with its landing plan. A dispatch
// serves a chain of scopes: its own and the enclosing ones that begin
// directly with it (see sinks).
type scope struct {
	seq []node
	lv  level
	p   *plan
	ran bool // code ran since the function's entry with the dispatch pending (see sinkAt)
}

// plan is where a sequence's landing blocks go: a rewind branches to the
// end of landing block j, which is the point the safe point resumes at.
type plan struct {
	types  [][]wasm.ValType // level stack at each landing
	label  []int            // output label index of each landing block
	before map[int]int      // node index -> landing just before it
	after  map[int]int      // call node index -> landing just after its check
	header int              // landing after the function-entry prologue, or -1
}

func (f *fnT) planLevel(seq []node, lv level) *plan {
	p := &plan{before: map[int]int{}, after: map[int]int{}, header: -1}
	if lv.headerSP >= 0 && !lv.loop {
		p.header = 0
		p.types = append(p.types, lv.params)
	}
	for i := range seq {
		n := &seq[i]
		switch {
		case n.hasSP:
			ins, _, _ := f.constructIO(n)
			p.before[i] = len(p.types)
			p.types = append(p.types, ins)
		case n.sp >= 0:
			st := n.stack[lv.base:]
			p.before[i] = len(p.types)
			p.types = append(p.types, st)
			p.after[i] = len(p.types)
			p.types = append(p.types, f.afterCall(n, st))
		}
	}
	return p
}

// afterCall is the level stack after call node n, given the one before.
func (f *fnT) afterCall(n *node, st []wasm.ValType) []wasm.ValType {
	out := append([]wasm.ValType(nil), st[:len(st)-len(f.callArgs(n))]...)
	return append(out, f.calleeSig(n).Results...)
}

// emitLevel emits a sequence that contains safe points: landing blocks
// around it, a prologue that polls or dispatches a rewind, then the code.
// outer are enclosing scopes whose dispatch this sequence's prologue does.
func (f *fnT) emitLevel(seq []node, lv level, outer []*scope) {
	p := f.planLevel(seq, lv)
	p.label = make([]int, len(p.types))
	for j := len(p.types) - 1; j >= 0; j-- {
		f.open(wasm.OpBlock, f.blockType(lv.params, p.types[j]))
		p.label[j] = len(f.labels) - 1
	}
	sc := &scope{seq: seq, lv: lv, p: p}
	chain := append(append([]*scope(nil), outer...), sc)
	sc.ran = len(outer) > 0 && outer[len(outer)-1].ran
	sink := f.sinkAt(seq, lv, chain[0].lv.fn, sc.ran)
	sc.ran = sc.ran || sink > 0
	if sink < 0 {
		f.emitPrologue(chain)
	}
	if p.header >= 0 {
		f.close()
	}
	for i := range seq {
		n := &seq[i]
		if _, ok := p.before[i]; ok {
			if n.hasSP && n.below != nil {
				f.stashIn(n)
			}
			f.close()
		}
		switch {
		case i == sink:
			f.emitConstruct(n, lv, chain)
		case n.hasSP:
			f.emitConstruct(n, lv, nil)
		case n.sp >= 0:
			f.emitSafeCall(n, lv)
			f.close()
		default:
			f.emitVerbatim(n)
		}
	}
}

// sinkAt returns the node a sequence can leave its rewind dispatch to, or
// -1: a block or loop that contains safe points and takes exactly the
// sequence's values. One check then serves both: Go's code nests dozens of
// blocks at the top of every function loop, each of which would otherwise
// test the state. While the chain starts at the function level (restores:
// its dispatch restores the locals), instructions a rewind may run again
// before the restore (rewindSafe) may come first: clang's functions often
// set a few locals before their first block.
func (f *fnT) sinkAt(seq []node, lv level, restores, ran bool) int {
	if lv.headerSP >= 0 {
		return -1
	}
	for i := range seq {
		if i > 0 && !restores {
			return -1
		}
		n := &seq[i]
		switch {
		case n.hasSP:
			// Into a loop with the locals still to restore only when
			// nothing ran before it (as ran says of the enclosing levels):
			// Go's functions, one big loop each inside a few blocks after
			// a few instructions, ran 1.3 times slower when the restore
			// went into their loop after those.
			if n.below == nil && len(n.stack) == lv.base+len(lv.params) &&
				(n.in.Op == wasm.OpBlock || n.in.Op == wasm.OpLoop && !(restores && (ran || i > 0))) {
				return i
			}
			return -1
		case !rewindSafe(n.in.Op):
			return -1
		}
	}
	return -1
}

// rewindSafe reports whether an instruction may run while a frame is being
// rewound, before its locals are restored: it touches nothing but locals
// and the operand stack, and cannot trap or branch.
func rewindSafe(op wasm.Opcode) bool {
	switch {
	case op == wasm.OpNop, op == wasm.OpDrop, op == wasm.OpSelect, op == wasm.OpSelectT,
		op >= wasm.OpLocalGet && op <= wasm.OpGlobalGet:
		return true
	case op >= wasm.OpI32DivS && op <= wasm.OpI32RemU, op >= wasm.OpI64DivS && op <= wasm.OpI64RemU,
		op >= 0xA8 && op <= 0xAB, op >= 0xAE && op <= 0xB1: // divisions, remainders, trapping truncations
		return false
	}
	return op >= wasm.OpI32Const && op <= 0xC4 // constants and numeric instructions
}

// emitPrologue polls (loops, recursive functions) and, when rewinding,
// restores the frame (function level) and dispatches to a landing of any
// scope of the chain (the last is the sequence being emitted).
func (f *fnT) emitPrologue(chain []*scope) {
	lv := chain[len(chain)-1].lv
	pt := f.blockType(lv.params, lv.params)
	counted := lv.counter >= 0 && !f.t.opts.PollImport
	if counted {
		c := uint64(lv.counter)
		f.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: c}, i32const(1), wasm.Instr{Op: wasm.OpI32Sub},
			wasm.Instr{Op: wasm.OpLocalTee, Imm: c}, i32const(0), wasm.Instr{Op: wasm.OpI32LeS})
		f.open(wasm.OpIf, pt)
		f.emitPoll()
		f.emit(wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(f.t.stateGlobal)}, wasm.Instr{Op: wasm.OpI32Or})
		f.open(wasm.OpIf, pt)
	} else if lv.headerSP >= 0 {
		f.emitPoll()
		f.open(wasm.OpIf, pt)
	}
	f.emit(wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(f.t.stateGlobal)}, i32const(StateRewinding), wasm.Instr{Op: wasm.OpI32Eq})
	f.open(wasm.OpIf, pt)
	for range lv.params {
		f.emit(wasm.Instr{Op: wasm.OpDrop})
	}
	if chain[0].lv.fn {
		f.emitRestoreLocals()
	}
	f.emitDispatch(chain)
	if lv.headerSP >= 0 {
		f.emit(wasm.Instr{Op: wasm.OpElse})
		f.emitUnwind(lv.params, lv.headerSP, KindLoop)
		f.close()
	}
	if counted {
		// Back to the header rather than on into the body: the body then
		// has one definition of the counter to start from, not a phi of
		// two, which wazero's register allocator would keep in memory. The
		// header takes one off again, so the body runs whatever countFrom.
		f.emit(wasm.Instr{Op: wasm.OpElse}, i32const(lv.countFrom+1), wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(lv.counter)})
		f.emitBr(lv.loopLabel)
		f.close()
	}
	f.close()
}

// countFrom is how many header polls of a loop whose body has n
// instructions go by between two reads of the tick global: a few thousand
// instructions, so that the loop pays for the read less than 1% and a
// pause still lands within microseconds.
func countFrom(n int) int32 { return int32(min(max(pollWork/max(n, 1), 1), 1024)) }

// pollWork is about how many instructions run between two reads of the
// tick global in a loop without calls.
const pollWork = 4096

// emitPoll leaves a value that is non-zero when the poll must stop: to
// unwind or, when rewinding, to dispatch. On the interpreter the roam.poll
// import answers every time. Compiled code counts the tick global down and
// stops when it runs out: for a pause or a rewind the host sets it to 0,
// otherwise it is a yield, which the engine rewinds at once. The yield is
// how Go gets a safe point, since compiled guest code cannot be preempted
// and would otherwise stall every stop-the-world of the process. Its path
// leaves the function, so the loop's values need not survive a call (a
// call that came back into the loop would make the compiler spill them on
// every iteration). One global for every poll, so that the count runs out
// however the time is spent: a loop that calls a function with a loop of
// its own counts both.
func (f *fnT) emitPoll() {
	if f.t.opts.PollImport {
		f.emit(f.callHost("poll"))
		return
	}
	tick := wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(f.t.tickGlobal)}
	f.emit(tick, i32const(1), wasm.Instr{Op: wasm.OpI32Sub},
		wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(f.t.tickGlobal)}, tick, i32const(0), wasm.Instr{Op: wasm.OpI32LeS})
}

func (f *fnT) emitRestoreLocals() {
	f.emit(i32const(int32(f.orig)), f.callHost("rewind"), wasm.Instr{Op: wasm.OpGlobalSet, Imm: uint64(f.t.siteGlobal)})
	for i := len(f.locals) - 1; i >= 0; i-- {
		if f.isSaved(i) {
			f.emitPop(f.locals[i])
			f.emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(i)})
		}
	}
}

// cases maps every landing id of the chain's outermost scope to what the
// rewind does there; the innermost scope that holds an id decides.
func (f *fnT) cases(chain []*scope) []rewindCase {
	outer := chain[0].lv
	out := make([]rewindCase, 2*(outer.hi-outer.lo))
	for k, sc := range chain {
		f.scopeCases(k, sc, out[2*(sc.lv.lo-outer.lo):2*(sc.lv.hi-outer.lo)])
	}
	return out
}

// scopeCases fills out (the ids of sc's range) with sc's cases.
func (f *fnT) scopeCases(k int, sc *scope, out []rewindCase) {
	lv := sc.lv
	if lv.headerSP >= 0 {
		out[2*(lv.headerSP-lv.lo)] = rewindCase{kind: caseHeader, scope: k}
	}
	for i := range sc.seq {
		n := &sc.seq[i]
		switch {
		case n.sp >= 0:
			out[2*(n.sp-lv.lo)] = rewindCase{kind: caseRecall, scope: k, node: i}
			out[2*(n.sp-lv.lo)+1] = rewindCase{kind: caseAfter, scope: k, node: i}
		case n.hasSP:
			for s := n.lo; s < n.hi; s++ {
				c := rewindCase{kind: caseEnter, scope: k, node: i, cond: -1}
				if n.in.Op == wasm.OpIf {
					c.cond = 0
					if s < n.mid {
						c.cond = 1
					}
				}
				out[2*(s-lv.lo)], out[2*(s-lv.lo)+1] = c, c
			}
		}
	}
}

// emitDispatch branches on the landing id to the case that rebuilds the
// level's operand stack and jumps to the landing.
func (f *fnT) emitDispatch(chain []*scope) {
	ids := f.cases(chain)
	var uniq []rewindCase
	targets := make([]uint32, len(ids)+1)
	for i, c := range ids {
		k := -1
		for j, u := range uniq {
			if u == c {
				k = j
			}
		}
		if c.kind == caseTrap {
			k = -2
		} else if k < 0 {
			uniq = append(uniq, c)
			k = len(uniq) - 1
		}
		targets[i] = uint32(k)
	}
	for i := range targets {
		if int32(targets[i]) < 0 {
			targets[i] = uint32(len(uniq))
		}
	}
	targets[len(ids)] = uint32(len(uniq))
	for range uniq {
		f.open(wasm.OpBlock, wasm.BlockType{})
	}
	f.open(wasm.OpBlock, wasm.BlockType{})
	f.emit(wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(f.t.siteGlobal)}, i32const(int32(2*chain[0].lv.lo)), wasm.Instr{Op: wasm.OpI32Sub},
		wasm.Instr{Op: wasm.OpBrTable, Labels: targets})
	for _, c := range uniq {
		f.close()
		sc := chain[c.scope]
		f.emitCase(sc.seq, sc.lv, sc.p, c)
	}
	f.close()
	f.emit(wasm.Instr{Op: wasm.OpUnreachable})
}

func (f *fnT) emitCase(seq []node, lv level, p *plan, c rewindCase) {
	var n *node
	if c.kind != caseHeader {
		n = &seq[c.node]
	}
	switch c.kind {
	case caseHeader:
		f.emitPops(lv.params)
		if lv.loop {
			// Back through the loop's own label: the loop start already
			// joins two paths, where a landing block after the poll would
			// add a join inside the loop body, and the compiler would then
			// reload the memory base and spilled values every iteration.
			// The host lets this pass of the poll through (see rewound_loop).
			f.emit(f.callHost("rewound_loop"))
			f.emitBr(lv.loopLabel)
			return
		}
		f.emit(f.callHost("rewound"))
		f.emitBr(p.label[p.header])
	case caseEnter:
		ins, _, _ := f.constructIO(n)
		if c.cond >= 0 {
			ins = ins[:len(ins)-1]
		}
		f.emitDummies(ins)
		if c.cond >= 0 {
			f.emit(i32const(c.cond))
		}
		f.emitBr(p.label[p.before[c.node]])
	case caseRecall, caseAfter:
		st := n.stack[lv.base:]
		sig := f.calleeSig(n)
		args := f.callArgs(n)
		f.emitPops(st[:len(st)-len(args)])
		f.emitPops(sig.Results)
		if c.kind == caseAfter {
			f.emit(f.callHost("rewound"))
			f.emitBr(p.label[p.after[c.node]])
			return
		}
		for range sig.Results {
			f.emit(wasm.Instr{Op: wasm.OpDrop})
		}
		if n.argTemps != nil {
			for _, l := range n.argTemps {
				f.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(l)})
			}
		} else {
			f.emitDummies(args)
		}
		if n.import_ {
			f.emit(f.callHost("rewound"))
		}
		f.emitBr(p.label[p.before[c.node]])
	}
}

// emitSafeCall emits a call that may unwind and the check after it.
func (f *fnT) emitSafeCall(n *node, lv level) {
	if n.argTemps != nil {
		for i := len(n.argTemps) - 1; i >= 0; i-- {
			f.emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(n.argTemps[i])})
		}
		for _, l := range n.argTemps {
			f.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(l)})
		}
	}
	f.emitInstr(*n.in)
	after := f.afterCall(n, n.stack[lv.base:])
	kind := KindCall
	if n.import_ {
		kind = KindImport
	}
	f.emit(wasm.Instr{Op: wasm.OpGlobalGet, Imm: uint64(f.t.stateGlobal)})
	f.open(wasm.OpIf, f.blockType(after, after))
	f.emitUnwind(after, n.sp, kind)
	f.close()
}

// emitConstruct emits a block, loop or if that contains safe points.
func (f *fnT) emitConstruct(n *node, lv level, outer []*scope) {
	ins, _, _ := f.constructIO(n)
	params, _, _ := f.t.m.BlockSig(n.in.Block)
	inner := level{params: params, base: len(n.stack) - len(ins), headerSP: -1, counter: -1}
	if n.newCounter {
		f.emit(i32const(0), wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(n.counter)})
	}
	f.openOrig(*n.in)
	inner.loopLabel = len(f.labels) - 1
	body := inner
	body.lo, body.hi = n.lo, n.mid
	if n.in.Op == wasm.OpLoop {
		body.loop, body.headerSP = true, n.lo
		body.counter, body.countFrom = n.counter, n.countFrom
	}
	f.emitSeq(n.body, body, outer)
	if n.hasElse {
		f.emit(wasm.Instr{Op: wasm.OpElse})
		els := inner
		els.lo, els.hi = n.mid, n.hi
		f.emitSeq(n.els, els, nil)
	}
	f.close()
	if n.below != nil {
		f.stashOut(n)
	}
}

func (f *fnT) emitSeq(seq []node, lv level, outer []*scope) {
	if lv.hi > lv.lo {
		f.emitLevel(seq, lv, outer)
		return
	}
	for i := range seq {
		f.emitVerbatim(&seq[i])
	}
}

// emitVerbatim emits a node without safe points, fixing labels and indices.
func (f *fnT) emitVerbatim(n *node) {
	switch n.in.Op {
	case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
		f.openOrig(*n.in)
		for i := range n.body {
			f.emitVerbatim(&n.body[i])
		}
		if n.hasElse {
			f.emit(wasm.Instr{Op: wasm.OpElse})
			for i := range n.els {
				f.emitVerbatim(&n.els[i])
			}
		}
		f.close()
	default:
		f.emitInstr(*n.in)
	}
}

// stashIn moves the values under a construct's inputs into locals.
func (f *fnT) stashIn(n *node) {
	for i := len(n.inTemps) - 1; i >= 0; i-- {
		f.emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(n.inTemps[i])})
	}
	for i := len(n.below) - 1; i >= 0; i-- {
		f.emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(n.below[i])})
	}
	for _, l := range n.inTemps {
		f.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(l)})
	}
}

// stashOut puts the stashed values back under the construct's results.
func (f *fnT) stashOut(n *node) {
	for i := len(n.outTemps) - 1; i >= 0; i-- {
		f.emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: uint64(n.outTemps[i])})
	}
	for _, l := range n.below {
		f.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(l)})
	}
	for _, l := range n.outTemps {
		f.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(l)})
	}
}
