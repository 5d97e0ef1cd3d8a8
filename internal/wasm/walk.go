package wasm

import (
	"errors"
	"fmt"
)

// Unknown is the type of an operand-stack slot whose type is not known. It
// only appears in unreachable code, where the stack is polymorphic.
const Unknown ValType = 0

var valTypeNames = map[ValType]string{I32: "i32", I64: "i64", F32: "f32", F64: "f64",
	V128: "v128", FuncRef: "funcref", ExternRef: "externref", Unknown: "unknown"}

// String returns the text-format name of t.
func (t ValType) String() string {
	if s, ok := valTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("invalid value type %#x", byte(t))
}

func isNum(t ValType) bool { return t == I32 || t == I64 || t == F32 || t == F64 || t == Unknown }
func isVec(t ValType) bool { return t == V128 || t == Unknown }

// ctrl is a control frame of the validation algorithm.
type ctrl struct {
	op              Opcode // OpBlock (also the function body), OpLoop, OpIf or OpElse
	params, results []ValType
	height          int
	unreachable     bool
}

func (c *ctrl) labelTypes() []ValType {
	if c.op == OpLoop {
		return c.params
	}
	return c.results
}

// walker runs the validation algorithm of the specification's appendix over
// one function body.
type walker struct {
	c       *modCtx
	locals  []ValType
	results []ValType
	vals    []ValType
	ctrls   []ctrl
}

// WalkFunc validates the body of the defined function m.Funcs[defined] and
// calls visit (when not nil) before each instruction with the instruction's
// index in Body, the operand stack (bottom first, across all blocks; Unknown
// for slots of a polymorphic stack) and whether the instruction is
// reachable. The parameters of a block, loop or if are on the stack when
// visit sees that instruction. visit must not keep or modify stack.
func (m *Module) WalkFunc(defined int, visit func(pc int, stack []ValType, reachable bool)) error {
	return newCtx(m).walk(defined, visit)
}

func (c *modCtx) walk(defined int, visit func(pc int, stack []ValType, reachable bool)) error {
	m := c.m
	if defined < 0 || defined >= len(m.Funcs) {
		return fmt.Errorf("defined function %d does not exist (the module defines %d)", defined, len(m.Funcs))
	}
	fidx := len(c.impFuncs) + defined
	f := &m.Funcs[defined]
	ft, ok := m.typeAt(f.TypeIdx)
	if !ok {
		return fmt.Errorf("function %d: unknown type %d", fidx, f.TypeIdx)
	}
	// Reuse the previous walk's buffers (Validate walks every function).
	w := &walker{c: c, results: ft.Results, vals: c.scratch.vals[:0], ctrls: c.scratch.ctrls[:0]}
	w.locals = append(append(c.scratch.locals[:0], ft.Params...), f.Locals...)
	defer func() { c.scratch = *w }()
	w.pushCtrl(OpBlock, nil, ft.Results)
	for pc := range f.Body {
		ins := &f.Body[pc]
		if len(w.ctrls) == 0 {
			return fmt.Errorf("function %d: instruction %d (%s): instruction after the final end", fidx, pc, Name(ins.Op))
		}
		if visit != nil {
			visit(pc, w.vals[:len(w.vals):len(w.vals)], !w.top().unreachable)
		}
		if err := w.step(ins); err != nil {
			return fmt.Errorf("function %d: instruction %d (%s): %w", fidx, pc, Name(ins.Op), err)
		}
	}
	if len(w.ctrls) != 0 {
		return fmt.Errorf("function %d: body does not end with end", fidx)
	}
	return nil
}

func (w *walker) top() *ctrl { return &w.ctrls[len(w.ctrls)-1] }

func (w *walker) push(t ValType) { w.vals = append(w.vals, t) }

func (w *walker) pushVals(ts []ValType) { w.vals = append(w.vals, ts...) }

var errUnderflow = errors.New("type mismatch: not enough operands on the stack")

