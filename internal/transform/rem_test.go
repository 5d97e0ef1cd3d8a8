package transform

import (
	"testing"

	"github.com/roam-edge/roam/internal/wasm"
)

// TestNoRemaindersLeft: the instrumented module holds no integer remainder
// (wazero v1.12.0's arm64 compiler can miscompile them; avoidRemainders),
// and stays valid. The spec suite's migratable runs check that the
// rewrite computes what the remainders did, traps included.
func TestNoRemaindersLeft(t *testing.T) {
	// (func (param i32 i32 i64 i64) (result i64)
	//   (i64.add (i64.extend_i32_u (i32.add (i32.rem_s p0 p1) (i32.rem_u p0 p1)))
	//            (i64.add (i64.rem_s p2 p3) (i64.rem_u p2 p3))))
	m := &wasm.Module{
		Types: []wasm.FuncType{{Params: []wasm.ValType{wasm.I32, wasm.I32, wasm.I64, wasm.I64}, Results: []wasm.ValType{wasm.I64}}},
		Funcs: []wasm.Func{{TypeIdx: 0, Body: []wasm.Instr{
			get(wasm.OpLocalGet, 0), get(wasm.OpLocalGet, 1), {Op: wasm.OpI32RemS},
			get(wasm.OpLocalGet, 0), get(wasm.OpLocalGet, 1), {Op: wasm.OpI32RemU},
			{Op: 0x6A}, {Op: 0xAD}, // i32.add, i64.extend_i32_u
			get(wasm.OpLocalGet, 2), get(wasm.OpLocalGet, 3), {Op: wasm.OpI64RemS},
			get(wasm.OpLocalGet, 2), get(wasm.OpLocalGet, 3), {Op: wasm.OpI64RemU},
			{Op: 0x7C}, {Op: 0x7C}, // i64.add twice
			{Op: wasm.OpEnd},
		}}},
	}
	avoidRemainders(m)
	f := m.Funcs[0]
	for _, ins := range f.Body {
		if _, ok := remOps[ins.Op]; ok {
			t.Fatalf("a remainder is left: %s", wasm.Name(ins.Op))
		}
	}
	if len(f.Locals) != 4 {
		t.Errorf("%d scratch locals, want 4 (two per type)", len(f.Locals))
	}
	if err := m.Validate(); err != nil {
		t.Errorf("rewritten module is invalid: %v", err)
	}
}
