package snapshot

import (
	"fmt"
	"io"
)

// DeltaVersion is the format version of deltas. A delta has the layout of a
// snapshot under its own magic ("ROAMDLTA"), and its memory sections hold
// only the chunks the sender chose, zero chunks included, to be applied on
// memory the receiver already holds: this is how live migration sends
// pre-copy rounds and the final state.
//
// Version history:
//   - 1 (2026-11-26): first format.
const DeltaVersion = 1

// EncodeDelta writes s as a delta: the same sections as Encode, but its
// memory sections hold only the chunks that chunk returns, for i in
// [0, s.MemoryPages): the chunk's PageSize bytes to send, or nil to leave it
// out (a chunk that is all zero goes out as a zero chunk). s.Memory is not
// used, so a sender can copy chunks out of a running guest one at a time.
// Each returned slice is consumed before chunk is called again.
func EncodeDelta(w io.Writer, s *Snapshot, chunk func(i int) []byte) error {
	if s.MemoryPages > MaxMemoryPages {
		return fmt.Errorf("encode delta: %d memory pages: %w", s.MemoryPages, ErrInvalid)
	}
	out := newSink(w)
	out.delta = true
	err := encodeTo(out, s, func() error { return writeChunks(out, int(s.MemoryPages), chunk, true) })
	if err != nil {
		return fmt.Errorf("encode delta: %w", err)
	}
	return nil
}

// MemoryChunk returns a chunk function for EncodeDelta that sends the
// chunks of mem that send selects.
func MemoryChunk(mem []byte, send func(i int) bool) func(int) []byte {
	return func(i int) []byte {
		if !send(i) {
			return nil
		}
		return mem[i*PageSize : (i+1)*PageSize]
	}
}

// DecodeDelta reads a delta and applies its memory chunks on base, the
// receiver's copy of the memory, first grown with zeros to the delta's size.
// The returned snapshot's Memory is the new base, which may share base's
// array. On error base may hold some of the chunks: a receiver drops it.
func DecodeDelta(r io.Reader, base []byte, lim Limits) (*Snapshot, error) {
	return DecodeDeltaInto(r, func(pages uint32) ([]byte, error) { return grow(base, pages) }, lim)
}

// DecodeDeltaInto is DecodeDelta onto memory that memory(pages) returns:
// the receiver's copy grown with zeros to that many pages, wherever it
// lives (a live migration writes straight into the staged instance).
func DecodeDeltaInto(r io.Reader, memory func(pages uint32) ([]byte, error), lim Limits) (*Snapshot, error) {
	src := newSource(r)
	src.delta = true
	s, err := decode(src, lim, memory)
	if err != nil {
		return nil, fmt.Errorf("decode delta: %w", err)
	}
	return s, nil
}

func grow(base []byte, pages uint32) ([]byte, error) {
	n := int(pages) * PageSize
	switch {
	case n < len(base):
		return nil, fmt.Errorf("delta memory of %d pages is smaller than the %d held: %w", pages, len(base)/PageSize, ErrCorrupt)
	case n == len(base):
		return base, nil
	case n <= cap(base):
		b := base[:n]
		clear(b[len(base):])
		return b, nil
	}
	b := make([]byte, n)
	copy(b, base)
	return b, nil
}
