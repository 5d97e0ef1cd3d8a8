package snapshot

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

const pages64MiB = 64 << 20 / PageSize

// memory64MiB builds the three memories of DESIGN.md's figures: random
// (incompressible, the worst case), compressible, and sparse.
func memory64MiB(kind string) *Snapshot {
	s := &Snapshot{MemoryPages: pages64MiB, Memory: make([]byte, pages64MiB*PageSize)}
	switch kind {
	case "random":
		fillRandom(s.Memory, 64)
	case "compressible":
		fillCompressible(s.Memory)
	case "sparse":
		for _, off := range []int{0, 4096 + 17, 10 << 20, 33<<20 + 5, len(s.Memory) - 8} {
			fillRandom(s.Memory[off:min(off+4096, len(s.Memory))], uint64(off))
		}
	}
	return s
}

// fillCompressible writes a heap-like mix: small integers, pointers into the
// memory, text and zero runs, about 3:1 under zstd's fastest level.
func fillCompressible(m []byte) {
	for off := 0; off+64 <= len(m); off += 64 {
		switch off / 64 % 4 {
		case 0:
			copy(m[off:], fmt.Sprintf("record %08d status=ok value=%d;", off/64, off%977))
		case 1:
			for i := 0; i < 64; i += 4 {
				le.PutUint32(m[off+i:], uint32(off+i*1031)&0x00ff_fff0)
			}
		case 2:
			le.PutUint64(m[off:], uint64(off)*0x9e37_79b9_7f4a_7c15)
		}
	}
}

func TestMemory64MiB(t *testing.T) {
	tests := []struct {
		kind    string
		maxSize int
	}{
		{"sparse", 6 * 4200},
		{"compressible", 64 << 20 / 2},
		{"random", 64<<20 + pages64MiB*(chunkHeadSize+sectionHeadSize+4) + 1024},
		{"zero", 1024},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			s := memory64MiB(tt.kind)
			b := encodeBytes(t, s)
			t.Logf("64 MiB %s memory: %d bytes", tt.kind, len(b))
			if len(b) > tt.maxSize {
				t.Fatalf("%d bytes, want at most %d", len(b), tt.maxSize)
			}
			if got := decodeBytes(t, b); !bytes.Equal(got.Memory, s.Memory) {
				t.Fatal("memory differs after round trip")
			}
		})
	}
}

// The benchmarks report throughput over the 64 MiB of guest memory
// (b.SetBytes), and the encoded size as B/snapshot.

func BenchmarkEncode64MiBRandom(b *testing.B)       { benchEncode(b, "random") }
func BenchmarkEncode64MiBCompressible(b *testing.B) { benchEncode(b, "compressible") }
func BenchmarkEncode64MiBSparse(b *testing.B)       { benchEncode(b, "sparse") }
func BenchmarkDecode64MiBRandom(b *testing.B)       { benchDecode(b, "random") }
func BenchmarkDecode64MiBCompressible(b *testing.B) { benchDecode(b, "compressible") }
func BenchmarkDecode64MiBSparse(b *testing.B)       { benchDecode(b, "sparse") }

func benchEncode(b *testing.B, kind string) {
	s := memory64MiB(kind)
	size := len(encodeBytes(b, s))
	b.SetBytes(int64(len(s.Memory)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Encode(io.Discard, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "B/snapshot")
}

func benchDecode(b *testing.B, kind string) {
	s := memory64MiB(kind)
	enc := encodeBytes(b, s)
	b.SetBytes(int64(len(s.Memory)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(enc)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "B/snapshot")
}
