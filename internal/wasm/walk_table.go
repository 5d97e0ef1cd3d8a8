package wasm

import "fmt"

// memoryOp types memory.size, memory.grow and the bulk memory instructions.
func (w *walker) memoryOp(ins *Instr) error {
	switch ins.Op {
	case OpMemoryInit, OpDataDrop:
		if err := w.dataSegment(ins.Imm); err != nil || ins.Op == OpDataDrop {
			return err
		}
		if err := w.c.memory(ins.Imm2); err != nil {
			return err
		}
		return w.popVals(i32x3)
	case OpMemoryCopy:
		if err := w.c.memory(ins.Imm2); err != nil {
			return err
		}
	}
	if err := w.c.memory(ins.Imm); err != nil {
		return err
	}
	switch ins.Op {
	case OpMemorySize:
		w.push(I32)
	case memoryGrow:
		if _, err := w.popExpect(I32); err != nil {
			return err
		}
		w.push(I32)
	default: // memory.copy, memory.fill
		return w.popVals(i32x3)
	}
	return nil
}

func (w *walker) dataSegment(idx uint64) error {
	dc := w.c.m.DataCount
	if dc == nil {
		return fmt.Errorf("data count section required for data segment %d", idx)
	}
	if idx >= uint64(*dc) {
		return fmt.Errorf("unknown data segment %d", idx)
	}
	return nil
}

func (w *walker) elemType(idx uint64) (ValType, error) {
	if idx >= uint64(len(w.c.m.Elems)) {
		return 0, fmt.Errorf("unknown element segment %d", idx)
	}
	return w.c.m.Elems[idx].Type, nil
}

// tableOp types the table instructions.
func (w *walker) tableOp(ins *Instr) error {
	switch ins.Op {
	case OpElemDrop:
		_, err := w.elemType(ins.Imm)
		return err
	case OpTableInit:
		et, err := w.elemType(ins.Imm)
		if err != nil {
			return err
		}
		return w.tableRange(ins.Imm2, et)
	case OpTableCopy:
		src, err := w.c.table(ins.Imm2)
		if err != nil {
			return err
		}
		return w.tableRange(ins.Imm, src.Elem)
	}
	t, err := w.c.table(ins.Imm)
	if err != nil {
		return err
	}
	e := t.Elem
	switch ins.Op {
	case OpTableGet:
		if _, err := w.popExpect(I32); err != nil {
			return err
		}
		w.push(e)
	case OpTableSet:
		return w.popVals([]ValType{I32, e})
	case OpTableSize:
		w.push(I32)
	case OpTableGrow:
		if err := w.popVals([]ValType{e, I32}); err != nil {
			return err
		}
		w.push(I32)
	case OpTableFill:
		return w.popVals([]ValType{I32, e, I32})
	default:
		return fmt.Errorf("unknown opcode %#x", uint32(ins.Op))
	}
	return nil
}

// tableRange checks that table idx holds elements of type src and pops the
// three i32 operands of table.init and table.copy.
func (w *walker) tableRange(idx uint64, src ValType) error {
	t, err := w.c.table(idx)
	if err != nil {
		return err
	}
	if t.Elem != src {
		return fmt.Errorf("type mismatch: table %d holds %s, the source %s", idx, t.Elem, src)
	}
	return w.popVals(i32x3)
}
