package wasm

// Opcode identifies an instruction. Single-byte opcodes are their byte;
// prefixed opcodes are prefix<<16 | sub-opcode (for example 0xFC0A is
// memory.copy and 0xFD000C is v128.const).
type Opcode uint32

// Prefixes of multi-byte opcodes.
const (
	PrefixMisc    Opcode = 0xFC << 16
	PrefixSIMD    Opcode = 0xFD << 16
	PrefixThreads Opcode = 0xFE << 16
)

// Instructions the transform needs by name. Every other opcode is still
// decoded, encoded and typed; see the opcode tables.
const (
	OpUnreachable        Opcode = 0x00
	OpNop                Opcode = 0x01
	OpBlock              Opcode = 0x02
	OpLoop               Opcode = 0x03
	OpIf                 Opcode = 0x04
	OpElse               Opcode = 0x05
	OpTry                Opcode = 0x06 // exception handling (legacy); refused
	OpThrow              Opcode = 0x08 // exception handling; refused
	OpEnd                Opcode = 0x0B
	OpBr                 Opcode = 0x0C
	OpBrIf               Opcode = 0x0D
	OpBrTable            Opcode = 0x0E
	OpReturn             Opcode = 0x0F
	OpCall               Opcode = 0x10
	OpCallIndirect       Opcode = 0x11
	OpReturnCall         Opcode = 0x12 // tail calls; refused
	OpReturnCallIndirect Opcode = 0x13
	OpDrop               Opcode = 0x1A
	OpSelect             Opcode = 0x1B
	OpSelectT            Opcode = 0x1C
	OpLocalGet           Opcode = 0x20
	OpLocalSet           Opcode = 0x21
	OpLocalTee           Opcode = 0x22
	OpGlobalGet          Opcode = 0x23
	OpGlobalSet          Opcode = 0x24
	OpTableGet           Opcode = 0x25
	OpTableSet           Opcode = 0x26
	OpMemorySize         Opcode = 0x3F
	OpI32Const           Opcode = 0x41
	OpI64Const           Opcode = 0x42
	OpF32Const           Opcode = 0x43
	OpF64Const           Opcode = 0x44
	OpI32Eqz             Opcode = 0x45
	OpI32Eq              Opcode = 0x46
	OpI32Ne              Opcode = 0x47
	OpI32LeS             Opcode = 0x4C
	OpI32LeU             Opcode = 0x4D
	OpI64Eq              Opcode = 0x51
	OpI64GtU             Opcode = 0x56
	OpI32Add             Opcode = 0x6A
	OpI32Sub             Opcode = 0x6B
	OpI32Mul             Opcode = 0x6C
	OpI32DivS            Opcode = 0x6D
	OpI32DivU            Opcode = 0x6E
	OpI32RemS            Opcode = 0x6F
	OpI32RemU            Opcode = 0x70
	OpI32Or              Opcode = 0x72
	OpI64Add             Opcode = 0x7C
	OpI64Sub             Opcode = 0x7D
	OpI64Mul             Opcode = 0x7E
	OpI64DivS            Opcode = 0x7F
	OpI64DivU            Opcode = 0x80
	OpI64RemS            Opcode = 0x81
	OpI64RemU            Opcode = 0x82
	OpI64Shl             Opcode = 0x86
	OpI64ExtendU         Opcode = 0xAD
	OpRefNull            Opcode = 0xD0
	OpRefIsNull          Opcode = 0xD1
	OpRefFunc            Opcode = 0xD2

	OpMemoryInit Opcode = PrefixMisc | 0x08
	OpDataDrop   Opcode = PrefixMisc | 0x09
	OpMemoryCopy Opcode = PrefixMisc | 0x0A
	OpMemoryFill Opcode = PrefixMisc | 0x0B
	OpTableInit  Opcode = PrefixMisc | 0x0C
	OpElemDrop   Opcode = PrefixMisc | 0x0D
	OpTableCopy  Opcode = PrefixMisc | 0x0E
	OpTableGrow  Opcode = PrefixMisc | 0x0F
	OpTableSize  Opcode = PrefixMisc | 0x10
	OpTableFill  Opcode = PrefixMisc | 0x11

	OpV128Const        Opcode = PrefixSIMD | 0x0C
	OpI8x16Shuffle     Opcode = PrefixSIMD | 0x0D
	OpI64x2ExtractLane Opcode = PrefixSIMD | 0x1D
	OpI64x2ReplaceLane Opcode = PrefixSIMD | 0x1E
	OpI64x2Splat       Opcode = PrefixSIMD | 0x12
)

// BlockKind says how a block type is encoded.
type BlockKind byte

const (
	BlockEmpty BlockKind = iota // 0x40
	BlockValue                  // a single result type
	BlockIndex                  // a type index (multi-value)
)

// BlockType is the type immediate of block, loop and if.
type BlockType struct {
	Kind  BlockKind
	Value ValType // BlockValue
	Index uint32  // BlockIndex
}

// Instr is one instruction with its immediates. Which fields are used
// depends on the opcode:
//
//   - block, loop, if: Block
//   - br, br_if, call, local.*, global.*, table.get/set/grow/size/fill,
//     ref.func, data.drop, elem.drop, memory.size/grow (memory index):
//     Imm (the index)
//   - br_table: Labels (targets followed by the default)
//   - call_indirect: Imm = type index, Imm2 = table index
//   - memory.init: Imm = data index, Imm2 = memory index
//   - table.init: Imm = elem index, Imm2 = table index
//   - memory.copy, table.copy: Imm = destination, Imm2 = source
//   - loads, stores: Imm = offset, Imm2 = alignment exponent
//     (SIMD lane loads/stores also set Lane)
//   - extract/replace lane: Lane
//   - i32.const, i64.const: Imm holds the value as int64 bits;
//     f32.const, f64.const: Imm holds the IEEE bits
//   - v128.const, i8x16.shuffle: V128
//   - select t: Types; ref.null: Imm = the reference type byte
type Instr struct {
	Op     Opcode
	Block  BlockType
	Imm    uint64
	Imm2   uint64
	Lane   byte
	Labels []uint32
	Types  []ValType
	V128   [16]byte
}
