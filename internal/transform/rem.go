package transform

import "github.com/roam-edge/roam/internal/wasm"

// remOps describes each remainder: its type and the matching division.
var remOps = map[wasm.Opcode]struct {
	t             wasm.ValType
	div, mul, sub wasm.Opcode
	eq            wasm.Opcode
	signed        bool
}{
	wasm.OpI32RemS: {wasm.I32, wasm.OpI32DivS, wasm.OpI32Mul, wasm.OpI32Sub, wasm.OpI32Eq, true},
	wasm.OpI32RemU: {wasm.I32, wasm.OpI32DivU, wasm.OpI32Mul, wasm.OpI32Sub, wasm.OpI32Eq, false},
	wasm.OpI64RemS: {wasm.I64, wasm.OpI64DivS, wasm.OpI64Mul, wasm.OpI64Sub, wasm.OpI64Eq, true},
	wasm.OpI64RemU: {wasm.I64, wasm.OpI64DivU, wasm.OpI64Mul, wasm.OpI64Sub, wasm.OpI64Eq, false},
}

// avoidRemainders rewrites every integer remainder x % y of the module's
// functions as x - (x / y) * y, through two locals per type. wazero v1.12.0's
// arm64 compiler loses the quotient of a remainder when registers run out
// between its two instructions (wazero PR #2508, fixed after v1.12.0), and
// instrumentation keeps enough values live to make that happen: the
// rewrite leaves no remainder for it to miscompile. It runs on every
// architecture, so that an instrumented module, and the frames of its
// snapshots, are the same everywhere. A division by zero still traps; a
// signed remainder by -1 divides by 1 instead (the result, 0, is the same,
// and MIN / -1 would trap where MIN % -1 must not). Remove it once wazero
// has a release with the fix.
func avoidRemainders(m *wasm.Module) {
	for i := range m.Funcs {
		f := &m.Funcs[i]
		nparams := uint32(len(m.Types[f.TypeIdx].Params))
		avoidRemainder(f, nparams)
	}
}

func avoidRemainder(f *wasm.Func, nparams uint32) {
	if !containsRem(f.Body) {
		return
	}
	scratch := map[wasm.ValType][2]uint64{} // the x and y locals of each type
	local := func(t wasm.ValType) [2]uint64 {
		if l, ok := scratch[t]; ok {
			return l
		}
		base := uint64(nparams) + uint64(len(f.Locals))
		f.Locals = append(f.Locals, t, t)
		scratch[t] = [2]uint64{base, base + 1}
		return scratch[t]
	}
	body := make([]wasm.Instr, 0, len(f.Body)+16)
	for _, ins := range f.Body {
		op, ok := remOps[ins.Op]
		if !ok {
			body = append(body, ins)
			continue
		}
		l := local(op.t)
		x, y := l[0], l[1]
		body = append(body, get(wasm.OpLocalSet, y), get(wasm.OpLocalSet, x))
		if op.signed { // y = (y == -1) ? 1 : y
			body = append(body, konst(op.t, 1), get(wasm.OpLocalGet, y), get(wasm.OpLocalGet, y),
				konst(op.t, ^uint64(0)), wasm.Instr{Op: op.eq}, wasm.Instr{Op: wasm.OpSelect}, get(wasm.OpLocalSet, y))
		}
		body = append(body, get(wasm.OpLocalGet, x), get(wasm.OpLocalGet, x), get(wasm.OpLocalGet, y),
			wasm.Instr{Op: op.div}, get(wasm.OpLocalGet, y), wasm.Instr{Op: op.mul}, wasm.Instr{Op: op.sub})
	}
	f.Body = body
}

func containsRem(body []wasm.Instr) bool {
	for _, ins := range body {
		if _, ok := remOps[ins.Op]; ok {
			return true
		}
	}
	return false
}

func get(op wasm.Opcode, idx uint64) wasm.Instr { return wasm.Instr{Op: op, Imm: idx} }

func konst(t wasm.ValType, v uint64) wasm.Instr {
	if t == wasm.I32 {
		return wasm.Instr{Op: wasm.OpI32Const, Imm: v}
	}
	return wasm.Instr{Op: wasm.OpI64Const, Imm: v}
}