func (w *walker) pop() (ValType, error) {
	top := w.top()
	if len(w.vals) == top.height {
		if top.unreachable {
			return Unknown, nil
		}
		return 0, errUnderflow
	}
	t := w.vals[len(w.vals)-1]
	w.vals = w.vals[:len(w.vals)-1]
	return t, nil
}

func (w *walker) popExpect(expect ValType) (ValType, error) {
	actual, err := w.pop()
	if err != nil {
		if expect != Unknown {
			return 0, fmt.Errorf("type mismatch: expected %s, but the stack is empty", expect)
		}
		return 0, err
	}
	if actual != expect && actual != Unknown && expect != Unknown {
		return 0, fmt.Errorf("type mismatch: expected %s, got %s", expect, actual)
	}
	return actual, nil
}

func (w *walker) popVals(ts []ValType) error {
	for i := len(ts) - 1; i >= 0; i-- {
		if _, err := w.popExpect(ts[i]); err != nil {
			return err
		}
	}
	return nil
}

// popRef pops a value that must be a reference (or Unknown).
func (w *walker) popRef() (ValType, error) {
	t, err := w.pop()
	if err == nil && !t.IsRef() && t != Unknown {
		err = fmt.Errorf("type mismatch: expected a reference, got %s", t)
	}
	return t, err
}

func (w *walker) pushCtrl(op Opcode, params, results []ValType) {
	w.ctrls = append(w.ctrls, ctrl{op: op, params: params, results: results, height: len(w.vals)})
	w.pushVals(params)
}

func (w *walker) popCtrl() (ctrl, error) {
	top := *w.top()
	if err := w.popVals(top.results); err != nil {
		return top, err
	}
	if len(w.vals) != top.height {
		return top, fmt.Errorf("type mismatch: %d values left on the stack at the end of the block", len(w.vals)-top.height)
	}
	w.ctrls = w.ctrls[:len(w.ctrls)-1]
	return top, nil
}

func (w *walker) unreachable() {
	top := w.top()
	w.vals = w.vals[:top.height]
	top.unreachable = true
}

func (w *walker) label(l uint64) (*ctrl, error) {
	if l >= uint64(len(w.ctrls)) {
		return nil, fmt.Errorf("unknown label %d", l)
	}
	return &w.ctrls[len(w.ctrls)-1-int(l)], nil
}

// step types one instruction.
func (w *walker) step(ins *Instr) error {
	info := lookup(ins.Op)
	switch {
	case info == nil:
		return errors.New("unknown opcode")
	case info.kind == kindEH:
		return fmt.Errorf("exception handling is %w", ErrUnsupported)
	case info.kind == kindLoad || info.kind == kindAtomic:
		if err := w.memArg(ins, info); err != nil {
			return err
		}
	case info.kind == kindSpecial:
		return w.special(ins)
	}
	if err := w.lanes(ins, info); err != nil {
		return err
	}
	if err := w.popVals(info.in); err != nil {
		return err
	}
	w.pushVals(info.out)
	return nil
}

func (w *walker) memArg(ins *Instr, info *opInfo) error {
	if err := w.c.memory(0); err != nil {
		return err
	}
	if ins.Imm > 0xFFFFFFFF {
		return fmt.Errorf("offset %d out of range", ins.Imm)
	}
	if info.kind == kindAtomic && ins.Imm2 != uint64(info.align) {
		return fmt.Errorf("alignment 2**%d must be exactly the natural alignment 2**%d", ins.Imm2, info.align)
	}
	if ins.Imm2 > uint64(info.align) {
		return fmt.Errorf("alignment 2**%d must not be larger than natural 2**%d", ins.Imm2, info.align)
	}
	return nil
}

func (w *walker) lanes(ins *Instr, info *opInfo) error {
	switch {
	case info.imm == immLane || info.imm == immMemLane:
		if ins.Lane >= info.lanes {
			return fmt.Errorf("invalid lane index %d (lanes: %d)", ins.Lane, info.lanes)
		}
	case ins.Op == OpI8x16Shuffle:
		for _, l := range ins.V128 {
			if l >= 32 {
				return fmt.Errorf("invalid lane index %d (lanes: 32)", l)
			}
		}
	}
	return nil
}
