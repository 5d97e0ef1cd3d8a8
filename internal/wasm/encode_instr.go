package wasm

import (
	"encoding/binary"
	"fmt"
)

func appendExpr(b []byte, body []Instr) []byte {
	for i := range body {
		b = appendInstr(b, &body[i])
	}
	return b
}

func appendOpcode(b []byte, op Opcode) []byte {
	if op>>16 == 0 {
		return append(b, byte(op))
	}
	return appendU(append(b, byte(op>>16)), uint64(op&0xFFFF))
}

// appendInstr appends one instruction with its immediates.
func appendInstr(b []byte, ins *Instr) []byte {
	info := lookup(ins.Op)
	if info == nil || info.kind == kindEH {
		panic(fmt.Sprintf("wasm.Encode: cannot encode %s", Name(ins.Op)))
	}
	b = appendOpcode(b, ins.Op)
	switch info.imm {
	case immBlock:
		return appendBlockType(b, ins.Block)
	case immIdx:
		return appendU(b, ins.Imm)
	case immIdx2:
		return appendU(appendU(b, ins.Imm), ins.Imm2)
	case immBrTable:
		if len(ins.Labels) == 0 {
			panic("wasm.Encode: br_table without a default label")
		}
		n := len(ins.Labels) - 1
		b = appendU(b, uint64(n))
		for _, l := range ins.Labels {
			b = appendU(b, uint64(l))
		}
		return b
	case immMemArg:
		return appendU(appendU(b, ins.Imm2), ins.Imm)
	case immMemLane:
		return append(appendU(appendU(b, ins.Imm2), ins.Imm), ins.Lane)
	case immLane:
		return append(b, ins.Lane)
	case immMem:
		return appendU(b, ins.Imm)
	case immMem2:
		return appendU(appendU(b, ins.Imm), ins.Imm2)
	case immMemInit:
		return appendU(appendU(b, ins.Imm), ins.Imm2)
	case immI32:
		return appendS(b, int64(int32(uint32(ins.Imm))))
	case immI64:
		return appendS(b, int64(ins.Imm))
	case immF32:
		return binary.LittleEndian.AppendUint32(b, uint32(ins.Imm))
	case immF64:
		return binary.LittleEndian.AppendUint64(b, ins.Imm)
	case immV128:
		return append(b, ins.V128[:]...)
	case immSelectT:
		return appendValTypes(b, ins.Types)
	case immRefType:
		return append(b, byte(ins.Imm))
	}
	return b
}

func appendBlockType(b []byte, bt BlockType) []byte {
	switch bt.Kind {
	case BlockValue:
		return append(b, byte(bt.Value))
	case BlockIndex:
		return appendS(b, int64(bt.Index))
	}
	return append(b, 0x40)
}
