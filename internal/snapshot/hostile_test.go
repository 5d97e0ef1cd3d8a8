package snapshot

import (
	"bytes"
	"testing"
)

// rawSection is one section of an encoded file; end is the offset of the
// section's last byte + 1 in that file.
type rawSection struct {
	id      byte
	payload []byte
	end     int
}

// splitSections cuts a valid file into its sections, trailer excluded.
func splitSections(t testing.TB, b []byte) []rawSection {
	t.Helper()
	var secs []rawSection
	for off := len(magic) + 4; ; {
		id, n := b[off], int(le.Uint32(b[off+1:]))
		if id == secTrailer {
			return secs
		}
		payload := b[off+sectionHeadSize : off+sectionHeadSize+n]
		off += sectionHeadSize + n + 4
		secs = append(secs, rawSection{id: id, payload: bytes.Clone(payload), end: off})
	}
}

// frameSections writes sections with valid checksums and trailer, so that a
// test reaches the decoder's checks of content rather than of checksums.
func frameSections(t testing.TB, secs []rawSection) []byte {
	t.Helper()
	var buf bytes.Buffer
	out := newSink(&buf)
	_ = out.preamble()
	for _, s := range secs {
		if err := out.section(s.id, s.payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.trailer(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdOf(t testing.TB, b []byte) []byte {
	enc, err := getEncoder()
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(b, nil)
}

func chunk(idx uint32, kind byte, data []byte) []byte {
	return append(append(le.AppendUint32(nil, idx), kind), data...)
}

// Every input here has valid checksums and digest: only the decoder's checks
// of content stand between it and the caller.
func TestHostileContentRefused(t *testing.T) {
	const memIdx, globalsIdx = 7, 1 // positions in splitSections(richSnapshot(false))
	page := func(b byte) []byte { return bytes.Repeat([]byte{b}, chunkSize) }
	tests := []struct {
		name string
		edit func([]rawSection) []rawSection
	}{
		{"pages over 4 GiB", func(s []rawSection) []rawSection { le.PutUint32(s[0].payload[48:], MaxMemoryPages+1); return s }},
		{"huge globals count", func(s []rawSection) []rawSection { le.PutUint32(s[globalsIdx].payload, 1<<31); return s }},
		{"globals count unlike header", func(s []rawSection) []rawSection { s[0].payload[52]++; return s }},
		{"extra payload byte", func(s []rawSection) []rawSection { s[2].payload = append(s[2].payload, 0); return s }},
		{"missing section", func(s []rawSection) []rawSection { return append(s[:2], s[3:]...) }},
		{"swapped sections", func(s []rawSection) []rawSection { s[2], s[3] = s[3], s[2]; return s }},
		{"unknown section", func(s []rawSection) []rawSection { s[4].id = 0x42; return s }},
		{"bad table flag", func(s []rawSection) []rawSection { s[2].payload[12] = 2; return s }},
		{"huge table size", func(s []rawSection) []rawSection { le.PutUint32(s[2].payload[17:], 1<<31); return s }},
		{"function index over 32 bits", func(s []rawSection) []rawSection { s[2].payload[22+8+4] = 1; return s }},
		{"bad value type", func(s []rawSection) []rawSection { s[globalsIdx].payload[4] = 0x40; return s }},
		{"chunk beyond memory", func(s []rawSection) []rawSection { s[memIdx].payload[0] = 2; return s }},
		{"chunks repeated", func(s []rawSection) []rawSection { return append(s, s[memIdx]) }},
		{"raw chunk short", func(s []rawSection) []rawSection { s[memIdx].payload = chunk(1, chunkRaw, page(1)[1:]); return s }},
		{"unknown chunk kind", func(s []rawSection) []rawSection { s[memIdx].payload[4] = 9; return s }},
		{"zstd garbage", func(s []rawSection) []rawSection { s[memIdx].payload = chunk(1, chunkZstd, page(1)[:99]); return s }},
		{"zstd short of a page", func(s []rawSection) []rawSection {
			s[memIdx].payload = chunk(1, chunkZstd, zstdOf(t, page(1)[1:]))
			return s
		}},
		{"zstd over a page", func(s []rawSection) []rawSection {
			s[memIdx].payload = chunk(1, chunkZstd, zstdOf(t, append(page(1), 1)))
			return s
		}},
		{"zstd two frames over a page", func(s []rawSection) []rawSection {
			z := zstdOf(t, page(1))
			s[memIdx].payload = chunk(1, chunkZstd, append(z, z...))
			return s
		}},
		{"names out of order", func(s []rawSection) []rawSection {
			s[6].payload = []byte{2, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0}
			return s
		}},
	}
	valid := splitSections(t, smallSnapshot(t))
	if valid[memIdx].id != secMemory || valid[globalsIdx].id != secGlobals {
		t.Fatal("section layout changed; fix the indices in this test")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(frameSections(t, tt.edit(splitSections(t, smallSnapshot(t))))))
			requireErrorIs(t, err, ErrCorrupt)
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	b := smallSnapshot(t)
	_, err := DecodeLimited(bytes.NewReader(b), Limits{MaxMemoryPages: 1})
	requireErrorIs(t, err, ErrLimit)
	if _, err := DecodeLimited(bytes.NewReader(b), Limits{MaxMemoryPages: 2}); err != nil {
		t.Fatal(err)
	}
}
