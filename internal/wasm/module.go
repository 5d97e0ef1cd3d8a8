// Package wasm is Roam's model of the WebAssembly binary format: a decoder, an
// encoder and a validator that reports the operand-stack types at every
// instruction. The transform rewrites modules through it.
//
// It must not depend on any engine (wazero), on HTTP, or on orchestration code.
package wasm

import "slices"

// ValType is a value type, encoded as in the binary format.
type ValType byte

const (
	I32       ValType = 0x7f
	I64       ValType = 0x7e
	F32       ValType = 0x7d
	F64       ValType = 0x7c
	V128      ValType = 0x7b
	FuncRef   ValType = 0x70
	ExternRef ValType = 0x6f
)

// IsRef reports whether t is a reference type.
func (t ValType) IsRef() bool { return t == FuncRef || t == ExternRef }

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

// Equal reports whether two signatures are identical.
func (f FuncType) Equal(o FuncType) bool {
	return slices.Equal(f.Params, o.Params) && slices.Equal(f.Results, o.Results)
}

// ExternKind says what an import or export refers to.
type ExternKind byte

const (
	ExternFunc   ExternKind = 0
	ExternTable  ExternKind = 1
	ExternMemory ExternKind = 2
	ExternGlobal ExternKind = 3
)

// Limits bounds a table or memory, in elements or 64 KiB pages.
type Limits struct {
	Min    uint64
	Max    uint64
	HasMax bool
	Shared bool // threads proposal; refused by the transform
	Is64   bool // memory64; refused by the decoder
}

// TableType describes a table.
type TableType struct {
	Elem   ValType
	Limits Limits
}

// GlobalType describes a global.
type GlobalType struct {
	Type    ValType
	Mutable bool
}

// Import is one entry of the import section. Exactly one of the
// descriptors is meaningful, selected by Kind.
type Import struct {
	Module, Name string
	Kind         ExternKind
	TypeIdx      uint32 // ExternFunc
	Table        TableType
	Memory       Limits
	Global       GlobalType
}

// Export is one entry of the export section.
type Export struct {
	Name  string
	Kind  ExternKind
	Index uint32
}

// Func is a function defined by the module (not imported).
type Func struct {
	TypeIdx uint32
	Locals  []ValType // declared locals, expanded (one entry per local)
	Body    []Instr   // flat, as in the binary format, ending with OpEnd
}

// Global is a global defined by the module.
type Global struct {
	Type GlobalType
	Init []Instr // constant expression, ending with OpEnd
}

// ElemMode says how an element or data segment is applied.
type ElemMode byte

const (
	SegActive      ElemMode = 0
	SegPassive     ElemMode = 1
	SegDeclarative ElemMode = 2 // element segments only
)

// Elem is an element segment. When the binary used function indices
// (flags 0-3) Funcs is set and Exprs nil; otherwise Exprs holds one constant
// expression per element. Flags is the segment's original encoding flag, kept
// so the encoder reproduces the input byte for byte.
type Elem struct {
	Flags  uint32
	Mode   ElemMode
	Table  uint32
	Offset []Instr // active only
	Type   ValType
	Funcs  []uint32
	Exprs  [][]Instr
}

// Data is a data segment.
type Data struct {
	Flags  uint32
	Mode   ElemMode // SegActive or SegPassive
	Memory uint32
	Offset []Instr // active only
	Init   []byte
}

// Custom is a custom section. After is the id of the last known section that
// preceded it in the input (0 when it came first), so the encoder puts it back
// in the same place.
type Custom struct {
	Name  string
	Data  []byte
	After SectionID
}

// SectionID is a binary section id.
type SectionID byte

const (
	SecCustom    SectionID = 0
	SecType      SectionID = 1
	SecImport    SectionID = 2
	SecFunction  SectionID = 3
	SecTable     SectionID = 4
	SecMemory    SectionID = 5
	SecGlobal    SectionID = 6
	SecExport    SectionID = 7
	SecStart     SectionID = 8
	SecElement   SectionID = 9
	SecCode      SectionID = 10
	SecData      SectionID = 11
	SecDataCount SectionID = 12
)

// Module is a decoded module. Index spaces (functions, tables, memories,
// globals) start with the imports, as in the specification.
type Module struct {
	Types     []FuncType
	Imports   []Import
	Funcs     []Func
	Tables    []TableType
	Memories  []Limits
	Globals   []Global
	Exports   []Export
	Start     *uint32
	Elems     []Elem
	Datas     []Data
	DataCount *uint32
	Customs   []Custom

	// KeepEmpty has bit 1<<id set for every known section that was present
	// but empty in the input; the encoder writes those sections again so the
	// round trip is byte for byte. Non-empty sections are always written.
	KeepEmpty uint16
}

// NumImported counts the imports of one kind.
func (m *Module) NumImported(k ExternKind) int {
	n := 0
	for i := range m.Imports {
		if m.Imports[i].Kind == k {
			n++
		}
	}
	return n
}

// FuncTypeOf returns the signature of function index idx (imports first).
func (m *Module) FuncTypeOf(idx uint32) (FuncType, bool) {
	n := uint32(0)
	for i := range m.Imports {
		if m.Imports[i].Kind != ExternFunc {
			continue
		}
		if n == idx {
			return m.typeAt(m.Imports[i].TypeIdx)
		}
		n++
	}
	d := idx - n
	if d >= uint32(len(m.Funcs)) {
		return FuncType{}, false
	}
	return m.typeAt(m.Funcs[d].TypeIdx)
}

func (m *Module) typeAt(i uint32) (FuncType, bool) {
	if i >= uint32(len(m.Types)) {
		return FuncType{}, false
	}
	return m.Types[i], true
}

// FuncNames returns the names of the name section's function subsection,
// by function index; nil when absent or malformed.
func (m *Module) FuncNames() map[uint32]string {
	for _, c := range m.Customs {
		if c.Name == "name" {
			return parseFuncNames(c.Data)
		}
	}
	return nil
}
