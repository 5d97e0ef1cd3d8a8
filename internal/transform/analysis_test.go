package transform

import (
	"testing"

	"github.com/roam-edge/roam/internal/wasm"
)

// TestEntryPolls: a function on a cycle of the call graph polls at its
// entry unless each of its calls into its cycle is inside a loop, whose
// header polls; any cycle still meets a poll.
func TestEntryPolls(t *testing.T) {
	call := func(f uint32) wasm.Instr { return wasm.Instr{Op: wasm.OpCall, Imm: uint64(f)} }
	end := wasm.Instr{Op: wasm.OpEnd}
	loop := func(body ...wasm.Instr) []wasm.Instr {
		return append(append([]wasm.Instr{{Op: wasm.OpLoop}}, body...), end)
	}
	block := func(body ...wasm.Instr) []wasm.Instr {
		return append(append([]wasm.Instr{{Op: wasm.OpBlock}}, body...), end)
	}
	fn := func(parts ...[]wasm.Instr) wasm.Func {
		var body []wasm.Instr
		for _, p := range parts {
			body = append(body, p...)
		}
		return wasm.Func{Body: append(body, end)}
	}
	one := func(in wasm.Instr) []wasm.Instr { return []wasm.Instr{in} }
	m := &wasm.Module{
		Types: []wasm.FuncType{{}},
		Funcs: []wasm.Func{
			fn(one(call(0))),  // 0: recursion outside any loop
			fn(loop(call(1))), // 1: recursion inside a loop
			fn(block(loop(block(call(2))...)...), one(call(0))), // 2: in a loop, nested; a call out of its cycle outside
			fn(loop(call(4))),                            // 3: calls 4 in a loop ...
			fn(block(call(3))),                           // 4: ... which calls 3 outside loops
			fn(loop(), one(call(1))),                     // 5: on no cycle
			fn(one(wasm.Instr{Op: wasm.OpCallIndirect})), // 6: in the table: may call itself
		},
		Elems: []wasm.Elem{{Funcs: []uint32{6}}},
	}
	a := analyse(m, func(uint32) bool { return false })
	want := []bool{true, false, false, false, true, false, true}
	for i, w := range want {
		if a.entryPoll[i] != w {
			t.Errorf("function %d: entry poll %v, want %v", i, a.entryPoll[i], w)
		}
		if !a.mayUnwind[i] {
			t.Errorf("function %d: may not unwind, want it to (recursion or a loop)", i)
		}
	}
}
