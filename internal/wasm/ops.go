package wasm

import (
	"fmt"
	"strings"
)

// immKind says which immediates follow an opcode in the binary format.
type immKind byte

const (
	immNone    immKind = iota
	immBlock           // block type
	immIdx             // one u32 index
	immIdx2            // two u32 indices
	immBrTable         // vec(label) label
	immMemArg          // align, offset
	immMemLane         // align, offset, lane byte
	immLane            // lane byte
	immMem             // one reserved memory byte (index 0)
	immMem2            // two reserved memory bytes (memory.copy)
	immMemInit         // data index, reserved memory byte
	immI32             // s32
	immI64             // s64
	immF32             // 4 bytes
	immF64             // 8 bytes
	immV128            // 16 bytes
	immSelectT         // vec(valtype)
	immRefType         // reftype byte
)

// opKind groups opcodes by how the validator types them.
type opKind byte

const (
	kindSpecial opKind = iota // typed by a case of its own in walk
	kindPlain                 // fixed signature in, out
	kindLoad                  // memory access: in, out plus memory checks
	kindAtomic                // memory access with exact alignment
	kindEH                    // exception handling: refused by the decoder
)

// opInfo describes one opcode.
type opInfo struct {
	name    string
	imm     immKind
	kind    opKind
	in, out []ValType
	align   uint8 // natural alignment exponent of memory accesses
	lanes   uint8 // number of lanes for lane immediates
}

var (
	opsBase    [256]opInfo
	opsMisc    [18]opInfo
	opsSIMD    [256]opInfo
	opsThreads [0x4F]opInfo
)

// lookup returns the description of op, or nil for an unknown opcode.
func lookup(op Opcode) *opInfo {
	var tab []opInfo
	switch op >> 16 {
	case 0:
		tab = opsBase[:]
	case 0xFC:
		tab = opsMisc[:]
	case 0xFD:
		tab = opsSIMD[:]
	case 0xFE:
		tab = opsThreads[:]
	default:
		return nil
	}
	sub := op & 0xFFFF
	if int(sub) >= len(tab) || tab[sub].name == "" {
		return nil
	}
	return &tab[sub]
}

// Name returns the text-format mnemonic of op, for example "i32.add" or
// "memory.copy", or a hexadecimal placeholder for unknown opcodes.
func Name(op Opcode) string {
	if info := lookup(op); info != nil {
		return info.name
	}
	if op>>16 != 0 {
		return fmt.Sprintf("unknown opcode %#x %#x", uint32(op>>16), uint32(op&0xFFFF))
	}
	return fmt.Sprintf("unknown opcode %#x", uint32(op))
}

// String returns the mnemonic of op.
func (op Opcode) String() string { return Name(op) }

func init() {
	for _, g := range baseNames {
		fill(opsBase[:], g.start, strings.Fields(g.names))
	}
	fill(opsMisc[:], 0, strings.Fields(miscNames))
	fill(opsSIMD[:], 0, strings.Fields(simdNames))
	fill(opsThreads[:], 0, strings.Fields(threadNames))
	for i, op := range threadRMW {
		fill(opsThreads[:], 0x1E+7*i, rmwNames(op))
	}
	setImmediates()
}

func fill(tab []opInfo, start int, names []string) {
	for i, n := range names {
		if n != "-" {
			tab[start+i] = describe(n)
		}
	}
}

// scalar maps a type or vector-shape prefix to its value type.
var scalar = map[string]ValType{
	"i32": I32, "i64": I64, "f32": F32, "f64": F64, "v128": V128,
	"i8x16": I32, "i16x8": I32, "i32x4": I32, "i64x2": I64, "f32x4": F32, "f64x2": F64,
}

var shapeLanes = map[string]uint8{"i8x16": 16, "i16x8": 8, "i32x4": 4, "i64x2": 2, "f32x4": 4, "f64x2": 2}

// describe derives an opcode's signature from its mnemonic. Mnemonics not
// covered by the rules (control, variable, reference, table and bulk memory
// instructions) are kindSpecial and typed by hand in walk_instr.go.
func describe(name string) opInfo {
	prefix, op, _ := strings.Cut(name, ".")
	info := opInfo{name: name}
	t, ok := scalar[prefix]
	switch {
	case strings.Contains(name, "atomic"):
		return describeAtomic(info, prefix, op)
	case !ok:
		return info // kindSpecial
	case op == "const":
		info.kind, info.out = kindPlain, []ValType{t}
		info.imm = map[ValType]immKind{I32: immI32, I64: immI64, F32: immF32, F64: immF64, V128: immV128}[t]
		return info
	case op == "shuffle":
		info.kind, info.imm = kindPlain, immV128
		info.in, info.out = []ValType{V128, V128}, []ValType{V128}
		return info
	case strings.Contains(op, "load") || strings.Contains(op, "store"):
		return describeMemory(info, t, op)
	}
	info.kind = kindPlain
	if len(prefix) == 3 {
		info.in, info.out = scalarSig(t, op)
		return info
	}
	info.in, info.out = vectorSig(prefix, op)
	if strings.HasSuffix(op, "_lane") || strings.Contains(op, "_lane_") {
		info.imm, info.lanes = immLane, shapeLanes[prefix]
	}
	return info
}

// describeMemory types plain and vector loads and stores.
func describeMemory(info opInfo, t ValType, op string) opInfo {
	info.kind, info.imm = kindLoad, immMemArg
	info.align = accessAlign(t, op)
	load := strings.Contains(op, "load")
	switch {
	case strings.HasSuffix(op, "_lane"):
		info.imm, info.lanes = immMemLane, 16>>info.align
		info.in = []ValType{I32, V128}
		if load {
			info.out = []ValType{V128}
		}
	case load:
		info.in, info.out = []ValType{I32}, []ValType{t}
	default:
		info.in = []ValType{I32, t}
	}
	return info
}

