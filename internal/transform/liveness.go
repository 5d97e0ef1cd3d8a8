package transform

import (
	"github.com/roam-edge/roam/internal/wasm"
)

// bitset is a set of local indices.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) has(i uint32) bool { return b[i/64]&(1<<(i%64)) != 0 }

func (b bitset) with(i uint32) bitset {
	c := b.clone()
	c[i/64] |= 1 << (i % 64)
	return c
}

func (b bitset) without(i uint32) bitset {
	c := b.clone()
	c[i/64] &^= 1 << (i % 64)
	return c
}

func (b bitset) clone() bitset { return append(bitset(nil), b...) }

func (b bitset) union(o bitset) bitset {
	c := b.clone()
	for i := range o {
		c[i] |= o[i]
	}
	return c
}

func (b bitset) equal(o bitset) bool {
	for i := range b {
		if b[i] != o[i] {
			return false
		}
	}
	return true
}

// liveness finds which of the original locals are live at each safe point,
// so that a frame saves only those: reading a dead local in the unwind path
// would keep it alive, and in registers, across the whole function.
type liveness struct {
	n      int
	labels []bitset       // live set at each enclosing label's target, innermost last
	at     map[int]bitset // safe point -> live locals
}

func computeLiveness(tree []node, nLocals int, entrySP int) map[int]bitset {
	lv := &liveness{n: nLocals, at: map[int]bitset{}}
	empty := newBitset(nLocals)
	lv.labels = append(lv.labels, empty) // the function's label: returning
	in := lv.seq(tree, empty)
	if entrySP >= 0 {
		lv.at[entrySP] = in
	}
	return lv.at
}

func (lv *liveness) seq(nodes []node, after bitset) bitset {
	live := after
	for i := len(nodes) - 1; i >= 0; i-- {
		live = lv.node(&nodes[i], live)
	}
	return live
}

func (lv *liveness) label(d uint64) bitset { return lv.labels[len(lv.labels)-1-int(d)] }

func (lv *liveness) node(n *node, after bitset) bitset {
	in := n.in
	switch in.Op {
	case wasm.OpLocalGet:
		return after.with(uint32(in.Imm))
	case wasm.OpLocalSet, wasm.OpLocalTee:
		return after.without(uint32(in.Imm))
	case wasm.OpBr:
		return lv.label(in.Imm)
	case wasm.OpBrIf:
		return after.union(lv.label(in.Imm))
	case wasm.OpBrTable:
		live := newBitset(lv.n)
		for _, l := range in.Labels {
			live = live.union(lv.label(uint64(l)))
		}
		return live
	case wasm.OpReturn, wasm.OpUnreachable:
		return newBitset(lv.n)
	case wasm.OpCall, wasm.OpCallIndirect:
		if n.sp >= 0 {
			lv.at[n.sp] = after
		}
		return after
	case wasm.OpBlock:
		return lv.inside(after, func() bitset { return lv.seq(n.body, after) })
	case wasm.OpIf:
		return lv.inside(after, func() bitset {
			live := lv.seq(n.body, after)
			if n.hasElse {
				return live.union(lv.seq(n.els, after))
			}
			return live.union(after)
		})
	case wasm.OpLoop:
		return lv.loop(n, after)
	}
	return after
}

func (lv *liveness) inside(label bitset, body func() bitset) bitset {
	lv.labels = append(lv.labels, label)
	defer func() { lv.labels = lv.labels[:len(lv.labels)-1] }()
	return body()
}

// loop iterates to a fixed point: a branch to the loop's label goes back to
// its start, whose live set depends on the body.
func (lv *liveness) loop(n *node, after bitset) bitset {
	start := newBitset(lv.n)
	for {
		in := lv.inside(start, func() bitset { return lv.seq(n.body, after) })
		in = in.union(start)
		if in.equal(start) {
			if n.reach {
				lv.at[n.lo] = in
			}
			return in
		}
		start = in
	}
}
