package wasm

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by every error about a feature Roam refuses
// (exception handling, memory64, ...), so callers can tell those apart from
// malformed or invalid modules with errors.Is.
var ErrUnsupported = errors.New("not supported")

// reader consumes a byte slice. base is the absolute offset of b[0] in the
// module, used in error messages.
type reader struct {
	b    []byte
	i    int
	base int
}

func (r *reader) offset() int { return r.base + r.i }
func (r *reader) left() int   { return len(r.b) - r.i }
func (r *reader) done() bool  { return r.i >= len(r.b) }

func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf(format+" at offset %#x", append(args, r.offset())...)
}

func (r *reader) eof() error { return r.errorf("unexpected end of input") }

func (r *reader) byte() (byte, error) {
	if r.i >= len(r.b) {
		return 0, r.eof()
	}
	c := r.b[r.i]
	r.i++
	return c, nil
}

// bytes returns a copy of the next n bytes (nil when n is 0).
func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(r.left()) {
		return nil, r.eof()
	}
	if n == 0 {
		return nil, nil
	}
	out := append([]byte(nil), r.b[r.i:r.i+int(n)]...)
	r.i += int(n)
	return out, nil
}

// sub splits off the next n bytes as their own reader.
func (r *reader) sub(n uint32) (*reader, error) {
	if uint64(n) > uint64(r.left()) {
		return nil, r.eof()
	}
	s := &reader{b: r.b[r.i : r.i+int(n)], base: r.offset()}
	r.i += int(n)
	return s, nil
}

// count reads a vector length and checks that at least min bytes per
// element remain, so callers may allocate that many elements.
func (r *reader) count(min int) (uint32, error) {
	at := r.offset()
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(min) > uint64(r.left()) {
		return 0, fmt.Errorf("count %d exceeds the remaining %d bytes at offset %#x", n, r.left(), at)
	}
	return n, nil
}

func (r *reader) name() (string, error) {
	n, err := r.count(1)
	if err != nil {
		return "", err
	}
	s := string(r.b[r.i : r.i+int(n)])
	if !utf8.ValidString(s) {
		return "", r.errorf("name is not valid utf-8")
	}
	r.i += int(n)
	return s, nil
}

// leb reads an LEB128 number of at most bits bits (signed when signed).
func (r *reader) leb(bits uint, signed bool) (uint64, error) {
	start := r.offset()
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift+7 >= bits {
			// Last possible byte: the unused high bits must be zero, or for
			// signed numbers copies of the sign bit.
			used := bits - shift
			if c&0x80 != 0 {
				return 0, fmt.Errorf("integer representation too long at offset %#x", start)
			}
			rest := c >> (used - 1) // sign bit and the unused bits
			if signed && rest != 0 && rest != 0x7f>>(used-1) {
				return 0, fmt.Errorf("integer too large at offset %#x", start)
			}
			if !signed && c>>used != 0 {
				return 0, fmt.Errorf("integer too large at offset %#x", start)
			}
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if signed && shift+7 < 64 && c&0x40 != 0 {
				v |= ^uint64(0) << (shift + 7)
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.leb(32, false)
	return uint32(v), err
}

func (r *reader) s32() (int32, error) {
	v, err := r.leb(32, true)
	return int32(v), err
}

func (r *reader) s33() (int64, error) {
	v, err := r.leb(33, true)
	return int64(v), err
}

func (r *reader) s64() (int64, error) {
	v, err := r.leb(64, true)
	return int64(v), err
}

// appendU appends v as unsigned LEB128 in its shortest form.
func appendU(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS appends v as signed LEB128 in its shortest form.
func appendS(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU(b, uint64(len(s)))
	return append(b, s...)
}