// describeAtomic types the threads proposal's instructions.
func describeAtomic(info opInfo, prefix, op string) opInfo {
	info.kind, info.imm = kindAtomic, immMemArg
	t := scalar[prefix]
	switch {
	case op == "fence":
		info.kind, info.imm = kindPlain, immMem
		return info
	case op == "atomic.notify":
		info.in, info.out = []ValType{I32, I32}, []ValType{I32}
		info.align = 2
		return info
	case op == "atomic.wait32":
		info.in, info.out = []ValType{I32, I32, I64}, []ValType{I32}
	case op == "atomic.wait64":
		info.in, info.out = []ValType{I32, I64, I64}, []ValType{I32}
	case strings.Contains(op, "load"):
		info.in, info.out = []ValType{I32}, []ValType{t}
	case strings.Contains(op, "store"):
		info.in = []ValType{I32, t}
	case strings.Contains(op, "cmpxchg"):
		info.in, info.out = []ValType{I32, t, t}, []ValType{t}
	default:
		info.in, info.out = []ValType{I32, t}, []ValType{t}
	}
	info.align = accessAlign(t, op)
	return info
}

// setImmediates fills in the immediates of the hand-typed instructions.
func setImmediates() {
	set := func(tab []opInfo, imm immKind, ops ...int) {
		for _, op := range ops {
			tab[op].imm = imm
		}
	}
	set(opsBase[:], immBlock, 0x02, 0x03, 0x04)
	set(opsBase[:], immIdx, 0x0C, 0x0D, 0x10, 0x12, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2)
	set(opsBase[:], immIdx2, 0x11, 0x13)
	set(opsBase[:], immBrTable, 0x0E)
	set(opsBase[:], immSelectT, 0x1C)
	set(opsBase[:], immMem, 0x3F, 0x40)
	set(opsBase[:], immRefType, 0xD0)
	for _, op := range []int{0x06, 0x07, 0x08, 0x09, 0x0A, 0x18, 0x19, 0x1F} {
		opsBase[op].kind = kindEH
	}
	set(opsMisc[:], immMemInit, 0x08)
	set(opsMisc[:], immIdx, 0x09, 0x0D, 0x0F, 0x10, 0x11)
	set(opsMisc[:], immMem2, 0x0A)
	set(opsMisc[:], immMem, 0x0B)
	set(opsMisc[:], immIdx2, 0x0C, 0x0E)
}

var compareOps = map[string]bool{"eq": true, "ne": true, "lt": true, "gt": true, "le": true, "ge": true, "eqz": true}

var unaryOps = map[string]bool{"clz": true, "ctz": true, "popcnt": true, "abs": true, "neg": true,
	"ceil": true, "floor": true, "trunc": true, "nearest": true, "sqrt": true, "not": true,
	"extend8": true, "extend16": true, "extend32": true}

// scalarSig types i32/i64/f32/f64 numeric instructions.
func scalarSig(t ValType, op string) (in, out []ValType) {
	base, rest, _ := strings.Cut(op, "_")
	for _, tok := range strings.Split(rest, "_") {
		if src, ok := scalar[tok]; ok && len(tok) == 3 {
			return []ValType{src}, []ValType{t} // conversion
		}
	}
	switch {
	case op == "eqz":
		return []ValType{t}, []ValType{I32}
	case compareOps[base]:
		return []ValType{t, t}, []ValType{I32}
	case unaryOps[base]:
		return []ValType{t}, []ValType{t}
	}
	return []ValType{t, t}, []ValType{t}
}

// vectorSig types the v128 instructions without memory access.
func vectorSig(shape, op string) (in, out []ValType) {
	v, s := V128, scalar[shape]
	base, _, _ := strings.Cut(op, "_")
	switch {
	case op == "splat":
		return []ValType{s}, []ValType{v}
	case strings.HasPrefix(op, "extract_lane"):
		return []ValType{v}, []ValType{s}
	case op == "replace_lane":
		return []ValType{v, s}, []ValType{v}
	case op == "any_true" || op == "all_true" || op == "bitmask":
		return []ValType{v}, []ValType{I32}
	case op == "shl" || op == "shr_s" || op == "shr_u":
		return []ValType{v, I32}, []ValType{v}
	case op == "bitselect":
		return []ValType{v, v, v}, []ValType{v}
	case unaryOps[base] || base == "extadd" || base == "extend" || base == "convert" ||
		base == "demote" || base == "promote":
		return []ValType{v}, []ValType{v}
	}
	return []ValType{v, v}, []ValType{v}
}

// accessAlign returns the natural alignment exponent of a memory access
// named op (after the type prefix), whose value type is t.
func accessAlign(t ValType, op string) uint8 {
	for _, kw := range []string{"load", "store", "rmw", "wait"} {
		_, rest, ok := strings.Cut(op, kw)
		if !ok {
			continue
		}
		bits, n := leadingInt(rest)
		if n > 0 && n < len(rest) && rest[n] == 'x' {
			m, _ := leadingInt(rest[n+1:])
			bits *= m
		}
		if bits == 0 {
			bits = map[ValType]int{I32: 32, I64: 64, F32: 32, F64: 64, V128: 128}[t]
		}
		align := uint8(0)
		for b := bits; b > 8; b >>= 1 {
			align++
		}
		return align
	}
	return 2 // memory.atomic.notify
}

func leadingInt(s string) (v, n int) {
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}
