package wasm

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

const header = "\x00asm\x01\x00\x00\x00"

// voidFunc is a type section with [] -> [] and a function section using it.
const voidFunc = "\x01\x04\x01\x60\x00\x00" + "\x03\x02\x01\x00"

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "invalid magic number"},
		{"version", "\x00asm\x02\x00\x00\x00", "unknown binary version"},
		{"memory64", header + "\x05\x03\x01\x04\x01", "memory section: entry 0: memory64 is not supported"},
		{"exception handling", header + voidFunc + "\x0a\x07\x01\x05\x00\x06\x40\x0b\x0b",
			"code section: function 0: exception handling (try) is not supported"},
		{"exception handling after imports",
			header + "\x01\x04\x01\x60\x00\x00" + "\x02\x07\x01\x01m\x01f\x00\x00" + "\x03\x02\x01\x00" +
				"\x0a\x06\x01\x04\x00\x08\x00\x0b", "code section: function 1: exception handling (throw) is not supported"},
		{"too many locals", header + voidFunc + "\x0a\x08\x01\x06\x01\xd1\x86\x03\x7f\x0b", "too many locals"},
		{"count beyond the input", header + "\x01\x05\xff\xff\xff\xff\x0f", "count 4294967295 exceeds the remaining 0 bytes"},
		{"out of order", header + "\x03\x02\x01\x00" + "\x01\x04\x01\x60\x00\x00", "type section at offset 0xc: section out of order"},
		{"duplicate", header + "\x01\x01\x00\x01\x01\x00", "out of order or duplicated"},
		{"unknown section", header + "\x0e\x00", "unknown section id 14"},
		{"tag section", header + "\x0d\x00", "exception handling (tag section) is not supported"},
		{"truncated section", header + "\x01\x05\x01", "larger than the module"},
		{"size mismatch", header + "\x01\x05\x01\x60\x00\x00\x00", "section size mismatch"},
		{"function without code", header + voidFunc, "function and code section have inconsistent lengths"},
		{"data count", header + "\x0c\x01\x02", "data count and data section have inconsistent lengths"},
		{"leb too long", header + "\x01\x07\x81\x80\x80\x80\x80\x00\x00", "integer representation too long"},
		{"leb too large", header + "\x01\x06\x81\x80\x80\x80\x70\x00", "integer too large"},
		{"zero byte", header + voidFunc + "\x0a\x07\x01\x05\x00\x3f\x01\x1a\x0b", "memory.size: zero byte expected"},
		{"unknown opcode", header + voidFunc + "\x0a\x06\x01\x04\x00\xfc\x20\x0b", "unknown opcode 0xfc 0x20"},
		{"bad utf-8", header + "\x00\x03\x02\xff\xfe", "name is not valid utf-8"},
		{"body after end", header + voidFunc + "\x0a\x05\x01\x03\x00\x0b\x01", "continues after its final end"},
		{"body without end", header + voidFunc + "\x0a\x04\x01\x02\x00\x01", "unexpected end of input"},
		{"value type", header + "\x01\x05\x01\x60\x01\x40\x00", "invalid value type 0x40"},
		{"element flags", header + "\x09\x04\x01\x08\x00\x00", "invalid element segment flags 0x8"},
		{"data flags", header + "\x0b\x03\x01\x03\x00", "invalid data segment flags 0x3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			require(t, err != nil && strings.Contains(err.Error(), tc.want), "got %v, want %q", err, tc.want)
			require(t, err.Error() == strings.ToLower(err.Error()[:1])+err.Error()[1:], "error not lower case: %v", err)
		})
	}
	_, err := Decode([]byte(header + "\x05\x03\x01\x04\x01"))
	require(t, errors.Is(err, ErrUnsupported), "memory64 error does not wrap ErrUnsupported: %v", err)
}

