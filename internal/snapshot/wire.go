package snapshot

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Appenders build section payloads; parser reads them back. Both are little
// endian and length-prefix strings and lists with a uint32.

var le = binary.LittleEndian

func appendU32(b []byte, v uint32) []byte { return le.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return le.AppendUint64(b, v) }

func appendCount(b []byte, n int) ([]byte, error) {
	if uint64(n) > math.MaxUint32 {
		return b, fmt.Errorf("%d items: %w", n, ErrInvalid)
	}
	return appendU32(b, uint32(n)), nil
}

func appendString(b []byte, s string) ([]byte, error) {
	b, err := appendCount(b, len(s))
	return append(b, s...), err
}

func appendU32s(b []byte, vs []uint32) ([]byte, error) {
	b, err := appendCount(b, len(vs))
	for _, v := range vs {
		b = appendU32(b, v)
	}
	return b, err
}

// Value encoding: type byte, Lo, and Hi only for a v128.
const minValueSize = 1 + 8

func appendValue(b []byte, v Value) ([]byte, error) {
	if err := checkValue(v); err != nil {
		return b, err
	}
	b = appendU64(append(b, v.Type), v.Lo)
	if v.Type == TypeV128 {
		b = appendU64(b, v.Hi)
	}
	return b, nil
}

func appendValues(b []byte, vs []Value) ([]byte, error) {
	b, err := appendCount(b, len(vs))
	for _, v := range vs {
		if err != nil {
			break
		}
		b, err = appendValue(b, v)
	}
	return b, err
}

// parser reads a verified payload. The first failure sticks: later reads
// return zero values and err says what was wrong first.
type parser struct {
	b   []byte
	err error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

func (p *parser) take(n int) []byte {
	if p.err != nil || n > len(p.b) {
		p.fail("payload ends %d bytes early", n-len(p.b))
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
}

func (p *parser) u8() byte {
	if b := p.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (p *parser) u32() uint32 {
	if b := p.take(4); b != nil {
		return le.Uint32(b)
	}
	return 0
}

func (p *parser) u64() uint64 {
	if b := p.take(8); b != nil {
		return le.Uint64(b)
	}
	return 0
}

// count reads a list length and refuses one whose items, at minSize bytes
// each, cannot fit in what is left of the payload.
func (p *parser) count(minSize int) int {
	n := uint64(p.u32())
	if p.err == nil && n*uint64(minSize) > uint64(len(p.b)) {
		p.fail("count %d does not fit in %d bytes", n, len(p.b))
		return 0
	}
	return int(n)
}

func (p *parser) string() string { return string(p.take(p.count(1))) }

func (p *parser) value() Value {
	v := Value{Type: p.u8(), Lo: p.u64()}
	if v.Type == TypeV128 {
		v.Hi = p.u64()
	}
	if p.err == nil && !validType(v.Type) {
		p.fail("value type 0x%02x", v.Type)
	}
	return v
}

func (p *parser) values() []Value {
	n := p.count(minValueSize)
	if n == 0 {
		return nil
	}
	vs := make([]Value, n)
	for i := range vs {
		vs[i] = p.value()
	}
	return vs
}

func (p *parser) u32s() []uint32 {
	n := p.count(4)
	if n == 0 {
		return nil
	}
	vs := make([]uint32, n)
	for i := range vs {
		vs[i] = p.u32()
	}
	return vs
}

// end fails if bytes are left over: every payload is read to its last byte.
func (p *parser) end() error {
	if p.err == nil && len(p.b) != 0 {
		p.fail("%d unexpected bytes at end of payload", len(p.b))
	}
	return p.err
}
