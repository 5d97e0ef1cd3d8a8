package wasm

import (
	"encoding/binary"
	"fmt"
)

// readExpr reads instructions up to and including the end that closes the
// expression (block nesting is tracked, nothing else is checked).
func readExpr(r *reader) ([]Instr, error) {
	var scratch []Instr
	return readExprBuf(r, &scratch)
}

// readExprBuf is readExpr collecting into *scratch, which is reused across
// calls, so that the result is allocated once at its exact size.
func readExprBuf(r *reader, scratch *[]Instr) ([]Instr, error) {
	body := (*scratch)[:0]
	defer func() { *scratch = body[:0] }()
	depth := 0
	for {
		ins, err := readInstr(r)
		if err != nil {
			return nil, err
		}
		body = append(body, ins)
		switch ins.Op {
		case OpBlock, OpLoop, OpIf:
			depth++
		case OpEnd:
			if depth == 0 {
				return append([]Instr(nil), body...), nil
			}
			depth--
		}
	}
}

func readOpcode(r *reader) (Opcode, error) {
	c, err := r.byte()
	if err != nil {
		return 0, err
	}
	if c < 0xFC || c > 0xFE {
		return Opcode(c), nil
	}
	at := r.offset()
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	if sub > 0xFFFF {
		return 0, fmt.Errorf("unknown opcode %#x %#x at offset %#x", c, sub, at-1)
	}
	return Opcode(c)<<16 | Opcode(sub), nil
}

func readInstr(r *reader) (ins Instr, err error) {
	at := r.offset()
	if ins.Op, err = readOpcode(r); err != nil {
		return ins, err
	}
	info := lookup(ins.Op)
	if info == nil {
		return ins, fmt.Errorf("%s at offset %#x", Name(ins.Op), at)
	}
	if info.kind == kindEH {
		return ins, fmt.Errorf("exception handling (%s) is %w (offset %#x)", info.name, ErrUnsupported, at)
	}
	if err = readImmediates(r, info.imm, &ins); err != nil {
		return ins, fmt.Errorf("%s: %w", info.name, err)
	}
	return ins, nil
}

func readImmediates(r *reader, imm immKind, ins *Instr) (err error) {
	switch imm {
	case immBlock:
		ins.Block, err = readBlockType(r)
	case immIdx:
		ins.Imm, err = readU32(r)
	case immIdx2:
		if ins.Imm, err = readU32(r); err == nil {
			ins.Imm2, err = readU32(r)
		}
	case immBrTable:
		ins.Labels, err = readLabels(r)
	case immMemArg, immMemLane:
		if ins.Imm2, err = readU32(r); err == nil {
			ins.Imm, err = readU32(r)
		}
		if err == nil && imm == immMemLane {
			ins.Lane, err = r.byte()
		}
	case immLane:
		ins.Lane, err = r.byte()
	case immMem:
		err = zeroByte(r)
	case immMem2:
		if err = zeroByte(r); err == nil {
			err = zeroByte(r)
		}
	case immMemInit:
		if ins.Imm, err = readU32(r); err == nil {
			err = zeroByte(r)
		}
	case immSelectT:
		ins.Types, err = readValTypes(r)
	case immRefType:
		var t ValType
		t, err = readRefType(r)
		ins.Imm = uint64(t)
	default:
		return readConst(r, imm, ins)
	}
	return err
}

func readConst(r *reader, imm immKind, ins *Instr) error {
	switch imm {
	case immI32:
		v, err := r.s32()
		ins.Imm = uint64(int64(v))
		return err
	case immI64:
		v, err := r.s64()
		ins.Imm = uint64(v)
		return err
	case immF32, immF64, immV128:
		n := map[immKind]uint32{immF32: 4, immF64: 8, immV128: 16}[imm]
		if uint64(n) > uint64(r.left()) {
			return r.eof()
		}
		b := r.b[r.i : r.i+int(n)]
		r.i += int(n)
		switch imm {
		case immF32:
			ins.Imm = uint64(binary.LittleEndian.Uint32(b))
		case immF64:
			ins.Imm = binary.LittleEndian.Uint64(b)
		default:
			copy(ins.V128[:], b)
		}
	}
	return nil
}

func readU32(r *reader) (uint64, error) {
	v, err := r.u32()
	return uint64(v), err
}

// zeroByte reads the reserved memory index byte of MVP memory instructions.
func zeroByte(r *reader) error {
	c, err := r.byte()
	if err == nil && c != 0 {
		r.i--
		err = r.errorf("zero byte expected, found %#x", c)
	}
	return err
}

func readLabels(r *reader) ([]uint32, error) {
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	labels := make([]uint32, 0, n+1)
	for i := uint32(0); i <= n; i++ {
		l, err := r.u32()
		if err != nil {
			return nil, err
		}
		labels = append(labels, l)
	}
	return labels, nil
}

func readBlockType(r *reader) (BlockType, error) {
	at := r.offset()
	v, err := r.s33()
	if err != nil {
		return BlockType{}, err
	}
	if v >= 0 {
		return BlockType{Kind: BlockIndex, Index: uint32(v)}, nil
	}
	if v == -0x40 {
		return BlockType{Kind: BlockEmpty}, nil
	}
	switch t := ValType(v & 0x7f); {
	case v < -0x40:
	case t == I32 || t == I64 || t == F32 || t == F64 || t == V128 || t.IsRef():
		return BlockType{Kind: BlockValue, Value: t}, nil
	}
	return BlockType{}, fmt.Errorf("invalid block type at offset %#x", at)
}
