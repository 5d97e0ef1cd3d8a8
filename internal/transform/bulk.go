package transform

import (
	"slices"

	"github.com/roam-edge/roam/internal/wasm"
)

// bulkChunk is how many bytes one memory.fill or memory.copy of a chunked
// function covers: a few microseconds between two polls.
const bulkChunk = 1 << 16

// chunkBulkMemory rewrites every memory.fill and memory.copy as a call to a
// function that does the same in chunks, with a loop between them. One such
// instruction over a gigabyte runs for a tenth of a second, and compiled
// code reaches no poll meanwhile: no pause lands and no yield lets Go stop
// the world. The loop makes the functions, and so their callers, safe
// points like any other. They check the whole range first and, when it is
// out of bounds, run the original instruction, so the trap is the same and
// comes before anything is written.
func chunkBulkMemory(m *wasm.Module) {
	next := uint32(m.NumImported(wasm.ExternFunc) + len(m.Funcs))
	var added [][]wasm.Instr
	fill, copy_ := int64(-1), int64(-1)
	use := func(idx *int64, body func() []wasm.Instr) wasm.Instr {
		if *idx < 0 {
			*idx = int64(next) + int64(len(added))
			added = append(added, body())
		}
		return wasm.Instr{Op: wasm.OpCall, Imm: uint64(*idx)}
	}
	for i := range m.Funcs {
		f := &m.Funcs[i]
		cloned := false
		for j, in := range f.Body {
			var call wasm.Instr
			switch {
			case in.Op == wasm.OpMemoryFill && in.Imm == 0:
				call = use(&fill, chunkedFill)
			case in.Op == wasm.OpMemoryCopy && in.Imm == 0 && in.Imm2 == 0:
				call = use(&copy_, chunkedCopy)
			default:
				continue
			}
			if !cloned { // cloneModule shares bodies with the input
				f.Body, cloned = slices.Clone(f.Body), true
			}
			f.Body[j] = call
		}
	}
	if len(added) == 0 {
		return
	}
	sig := wasm.FuncType{Params: []wasm.ValType{wasm.I32, wasm.I32, wasm.I32}}
	ti := slices.IndexFunc(m.Types, sig.Equal)
	if ti < 0 {
		ti = len(m.Types)
		m.Types = append(m.Types, sig)
	}
	for _, body := range added {
		m.Funcs = append(m.Funcs, wasm.Func{TypeIdx: uint32(ti), Body: body})
	}
}

// Locals of the chunked functions: destination, value or source, length.
const (
	bulkDst = iota
	bulkSrc
	bulkLen
)

func lget(i uint64) wasm.Instr    { return wasm.Instr{Op: wasm.OpLocalGet, Imm: i} }
func lset(i uint64) wasm.Instr    { return wasm.Instr{Op: wasm.OpLocalSet, Imm: i} }
func op(o wasm.Opcode) wasm.Instr { return wasm.Instr{Op: o} }

// outOfBounds leaves 1 when [local a, a + length) leaves the memory.
func outOfBounds(a uint64) []wasm.Instr {
	return []wasm.Instr{lget(a), op(wasm.OpI64ExtendU), lget(bulkLen), op(wasm.OpI64ExtendU), op(wasm.OpI64Add),
		op(wasm.OpMemorySize), op(wasm.OpI64ExtendU), {Op: wasm.OpI64Const, Imm: 16}, op(wasm.OpI64Shl), op(wasm.OpI64GtU)}
}

// advance adds a chunk to each of the locals.
func advance(locals ...uint64) []wasm.Instr {
	var out []wasm.Instr
	for _, l := range locals {
		out = append(out, lget(l), i32const(bulkChunk), op(wasm.OpI32Add), lset(l))
	}
	return out
}

// chunkLoop runs body while more than a chunk is left; body must take the
// chunk off the length.
func chunkLoop(body ...wasm.Instr) []wasm.Instr {
	out := []wasm.Instr{{Op: wasm.OpBlock}, {Op: wasm.OpLoop},
		lget(bulkLen), i32const(bulkChunk), op(wasm.OpI32LeU), {Op: wasm.OpBrIf, Imm: 1}}
	out = append(out, body...)
	return append(out, wasm.Instr{Op: wasm.OpBr}, op(wasm.OpEnd), op(wasm.OpEnd))
}

var shrink = []wasm.Instr{lget(bulkLen), i32const(bulkChunk), op(wasm.OpI32Sub), lset(bulkLen)}

// chunkedFill is memory.fill(dst, value, length) in chunks.
func chunkedFill() []wasm.Instr {
	fill := []wasm.Instr{lget(bulkDst), lget(bulkSrc), lget(bulkLen), op(wasm.OpMemoryFill)}
	var b []wasm.Instr
	b = append(b, outOfBounds(bulkDst)...)
	b = append(b, wasm.Instr{Op: wasm.OpIf})
	b = append(b, fill...)
	b = append(b, op(wasm.OpEnd))
	loop := append([]wasm.Instr{lget(bulkDst), lget(bulkSrc), i32const(bulkChunk), op(wasm.OpMemoryFill)}, advance(bulkDst)...)
	b = append(b, chunkLoop(append(loop, shrink...)...)...)
	b = append(b, fill...)
	return append(b, op(wasm.OpEnd))
}

// chunkedCopy is memory.copy(dst, src, length) in chunks: front to back
// when the destination is below the source, back to front otherwise, so
// that overlapping ranges copy as one instruction would.
func chunkedCopy() []wasm.Instr {
	copyAll := []wasm.Instr{lget(bulkDst), lget(bulkSrc), lget(bulkLen), op(wasm.OpMemoryCopy)}
	var b []wasm.Instr
	b = append(b, outOfBounds(bulkDst)...)
	b = append(b, outOfBounds(bulkSrc)...)
	b = append(b, op(wasm.OpI32Or), wasm.Instr{Op: wasm.OpIf})
	b = append(b, copyAll...)
	b = append(b, op(wasm.OpEnd), lget(bulkDst), lget(bulkSrc), op(wasm.OpI32LeU), wasm.Instr{Op: wasm.OpIf})
	fwd := append([]wasm.Instr{lget(bulkDst), lget(bulkSrc), i32const(bulkChunk), op(wasm.OpMemoryCopy)}, advance(bulkDst, bulkSrc)...)
	b = append(b, chunkLoop(append(fwd, shrink...)...)...)
	b = append(b, op(wasm.OpElse))
	back := append(append([]wasm.Instr(nil), shrink...),
		lget(bulkDst), lget(bulkLen), op(wasm.OpI32Add), lget(bulkSrc), lget(bulkLen), op(wasm.OpI32Add), i32const(bulkChunk), op(wasm.OpMemoryCopy))
	b = append(b, chunkLoop(back...)...)
	b = append(b, op(wasm.OpEnd))
	b = append(b, copyAll...)
	return append(b, op(wasm.OpEnd))
}
