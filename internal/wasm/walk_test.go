package wasm

import (
	"fmt"
	"strings"
	"testing"
)

// Helpers to build instructions.
func op(o Opcode) Instr                  { return Instr{Op: o} }
func idx(o Opcode, i uint64) Instr       { return Instr{Op: o, Imm: i} }
func i32c(v int32) Instr                 { return Instr{Op: OpI32Const, Imm: uint64(int64(v))} }
func blk(o Opcode, bt BlockType) Instr   { return Instr{Op: o, Block: bt} }
func val(t ValType) BlockType            { return BlockType{Kind: BlockValue, Value: t} }
func typeIdx(i uint32) BlockType         { return BlockType{Kind: BlockIndex, Index: i} }
func brTable(labels ...uint32) Instr     { return Instr{Op: OpBrTable, Labels: labels} }
func ft(p, r []ValType) FuncType         { return FuncType{Params: p, Results: r} }
func vt(ts ...ValType) []ValType         { return ts }
func mem(o Opcode, off, al uint64) Instr { return Instr{Op: o, Imm: off, Imm2: al} }

const (
	opI32Add Opcode = 0x6A
	opI64Add Opcode = 0x7C
	opF32Add Opcode = 0x92
	opI32Ld  Opcode = 0x28
)

// oneFunc builds a module with types[0] as the function's type.
func oneFunc(types []FuncType, locals []ValType, body ...Instr) *Module {
	return &Module{Types: types, Funcs: []Func{{TypeIdx: 0, Locals: locals, Body: body}}}
}

type stackAt struct {
	stack     string // fmt of the stack
	reachable bool
}

func walkStacks(t *testing.T, m *Module) []stackAt {
	t.Helper()
	var got []stackAt
	err := m.WalkFunc(0, func(pc int, stack []ValType, reachable bool) {
		require(t, pc == len(got), "visit pc %d, want %d", pc, len(got))
		got = append(got, stackAt{fmt.Sprint(stack), reachable})
	})
	require(t, err == nil, "WalkFunc: %v", err)
	return got
}

