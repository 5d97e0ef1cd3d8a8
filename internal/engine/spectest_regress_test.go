package engine

// Regressions found by the spec-suite run that the suite itself does not
// reach (its modules with such globals are refused for other reasons).

import (
	"context"
	"errors"
	"testing"

	"github.com/roam-edge/roam/internal/wasi"
	"github.com/roam-edge/roam/internal/wasm"
)

// An immutable funcref, externref or v128 global has no export the host can
// read; a capture must still encode (it once recorded a typeless value and
// snapshot.Encode refused it).
func TestSpecImmutableRefAndV128Globals(t *testing.T) {
	const (
		i32Add wasm.Opcode = 0x6A
		i32LtU wasm.Opcode = 0x49
	)
	end := wasm.Instr{Op: wasm.OpEnd}
	m := &wasm.Module{
		Types: []wasm.FuncType{{Params: []wasm.ValType{wasm.I32}, Results: []wasm.ValType{wasm.I32}}},
		Globals: []wasm.Global{
			{Type: wasm.GlobalType{Type: wasm.FuncRef}, Init: []wasm.Instr{{Op: wasm.OpRefNull, Imm: uint64(wasm.FuncRef)}, end}},
			{Type: wasm.GlobalType{Type: wasm.ExternRef}, Init: []wasm.Instr{{Op: wasm.OpRefNull, Imm: uint64(wasm.ExternRef)}, end}},
			{Type: wasm.GlobalType{Type: wasm.V128}, Init: []wasm.Instr{{Op: wasm.OpV128Const, V128: [16]byte{1, 2, 3}}, end}},
			{Type: wasm.GlobalType{Type: wasm.I32, Mutable: true}, Init: []wasm.Instr{{Op: wasm.OpI32Const, Imm: 7}, end}},
		},
		Funcs: []wasm.Func{{TypeIdx: 0, Locals: []wasm.ValType{wasm.I32}, Body: []wasm.Instr{
			{Op: wasm.OpLoop, Block: wasm.BlockType{Kind: wasm.BlockEmpty}},
			{Op: wasm.OpLocalGet, Imm: 1}, {Op: wasm.OpI32Const, Imm: 1}, {Op: i32Add}, {Op: wasm.OpLocalTee, Imm: 1},
			{Op: wasm.OpLocalGet, Imm: 0}, {Op: i32LtU}, {Op: wasm.OpBrIf, Imm: 0},
			end,
			{Op: wasm.OpLocalGet, Imm: 1}, {Op: wasm.OpGlobalGet, Imm: 3}, {Op: i32Add},
			end,
		}}},
		Exports: []wasm.Export{{Name: "run", Kind: wasm.ExternFunc}},
	}
	b := wasm.Encode(m)
	ctx := context.Background()
	for _, kind := range []Kind{Compiler, Interpreter} {
		if _, err := kind.Resolve(); err != nil {
			continue
		}
		rt, err := NewRuntime(Config{Kind: kind, CacheDir: t.TempDir(), NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		mod, err := rt.Load("globals", b, true)
		if err != nil {
			t.Fatal(err)
		}
		in, err := rt.Start(ctx, mod, wasi.Config{})
		if err != nil {
			t.Fatal(err)
		}
		in.Pause()
		res, err := in.Call(ctx, "run", 5)
		n := 0
		for errors.Is(err, ErrPaused) {
			next, merr := migrateOnce(ctx, rt, mod, in)
			if merr != nil {
				t.Fatalf("%s: migration %d: %v", kind, n+1, merr)
			}
			in.Close(ctx)
			in, n = next, n+1
			in.Pause()
			res, err = in.Resume(ctx)
		}
		if err != nil || len(res) != 1 || res[0] != 12 || n == 0 {
			t.Errorf("%s: run(5) after %d migrations = %v, %v; want [12]", kind, n, res, err)
		}
		in.Close(ctx)
		rt.Close(ctx)
	}
}
