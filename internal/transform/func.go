package transform

import (
	"github.com/roam-edge/roam/internal/wasm"
)

// transformer rewrites a whole module.
type transformer struct {
	m       *wasm.Module
	opts    Options
	typeIdx map[string]uint32

	numImportedFuncs uint32 // original function imports
	hostBase         uint32 // index of the first roam import
	shift            uint32 // how far defined functions moved
	stateGlobal      uint32
	tickGlobal       uint32
	siteGlobal       uint32 // landing id of the frame being rewound, for its dispatches
	names            map[uint32]string
	an               analysis
	spCalls          map[string]bool // signatures whose indirect calls may unwind
	blocking         map[uint32]bool // original indices of blocking imports
}

func newTransformer(m *wasm.Module, opts Options) (*transformer, error) {
	if opts.Blocking == nil {
		opts.Blocking = func(string, string) bool { return false }
	}
	t := &transformer{m: m, opts: opts, typeIdx: map[string]uint32{}, names: m.FuncNames(), blocking: map[uint32]bool{}}
	for i, ty := range m.Types {
		if _, ok := t.typeIdx[sigKey(ty)]; !ok {
			t.typeIdx[sigKey(ty)] = uint32(i)
		}
	}
	fi := uint32(0)
	for _, im := range m.Imports {
		if im.Kind == wasm.ExternFunc {
			if opts.Blocking(im.Module, im.Name) {
				t.blocking[fi] = true
			}
			fi++
		}
	}
	return t, t.checkGlobals()
}

func (t *transformer) run() error {
	t.an = analyse(t.m, func(i uint32) bool { return t.blocking[i] })
	t.spCalls = map[string]bool{}
	nImp := uint32(t.m.NumImported(wasm.ExternFunc))
	for key, fs := range addressTakenByType(t.m) {
		for _, f := range fs {
			if (f >= nImp && t.an.mayUnwind[f-nImp]) || t.blocking[f] {
				t.spCalls[key] = true
			}
		}
	}
	// Trees are built (and validated) against the original index spaces.
	trees := make([][]node, len(t.m.Funcs))
	for i := range t.m.Funcs {
		if !t.an.mayUnwind[i] {
			continue
		}
		tree, err := buildTree(t.m, i)
		if err != nil {
			return &Error{Func: nImp + uint32(i), Name: t.names[nImp+uint32(i)], Feature: err.Error(), inFunc: true}
		}
		trees[i] = tree
	}
	t.addHostImports()
	t.addStateAndExports()
	for i := range trees { // not the functions addStateAndExports appended
		if err := t.rewriteFunc(i, trees[i]); err != nil {
			return err
		}
	}
	t.addDropFuncs()
	t.addMeta()
	return nil
}

// rewriteFunc instruments one function, or only renumbers its calls when it
// can reach no safe point.
func (t *transformer) rewriteFunc(i int, tree []node) error {
	f := &t.m.Funcs[i]
	orig := t.numImportedFuncs + uint32(i)
	if tree == nil {
		f.Body = t.renumberBody(f.Body)
		return nil
	}
	fn := &fnT{t: t, orig: orig, sig: t.m.Types[f.TypeIdx]}
	fn.locals = append(append([]wasm.ValType(nil), fn.sig.Params...), f.Locals...)
	if err := fn.run(tree); err != nil {
		return &Error{Func: orig, Name: t.names[orig], Feature: err.Error(), inFunc: true}
	}
	f.Locals = fn.locals[len(fn.sig.Params):]
	f.Body = fn.out
	return nil
}

// renumberBody rewrites function indices in a body that is otherwise kept.
func (t *transformer) renumberBody(body []wasm.Instr) []wasm.Instr {
	out := make([]wasm.Instr, 0, len(body))
	for _, in := range body {
		out = t.appendPlain(out, in)
	}
	return out
}

// appendPlain appends an instruction that is not a safe point, with function
// indices renumbered and segment drops reported to the host.
func (t *transformer) appendPlain(out []wasm.Instr, in wasm.Instr) []wasm.Instr {
	switch in.Op {
	case wasm.OpCall, wasm.OpRefFunc:
		in.Imm = uint64(t.newFuncIndex(uint32(in.Imm)))
	case wasm.OpDataDrop:
		out = append(out, i32const(int32(in.Imm)), wasm.Instr{Op: wasm.OpCall, Imm: uint64(t.hostFunc("data_dropped"))})
	case wasm.OpElemDrop:
		out = append(out, i32const(int32(in.Imm)), wasm.Instr{Op: wasm.OpCall, Imm: uint64(t.hostFunc("elem_dropped"))})
	}
	return append(out, in)
}

func i32const(v int32) wasm.Instr { return wasm.Instr{Op: wasm.OpI32Const, Imm: uint64(int64(v))} }

// addDropFuncs exports functions that replay data.drop and elem.drop on a
// restored instance: f(i) drops segment i.
func (t *transformer) addDropFuncs() {
	if len(t.m.Datas) > 0 && usesOp(t.m, wasm.OpDataDrop) {
		t.addDropFunc(ExportData, wasm.OpDataDrop, len(t.m.Datas))
	}
	if len(t.m.Elems) > 0 && usesOp(t.m, wasm.OpElemDrop) {
		t.addDropFunc(ExportElem, wasm.OpElemDrop, len(t.m.Elems))
	}
}

func usesOp(m *wasm.Module, op wasm.Opcode) bool {
	for _, f := range m.Funcs {
		for _, in := range f.Body {
			if in.Op == op {
				return true
			}
		}
	}
	return false
}

func (t *transformer) addDropFunc(name string, op wasm.Opcode, n int) {
	var body []wasm.Instr
	for i := 0; i <= n; i++ {
		body = append(body, wasm.Instr{Op: wasm.OpBlock})
	}
	labels := make([]uint32, n+1)
	for i := range labels {
		labels[i] = uint32(i)
	}
	body = append(body, wasm.Instr{Op: wasm.OpLocalGet}, wasm.Instr{Op: wasm.OpBrTable, Labels: labels}, wasm.Instr{Op: wasm.OpEnd})
	for i := 0; i < n; i++ {
		body = append(body, wasm.Instr{Op: op, Imm: uint64(i)}, wasm.Instr{Op: wasm.OpReturn}, wasm.Instr{Op: wasm.OpEnd})
	}
	body = append(body, wasm.Instr{Op: wasm.OpEnd})
	idx := uint32(t.m.NumImported(wasm.ExternFunc) + len(t.m.Funcs))
	t.m.Funcs = append(t.m.Funcs, wasm.Func{TypeIdx: t.typeIndex(wasm.FuncType{Params: []wasm.ValType{wasm.I32}}), Body: body})
	t.m.Exports = append(t.m.Exports, wasm.Export{Name: name, Kind: wasm.ExternFunc, Index: idx})
}

// addMeta records what the host needs to know in a custom section.
func (t *transformer) addMeta() {
	meta := []byte{Version}
	t.m.Customs = append(t.m.Customs, wasm.Custom{Name: MetaSection, Data: meta, After: wasm.SecData})
}
