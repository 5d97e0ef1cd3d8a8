package transform

import (
	"fmt"
	"sort"

	"github.com/roam-edge/roam/internal/wasm"
)

// hostFunc is one import of the "roam" host module.
type hostFunc struct {
	name            string
	params, results []wasm.ValType
}

// hostFuncs is fixed, whatever the module uses, so that function indices do
// not depend on the variant.
var hostFuncs = []hostFunc{
	{"poll", nil, []wasm.ValType{wasm.I32}},
	{"unwind", []wasm.ValType{wasm.I32, wasm.I32, wasm.I32}, nil},
	{"rewind", []wasm.ValType{wasm.I32}, []wasm.ValType{wasm.I32}},
	{"rewound", nil, nil},
	{"rewound_loop", nil, nil},
	{"push_i32", []wasm.ValType{wasm.I32}, nil},
	{"push_i64", []wasm.ValType{wasm.I64}, nil},
	{"push_f32", []wasm.ValType{wasm.F32}, nil},
	{"push_f64", []wasm.ValType{wasm.F64}, nil},
	{"pop_i32", nil, []wasm.ValType{wasm.I32}},
	{"pop_i64", nil, []wasm.ValType{wasm.I64}},
	{"pop_f32", nil, []wasm.ValType{wasm.F32}},
	{"pop_f64", nil, []wasm.ValType{wasm.F64}},
	{"data_dropped", []wasm.ValType{wasm.I32}, nil},
	{"elem_dropped", []wasm.ValType{wasm.I32}, nil},
}

// HostFuncs lists the imports of module HostModule with their signatures.
func HostFuncs() []wasm.FuncType {
	out := make([]wasm.FuncType, len(hostFuncs))
	for i, h := range hostFuncs {
		out[i] = wasm.FuncType{Params: h.params, Results: h.results}
	}
	return out
}

// HostFuncNames lists the import names of module HostModule, in order.
func HostFuncNames() []string {
	out := make([]string, len(hostFuncs))
	for i, h := range hostFuncs {
		out[i] = h.name
	}
	return out
}

// typeIndex returns the index of sig in the type section, adding it if new.
func (t *transformer) typeIndex(sig wasm.FuncType) uint32 {
	key := sigKey(sig)
	if i, ok := t.typeIdx[key]; ok {
		return i
	}
	i := uint32(len(t.m.Types))
	t.m.Types = append(t.m.Types, sig)
	t.typeIdx[key] = i
	return i
}

func sigKey(sig wasm.FuncType) string {
	b := make([]byte, 0, len(sig.Params)+len(sig.Results)+1)
	for _, p := range sig.Params {
		b = append(b, byte(p))
	}
	b = append(b, '>')
	for _, r := range sig.Results {
		b = append(b, byte(r))
	}
	return string(b)
}

// addHostImports appends the roam imports after the module's own function
// imports and shifts every reference to a defined function.
func (t *transformer) addHostImports() {
	var imports []wasm.Import
	nFunc := 0
	for _, im := range t.m.Imports {
		if im.Kind == wasm.ExternFunc {
			nFunc++
		}
	}
	t.numImportedFuncs = uint32(nFunc)
	t.hostBase = uint32(nFunc)
	for _, im := range t.m.Imports {
		imports = append(imports, im)
	}
	for _, h := range hostFuncs {
		imports = append(imports, wasm.Import{
			Module: HostModule, Name: h.name, Kind: wasm.ExternFunc,
			TypeIdx: t.typeIndex(wasm.FuncType{Params: h.params, Results: h.results}),
		})
	}
	t.m.Imports = imports
	t.shift = uint32(len(hostFuncs))
	t.renumberFuncRefs()
}

// newFuncIndex maps an original function index to the instrumented one.
func (t *transformer) newFuncIndex(idx uint32) uint32 {
	if idx < t.numImportedFuncs {
		return idx
	}
	return idx + t.shift
}

func (t *transformer) hostFunc(name string) uint32 {
	for i, h := range hostFuncs {
		if h.name == name {
			return t.hostBase + uint32(i)
		}
	}
	panic("transform: unknown host function " + name)
}

// renumberFuncRefs rewrites every function index outside function bodies:
// exports, start, element segments, constant expressions and the name section.
func (t *transformer) renumberFuncRefs() {
	for i := range t.m.Exports {
		if t.m.Exports[i].Kind == wasm.ExternFunc {
			t.m.Exports[i].Index = t.newFuncIndex(t.m.Exports[i].Index)
		}
	}
	if t.m.Start != nil {
		s := t.newFuncIndex(*t.m.Start)
		t.m.Start = &s
	}
	for i := range t.m.Globals {
		t.renumberExpr(t.m.Globals[i].Init)
	}
	for i := range t.m.Elems {
		e := &t.m.Elems[i]
		for j := range e.Funcs {
			e.Funcs[j] = t.newFuncIndex(e.Funcs[j])
		}
		for _, x := range e.Exprs {
			t.renumberExpr(x)
		}
	}
	t.renumberNames()
}

func (t *transformer) renumberExpr(expr []wasm.Instr) {
	for i := range expr {
		if expr[i].Op == wasm.OpRefFunc {
			expr[i].Imm = uint64(t.newFuncIndex(uint32(expr[i].Imm)))
		}
	}
}

