package wasm

import (
	"errors"
	"fmt"
	"slices"
)

// special types the instructions whose signature depends on immediates or
// on the module: control, variable, reference, table and bulk memory.
func (w *walker) special(ins *Instr) error {
	switch ins.Op {
	case OpUnreachable:
		w.unreachable()
	case OpNop:
	case OpBlock, OpLoop, OpIf, OpElse, OpEnd:
		return w.structured(ins)
	case OpBr, OpBrIf, OpBrTable, OpReturn:
		return w.branch(ins)
	case OpCall, OpCallIndirect, OpReturnCall, OpReturnCallIndirect:
		return w.call(ins)
	case OpDrop:
		_, err := w.pop()
		return err
	case OpSelect, OpSelectT:
		return w.selectOp(ins)
	case OpLocalGet, OpLocalSet, OpLocalTee, OpGlobalGet, OpGlobalSet:
		return w.variable(ins)
	case OpRefNull:
		t := ValType(ins.Imm)
		if !t.IsRef() || ins.Imm > 0xFF {
			return fmt.Errorf("invalid reference type %#x", ins.Imm)
		}
		w.push(t)
	case OpRefIsNull:
		if _, err := w.popRef(); err != nil {
			return err
		}
		w.push(I32)
	case OpRefFunc:
		if _, err := w.c.funcType(ins.Imm); err != nil {
			return err
		}
		if !w.c.declared(ins.Imm) {
			return fmt.Errorf("undeclared function reference %d", ins.Imm)
		}
		w.push(FuncRef)
	case OpMemorySize, memoryGrow, OpMemoryInit, OpDataDrop, OpMemoryCopy, OpMemoryFill:
		return w.memoryOp(ins)
	default:
		return w.tableOp(ins)
	}
	return nil
}

const memoryGrow Opcode = 0x40

var i32x3 = []ValType{I32, I32, I32}

func (w *walker) structured(ins *Instr) error {
	switch ins.Op {
	case OpElse:
		if w.top().op != OpIf {
			return errors.New("else without a matching if")
		}
		f, err := w.popCtrl()
		if err == nil {
			w.pushCtrl(OpElse, f.params, f.results)
		}
		return err
	case OpEnd:
		f, err := w.popCtrl()
		if err == nil && f.op == OpIf && !slices.Equal(f.params, f.results) {
			err = fmt.Errorf("type mismatch: if without else must leave its parameters %v unchanged, but returns %v", f.params, f.results)
		}
		w.pushVals(f.results)
		return err
	}
	params, results, err := w.c.m.BlockSig(ins.Block)
	if err != nil {
		return err
	}
	if ins.Op == OpIf {
		if _, err := w.popExpect(I32); err != nil {
			return err
		}
	}
	if err := w.popVals(params); err != nil {
		return err
	}
	w.pushCtrl(ins.Op, params, results)
	return nil
}

func (w *walker) branch(ins *Instr) error {
	switch ins.Op {
	case OpReturn:
		if err := w.popVals(w.results); err != nil {
			return err
		}
	case OpBr:
		l, err := w.label(ins.Imm)
		if err != nil {
			return err
		}
		if err := w.popVals(l.labelTypes()); err != nil {
			return err
		}
	case OpBrIf:
		if _, err := w.popExpect(I32); err != nil {
			return err
		}
		l, err := w.label(ins.Imm)
		if err != nil {
			return err
		}
		if err := w.popVals(l.labelTypes()); err != nil {
			return err
		}
		w.pushVals(l.labelTypes())
		return nil
	case OpBrTable:
		if err := w.brTable(ins.Labels); err != nil {
			return err
		}
	}
	w.unreachable()
	return nil
}

