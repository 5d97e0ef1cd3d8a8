package transform

import "github.com/roam-edge/roam/internal/wasm"

// cloneModule copies everything Instrument changes, so the caller's module
// stays as it was.
func cloneModule(m *wasm.Module) *wasm.Module {
	out := *m
	out.Types = append([]wasm.FuncType(nil), m.Types...)
	out.Imports = append([]wasm.Import(nil), m.Imports...)
	out.Exports = append([]wasm.Export(nil), m.Exports...)
	out.Customs = append([]wasm.Custom(nil), m.Customs...)
	out.Funcs = make([]wasm.Func, len(m.Funcs))
	for i, f := range m.Funcs {
		out.Funcs[i] = wasm.Func{TypeIdx: f.TypeIdx, Locals: append([]wasm.ValType(nil), f.Locals...), Body: f.Body}
	}
	out.Globals = make([]wasm.Global, len(m.Globals))
	for i, g := range m.Globals {
		out.Globals[i] = wasm.Global{Type: g.Type, Init: append([]wasm.Instr(nil), g.Init...)}
	}
	out.Elems = make([]wasm.Elem, len(m.Elems))
	for i, e := range m.Elems {
		c := e
		c.Funcs = append([]uint32(nil), e.Funcs...)
		c.Exprs = nil
		if e.Exprs != nil {
			c.Exprs = make([][]wasm.Instr, len(e.Exprs))
		}
		for j, x := range e.Exprs {
			c.Exprs[j] = append([]wasm.Instr(nil), x...)
		}
		out.Elems[i] = c
	}
	if m.Start != nil {
		s := *m.Start
		out.Start = &s
	}
	return &out
}
