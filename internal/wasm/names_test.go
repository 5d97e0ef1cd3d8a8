package wasm

import (
	"bytes"
	"testing"
)

// A name section whose local-names count claims billions of entries made
// wazero allocate 32 GiB (found by FuzzInstrument). StripBadNames drops it
// and keeps everything else.
func TestStripBadNames(t *testing.T) {
	good := []byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x04\x01\x02\x00\x0b")
	names := []byte("\x00\x0d\x04name\x01\x06\x01\x00\x03abc")
	badNames := []byte("\x00\x0e\x04name\x02\x07\xff\xff\xff\x80\x04\x01\x00")
	tests := []struct {
		name   string
		in     []byte
		expect []byte
	}{
		{"no name section", good, good},
		{"valid name section kept", cat(good, names), cat(good, names)},
		{"malformed name section dropped", cat(good, badNames), good},
		{"only the bad one dropped", cat(good, badNames, names), cat(good, names)},
		{"truncated module left alone", good[:len(good)-3], good[:len(good)-3]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StripBadNames(tc.in); !bytes.Equal(got, tc.expect) {
				t.Fatalf("got %x\nwant %x", got, tc.expect)
			}
		})
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