func TestLEB(t *testing.T) {
	tests := []struct {
		in     string
		bits   uint
		signed bool
		want   uint64
		err    string
	}{
		{"\x00", 32, false, 0, ""},
		{"\xe5\x8e\x26", 32, false, 624485, ""},
		{"\xff\xff\xff\xff\x0f", 32, false, 0xFFFFFFFF, ""},
		{"\xff\xff\xff\xff\x1f", 32, false, 0, "integer too large"},
		{"\x80\x80\x80\x80\x80\x00", 32, false, 0, "representation too long"},
		{"\x7f", 32, true, uint64(1<<64 - 1), ""},
		{"\xc0\xbb\x78", 32, true, uint64(1<<64 - 123456), ""},
		{"\x80\x80\x80\x80\x78", 32, true, uint64(1<<64 - 1<<31), ""},
		{"\x80\x80\x80\x80\x70", 32, true, 0, "integer too large"},
		{"\xff\xff\xff\xff\x07", 32, true, 0x7FFFFFFF, ""},
		{"\xff\xff\xff\xff\x0f", 33, true, 0xFFFFFFFF, ""},
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00", 64, true, 1<<63 - 1, ""},
		{"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 64, true, 1 << 63, ""},
		{"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 64, true, 0, "integer too large"},
		{"\x80", 32, false, 0, "unexpected end"},
	}
	for _, tc := range tests {
		r := &reader{b: []byte(tc.in)}
		got, err := r.leb(tc.bits, tc.signed)
		if tc.err != "" {
			require(t, err != nil && strings.Contains(err.Error(), tc.err), "%x: got %v, want %q", tc.in, err, tc.err)
			continue
		}
		require(t, err == nil && got == tc.want, "%x: got %#x, %v, want %#x", tc.in, got, err, tc.want)
	}
	for _, v := range []int64{0, 1, -1, 63, 64, -64, -65, 1 << 31, -1 << 31, 1<<63 - 1, -1 << 63} {
		r := &reader{b: appendS(nil, v)}
		got, err := r.s64()
		require(t, err == nil && got == v && r.done(), "appendS(%d) reads back %d, %v", v, got, err)
	}
	for _, v := range []uint32{0, 127, 128, 1<<32 - 1} {
		r := &reader{b: appendU(nil, uint64(v))}
		got, err := r.u32()
		require(t, err == nil && got == v && r.done(), "appendU(%d) reads back %d, %v", v, got, err)
	}
}

func TestFeaturesModule(t *testing.T) {
	b, err := os.ReadFile("testdata/features.wasm")
	require(t, err == nil, "%v", err)
	m, err := Decode(b)
	require(t, err == nil, "Decode: %v", err)
	require(t, bytes.Equal(Encode(m), b), "Encode is not byte-identical")
	require(t, m.Validate() == nil, "Validate: %v", m.Validate())
	for i, want := range []uint32{0, 1, 2, 3, 4, 5, 6, 7} {
		require(t, m.Elems[i].Flags == want, "elem %d flags %d", i, m.Elems[i].Flags)
	}
	names := m.FuncNames()
	require(t, names[0] == "imp" && names[2] == "add" && names[4] == "body", "names: %v", names)
	require(t, len(m.Funcs[1].Locals) == 4 && m.Funcs[1].Locals[1] == I64 && m.Funcs[1].Locals[3] == V128,
		"locals of add: %v", m.Funcs[1].Locals)
	g, ok := m.GlobalTypeOf(1)
	require(t, ok && g.Type == I64 && g.Mutable, "global 1: %v %v", g, ok)
	tt, ok := m.TableTypeOf(1)
	require(t, ok && tt.Elem == ExternRef && tt.Limits.Max == 10, "table 1: %v %v", tt, ok)
	_, ok = m.TableTypeOf(3)
	require(t, !ok, "table 3 exists")
	// A name section that breaks off keeps what was read.
	require(t, parseFuncNames([]byte("\x01\x09\x02\x00\x01a\x01\x03bc")) == nil, "truncated subsection")
	got := parseFuncNames([]byte("\x00\x01\x00\x01\x08\x02\x00\x01a\x01\x05bc"))
	require(t, len(got) == 1 && got[0] == "a", "partial names: %v", got)
}

func TestOpcodeTables(t *testing.T) {
	tests := []struct {
		op         Opcode
		name       string
		in, out    string
		align, lns uint8
	}{
		{0x6A, "i32.add", "[i32 i32]", "[i32]", 0, 0},
		{0xA7, "i32.wrap_i64", "[i64]", "[i32]", 0, 0},
		{0xC4, "i64.extend32_s", "[i64]", "[i64]", 0, 0},
		{0x61, "f64.eq", "[f64 f64]", "[i32]", 0, 0},
		{0x35, "i64.load32_u", "[i32]", "[i64]", 2, 0},
		{PrefixMisc | 0x07, "i64.trunc_sat_f64_u", "[f64]", "[i64]", 0, 0},
		{OpMemoryCopy, "memory.copy", "[]", "[]", 0, 0},
		{OpV128Const, "v128.const", "[]", "[v128]", 0, 0},
		{OpI8x16Shuffle, "i8x16.shuffle", "[v128 v128]", "[v128]", 0, 0},
		{PrefixSIMD | 0x03, "v128.load16x4_s", "[i32]", "[v128]", 3, 0},
		{PrefixSIMD | 0x0B, "v128.store", "[i32 v128]", "[]", 4, 0},
		{PrefixSIMD | 0x55, "v128.load16_lane", "[i32 v128]", "[v128]", 1, 8},
		{PrefixSIMD | 0x5B, "v128.store64_lane", "[i32 v128]", "[]", 3, 2},
		{OpI64x2ExtractLane, "i64x2.extract_lane", "[v128]", "[i64]", 0, 2},
		{PrefixSIMD | 0x20, "f32x4.replace_lane", "[v128 f32]", "[v128]", 0, 4},
		{PrefixSIMD | 0x6B, "i8x16.shl", "[v128 i32]", "[v128]", 0, 0},
		{PrefixSIMD | 0x9B, "i16x8.avgr_u", "[v128 v128]", "[v128]", 0, 0},
		{PrefixSIMD | 0xA4, "i32x4.bitmask", "[v128]", "[i32]", 0, 0},
		{PrefixSIMD | 0xD6, "i64x2.eq", "[v128 v128]", "[v128]", 0, 0},
		{PrefixSIMD | 0xFF, "f64x2.convert_low_i32x4_u", "[v128]", "[v128]", 0, 0},
		{PrefixSIMD | 0x52, "v128.bitselect", "[v128 v128 v128]", "[v128]", 0, 0},
		{PrefixThreads | 0x02, "memory.atomic.wait64", "[i32 i64 i64]", "[i32]", 3, 0},
		{PrefixThreads | 0x1E, "i32.atomic.rmw.add", "[i32 i32]", "[i32]", 2, 0},
		{PrefixThreads | 0x4E, "i64.atomic.rmw32.cmpxchg_u", "[i32 i64 i64]", "[i64]", 2, 0},
		{PrefixThreads | 0x16, "i64.atomic.load32_u", "[i32]", "[i64]", 2, 0},
		{OpReturnCall, "return_call", "[]", "[]", 0, 0},
	}
	for _, tc := range tests {
		info := lookup(tc.op)
		require(t, info != nil && Name(tc.op) == tc.name, "%#x: got %q, want %q", uint32(tc.op), Name(tc.op), tc.name)
		sig := [2]string{fmtTypes(info.in), fmtTypes(info.out)}
		require(t, sig == [2]string{tc.in, tc.out}, "%s: signature %v", tc.name, sig)
		require(t, info.align == tc.align && info.lanes == tc.lns, "%s: align %d lanes %d", tc.name, info.align, info.lanes)
	}
	require(t, lookup(PrefixSIMD|0x9A) == nil && lookup(PrefixSIMD|0x100) == nil, "reserved SIMD opcode named")
	require(t, Name(PrefixMisc|0x12) == "unknown opcode 0xfc 0x12", "got %q", Name(PrefixMisc|0x12))
}

func fmtTypes(ts []ValType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}
