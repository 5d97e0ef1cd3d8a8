package transform

import (
	"github.com/roam-edge/roam/internal/wasm"
)

func (f *fnT) emit(ins ...wasm.Instr) { f.out = append(f.out, ins...) }

// open starts a block or if of ours.
func (f *fnT) open(op wasm.Opcode, bt wasm.BlockType) {
	f.emit(wasm.Instr{Op: op, Block: bt})
	f.labels = append(f.labels, -1)
}

// openOrig starts a construct of the original code.
func (f *fnT) openOrig(in wasm.Instr) {
	f.emit(in)
	f.pushOrigLabel()
}

func (f *fnT) pushOrigLabel() {
	id := f.nextLabel
	f.nextLabel++
	f.origLabels = append(f.origLabels, id)
	f.labels = append(f.labels, id)
}

// close ends the innermost open construct, ours or original.
func (f *fnT) close() {
	f.emit(wasm.Instr{Op: wasm.OpEnd})
	top := f.labels[len(f.labels)-1]
	f.labels = f.labels[:len(f.labels)-1]
	if top >= 0 {
		f.origLabels = f.origLabels[:len(f.origLabels)-1]
	}
}

// depthOf translates an original branch depth into the output's.
func (f *fnT) depthOf(d uint32) uint32 {
	id := f.origLabels[len(f.origLabels)-1-int(d)]
	for k := len(f.labels) - 1; k >= 0; k-- {
		if f.labels[k] == id {
			return uint32(len(f.labels) - 1 - k)
		}
	}
	panic("transform: label not found")
}

// emitBr branches to the output label at index label of f.labels.
func (f *fnT) emitBr(label int) {
	f.emit(wasm.Instr{Op: wasm.OpBr, Imm: uint64(len(f.labels) - 1 - label)})
}

// emitInstr emits an original instruction with its labels and function
// indices translated.
func (f *fnT) emitInstr(in wasm.Instr) {
	switch in.Op {
	case wasm.OpBr, wasm.OpBrIf:
		in.Imm = uint64(f.depthOf(uint32(in.Imm)))
	case wasm.OpBrTable:
		labels := make([]uint32, len(in.Labels))
		for i, l := range in.Labels {
			labels[i] = f.depthOf(l)
		}
		in.Labels = labels
	}
	f.out = f.t.appendPlain(f.out, in)
}

func (f *fnT) callHost(name string) wasm.Instr {
	return wasm.Instr{Op: wasm.OpCall, Imm: uint64(f.t.hostFunc(name))}
}

// blockType encodes [params] -> [results], adding a type when needed.
func (f *fnT) blockType(params, results []wasm.ValType) wasm.BlockType {
	switch {
	case len(params) == 0 && len(results) == 0:
		return wasm.BlockType{Kind: wasm.BlockEmpty}
	case len(params) == 0 && len(results) == 1:
		return wasm.BlockType{Kind: wasm.BlockValue, Value: results[0]}
	}
	sig := wasm.FuncType{Params: append([]wasm.ValType(nil), params...), Results: append([]wasm.ValType(nil), results...)}
	return wasm.BlockType{Kind: wasm.BlockIndex, Index: f.t.typeIndex(sig)}
}

// emitPush saves the value on top of the stack into the frame being unwound.
func (f *fnT) emitPush(t wasm.ValType) {
	switch t {
	case wasm.I32:
		f.emit(f.callHost("push_i32"))
	case wasm.I64:
		f.emit(f.callHost("push_i64"))
	case wasm.F32:
		f.emit(f.callHost("push_f32"))
	case wasm.F64:
		f.emit(f.callHost("push_f64"))
	case wasm.V128:
		tmp := uint64(f.v128tmp)
		f.emit(wasm.Instr{Op: wasm.OpLocalSet, Imm: tmp},
			wasm.Instr{Op: wasm.OpLocalGet, Imm: tmp}, wasm.Instr{Op: wasm.OpI64x2ExtractLane, Lane: 0}, f.callHost("push_i64"),
			wasm.Instr{Op: wasm.OpLocalGet, Imm: tmp}, wasm.Instr{Op: wasm.OpI64x2ExtractLane, Lane: 1}, f.callHost("push_i64"))
	}
}

// emitPop pushes the next value of the frame being rewound.
func (f *fnT) emitPop(t wasm.ValType) {
	switch t {
	case wasm.I32:
		f.emit(f.callHost("pop_i32"))
	case wasm.I64:
		f.emit(f.callHost("pop_i64"))
	case wasm.F32:
		f.emit(f.callHost("pop_f32"))
	case wasm.F64:
		f.emit(f.callHost("pop_f64"))
	case wasm.V128:
		tmp := uint64(f.i64tmp)
		f.emit(f.callHost("pop_i64"), wasm.Instr{Op: wasm.OpLocalSet, Imm: tmp},
			f.callHost("pop_i64"), wasm.Instr{Op: wasm.OpI64x2Splat},
			wasm.Instr{Op: wasm.OpLocalGet, Imm: tmp}, wasm.Instr{Op: wasm.OpI64x2ReplaceLane, Lane: 1})
	}
}

// emitPops pushes saved values of the given types, bottom first.
func (f *fnT) emitPops(ts []wasm.ValType) {
	for _, t := range ts {
		f.emitPop(t)
	}
}

// emitDummies pushes zero values of the given types.
func (f *fnT) emitDummies(ts []wasm.ValType) {
	for _, t := range ts {
		switch t {
		case wasm.I32:
			f.emit(wasm.Instr{Op: wasm.OpI32Const})
		case wasm.I64:
			f.emit(wasm.Instr{Op: wasm.OpI64Const})
		case wasm.F32:
			f.emit(wasm.Instr{Op: wasm.OpF32Const})
		case wasm.F64:
			f.emit(wasm.Instr{Op: wasm.OpF64Const})
		case wasm.V128:
			f.emit(wasm.Instr{Op: wasm.OpV128Const})
		default:
			f.emit(wasm.Instr{Op: wasm.OpRefNull, Imm: uint64(t)})
		}
	}
}

// emitUnwind saves the frame at safe point sp, with the level's values
// (types st) on the stack, and returns from the function.
func (f *fnT) emitUnwind(st []wasm.ValType, sp int, kind int) {
	for i := len(st) - 1; i >= 0; i-- {
		f.emitPush(st[i])
	}
	live := f.live[sp]
	for i, t := range f.locals {
		switch {
		case !f.isSaved(i):
		case i < f.saved && (live == nil || !live.has(uint32(i))):
			f.emitDummies([]wasm.ValType{t}) // dead here: save a zero, read nothing
			f.emitPush(t)
		default:
			f.emit(wasm.Instr{Op: wasm.OpLocalGet, Imm: uint64(i)})
			f.emitPush(t)
		}
	}
	f.emit(i32const(int32(f.orig)), i32const(int32(sp)), i32const(int32(kind)), f.callHost("unwind"))
	f.emitDummies(f.sig.Results)
	f.emit(wasm.Instr{Op: wasm.OpReturn})
}