func TestWalkStacks(t *testing.T) {
	multi := ft(vt(I32, I64), vt(F32))
	tests := []struct {
		name string
		m    *Module
		want map[int]stackAt // pc -> stack before it
	}{{
		name: "straight line",
		m: oneFunc([]FuncType{ft(vt(I32, I32), vt(I32))}, nil,
			idx(OpLocalGet, 0), idx(OpLocalGet, 1), op(opI32Add), op(OpEnd)),
		want: map[int]stackAt{0: {"[]", true}, 2: {"[i32 i32]", true}, 3: {"[i32]", true}},
	}, {
		name: "multi-value block",
		m: oneFunc([]FuncType{ft(nil, vt(F32)), multi}, vt(I64),
			i32c(1), idx(OpLocalGet, 0), blk(OpBlock, typeIdx(1)), op(OpDrop), op(OpDrop),
			Instr{Op: OpF32Const}, op(OpEnd), op(OpEnd)),
		want: map[int]stackAt{2: {"[i32 i64]", true}, 3: {"[i32 i64]", true}, 4: {"[i32]", true},
			6: {"[f32]", true}, 7: {"[f32]", true}},
	}, {
		name: "unreachable code",
		m: oneFunc([]FuncType{ft(nil, vt(I32))}, nil,
			i32c(7), blk(OpBlock, BlockType{}), op(OpUnreachable), op(opI32Add), op(OpDrop),
			op(OpEnd), op(OpUnreachable), op(OpSelect), op(OpEnd)),
		want: map[int]stackAt{1: {"[i32]", true}, 2: {"[i32]", true}, 3: {"[i32]", false},
			4: {"[i32 i32]", false}, 5: {"[i32]", false}, 6: {"[i32]", true},
			7: {"[]", false}, 8: {"[unknown]", false}},
	}, {
		name: "br_table",
		m: oneFunc([]FuncType{ft(nil, vt(I32))}, nil,
			blk(OpBlock, val(I32)), blk(OpBlock, val(I32)), i32c(1), i32c(0), brTable(0, 1, 1),
			op(OpEnd), op(OpEnd), op(OpEnd)),
		want: map[int]stackAt{4: {"[i32 i32]", true}, 5: {"[]", false}, 6: {"[i32]", true},
			7: {"[i32]", true}},
	}, {
		name: "br_table with differently typed labels in unreachable code",
		m: oneFunc([]FuncType{ft(nil, nil)}, nil,
			blk(OpBlock, val(F32)), blk(OpBlock, val(I64)), op(OpUnreachable), brTable(0, 1),
			op(OpEnd), op(OpDrop), Instr{Op: OpF32Const}, op(OpEnd), op(OpDrop), op(OpEnd)),
		want: map[int]stackAt{3: {"[]", false}, 4: {"[]", false}, 5: {"[i64]", true}},
	}, {
		name: "if else with parameters",
		m: oneFunc([]FuncType{ft(vt(I32), vt(I32)), ft(vt(I32), vt(I32))}, nil,
			i32c(5), idx(OpLocalGet, 0), blk(OpIf, typeIdx(1)), i32c(1), op(opI32Add),
			op(OpElse), i32c(2), op(OpI32Sub), op(OpEnd), op(OpEnd)),
		want: map[int]stackAt{2: {"[i32 i32]", true}, 3: {"[i32]", true}, 4: {"[i32 i32]", true},
			5: {"[i32]", true}, 6: {"[i32]", true}, 8: {"[i32]", true}, 9: {"[i32]", true}},
	}, {
		name: "loop label takes the parameters",
		m: oneFunc([]FuncType{ft(nil, nil), ft(vt(I32), nil)}, nil,
			i32c(3), blk(OpLoop, typeIdx(1)), i32c(0), idx(OpBrIf, 0), op(OpDrop), op(OpEnd), op(OpEnd)),
		want: map[int]stackAt{1: {"[i32]", true}, 2: {"[i32]", true}, 3: {"[i32 i32]", true},
			4: {"[i32]", true}, 5: {"[]", true}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := walkStacks(t, tc.m)
			require(t, len(got) == len(tc.m.Funcs[0].Body), "visited %d of %d", len(got), len(tc.m.Funcs[0].Body))
			for pc, want := range tc.want {
				if got[pc] != want {
					t.Errorf("pc %d (%s): got %v, want %v", pc, Name(tc.m.Funcs[0].Body[pc].Op), got[pc], want)
				}
			}
			require(t, tc.m.Validate() == nil, "Validate: %v", tc.m.Validate())
		})
	}
}