func (w *walker) brTable(labels []uint32) error {
	if len(labels) == 0 {
		return errors.New("br_table without a default label")
	}
	if _, err := w.popExpect(I32); err != nil {
		return err
	}
	def, err := w.label(uint64(labels[len(labels)-1]))
	if err != nil {
		return err
	}
	arity := len(def.labelTypes())
	popped := make([]ValType, arity)
	for _, n := range labels[:len(labels)-1] {
		l, err := w.label(uint64(n))
		if err != nil {
			return err
		}
		ts := l.labelTypes()
		if len(ts) != arity {
			return fmt.Errorf("type mismatch: label %d has arity %d, the default label %d", n, len(ts), arity)
		}
		// Pop and push back what was popped: in unreachable code the
		// slots stay Unknown, so labels of different types may agree.
		for i := len(ts) - 1; i >= 0; i-- {
			if popped[i], err = w.popExpect(ts[i]); err != nil {
				return err
			}
		}
		w.pushVals(popped)
	}
	return w.popVals(def.labelTypes())
}

func (w *walker) call(ins *Instr) error {
	var ft FuncType
	var err error
	if ins.Op == OpCall || ins.Op == OpReturnCall {
		ft, err = w.c.funcType(ins.Imm)
	} else {
		ft, err = w.indirectType(ins)
	}
	if err != nil {
		return err
	}
	if err := w.popVals(ft.Params); err != nil {
		return err
	}
	if ins.Op == OpCall || ins.Op == OpCallIndirect {
		w.pushVals(ft.Results)
		return nil
	}
	if !slices.Equal(ft.Results, w.results) {
		return fmt.Errorf("type mismatch: tail call returns %v, the function %v", ft.Results, w.results)
	}
	w.unreachable()
	return nil
}

// indirectType checks the table of call_indirect, pops the callee index and
// returns the callee's signature.
func (w *walker) indirectType(ins *Instr) (FuncType, error) {
	t, err := w.c.table(ins.Imm2)
	if err != nil {
		return FuncType{}, err
	}
	if t.Elem != FuncRef {
		return FuncType{}, fmt.Errorf("type mismatch: table %d holds %s, not funcref", ins.Imm2, t.Elem)
	}
	ft, err := w.c.typ(ins.Imm)
	if err != nil {
		return ft, err
	}
	_, err = w.popExpect(I32)
	return ft, err
}

func (w *walker) selectOp(ins *Instr) error {
	if _, err := w.popExpect(I32); err != nil {
		return err
	}
	if ins.Op == OpSelectT {
		if len(ins.Types) != 1 {
			return fmt.Errorf("invalid result arity %d for select", len(ins.Types))
		}
		t := ins.Types[0]
		for i := 0; i < 2; i++ {
			if _, err := w.popExpect(t); err != nil {
				return err
			}
		}
		w.push(t)
		return nil
	}
	t1, err := w.pop()
	if err != nil {
		return err
	}
	t2, err := w.pop()
	if err != nil {
		return err
	}
	if !(isNum(t1) && isNum(t2)) && !(isVec(t1) && isVec(t2)) {
		return fmt.Errorf("type mismatch: select needs a type immediate for %s and %s", t2, t1)
	}
	if t1 != t2 && t1 != Unknown && t2 != Unknown {
		return fmt.Errorf("type mismatch: select operands %s and %s differ", t2, t1)
	}
	if t1 == Unknown {
		t1 = t2
	}
	w.push(t1)
	return nil
}

func (w *walker) variable(ins *Instr) error {
	if ins.Op == OpGlobalGet || ins.Op == OpGlobalSet {
		g, err := w.c.global(ins.Imm)
		if err != nil {
			return err
		}
		if ins.Op == OpGlobalGet {
			w.push(g.Type)
			return nil
		}
		if !g.Mutable {
			return fmt.Errorf("global %d is immutable", ins.Imm)
		}
		_, err = w.popExpect(g.Type)
		return err
	}
	if ins.Imm >= uint64(len(w.locals)) {
		return fmt.Errorf("unknown local %d", ins.Imm)
	}
	t := w.locals[ins.Imm]
	if ins.Op != OpLocalGet {
		if _, err := w.popExpect(t); err != nil {
			return err
		}
	}
	if ins.Op != OpLocalSet {
		w.push(t)
	}
	return nil
}
