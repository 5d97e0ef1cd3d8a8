package wasm

import (
	"errors"
	"fmt"
)

// maxPages is the largest memory size in 64 KiB pages (4 GiB).
const maxPages = 65536

// Validate checks the module as the specification's validation does (for
// the features Decode accepts): module-level index bounds and constant
// expressions, then every function body with WalkFunc.
func (m *Module) Validate() error {
	c := newCtx(m)
	checks := []func() error{c.validateImports, c.validateDefinitions, c.validateExports,
		c.validateStart, c.validateElems, c.validateDatas}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	for i := range m.Funcs {
		if err := c.walk(i, nil); err != nil {
			return err
		}
	}
	return nil
}

func (c *modCtx) validateImports() error {
	for i := range c.m.Imports {
		im := &c.m.Imports[i]
		var err error
		switch im.Kind {
		case ExternFunc:
			_, err = c.typ(uint64(im.TypeIdx))
		case ExternTable:
			err = checkLimits(im.Table.Limits, 1<<32-1, "table")
		case ExternMemory:
			err = checkMemory(im.Memory)
		}
		if err != nil {
			return fmt.Errorf("import %d (%s.%s): %w", i, im.Module, im.Name, err)
		}
	}
	return nil
}

func (c *modCtx) validateDefinitions() error {
	m := c.m
	for i := range m.Funcs {
		if _, err := c.typ(uint64(m.Funcs[i].TypeIdx)); err != nil {
			return fmt.Errorf("function %d: %w", len(c.impFuncs)+i, err)
		}
	}
	for i := range m.Tables {
		if err := checkLimits(m.Tables[i].Limits, 1<<32-1, "table"); err != nil {
			return fmt.Errorf("table %d: %w", len(c.impTables)+i, err)
		}
	}
	if c.numMems() > 1 {
		return fmt.Errorf("multiple memories are %w", ErrUnsupported)
	}
	for i := range m.Memories {
		if err := checkMemory(m.Memories[i]); err != nil {
			return fmt.Errorf("memory %d: %w", len(c.impMems)+i, err)
		}
	}
	for i := range m.Globals {
		g := &m.Globals[i]
		if err := c.constExpr(g.Init, g.Type.Type); err != nil {
			return fmt.Errorf("global %d: %w", len(c.impGlobals)+i, err)
		}
	}
	return nil
}

func checkLimits(l Limits, bound uint64, what string) error {
	switch {
	case l.Min > bound:
		return fmt.Errorf("%s size %d must be at most %d", what, l.Min, bound)
	case l.HasMax && l.Max > bound:
		return fmt.Errorf("%s maximum %d must be at most %d", what, l.Max, bound)
	case l.HasMax && l.Max < l.Min:
		return fmt.Errorf("%s size minimum %d must not be greater than maximum %d", what, l.Min, l.Max)
	case l.Is64:
		return fmt.Errorf("memory64 is %w", ErrUnsupported)
	}
	return nil
}

func checkMemory(l Limits) error {
	if l.Shared && !l.HasMax {
		return errors.New("shared memory must have a maximum")
	}
	return checkLimits(l, maxPages, "memory")
}

func (c *modCtx) validateExports() error {
	seen := make(map[string]bool, len(c.m.Exports))
	for i, e := range c.m.Exports {
		if seen[e.Name] {
			return fmt.Errorf("export %d: duplicate export name %q", i, e.Name)
		}
		seen[e.Name] = true
		var n uint64
		switch e.Kind {
		case ExternFunc:
			n = c.numFuncs()
		case ExternTable:
			n = c.numTables()
		case ExternMemory:
			n = c.numMems()
		case ExternGlobal:
			n = c.numGlobals()
		}
		if uint64(e.Index) >= n {
			return fmt.Errorf("export %d (%q): unknown %s %d", i, e.Name, kindNames[e.Kind&3], e.Index)
		}
	}
	return nil
}

var kindNames = [...]string{"function", "table", "memory", "global"}

func (c *modCtx) validateStart() error {
	if c.m.Start == nil {
		return nil
	}
	ft, err := c.funcType(uint64(*c.m.Start))
	if err != nil {
		return fmt.Errorf("start function: %w", err)
	}
	if len(ft.Params) != 0 || len(ft.Results) != 0 {
		return fmt.Errorf("start function %d must have type [] -> [], has %v -> %v", *c.m.Start, ft.Params, ft.Results)
	}
	return nil
}

func (c *modCtx) validateElems() error {
	for i := range c.m.Elems {
		if err := c.validateElem(&c.m.Elems[i]); err != nil {
			return fmt.Errorf("element segment %d: %w", i, err)
		}
	}
	return nil
}

func (c *modCtx) validateElem(e *Elem) error {
	if !e.Type.IsRef() {
		return fmt.Errorf("invalid element type %s", e.Type)
	}
	if e.Mode == SegActive {
		t, err := c.table(uint64(e.Table))
		if err != nil {
			return err
		}
		if t.Elem != e.Type {
			return fmt.Errorf("type mismatch: table %d holds %s, the segment %s", e.Table, t.Elem, e.Type)
		}
		if err := c.constExpr(e.Offset, I32); err != nil {
			return fmt.Errorf("offset: %w", err)
		}
	}
	for _, f := range e.Funcs {
		if uint64(f) >= c.numFuncs() {
			return fmt.Errorf("unknown function %d", f)
		}
	}
	for j, x := range e.Exprs {
		if err := c.constExpr(x, e.Type); err != nil {
			return fmt.Errorf("element %d: %w", j, err)
		}
	}
	return nil
}

func (c *modCtx) validateDatas() error {
	for i := range c.m.Datas {
		d := &c.m.Datas[i]
		if d.Mode != SegActive {
			continue
		}
		if err := c.memory(uint64(d.Memory)); err != nil {
			return fmt.Errorf("data segment %d: %w", i, err)
		}
		if err := c.constExpr(d.Offset, I32); err != nil {
			return fmt.Errorf("data segment %d: offset: %w", i, err)
		}
	}
	return nil
}

// constExpr checks a constant expression producing one value of type want.
// global.get may only read immutable imported globals.
func (c *modCtx) constExpr(e []Instr, want ValType) error {
	var buf [2]ValType
	stack := buf[:0]
	for i := range e {
		ins := &e[i]
		switch ins.Op {
		case OpI32Const, OpI64Const, OpF32Const, OpF64Const, OpV128Const:
			stack = append(stack, lookup(ins.Op).out[0])
		case OpRefNull:
			stack = append(stack, ValType(ins.Imm))
		case OpRefFunc:
			if _, err := c.funcType(ins.Imm); err != nil {
				return err
			}
			stack = append(stack, FuncRef)
		case OpGlobalGet:
			if ins.Imm >= uint64(len(c.impGlobals)) {
				return fmt.Errorf("unknown global %d: constant expressions may only read imported globals", ins.Imm)
			}
			g := c.impGlobals[ins.Imm]
			if g.Mutable {
				return fmt.Errorf("constant expression required: global %d is mutable", ins.Imm)
			}
			stack = append(stack, g.Type)
		case OpEnd:
			if i != len(e)-1 {
				return errors.New("constant expression continues after end")
			}
		default:
			return fmt.Errorf("constant expression required, found %s", Name(ins.Op))
		}
	}
	if len(e) == 0 || e[len(e)-1].Op != OpEnd {
		return errors.New("constant expression does not end with end")
	}
	if len(stack) != 1 || stack[0] != want {
		return fmt.Errorf("type mismatch: constant expression has type %v, want %s", stack, want)
	}
	return nil
}
