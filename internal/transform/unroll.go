package transform

import (
	"github.com/roam-edge/roam/internal/wasm"
)

// Unrolling of small loops without calls (unrollLoops).
const (
	unrollWork = 128 // about how many instructions an unrolled body has
	maxUnroll  = 8   // copies of a body at most
)

// unrollLoops repeats the body of each small innermost loop that makes no
// call a few times, so that its header poll (a local counted down, see
// emitPrologue) runs once every few iterations instead of every one: in a
// loop of ten instructions, the count costs about a fifth of the time. The
// loop
//
//	loop L  BODY  end
//
// becomes, for u copies,
//
//	block E
//	  loop L
//	    block X(u-1) ... block X1
//	          BODY1 br E
//	        end
//	        ...
//	      BODY(u-1) br E
//	    end
//	    BODYu
//	  end
//	end
//
// where a branch of copy j back to L goes to the end of Xj, that is on to
// the next copy, and the end of every copy but the last leaves the loop
// as the original's did. Only loops without params are unrolled. Both
// variants of the instrumentation do it, so they keep the same safe points.
func unrollLoops(m *wasm.Module) {
	for i := range m.Funcs {
		if body, ok := unrollIn(m, m.Funcs[i].Body); ok {
			m.Funcs[i].Body = body // a new slice: bodies are shared with the input
		}
	}
}

// unrollIn returns body with its loops unrolled, and false when it has none
// to unroll.
func unrollIn(m *wasm.Module, body []wasm.Instr) ([]wasm.Instr, bool) {
	ends := constructEnds(body)
	var out []wasm.Instr
	for i := 0; i < len(body); i++ {
		in := body[i]
		if in.Op == wasm.OpLoop {
			if u := unrollFactor(m, in, body[i+1:ends[i]]); u > 1 {
				if out == nil {
					out = append(make([]wasm.Instr, 0, 2*len(body)), body[:i]...)
				}
				out = appendUnrolled(out, in, body[i+1:ends[i]], u)
				i = ends[i]
				continue
			}
		}
		if out != nil {
			out = append(out, in)
		}
	}
	return out, out != nil
}

// unrollFactor is how many copies of a loop's body to make: 1 unless the
// loop is innermost, makes no call and has no params.
func unrollFactor(m *wasm.Module, loop wasm.Instr, body []wasm.Instr) int {
	params, _, err := m.BlockSig(loop.Block)
	if err != nil || len(params) > 0 || len(body) == 0 || len(body) > unrollWork/2 {
		return 1
	}
	for _, in := range body {
		switch in.Op {
		case wasm.OpLoop, wasm.OpCall, wasm.OpCallIndirect, wasm.OpReturnCall, wasm.OpReturnCallIndirect,
			wasm.OpTry, wasm.OpMemoryInit, wasm.OpMemoryFill, wasm.OpMemoryCopy:
			return 1
		}
	}
	return min(maxUnroll, unrollWork/len(body))
}

func appendUnrolled(out []wasm.Instr, loop wasm.Instr, body []wasm.Instr, u int) []wasm.Instr {
	out = append(out, wasm.Instr{Op: wasm.OpBlock, Block: loop.Block}, loop)
	for range u - 1 {
		out = append(out, wasm.Instr{Op: wasm.OpBlock, Block: wasm.BlockType{Kind: wasm.BlockEmpty}})
	}
	for j := 1; j <= u; j++ {
		// Copy j lies in X(j) ... X(u-1), L and E: its branches out of the
		// loop go u-j+1 labels further.
		extra := uint32(u - j + 1)
		out = appendShifted(out, body, extra)
		if j < u {
			out = append(out, wasm.Instr{Op: wasm.OpBr, Imm: uint64(extra)}, wasm.Instr{Op: wasm.OpEnd})
		}
	}
	return append(out, wasm.Instr{Op: wasm.OpEnd}, wasm.Instr{Op: wasm.OpEnd})
}

// appendShifted appends a loop body whose branches to labels outside the
// loop go extra labels further; a branch to the loop itself keeps its
// depth, which names the innermost added label.
func appendShifted(out, body []wasm.Instr, extra uint32) []wasm.Instr {
	depth := uint32(0) // constructs open inside the body
	shift := func(l uint32) uint32 {
		if l > depth {
			return l + extra
		}
		return l
	}
	for _, in := range body {
		switch in.Op {
		case wasm.OpBlock, wasm.OpLoop, wasm.OpIf:
			depth++
		case wasm.OpEnd:
			depth--
		case wasm.OpBr, wasm.OpBrIf:
			in.Imm = uint64(shift(uint32(in.Imm)))
		case wasm.OpBrTable:
			labels := make([]uint32, len(in.Labels))
			for i, l := range in.Labels {
				labels[i] = shift(l)
			}
			in.Labels = labels
		}
		out = append(out, in)
	}
	return out
}
