package transform

import (
	"fmt"

	"github.com/roam-edge/roam/internal/wasm"
)

// node is one instruction of a function body; block, loop and if own their
// bodies, so the emitter can wrap the code around safe points.
type node struct {
	in      *wasm.Instr // points into the original body
	pc      int
	stack   []wasm.ValType // full operand stack before the instruction (calls and constructs only)
	reach   bool
	body    []node // block, loop, if (then branch)
	els     []node // if: else branch
	hasElse bool

	// Filled by fnT.mark and fnT.allocTemps.
	sp          int      // safe point number of a call site, -1 otherwise
	import_     bool     // the call is to a blocking import
	hasSP       bool     // construct: contains a safe point
	lo, mid, hi int      // construct: safe points in [lo, hi); an else branch's start at mid
	argTemps    []uint32 // blocking import: its arguments
	below       []uint32 // construct: the values under its inputs
	inTemps     []uint32 // construct with below: its inputs
	outTemps    []uint32 // construct with below: its results
	counter     int      // loop: local counting its polls, or -1 (see assignCounters)
	newCounter  bool     // loop: the outermost of a nest that shares counter
	countFrom   int32    // loop with a counter: see countFrom
}

// buildTree turns a flat body into nested nodes, recording the operand
// stack where the emitter needs it.
func buildTree(m *wasm.Module, defined int) ([]node, error) {
	body := m.Funcs[defined].Body
	stacks := make(map[int][]wasm.ValType)
	reach := make([]bool, len(body))
	err := m.WalkFunc(defined, func(pc int, stack []wasm.ValType, reachable bool) {
		reach[pc] = reachable
		switch body[pc].Op {
		case wasm.OpCall, wasm.OpCallIndirect, wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			if reachable {
				stacks[pc] = append([]wasm.ValType(nil), stack...)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	p := &treeParser{body: body, stacks: stacks, reach: reach}
	nodes, end := p.seq(0, true)
	if end != len(body)-1 || body[end].Op != wasm.OpEnd {
		return nil, fmt.Errorf("malformed body: unbalanced end at %d", end)
	}
	return nodes, nil
}

type treeParser struct {
	body   []wasm.Instr
	stacks map[int][]wasm.ValType
	reach  []bool
}

// seq parses instructions from pc until the matching end or else and returns
// the index of that terminator. live is false inside dead code.
func (p *treeParser) seq(pc int, live bool) ([]node, int) {
	var out []node
	for pc < len(p.body) {
		in := &p.body[pc]
		if in.Op == wasm.OpEnd || in.Op == wasm.OpElse {
			return out, pc
		}
		n := node{in: in, pc: pc, reach: live && p.reach[pc], sp: -1, counter: -1}
		if n.reach {
			n.stack = p.stacks[pc]
		}
		switch in.Op {
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			var end int
			n.body, end = p.seq(pc+1, n.reach)
			if end < len(p.body) && p.body[end].Op == wasm.OpElse {
				n.hasElse = true
				n.els, end = p.seq(end+1, n.reach)
			}
			pc = end
		}
		out = append(out, n)
		pc++
	}
	return out, pc
}

// constructEnds maps the index of every block, loop and if to the index of
// its end (len(body) if the body is cut short: the module is then refused
// later), in one pass: a hostile module may nest thousands of loops.
func constructEnds(body []wasm.Instr) []int {
	ends := make([]int, len(body))
	var open []int
	for j, in := range body {
		switch in.Op {
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			open = append(open, j)
			ends[j] = len(body)
		case wasm.OpEnd:
			if len(open) > 0 {
				ends[open[len(open)-1]] = j
				open = open[:len(open)-1]
			}
		}
	}
	return ends
}
