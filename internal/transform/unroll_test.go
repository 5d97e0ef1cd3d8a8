package transform

import (
	"os"
	"testing"

	"github.com/roam-edge/roam/internal/wasm"
)

// TestUnrollLoops: every loop of testdata/wat/loops.wat (innermost, no
// call, no params) is unrolled, the loop around one is not, and the module
// stays valid. TestUnrolledLoops in internal/engine runs them.
func TestUnrollLoops(t *testing.T) {
	b, err := os.ReadFile("../../testdata/wat/loops.wasm")
	if err != nil {
		t.Fatal(err)
	}
	m, err := wasm.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	count := func(body []wasm.Instr, op wasm.Opcode) int {
		n := 0
		for _, in := range body {
			if in.Op == op {
				n++
			}
		}
		return n
	}
	before := make([][]wasm.Instr, len(m.Funcs))
	for i, f := range m.Funcs {
		before[i] = f.Body
	}
	unrollLoops(m)
	if err := m.Validate(); err != nil {
		t.Fatalf("unrolled module is invalid: %v", err)
	}
	for i, f := range m.Funcs {
		loops := count(before[i], wasm.OpLoop)
		if got := count(f.Body, wasm.OpLoop); got != loops {
			t.Errorf("function %d: %d loops, want %d as before", i, got, loops)
		}
		// One innermost loop per function: u copies of its body of n
		// instructions, u-1 blocks X and a block E added.
		start := len(before[i]) - 1
		for before[i][start].Op != wasm.OpLoop {
			start--
		}
		end := constructEnds(before[i])[start]
		n, inner := end-start-1, count(before[i][start+1:end], wasm.OpBlock)
		u := min(maxUnroll, unrollWork/n)
		if u < 2 {
			t.Fatalf("function %d: a loop body of %d instructions is not worth unrolling; the fixture must change", i, n)
		}
		if got, want := count(f.Body, wasm.OpBlock)-count(before[i], wasm.OpBlock), u+(u-1)*inner; got != want {
			t.Errorf("function %d: %d blocks added, want %d (unrolled %d times)", i, got, want, u)
		}
		// Per extra copy: its body, its block X, a br E and an end; E and its end.
		if got, want := len(f.Body)-len(before[i]), (u-1)*(n+3)+2; got != want {
			t.Errorf("function %d: %d instructions added, want %d", i, got, want)
		}
	}
}
