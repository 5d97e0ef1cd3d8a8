package wasm

import "fmt"

// sectionOrder lists the known sections in the order the encoder writes
// them.
var sectionOrder = []SectionID{SecType, SecImport, SecFunction, SecTable, SecMemory,
	SecGlobal, SecExport, SecStart, SecElement, SecDataCount, SecCode, SecData}

// Encode writes m in the binary format. The output is deterministic: LEB128
// numbers are written in their shortest form, locals as runs of equal types,
// segments with their original flags (when still consistent), and custom
// sections after the section recorded in their After field. Encode panics on
// an unknown opcode, which only a faulty transformation can produce.
func Encode(m *Module) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = appendCustoms(out, m, SecCustom)
	for _, id := range sectionOrder {
		body, ok := encodeSection(m, id)
		if ok || m.KeepEmpty&(1<<id) != 0 {
			out = append(out, byte(id))
			out = appendU(out, uint64(len(body)))
			out = append(out, body...)
		}
		out = appendCustoms(out, m, id)
	}
	for _, c := range m.Customs {
		if c.After > SecDataCount {
			out = appendCustom(out, c)
		}
	}
	return out
}

func appendCustoms(out []byte, m *Module, after SectionID) []byte {
	for _, c := range m.Customs {
		if c.After == after {
			out = appendCustom(out, c)
		}
	}
	return out
}

func appendCustom(out []byte, c Custom) []byte {
	body := appendName(nil, c.Name)
	out = append(out, byte(SecCustom))
	out = appendU(out, uint64(len(body)+len(c.Data)))
	out = append(out, body...)
	return append(out, c.Data...)
}

// encodeVec appends a vector and reports whether it was non-empty.
func encodeVec[T any](s []T, f func([]byte, *T) []byte) ([]byte, bool) {
	b := appendU(nil, uint64(len(s)))
	for i := range s {
		b = f(b, &s[i])
	}
	return b, len(s) > 0
}

func encodeSection(m *Module, id SectionID) ([]byte, bool) {
	switch id {
	case SecType:
		return encodeVec(m.Types, appendFuncType)
	case SecImport:
		return encodeVec(m.Imports, appendImport)
	case SecFunction:
		return encodeVec(m.Funcs, func(b []byte, f *Func) []byte { return appendU(b, uint64(f.TypeIdx)) })
	case SecTable:
		return encodeVec(m.Tables, appendTableType)
	case SecMemory:
		return encodeVec(m.Memories, appendLimits)
	case SecGlobal:
		return encodeVec(m.Globals, func(b []byte, g *Global) []byte {
			return appendExpr(appendGlobalType(b, g.Type), g.Init)
		})
	case SecExport:
		return encodeVec(m.Exports, func(b []byte, e *Export) []byte {
			return appendU(append(appendName(b, e.Name), byte(e.Kind)), uint64(e.Index))
		})
	case SecStart:
		if m.Start == nil {
			return nil, false
		}
		return appendU(nil, uint64(*m.Start)), true
	case SecElement:
		return encodeVec(m.Elems, appendElem)
	case SecDataCount:
		if m.DataCount == nil {
			return nil, false
		}
		return appendU(nil, uint64(*m.DataCount)), true
	case SecCode:
		return encodeVec(m.Funcs, appendCode)
	case SecData:
		return encodeVec(m.Datas, appendData)
	}
	return nil, false
}

func appendValTypes(b []byte, ts []ValType) []byte {
	b = appendU(b, uint64(len(ts)))
	for _, t := range ts {
		b = append(b, byte(t))
	}
	return b
}

func appendFuncType(b []byte, f *FuncType) []byte {
	return appendValTypes(appendValTypes(append(b, 0x60), f.Params), f.Results)
}

func appendLimits(b []byte, l *Limits) []byte {
	flags := byte(0)
	if l.HasMax {
		flags |= 1
	}
	if l.Shared {
		flags |= 2
	}
	if l.Is64 {
		flags |= 4
	}
	b = appendU(append(b, flags), l.Min)
	if l.HasMax {
		b = appendU(b, l.Max)
	}
	return b
}

func appendTableType(b []byte, t *TableType) []byte {
	return appendLimits(append(b, byte(t.Elem)), &t.Limits)
}

func appendGlobalType(b []byte, g GlobalType) []byte {
	mut := byte(0)
	if g.Mutable {
		mut = 1
	}
	return append(b, byte(g.Type), mut)
}

func appendImport(b []byte, im *Import) []byte {
	b = append(appendName(appendName(b, im.Module), im.Name), byte(im.Kind))
	switch im.Kind {
	case ExternFunc:
		return appendU(b, uint64(im.TypeIdx))
	case ExternTable:
		return appendTableType(b, &im.Table)
	case ExternMemory:
		return appendLimits(b, &im.Memory)
	case ExternGlobal:
		return appendGlobalType(b, im.Global)
	}
	panic(fmt.Sprintf("wasm.Encode: invalid import kind %d", im.Kind))
}

// elemFlags returns e.Flags when it still describes e, else the flags that do.
func elemFlags(e *Elem) uint32 {
	f := e.Flags & 2
	if e.Exprs != nil {
		f |= 4
	}
	switch e.Mode {
	case SegPassive:
		f = f&^2 | 1
	case SegDeclarative:
		f |= 3
	default:
		if e.Table != 0 || (f&4 != 0 && e.Type != FuncRef) {
			f |= 2
		}
	}
	return f
}

func appendElem(b []byte, e *Elem) []byte {
	f := elemFlags(e)
	b = appendU(b, uint64(f))
	if f&1 == 0 {
		if f&2 != 0 {
			b = appendU(b, uint64(e.Table))
		}
		b = appendExpr(b, e.Offset)
	}
	switch {
	case f&3 != 0 && f&4 != 0:
		b = append(b, byte(e.Type))
	case f&3 != 0:
		b = append(b, 0) // elemkind funcref
	}
	if f&4 != 0 {
		return appendExprs(b, e.Exprs)
	}
	b = appendU(b, uint64(len(e.Funcs)))
	for _, x := range e.Funcs {
		b = appendU(b, uint64(x))
	}
	return b
}

func appendExprs(b []byte, es [][]Instr) []byte {
	b = appendU(b, uint64(len(es)))
	for _, e := range es {
		b = appendExpr(b, e)
	}
	return b
}

func appendData(b []byte, d *Data) []byte {
	switch {
	case d.Mode == SegPassive:
		b = append(b, 1)
	case d.Flags == 2 || d.Memory != 0:
		b = appendExpr(appendU(append(b, 2), uint64(d.Memory)), d.Offset)
	default:
		b = appendExpr(append(b, 0), d.Offset)
	}
	b = appendU(b, uint64(len(d.Init)))
	return append(b, d.Init...)
}

func appendCode(b []byte, f *Func) []byte {
	var body []byte
	runs := 0
	for i := range f.Locals {
		if i == 0 || f.Locals[i] != f.Locals[i-1] {
			runs++
		}
	}
	body = appendU(body, uint64(runs))
	for i := 0; i < len(f.Locals); {
		j := i
		for j < len(f.Locals) && f.Locals[j] == f.Locals[i] {
			j++
		}
		body = append(appendU(body, uint64(j-i)), byte(f.Locals[i]))
		i = j
	}
	body = appendExpr(body, f.Body)
	return append(appendU(b, uint64(len(body))), body...)
}
