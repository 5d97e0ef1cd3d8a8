package wasm

import "fmt"

// modCtx holds the index spaces a validator needs, built once per module.
// Defined entities are read from the module directly; only imports are
// collected, so building a context costs O(imports).
type modCtx struct {
	m          *Module
	impFuncs   []uint32 // type index of each imported function
	impTables  []TableType
	impMems    []Limits
	impGlobals []GlobalType
	refs       map[uint32]bool // declared function references, built lazily
	scratch    walker          // buffers kept between walks
}

func newCtx(m *Module) *modCtx {
	c := &modCtx{m: m}
	for i := range m.Imports {
		im := &m.Imports[i]
		switch im.Kind {
		case ExternFunc:
			c.impFuncs = append(c.impFuncs, im.TypeIdx)
		case ExternTable:
			c.impTables = append(c.impTables, im.Table)
		case ExternMemory:
			c.impMems = append(c.impMems, im.Memory)
		case ExternGlobal:
			c.impGlobals = append(c.impGlobals, im.Global)
		}
	}
	return c
}

func (c *modCtx) numFuncs() uint64   { return uint64(len(c.impFuncs)) + uint64(len(c.m.Funcs)) }
func (c *modCtx) numTables() uint64  { return uint64(len(c.impTables)) + uint64(len(c.m.Tables)) }
func (c *modCtx) numMems() uint64    { return uint64(len(c.impMems)) + uint64(len(c.m.Memories)) }
func (c *modCtx) numGlobals() uint64 { return uint64(len(c.impGlobals)) + uint64(len(c.m.Globals)) }

func (c *modCtx) funcType(idx uint64) (FuncType, error) {
	if idx >= c.numFuncs() {
		return FuncType{}, fmt.Errorf("unknown function %d", idx)
	}
	if n := uint64(len(c.impFuncs)); idx >= n {
		return c.typ(uint64(c.m.Funcs[idx-n].TypeIdx))
	}
	return c.typ(uint64(c.impFuncs[idx]))
}

func (c *modCtx) typ(idx uint64) (FuncType, error) {
	if idx >= uint64(len(c.m.Types)) {
		return FuncType{}, fmt.Errorf("unknown type %d", idx)
	}
	return c.m.Types[idx], nil
}

func (c *modCtx) table(idx uint64) (TableType, error) {
	if idx >= c.numTables() {
		return TableType{}, fmt.Errorf("unknown table %d", idx)
	}
	if n := uint64(len(c.impTables)); idx >= n {
		return c.m.Tables[idx-n], nil
	}
	return c.impTables[idx], nil
}

func (c *modCtx) memory(idx uint64) error {
	if idx >= c.numMems() {
		return fmt.Errorf("unknown memory %d", idx)
	}
	return nil
}

func (c *modCtx) global(idx uint64) (GlobalType, error) {
	if idx >= c.numGlobals() {
		return GlobalType{}, fmt.Errorf("unknown global %d", idx)
	}
	if n := uint64(len(c.impGlobals)); idx >= n {
		return c.m.Globals[idx-n].Type, nil
	}
	return c.impGlobals[idx], nil
}

// declared reports whether function idx may be the operand of ref.func in
// a function body: it must occur outside function bodies (element segments,
// exports, global initialisers).
func (c *modCtx) declared(idx uint64) bool {
	if c.refs == nil {
		c.refs = map[uint32]bool{}
		addRefs := func(e []Instr) {
			for i := range e {
				if e[i].Op == OpRefFunc {
					c.refs[uint32(e[i].Imm)] = true
				}
			}
		}
		m := c.m
		for i := range m.Elems {
			for _, f := range m.Elems[i].Funcs {
				c.refs[f] = true
			}
			for _, e := range m.Elems[i].Exprs {
				addRefs(e)
			}
		}
		for i := range m.Globals {
			addRefs(m.Globals[i].Init)
		}
		for _, e := range m.Exports {
			if e.Kind == ExternFunc {
				c.refs[e.Index] = true
			}
		}
	}
	return idx <= 0xFFFFFFFF && c.refs[uint32(idx)]
}

// GlobalTypeOf returns the type of global index idx (imports first).
func (m *Module) GlobalTypeOf(idx uint32) (GlobalType, bool) {
	g, err := newCtx(m).global(uint64(idx))
	return g, err == nil
}

// TableTypeOf returns the type of table index idx (imports first).
func (m *Module) TableTypeOf(idx uint32) (TableType, bool) {
	t, err := newCtx(m).table(uint64(idx))
	return t, err == nil
}

// singleTypes holds the result lists of single-value block types.
var singleTypes = map[ValType][]ValType{I32: {I32}, I64: {I64}, F32: {F32}, F64: {F64},
	V128: {V128}, FuncRef: {FuncRef}, ExternRef: {ExternRef}}

// BlockSig returns the parameter and result types of a block type. The
// slices may alias m.Types and must not be modified.
func (m *Module) BlockSig(bt BlockType) (params, results []ValType, err error) {
	switch bt.Kind {
	case BlockEmpty:
		return nil, nil, nil
	case BlockValue:
		if r := singleTypes[bt.Value]; r != nil {
			return nil, r, nil
		}
		return nil, nil, fmt.Errorf("invalid block type %#x", byte(bt.Value))
	case BlockIndex:
		if int64(bt.Index) >= int64(len(m.Types)) {
			return nil, nil, fmt.Errorf("unknown type %d in block type", bt.Index)
		}
		t := &m.Types[bt.Index]
		return t.Params, t.Results, nil
	}
	return nil, nil, fmt.Errorf("invalid block type kind %d", bt.Kind)
}