// renumberNames rewrites the name section's function names for the new
// indices (trap traces show them) and drops its other subsections.
func (t *transformer) renumberNames() {
	for i, c := range t.m.Customs {
		if c.Name != "name" {
			continue
		}
		names := t.m.FuncNames()
		shifted := make(map[uint32]string, len(names)+len(hostFuncs))
		for idx, n := range names {
			shifted[t.newFuncIndex(idx)] = n
		}
		for j, h := range hostFuncs {
			shifted[t.hostBase+uint32(j)] = "roam." + h.name
		}
		t.m.Customs[i].Data = encodeFuncNames(shifted)
	}
}

// encodeFuncNames encodes a name section holding only function names.
func encodeFuncNames(names map[uint32]string) []byte {
	idx := make([]uint32, 0, len(names))
	for i := range names {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	var sub []byte
	sub = appendU32(sub, uint32(len(idx)))
	for _, i := range idx {
		sub = appendU32(sub, i)
		sub = appendU32(sub, uint32(len(names[i])))
		sub = append(sub, names[i]...)
	}
	out := []byte{1}
	out = appendU32(out, uint32(len(sub)))
	return append(out, sub...)
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// addStateAndExports adds the state global and exports every global so the
// host can read and restore them, and moves the start function to an export.
func (t *transformer) addStateAndExports() {
	nGlobals := uint32(t.m.NumImported(wasm.ExternGlobal) + len(t.m.Globals))
	t.stateGlobal, t.tickGlobal, t.siteGlobal = nGlobals, nGlobals+1, nGlobals+2
	for range 3 {
		t.m.Globals = append(t.m.Globals, wasm.Global{
			Type: wasm.GlobalType{Type: wasm.I32, Mutable: true},
			Init: []wasm.Instr{{Op: wasm.OpI32Const}, {Op: wasm.OpEnd}},
		})
	}
	exported := map[string]bool{}
	for _, e := range t.m.Exports {
		exported[e.Name] = true
	}
	add := func(name string, kind wasm.ExternKind, idx uint32) {
		if !exported[name] {
			t.m.Exports = append(t.m.Exports, wasm.Export{Name: name, Kind: kind, Index: idx})
			exported[name] = true
		}
	}
	add(ExportState, wasm.ExternGlobal, t.stateGlobal)
	add(ExportTick, wasm.ExternGlobal, t.tickGlobal)
	for g := uint32(0); g < nGlobals; g++ {
		gt, _ := t.m.GlobalTypeOf(g)
		switch {
		case gt.Type == wasm.V128 && gt.Mutable:
			t.addV128Accessors(g, add)
		case gt.Type != wasm.V128 && !gt.Type.IsRef():
			add(GlobalExport(g), wasm.ExternGlobal, g)
		}
	}
	if t.m.Start != nil {
		add(ExportStart, wasm.ExternFunc, *t.m.Start)
		t.m.Start = nil
	}
}

// addV128Accessors exports a getter and a setter of global g in two i64
// halves: host functions and the wazero API take no v128.
func (t *transformer) addV128Accessors(g uint32, add func(string, wasm.ExternKind, uint32)) {
	halves := []wasm.ValType{wasm.I64, wasm.I64}
	get := []wasm.Instr{
		{Op: wasm.OpGlobalGet, Imm: uint64(g)}, {Op: wasm.OpLocalSet},
		{Op: wasm.OpLocalGet}, {Op: wasm.OpI64x2ExtractLane, Lane: 0},
		{Op: wasm.OpLocalGet}, {Op: wasm.OpI64x2ExtractLane, Lane: 1}, {Op: wasm.OpEnd},
	}
	set := []wasm.Instr{
		{Op: wasm.OpLocalGet}, {Op: wasm.OpI64x2Splat}, {Op: wasm.OpLocalGet, Imm: 1},
		{Op: wasm.OpI64x2ReplaceLane, Lane: 1}, {Op: wasm.OpGlobalSet, Imm: uint64(g)}, {Op: wasm.OpEnd},
	}
	n := uint32(t.m.NumImported(wasm.ExternFunc) + len(t.m.Funcs))
	t.m.Funcs = append(t.m.Funcs,
		wasm.Func{TypeIdx: t.typeIndex(wasm.FuncType{Results: halves}), Locals: []wasm.ValType{wasm.V128}, Body: get},
		wasm.Func{TypeIdx: t.typeIndex(wasm.FuncType{Params: halves}), Body: set})
	add(GlobalGetter(g), wasm.ExternFunc, n)
	add(GlobalSetter(g), wasm.ExternFunc, n+1)
}

// checkGlobals refuses globals the host cannot read through exports.
func (t *transformer) checkGlobals() error {
	n := uint32(t.m.NumImported(wasm.ExternGlobal) + len(t.m.Globals))
	for g := uint32(0); g < n; g++ {
		gt, _ := t.m.GlobalTypeOf(g)
		if gt.Mutable && gt.Type.IsRef() {
			return &Error{Feature: fmt.Sprintf("mutable global %d of type %s cannot be captured", g, typeName(gt.Type))}
		}
	}
	return nil
}

func typeName(t wasm.ValType) string {
	switch t {
	case wasm.I32:
		return "i32"
	case wasm.I64:
		return "i64"
	case wasm.F32:
		return "f32"
	case wasm.F64:
		return "f64"
	case wasm.V128:
		return "v128"
	case wasm.FuncRef:
		return "funcref"
	case wasm.ExternRef:
		return "externref"
	}
	return fmt.Sprintf("type 0x%x", byte(t))
}