func TestWalkErrors(t *testing.T) {
	void := []FuncType{ft(nil, nil)}
	withMem := func(m *Module) *Module { m.Memories = []Limits{{Min: 1}}; return m }
	tests := []struct {
		name string
		m    *Module
		want string
	}{
		{"type mismatch", oneFunc(void, nil, i32c(1), Instr{Op: OpF32Const}, op(opI32Add), op(OpDrop), op(OpEnd)),
			"instruction 2 (i32.add): type mismatch: expected i32, got f32"},
		{"underflow", oneFunc(void, nil, op(OpDrop), op(OpEnd)), "not enough operands"},
		{"left on stack", oneFunc(void, nil, i32c(1), op(OpEnd)), "1 values left on the stack"},
		{"bad label", oneFunc(void, nil, idx(OpBr, 1), op(OpEnd)), "unknown label 1"},
		{"bad local", oneFunc(void, vt(I32), idx(OpLocalGet, 1), op(OpDrop), op(OpEnd)), "unknown local 1"},
		{"bad call", oneFunc(void, nil, idx(OpCall, 1), op(OpEnd)), "unknown function 1"},
		{"bad block type", oneFunc(void, nil, blk(OpBlock, typeIdx(3)), op(OpEnd), op(OpEnd)), "unknown type 3"},
		{"if without else", oneFunc(void, nil, i32c(1), blk(OpIf, val(I32)), i32c(1), op(OpEnd), op(OpDrop), op(OpEnd)),
			"if without else"},
		{"else without if", oneFunc(void, nil, op(OpElse), op(OpEnd)), "else without a matching if"},
		{"missing end", oneFunc(void, nil, blk(OpBlock, BlockType{}), op(OpEnd)), "does not end with end"},
		{"after end", oneFunc(void, nil, op(OpEnd), op(OpNop)), "after the final end"},
		{"no memory", oneFunc(void, nil, i32c(0), mem(opI32Ld, 0, 2), op(OpDrop), op(OpEnd)), "unknown memory 0"},
		{"alignment", withMem(oneFunc(void, nil, i32c(0), mem(opI32Ld, 0, 3), op(OpDrop), op(OpEnd))),
			"must not be larger than natural"},
		{"atomic alignment", withMem(oneFunc(void, nil, i32c(0), mem(PrefixThreads|0x10, 0, 1), op(OpDrop), op(OpEnd))),
			"exactly the natural alignment"},
		{"lane", oneFunc(void, nil, Instr{Op: OpV128Const}, Instr{Op: OpI64x2ExtractLane, Lane: 2}, op(OpDrop), op(OpEnd)),
			"invalid lane index 2"},
		{"undeclared ref.func", oneFunc(void, nil, idx(OpRefFunc, 0), op(OpDrop), op(OpEnd)), "undeclared function reference 0"},
		{"data count", withMem(oneFunc(void, nil, idx(OpDataDrop, 0), op(OpEnd))), "data count section required"},
		{"immutable global", &Module{Types: void, Globals: []Global{{Type: GlobalType{Type: I32}}},
			Funcs: []Func{{Body: []Instr{i32c(1), idx(OpGlobalSet, 0), op(OpEnd)}}}}, "global 0 is immutable"},
		{"select of references", oneFunc(void, nil, idx(OpRefNull, uint64(FuncRef)), idx(OpRefNull, uint64(FuncRef)),
			i32c(1), op(OpSelect), op(OpDrop), op(OpEnd)), "select needs a type immediate"},
		{"tail call result", oneFunc([]FuncType{ft(nil, vt(I32)), ft(nil, vt(I64))}, nil, idx(OpReturnCall, 1), op(OpEnd)),
			"unknown function 1"},
		{"br_table arity", oneFunc(void, nil, blk(OpBlock, val(I32)), i32c(0), brTable(0, 1), op(OpEnd), op(OpEnd)),
			"has arity 1, the default label 0"},
		{"unknown opcode", oneFunc(void, nil, op(0xFF), op(OpEnd)), "unknown opcode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.WalkFunc(0, nil)
			require(t, err != nil && strings.Contains(err.Error(), tc.want), "got %v, want %q", err, tc.want)
			require(t, strings.HasPrefix(err.Error(), "function 0: "), "error lacks context: %v", err)
		})
	}
	require(t, oneFunc(void, nil, op(OpEnd)).WalkFunc(1, nil) != nil, "out-of-range function accepted")
}

func TestTailCallTyping(t *testing.T) {
	types := []FuncType{ft(vt(I32), vt(I64)), ft(nil, vt(I32))}
	m := &Module{Types: types, Funcs: []Func{
		{TypeIdx: 0, Body: []Instr{idx(OpLocalGet, 0), idx(OpReturnCall, 0), op(OpEnd)}},
		{TypeIdx: 0, Body: []Instr{idx(OpReturnCall, 2), op(OpEnd)}},
		{TypeIdx: 1, Body: []Instr{i32c(1), op(OpEnd)}},
	}}
	require(t, m.WalkFunc(0, nil) == nil, "return_call: %v", m.WalkFunc(0, nil))
	err := m.WalkFunc(1, nil)
	require(t, err != nil && strings.Contains(err.Error(), "tail call returns"), "got %v", err)
}
